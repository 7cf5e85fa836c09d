#!/usr/bin/env bash
# The alert rules and the dashboard, by the tools operators use:
# `promtool check rules` on packaging/prometheus/jitwg-rules.yml, and
# `promtool test rules` on jitwg-rules.test.yml, where each alert is quiet,
# pending, firing and resolved on synthetic series; every alert must have a
# test. The Grafana dashboard must be valid JSON of a current schema with the
# panels docs/OPERATIONS.md lists, every panel with a query. (That the
# queries name exported metrics is ops_metrics.sh's part: it needs the
# daemons running.)
source "$(dirname "$0")/ops_common.bash"
command -v promtool >/dev/null || { echo "promtool not installed (scripts/deps.sh: prometheus)"; exit 77; }
command -v jq >/dev/null || { echo "jq not installed"; exit 77; }
tl_init
P=$TL_ROOT/packaging/prometheus
G=$TL_ROOT/packaging/grafana/jitwg.json

promtool check rules "$P/jitwg-rules.yml" >"$TL_TMP/check" 2>&1 || { cat "$TL_TMP/check"; tl_fail "promtool check rules"; }
grep -q SUCCESS "$TL_TMP/check" || { cat "$TL_TMP/check"; tl_fail "promtool check rules"; }
(cd "$P" && promtool test rules jitwg-rules.test.yml) >"$TL_TMP/test" 2>&1 || { cat "$TL_TMP/test"; tl_fail "promtool test rules"; }
alerts=$(awk '$1 == "-" && $2 == "alert:" { print $3 }' "$P/jitwg-rules.yml" | sort -u)
tested=$(awk '$1 == "alertname:" { print $2 }' "$P/jitwg-rules.test.yml" | sort -u)
[ "$alerts" = "$tested" ] || tl_fail "alerts without a test: $(comm -23 <(echo "$alerts") <(echo "$tested") | tr '\n' ' ')"
for a in $alerts; do
	grep -A30 "alertname: $a\$" "$P/jitwg-rules.test.yml" | grep -q "exp_alerts: \[\]" || tl_fail "$a: no test that it is quiet or resolves"
	grep -A3 "alertname: $a\$" "$P/jitwg-rules.test.yml" | grep -q "exp_labels" || \
		grep -A30 "alertname: $a\$" "$P/jitwg-rules.test.yml" | grep -q "exp_labels" || tl_fail "$a: no test that it fires"
done
tl_log "rules: $(echo "$alerts" | wc -l) alerts, promtool check and test rules pass (each fires and resolves)"

jq -e . "$G" >/dev/null || tl_fail "dashboard is not JSON"
[ "$(jq '.schemaVersion' "$G")" -ge 36 ] || tl_fail "dashboard schemaVersion below 36 (Grafana 9)"
jq -e '[.panels[] | select((.targets | length) == 0 or any(.targets[]; (.expr // "") == ""))] | length == 0' "$G" >/dev/null \
	|| tl_fail "a panel without a query"
for t in "Installed and stale peers per gateway" "Handshakes by verdict" "Install latency" "Cache hit ratio" \
	"Registry requests (gateways)" "Registry requests (registry)" "Relay connections"; do
	jq -e --arg t "$t" 'any(.panels[]; .title == $t)' "$G" >/dev/null || tl_fail "dashboard lacks the panel '$t'"
done
ids=$(jq '[.panels[].id] | length == (unique | length)' "$G")
[ "$ids" = true ] || tl_fail "duplicate panel ids"
tl_log "dashboard: $(jq '.panels | length' "$G") panels, schemaVersion $(jq .schemaVersion "$G"), every panel queries"
tl_log PASS
