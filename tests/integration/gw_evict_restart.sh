#!/usr/bin/env bash
# Eviction then re-install; a restarted daemon adopts the peers already in
# the data plane and they age out normally; SIGHUP applies a new idle
# timeout from the config file.
source "$(dirname "$0")/gw_common.bash"

gw_setup
gw_registry_start
gw_client 1 v4
gw_client 2 v4
gw_register 1
gw_register 2
cat >"$TL_TMP/jitwgd.conf" <<CONF
# jitwgd test config
idle-timeout = 2
grace = 1
CONF
gw_jitwgd_start --config "$TL_TMP/jitwgd.conf"

tl_wait_until 4 gw_ping 1 v4 || tl_fail "client 1 did not connect"
gw_wait_metric 3 jitwg_peers_installed -eq 1 || tl_fail "gauge not 1"
# Idle: no traffic. Sweep every second; idle 2 s -> gone within ~4 s.
gw_wait_metric 8 jitwg_evictions_total -ge 1 || tl_fail "idle peer not evicted"
gw_installed 1 && tl_fail "evicted peer still in the data plane"
[ "$(gw_metric jitwg_peers_installed)" = 0 ] || tl_fail "gauge not back to 0"
grep -q "evicted peer ${CLIENT_PUB[1]}" "$TL_TMP/jitwgd.log" || tl_fail "no eviction log line"
tl_log "idle peer evicted"

# The client comes back with a fresh handshake: re-installed at once.
ip netns exec "$CL" wg set "${CLIENT_IF[1]}" peer "$GW_PUB" remove
ip netns exec "$CL" wg set "${CLIENT_IF[1]}" peer "$GW_PUB" endpoint "$GW_V4:$GW_PORT" allowed-ips 10.77.0.1/32
tl_wait_until 4 gw_ping 1 v4 || tl_fail "returning client not re-installed"
tl_log "returning client re-installed"

# Raise the idle timeout by SIGHUP, connect client 2, restart the daemon.
sed -i 's/idle-timeout = 2/idle-timeout = 30/' "$TL_TMP/jitwgd.conf"
kill -HUP "$JITWGD_PID"
tl_wait_until 3 grep -q "reloaded .*idle-timeout 30s" "$TL_TMP/jitwgd.log" || tl_fail "SIGHUP reload not logged"
tl_wait_until 4 gw_ping 2 v4 || tl_fail "client 2 did not connect"
gw_jitwgd_stop
grep -q "draining" "$TL_TMP/jitwgd.log" || tl_fail "SIGTERM did not drain"
gw_installed 1 && gw_installed 2 || tl_fail "peers lost when jitwgd stopped"

# A fresh daemon adopts both; with a short timeout they age out normally.
gw_jitwgd_start --idle-timeout 2 --grace 1
grep -q "2 peers adopted" "$TL_TMP/jitwgd.log" || tl_fail "restart did not adopt 2 peers"
[ "$(gw_metric jitwg_peers_installed)" = 2 ] || tl_fail "gauge after restart is $(gw_metric jitwg_peers_installed)"
"$TL_BIN/jitwg" status --socket "$STATUS" | grep -q "(adopted)" || tl_fail "status does not show adopted peers"
gw_wait_metric 10 jitwg_peers_installed -eq 0 || tl_fail "adopted peers did not age out"
msg="PASS"
gw_jitwgd_stop
tl_log "$msg"
