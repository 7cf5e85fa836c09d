#!/usr/bin/env bash
# jitwgd's hook believes the endpoint a hand-off names, so it checks who sent
# it and what it names: a forged hand-off from a process that may write the
# socket (here: the socket's group as a supplementary group) but is not
# root, jitwgd or the hook's peer user/group is dropped and counted; an
# endpoint outside --hook-endpoints is dropped and counted; root's hand-off
# with a loopback endpoint still counts. A second jitwgd naming the same
# hook path refuses to start and leaves the first one's socket in place.
# Budget: about 5 s.
source "$(dirname "$0")/gw_common.bash"
command -v setpriv >/dev/null || { echo "SKIP: setpriv missing"; exit 77; }
PY=/usr/bin/python3
H=$TL_ROOT/tests/relay

gw_setup
gw_registry_start
HOOK=$TL_TMP/hook.sock
chmod 0755 "$TL_TMP" # the forger (nobody) must reach the socket
gw_jitwgd_start --hook "$HOOK"
[ -S "$HOOK" ] || tl_fail "no hook socket"
in_gw() { ip netns exec "$GW" "$@"; }

tl_log "a hand-off from root with an endpoint in the relay's range counts"
in_gw $PY "$H/hookforge.py" "$HOOK" 127.1.0.9 40001 >/dev/null || tl_fail "root could not send"
gw_wait_metric 5 jitwg_hook_received_total -ge 1 || tl_fail "root's hand-off was not received"

tl_log "a forged hand-off from the socket's group (supplementary) is refused"
gid=$(stat -c %g "$HOOK")
in_gw setpriv --reuid=65534 --regid=65534 --groups="$gid" $PY "$H/hookforge.py" "$HOOK" 127.1.0.10 40002 \
	>/dev/null || tl_fail "the forger could not write the socket (test setup)"
gw_wait_metric 5 jitwg_hook_sender_refused_total -ge 1 || tl_fail "forged hand-off not refused"
[ "$(gw_metric jitwg_hook_received_total)" = 1 ] || tl_fail "forged hand-off was received"

tl_log "an endpoint outside the relay's range is refused"
in_gw $PY "$H/hookforge.py" "$HOOK" 192.168.77.2 5555 >/dev/null || tl_fail "root could not send"
gw_wait_metric 5 jitwg_hook_endpoint_refused_total -ge 1 || tl_fail "outside endpoint not refused"
[ "$(gw_metric jitwg_hook_received_total)" = 1 ] || tl_fail "outside endpoint was received"
in_gw wg show "$GWIF" endpoints | grep -q 192.168.77.2 && tl_fail "outside endpoint installed"

tl_log "a second jitwgd on the same hook path does not take the socket over"
ino=$(stat -c %i "$HOOK")
rc=0
in_gw timeout 10 "$TL_BIN/jitwgd" --interface "$GWIF" --registry "$REG_URL" --cache "$TL_TMP/cache2.db" \
	--status-socket '' --hook "$HOOK" 2>"$TL_TMP/second.log" || rc=$?
[ $rc -ne 0 ] || tl_fail "second jitwgd started on the same hook"
grep -q "another jitwgd serves this hook socket" "$TL_TMP/second.log" || {
	cat "$TL_TMP/second.log" >&2; tl_fail "second jitwgd: no clear reason"; }
[ -S "$HOOK" ] && [ "$(stat -c %i "$HOOK")" = "$ino" ] || tl_fail "second jitwgd replaced or removed the socket"
in_gw $PY "$H/hookforge.py" "$HOOK" 127.1.0.11 40003 >/dev/null || tl_fail "socket dead after the second jitwgd"
gw_wait_metric 5 jitwg_hook_received_total -ge 2 || tl_fail "first jitwgd no longer receives"

tl_log "--hook-endpoints: a bad list is a usage error"
rc=0
in_gw "$TL_BIN/jitwgd" --interface "$GWIF" --registry "$REG_URL" --hook "$HOOK" --hook-endpoints 10.0.0.1/8 \
	2>"$TL_TMP/bad.log" || rc=$?
[ $rc -eq 2 ] && grep -q -- --hook-endpoints "$TL_TMP/bad.log" || tl_fail "bad --hook-endpoints: exit $rc"
gw_jitwgd_stop
[ -e "$HOOK" ] && tl_fail "hook socket left behind at stop"
echo "PASS: forged sender, outside endpoint and a second jitwgd all refused; root hand-offs counted"
