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
			echo "$r $n $port $t0 ${t:-fail}" >>"$TL_TMP/stalled"
		fi
	done
done
gw_jitwgd_stop
sleep 0.5
echo "crossed: $stalls of $total connects over 1 s (jitwgd $*)"
python3 - "$TL_TMP/all.pcap" "$TL_TMP/stalled" "$GW_PORT" <<'PY'
import struct, sys
pcap, stalled, gwport = sys.argv[1], sys.argv[2], int(sys.argv[3])
raw = open(pcap, 'rb').read()
endian = '<' if raw[:4] == b'\xd4\xc3\xb2\xa1' else '>'
link = struct.unpack(endian + 'I', raw[20:24])[0]
off, pkts = 24, []
while off + 16 <= len(raw):
    sec, usec, incl, _ = struct.unpack(endian + 'IIII', raw[off:off + 16])
    data = raw[off + 16:off + 16 + incl]
    off += 16 + incl
    ip = data[14:] if link == 1 else data[16:] if link == 113 else data
    if len(ip) < 28 or ip[0] >> 4 != 4:
        continue
    ihl = (ip[0] & 15) * 4
    sport, dport = struct.unpack('!HH', ip[ihl:ihl + 4])
    p = ip[ihl + 8:]
    if not p:
        continue
    typ = p[0]
    snd = rcv = None
    if typ in (1, 2) and len(p) >= 8:
        snd = struct.unpack('<I', p[4:8])[0]
    if typ in (2, 3, 4) and len(p) >= 12:
        rcv = struct.unpack('<I', p[8:12] if typ == 2 else p[4:8])[0]
    pkts.append((sec + usec / 1e6, sport, dport, typ, snd, rcv))
names = {1: 'initiation', 2: 'response', 3: 'cookie', 4: 'data'}
for line in open(stalled):
    r, n, port, t0, t = line.split()
    port, t0 = int(port), float(t0)
    # This connect's packets: from the ping's start to its end (or 6 s).
    end = t0 + (float(t) / 1000 if t != 'fail' else 12) + 0.05
    mine = [p for p in pkts if port in (p[1], p[2]) and t0 - 0.05 <= p[0] <= end]
    print(f'\n--- round {r} client {n} (port {port}): {t} ms')
    for p in mine[:16]:
        who = 'client -> gw' if p[1] == port else 'gw -> client'
        idx = (f' sender {p[4]:08x}' if p[4] is not None else '') + \
              (f' receiver {p[5]:08x}' if p[5] is not None else '')
        print(f'  +{(p[0] - t0) * 1000:8.2f} ms  {who}  {names.get(p[3], p[3])}{idx}')
PY
