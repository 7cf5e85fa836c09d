# shellcheck shell=bash
# Shared set-up for the gw_*.sh tests (sourced; not a test itself: run.sh
# only runs *.sh). One gateway namespace with wireguard-go, jitwg-registry
# on its loopback and jitwgd; one client namespace holding any number of
# wireguard-go clients that all share one source address (one NAT address,
# as far as the gateway can tell). Every name carries the test's PID.
#
#   GW, CL        namespaces        GWIF     gateway WireGuard interface
#   GW_PORT       gateway UDP port  REG_URL  registry base URL (in GW)
#   MET           metrics ADDR:PORT STATUS   status socket

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

GW_PORT=51820
GW_V4=192.168.77.1
CL_V4=192.168.77.2
GW_V6=fdaa::1
CL_V6=fdaa::2
JITWGD_PID=""
REG_PID=""
declare -A CLIENT_IF CLIENT_PUB

umask 077

# On failure show what the daemons said.
tl_fail() {
	tl_log "FAIL: $*"
	local f
	[ -n "${MET:-}" ] && [ -n "$JITWGD_PID" ] && { echo "--- metrics (non-zero)" >&2;
		gw_curl_metrics 2>/dev/null | grep -v '^#' | grep -v ' 0$' >&2; }
	for f in "$TL_TMP"/jitwgd.log "$TL_TMP"/registry.log; do
		[ -s "$f" ] && { echo "--- ${f##*/} (tail)" >&2; tail -n 40 "$f" >&2; }
	done
	exit 1
}

command -v wireguard-go >/dev/null || { echo "wireguard-go not installed"; exit 77; }
[ -x "$TL_BIN/jitwgd" ] || { echo "build first (make)"; exit 77; }

gw_setup() {
	tl_init
	GW=$(tl_netns gw)
	CL=$(tl_netns cl)
	tl_veth "$GW" "$CL" "vg$$" "vc$$"
	ip -n "$GW" addr add "$GW_V4/24" dev "vg$$"
	ip -n "$CL" addr add "$CL_V4/24" dev "vc$$"
	ip -n "$GW" addr add "$GW_V6/64" dev "vg$$" nodad
	ip -n "$CL" addr add "$CL_V6/64" dev "vc$$" nodad
	GWIF=$(tl_ifname g)
	tl_wg_go "$GW" "$GWIF"
	wg genkey >"$TL_TMP/gw.key"
	GW_PUB=$(wg pubkey <"$TL_TMP/gw.key")
	ip netns exec "$GW" wg set "$GWIF" private-key "$TL_TMP/gw.key" listen-port "$GW_PORT"
	ip -n "$GW" addr add 10.77.0.1/16 dev "$GWIF"
	ip -n "$GW" addr add fd77::1/64 dev "$GWIF" nodad
	ip -n "$GW" link set "$GWIF" up
	MET="127.0.0.1:$((20000 + RANDOM % 20000))"
	STATUS="$TL_TMP/status.sock"
}

# gw_registry_start [extra args] -> jitwg-registry in GW on a random loopback port.
gw_registry_start() {
	local port=$((20000 + RANDOM % 20000))
	REG_URL="http://127.0.0.1:$port"
	tl_bg ip netns exec "$GW" "$TL_BIN/jitwg-registry" --listen "127.0.0.1:$port" \
		--db "$TL_TMP/registry.db" "$@" 2>>"$TL_TMP/registry.log"
	REG_PID=$TL_LAST_PID
	tl_wait_until 10 ip netns exec "$GW" curl -sf "$REG_URL/healthz" || tl_fail "registry did not start"
}

gw_registry_stop() {
	[ -n "$REG_PID" ] || return 0
	kill "$REG_PID" 2>/dev/null || true
	wait "$REG_PID" 2>/dev/null || true
	REG_PID=""
}

# gw_jitwgd_start [extra args] -> jitwgd in GW; waits for its metrics endpoint.
gw_jitwgd_start() {
	tl_bg ip netns exec "$GW" "$TL_BIN/jitwgd" --interface "$GWIF" --registry "$REG_URL" \
		--cache "$TL_TMP/cache.db" --metrics "$MET" --status-socket "$STATUS" "$@" \
		2>>"$TL_TMP/jitwgd.log"
	JITWGD_PID=$TL_LAST_PID
	tl_wait_until 10 gw_curl_metrics || { cat "$TL_TMP/jitwgd.log" >&2; tl_fail "jitwgd did not start"; }
}

