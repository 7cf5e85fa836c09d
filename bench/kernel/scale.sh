#!/usr/bin/env bash
# The seed's scene at the seed's scale (docs/PERFORMANCE.md, "Kernel
# WireGuard at 550,000 registered peers"): kernel WireGuard in Debian's cloud
# kernel under TCG, one boot per registry size N (bench/kernel/scale-guest.sh):
#   - push: all N peers reloaded into an empty wg0 (`wg addconf`, as a push
#     gateway's boot does) while ACTIVE clients come back at once; the reload
#     time, the time until 99 % of the clients are back, slab and MemAvailable;
#   - JIT: jitwgd in front of a registry of the same N (SQLite, in the guest):
#     time to ready, the fresh gateway's walk of the change feed, then REBOOTS
#     reboots per mode in MODES (inv: --reinject=false, role inversion;
#     reinject: the client's own initiation handed back, the default since
#     the run below) with the ACTIVE clients coming back at once; slab;
#   - what each table does to other operations: `wg show dump`, one peer
#     added and one removed, an installed client's handshake (p50/p99/max);
#   - first boot only: the kernel's install cost (keyed and key-less, batch
#     1 to 1000 peers per netlink message) and an X25519 loop for the TCG
#     slowdown (the same binary runs it on this host).
# The clients are `jitwg loadgen` in a second namespace of the guest, each
# from its own address. The population is bench/fleet/fleetkeys' (client i:
# key from i, tunnel address 10.64.0.0 + i); the active clients are the first
# ACTIVE. Registries and push configs are cached in build/kernel/scale/.
#
#   SIZES ["100000 250000 550000"]  ACTIVE [1000]  REBOOTS [2]  DUMPS [5]
#   MODES ["inv reinject"]  bench/kernel/scale.sh [OUT]
#   bench/kernel/scale.sh --tsv RESULT      (the TSV of an earlier run, to stdout)
#
# Writes OUT (default bench/kernel/results/scale-STAMP.txt: the BENCH lines
# of every boot, its header saying how long the whole run took) and
# OUT.tsv (one row per N, for bench/kernel/scale.gp).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# tsv RESULT -> one row per N for the chart (medians over reboots; of two, the
# lower): the reboot as the clients see it (back99: until 99 % are back, the
# clients starting with the gateway), the reload and ready times, the
# per-operation costs on each table. JIT's slab is the default's (reinject).
tsv() {
	local f=$1 n
	# kv N LINE KEY -> the median of KEY over the lines "BENCH n=N LINE..."
	kv() { grep "^BENCH n=$1 $2" "$f" | sed -n "s/.* $3=\\([0-9.][0-9.]*\\).*/\\1/p" | sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "nan" }'; }
	# per X D -> X / D, "nan" when X is
	per() { awk -v x="$1" -v d="$2" 'BEGIN { if (x == "nan") print x; else print x / d }'; }
	printf 'n\tpush_reload_s\tpush_back99_s\tjit_ready_ms\tinv_back99_s\treinject_back99_s\tpush_slab_mb\tjit_slab_mb'
	printf '\tpush_dump_ms\tjit_dump_ms\tpush_add_ms\tjit_add_ms\tpush_remove_ms\tjit_remove_ms\tpush_hs_p50_ms\tjit_hs_p50_ms\tjit_feed_walk_s\n'
	for n in $(sed -n 's/^BENCH n=\([0-9]*\) done$/\1/p' "$f"); do
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$n" \
			"$(per "$(kv "$n" push_reload ms)" 1000)" \
			"$(per "$(kv "$n" push_reboot back99_ms)" 1000)" \
			"$(kv "$n" jit_ready daemon_ready_ms)" \
			"$(per "$(kv "$n" 'jit_reboot mode=inv ' back99_ms)" 1000)" \
			"$(per "$(kv "$n" 'jit_reboot mode=reinject ' back99_ms)" 1000)" \
			"$(per "$(kv "$n" push_memory slab_delta_kb)" 1024)" \
			"$(per "$(kv "$n" 'jit_reboot mode=reinject ' slab_delta_kb)" 1024)"
		printf '\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
			"$(kv "$n" ops_push dump_ms_p50)" "$(kv "$n" ops_jit dump_ms_p50)" \
			"$(kv "$n" ops_push add_ms_p50)" "$(kv "$n" ops_jit add_ms_p50)" \
			"$(kv "$n" ops_push remove_ms_p50)" "$(kv "$n" ops_jit remove_ms_p50)" \
			"$(kv "$n" ops_push hs_p50_ms)" "$(kv "$n" ops_jit hs_p50_ms)" \
			"$(per "$(kv "$n" jit_ready feed_walk_ms)" 1000)"
	done
}
if [ "${1:-}" = --tsv ]; then # bench/kernel/scale.sh --tsv RESULT: the TSV again, to stdout
	tsv "$2"
	exit 0
fi

