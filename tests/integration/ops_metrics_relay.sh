#!/usr/bin/env bash
# The relay's /metrics: `promtool check metrics` clean, every jitwg_relay_*
# metric the dashboard and the alert rules use is exported, every family is
# in docs/OPERATIONS.md. SKIP while the relay is not built here.
source "$(dirname "$0")/ops_common.bash"
command -v promtool >/dev/null || { echo "promtool not installed (scripts/deps.sh: prometheus)"; exit 77; }
[ -x "$TL_BIN/jitwg-relay" ] || { echo "SKIP: no $TL_BIN/jitwg-relay (relay not built in this tree)"; exit 77; }
tl_init
NS=$(tl_netns relay)
tl_bg ip netns exec "$NS" "$TL_BIN/jitwg-relay" --listen 127.0.0.1:8080 --metrics 127.0.0.1:9587 --max-connections 64
tl_wait_until 5 ip netns exec "$NS" curl -sf http://127.0.0.1:9587/metrics || tl_fail "relay /metrics did not answer"
# One WebSocket-less TCP connection, so the connection gauges have seen use.
ip netns exec "$NS" bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080; sleep 0.2' || true
ip netns exec "$NS" curl -sf http://127.0.0.1:9587/metrics >"$TL_TMP/relay.prom"
promtool check metrics <"$TL_TMP/relay.prom" >"$TL_TMP/lint" 2>&1 || { cat "$TL_TMP/lint"; tl_fail "promtool check metrics: relay"; }
[ -s "$TL_TMP/lint" ] && { cat "$TL_TMP/lint"; tl_fail "promtool check metrics has remarks on the relay"; }
grep -qx 'jitwg_relay_max_connections 64' "$TL_TMP/relay.prom" || tl_fail "jitwg_relay_max_connections is not --max-connections"
sed -n 's/^\(jitwg_[a-zA-Z0-9_:]*\)[{ ].*/\1/p' "$TL_TMP/relay.prom" | sort -u >"$TL_TMP/exported"
tl_log "relay: $(grep -c '^# TYPE' "$TL_TMP/relay.prom") families, promtool check metrics clean"
ops_check_queries "$TL_TMP/exported" '^jitwg_relay_' include
ops_check_documented "$TL_TMP/relay.prom"
tl_log PASS
