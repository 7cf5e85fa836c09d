#!/usr/bin/env bash
# Cold connect over IPv4 and IPv6: registered clients with no peer on the
# gateway bring a tunnel up through jitwgd, the installed-peer gauge rises,
# the install histogram records them, and a retrying client costs one
# registry request.
source "$(dirname "$0")/gw_common.bash"

gw_setup
gw_registry_start
gw_client 1 v4
gw_client 2 v6
gw_register 1
gw_register 2
gw_jitwgd_start --idle-timeout 600

[ "$(gw_metric jitwg_peers_installed)" = 0 ] || tl_fail "gateway not cold"

# The client's first packet triggers the install; the ping must come back
# well before wireguard-go's own 5 s retry would.
start=$(date +%s%N)
tl_wait_until 4 gw_ping 1 v4 || tl_fail "IPv4 client did not connect"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
tl_log "IPv4 client connected after ${ms} ms"
tl_wait_until 4 gw_ping 2 v6 || tl_fail "IPv6 client did not connect"
tl_log "IPv6 client connected"

gw_installed 1 || tl_fail "client 1 not installed"
gw_installed 2 || tl_fail "client 2 not installed"
case $(gw_endpoint 2) in "[$CL_V6]:"*) ;; *) tl_fail "client 2 endpoint $(gw_endpoint 2) is not its IPv6 source";; esac
gw_wait_metric 5 jitwg_peers_installed -eq 2 || tl_fail "gauge did not reach 2"
[ "$(gw_metric jitwg_installs_total)" -ge 2 ] || tl_fail "installs_total < 2"
[ "$(gw_metric jitwg_install_seconds_count)" -ge 2 ] || tl_fail "histogram empty"
[ "$(gw_metric 'jitwg_handshakes_total{verdict="ok"}')" -ge 2 ] || tl_fail "no ok handshakes counted"

# A client that keeps retrying (handshake never completes because it sends to
# the gateway but we rotate nothing): force retries by resending initiations.
gw_client 3 v4
gw_register 3
before=$(gw_metric 'jitwg_registry_requests_total{status="ok"}')
for i in 1 2 3 4 5; do
	ip netns exec "$CL" wg set "${CLIENT_IF[3]}" peer "$GW_PUB" remove
	ip netns exec "$CL" wg set "${CLIENT_IF[3]}" peer "$GW_PUB" endpoint "$GW_V4:$GW_PORT" allowed-ips 10.77.0.1/32
	gw_ping 3 v4 || true
done
tl_wait_until 4 gw_ping 3 v4 || tl_fail "client 3 did not connect"
after=$(gw_metric 'jitwg_registry_requests_total{status="ok"}')
[ $((after - before)) -eq 1 ] || tl_fail "retrying client caused $((after - before)) registry requests, want 1"
tl_log "retrying client: $((after - before)) registry request, cache hits $(gw_metric 'jitwg_cache_total{result="hit"}')"

# jitwg status sees the same.
out=$("$TL_BIN/jitwg" status --socket "$STATUS" 2>&1) || tl_fail "jitwg status failed: $out"
grep -qF "${CLIENT_PUB[1]}" <<<"$out" || tl_fail "jitwg status does not list client 1"
# Its handshake and transfer figures are the data plane's of the moment, not
# the last sweep's (every 150 s here): they move between two requests 1.1 s
# apart (one dump a second at most).
peer_fig() {
	"$TL_BIN/jitwg" status --socket "$STATUS" --json |
		jq -r --arg k "${CLIENT_PUB[1]}" '.figures_at as $t | .peers[] | select(.public_key == $k) |
			"\($t) \(.latest_handshake) \(.rx_bytes)"'
}
read -r at1 hs1 rx1 < <(peer_fig)
[ "$at1" != null ] && [ "$hs1" -gt 0 ] && [ "$rx1" -gt 0 ] || tl_fail "status figures not live: at $at1 handshake $hs1 rx $rx1"
gw_ping 1 v4 && gw_ping 1 v4 || tl_fail "client 1 ping"
sleep 1.1
read -r at2 hs2 rx2 < <(peer_fig)
[ "$rx2" -gt "$rx1" ] || tl_fail "rx_bytes did not move between two status requests ($rx1 -> $rx2)"
"$TL_BIN/jitwg" status --socket "$STATUS" | grep -q "figures: read from the data plane" || tl_fail "status does not say its figures are live"
tl_log "jitwg status live: handshake $hs1, rx $rx1 -> $rx2 bytes, figures_at $at1 -> $at2"
gw_jitwgd_stop
grep -q "installed peer" "$TL_TMP/jitwgd.log" || tl_fail "no install log line"
msg="PASS"
gw_jitwgd_stop
tl_log "$msg"
