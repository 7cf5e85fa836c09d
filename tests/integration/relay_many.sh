#!/usr/bin/env bash
# 200 clients at once over the relay: `jitwg loadgen` simulates 200 real
# WireGuard clients (registered keys, real Noise, initiator role), each through
# its own WebSocket (tests/relay/multitunnel.py, one process) into
# jitwg-relay, the hook and jitwgd with the real registry and a wireguard-go
# gateway. Every client must complete a handshake and get a ping through:
# 0 pings lost. jitwgd re-injects (the default: the client's initiation,
# handed over by the hook, goes back to the data plane from the relay's
# socket for that client once the peer is installed) and the clients' role
# is `both`; they retransmit after 1 s. With role inversion
# (RELAY_MANY_JITWGD_ARGS=--reinject=false) the gateway's initiations
# crossed those retransmits in 1 of 8 runs and 7 first pings were lost
# (docs/PERFORMANCE.md "Bursts"), so the test names --reinject; other
# options through RELAY_MANY_JITWGD_ARGS;
# RELAY_MANY_ROLE sets the clients' role. The harness's one UDP socket has a
# 16 MiB receive buffer: with the default it dropped datagrams itself.
# Budget: about 60 s.
source "$(dirname "$0")/gw_common.bash"
/usr/bin/python3 -c 'import websockets' 2>/dev/null || { echo "SKIP: python3-websockets missing"; exit 77; }
N=${RELAY_MANY:-200}

gw_setup
gw_registry_start
HOOK=$TL_TMP/hook.sock
RMET=127.0.0.1:$((20000 + RANDOM % 20000))
tl_bg ip netns exec "$GW" "$TL_BIN/jitwg-relay" --listen "$GW_V4:8080" --forward "127.0.0.1:$GW_PORT" \
	--hook "$HOOK" --metrics "$RMET" 2>>"$TL_TMP/relay.log"
relay_metric() { ip netns exec "$GW" curl -sf "http://$RMET/metrics" | awk -v n="jitwg_relay_$1" '$1 == n { print $2 }'; }
tl_wait_until 5 relay_metric accepted_total || tl_fail "relay did not start"
# all 200 come from one client address: keep per-source admission out of this test
# shellcheck disable=SC2086 # options, split on purpose
gw_jitwgd_start --hook "$HOOK" --admit-threshold 100000000 ${RELAY_MANY_JITWGD_ARGS---reinject}

: >"$TL_TMP/keys"
auth=()
for i in $(seq 1 "$N"); do
	k=$(wg genkey)
	ip=10.77.$((1 + i / 250)).$((1 + i % 250))
	echo "$k $ip" >>"$TL_TMP/keys"
	echo "{\"public_key\":\"$(echo "$k" | wg pubkey)\",\"allowed_ips\":[\"$ip/32\"]}"
done >"$TL_TMP/records"
while read -r rec; do
	ip netns exec "$GW" curl -sf -o /dev/null -X POST "$REG_URL/v1/peers" \
		-H 'Content-Type: application/json' -d "$rec" || tl_fail "registering failed"
done <"$TL_TMP/records"

tl_bg ip netns exec "$CL" /usr/bin/python3 -u "$TL_ROOT/tests/relay/multitunnel.py" 45000 \
	"ws://$GW_V4:8080/" >"$TL_TMP/mt.out" 2>"$TL_TMP/mt.err"
tl_wait_until 10 grep -q ready "$TL_TMP/mt.out" || tl_fail "multitunnel did not start"

start=$(date +%s)
ip netns exec "$CL" timeout 90 "$TL_BIN/jitwg" loadgen --server-public-key "$GW_PUB" \
	--endpoint 127.0.0.1:45000 --keys "$TL_TMP/keys" --rate 0 --role "${RELAY_MANY_ROLE:-both}" --rekey-timeout 1 --ping 10.77.0.1 \
	--attempt-time 60 --progress 0 >"$TL_TMP/lg.out" 2>&1 || { cat "$TL_TMP/lg.out" "$TL_TMP/mt.err" >&2; tl_fail "loadgen failed"; }
last=$(grep '^handshakes:' "$TL_TMP/lg.out" | tail -n 1)
grep -q "^handshakes: $N ok, 0 failed" <<<"$last" || { cat "$TL_TMP/lg.out" >&2; tl_fail "$last"; }
grep -q "^pings: $N ok, 0 failed$" "$TL_TMP/lg.out" || { cat "$TL_TMP/lg.out" "$TL_TMP/mt.err" >&2; ip netns exec "$GW" curl -sf "http://$RMET/metrics" | grep -v "^#" | grep -v " 0$" >&2; tl_fail "pings"; }
gw_wait_metric 5 jitwg_peers_installed -ge "$N" || tl_fail "not every client installed"
bad=$(ip netns exec "$GW" wg show "$GWIF" endpoints | awk '$2 !~ /^127\./' | wc -l)
[ "$bad" = 0 ] || tl_fail "$bad peers with an endpoint outside the relay range"
[ "$(gw_metric jitwg_captured_total)" = 0 ] || tl_fail "relayed initiations also captured"
if [[ ${RELAY_MANY_JITWGD_ARGS---reinject} == *--reinject* ]]; then
	[ "$(gw_metric jitwg_initiations_sent_total)" = 0 ] || tl_fail "the data plane was made to initiate"
	[ "$(gw_metric jitwg_install_reinjected_total)" -ge "$N" ] || tl_fail "fewer than $N re-injections"
fi
msg="PASS: $N clients in $(( $(date +%s) - start )) s; $last; relay upgrades $(relay_metric upgrades_total), hook $(relay_metric hook_sent_total) sent / $(relay_metric hook_dropped_total) dropped; re-injected $(gw_metric jitwg_install_reinjected_total) (answered $(gw_metric jitwg_install_reinject_answered_total)), gateway initiations $(gw_metric jitwg_initiations_sent_total)"
gw_jitwgd_stop
tl_log "$msg"
