#!/usr/bin/env bash
# WireGuard over WebSockets end to end, real wireguard-go on both sides:
#   client wireguard-go -> jitwg tunnel (CL) -> wss -> jitwg-relay (GW)
#   -> gateway wireguard-go, with jitwgd --hook and the real registry.
# Cold connect with role inversion (the hook, not capture, triggers the
# install; the endpoint is the relay's loopback socket); a replayed
# initiation over another WebSocket moves nothing; eviction then
# re-install over the relay; jitwgd restarted while the tunnel is up: the
# tunnel survives and a new client connects afterwards, no relay restart.
# Budget: about 40 s.
source "$(dirname "$0")/gw_common.bash"
command -v openssl >/dev/null || { echo "SKIP: openssl missing"; exit 77; }
/usr/bin/python3 -c 'import websockets' 2>/dev/null || { echo "SKIP: python3-websockets missing"; exit 77; }

gw_setup
gw_registry_start --pool 10.88.0.0/24
HOOK=$TL_TMP/hook.sock
RMET=127.0.0.1:$((20000 + RANDOM % 20000))
URL=wss://$GW_V4:8443/
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$TL_TMP/key.pem" -out "$TL_TMP/cert.pem" -subj /CN=relay.test \
	-addext "subjectAltName=IP:$GW_V4" 2>/dev/null
relay_start() {
	tl_bg ip netns exec "$GW" "$TL_BIN/jitwg-relay" --listen "$GW_V4:8443" --tls-cert "$TL_TMP/cert.pem" \
		--tls-key "$TL_TMP/key.pem" --forward "127.0.0.1:$GW_PORT" --hook "$HOOK" --metrics "$RMET" \
		2>>"$TL_TMP/relay.log"
	RELAY_PID=$TL_LAST_PID
}
relay_start
relay_metric() { ip netns exec "$GW" curl -sf "http://$RMET/metrics" | awk -v n="jitwg_relay_$1" '$1 == n { print $2 }'; }
tl_wait_until 5 relay_metric accepted_total || tl_fail "relay did not start"
gw_jitwgd_start --hook "$HOOK" --idle-timeout 4 --grace 1

# client N over the relay: its wireguard-go sends to a local jitwg tunnel
relay_client() {
	local n=$1 port=$((40000 + $1))
	gw_client "$n" v4
	ip netns exec "$CL" wg set "${CLIENT_IF[$n]}" peer "$GW_PUB" endpoint "127.0.0.1:$port" \
		allowed-ips 10.77.0.1/32,fd77::1/128
	tl_bg ip netns exec "$CL" "$TL_BIN/jitwg" tunnel --url "$URL" --ca "$TL_TMP/cert.pem" \
		--listen "127.0.0.1:$port" 2>>"$TL_TMP/tunnel$n.log"
	gw_register "$n"
}
relay_client 1

# capture the client's first initiation as the relay forwards it (for the replay)
tl_bg ip netns exec "$GW" tcpdump -n -i lo -U -c 1 -w "$TL_TMP/init.pcap" \
	"src net 127.0.0.0/8 and udp dst port $GW_PORT and udp[8] = 1" 2>/dev/null
TCPDUMP_PID=$TL_LAST_PID
sleep 1

tl_log "cold connect over the relay"
start=$(date +%s%N)
tl_wait_until 6 gw_ping 1 v4 || tl_fail "client 1 did not connect over the relay"
tl_log "client 1 connected over the relay after $(( ($(date +%s%N) - start) / 1000000 )) ms"
ep=$(gw_endpoint 1)
case $ep in 127.*) ;; *) tl_fail "endpoint $ep is not a relay socket" ;; esac
[ "$(gw_metric jitwg_hook_received_total)" -ge 1 ] || tl_fail "no hook hand-off reached jitwgd"
[ "$(gw_metric jitwg_captured_total)" = 0 ] || tl_fail "relayed initiation was also captured on lo"
[ "$(relay_metric hook_dropped_total)" = 0 ] || tl_fail "hook drops with jitwgd up"
tl_log "endpoint $ep, hook hand-offs $(gw_metric jitwg_hook_received_total), captured $(gw_metric jitwg_captured_total)"

tl_log "a replayed initiation over another WebSocket moves nothing"
tl_wait_until 3 test -s "$TL_TMP/init.pcap" || tl_fail "no initiation seen on lo"
wait "$TCPDUMP_PID" 2>/dev/null || true
hex=$(tcpdump -r "$TL_TMP/init.pcap" -x 2>/dev/null | awk '/^\t0x/ { for (i = 2; i <= NF; i++) printf "%s", $i }')
hex=${hex: -296}
# shellcheck disable=SC2059
printf "$(sed 's/../\\x&/g' <<<"$hex")" >"$TL_TMP/init.bin"
[ "$(stat -c %s "$TL_TMP/init.bin")" = 148 ] || tl_fail "captured payload is not 148 bytes"
installs=$(gw_metric jitwg_installs_total)
ip netns exec "$CL" timeout 10 /usr/bin/python3 "$TL_ROOT/tests/relay/send_once.py" "$URL" "$TL_TMP/init.bin" \
	"$TL_TMP/cert.pem" || tl_fail "replay client failed"
