#!/usr/bin/env bash
# A replayed initiation from another address: capture a client's real
# initiation on the wire and resend its bytes from a second namespace. It
# decodes ok (the MACs and AEADs are genuine) but the replay guard stops it:
# the endpoint ends where the client is while the peer is installed, and
# after eviction it installs nothing.
source "$(dirname "$0")/gw_common.bash"

gw_setup
gw_attacker
gw_registry_start
gw_client 1 v4
gw_register 1
gw_jitwgd_start --idle-timeout 4 --grace 1

gw_capture_start
tl_wait_until 4 gw_ping 1 v4 || tl_fail "client did not connect"
gw_capture_finish
ep=$(gw_endpoint 1)
tl_log "client endpoint $ep"
replay() { ip netns exec "$AT" bash -c "cat '$TL_TMP/init.bin' >/dev/udp/192.168.78.1/$GW_PORT"; }

installs=$(gw_metric jitwg_installs_total)
replay
gw_wait_metric 3 jitwg_replay_rejected_total -ge 1 || tl_fail "replay not rejected"
sleep 1.7 # past the installer's last re-check
[ "$(gw_endpoint 1)" = "$ep" ] || tl_fail "endpoint moved to $(gw_endpoint 1)"
[ "$(gw_metric jitwg_installs_total)" = "$installs" ] || tl_fail "replay caused an install"
# WireGuard itself only knows timestamps of initiations it consumed: with
# re-injection (the default) it consumed the client's first one and refuses
# the replay; with role inversion it consumed none of this client's, may
# move the endpoint for a moment, and jitwgd puts it back (counted).
tl_log "replay while installed: rejected, endpoint unchanged (restores: $(gw_metric jitwg_endpoint_restores_total))"

gw_wait_metric 12 jitwg_peers_installed -eq 0 || tl_fail "peer not evicted"
replay
gw_wait_metric 3 jitwg_replay_rejected_total -ge 2 || tl_fail "second replay not rejected"
sleep 1
gw_installed 1 && tl_fail "replay installed the evicted peer"
[ "$(gw_metric jitwg_installs_total)" = "$installs" ] || tl_fail "replay after eviction caused an install"
msg="PASS: replays rejected $(gw_metric jitwg_replay_rejected_total), handshakes ok $(gw_metric 'jitwg_handshakes_total{verdict="ok"}')"
gw_jitwgd_stop
tl_log "$msg"
