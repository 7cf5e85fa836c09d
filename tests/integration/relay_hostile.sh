#!/usr/bin/env bash
# jitwg-relay against hostile clients: one check per row of the attack table
# (docs/OPERATIONS.md, "The relay under hostile clients"), each of which
# failed before the relay had lifetimes, per-source limits, bounded output,
# an accept back-off, epoll in its metrics server and v4-mapped clients as
# IPv4. The forged-hook row is tests/integration/gw_hook_checks.sh; the
# flood's effect on other clients' latency is a ratio, so it is in
# bench/relay, not here. Budget: about 15-20 s.
. "$(dirname "$0")/../lib.sh"
tl_init

PY=/usr/bin/python3
H=$TL_ROOT/tests/relay
RELAY=$TL_BIN/jitwg-relay
[ -x "$RELAY" ] || tl_fail "build first: $RELAY missing"

NS=$(tl_netns hostile)
in_ns() { ip netns exec "$NS" "$@"; }
ip -n "$NS" addr add 127.0.0.2/8 dev lo 2>/dev/null || true
metric() { in_ns curl -sf -m 5 "http://127.0.0.1:$1/metrics" | awk -v n="jitwg_relay_$2" '$1 == n { print $2 }'; }
hostile() { in_ns timeout 60 $PY "$H/hostile.py" "$@"; }
wait_port() { tl_wait_until 5 in_ns bash -c "exec 3<>/dev/tcp/$1/$2" || tl_fail "relay on $1:$2 did not start"; }

tl_bg in_ns $PY "$H/udpecho.py" 51820 "$TL_TMP/sources"
tl_bg in_ns $PY -u "$H/hookrecv.py" "$TL_TMP/hook.sock" "$TL_TMP/hook.pid" >"$TL_TMP/hook.log"
tl_wait_until 5 test -s "$TL_TMP/hook.pid" || tl_fail "hook receiver did not start"

# A: lifetimes and bounded memory
tl_bg in_ns "$RELAY" --listen 127.0.0.1:8080 --metrics 127.0.0.1:9100 --threads 1 --idle-timeout 3 \
	--handshake-timeout 2 --max-per-source 0
A_PID=$TL_LAST_PID
# B: per-source limit under a small --max-connections
tl_bg in_ns "$RELAY" --listen 127.0.0.1:8081 --metrics 127.0.0.1:9101 --max-connections 10 --max-per-source 5
# C: dual stack with a trusted proxy and the hook
tl_bg in_ns "$RELAY" --listen '[::]:8082' --metrics 127.0.0.1:9102 --trust-proxy 127.0.0.1/32 \
	--hook "$TL_TMP/hook.sock" --max-per-source 2 --threads 1
for p in 8080 8081 8082; do wait_port 127.0.0.1 $p; done

tl_log "idle upgraded WebSockets are pinged, then closed; an answering client stays"
hostile 127.0.0.1 8080 idle 8 || tl_fail "idle"
[ "$(metric 9100 idle_timeouts_total)" -ge 8 ] || tl_fail "idle timeouts not counted"

tl_log "unfinished records and messages are closed with 1008"
hostile 127.0.0.1 8080 partial 20 || tl_fail "partial"
[ "$(metric 9100 partial_timeouts_total)" -ge 20 ] || tl_fail "partial timeouts not counted"

tl_log "a burst of empty frames, then a ping: the pong comes"
hostile 127.0.0.1 8080 empty-burst 4600 || tl_fail "empty-burst"

tl_log "a ping flood from a client that never reads: memory stays bounded"
hostile 127.0.0.1 8080 ping-flood "$A_PID" 24 9100 || tl_fail "ping-flood"

tl_log "one source cannot take --max-connections; another source still gets in"
hostile 127.0.0.1 8081 per-source 5 30 || tl_fail "per-source"
[ "$(metric 9101 rejected_source_total)" -ge 1 ] || tl_fail "per-source refusals not counted"

