# Guest side of bench/kernel/scale.sh (busybox ash): one boot per registry
# size N. Prints "BENCH key value..." lines; all figures are from a TCG guest,
# so compare ratios, not absolute values.
#
# /files: gw.key; active.keys ("PRIVATE TUNNEL-IP" of the ACTIVE clients, the
# first ACTIVE peers of the registry); registry.db (jitwg-registry on SQLite,
# N peers); push.conf (the same N peers as a wg config, in a shuffled order:
# a reload goes in registry order, which has nothing to do with who is
# active); params ("N ACTIVE REBOOTS DUMPS FIRST MODES...").
#
# Order: (first boot only) the kernel's install cost; then JIT (jitwgd's
# time to ready in front of the N, the feed walk, a warm-up, REBOOTS reboots
# per mode as the clients see them, the slab, the per-operation costs at the
# table JIT leaves: ACTIVE peers); then push (the reload of all N with the
# clients coming back during it, the slab, the per-operation costs at N).
. /lib/kg.sh
[ "$1" = pre ] && exit 0

F=/files
read -r N ACTIVE REBOOTS DUMPS FIRST MODES <$F/params
count() { nsx gw nltool wg0 count; }
# lgfield FILE -> "ok=.. failed=.. p50_ms=.. p99_ms=.. max_ms=.. retries=.. cookies=.." from loadgen's summary
lgfield() {
	sed -n 's/^handshakes: \([0-9]*\) ok, \([0-9]*\) failed; connect ms p50 \([0-9.]*\) p99 \([0-9.]*\) max \([0-9.]*\).*/ok=\1 failed=\2 p50_ms=\3 p99_ms=\4 max_ms=\5/p' "$1" | tail -n 1 | tr '\n' ' '
	sed -n 's/.*retries \([0-9]*\), cookie replies \([0-9]*\),.*/retries=\1 cookies=\2/p' "$1" | tail -n 1
}
# back99 FILE -> "back99_ms=T": from loadgen's start until 99 % of the ACTIVE
# clients were connected: its set-up, then the first progress line (every
# 0.1 s) at or over the mark, or its whole run if it ended first. "nan" when
# fewer than 99 % connected.
back99() {
	awk -v n="$ACTIVE" '/^set-up / { s = $2; e = $5 }
		/^progress:/ { v = $0; sub(/.* ok /, "", v); sub(/,.*/, "", v); if (v + 0 >= n * 0.99 && hit == "") hit = $2 }
		/^handshakes:/ { ok = $2 }
		END { if (ok + 0 < n * 0.99) print "back99_ms=nan"; else printf "back99_ms=%d\n", (s + (hit == "" ? e : hit)) * 1000 }' "$1"
}
ulimit -n 65536

mk_ns gw
mk_ns cl
mk_veth gw vg 192.168.77.1/24 cl vc 192.168.77.2/24
# Each client from its own address, as after a real reboot (the kernel's
# under-load rate limit is per source address).
$IP -n cl route add local 10.201.0.0/16 dev lo
$IP -n gw route add 10.201.0.0/16 via 192.168.77.2
GWPUB=$($WG pubkey <$F/gw.key)
# wg_fresh -> wg0 as a reboot leaves it: the gateway's key and port, no peers.
wg_fresh() {
	$IP -n gw link del wg0 2>/dev/null
	mk_wg gw wg0 $F/gw.key 51820 10.77.0.1/16
}
LG="jitwg loadgen --endpoint 192.168.77.1:51820 --server-public-key $GWPUB --progress 0 --source-prefix 10.201.0.0/16"
head -n 100 $F/active.keys >/tmp/hs.keys

# ops TAG -> what the table's size does to other operations: `wg show dump`
# (DUMPS tries, whole command), one new peer added and one removed (50 each,
# one netlink call per peer: the kernel's cost of a push of one user), and the
# handshake of an installed active client (100 of them, 20/s).
ops() {
	peers=$(count)
	: >/tmp/dump.ms
	i=0
	while [ $i -lt "$DUMPS" ]; do
		t0=$(now_ms)
		nsx gw $WG show wg0 dump >/dev/null
		echo $(($(now_ms) - t0)) >>/tmp/dump.ms
		i=$((i + 1))
	done
	dump=$(sort -n /tmp/dump.ms | awk '{ v[NR] = $1 } END { i = int((NR * 99 + 99) / 100); printf "dump_ms_p50=%d dump_ms_p99=%d dump_ms_max=%d", v[int((NR + 1) / 2)], v[i], v[NR] }')
	add=$(nsx gw nltool wg0 gen-add 50 batch 1 seed 99 | grep -o 'call_ms_.*' | sed 's/call_ms_/add_ms_/g')
	del=$(nsx gw nltool wg0 gen-remove 50 batch 1 seed 99 | grep -o 'call_ms_.*' | sed 's/call_ms_/remove_ms_/g')
	nsx cl $LG --keys /tmp/hs.keys --rate 20 --attempt-time 30 >/tmp/hs.out 2>&1
	bench ops_"$1" "peers=$peers $dump $add $del hs_$(lgfield /tmp/hs.out | sed 's/ / hs_/g')"
}

