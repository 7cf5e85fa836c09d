#!/usr/bin/env bash
# The registry's cost of idle long-poll followers (not a test; CI does not run it).
#
#   bench/registry/followers.sh [N] [ROUNDS]     default 1000 followers, 3 rounds
#   env: STORE=sqlite|postgres (default sqlite), THREADS=4
#
# Starts jitwg-registry on a fresh database, then followers.py: registry
# threads, RSS and CPU over 10 s with no follower, then with N followers each
# holding GET /v1/peers?since=HEAD&wait=60, and the fan-out of one commit to
# all N (commit to first / p50 / p99 / last answer). Results to stdout and
# $OUT (default bench/registry/results/followers-<date>.txt) with the load.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-1000}
ROUNDS=${2:-3}
STORE=${STORE:-sqlite}
THREADS=${THREADS:-4}
OUT=${OUT:-$ROOT/bench/registry/results/followers-$(date -u +%Y%m%dT%H%M%SZ).txt}
REG=$ROOT/build/bin/jitwg-registry
[ -x "$REG" ] || { echo "build first (make)"; exit 1; }
WORK=$(mktemp -d /tmp/jitwg-followers.XXXXXX)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; [ "$STORE" = postgres ] && tl_pg_stop; rm -rf "$WORK"; }
trap cleanup EXIT
DB=$WORK/reg.db
if [ "$STORE" = postgres ]; then
	# shellcheck source=../../tests/pg.bash
	source "$ROOT/tests/pg.bash"
	tl_pg_start "$WORK/pg" -c fsync=off -c synchronous_commit=off >/dev/null
	DB=$TL_PG_URL
fi
head -c 24 /dev/urandom | base64 >"$WORK/token"
ulimit -n 8192
"$REG" --listen 127.0.0.1:0 --db "$DB" --token-file "$WORK/token" --pool 10.200.0.0/16 --threads "$THREADS" \
	2>"$WORK/reg.log" &
PID=$!
for _ in $(seq 1 50); do grep -q 'listening on' "$WORK/reg.log" && break; sleep 0.1; done
PORT=$(grep -o 'port [0-9]*' "$WORK/reg.log" | head -n 1 | cut -d' ' -f2)
{
	echo "# followers.sh N=$N rounds=$ROUNDS store=$STORE threads=$THREADS at $(git -C "$ROOT" rev-parse --short HEAD)"
	echo "# $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
	/usr/bin/python3 "$ROOT/bench/registry/followers.py" "http://127.0.0.1:$PORT" "$(cat "$WORK/token")" "$N" "$PID" \
		"$ROUNDS"
	echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT"