gw_wait_metric 3 jitwg_replay_rejected_total -ge 1 || tl_fail "replay over the relay not rejected"
sleep 1.7
[ "$(gw_endpoint 1)" = "$ep" ] || tl_fail "replay moved the endpoint to $(gw_endpoint 1)"
[ "$(gw_metric jitwg_installs_total)" = "$installs" ] || tl_fail "replay caused an install"
gw_ping 1 v4 || tl_fail "tunnel broken after the replay"

tl_log "eviction, then re-install over the relay"
gw_wait_metric 15 jitwg_peers_installed -eq 0 || tl_fail "peer not evicted"
# a fresh handshake from the client (wireguard-go would wait for its rekey timer)
ip netns exec "$CL" wg set "${CLIENT_IF[1]}" peer "$GW_PUB" remove
ip netns exec "$CL" wg set "${CLIENT_IF[1]}" peer "$GW_PUB" endpoint 127.0.0.1:40001 allowed-ips 10.77.0.1/32
tl_wait_until 6 gw_ping 1 v4 || tl_fail "client 1 not re-installed over the relay"
case $(gw_endpoint 1) in 127.*) ;; *) tl_fail "re-install endpoint $(gw_endpoint 1)" ;; esac

tl_log "jitwgd restarted while the tunnel is up: the tunnel survives"
gw_jitwgd_stop
for i in 1 2 3; do gw_ping 1 v4 || tl_fail "tunnel dropped with jitwgd down ($i)"; done
relay_client 2
# its tunnel connects in the background: retry until an initiation got through
dropped=0
for i in $(seq 8); do
	ip netns exec "$CL" ping -n -q -c 1 -W 1 -I "${CLIENT_IF[2]}" 10.77.0.1 >/dev/null 2>&1 || true
	dropped=$(relay_metric hook_dropped_total)
	[ "$dropped" -ge 1 ] && break
done
[ "$dropped" -ge 1 ] || tl_fail "hand-offs while jitwgd was down not counted as dropped"
gw_jitwgd_start --hook "$HOOK" --idle-timeout 600
gw_ping 1 v4 || tl_fail "tunnel dropped across the jitwgd restart"
tl_wait_until 12 gw_ping 2 v4 || tl_fail "new client did not connect after jitwgd came back"
case $(gw_endpoint 2) in 127.*) ;; *) tl_fail "client 2 endpoint $(gw_endpoint 2)" ;; esac
tl_log "relay restarted: the tunnels reconnect; the next handshake installs the new endpoint"
ep1=$(gw_endpoint 1)
hs=$(relay_metric hook_sent_total) hd=$(relay_metric hook_dropped_total)
kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null || true
relay_start
tl_wait_until 5 relay_metric accepted_total || tl_fail "relay did not restart"
tl_wait_until 10 bash -c "[ \$(ip netns exec $GW curl -sf http://$RMET/metrics | awk '\$1 == \"jitwg_relay_websockets_open\" { print \$2 }') -ge 2 ]" ||
	tl_fail "tunnels did not reconnect"
ip netns exec "$CL" wg set "${CLIENT_IF[1]}" peer "$GW_PUB" remove
ip netns exec "$CL" wg set "${CLIENT_IF[1]}" peer "$GW_PUB" endpoint 127.0.0.1:40001 allowed-ips 10.77.0.1/32
tl_wait_until 8 gw_ping 1 v4 || tl_fail "client 1 not back after the relay restart"
[ "$(gw_endpoint 1)" != "$ep1" ] || tl_fail "endpoint unchanged after the relay restart"

tl_log "jitwg peer config --websocket: Endpoint is the local tunnel"
ip netns exec "$GW" "$TL_BIN/jitwg" peer config --registry "$REG_URL" --gateway-public-key "$GW_PUB" \
	--websocket "$URL" --output "$TL_TMP/ws.conf" || tl_fail "peer config --websocket failed"
grep -qx 'Endpoint = 127.0.0.1:51820' "$TL_TMP/ws.conf" || tl_fail "config Endpoint is not the local tunnel"
grep -qF "#   jitwg tunnel --url $URL --listen 127.0.0.1:51820" "$TL_TMP/ws.conf" || tl_fail "config lacks the tunnel command"
command -v wg-quick >/dev/null && { wg-quick strip "$TL_TMP/ws.conf" >/dev/null || tl_fail "wg-quick rejects the config"; }
rc=0; ip netns exec "$GW" "$TL_BIN/jitwg" peer config --registry "$REG_URL" --gateway-public-key "$GW_PUB" \
	--websocket "http://relay/" >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || tl_fail "a non-ws URL: exit $rc, want 2"
rc=0; ip netns exec "$GW" "$TL_BIN/jitwg" peer config --registry "$REG_URL" --gateway-public-key "$GW_PUB" \
	>/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || tl_fail "neither --endpoint nor --websocket: exit $rc, want 2"
msg="PASS: hook hand-offs $hs, dropped while jitwgd was down $hd; after the relay restart $(relay_metric hook_sent_total)"
gw_jitwgd_stop
tl_log "$msg"
