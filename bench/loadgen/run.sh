#!/usr/bin/env bash
# Scale of jitwg loadgen itself (issue 10, deliver 3), on this machine:
#   1. full handshakes per CPU-second of one loadgen thread, against the
#      sink (sink.c: a responder that answers every key), RUNS times;
#   2. idle sessions held: CLIENTS clients connect and hold their session
#      (a keepalive every 25 s) long enough to all be up at once; the
#      loadgen's peak RSS, and the kernel's UDP socket memory beside it.
# Everything runs in one fresh network namespace on its loopback; client
# sources spread over 127.1.0.0/16 (local on lo). Needs root.
#
#   bench/loadgen/run.sh [OUT]      (default bench/loadgen/results/<date>.txt)
#   RUNS=3 RATE_CLIENTS=2000 RATE=400 CLIENTS=100000 IDLE_RATE=500 bench/loadgen/run.sh
# The sink (two processes) must keep up with RATE: past its capacity the
# clients' retransmits pile up and the figure measures the sink.
source "$(dirname "$0")/../../tests/lib.sh"
tl_init
ROOT=$TL_ROOT
RUNS=${RUNS:-3}
RATE_CLIENTS=${RATE_CLIENTS:-2000}
RATE=${RATE:-400}
IDLE_RATE=${IDLE_RATE:-500}
CLIENTS=${CLIENTS:-100000}
mkdir -p "$ROOT/bench/loadgen/results"
OUT=${1:-$ROOT/bench/loadgen/results/$(date +%Y%m%d-%H%M).txt}
[ -x "$TL_BIN/jitwg" ] || tl_fail "build first (make)"
B=$ROOT/build
cc -O2 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -I"$ROOT/src" -o "$TL_TMP/sink" "$ROOT/bench/loadgen/sink.c" \
	"$B/libloadgen.a" "$B/libnoise.a" "$B/libjcrypto.a" "$B/libwire.a" "$B/libcommon.a" -lcrypto -lpthread
NS=$(tl_netns lgb)
wg genkey >"$TL_TMP/sink.key"
PUB=$(wg pubkey <"$TL_TMP/sink.key")

{
	echo "# jitwg loadgen scale, $(date -u +%FT%TZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# commit $(git -C "$ROOT" rev-parse --short HEAD)"
} | tee "$OUT"

port=51900
for r in $(seq "$RUNS"); do
	port=$((port + 1))
	tl_bg ip netns exec "$NS" "$TL_TMP/sink" 127.0.0.1 "$port" "$TL_TMP/sink.key" 60 2 >"$TL_TMP/sink.$r"
	sp=$TL_LAST_PID
	sleep 0.3
	ip netns exec "$NS" "$TL_BIN/jitwg" loadgen --endpoint "127.0.0.1:$port" --server-public-key "$PUB" \
		--clients "$RATE_CLIENTS" --rate "$RATE" --source-prefix 127.1.0.0/16 --progress 0 \
		--attempt-time 30 >"$TL_TMP/rate.$r" 2>&1 || true
	kill "$sp" 2>/dev/null; wait "$sp" 2>/dev/null || true
	sleep 1
	echo "rate run $r: $(grep '^set-up' "$TL_TMP/rate.$r" | sed 's/, max rss.*//'); $(tail -n 1 "$TL_TMP/rate.$r"); $(tr '\n' ' ' <"$TL_TMP/sink.$r")" | tee -a "$OUT"
done

port=$((port + 1))
hold=$(awk -v c="$CLIENTS" -v r="$IDLE_RATE" 'BEGIN { printf "%d", c / r + 20 }')
tl_bg ip netns exec "$NS" "$TL_TMP/sink" 127.0.0.1 "$port" "$TL_TMP/sink.key" $((hold * 3 + 120)) 2 >"$TL_TMP/sink.idle"
sp=$TL_LAST_PID
sleep 0.3
sock0=$(ip netns exec "$NS" awk '/^UDP:/ { print $5 }' /proc/net/sockstat)
tl_bg ip netns exec "$NS" "$TL_BIN/jitwg" loadgen --endpoint "127.0.0.1:$port" --server-public-key "$PUB" \
	--clients "$CLIENTS" --rate "$IDLE_RATE" --source-prefix 127.1.0.0/16 --progress 10 --hold "$hold" \
	--keepalive 25 >"$TL_TMP/idle.out" 2>"$TL_TMP/idle.err"
lp=$TL_LAST_PID
# Kernel UDP memory (pages) at the moment the most sessions are up.
peak_ok=0 sockmem=0
while kill -0 "$lp" 2>/dev/null; do
	line=$(tail -n 1 "$TL_TMP/idle.err")
	ok=$(echo "$line" | sed -n 's/.* ok \([0-9]*\),.*/\1/p')
	if [ -n "$ok" ] && [ "$ok" -gt "$peak_ok" ]; then
		peak_ok=$ok
		sockmem=$(ip netns exec "$NS" awk '/^UDP:/ { print $5 }' /proc/net/sockstat)
	fi
	sleep 2
done
wait "$lp" || true
kill "$sp" 2>/dev/null; wait "$sp" 2>/dev/null || true
echo "idle: $CLIENTS clients at $IDLE_RATE/s, hold $hold s: $(grep '^set-up' "$TL_TMP/idle.out"); $(tail -n 1 "$TL_TMP/idle.out")" | tee -a "$OUT"
echo "idle: kernel UDP memory $(( (sockmem - sock0) * 4 )) KiB at $peak_ok sessions up (sockstat pages)" | tee -a "$OUT"
