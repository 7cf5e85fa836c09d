#!/usr/bin/env bash
# jitwg-relay on its own, in a namespace of its own, in front of a UDP echo:
# both framings through WebSocket stacks we did not write (Node's ws for the
# stream framing, python3-websockets for binary messages), plain and TLS;
# every bad-input case of issue 9 over raw sockets (tests/relay/rawws.py);
# the hook's messages read by an independent decoder; hook drops while the
# receiver is down and recovery when it is back; UDP sockets closed at once.
# Budget: about 20 s.
. "$(dirname "$0")/../lib.sh"
tl_init

PY=/usr/bin/python3
H=$TL_ROOT/tests/relay
RELAY=$TL_BIN/jitwg-relay
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
[ -x "$RELAY" ] || tl_fail "build first: $RELAY missing"
command -v node >/dev/null || { echo "SKIP: node missing (scripts/deps.sh installs node-ws)"; exit 77; }
node -e 'require("ws")' 2>/dev/null || { echo "SKIP: node-ws missing"; exit 77; }
$PY -c 'import websockets' 2>/dev/null || { echo "SKIP: python3-websockets missing"; exit 77; }

NS=$(tl_netns relay)
in_ns() { ip netns exec "$NS" "$@"; }
metric() { in_ns curl -sf "http://127.0.0.1:9100/metrics" | awk -v n="jitwg_relay_$1" '$1 == n { print $2 }'; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$TL_TMP/key.pem" -out "$TL_TMP/cert.pem" -subj /CN=relay.test \
	-addext subjectAltName=DNS:relay.test,IP:127.0.0.1 2>/dev/null

tl_bg in_ns $PY "$H/udpecho.py" 51820 "$TL_TMP/sources"
tl_bg in_ns $PY -u "$H/hookrecv.py" "$TL_TMP/hook.sock" "$TL_TMP/hook.pid" >"$TL_TMP/hook.log"
tl_wait_until 5 test -s "$TL_TMP/hook.pid" || tl_fail "hook receiver did not start"

tl_bg in_ns "$RELAY" --listen 127.0.0.1:8080 --metrics 127.0.0.1:9100 --hook "$TL_TMP/hook.sock" \
	--handshake-timeout 2 --trust-proxy 127.0.0.1/32
cp "$TL_TMP/cert.pem" "$TL_TMP/live.pem"
tl_bg in_ns "$RELAY" --listen 127.0.0.1:8443 --tls-cert "$TL_TMP/live.pem" --tls-key "$TL_TMP/key.pem" \
	--handshake-timeout 2 --threads 1
tl_bg in_ns "$RELAY" --listen 127.0.0.1:8081 --max-connections 2 --threads 1
for p in 8080 8443 8081; do
	tl_wait_until 5 in_ns bash -c "exec 3<>/dev/tcp/127.0.0.1/$p" || tl_fail "relay on $p did not start"
done

# Bad flags: a clear message and exit 2, nothing started.
rc=0; "$RELAY" --listen 127.0.0.1:notaport 2>"$TL_TMP/err" || rc=$?
[ $rc -eq 2 ] && grep -q -- '--listen' "$TL_TMP/err" || tl_fail "bad --listen: exit $rc"
rc=0; "$RELAY" --listen 127.0.0.1:1 --tls-cert "$TL_TMP/cert.pem" 2>"$TL_TMP/err" || rc=$?
[ $rc -eq 2 ] || tl_fail "--tls-cert without --tls-key: exit $rc"
rc=0; "$RELAY" --listen 127.0.0.1:1 --bind-range 10.0.0.0/16 2>"$TL_TMP/err" || rc=$?
[ $rc -eq 2 ] || tl_fail "--bind-range outside 127/8: exit $rc"

tl_log "interop: stream framing (node ws) and binary messages (python3-websockets), ws and wss"
in_ns timeout 10 node "$H/node_stream.js" ws://127.0.0.1:8080/ || tl_fail "node ws, plain"
in_ns timeout 10 node "$H/node_stream.js" wss://127.0.0.1:8443/ "$TL_TMP/cert.pem" || tl_fail "node ws, TLS"
in_ns timeout 10 $PY "$H/py_binary.py" ws://127.0.0.1:8080/ || tl_fail "python websockets, plain"
in_ns timeout 10 $PY "$H/py_binary.py" wss://127.0.0.1:8443/ "$TL_TMP/cert.pem" || tl_fail "python websockets, TLS"

tl_log "bad input"
for c in not-upgrade unmasked control-too-long reserved-bits too-big record-too-long wrong-magic \
	mixed-framing ping-close fragmented slowloris; do
	in_ns timeout 10 $PY "$H/rawws.py" 127.0.0.1 8080 "$c" || tl_fail "case $c (plain)"
done
for c in unmasked ping-close tls-stall; do
	in_ns timeout 10 $PY "$H/rawws.py" 127.0.0.1 8443 "$c" --tls || tl_fail "case $c (TLS)"
done
in_ns timeout 10 $PY "$H/rawws.py" 127.0.0.1 8081 max-connections || tl_fail "case max-connections"
# a relay that failed the limit once still serves when there is room again
in_ns timeout 10 $PY "$H/py_binary.py" ws://127.0.0.1:8081/ || tl_fail "limit relay after 503"

tl_log "hook: every forwarded initiation, with the relay socket and the real client"
in_ns timeout 10 $PY "$H/rawws.py" 127.0.0.1 8080 xff-init || tl_fail "xff + initiation"
tl_wait_until 5 grep -q ' 203.0.113.9:' "$TL_TMP/hook.log" || tl_fail "hook: no message with the X-Forwarded-For client"
# python websockets sent one initiation-shaped datagram per run (one so far on the hooked relay), plus xff-init
tl_wait_until 5 bash -c "[ \$(wc -l <'$TL_TMP/hook.log') -ge 2 ]" || tl_fail "hook: expected 2 messages"
while read -r ep client _; do
	grep -qx "$ep" "$TL_TMP/sources" || tl_fail "hook endpoint $ep is not a socket that sent to WireGuard"
	case $ep in 127.1.*) ;; *) tl_fail "endpoint $ep outside the bind range" ;; esac
	case $client in 127.0.0.1:*|203.0.113.9:1) ;; *) tl_fail "client $client" ;; esac