source "$ROOT/tests/lib.sh"
source "$ROOT/tests/kernel/lib.bash"
TL_NAME=bench-kernel-scale
tl_init
kg_require
START=$(date +%s)
SIZES=${SIZES:-"100000 250000 550000"}
ACTIVE=${ACTIVE:-1000} REBOOTS=${REBOOTS:-2} DUMPS=${DUMPS:-5} MODES=${MODES:-"inv reinject"}
mkdir -p "$ROOT/bench/kernel/results"
OUT=${1:-$ROOT/bench/kernel/results/scale-$(date -u +%Y%m%dT%H%M%SZ).txt}
make -s -C "$ROOT" all kernel-tools build/bin/fleetkeys >/dev/null || tl_fail "build failed"
FLEETKEYS=$ROOT/build/bin/fleetkeys
kg_fetch_kernel
CACHE=$KG_CACHE/scale
mkdir -p "$CACHE"
umask 077

# db N -> $CACHE/registry-N.db: the first N of the population, grown from the
# largest smaller database already made (fleetkeys load: the store's own
# insert, with its change-feed rows, in transactions of 20,000).
db() {
	local n=$1 f=$CACHE/registry-$1.db from=0 m
	[ -s "$f" ] && return 0
	rm -f "$f.tmp"*
	for m in $(ls "$CACHE" | sed -n 's/^registry-\([0-9]*\)\.db$/\1/p' | sort -n); do
		[ "$m" -lt "$n" ] && from=$m
	done
	[ "$from" -gt 0 ] && cp "$CACHE/registry-$from.db" "$f.tmp"
	tl_log "registry of $n peers (from $from)"
	"$FLEETKEYS" load "$f.tmp" "$from" "$((n - from))" 1 >/dev/null || tl_fail "fleetkeys load $n"
	rm -f "$f.tmp-wal" "$f.tmp-shm"
	mv "$f.tmp" "$f"
}

# conf N -> $CACHE/push-N.conf: the same N peers as a wg config, shuffled
# (fixed seed), and $CACHE/active.keys.
conf() {
	local n=$1 f=$CACHE/push-$1.conf
	[ -s "$CACHE/active.keys" ] ||
		"$FLEETKEYS" keys 0 "$ACTIVE" 1 | awk '{ split($3, a, "/"); print $1, a[1] }' >"$CACHE/active.keys"
	[ -s "$f" ] && return 0
	"$FLEETKEYS" keys 0 "$n" 1 | shuf --random-source=<(yes "$n") |
		awk '{ printf "[Peer]\nPublicKey = %s\nAllowedIPs = %s\n", $2, $3 }' >"$f.tmp"
	mv "$f.tmp" "$f"
}
[ -s "$CACHE/active.keys" ] && [ "$(wc -l <"$CACHE/active.keys")" = "$ACTIVE" ] || rm -f "$CACHE/active.keys"

files=$TL_TMP/files
root=$TL_TMP/root
{
	echo "# bench/kernel/scale.sh SIZES=\"$SIZES\" ACTIVE=$ACTIVE REBOOTS=$REBOOTS DUMPS=$DUMPS MODES=\"$MODES\""
	echo "# $(git -C "$ROOT" rev-parse --short HEAD) on $(uname -n), $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "HOST x25519 $("$TL_BIN/jitwg" bench identify --threads 1 --seconds 3 2>&1 | awk '/^x25519/ { print "per_cpu_s=" $5 " wall=" $6 }' | sed 's|/s||g')"
} >"$OUT.head"
first=1
: >"$OUT.body"
for n in $SIZES; do
	db "$n"
	conf "$n"
	rm -rf "$files" "$root"
	mkdir -p "$files"
	wg genkey >"$files/gw.key"
	cp "$CACHE/active.keys" "$files/active.keys"
	# kg_rootfs copies what the links point to
	ln -s "$CACHE/registry-$n.db" "$files/registry.db"
	ln -s "$CACHE/push-$n.conf" "$files/push.conf"
	echo "$n $ACTIVE $REBOOTS $DUMPS $first $MODES" >"$files/params"
	kg_rootfs "$root" "$ROOT/bench/kernel/scale-guest.sh" "$files"/*
	# about 1.7 KB of slab per peer, the files in the initramfs and wg's parse of the config
	mem=$((1536 + n * 4 / 1000))
	log=$TL_TMP/console-$n.log
	t0=$(date +%s)
	kg_boot "$root" "$log" "${KG_TIMEOUT:-2400}" 2 "$mem" || tl_log "guest for $n did not finish cleanly"
	{
		echo "# N=$n: guest ${mem} MiB, boot to power-off $(($(date +%s) - t0)) s"
		tr -d '\r' <"$log" | grep -o 'BENCH .*\|GUEST .*' | sed "s/^BENCH /BENCH n=$n /"
	} | tee -a "$OUT.body"
	grep -q "^BENCH n=$n done" "$OUT.body" || { tail -n 60 "$log" >&2; tl_fail "boot for $n incomplete"; }
	first=0
done
{
	cat "$OUT.head"
	echo "# took $(($(date +%s) - START)) s end to end (registries and configs cached: $(ls "$CACHE" | tr '\n' ' '))"
	cat "$OUT.body"
} >"$OUT"
rm -f "$OUT.head" "$OUT.body"

tsv "$OUT" >"$OUT.tsv"
tl_log "results: $OUT and $OUT.tsv"
