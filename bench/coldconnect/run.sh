#!/usr/bin/env bash
# coldconnect: time from a client's first packet to its first ping reply
# through the tunnel, for N cold clients (default 24), in these modes in one
# run on the same namespaces, gateway and clients:
#
#   preinstalled  the peer is in the gateway before the client sends (a
#                 classic static gateway; jitwgd not running)
#   jit           jitwgd with its defaults: installs on the first initiation
#                 and hands the client's own initiation back to the data
#                 plane (one handshake; cold cache: every client costs a
#                 registry fetch)
#   jitinv        jitwgd --reinject=false, role inversion: the data plane
#                 initiates, install confirmation repairs crossed handshakes
#   jitnorepair   role inversion with --confirm-ms 0: no repair, so a data
#                 plane that consumes the client's first initiation late
#                 crosses handshakes and the connect waits for the 5 s retry
#   jitsettle     role inversion, an earlier default: --confirm-ms 0
#                 --initiate-delay-ms 2
#   jitwarm       jitwgd restarted on the jit run's cache, peers removed: a
#                 warm cache, as for clients returning after eviction
#   noinit        jitwgd with --no-initiate: installed, but the tunnel waits
#                 for the client's own retry (wireguard-go: 5 s)
#
# ROUNDS rounds (default 1) of preinstalled, jit and jitinv, in turn, so they
# are measured side by side under the same load: N * ROUNDS cold connects
# each (500 cold connects: 24 clients, 21 rounds). jitnorepair and jitsettle
# run REPAIR_ROUNDS rounds (default ROUNDS), jitwarm and noinit one.
#
# The figure is ping's own round-trip time of the first echo: the echo
# request enters the client's tunnel, wireguard-go sends its initiation at
# that instant and holds the echo until a session exists, so the RTT spans
# first packet -> handshake(s) -> reply. Clients are measured one at a time
# in preinstalled and jit modes; in noinit mode all at once (they only wait
# on a timer). Not a test: it prints figures and the target ratios.
#
#   bench/coldconnect/run.sh [CLIENTS [ROUNDS [REPAIR_ROUNDS]]]   (as root, after make)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-24}
ROUNDS=${2:-1}
REPAIR_ROUNDS=${3:-$ROUNDS}
# shellcheck source=../../tests/integration/gw_common.bash
source "$ROOT/tests/integration/gw_common.bash"
TL_NAME=coldconnect

gw_setup
gw_registry_start
gw_clients_many "$N" # peers added cold by reset_all

# shellcheck source=lib.bash
source "$ROOT/bench/coldconnect/lib.bash"

# rtt N -> ms of client N's first echo reply, or "fail".
rtt() {
	local out
	out=$(ip netns exec "$CL" ping -n -c 1 -W 12 -I "${CLIENT_IF[$1]}" 10.77.0.1 2>/dev/null) || { echo fail; return; }
	sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' <<<"$out" | head -n 1
}

# stats FILE -> "p50 p99 min max n fails"
stats() {
	sort -n "$1" | awk -v fails="$(grep -c fail "$1.fail" 2>/dev/null || echo 0)" '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print "- - - - 0", fails; exit }
			p50 = v[int((NR + 1) / 2)]; i99 = int(NR * 0.99 + 0.999); if (i99 < 1) i99 = 1
			printf "%.2f %.2f %.2f %.2f %d %d\n", p50, v[i99], v[1], v[NR], NR, fails
		}'
}

record() { # mode value
	if [ "$2" = fail ]; then echo fail >>"$TL_TMP/$1.fail"; else echo "$2" >>"$TL_TMP/$1"; fi
}

echo "coldconnect: $N clients, $(nproc) CPUs, $(uname -r), wireguard-go $(wireguard-go --version 2>/dev/null | head -n1 | awk '{print $NF}')"

round_preinstalled() {
	local n
	reset_all
	for n in $(seq 1 "$N"); do
		ip netns exec "$GW" wg set "$GWIF" peer "${CLIENT_PUB[$n]}" allowed-ips "10.77.1.$n/32"
	done
	for n in $(seq 1 "$N"); do record preinstalled "$(rtt "$n")"; done
}

# round_jit MODE ROUND [jitwgd args]: one round of N cold connects, cold cache.
round_jit() {
	local mode=$1 r=$2 n
	shift 2
	reset_all
	gw_jitwgd_start --cache "$TL_TMP/cache-$mode-$r.db" "$@"
	for n in $(seq 1 "$N"); do
		t0=$(date +%s.%N)
		t=$(rtt "$n")
		record "$mode" "$t"
		# Over 1 s: keep what jitwgd said about that client, printed at the end.
		if [ "$t" = fail ] || awk -v t="$t" 'BEGIN { exit !(t > 1000) }'; then
			{ echo "$mode round $r client $n: $t ms"
			  grep -F "${CLIENT_PUB[$n]}" "$TL_TMP/jitwgd.log" | grep "jitwgd\[$JITWGD_PID\]" |
				sed 's/^/    /'; } >>"$TL_TMP/slow.log"
			echo "$mode round $r client $n $(ip netns exec "$CL" wg show "${CLIENT_IF[$n]}" listen-port) $t0 $t" \
				>>"$TL_TMP/stalled"
		fi
	done
	REPAIRED=$(( ${REPAIRED:-0} + $(gw_metric jitwg_install_confirm_repaired_total | cut -d. -f1) ))
	gw_jitwgd_stop
}

