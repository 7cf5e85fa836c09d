#!/usr/bin/env bash
# Registry scale benchmark (not a test; CI does not run it).
#
#   bench/registry/run.sh [PEERS]          default 1000000
#   env: STORES="sqlite postgres"  RATE=5000  LOAD_S=20  THREADS=4  REPEAT=1
#
# For each store: bulk-load PEERS peers (bulkload.c, straight through the
# store backend's insert, in 20k-row transactions), time store_peer_get()
# in-process on it (storebench.c: the database's share of a GET), start
# jitwg-registry on it, then measure
#   1. GET latency at a fixed RATE with an open-loop generator (loadgen.c;
#      latency counted from when each request was due), after a 5 s warm-up,
#      and right after it the same for GET /healthz, which never touches the
#      database: the latency floor of the (shared, noisy) machine at that time;
#   2. GET throughput, closed loop: wrk, 1 thread, 32 connections, random
#      registered keys (get.lua);
#   3. create throughput through the API: wrk POSTs of fresh keys with no
#      allowed_ips, so each one allocates from --pool (create.lua).
# Results go to stdout and $OUT (default bench/registry/results/<date>.txt).
# PostgreSQL is a private cluster in a temp dir (as tests/integration/
# registry_pg.sh), shared_buffers=512MB, synchronous_commit=off (comparable
# to SQLite's WAL + synchronous=NORMAL: commits are not fsynced one by one).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PEERS=${1:-1000000}
STORES=${STORES:-sqlite postgres}
RATE=${RATE:-5000}
LOAD_S=${LOAD_S:-20}
THREADS=${THREADS:-4}
REPEAT=${REPEAT:-1} # fixed-rate peer/baseline pairs, alternating
# NICE=-10 runs the registry, PostgreSQL and the load generators at that
# priority: on a shared machine it measures the registry rather than its
# neighbours (the results header records the choice and the load average).
NICE=${NICE:-0}
OUT=${OUT:-$ROOT/bench/registry/results/$(date -u +%Y%m%dT%H%M%SZ).txt}
# shellcheck source=../../tests/pg.bash
source "$ROOT/tests/pg.bash"

[ "$(id -u)" = 0 ] || { echo "run as root (PostgreSQL runs as the postgres user)"; exit 1; }
command -v wrk >/dev/null || { echo "needs wrk (scripts/deps.sh)"; exit 1; }
make -C "$ROOT" -s -j2 build/bin/jitwg-registry

WORK=$(mktemp -d /tmp/jitwg-bench-registry.XXXXXX)
chmod 0755 "$WORK"
REG_PID=""
cleanup() {
	[ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null
	tl_pg_stop
	rm -rf "$WORK"
}
trap cleanup EXIT

B=$ROOT/build
mkdir -p "$(dirname "$OUT")"
cc -O2 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -o "$WORK/loadgen" "$ROOT/bench/registry/loadgen.c"
for t in bulkload storebench; do
	cc -O2 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -I"$ROOT/src" -o "$WORK/$t" "$ROOT/bench/registry/$t.c" \
		"$B/libregistry.a" "$B/libwire.a" "$B/libcommon.a" $(pkg-config --libs sqlite3 libpq json-c libcrypto) -lpthread
done

for _ in $(seq 1 100); do echo /healthz; done >"$WORK/healthz"
say() { echo "$*" | tee -a "$OUT"; }
say "# jitwg-registry scale benchmark, $(date -u +%FT%TZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
say "# peers=$PEERS rate=$RATE load_s=$LOAD_S registry threads=$THREADS nice=$NICE"
N=(nice -n "$NICE")

start_pg() { # 1 when PostgreSQL is not installed
	local rc=0
	TL_PG_PREFIX=("${N[@]}")
	tl_pg_start "$WORK/pg" -c shared_buffers=512MB -c synchronous_commit=off -c max_wal_size=4GB || rc=$?
	[ $rc = 77 ] && return 1
	[ $rc = 0 ] || exit 1
	DB=$TL_PG_URL
}

for store in $STORES; do
	say ""
	say "## $store (load average $(cut -d' ' -f1-3 /proc/loadavg))"
	if [ "$store" = postgres ]; then
		start_pg || { say "(PostgreSQL not installed: skipped)"; continue; }
	else
		DB=$WORK/registry.db
	fi
	"$WORK/bulkload" "$DB" "$PEERS" "$WORK/paths" 100000 | tee -a "$OUT"
	"${N[@]}" "$WORK/storebench" "$DB" "$WORK/paths" 200000 | tee -a "$OUT"

	"${N[@]}" "$ROOT/build/bin/jitwg-registry" --listen 127.0.0.1:0 --db "$DB" --threads "$THREADS" \
		--pool 100.64.0.0/10 2>"$WORK/reg.log" &
	REG_PID=$!
	for _ in $(seq 1 50); do grep -q 'listening on' "$WORK/reg.log" && break; sleep 0.1; done
	port=$(grep -o 'port [0-9]*' "$WORK/reg.log" | cut -d' ' -f2)
	url=http://127.0.0.1:$port

	"${N[@]}" "$WORK/loadgen" 127.0.0.1 "$port" "$RATE" 5 32 "$WORK/paths" >/dev/null # warm-up
	for rep in $(seq 1 "$REPEAT"); do
		say "GET a peer at a fixed $RATE req/s (open loop, $LOAD_S s), pair $rep of $REPEAT:"
		"${N[@]}" "$WORK/loadgen" 127.0.0.1 "$port" "$RATE" "$LOAD_S" 32 "$WORK/paths" | tee -a "$OUT"
		# Same server, same rate, an endpoint that never touches the database:
		# the latency floor this machine gives right now (run side by side).
		say "baseline: GET /healthz at $RATE req/s (no database), $LOAD_S s:"
		"${N[@]}" "$WORK/loadgen" 127.0.0.1 "$port" "$RATE" "$LOAD_S" 32 "$WORK/healthz" | tee -a "$OUT"
	done
	say "GET throughput (wrk -t1 -c32 -d15s, closed loop):"
	"${N[@]}" wrk -t1 -c32 -d15s --latency -s "$ROOT/bench/registry/get.lua" "$url" -- "$WORK/paths" |
		grep -E 'Requests/sec|50%|99%|Non-2xx' | sed 's/^ */  /' | tee -a "$OUT"
	say "Create throughput through the API with pool allocation (wrk -t1 -c8 -d10s):"
	"${N[@]}" wrk -t1 -c8 -d10s --latency -s "$ROOT/bench/registry/create.lua" "$url" |
		grep -E 'Requests/sec|50%|99%|Non-2xx' | sed 's/^ */  /' | tee -a "$OUT"
	kill "$REG_PID"
	wait "$REG_PID" || true
	REG_PID=""
	if [ "$store" = postgres ]; then
		tl_pg_stop
		rm -rf "$WORK/pg"
	else
		say "database size: $(du -sh "$WORK"/registry.db* | awk '{s = s $1 " "} END {print s}')"
		rm -f "$WORK"/registry.db*
	fi
done
say ""
say "# results in $OUT"
