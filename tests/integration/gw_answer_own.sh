#!/usr/bin/env bash
# The data plane answers the client's own first initiation (the default):
# a cold client over IPv4 and one over IPv6 each connect with one
# initiation (no retry), and the gateway sends no initiation of its own:
# jitwgd installs the peer and hands the captured initiation back to the
# data plane (install/reinject.c). The copy is not captured again (no
# replay rejected). The IPv4 client's record has a persistent keepalive,
# which the data plane gets only once the copy is answered (turning it on
# earlier would make the data plane initiate and cross the copy): the
# capture sees the client's first message of the session. Then a
# client with --reinject=false, role inversion, where the gateway does
# initiate and nothing is re-injected.
source "$(dirname "$0")/gw_common.bash"

gw_setup
gw_registry_start
gw_client 1 v4
gw_client 2 v6
gw_register 1 25
gw_register 2
tl_bg ip netns exec "$GW" tcpdump -n -i "vg$$" -U -w "$TL_TMP/wg.pcap" "udp port $GW_PORT" 2>/dev/null
sleep 1 # tcpdump attaches its filter
gw_jitwgd_start --idle-timeout 600

# initiations FROM -> how many 148-byte datagrams (type 1) left FROM ("gw" or "cl")
count_init() {
	local re
	if [ "$1" = gw ]; then re="IP6? ($GW_V4|$GW_V6)\.$GW_PORT >"; else re="IP6? ($CL_V4|$CL_V6)\.[0-9]+ >"; fi
	tcpdump -n -r "$TL_TMP/wg.pcap" 2>/dev/null | grep -E "$re" | grep -c "length 148\$" || true
}

tl_wait_until 4 gw_ping 1 v4 || tl_fail "IPv4 client did not connect"
tl_wait_until 4 gw_ping 2 v6 || tl_fail "IPv6 client did not connect"
gw_wait_metric 5 jitwg_install_reinjected_total -eq 2 || tl_fail "want 2 re-injections"
[ "$(gw_metric jitwg_initiations_sent_total)" = 0 ] || tl_fail "jitwgd made the data plane initiate"
[ "$(gw_metric jitwg_install_reinject_failed_total)" = 0 ] || tl_fail "a re-injection failed"
[ "$(gw_metric jitwg_replay_rejected_total)" = 0 ] || tl_fail "the re-injected copy was captured again"
[ "$(gw_metric jitwg_captured_total)" = 2 ] || tl_fail "captured $(gw_metric jitwg_captured_total), want 2"
case $(gw_endpoint 2) in "[$CL_V6]:"*) ;; *) tl_fail "client 2 endpoint $(gw_endpoint 2) is not its IPv6 source";; esac
# The capture saw both sessions begin (each client's first message after
# the response), which settled both copies without listing the data plane.
gw_wait_metric 3 jitwg_install_reinject_answered_total -eq 2 ||
	tl_fail "answered $(gw_metric jitwg_install_reinject_answered_total), want 2"
# The record's keepalive arrived after the copy was answered, as a
# keepalive on the session: the initiation count below would show an
# initiation.
ka() { ip netns exec "$GW" wg show "$GWIF" persistent-keepalive | awk -v k="${CLIENT_PUB[1]}" '$1 == k { print $2 }'; }
ka_is() { [ "$(ka)" = "$1" ]; }
tl_wait_until 3 ka_is 25 || tl_fail "client 1's keepalive is $(ka), want 25"
sleep 1 # the last packets reach the pcap file
gi=$(count_init gw)
ci=$(count_init cl)
tl_log "initiations on the wire: clients $ci, gateway $gi"
[ "$gi" = 0 ] || tl_fail "the gateway sent $gi initiations"
[ "$ci" = 2 ] || tl_fail "the clients sent $ci initiations, want one each (no retry)"
# Each client holds the session it initiated: its latest handshake is set.
for n in 1 2; do
	hs=$(ip netns exec "$CL" wg show "${CLIENT_IF[$n]}" latest-handshakes | awk '{ print $2 }')
	[ "${hs:-0}" -gt 0 ] || tl_fail "client $n has no handshake"
done

# --reinject=false: the data plane initiates instead (and nothing is re-injected).
gw_jitwgd_stop
gw_client 3 v4
gw_register 3
gw_jitwgd_start --idle-timeout 600 --reinject=false
tl_wait_until 4 gw_ping 3 v4 || tl_fail "client 3 did not connect with role inversion"
gw_wait_metric 5 jitwg_initiations_sent_total -ge 1 || tl_fail "no initiation with role inversion"
[ "$(gw_metric jitwg_install_reinjected_total)" = 0 ] || tl_fail "re-injected with --reinject=false"
gw_jitwgd_stop
tl_log "PASS"
