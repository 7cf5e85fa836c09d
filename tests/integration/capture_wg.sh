#!/usr/bin/env bash
# Capture against real WireGuard traffic: a wireguard-go client in one
# namespace sends handshake initiations over a veth (Ethernet framing) to a
# wireguard-go "gateway" that has no peers, as in JIT operation. The capture
# in the gateway's namespace must catch them over IPv4 and IPv6 and the
# payload must decode to the client's static key with the gateway's key.
source "$(dirname "$0")/../lib.sh"
tl_init
umask 077

command -v wireguard-go >/dev/null || { echo "wireguard-go not installed"; exit 77; }
T=${JITWG_CAPTURE_TEST:-$TL_BIN/test_capture}
[ -x "$T" ] || { echo "build/bin/test_capture missing (make unit)"; exit 77; }

gns=$(tl_netns gw)
cns=$(tl_netns cl)
# tl_netns runs in a $(...) subshell, so its bookkeeping is lost: register
# the namespaces here so the EXIT trap removes them (and the veth with them).
TL_NETNS+=("$gns" "$cns")
tl_veth "$gns" "$cns" vgw vcl
ip -n "$gns" addr add 192.0.2.1/24 dev vgw
ip -n "$cns" addr add 192.0.2.2/24 dev vcl
ip -n "$gns" addr add 2001:db8::1/64 dev vgw nodad
ip -n "$cns" addr add 2001:db8::2/64 dev vcl nodad

gw=$(tl_ifname g)
cl=$(tl_ifname c)
TL_IFACES+=("$gw" "$cl")
tl_wg_go "$gns" "$gw"
tl_wg_go "$cns" "$cl"
wg genkey >"$TL_TMP/gw.key"
wg genkey >"$TL_TMP/cl.key"
port=$((20000 + RANDOM % 20000))
gw_pub=$(wg pubkey <"$TL_TMP/gw.key")
cl_pub=$(wg pubkey <"$TL_TMP/cl.key")
ip netns exec "$gns" wg set "$gw" private-key "$TL_TMP/gw.key" listen-port "$port"
ip netns exec "$cns" wg set "$cl" private-key "$TL_TMP/cl.key"
ip -n "$gns" link set "$gw" up
ip -n "$cns" addr add 10.77.0.2/24 dev "$cl"
ip -n "$cns" link set "$cl" up

run() { # FAMILY ENDPOINT SOURCE
	local ready="$TL_TMP/ready.$1" pid
	ip netns exec "$cns" wg set "$cl" peer "$gw_pub" endpoint "$2" allowed-ips 10.77.0.1/32
	JITWG_CAPTURE_PORT=$port JITWG_CAPTURE_KEYFILE="$TL_TMP/gw.key" JITWG_CAPTURE_EXPECT="$cl_pub" \
		JITWG_CAPTURE_SRC="$3" JITWG_CAPTURE_READY="$ready" \
		tl_bg ip netns exec "$gns" "$T"
	pid=$TL_LAST_PID
	tl_wait_until 5 test -e "$ready" || tl_fail "capture did not open"
	# Any packet for the tunnel makes the client initiate; it gets no answer.
	ip netns exec "$cns" ping -c 1 -W 1 10.77.0.1 >/dev/null 2>&1 || true
	wait "$pid" || tl_fail "$1: initiation not captured"
	tl_log "$1: captured and identified the client"
	# Drop the peer so the next run starts a fresh handshake at once.
	ip netns exec "$cns" wg set "$cl" peer "$gw_pub" remove
}

run IPv4 "192.0.2.1:$port" 192.0.2.2
run IPv6 "[2001:db8::1]:$port" 2001:db8::2