done <"$TL_TMP/hook.log"
[ "$(metric hook_dropped_total)" = 0 ] || tl_fail "hook drops while the receiver was up"

tl_log "hook receiver down: forwarding goes on, hand-offs are dropped and counted"
kill "$(cat "$TL_TMP/hook.pid")" 2>/dev/null
tl_wait_until 5 bash -c "! kill -0 $(cat "$TL_TMP/hook.pid")" || tl_fail "hook receiver did not stop"
in_ns timeout 10 $PY "$H/py_binary.py" ws://127.0.0.1:8080/ || tl_fail "forwarding with the hook down"
[ "$(metric hook_dropped_total)" -ge 1 ] || tl_fail "hook drop not counted"
rm -f "$TL_TMP/hook.pid"
tl_bg in_ns $PY -u "$H/hookrecv.py" "$TL_TMP/hook.sock" "$TL_TMP/hook.pid" >"$TL_TMP/hook2.log"
tl_wait_until 5 test -s "$TL_TMP/hook.pid" || tl_fail "hook receiver did not restart"
in_ns timeout 10 $PY "$H/py_binary.py" ws://127.0.0.1:8080/ || tl_fail "forwarding after the hook came back"
tl_wait_until 5 test -s "$TL_TMP/hook2.log" || tl_fail "hook did not recover without a relay restart"

tl_log "closing a WebSocket closes its UDP socket at once"
udp_count() { in_ns ss -Huan | awk '$4 ~ /^127\.1\./' | wc -l; }
tl_wait_until 3 test "$(udp_count)" -eq 0 || tl_fail "relay UDP sockets left open: $(udp_count)"

tl_log "SIGHUP reloads the certificate; a bad one keeps the old"
# the relay process itself (tl_bg's PID is the subshell around ip netns exec)
TLS_PID=$(for p in $(ip netns pids "$NS"); do
	tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- '--listen 127.0.0.1:8443' && echo "$p"; done; true)
[ -n "$TLS_PID" ] || tl_fail "TLS relay process not found"
echo "not a certificate" >"$TL_TMP/live.pem"
kill -HUP "$TLS_PID"
sleep 0.3
kill -0 "$TLS_PID" || tl_fail "relay died on a bad certificate reload"
in_ns timeout 10 $PY "$H/py_binary.py" wss://127.0.0.1:8443/ "$TL_TMP/cert.pem" || tl_fail "TLS after a failed reload"
cp "$TL_TMP/cert.pem" "$TL_TMP/live.pem"
kill -HUP "$TLS_PID"
sleep 0.3
in_ns timeout 10 $PY "$H/py_binary.py" wss://127.0.0.1:8443/ "$TL_TMP/cert.pem" || tl_fail "TLS after reload"

tl_log "jitwg tunnel: failures that say what to do"
tun() { in_ns timeout 5 "$TL_BIN/jitwg" tunnel --listen 127.0.0.1:51999 "$@" 2>"$TL_TMP/tun.err"; }
rc=0; tun --url ws://127.0.0.1:8080/elsewhere || rc=$?
[ $rc -eq 1 ] && grep -q 'HTTP 404.*not retrying' "$TL_TMP/tun.err" || {
	cat "$TL_TMP/tun.err" >&2; tl_fail "tunnel: a 404 is retried (exit $rc)"; }
rc=0; tun --url wss://127.0.0.1:8443/ || rc=$?
[ $rc -eq 124 ] && grep -q 'did not verify.*--ca' "$TL_TMP/tun.err" || {
	cat "$TL_TMP/tun.err" >&2; tl_fail "tunnel: a certificate failure does not suggest --ca"; }
rc=0; tun --url ws://relay.invalid/ || rc=$?
grep -q 'cannot resolve relay.invalid' "$TL_TMP/tun.err" || {
	cat "$TL_TMP/tun.err" >&2; tl_fail "tunnel: a DNS failure does not say so"; }

[ "$(metric keepalives_total)" -ge 1 ] || tl_fail "keepalives not counted"
[ "$(metric protocol_errors_total)" -ge 4 ] || tl_fail "protocol errors not counted"
[ "$(metric too_big_total)" -ge 2 ] || tl_fail "1009 closes not counted"
[ "$(metric handshake_timeouts_total)" -ge 1 ] || tl_fail "slowloris not counted"
[ "$(metric connections)" = 0 ] || tl_fail "connections gauge $(metric connections) after all closed"
tl_log "PASS"
