#!/usr/bin/env bash
# Peers the registry no longer serves go: one deleted, one expired. Without
# the change feed (--no-follow) the sweep asks the lookup to revalidate
# installed peers and a 404 removes them; the expiry is jitwgd's own timer.
# gw_revoke.sh covers the default, the feed. Also: a bad config file is a
# clear error.
source "$(dirname "$0")/gw_common.bash"

gw_setup
gw_registry_start
gw_client 1 v4
gw_client 2 v4
gw_register 1
exp=$(date -u -d '+15 seconds' +%Y-%m-%dT%H:%M:%SZ)
ip netns exec "$GW" curl -sf -o /dev/null -X POST "$REG_URL/v1/peers" -H 'Content-Type: application/json' \
	-d "{\"public_key\":\"${CLIENT_PUB[2]}\",\"allowed_ips\":[\"10.77.1.2/32\"],\"expires_at\":\"$exp\"}" \
	|| tl_fail "registering client 2 failed"

# Config errors name the option and the line, exit 2, and start nothing.
printf 'interface = %s\nregistry = %s\nidle-timeout = soon\n' "$GWIF" "$REG_URL" >"$TL_TMP/bad.conf"
set +e
out=$(ip netns exec "$GW" "$TL_BIN/jitwgd" --config "$TL_TMP/bad.conf" 2>&1)
rc=$?
set -e
[ $rc -eq 2 ] || tl_fail "bad config: exit $rc, want 2"
grep -q "bad.conf:3: --idle-timeout: 'soon' is not a non-negative integer" <<<"$out" || tl_fail "unclear error: $out"

gw_jitwgd_start --cache-ttl 1 --fetch-window 1 --revalidate 1 --idle-timeout 600 --no-follow
tl_wait_until 4 gw_ping 1 v4 || tl_fail "client 1 did not connect"
tl_wait_until 4 gw_ping 2 v4 || tl_fail "client 2 did not connect"

key1=$(printf '%s' "${CLIENT_PUB[1]}" | tr '+/' '-_' | tr -d '=')
ip netns exec "$GW" curl -sf -o /dev/null -X DELETE "$REG_URL/v1/peers/$key1" || tl_fail "DELETE failed"
tl_log "client 1 deleted from the registry; client 2 expires at $exp"
gw_wait_metric 10 jitwg_registry_gone_total -ge 1 || tl_fail "deleted peer not removed"
gw_installed 1 && tl_fail "deleted peer still installed"
gw_wait_metric 25 jitwg_expired_total -ge 1 || tl_fail "expired peer not removed"
gw_installed 2 && tl_fail "expired peer still installed"
grep -q "removed peer ${CLIENT_PUB[1]}: deleted or expired in the registry" "$TL_TMP/jitwgd.log" || tl_fail "no log line"
msg="PASS: registry gone $(gw_metric jitwg_registry_gone_total), expired $(gw_metric jitwg_expired_total), evictions $(gw_metric jitwg_evictions_total)"
gw_jitwgd_stop
tl_log "$msg"
