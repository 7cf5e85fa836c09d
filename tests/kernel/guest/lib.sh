# Guest helpers for the scenarios (busybox ash). Sourced as /lib/kg.sh.
# Busybox prefers its own applets, so the real iproute2 and wg go by path.
IP=/usr/sbin/ip
WG=/usr/bin/wg
[ -x "$IP" ] || IP=/sbin/ip
[ -x "$IP" ] || IP=/bin/ip.real

# result NAME pass|fail [DETAIL...]
result() {
	n=$1 s=$2
	shift 2
	echo "RESULT $n $s $*"
	echo "$n $s" >>/tmp/results
}

# check NAME CMD... -> pass when CMD succeeds.
check() {
	n=$1
	shift
	if "$@" >/tmp/check.out 2>&1; then
		result "$n" pass
	else
		result "$n" fail "$(tail -n 3 /tmp/check.out | tr '\n' ' ')"
	fi
}

# wait_until SECONDS CMD... -> polls every 0.2 s.
wait_until() {
	w_limit=$(($1 * 5))
	shift
	w_i=0
	while [ $w_i -lt $w_limit ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
		w_i=$((w_i + 1))
	done
	return 1
}

# nsx NS CMD... -> runs CMD in network namespace NS.
nsx() {
	x_ns=$1
	shift
	$IP netns exec "$x_ns" "$@"
}

# mk_ns NAME -> namespace with lo up.
mk_ns() {
	$IP netns add "$1"
	$IP -n "$1" link set lo up
}

# mk_veth NS_A IF_A ADDR_A NS_B IF_B ADDR_B (addresses with prefix, v4 and v6 "a,b").
mk_veth() {
	$IP link add "$2" netns "$1" type veth peer name "$5" netns "$4"
	for a in $(echo "$3" | tr ',' ' '); do $IP -n "$1" addr add "$a" dev "$2" nodad 2>/dev/null || $IP -n "$1" addr add "$a" dev "$2"; done
	for a in $(echo "$6" | tr ',' ' '); do $IP -n "$4" addr add "$a" dev "$5" nodad 2>/dev/null || $IP -n "$4" addr add "$a" dev "$5"; done
	$IP -n "$1" link set "$2" up
	$IP -n "$4" link set "$5" up
}

# mk_wg NS IF KEYFILE PORT ADDR -> kernel WireGuard interface, up.
mk_wg() {
	$IP -n "$1" link add "$2" type wireguard
	nsx "$1" $WG set "$2" private-key "$3" listen-port "$4"
	[ -n "$5" ] && $IP -n "$1" addr add "$5" dev "$2"
	$IP -n "$1" link set "$2" up
}

# peer_hs NS IF PUBKEY -> prints the peer's latest handshake (0 = never).
peer_hs() {
	nsx "$1" $WG show "$2" latest-handshakes | awk -v k="$3" '$1 == k { print $2 }'
}

has_hs() {
	h=$(peer_hs "$1" "$2" "$3")
	[ -n "$h" ] && [ "$h" != 0 ]
}

now_ms() {
	awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime
}

# For the benchmarks (bench/kernel/*guest.sh): bench KEY VALUE... prints a
# "BENCH" line for the host; meminfo FIELD -> its kB in /proc/meminfo;
# settle drops the page cache so memory deltas start from the same place.
bench() { echo "BENCH $*"; }
meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
settle() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	sleep 1
}