# ---- the kernel's install cost (first boot only) ----------------------------------
# Each new peer on an interface with a private key costs the kernel one
# static-static X25519, under RTNL. Keyed against key-less shows its share;
# batch sizes show what one RTNL hold per netlink message saves; the X25519
# loop of `jitwg bench identify` (OpenSSL, the same binary as on the host)
# gives the TCG slowdown.
if [ "$FIRST" = 1 ]; then
	wg_fresh
	$IP -n gw link add wk type wireguard
	for b in 1 10 100 1000; do
		n=$((b == 1 ? 2000 : 10000))
		bench install_cost_keyed_batch$b "$(nsx gw nltool wg0 gen-add $n batch $b seed 11)"
		nsx gw nltool wg0 gen-remove $n batch 1000 seed 11 >/dev/null
		bench install_cost_keyless_batch$b "$(nsx gw nltool wk gen-add $n batch $b seed 11)"
		nsx gw nltool wk gen-remove $n batch 1000 seed 11 >/dev/null
	done
	$IP -n gw link del wk
	bench x25519_guest "$(jitwg bench identify --threads 1 --seconds 3 2>&1 | awk '/^x25519/ { print "per_cpu_s=" $5 " wall=" $6 }' | sed 's|/s||g')"
fi

# ---- JIT: jitwgd in front of a registry of N ---------------------------------------
wg_fresh
# not through nsx: a backgrounded shell function is a subshell, and $! would
# name it rather than the daemon
$IP netns exec gw jitwg-registry --listen 127.0.0.1:8080 --db $F/registry.db >/tmp/reg.log 2>&1 &
RPID=$!
wait_until 60 nsx gw wget -q -O /dev/null http://127.0.0.1:8080/healthz || bench error registry did not start
metrics() { nsx gw wget -q -O - http://127.0.0.1:9100/metrics 2>/dev/null; }
synced() { metrics | awk '$1 == "jitwg_prefetch_synced_seconds" && $2 > 0 { f = 1 } END { exit !f }'; }
JPID=
# jit_start ARGS... -> jitwgd on wg0 and the cache in /tmp, in the background
jit_start() {
	$IP netns exec gw jitwgd --interface wg0 --backend kernel --registry http://127.0.0.1:8080 \
		--cache /tmp/cache.db --metrics 127.0.0.1:9100 --status-socket '' --registry-budget 0 "$@" \
		>/tmp/jitwgd.log 2>&1 &
	JPID=$!
}
jit_stop() {
	kill -TERM $JPID
	wait $JPID
}
ready_ms() { sed -n 's/.*ready in \([0-9.]*\) ms.*/\1/p' /tmp/jitwgd.log | head -n 1; }

settle
slab0=$(meminfo Slab)
t0=$(now_ms)
jit_start
wait_until 60 metrics
t1=$(now_ms)
# A fresh gateway walks the registry's change feed once (its cache is empty)
wait_until 1800 synced
t2=$(now_ms)
bench jit_ready "daemon_ready_ms=$(ready_ms) start_to_metrics_ms=$((t1 - t0)) feed_walk_ms=$((t2 - t0)) peers_in_kernel=$(count)"
nsx cl $LG --keys $F/active.keys --rate 500 --attempt-time 120 >/tmp/warm.out 2>&1
bench jit_warmup "$(lgfield /tmp/warm.out) peers_in_kernel=$(count)"
jit_stop

# The reboot: wg0 empty again, jitwgd restarted on its cache, and the ACTIVE
# clients coming back at once, started in the same moment as jitwgd. back99
# is the time until 99 % are back, from loadgen's start; p50/p99 are
# loadgen's per-client connect times, from each client's first initiation.
for mode in $MODES; do
	args=--reinject
	[ "$mode" = inv ] && args=--reinject=false
	r=1
	while [ $r -le "$REBOOTS" ]; do
		wg_fresh
		settle
		slab0=$(meminfo Slab)
		avail0=$(meminfo MemAvailable)
		jit_start $args
		nsx cl $LG --keys $F/active.keys --rate 0 --attempt-time 300 --progress 0.1 >/tmp/reboot.out 2>&1
		wait_until 30 metrics
		hs=$(metrics | awk '$1 ~ /^jitwg_(installs|initiations_sent|install_reinjected|install_confirm_repaired)_total/ {
			sub(/^jitwg_/, "", $1); sub(/_total$/, "", $1); printf "%s=%d ", $1, $2 }')
		jit_stop
		settle
		bench jit_reboot mode=$mode reboot=$r "$(back99 /tmp/reboot.out) $(lgfield /tmp/reboot.out) daemon_ready_ms=$(ready_ms) $hs peers_in_kernel=$(count)" \
			"slab_delta_kb=$(($(meminfo Slab) - slab0)) memavail_delta_kb=$((avail0 - $(meminfo MemAvailable)))"
		r=$((r + 1))
	done
done
kill -TERM $RPID
wait $RPID
ops jit

# ---- push: every registered peer into the kernel, as on each boot before ---------
# The clients come back at once when wg0 is up; each retries every 5 s (and a
# jitter) until its peer is loaded.
wg_fresh
settle
slab0=$(meminfo Slab)
avail0=$(meminfo MemAvailable)
nsx cl $LG --keys $F/active.keys --rate 0 --attempt-time 3000 --progress 0.1 >/tmp/push.out 2>&1 &
LPID=$!
t0=$(now_ms)
nsx gw $WG addconf wg0 $F/push.conf
t1=$(now_ms)
wait $LPID
bench push_reload "ms=$((t1 - t0)) peers_in_kernel=$(count)"
bench push_reboot "$(back99 /tmp/push.out) $(lgfield /tmp/push.out)"
settle
bench push_memory "slab_delta_kb=$(($(meminfo Slab) - slab0)) memavail_delta_kb=$((avail0 - $(meminfo MemAvailable)))"
ops push
echo "BENCH done"
