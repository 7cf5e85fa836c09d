#!/usr/bin/env bash
# bench/relay: WireGuard over WebSockets through jitwg-relay, side by side
# with direct UDP in one run, on one gateway (wireguard-go + jitwgd + real
# registry) and real wireguard-go clients, each relayed client behind its own
# `jitwg tunnel` over wss://. Not a test: it prints figures and target ratios.
#
#   1. cold connect over the relay: jit vs a pre-installed peer (first echo's
#      RTT, which spans the handshake(s): wireguard-go holds the echo until a
#      session exists; coldconnect/run.sh explains it), N clients one by one
#   2. relay's added latency per datagram: ping RTT through an established
#      tunnel over the relay vs over direct UDP (COUNT echoes each)
#   3. TCP throughput through the tunnel (iperf3, 5 s): wss relay vs direct UDP
#   4. 10,000 idle WebSocket connections, plain and TLS: relay RSS per connection
#   5. hook hand-off rate: initiations pumped through one WebSocket, counted
#      as jitwgd received them
#
#   bench/relay/run.sh [CLIENTS] [IDLE_CONNS]     (as root, after make)
#   ONLY="4 5" bench/relay/run.sh ...              (some sections only)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-16}
IDLE=${2:-10000}
# each idle connection costs the relay two descriptors (TCP and its UDP socket)
if [ $((IDLE * 2 + 64)) -gt "$(ulimit -Hn)" ]; then
	IDLE=$((($(ulimit -Hn) - 64) / 2 / 1000 * 1000))
	echo "hard RLIMIT_NOFILE $(ulimit -Hn): idle connections lowered to $IDLE"
fi
COUNT=${COUNT:-500}
# shellcheck source=../../tests/integration/gw_common.bash
source "$ROOT/tests/integration/gw_common.bash"
TL_NAME=relaybench
PY=/usr/bin/python3

gw_setup
gw_registry_start
HOOK=$TL_TMP/hook.sock
RMET=127.0.0.1:$((20000 + RANDOM % 20000))
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$TL_TMP/key.pem" -out "$TL_TMP/cert.pem" -subj /CN=relay.test \
	-addext "subjectAltName=IP:$GW_V4" 2>/dev/null
tl_bg ip netns exec "$GW" "$TL_BIN/jitwg-relay" --listen "$GW_V4:8443" --tls-cert "$TL_TMP/cert.pem" \
	--tls-key "$TL_TMP/key.pem" --forward "127.0.0.1:$GW_PORT" --hook "$HOOK" --metrics "$RMET" \
	--max-connections 30000 2>>"$TL_TMP/relay.log"
relay_metric() { ip netns exec "$GW" curl -sf "http://$RMET/metrics" | awk -v n="jitwg_relay_$1" '$1 == n { print $2 }'; }
tl_wait_until 5 relay_metric accepted_total || tl_fail "relay did not start"
gw_clients_many $((N + 1)) # client N+1 is the direct-UDP reference
for n in $(seq 1 "$N"); do
	tl_bg ip netns exec "$CL" "$TL_BIN/jitwg" tunnel --url "wss://$GW_V4:8443/" --ca "$TL_TMP/cert.pem" \
		--listen "127.0.0.1:$((40000 + n))" --quiet
done
sleep 1

