#!/usr/bin/env bash
# Regenerates tests/data/session-*: whole WireGuard sessions between jitwg
# loadgen and Debian's wireguard-go, for the known-answer tests of the
# session code (tests/unit/test_session_kat.c).
#
#   scripts/gen-sessions.sh [OUTDIR]      (default tests/data; needs root)
#
# Two namespaces joined by a veth; wireguard-go in "gw" knows one client
# key. One loadgen client, with --trace, records every datagram as it was
# sent and received and each handshake's ephemeral private key (the one
# secret a capture cannot give): the "in" lines are wireguard-go's bytes.
#   session-initiator.trace  the client initiates; one ICMP echo each way
#   session-responder.trace  wireguard-go initiates (persistent keepalive
#                            0 -> on, jitwgd's role inversion); one echo
#   session-cookie.trace     a replay flood puts wireguard-go under load:
#                            it answers with a cookie reply (type 3), the
#                            retransmit carries mac2 and completes
# The keys are committed with them (session-client.key, session-gateway.key).
source "$(dirname "$0")/../tests/lib.sh"
tl_init
umask 022

OUT=${1:-$TL_ROOT/tests/data}
PORT=51998
mkdir -p "$OUT"
for t in wireguard-go wg; do command -v "$t" >/dev/null || tl_fail "$t not installed"; done
[ -x "$TL_BIN/jitwg" ] || tl_fail "build first (make)"

gw=$(tl_netns gw)
cl=$(tl_netns cl)
tl_veth "$gw" "$cl" "sg$$" "sc$$"
ip -n "$gw" addr add 10.76.0.1/24 dev "sg$$"
ip -n "$cl" addr add 10.76.0.2/24 dev "sc$$"

(umask 077; wg genkey >"$OUT/session-gateway.key"; wg genkey >"$OUT/session-client.key")
wg pubkey <"$OUT/session-gateway.key" >"$OUT/session-gateway.pub"
wg pubkey <"$OUT/session-client.key" >"$OUT/session-client.pub"
gw_pub=$(cat "$OUT/session-gateway.pub")
cl_pub=$(cat "$OUT/session-client.pub")
echo "$(cat "$OUT/session-client.key") 10.98.0.2" >"$TL_TMP/keys"

wgi=$(tl_ifname s)
tl_wg_go "$gw" "$wgi"
ip netns exec "$gw" wg set "$wgi" private-key "$OUT/session-gateway.key" listen-port "$PORT"
ip -n "$gw" addr add 10.98.0.1/24 dev "$wgi"
ip -n "$gw" link set "$wgi" up

lg() {
	ip netns exec "$cl" timeout 60 "$TL_BIN/jitwg" loadgen --endpoint "10.76.0.1:$PORT" \
		--server-public-key "$gw_pub" --keys "$TL_TMP/keys" --ping 10.98.0.1 --progress 0 \
		--attempt-time 30 "$@"
}

ip netns exec "$gw" wg set "$wgi" peer "$cl_pub" allowed-ips 10.98.0.2/32
lg --role initiator --trace "$OUT/session-initiator.trace" >"$TL_TMP/i.out" ||
	{ cat "$TL_TMP/i.out"; tl_fail "initiator session failed"; }
ip netns exec "$gw" wg set "$wgi" peer "$cl_pub" remove

tl_bg lg --role responder --base-port 42000 --trace "$OUT/session-responder.trace" >"$TL_TMP/r.out"
pid=$TL_LAST_PID
tl_wait_until 10 bash -c "ip netns exec $cl ss -Hun | grep -q ':42000 '" || tl_fail "client did not bind"
ip netns exec "$gw" wg set "$wgi" peer "$cl_pub" allowed-ips 10.98.0.2/32 endpoint 10.76.0.2:42000 \
	persistent-keepalive 25
wait "$pid" || { cat "$TL_TMP/r.out"; tl_fail "responder session failed"; }
ip netns exec "$gw" wg set "$wgi" peer "$cl_pub" remove

ip netns exec "$gw" wg set "$wgi" peer "$cl_pub" allowed-ips 10.98.0.2/32
lg --role initiator --rekey-timeout 1 --flood replay --flood-duration 5 --start-after 1 \
	--trace "$OUT/session-cookie.trace" >"$TL_TMP/c.out" || { cat "$TL_TMP/c.out"; tl_fail "cookie session failed"; }
grep -q "^in 03" "$OUT/session-cookie.trace" || tl_fail "no cookie reply captured (wireguard-go not under load?)"
chmod 644 "$OUT"/session-*
tl_log "wrote $OUT/session-*: $(wc -l <"$OUT/session-initiator.trace") + $(wc -l <"$OUT/session-responder.trace") + $(wc -l <"$OUT/session-cookie.trace") lines"
