#!/usr/bin/env bash
# An unknown key installs nothing and is negative-cached: its retries cost
# no further registry requests within the negative TTL. The registry
# requires a bearer token here (--token-file on both sides), and a known
# key still connects through it.
source "$(dirname "$0")/gw_common.bash"

gw_setup
head -c 24 /dev/urandom | base64 >"$TL_TMP/token"
REG_TOKEN_FILE=$TL_TMP/token
gw_registry_start --token-file "$REG_TOKEN_FILE"
gw_client 1 v4            # never registered
gw_client 2 v4
gw_register 2
gw_jitwgd_start --token-file "$REG_TOKEN_FILE"
tl_wait_until 4 gw_ping 2 v4 || tl_fail "registered client did not connect through the token-protected registry"

gw_ping 1 v4 && tl_fail "an unregistered client got a tunnel"
gw_wait_metric 5 'jitwg_registry_requests_total{status="not_found"}' -eq 1 || tl_fail "no 404 from the registry"
gw_wait_metric 5 'jitwg_cache_total{result="miss"}' -ge 1 || tl_fail "no cache miss counted"

# Fresh initiations (new timestamps) from the same client: each must be
# answered from the negative entry.
for i in 1 2 3; do
	ip netns exec "$CL" wg set "${CLIENT_IF[1]}" peer "$GW_PUB" remove
	ip netns exec "$CL" wg set "${CLIENT_IF[1]}" peer "$GW_PUB" endpoint "$GW_V4:$GW_PORT" allowed-ips 10.77.0.1/32
	gw_ping 1 v4 && tl_fail "an unregistered client got a tunnel"
done
gw_wait_metric 5 'jitwg_cache_total{result="negative"}' -ge 1 || tl_fail "negative cache not used"
[ "$(gw_metric 'jitwg_registry_requests_total{status="http_error"}')" = 0 ] || tl_fail "registry refused jitwgd's token"
[ "$(gw_metric 'jitwg_registry_requests_total{status="not_found"}')" = 1 ] \
	|| tl_fail "unknown key asked the registry $(gw_metric 'jitwg_registry_requests_total{status="not_found"}') times"
[ "$(gw_metric jitwg_installs_total)" = 1 ] || tl_fail "installs: $(gw_metric jitwg_installs_total), want 1 (client 2)"
gw_installed 1 && tl_fail "unknown key is in the data plane"
[ "$(ip netns exec "$GW" wg show "$GWIF" peers | wc -l)" = 1 ] || tl_fail "data plane holds more than client 2"
msg="PASS: 1 registry request, negative hits $(gw_metric 'jitwg_cache_total{result="negative"}')"
gw_jitwgd_stop
tl_log "$msg"
