#!/usr/bin/env bash
# crossed: reproduces the crossed-handshake stall of issue 8 on wireguard-go
# and shows its packets. ROUNDS rounds of CLIENTS cold connects (one at a
# time, as in run.sh) with jitwgd in the given mode, tcpdump on the gateway's
# link; for every connect over 1 s it prints that client's handshake packets
# (type, sender -> receiver index) from the capture. Not a test.
#
#   bench/coldconnect/crossed.sh [CLIENTS [ROUNDS [jitwgd args...]]]
#   e.g. bench/coldconnect/crossed.sh 24 4 --initiate-delay-ms 0
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-24}
ROUNDS=${2:-4}
shift 2 2>/dev/null || shift $#
# shellcheck source=../../tests/integration/gw_common.bash
source "$ROOT/tests/integration/gw_common.bash"
TL_NAME=crossed
command -v tcpdump >/dev/null || { echo "tcpdump not installed"; exit 77; }

gw_setup
gw_registry_start
gw_clients_many "$N"

# shellcheck source=lib.bash
source "$ROOT/bench/coldconnect/lib.bash"

tl_bg ip netns exec "$GW" tcpdump -n -i "vg$$" -U -s 128 -w "$TL_TMP/all.pcap" "udp port $GW_PORT" 2>/dev/null
sleep 1
gw_jitwgd_start "$@"
stalls=0 total=0
: >"$TL_TMP/stalled"
for r in $(seq 1 "$ROUNDS"); do
	reset_all
	for n in $(seq 1 "$N"); do
		port=$(ip netns exec "$CL" wg show "${CLIENT_IF[$n]}" listen-port)
		t0=$(date +%s.%N)
		t=$(ip netns exec "$CL" ping -n -c 1 -W 12 -I "${CLIENT_IF[$n]}" 10.77.0.1 2>/dev/null |
			sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | head -n 1)
		total=$((total + 1))
		if [ -z "$t" ] || awk -v t="$t" 'BEGIN { exit !(t > 1000) }'; then
			stalls=$((stalls + 1))
			echo "round $r client $n $port $t0 ${t:-fail}" >>"$TL_TMP/stalled"
			grep -F "${CLIENT_PUB[$n]}" "$TL_TMP/jitwgd.log" | tail -n 4 | sed "s/^/    round $r client $n: /" >>"$TL_TMP/stalled.log"
		fi
	done
done
gw_jitwgd_stop
sleep 0.5
echo "crossed: $stalls of $total connects over 1 s (jitwgd $*)"
python3 "$ROOT/bench/coldconnect/pcap-show.py" "$TL_TMP/all.pcap" "$TL_TMP/stalled" "$GW_PORT"
[ -s "$TL_TMP/stalled.log" ] && { echo; echo "jitwgd on those keys:"; cat "$TL_TMP/stalled.log"; }
exit 0
