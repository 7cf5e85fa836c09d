#!/usr/bin/env bash
# bench/relay/flood.sh: one connection flooding keepalive records vs the
# other clients' echo latency, side by side in one run (quiet, then with the
# flood, RUNS times alternating), through jitwg-relay in front of a UDP echo
# in a namespace of its own. Not a test: it prints p50/p99/max per run and
# the p99 ratio (flood / quiet); the target is <= 2x.
#   bench/relay/flood.sh [RUNS] [SAMPLES]       (as root, after make)
#   RELAY=/path/to/old/jitwg-relay RELAY_ARGS= bench/relay/flood.sh   (another build)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${1:-3}
SAMPLES=${2:-2000}
. "$ROOT/tests/lib.sh"
TL_NAME=relayflood
tl_init
PY=/usr/bin/python3
NS=$(tl_netns flood)
in_ns() { ip netns exec "$NS" "$@"; }
tl_bg in_ns $PY "$ROOT/tests/relay/udpecho.py" 51820 "$TL_TMP/sources"
tl_bg in_ns "${RELAY:-$TL_BIN/jitwg-relay}" --listen 127.0.0.1:8080 --threads "${THREADS:-1}" ${RELAY_ARGS---max-per-source 0}
tl_wait_until 5 in_ns bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080' || tl_fail "relay did not start"
echo "# $(date -u +%FT%TZ) $(git -C "$ROOT" rev-parse --short HEAD) load $(cut -d' ' -f1-3 /proc/loadavg), relay threads ${THREADS:-1}"
for r in $(seq "$RUNS"); do
	q=$(in_ns $PY "$ROOT/bench/relay/floodecho.py" 127.0.0.1 8080 8 "$SAMPLES")
	ip netns exec "$NS" $PY "$ROOT/bench/relay/floodecho.py" 127.0.0.1 8080 flooder &
	fl=$!
	sleep 1
	f=$(in_ns $PY "$ROOT/bench/relay/floodecho.py" 127.0.0.1 8080 8 "$SAMPLES" flood)
	kill "$fl"; wait "$fl" 2>/dev/null || true
	qp=$(awk '{ print $5 }' <<<"$q"); fp=$(awk '{ print $5 }' <<<"$f")
	echo "run $r: $q | $f | p99 ratio $(awk -v a="$fp" -v b="$qp" 'BEGIN { printf "%.2f", a / b }')"
done
