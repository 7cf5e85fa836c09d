#!/usr/bin/env bash
# A handshake flood from one address does not starve anyone else: replay a
# real (so fully decodable) initiation tens of thousands of times from a
# second namespace while a new client cold-connects. Admission engages,
# holds the flooding source to its bucket, and the new client still gets
# its tunnel promptly. The flood also puts wireguard-go under load: it
# answers with cookie replies, which the capture's egress tap sees leave, and
# the new client's copy goes to the data plane with the cookie's mac2.
source "$(dirname "$0")/gw_common.bash"

gw_setup
gw_attacker
gw_registry_start
gw_client 1 v4
gw_client 2 v4
gw_register 1
gw_register 2
gw_jitwgd_start

gw_capture_start
tl_wait_until 4 gw_ping 1 v4 || tl_fail "client 1 did not connect"
gw_capture_finish

# The flood: the same 148 bytes as fast as one process can send them for 4 s,
# a fresh socket (source port) every 64 datagrams. (Not bash's printf to
# /dev/udp: it flushes at every 0x0a byte and splits the datagram.)
command -v python3 >/dev/null || { echo "python3 not installed"; exit 77; }
cat >"$TL_TMP/flood.py" <<'FLOOD'
import socket, sys, time
data = open(sys.argv[1], "rb").read()
end = time.monotonic() + 4
while time.monotonic() < end:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(64):
        try:
            s.sendto(data, (sys.argv[2], int(sys.argv[3])))
        except OSError:
            pass
    s.close()
FLOOD
tl_bg ip netns exec "$AT" python3 "$TL_TMP/flood.py" "$TL_TMP/init.bin" 192.168.78.1 "$GW_PORT"
FP=$TL_LAST_PID
gw_wait_metric 3 jitwg_admit_engaged -eq 1 || tl_fail "admission did not engage under the flood"

start=$(date +%s%N)
tl_wait_until 3 gw_ping 2 v4 || tl_fail "client 2 starved by the flood"
ms=$((($(date +%s%N) - start) / 1000000))
wait "$FP" 2>/dev/null || true
captured=$(gw_metric jitwg_captured_total)
dropped=$(gw_metric jitwg_admit_dropped_total)
[ "$dropped" -gt 0 ] || tl_fail "nothing dropped by admission"
[ "$(gw_metric jitwg_capture_cookies_total)" -gt 0 ] || tl_fail "the egress tap saw no cookie reply under the flood"
[ "$(gw_metric jitwg_install_reinject_cookied_total)" -ge 1 ] || tl_fail "client 2's copy never went with a cookie"
kill -0 "$JITWGD_PID" || tl_fail "jitwgd died"
inst=$(grep "installed peer ${CLIENT_PUB[2]}" "$TL_TMP/jitwgd.log" | sed -n 's/.* in \([0-9.]* ms\).*/\1/p' | head -n 1)
# The tunnel's time also includes wireguard-go's own handshake queue, which
# the same flood fills; jitwgd's part is the install time.
msg="PASS: client 2 connected in $ms ms during a flood (installed in $inst after its initiation); captured $captured, admission dropped $dropped, replays rejected $(gw_metric jitwg_replay_rejected_total); cookie replies seen $(gw_metric jitwg_capture_cookies_total), copies sent with a cookie $(gw_metric jitwg_install_reinject_cookied_total), gateway initiations $(gw_metric jitwg_initiations_sent_total)"
gw_jitwgd_stop
tl_log "$msg"