gw_jitwgd_stop() {
	[ -n "$JITWGD_PID" ] || return 0
	kill -TERM "$JITWGD_PID" 2>/dev/null || true
	local i
	for i in $(seq 50); do kill -0 "$JITWGD_PID" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$JITWGD_PID" 2>/dev/null && tl_fail "jitwgd did not stop on SIGTERM"
	wait "$JITWGD_PID" 2>/dev/null || true
	JITWGD_PID=""
	# With JITWG_BIN=build-san/bin, ASan/UBSan reports land in the log.
	if grep -q "Sanitizer\|runtime error" "$TL_TMP/jitwgd.log"; then
		grep -A30 "Sanitizer\|runtime error" "$TL_TMP/jitwgd.log" | head -n 60 >&2
		tl_fail "sanitizer report from jitwgd"
	fi
}

gw_curl_metrics() { ip netns exec "$GW" curl -sf "http://$MET/metrics"; }

# gw_metric 'name{labels}' -> its value (0 when absent).
gw_metric() {
	gw_curl_metrics | awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }'
}

# gw_wait_metric SECONDS 'name' OP VALUE -> polls until the comparison holds.
gw_wait_metric() {
	local limit=$1 name=$2 op=$3 want=$4 i v
	for ((i = 0; i < limit * 10; i++)); do
		v=$(gw_metric "$name")
		[ "${v%.*}" "$op" "$want" ] && return 0
		sleep 0.1
	done
	tl_log "timeout: $name = $v, wanted $op $want"
	return 1
}

# gw_client N [v6] -> wireguard-go client N in CL with address 10.77.1.N and
# fd77::1:N, pointed at the gateway over IPv4 (or IPv6). Not registered.
gw_client() {
	local n=$1 fam=${2:-v4} ifn ep
	ifn=$(tl_ifname "c$n")
	tl_wg_go "$CL" "$ifn"
	wg genkey >"$TL_TMP/c$n.key"
	CLIENT_IF[$n]=$ifn
	CLIENT_PUB[$n]=$(wg pubkey <"$TL_TMP/c$n.key")
	if [ "$fam" = v6 ]; then ep="[$GW_V6]:$GW_PORT"; else ep="$GW_V4:$GW_PORT"; fi
	ip netns exec "$CL" wg set "$ifn" private-key "$TL_TMP/c$n.key" \
		peer "$GW_PUB" endpoint "$ep" allowed-ips 10.77.0.1/32,fd77::1/128
	ip -n "$CL" addr add "10.77.1.$n/32" dev "$ifn"
	ip -n "$CL" addr add "fd77::1:$n/128" dev "$ifn" nodad
	ip -n "$CL" link set "$ifn" up
	# IPv6 has no on-link fallback for a bound socket: one route per client,
	# distinct metrics so they coexist; ping -I picks the one of its device.
	ip -n "$CL" -6 route add fd77::1/128 dev "$ifn" metric $((1000 + n))
}

# gw_register N [KEEPALIVE] -> adds client N's key to the registry with its
# addresses (and the gateway's persistent keepalive towards it, in seconds).
gw_register() {
	local n=$1 ka=${2:-0}
	local auth=()
	[ -n "${REG_TOKEN_FILE:-}" ] && auth=(-H "Authorization: Bearer $(cat "$REG_TOKEN_FILE")")
	ip netns exec "$GW" curl -sf -o /dev/null -X POST "$REG_URL/v1/peers" "${auth[@]}" \
		-H 'Content-Type: application/json' \
		-d "{\"public_key\":\"${CLIENT_PUB[$n]}\",\"persistent_keepalive\":$ka,\"allowed_ips\":[\"10.77.1.$n/32\",\"fd77::1:$n/128\"]}" \
		|| tl_fail "registering client $n failed"
}

# gw_ping N [v6] [count] -> one ping through client N's tunnel to the gateway.
gw_ping() {
	local n=$1 fam=${2:-v4} c=${3:-1}
	if [ "$fam" = v6 ]; then
		ip netns exec "$CL" ping -6 -n -q -c "$c" -W 1 -I "${CLIENT_IF[$n]}" fd77::1 >/dev/null 2>&1
	else
		ip netns exec "$CL" ping -n -q -c "$c" -W 1 -I "${CLIENT_IF[$n]}" 10.77.0.1 >/dev/null 2>&1
	fi
}