# shellcheck source=../coldconnect/lib.bash
source "$ROOT/bench/coldconnect/lib.bash"
client_endpoint() { echo "127.0.0.1:$((40000 + $1))"; } # its own `jitwg tunnel`
rtt() {
	local out
	out=$(ip netns exec "$CL" ping -n -c 1 -W 12 -I "${CLIENT_IF[$1]}" 10.77.0.1 2>/dev/null) || { echo fail; return; }
	sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' <<<"$out" | head -n 1
}
stats() { # FILE -> "p50 p99 min max n"
	grep -v fail "$1" | sort -n | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "- - - - 0"; exit }
		i99 = int(NR * 0.99 + 0.999); printf "%.3f %.3f %.3f %.3f %d\n", v[int((NR + 1) / 2)], v[i99], v[1], v[NR], NR }'
}
want() { [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $1 "* ]]; }
echo "relay bench: $N relayed clients, $(nproc) CPUs (shared with other work: noisy), $(uname -r)"

# ---- 1. cold connect over the relay ---------------------------------------------
if want 1; then
reset_all
for n in $(seq 1 "$N"); do ip netns exec "$GW" wg set "$GWIF" peer "${CLIENT_PUB[$n]}" allowed-ips "10.77.1.$n/32"; done
: >"$TL_TMP/pre"
for n in $(seq 1 "$N"); do rtt "$n" >>"$TL_TMP/pre"; done
reset_all
gw_jitwgd_start --hook "$HOOK" --cache "$TL_TMP/cache.db"
: >"$TL_TMP/jit"
for n in $(seq 1 "$N"); do rtt "$n" >>"$TL_TMP/jit"; done
printf '\n1. cold connect over the relay (ms, first echo RTT)\n%-13s %9s %9s %9s %9s %4s\n' mode p50 p99 min max n
for m in pre jit; do read -r a b c d e < <(stats "$TL_TMP/$m"); printf '%-13s %9s %9s %9s %9s %4s\n' "$m" "$a" "$b" "$c" "$d" "$e"; eval "P50_$m=$a"; done
# shellcheck disable=SC2154
awk -v p="$P50_pre" -v j="$P50_jit" 'BEGIN { printf "jit p50 / preinstalled p50 = %.2fx (target <= 2x) %s\n", j / p, ((j / p) <= 2) ? "MET" : "MISSED" }'
echo "failures: pre $(grep -c fail "$TL_TMP/pre" || true), jit $(grep -c fail "$TL_TMP/jit" || true)"
else
	gw_jitwgd_start --hook "$HOOK" --cache "$TL_TMP/cache.db"
fi

# ---- 2. added latency per datagram ----------------------------------------------
D=$((N + 1))
if want 2 || want 3; then
ip netns exec "$CL" wg set "${CLIENT_IF[$D]}" peer "$GW_PUB" endpoint "$GW_V4:$GW_PORT" allowed-ips 10.77.0.1/32
ip -n "$CL" link set "${CLIENT_IF[$D]}" up
tl_wait_until 10 gw_ping "$D" v4 || tl_fail "direct client did not connect"
gw_ping 1 v4 || tl_fail "relay client 1 not up"
lat() { ip netns exec "$CL" ping -n -q -c "$COUNT" -i 0.002 -I "${CLIENT_IF[$1]}" 10.77.0.1 >/dev/null 2>&1 || true
	ip netns exec "$CL" ping -n -c "$COUNT" -i 0.002 -I "${CLIENT_IF[$1]}" 10.77.0.1 2>/dev/null |
		sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' >"$2"; }
fi
if want 2; then
for run in 1 2 3; do
	lat 1 "$TL_TMP/lat-relay-$run"; lat "$D" "$TL_TMP/lat-direct-$run"
done
printf '\n2. echo RTT through an established tunnel (ms; %d echoes x 3 runs, interleaved)\n' "$COUNT"
for run in 1 2 3; do
	read -r rp rq _ rx _ < <(stats "$TL_TMP/lat-relay-$run")
	read -r dp dq _ dx _ < <(stats "$TL_TMP/lat-direct-$run")
	awk -v run="$run" -v rp="$rp" -v rq="$rq" -v rx="$rx" -v dp="$dp" -v dq="$dq" -v dx="$dx" 'BEGIN {
		printf "run %d: relay p50 %s p99 %s max %s | direct p50 %s p99 %s max %s | added p50 %.3f p99 %.3f\n",
			run, rp, rq, rx, dp, dq, dx, rp - dp, rq - dq }'
done

fi
# ---- 3. TCP throughput --------------------------------------------------------------
if want 3 && command -v iperf3 >/dev/null; then
	tl_bg ip netns exec "$GW" iperf3 -s -B 10.77.0.1 >/dev/null 2>&1
	sleep 0.5
	bw() { ip netns exec "$CL" iperf3 -c 10.77.0.1 -B "10.77.1.$1" --bind-dev "${CLIENT_IF[$1]}" -t 5 -J 2>/dev/null |
		jq -r '(.end.sum_received.bits_per_second // 0) / 1e6 | floor'; }
	printf '\n3. TCP through the tunnel (iperf3 5 s, Mbit/s)\n'
	for run in 1 2; do
		r=$(bw 1); d=$(bw "$D")
		awk -v r="$r" -v d="$d" -v run="$run" 'BEGIN { printf "run %d: relay (wss) %s, direct UDP %s, ratio %.2f (goal >= 0.5) %s\n", run, r, d, r / d, ((r / d) >= 0.5) ? "MET" : "MISSED" }'
	done
elif want 3; then
	echo "3. iperf3 not installed: throughput not measured"
fi

# ---- 4. idle connections: RSS per connection -------------------------------------
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
idle() { # LABEL ARGS...
	local label=$1 port=$2 pid base after held; shift 2
	# two descriptors per connection: IDLE is bounded by the hard RLIMIT_NOFILE / 2
	tl_bg ip netns exec "$GW" "$TL_BIN/jitwg-relay" --listen "$GW_V4:$port" \
		--forward "127.0.0.1:$GW_PORT" --max-connections $((IDLE + 100)) --handshake-timeout 120 \
		--max-per-source 0 --idle-timeout 3600 "$@" \
		2>>"$TL_TMP/relay-idle.log"
	sleep 0.5
	pid=$(for p in $(ip netns pids "$GW"); do tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- "--listen $GW_V4:$port" && echo "$p"; done; true)
	base=$(rss_kb "$pid")
	tl_bg ip netns exec "$CL" "$PY" "$ROOT/bench/relay/wsload.py" hold "$IDLE" "$GW_V4" "$port" \
		$([ "$label" = TLS ] && echo tls) >"$TL_TMP/hold-$port.out" 2>&1
	tl_wait_until 240 grep -q held "$TL_TMP/hold-$port.out" || { cat "$TL_TMP/hold-$port.out"; tl_fail "idle clients ($label)"; }
	sleep 2
	after=$(rss_kb "$pid")
	held=$(awk '{ print $2 }' "$TL_TMP/hold-$port.out")
	awk -v l="$label" -v b="$base" -v a="$after" -v n="$held" -v goal="$([ "$label" = TLS ] && echo 32 || echo 8)" 'BEGIN {
		per = (a - b) / n; printf "%-5s %6d connections: RSS %d -> %d KiB, %.2f KiB per connection (goal <= %d KiB) %s\n",
			l, n, b, a, per, goal, (per <= goal) ? "MET" : "MISSED" }'
	kill "$pid"
}
if want 4; then
printf '\n4. idle WebSocket connections held by one relay (each with its UDP socket)\n'
idle plain 8090
idle TLS 8091 --tls-cert "$TL_TMP/cert.pem" --tls-key "$TL_TMP/key.pem"
fi

# ---- 5. hook hand-off rate --------------------------------------------------------------
if want 5; then
PMET=127.0.0.1:$((20000 + RANDOM % 20000))
tl_bg ip netns exec "$GW" "$TL_BIN/jitwg-relay" --listen "$GW_V4:8092" --forward "127.0.0.1:$GW_PORT" \
	--hook "$HOOK" --threads 1 --metrics "$PMET" 2>>"$TL_TMP/relay-pump.log"
pump_metric() { ip netns exec "$GW" curl -sf "http://$PMET/metrics" | awk -v n="jitwg_relay_$1" '$1 == n { print $2 }'; }
sleep 0.5
printf '\n5. hook hand-offs, sustained: one WebSocket offers RATE initiation-shaped messages/s for 6 s;\n   jitwgd'"'"'s jitwg_hook_received_total sampled at 2 s and 5 s (steady state)\n'
for rate in 5000 20000; do
	d0=$(pump_metric hook_dropped_total)
	tl_bg ip netns exec "$CL" "$PY" "$ROOT/bench/relay/wsload.py" steady "$rate" "$GW_V4" 8092 6
	sleep 2
	a=$(gw_metric jitwg_hook_received_total); ta=$(date +%s%N)
	sleep 3
	b=$(gw_metric jitwg_hook_received_total); tb=$(date +%s%N)
	sleep 1.5
	awk -v r="$rate" -v n=$((b - a)) -v ns=$((tb - ta)) -v d="$(( $(pump_metric hook_dropped_total) - d0 ))" \
		'BEGIN { printf "offered %5d/s: jitwgd received %.0f hand-offs/s; relay dropped %d in the whole run\n", r, n / (ns / 1e9), d }'
done
echo "jitwgd identify queue drops $(gw_metric jitwg_identify_queue_dropped_total)"
fi
gw_jitwgd_stop
