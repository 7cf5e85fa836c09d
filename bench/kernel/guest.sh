# Guest side of bench/kernel/run.sh (busybox ash): kernel WireGuard install
# and remove throughput, push versus JIT at N registered peers, and the
# kernel's peer count and memory after each. Prints "BENCH key value" lines.
# All figures are from a TCG guest: compare ratios, not absolute values.
. /lib/kg.sh
[ "$1" = pre ] && exit 0

F=/files
SIZES=$(cat $F/sizes)          # e.g. "10000 100000"
SINGLE=${SINGLE:-2000}         # peers for the one-at-a-time runs

mk_ns gw
mk_ns cl
mk_veth gw vg 192.168.77.1/24 cl vc 192.168.77.2/24
mk_wg gw wg0 $F/gw.key 51820 10.77.0.1/16
GWPUB=$($WG pubkey <$F/gw.key)
NL="nsx gw nltool wg0"
count() { nsx gw nltool wg0 count; }

# ---- throughput: install and remove, batched and one at a time ---------------
# wg0 has a private key, as a gateway does: each new peer costs the kernel
# one static-static X25519, which is most of the install work.
out=$($NL gen-add 10000 batch 1000 seed 11)
bench install_batched_10k "$out"
out=$($NL gen-remove 10000 batch 1000 seed 11)
bench remove_batched_10k "$out"
out=$($NL gen-add "$SINGLE" batch 1 seed 12)
bench install_single "$out"
out=$($NL gen-remove "$SINGLE" batch 1 seed 12)
bench remove_single "$out"

# The same on a key-less interface, where the kernel skips that X25519: what
# is left is netlink and peer bookkeeping, so batching shows.
$IP -n gw link add wk type wireguard
out=$(nsx gw nltool wk gen-add 10000 batch 1000 seed 14)
bench keyless_install_batched_10k "$out"
out=$(nsx gw nltool wk gen-remove 10000 batch 1000 seed 14)
bench keyless_remove_batched_10k "$out"
out=$(nsx gw nltool wk gen-add "$SINGLE" batch 1 seed 15)
bench keyless_install_single "$out"
out=$(nsx gw nltool wk gen-remove "$SINGLE" batch 1 seed 15)
bench keyless_remove_single "$out"
$IP -n gw link del wk

# ---- push: every registered peer into the kernel, as on each boot before --------
for N in $SIZES; do
	settle
	slab0=$(meminfo Slab)
	avail0=$(meminfo MemAvailable)
	t0=$(now_ms)
	out=$($NL gen-add "$N" batch 1000 seed 13)
	t1=$(now_ms)
	settle
	bench push_${N} "ms=$((t1 - t0)) $out peers_in_kernel=$(count)" \
		"slab_delta_kb=$(($(meminfo Slab) - slab0)) memavail_delta_kb=$((avail0 - $(meminfo MemAvailable)))"
	t0=$(now_ms)
	nsx gw $WG show wg0 dump >/dev/null
	bench push_${N}_wg_show_ms $(($(now_ms) - t0))
	out=$($NL gen-remove "$N" batch 1000 seed 13)
	bench push_${N}_remove "$out"
done

# ---- JIT: jitwgd in front of a registry holding N peers ---------------------------
# clients.txt: "N PRIVATE PUBLIC" of the clients that connect (registered in
# every database); the rest of the N registered peers never show up.
while read -r n priv pub; do
	echo "$priv" >/tmp/c$n.key
	$IP -n cl link add wc$n type wireguard
	nsx cl $WG set wc$n private-key /tmp/c$n.key listen-port $((52000 + n)) \
		peer "$GWPUB" endpoint 192.168.77.1:51820 allowed-ips 10.77.0.1/32
	$IP -n cl addr add 10.77.1.$n/32 dev wc$n
	$IP -n cl link set wc$n up
done <$F/clients.txt
NC=$(wc -l <$F/clients.txt)
metrics() { nsx gw wget -q -O - http://127.0.0.1:9100/metrics 2>/dev/null; }
for N in $SIZES; do
	cp $F/registry-$N.db /tmp/registry.db
	$IP netns exec gw jitwg-registry --listen 127.0.0.1:8080 --db /tmp/registry.db >/tmp/reg.log 2>&1 &
	RPID=$!
	wait_until 30 nsx gw wget -q -O /dev/null http://127.0.0.1:8080/healthz
	rm -f /tmp/cache.db*
	settle
	slab0=$(meminfo Slab)
	avail0=$(meminfo MemAvailable)
	t0=$(now_ms)
	$IP netns exec gw jitwgd --interface wg0 --backend kernel --registry http://127.0.0.1:8080 \
		--cache /tmp/cache.db --metrics 127.0.0.1:9100 --status-socket '' >/tmp/jitwgd.log 2>&1 &
	JPID=$!
	wait_until 30 metrics
	t1=$(now_ms)
	ready=$(sed -n 's/.*ready in \([0-9.]*\) ms.*/\1/p' /tmp/jitwgd.log | head -n 1)
	bench jit_${N}_ready "daemon_ready_ms=$ready start_to_metrics_ms=$((t1 - t0)) peers_in_kernel=$(count)"
	# The clients that are active connect; the other N - NC never cost anything.
	t0=$(now_ms)
	n=1
	while [ $n -le "$NC" ]; do
		nsx cl ping -c 1 -W 4 -I wc$n 10.77.0.1 >/dev/null 2>&1 &
		n=$((n + 1))
	done
	up=0
	n=1
	while [ $n -le "$NC" ]; do
		wait_until 10 nsx cl ping -c 1 -W 1 -I wc$n 10.77.0.1 && up=$((up + 1))
		n=$((n + 1))
	done
	t1=$(now_ms)
	settle
	bench jit_${N}_after "clients_connected=$up/$NC connect_all_ms=$((t1 - t0)) peers_in_kernel=$(count)" \
		"slab_delta_kb=$(($(meminfo Slab) - slab0)) memavail_delta_kb=$((avail0 - $(meminfo MemAvailable)))"
	kill -TERM $JPID
	wait $JPID
	kill -TERM $RPID
	wait $RPID
	# Next round starts cold: drop the peers and reset the clients' sessions.
	for k in $(nsx gw $WG show wg0 peers); do nsx gw $WG set wg0 peer "$k" remove; done
	n=1
	while [ $n -le "$NC" ]; do
		nsx cl $WG set wc$n peer "$GWPUB" remove
		nsx cl $WG set wc$n peer "$GWPUB" endpoint 192.168.77.1:51820 allowed-ips 10.77.0.1/32
		n=$((n + 1))
	done
done
echo "BENCH done"