# gw_installed N -> true when the gateway's data plane has client N's peer.
gw_installed() {
	ip netns exec "$GW" wg show "$GWIF" peers | grep -qxF "${CLIENT_PUB[$1]}"
}

gw_endpoint() {
	ip netns exec "$GW" wg show "$GWIF" endpoints | awk -v k="${CLIENT_PUB[$1]}" '$1 == k { print $2 }'
}

# gw_attacker -> namespace AT on its own veth to GW: it reaches the gateway
# at 192.168.78.1 from 192.168.78.2, an address no client uses.
gw_attacker() {
	AT=$(tl_netns at)
	tl_veth "$GW" "$AT" "vga$$" "va$$"
	ip -n "$GW" addr add 192.168.78.1/24 dev "vga$$"
	ip -n "$AT" addr add 192.168.78.2/24 dev "va$$"
}

# gw_capture_start -> tcpdump in GW waits for the first handshake initiation
# (type 1) from CL_V4 to the gateway port and writes it to $TL_TMP/init.pcap.
gw_capture_start() {
	tl_bg ip netns exec "$GW" tcpdump -n -i "vg$$" -U -c 1 -w "$TL_TMP/init.pcap" \
		"src host $CL_V4 and udp dst port $GW_PORT and udp[8] = 1" 2>/dev/null
	GW_CAPTURE_PID=$TL_LAST_PID
	sleep 1 # tcpdump attaches its filter
}

# gw_capture_finish -> waits up to 3 s for that capture and writes its UDP
# payload, the initiation's 148 bytes as sent, to $TL_TMP/init.bin.
gw_capture_finish() {
	local hex
	tl_wait_until 3 test -s "$TL_TMP/init.pcap" || tl_fail "no initiation captured"
	wait "$GW_CAPTURE_PID" 2>/dev/null || true
	# The UDP payload is the last 148 bytes of the IPv4 packet.
	hex=$(tcpdump -r "$TL_TMP/init.pcap" -x 2>/dev/null | awk '/^\t0x/ { for (i = 2; i <= NF; i++) printf "%s", $i }')
	[ ${#hex} -ge 352 ] || tl_fail "captured packet too short"
	hex=${hex: -296}
	# shellcheck disable=SC2059 # the format is the payload as \x escapes
	printf "$(sed 's/../\\x&/g' <<<"$hex")" >"$TL_TMP/init.bin"
	[ "$(stat -c %s "$TL_TMP/init.bin")" = 148 ] || tl_fail "payload is not 148 bytes"
}

# gw_clients_many N [peer] -> clients 1..N in CL, registered, each with its
# own wireguard-go, key and address 10.77.1.n/32 (IPv4 only). Every
# wireguard-go starts before any is configured: far faster than one by one.
# With "peer" each is also pointed at the gateway over IPv4; without, the
# caller adds the peer.
gw_clients_many() {
	local count=$1 peer=${2:-} n
	for n in $(seq 1 "$count"); do
		CLIENT_IF[$n]=$(tl_ifname "c$n")
		WG_PROCESS_FOREGROUND=1 tl_bg ip netns exec "$CL" wireguard-go "${CLIENT_IF[$n]}" >/dev/null 2>&1
	done
	for n in $(seq 1 "$count"); do
		tl_wait_until 20 test -S "/var/run/wireguard/${CLIENT_IF[$n]}.sock" || tl_fail "wireguard-go $n did not start"
	done
	for n in $(seq 1 "$count"); do
		wg genkey >"$TL_TMP/c$n.key"
		CLIENT_PUB[$n]=$(wg pubkey <"$TL_TMP/c$n.key")
		if [ "$peer" = peer ]; then
			ip netns exec "$CL" wg set "${CLIENT_IF[$n]}" private-key "$TL_TMP/c$n.key" \
				peer "$GW_PUB" endpoint "$GW_V4:$GW_PORT" allowed-ips 10.77.0.1/32
		else
			ip netns exec "$CL" wg set "${CLIENT_IF[$n]}" private-key "$TL_TMP/c$n.key"
		fi
		ip -n "$CL" addr add "10.77.1.$n/32" dev "${CLIENT_IF[$n]}"
		ip -n "$CL" link set "${CLIENT_IF[$n]}" up
		gw_register "$n"
	done
}
