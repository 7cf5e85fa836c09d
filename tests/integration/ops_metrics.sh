#!/usr/bin/env bash
# /metrics as Prometheus sees it: a live gateway (wireguard-go, jitwgd) and
# registry in namespaces, one client connected cold so that every family has
# samples; then
#  - `promtool check metrics` is clean on jitwgd's and the registry's pages
#    (HELP and TYPE on every family, _total on counters, base units);
#  - every metric that packaging/grafana/jitwg.json queries and that
#    packaging/prometheus/jitwg-rules.yml uses is one these binaries export
#    (the relay's are checked by ops_metrics_relay.sh);
#  - every exported family is listed in docs/OPERATIONS.md.
source "$(dirname "$0")/gw_common.bash"
source "$(dirname "$0")/ops_common.bash"
command -v promtool >/dev/null || { echo "promtool not installed (scripts/deps.sh: prometheus)"; exit 77; }

gw_setup
gw_registry_start
gw_client 1 v4
gw_register 1
gw_jitwgd_start --idle-timeout 600
tl_wait_until 4 gw_ping 1 v4 || tl_fail "client did not connect"
gw_wait_metric 5 jitwg_install_seconds_count -ge 1 || tl_fail "no install observed"

gw_curl_metrics >"$TL_TMP/jitwgd.prom" || tl_fail "no jitwgd /metrics"
ip netns exec "$GW" curl -sf "$REG_URL/metrics" >"$TL_TMP/registry.prom" || tl_fail "no registry /metrics"
for f in jitwgd registry; do
	promtool check metrics <"$TL_TMP/$f.prom" >"$TL_TMP/$f.lint" 2>&1 || { cat "$TL_TMP/$f.lint"; tl_fail "promtool check metrics: $f"; }
	[ -s "$TL_TMP/$f.lint" ] && { cat "$TL_TMP/$f.lint"; tl_fail "promtool check metrics has remarks on $f"; }
	tl_log "$f: $(grep -c '^# TYPE' "$TL_TMP/$f.prom") families, promtool check metrics clean"
done
grep -q '^jitwg_registry_http_requests_total{route="/v1/peers/{key}",code="200"}' "$TL_TMP/registry.prom" \
	|| tl_fail "the gateway's key lookup is not counted by the registry"

# Sample names exported (name before '{' or ' ').
sed -n 's/^\(jitwg_[a-zA-Z0-9_:]*\)[{ ].*/\1/p' "$TL_TMP"/*.prom | sort -u >"$TL_TMP/exported"
ops_check_queries "$TL_TMP/exported" '^jitwg_relay_' exclude
ops_check_documented "$TL_TMP"/jitwgd.prom "$TL_TMP"/registry.prom
tl_log "dashboard and alert rules name only exported metrics; all families documented"
# With --token-file, /metrics is behind the token like the API; the refusal
# itself is counted.
echo "ops-metrics-token" >"$TL_TMP/token"
port=$((20000 + RANDOM % 20000))
tl_bg ip netns exec "$GW" "$TL_BIN/jitwg-registry" --listen "127.0.0.1:$port" --db "$TL_TMP/tok.db" \
	--token-file "$TL_TMP/token" 2>>"$TL_TMP/registry.log"
tl_wait_until 10 ip netns exec "$GW" curl -sf "http://127.0.0.1:$port/healthz" || tl_fail "token registry did not start"
code=$(ip netns exec "$GW" curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/metrics")
[ "$code" = 401 ] || tl_fail "/metrics without the token answered $code, want 401"
ip netns exec "$GW" curl -sf -H "Authorization: Bearer ops-metrics-token" "http://127.0.0.1:$port/metrics" >"$TL_TMP/tok.prom" \
	|| tl_fail "/metrics with the token refused"
grep -q '^jitwg_registry_http_requests_total{route="/metrics",code="401"} 1$' "$TL_TMP/tok.prom" || tl_fail "the 401 was not counted"
tl_log "registry /metrics behind --token-file: 401 without, 200 with, the refusal counted"
gw_jitwgd_stop
tl_log PASS