tl_log "dual stack: IPv4 clients of a [::] listener are IPv4 (admission, --trust-proxy)"
in_ns timeout 10 $PY "$H/rawws.py" 127.0.0.1 8082 xff-init || tl_fail "xff-init on [::]"
tl_wait_until 5 grep -q ' 203.0.113.9:' "$TL_TMP/hook.log" || {
	cat "$TL_TMP/hook.log" >&2; tl_fail "trusted proxy on a [::] listener not believed"; }
grep -q 'ffff' "$TL_TMP/hook.log" && tl_fail "a v4-mapped address reached the hook"
# per source on IPv4 (not one shared ::ffff:0:0/64 bucket): two from .1 and one from .2
hostile 127.0.0.1 8082 per-source 2 4 || tl_fail "per-source over a [::] listener"

tl_log "/metrics and /healthz answer with more than 1,024 descriptors open"
tl_bg in_ns "$RELAY" --listen 127.0.0.1:8083 --metrics 127.0.0.1:9103 --handshake-timeout 60 \
	--max-per-source 0 --threads 1
wait_port 127.0.0.1 8083
mkfifo "$TL_TMP/hold.in"
tl_bg in_ns bash -c "ulimit -n 4096; exec $PY $H/hostile.py 127.0.0.1 8083 hold 600 <'$TL_TMP/hold.in' >'$TL_TMP/hold.out'"
exec 7>"$TL_TMP/hold.in"
tl_wait_until 30 grep -q holding "$TL_TMP/hold.out" || tl_fail "could not open 600 WebSockets"
fds=$(in_ns ls /proc/"$(pgrep -f -n 'jitwg-relay --listen 127.0.0.1:8083')"/fd | wc -l)
[ "$fds" -gt 1024 ] || tl_fail "only $fds descriptors open (test setup)"
in_ns curl -sf -m 5 http://127.0.0.1:9103/healthz >/dev/null || tl_fail "/healthz dark with $fds descriptors"
[ "$(metric 9103 websockets_open)" -ge 600 ] || tl_fail "/metrics dark with $fds descriptors"
exec 7>&-

tl_log "out of descriptors: accepting pauses (no spin) and resumes"
tl_bg in_ns prlimit --nofile=40:40 "$RELAY" --listen 127.0.0.1:8084 --metrics 127.0.0.1:9104 \
	--max-connections 1000 --threads 1 2>"$TL_TMP/emfile.log"
E_PID=$TL_LAST_PID
wait_port 127.0.0.1 8084
grep -q 'descriptor limit.*raise LimitNOFILE' "$TL_TMP/emfile.log" || tl_fail "no start-up warning about the fd limit"
mkfifo "$TL_TMP/emf.in"
tl_bg in_ns bash -c "exec $PY $H/hostile.py 127.0.0.1 8084 tcp-hold 80 <'$TL_TMP/emf.in' >'$TL_TMP/emf.out'"
exec 8>"$TL_TMP/emf.in"
tl_wait_until 10 grep -q holding "$TL_TMP/emf.out" || tl_fail "tcp-hold did not start"
rpid=$(pgrep -f -n 'jitwg-relay --listen 127.0.0.1:8084')
cpu() { awk '{ print $14 + $15 }' /proc/"$rpid"/stat; }
c0=$(cpu); sleep 2; c1=$(cpu)
# clock ticks (100/s): spinning would be about 200 in 2 s
[ $((c1 - c0)) -lt 50 ] || tl_fail "relay burned $((c1 - c0)) ticks in 2 s while out of descriptors"
grep -q 'pausing accepts' "$TL_TMP/emfile.log" || tl_fail "no log line when accepts paused"
exec 8>&-
sleep 1
tl_wait_until 15 in_ns timeout 5 $PY "$H/py_binary.py" ws://127.0.0.1:8084/ >/dev/null 2>&1 ||
	tl_fail "relay did not accept again after descriptors came back"
echo "PASS: idle, partial, empty burst, ping flood, per-source, dual stack, >1,024 fds, EMFILE"