for m in preinstalled jit jitinv jitnorepair jitsettle jitwarm noinit; do : >"$TL_TMP/$m"; done
# CAPTURE=1: tcpdump on the gateway's link; slow connects' packets are printed at the end.
if [ "${CAPTURE:-0}" = 1 ]; then
	tl_bg ip netns exec "$GW" tcpdump -n -i "vg$$" -U -s 128 -w "$TL_TMP/all.pcap" "udp port $GW_PORT" 2>/dev/null
	sleep 1
fi
REPAIRED=0
for r in $(seq 1 "$ROUNDS"); do
	round_preinstalled
	round_jit jitinv "$r" --reinject=false
	round_jit jit "$r"
done
JIT_REPAIRED=$REPAIRED
for r in $(seq 1 "$REPAIR_ROUNDS"); do
	round_jit jitnorepair "$r" --reinject=false --confirm-ms 0
	round_jit jitsettle "$r" --reinject=false --confirm-ms 0 --initiate-delay-ms 2
done

# ---- jitwarm: peers gone, the cache still knows them (returning clients) ----
reset_all
gw_jitwgd_start --cache "$TL_TMP/cache-jit-1.db"
for n in $(seq 1 "$N"); do record jitwarm "$(rtt "$n")"; done
JIT_INSTALL=$(awk -v s="$(gw_metric jitwg_install_seconds_sum)" -v c="$(gw_metric jitwg_install_seconds_count)" \
	'BEGIN { if (c > 0) printf "%.2f", s / c * 1000; else print "-" }')
gw_jitwgd_stop

# ---- noinit -----------------------------------------------------------------
reset_all
gw_jitwgd_start --cache "$TL_TMP/cache-noinit.db" --no-initiate
pids=()
for n in $(seq 1 "$N"); do
	( record noinit "$(rtt "$n")" ) &
	pids+=($!)
done
wait "${pids[@]}"
gw_jitwgd_stop

printf '\n%-13s %9s %9s %9s %9s %5s %5s %5s\n' mode "p50 ms" "p99 ms" "min ms" "max ms" n ">1s" fails
for m in preinstalled jit jitinv jitnorepair jitsettle jitwarm noinit; do
	read -r p50 p99 mn mx cnt fl < <(stats "$TL_TMP/$m")
	slow=$(awk '$1 > 1000' "$TL_TMP/$m" | wc -l)
	printf '%-13s %9s %9s %9s %9s %5s %5s %5s\n' "$m" "$p50" "$p99" "$mn" "$mx" "$cnt" "$slow" "$fl"
	eval "P50_$m=$p50"
	eval "SLOW_$m=$((slow + fl))"
done
if [ -s "$TL_TMP/slow.log" ]; then echo; echo "connects over 1 s, with jitwgd's log lines for that key:"; cat "$TL_TMP/slow.log"; fi
if [ "${CAPTURE:-0}" = 1 ] && [ -s "$TL_TMP/stalled" ]; then
	sleep 0.5
	python3 "$ROOT/bench/coldconnect/pcap-show.py" "$TL_TMP/all.pcap" "$TL_TMP/stalled" "$GW_PORT"
fi
echo
echo "jitinv: $JIT_REPAIRED install(s) repaired by install confirmation over $((N * ROUNDS)) connects (jit initiates nothing, so none)"
echo "jitwarm: jitwgd's own share, first captured initiation to peer installed: mean $JIT_INSTALL ms"
# shellcheck disable=SC2154
awk -v pre="$P50_preinstalled" -v jit="$P50_jit" -v inv="$P50_jitinv" -v slowinv="$SLOW_jitinv" -v js="$P50_jitsettle" -v noi="$P50_noinit" \
	-v slow="$SLOW_jit" -v n="$((N * ROUNDS))" 'BEGIN {
	printf "\njit p50 / preinstalled p50       = %.2fx  (target <= 1.5x, issue 18)  %s\n", jit / pre, ((jit / pre) <= 1.5) ? "MET" : "MISSED"
	printf "jit connects over 1 s            = %d of %d  (target 0)  %s\n", slow, n, slow == 0 ? "MET" : "MISSED"
	printf "jitinv p50 / preinstalled p50    = %.2fx, over 1 s %d of %d  (--reinject=false)\n", inv / pre, slowinv, n
	printf "jitsettle p50 / preinstalled p50 = %.2fx  (an earlier default)\n", js / pre
	printf "noinit p50 / jit p50             = %.0fx  (target >= 100x) %s\n", noi / jit, ((noi / jit) >= 100) ? "MET" : "MISSED"
}'
