# Guest side of bench/kernel/crossed.sh (busybox ash).
. /lib/kg.sh
[ "$1" = pre ] && exit 0
F=/files
GW_PORT=51820
REG=127.0.0.1:8080
MET=127.0.0.1:9100
ROUNDS=$(cat $F/rounds)
ARGS=$(cat $F/args)
out() { echo "CROSSED $*"; }

mk_ns gw
mk_ns cl
mk_veth gw vg 192.168.77.1/24 cl vc 192.168.77.2/24
mk_wg gw wg0 $F/gw.key $GW_PORT 10.77.0.1/16
GWPUB=$($WG pubkey <$F/gw.key)
cp $F/registry.db /tmp/registry.db
nsx gw jitwg-registry --listen $REG --db /tmp/registry.db >/tmp/registry.log 2>&1 &
wait_until 20 nsx gw wget -q -O /dev/null "http://$REG/healthz" || { out "registry did not start"; exit 1; }
while read -r n priv pub; do
	echo "$priv" >/tmp/c$n.key
	$IP -n cl link add wc$n type wireguard
	nsx cl $WG set wc$n private-key /tmp/c$n.key listen-port $((52000 + n))
	$IP -n cl addr add 10.77.1.$n/32 dev wc$n
	$IP -n cl link set wc$n up
done <$F/clients.txt
N=$(wc -l <$F/clients.txt)
nsx gw tcpdump -Z root -n -i vg -U -s 96 -w /tmp/all.pcap "udp port $GW_PORT" >/tmp/tcpdump.log 2>&1 &
sleep 1
# jitwgd restarts every round with a fresh cache, as in bench/coldconnect: a
# peer removed behind its back would otherwise still look live to it.
JPID=
start_jitwgd() {
	# shellcheck disable=SC2086 # ARGS are words
	$IP netns exec gw jitwgd --interface wg0 --backend kernel --registry "http://$REG" \
		--cache /tmp/cache-$1.db --metrics $MET $ARGS >>/tmp/jitwgd.log 2>&1 &
	JPID=$!
	wait_until 20 nsx gw wget -q -O /dev/null "http://$MET/metrics" ||
		{ out "jitwgd did not start"; tail /tmp/jitwgd.log; exit 1; }
}
stop_jitwgd() {
	kill -TERM "$JPID" 2>/dev/null
	wait "$JPID" 2>/dev/null
}

total=0 stalls=0
: >/tmp/stalled
r=1
while [ $r -le $ROUNDS ]; do
	n=1
	while [ $n -le $N ]; do
		pub=$(sed -n "${n}p" $F/clients.txt | cut -d' ' -f3)
		nsx gw $WG set wg0 peer "$pub" remove
		nsx cl $WG set wc$n peer "$GWPUB" remove
		nsx cl $WG set wc$n peer "$GWPUB" endpoint 192.168.77.1:$GW_PORT allowed-ips 10.77.0.1/32
		n=$((n + 1))
	done
	start_jitwgd $r
	n=1
	while [ $n -le $N ]; do
		t0=$(date +%s)
		ms=$(nsx cl ping -c 1 -W 12 -I wc$n 10.77.0.1 2>/dev/null | sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p')
		total=$((total + 1))
		case ${ms:-fail} in
		fail) slow=1 ;;
		*) slow=$(awk -v t="$ms" 'BEGIN { print (t > 1000) ? 1 : 0 }') ;;
		esac
		if [ "$slow" = 1 ]; then
			stalls=$((stalls + 1))
			echo "$r $n $t0 ${ms:-fail}" >>/tmp/stalled
		fi
		n=$((n + 1))
	done
	stop_jitwgd
	out "round $r: $stalls of $total connects over 1 s so far"
	r=$((r + 1))
done
kill $(pidof tcpdump) 2>/dev/null
sleep 1
out "capture: $(tcpdump -n -r /tmp/all.pcap 2>&1 | wc -l) lines; $(ls -l /tmp/all.pcap 2>&1); $(head -n 3 /tmp/tcpdump.log | tr '\n' ' ')"
out "repairs: $(grep -c 'initiated again' /tmp/jitwgd.log)"
out "$stalls of $total connects over 1 s (jitwgd $ARGS), kernel $(uname -r)"
while read -r r n t0 ms; do
	out "--- round $r client $n (port $((52000 + n))): $ms ms"
	tcpdump -n -tt -r /tmp/all.pcap "udp port $((52000 + n))" 2>&1 |
		awk -v t0="$t0" '$1 >= t0 - 1 && $1 <= t0 + 7 { print }' | head -n 12 |
		while read -r line; do out "  $line"; done
done </tmp/stalled
