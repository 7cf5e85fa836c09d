#!/usr/bin/env bash
# Start-up refuses before it touches the disk or the data plane: a metrics
# port in use, a malformed registry URL and a second daemon on the same
# interface (with or without a status socket) each exit non-zero and leave
# no cache file behind, and the second daemon runs no adoption sweep.
# --metrics accepts a host name (localhost:PORT); the status socket is 0600. A missing userspace
# interface is reported once, not with its errno twice.
source "$(dirname "$0")/gw_common.bash"

gw_setup
gw_registry_start

# run NAME [args]: a jitwgd that is expected to refuse; its stderr in NAME.err.
run() {
	local name=$1
	shift
	ip netns exec "$GW" timeout 10 "$TL_BIN/jitwgd" --interface "$GWIF" --registry "$REG_URL" \
		--cache "$TL_TMP/$name.db" "$@" 2>"$TL_TMP/$name.err"
}
no_files() { ! compgen -G "$TL_TMP/$1.db*" >/dev/null || tl_fail "$1: left $(ls "$TL_TMP/$1".db*)"; }

# 1. Metrics port in use.
BUSY=$((20000 + RANDOM % 20000))
tl_bg ip netns exec "$GW" python3 -c "
import socket, time
s = socket.socket(); s.bind(('127.0.0.1', $BUSY)); s.listen(); time.sleep(60)"
tl_wait_until 5 ip netns exec "$GW" bash -c "exec 3<>/dev/tcp/127.0.0.1/$BUSY" || tl_fail "port holder did not start"
run busy --metrics "127.0.0.1:$BUSY" --status-socket "$TL_TMP/busy.sock" && tl_fail "started with its metrics port in use"
grep -q "address in use" "$TL_TMP/busy.err" || tl_fail "busy: $(cat "$TL_TMP/busy.err")"
no_files busy
[ -e "$TL_TMP/busy.sock" ] && tl_fail "busy: status socket left behind"

# 2. A malformed registry URL fails at start-up (exit 2), not at the first lookup.
run badurl --registry 'http://[::1' && tl_fail "started with a malformed registry URL"
grep -q "not a valid URL" "$TL_TMP/badurl.err" || tl_fail "badurl: $(cat "$TL_TMP/badurl.err")"
no_files badurl

# 3. --metrics with a host name; a peer installed by hand is adopted once.
ip netns exec "$GW" wg set "$GWIF" peer "$(wg genkey | wg pubkey)" allowed-ips 10.77.9.9/32
MET="localhost:$((20000 + RANDOM % 20000))"
gw_jitwgd_start
grep -q "1 peers adopted" "$TL_TMP/jitwgd.log" || tl_fail "first daemon did not adopt the peer"
# The status socket is 0600 from the start (bound under a temp name, no umask()).
[ "$(stat -c %a "$STATUS")" = 600 ] || tl_fail "status socket mode $(stat -c %a "$STATUS")"

# 4. A second daemon on the same interface: refused before the cache and the sweep.
run second --status-socket "$STATUS" && tl_fail "second daemon started (status socket)"
grep -q "another jitwgd" "$TL_TMP/second.err" || tl_fail "second: $(cat "$TL_TMP/second.err")"
grep -q "sweep\|adopted" "$TL_TMP/second.err" && tl_fail "second daemon swept the data plane"
no_files second
# Without a status socket, the first daemon's cache lock refuses it, still before the sweep.
ip netns exec "$GW" timeout 10 "$TL_BIN/jitwgd" --interface "$GWIF" --registry "$REG_URL" \
	--cache "$TL_TMP/cache.db" --status-socket "" 2>"$TL_TMP/third.err" && tl_fail "third daemon started (shared cache)"
grep -q "sweep\|adopted" "$TL_TMP/third.err" && tl_fail "third daemon swept the data plane"
gw_jitwgd_stop

# 5. A missing userspace interface: one clear line, the errno not twice.
ip netns exec "$GW" timeout 10 "$TL_BIN/jitwgd" --backend userspace --interface wgnope$$ \
	--registry "$REG_URL" --cache "$TL_TMP/nope.db" 2>"$TL_TMP/nope.err" && tl_fail "started without an interface"
n=$(grep -o "No such file or directory" "$TL_TMP/nope.err" | wc -l)
[ "$n" -le 1 ] || tl_fail "nope: errno printed $n times: $(cat "$TL_TMP/nope.err")"
no_files nope
tl_log "PASS"
