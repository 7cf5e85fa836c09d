#!/usr/bin/env bash
# Kernel backend benchmarks in a TCG guest (not a test; CI never runs it):
#   - install and remove throughput, batched (1000 per call) and one at a time;
#   - push (all N registered peers loaded into the kernel, as the predecessor
#     did on every boot) against JIT (jitwgd's time to ready in front of a
#     registry holding N peers, then a few clients connecting);
#   - the kernel's peer count and memory (Slab, MemAvailable) after each.
#
#   bench/kernel/run.sh [N...]       default: 10000 100000
#
# Registry databases are filled over the HTTP API on the host once and cached
# in build/kernel/bench/. Results go to stdout and bench/kernel/results/.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# tests/lib.sh and tests/kernel/lib.bash give the guest plumbing.
source "$ROOT/tests/lib.sh"
source "$ROOT/tests/kernel/lib.bash"
TL_NAME=bench-kernel
tl_init
kg_require
make -s -C "$ROOT" all kernel-tools >/dev/null || tl_fail "build failed"
kg_fetch_kernel

SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(10000 100000)
NCLIENTS=${NCLIENTS:-20}
CACHE=$KG_CACHE/bench
mkdir -p "$CACHE"
umask 077

# Clients that connect in the JIT runs; registered in every database.
if [ ! -s "$CACHE/clients.txt" ] || [ "$(wc -l <"$CACHE/clients.txt")" != "$NCLIENTS" ]; then
	rm -f "$CACHE"/registry-*.db "$CACHE/clients.txt"
	for n in $(seq 1 "$NCLIENTS"); do
		priv=$(wg genkey)
		echo "$n $priv $(wg pubkey <<<"$priv")" >>"$CACHE/clients.txt"
	done
fi

# make_db N -> $CACHE/registry-N.db with the clients and N - NCLIENTS others.
make_db() {
	local n=$1 db=$CACHE/registry-$1.db port ns pid codes ok
	[ -s "$db" ] && return 0
	tl_log "filling a registry with $n peers over HTTP (cached for next time)"
	ns=$(tl_netns "reg$n")
	port=$((20000 + RANDOM % 20000))
	rm -f "$db" "$db"-wal "$db"-shm
	tl_bg ip netns exec "$ns" "$TL_BIN/jitwg-registry" --listen "127.0.0.1:$port" --db "$db.tmp" \
		2>"$TL_TMP/reg$n.log"
	pid=$TL_LAST_PID
	tl_wait_until 10 ip netns exec "$ns" curl -sf "http://127.0.0.1:$port/healthz" || tl_fail "registry did not start"
	python3 - "$n" "$port" "$CACHE/clients.txt" >"$TL_TMP/reqs$n" <<'PY'
import base64, os, sys
n, port, clients = int(sys.argv[1]), sys.argv[2], sys.argv[3]
keys = [(l.split()[2], "10.77.1.%s/32" % l.split()[0]) for l in open(clients)]
i = 0
while len(keys) < n:
    i += 1
    keys.append((base64.b64encode(os.urandom(32)).decode(),
                 "10.%d.%d.%d/32" % (100 + (i >> 16), (i >> 8) & 255, i & 255)))
print("parallel\nparallel-max = 4")
for j, (k, a) in enumerate(keys):
    if j:
        print("next")
    print('url = "http://127.0.0.1:%s/v1/peers"\nrequest = "POST"' % port)
    print('header = "Content-Type: application/json"')
    print('data = "{\\"public_key\\":\\"%s\\",\\"allowed_ips\\":[\\"%s\\"]}"' % (k, a))
    print('output = "/dev/null"\nwrite-out = "%{http_code}\\n"')
PY
	codes=$(ip netns exec "$ns" curl -s -K "$TL_TMP/reqs$n") || true
	ok=$(grep -c '^201$' <<<"$codes" || true)
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null || true
	[ "$ok" = "$n" ] || tl_fail "registry accepted $ok of $n peers"
	[ ! -s "$db.tmp-wal" ] || tl_fail "registry left a WAL behind"
	rm -f "$db.tmp-wal" "$db.tmp-shm"
	mv "$db.tmp" "$db"
}

files=$TL_TMP/files
mkdir -p "$files"
wg genkey >"$files/gw.key"
cp "$CACHE/clients.txt" "$files/"
echo "${SIZES[*]}" >"$files/sizes"
for n in "${SIZES[@]}"; do
	make_db "$n"
	cp "$CACHE/registry-$n.db" "$files/"
done

root=$TL_TMP/root
kg_rootfs "$root" "$ROOT/bench/kernel/guest.sh" "$files"/*
log=$TL_TMP/console.log
kg_boot "$root" "$log" "${KG_TIMEOUT:-1800}" 2 3072 || tl_log "guest did not finish cleanly"
mkdir -p "$ROOT/bench/kernel/results"
out=$ROOT/bench/kernel/results/$(date -u +%Y%m%dT%H%M%SZ).txt
{
	echo "# bench/kernel/run.sh ${SIZES[*]} on $(uname -n), guest kernel $KG_KVER under TCG"
	tr -d '\r' <"$log" | grep -o 'BENCH .*\|GUEST .*'
} | tee "$out"
grep -q '^BENCH done' "$out" || { tail -n 60 "$log" >&2; tl_fail "benchmark incomplete"; }
