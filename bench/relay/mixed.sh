#!/usr/bin/env bash
# bench/relay/mixed.sh: legitimate idle clients (each from its own address,
# answering pings) next to hostile ones: idle upgrades from one address,
# slowloris heads from another, a reconnect loop from a third, and one
# client flooding pings while never reading. Then LEGIT_NEW fresh clients
# connect: all must get in; the relay's RSS per connection is printed.
# Not a test (figures only).
#   bench/relay/mixed.sh [LEGIT_IDLE] [HOSTILE_EACH] [LEGIT_NEW]   (as root, after make)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LEGIT=${1:-2000}
HOSTILE=${2:-250}
NEW=${3:-200}
. "$ROOT/tests/lib.sh"
TL_NAME=relaymixed
tl_init
PY=/usr/bin/python3
H=$ROOT/tests/relay
NS=$(tl_netns mixed)
in_ns() { ip netns exec "$NS" "$@"; }
tl_bg in_ns $PY "$H/udpecho.py" 51820 "$TL_TMP/sources"
tl_bg in_ns bash -c "ulimit -n $(ulimit -Hn); exec ${RELAY:-$TL_BIN/jitwg-relay} --listen 127.0.0.1:8080 --metrics 127.0.0.1:9100 \
	--max-connections $((LEGIT + NEW + 3 * HOSTILE)) --max-per-source 64 --idle-timeout 60 --handshake-timeout 5"
tl_wait_until 5 in_ns bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080' || tl_fail "relay did not start"
rpid=$(pgrep -f -n 'jitwg-relay --listen 127.0.0.1:8080 --metrics 127.0.0.1:9100')
rss() { awk '/^VmRSS/ { print $2 }' /proc/"$rpid"/status; }
metric() { in_ns curl -sf "http://127.0.0.1:9100/metrics" | awk -v n="jitwg_relay_$1" '$1 == n { print $2 }'; }
base=$(rss)
echo "# $(date -u +%FT%TZ) $(git -C "$ROOT" rev-parse --short HEAD) load $(cut -d' ' -f1-3 /proc/loadavg)"
hold() { # NAME CASE ARGS...: a holder process fed by a fifo (closing it ends the holder)
	local name=$1; shift
	mkfifo "$TL_TMP/$name.in"
	tl_bg in_ns bash -c "ulimit -n $(ulimit -Hn); exec $PY $H/hostile.py 127.0.0.1 8080 $* <'$TL_TMP/$name.in' >'$TL_TMP/$name.out' 2>&1"
}
hold legit hold-spread "$LEGIT"; exec 3>"$TL_TMP/legit.in"
tl_wait_until 300 grep -q holding "$TL_TMP/legit.out" || tl_fail "legitimate clients: $(cat "$TL_TMP/legit.out")"
legit_rss=$(rss)
hold idle tcp-hold "$HOSTILE" 127.9.0.1; exec 4>"$TL_TMP/idle.in"
hold slow slowloris-hold "$HOSTILE"; exec 5>"$TL_TMP/slow.in"
hold loop reconnect-loop; exec 6>"$TL_TMP/loop.in"
in_ns timeout 30 $PY "$H/hostile.py" 127.0.0.1 8080 ping-flood "$rpid" 1000 9100 >"$TL_TMP/flood.out" 2>&1 || true
got=$(in_ns timeout 120 $PY "$H/hostile.py" 127.0.0.1 8080 connect-spread "$NEW")
all_rss=$(rss)
echo "legitimate idle: $LEGIT held; RSS $base -> $legit_rss KiB: $(( (legit_rss - base) * 100 / LEGIT ))e-2 KiB per connection"
echo "hostile: $HOSTILE idle TCP + $HOSTILE slowloris from one address each, a reconnect loop, a ping flood that never reads"
echo "  $(tail -n 1 "$TL_TMP/flood.out")"
echo "new legitimate clients meanwhile: $got; RSS with everything $all_rss KiB"
echo "relay: connections $(metric connections), websockets open $(metric websockets_open), rejected_source $(metric rejected_source_total), handshake_timeouts $(metric handshake_timeouts_total), slow_readers $(metric slow_readers_total), idle_timeouts $(metric idle_timeouts_total)"
exec 3>&- 4>&- 5>&- 6>&-
sleep 1
echo "reconnect loop: $(cat "$TL_TMP/loop.out"); legitimate holder: $(tail -n 2 "$TL_TMP/legit.out" | tr '\n' ' ')"
