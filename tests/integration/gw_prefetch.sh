#!/usr/bin/env bash
# Prefetch (jitwgd --prefetch): the cache follows the registry's change feed,
# so first-time clients connect from the cache without a registry request,
# also with the registry down; prefetch never installs anything by itself;
# a deleted peer's tombstone becomes a negative entry.
source "$(dirname "$0")/gw_common.bash"

gw_setup
gw_registry_start
for n in 1 2 3; do gw_client "$n" v4; done
gw_register 1                          # before jitwgd starts: the walk from 0
gw_jitwgd_start --prefetch 1 --registry-timeout-ms 500
gw_wait_metric 10 'jitwg_prefetch_changes_total{op="put"}' -ge 1 || tl_fail "prefetch did not load client 1"
gw_register 2                          # while running: the next poll
gw_register 3
ip netns exec "$GW" curl -sf -o /dev/null -X DELETE "$REG_URL/v1/peers/$(tr '+/' '-_' <<<"${CLIENT_PUB[3]}" | tr -d '=')" ||
	tl_fail "delete client 3"
gw_wait_metric 10 'jitwg_prefetch_changes_total{op="delete"}' -ge 1 || tl_fail "tombstone not applied"
[ "$(gw_metric 'jitwg_prefetch_changes_total{op="put"}')" -ge 2 ] || tl_fail "client 2 not prefetched"
[ "$(gw_metric jitwg_prefetch_synced_seconds)" -gt 0 ] || tl_fail "prefetch never caught up"

# the data plane still holds nothing: prefetch fills the cache only
[ "$(ip netns exec "$GW" wg show "$GWIF" peers | wc -l)" = 0 ] || tl_fail "prefetch installed peers"

# registry up: a first-time client is installed from the cache, no registry request
tl_wait_until 6 gw_ping 1 v4 || tl_fail "prefetched client 1 did not connect"
[ "$(gw_metric 'jitwg_registry_requests_total{status="ok"}')" = 0 ] || tl_fail "client 1 waited for the registry"

# registry down: another first-time client still connects
gw_registry_stop
tl_log "registry stopped"
tl_wait_until 6 gw_ping 2 v4 || tl_fail "prefetched client 2 did not connect with the registry down"
[ "$(gw_metric 'jitwg_cache_total{result="hit"}')" -ge 2 ] || tl_fail "clients not served as cache hits"
gw_wait_metric 10 'jitwg_prefetch_requests_total{status="failed"}' -ge 1 || tl_fail "feed failures not counted"

# the deleted client: negative from its tombstone, never installed
gw_ping 3 v4 && tl_fail "deleted client 3 connected"
gw_wait_metric 5 'jitwg_cache_total{result="negative"}' -ge 1 || tl_fail "tombstone did not answer as negative"
gw_installed 3 && tl_fail "client 3 installed"
msg="PASS: puts $(gw_metric 'jitwg_prefetch_changes_total{op="put"}'), deletes $(gw_metric 'jitwg_prefetch_changes_total{op="delete"}'), cache hits $(gw_metric 'jitwg_cache_total{result="hit"}'), lookup registry requests $(gw_metric 'jitwg_registry_requests_total{status="ok"}')"
gw_jitwgd_stop
tl_log "$msg"
