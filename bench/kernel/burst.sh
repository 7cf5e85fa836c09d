#!/usr/bin/env bash
# Bursts on kernel WireGuard (docs/PERFORMANCE.md, "Bursts (bench/burst)"):
# bench/burst's scene in one qemu TCG guest (Debian's cloud kernel, as
# bench/kernel/scale.sh), guest side bench/kernel/burst-guest.sh. COUNT
# returning clients whose keys are in jitwgd's cache, each from its own
# address, come back at RATE arrivals/s to an empty kernel interface "jit"
# (jitwgd --backend kernel, default options but for the bench's own: cache,
# metrics, --registry-budget 0, --idle-timeout and --cache-ttl 3600 so the
# warm-up's records stay fresh through a TCG-length run), side by side with
# the same clients against "pre" (the same key, all COUNT peers installed with
# `wg addconf`). Optional mode "inv": a third interface with a second jitwgd,
# --reinject=false (role inversion). Registry: jitwg-registry on SQLite in the
# guest, filled on the host with bench/fleet/fleetkeys' population (client i:
# key from i, tunnel address 10.64.0.0 + i /32). Clients: `jitwg loadgen` in a
# second namespace of the guest, one /16 of source addresses per gateway.
#
# After a warm-up (every key fetched into each jitwgd's cache), each of RUNS
# runs per RATE "reboots" the JIT interfaces (deleted and re-created empty,
# jitwgd restarted on its cache) and starts one loadgen per mode at once.
# Per run and mode, as bench/burst: connected, failed, connect p50/p99/max (ms
# from each client's first initiation), retransmit rounds (loadgen
# "retries"), cookie replies, jitwgd's initiations and re-injections, the
# ratios p50/pre and p99/pre, and the guest's load1 before the run. Also the
# X25519 rate on the host and in the guest (`jitwg bench identify`, as
# scale.sh), for the TCG slowdown, and the host rates it corresponds to.
# TCG saturates well below the host's rates: the guest does 2,600-3,500
# X25519/s per vCPU and a handshake costs several on each side; "40 150" are
# bench/burst's 500 and 2000 divided by the slowdown (13.5x in the scale run;
# OUT's header gives this run's and the rates it implies).
#
#   COUNT [1000]  RATES ["40 150 500 2000"]  RUNS [3]  MODES ["jit"; or "jit inv"]
#   KG_TIMEOUT [from the rates]  bench/kernel/burst.sh [OUT]
#
# Writes OUT (default bench/kernel/results/burst-STAMP.txt: a header with the
# total wall time, the guest's BENCH lines and the table) and OUT.raw (every
# loadgen's own output, "RATE RUN MODE line").
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/lib.sh"
source "$ROOT/tests/kernel/lib.bash"
TL_NAME=bench-kernel-burst
tl_init
kg_require
START=$(date +%s)
COUNT=${COUNT:-1000}
RATES=${RATES:-"40 150 500 2000"}
RUNS=${RUNS:-3}
MODES=${MODES:-jit}
for m in $MODES; do
	case $m in jit | inv) ;; *) tl_fail "MODES: jit and/or inv, not $m" ;; esac
done
# one /16 of source addresses per gateway; fleetkeys' tunnel addresses stay in 10.64/10
if ! [[ $COUNT =~ ^[1-9][0-9]*$ ]] || [ "$COUNT" -gt 60000 ]; then tl_fail "COUNT: 1 to 60000"; fi
for r in $RATES; do [[ $r =~ ^[0-9]+$ ]] || tl_fail "RATES: integers, not $r"; done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || tl_fail "RUNS: a positive integer"
mkdir -p "$ROOT/bench/kernel/results"
OUT=${1:-$ROOT/bench/kernel/results/burst-$(date -u +%Y%m%dT%H%M%SZ).txt}
make -s -C "$ROOT" all build/bin/fleetkeys >/dev/null || tl_fail "build failed"
FLEETKEYS=$ROOT/build/bin/fleetkeys
kg_fetch_kernel
umask 077

files=$TL_TMP/files
mkdir -p "$files"
wg genkey >"$files/gw.key"
"$FLEETKEYS" load "$files/registry.db" 0 "$COUNT" 1 >/dev/null || tl_fail "fleetkeys load"
rm -f "$files/registry.db-wal" "$files/registry.db-shm"
"$FLEETKEYS" keys 0 "$COUNT" 1 >"$TL_TMP/population"
awk '{ split($3, a, "/"); print $1, a[1] }' "$TL_TMP/population" >"$files/keys"
awk '{ printf "[Peer]\nPublicKey = %s\nAllowedIPs = %s\n", $2, $3 }' "$TL_TMP/population" >"$files/pre.conf"
echo "$COUNT $RUNS $MODES" >"$files/params"
echo "$RATES" >"$files/rates"

# The guest's limit: boot, warm-up and slack, and per run the arrivals plus
# the loadgens' 30 s attempt time and the reboot.
limit=600
for r in $RATES; do limit=$((limit + RUNS * ((r > 0 ? COUNT / r : 0) + 60))); done
limit=${KG_TIMEOUT:-$limit}
mem=1536

host_x=$("$TL_BIN/jitwg" bench identify --threads 1 --seconds 3 2>&1 |
	awk '/^x25519/ { print "per_cpu_s=" $5 " wall=" $6 }' | sed 's|/s||g')
head="# bench/kernel/burst.sh COUNT=$COUNT RATES=\"$RATES\" RUNS=$RUNS MODES=\"$MODES\"
# $(git -C "$ROOT" rev-parse --short HEAD) on $(uname -n), $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), load at start $(cut -d' ' -f1-3 /proc/loadavg); guest $KG_KVER under qemu TCG, -smp 2, $mem MiB"

root=$TL_TMP/root
kg_rootfs "$root" "$ROOT/bench/kernel/burst-guest.sh" "$files"/*
log=$TL_TMP/console.log
t0=$(date +%s)
kg_boot "$root" "$log" "$limit" 2 "$mem" || tl_log "guest did not finish cleanly"
boot=$(($(date +%s) - t0))
tr -d '\r' <"$log" >"$TL_TMP/console.txt"

# slowdown: X25519 per CPU-second, host over guest, and bench/burst's host
# rates (500, 2000) at the guest's speed
guest_x=$(sed -n 's/.*BENCH x25519_guest per_cpu_s=\([0-9]*\).*/\1/p' "$TL_TMP/console.txt" | head -n 1)
host_cpu=$(sed -n 's/^per_cpu_s=\([0-9]*\).*/\1/p' <<<"$host_x")
slow=$(awk -v h="$host_cpu" -v g="$guest_x" 'BEGIN { if (h > 0 && g > 0)
	printf "%.1fx; the host rates 500 and 2000 of bench/burst are %d and %d here\n", h / g, 500 * g / h + 0.5, 2000 * g / h + 0.5; else print "-" }')
{
	echo "$head"
	echo "# took $(($(date +%s) - START)) s end to end (guest boot to power-off $boot s, limit $limit s), host load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "HOST x25519 $host_x"
	echo "# TCG slowdown (X25519 per CPU-second, host / guest): $slow"
	grep -o 'GUEST .*\|BENCH .*\|BURST .*' "$TL_TMP/console.txt" | sed 's/^BURST //'
} >"$OUT"
grep -o 'RAW .*' "$TL_TMP/console.txt" | sed 's/^RAW //' >"$OUT.raw" || true
cat "$OUT"
grep -q '^BENCH done' "$OUT" || { tail -n 60 "$TL_TMP/console.txt" >&2; tl_fail "guest incomplete (see above)"; }
tl_log "results: $OUT and $OUT.raw"
