#!/usr/bin/env bash
# The userspace data-plane backend against real wireguard-go: two
# interfaces in one fresh namespace (a "gateway" we configure through the
# seam and a "client" that knows the gateway), then build/bin/test_uapi_live.
source "$(dirname "$0")/../lib.sh"
tl_init
umask 077

command -v wireguard-go >/dev/null || { echo "wireguard-go not installed"; exit 77; }
[ -x "$TL_BIN/test_uapi_live" ] || { echo "build/bin/test_uapi_live missing (make unit)"; exit 77; }

ns=$(tl_netns dp)
gw=$(tl_ifname g)
cl=$(tl_ifname c)
# tl_netns/tl_ifname run in $(...) subshells, so their bookkeeping is lost:
# register the names here so the EXIT trap removes them.
TL_NETNS+=("$ns")
TL_IFACES+=("$gw" "$cl")
tl_wg_go "$ns" "$gw"
tl_wg_go "$ns" "$cl"

wg genkey >"$TL_TMP/gw.key"
wg genkey >"$TL_TMP/cl.key"
gw_port=$((20000 + RANDOM % 20000))
cl_port=$((gw_port + 1))
ip netns exec "$ns" wg set "$gw" private-key "$TL_TMP/gw.key" listen-port "$gw_port"
ip netns exec "$ns" wg set "$cl" private-key "$TL_TMP/cl.key" listen-port "$cl_port" \
	peer "$(wg pubkey <"$TL_TMP/gw.key")" allowed-ips 10.99.0.1/32
ip -n "$ns" addr add 10.99.0.1/32 dev "$gw"
ip -n "$ns" addr add 10.99.0.2/32 dev "$cl"
ip -n "$ns" link set "$gw" up
ip -n "$ns" link set "$cl" up

JITWG_TEST_IF=$gw JITWG_TEST_CLIENT_IF=$cl ip netns exec "$ns" "${JITWG_UAPI_TEST:-$TL_BIN/test_uapi_live}"
