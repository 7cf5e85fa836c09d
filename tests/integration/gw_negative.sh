#!/usr/bin/env bash
# An unknown key installs nothing and is negative-cached: its retries cost
# no further registry requests within the negative TTL.
source "$(dirname "$0")/gw_common.bash"

gw_setup
gw_registry_start
gw_client 1 v4            # never registered
gw_jitwgd_start

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
[ "$(gw_metric 'jitwg_registry_requests_total{status="not_found"}')" = 1 ] \
	|| tl_fail "unknown key asked the registry $(gw_metric 'jitwg_registry_requests_total{status="not_found"}') times"
[ "$(gw_metric jitwg_installs_total)" = 0 ] || tl_fail "something was installed"
gw_installed 1 && tl_fail "unknown key is in the data plane"
[ "$(ip netns exec "$GW" wg show "$GWIF" peers | wc -l)" = 0 ] || tl_fail "data plane not empty"
msg="PASS: 1 registry request, negative hits $(gw_metric 'jitwg_cache_total{result="negative"}')"
gw_jitwgd_stop
tl_log "$msg"
