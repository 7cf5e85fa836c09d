#!/usr/bin/env bash
# Registry down: a peer whose record is cached (even past its TTL) is still
# installed, and the daemon stays up and counts the failures.
source "$(dirname "$0")/gw_common.bash"

gw_setup
gw_registry_start
gw_client 1 v4
gw_client 2 v4            # registered, never connected: not in the cache
gw_register 1
gw_register 2
# Short TTL so the second connect finds a stale record; short idle timeout
# so the peer is evicted in between.
gw_jitwgd_start --cache-ttl 1 --idle-timeout 2 --grace 1 --registry-timeout-ms 500

tl_wait_until 4 gw_ping 1 v4 || tl_fail "client 1 did not connect"
gw_registry_stop
tl_log "registry stopped"
gw_wait_metric 10 jitwg_evictions_total -ge 1 || tl_fail "client 1 not evicted"
gw_installed 1 && tl_fail "client 1 still installed after eviction"

# The client returns (its old session dropped, as after a real idle period).
ip netns exec "$CL" wg set "${CLIENT_IF[1]}" peer "$GW_PUB" remove
ip netns exec "$CL" wg set "${CLIENT_IF[1]}" peer "$GW_PUB" endpoint "$GW_V4:$GW_PORT" allowed-ips 10.77.0.1/32
tl_wait_until 6 gw_ping 1 v4 || tl_fail "cached client not re-installed with the registry down"
[ "$(gw_metric 'jitwg_cache_total{result="stale"}')" -ge 1 ] || tl_fail "stale-if-error not counted"

# A key the cache has never seen can't be installed, but nothing breaks.
gw_ping 2 v4 && tl_fail "client 2 connected without registry or cache"
gw_wait_metric 5 'jitwg_registry_requests_total{status="transport"}' -ge 1 || tl_fail "transport errors not counted"
kill -0 "$JITWGD_PID" || tl_fail "jitwgd died"
gw_curl_metrics >/dev/null || tl_fail "metrics endpoint down"
msg="PASS: stale hits $(gw_metric 'jitwg_cache_total{result="stale"}'), transport errors $(gw_metric 'jitwg_registry_requests_total{status="transport"}')"
gw_jitwgd_stop
tl_log "$msg"
