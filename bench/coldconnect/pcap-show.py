#!/usr/bin/env python3
# pcap-show.py PCAP STALLED GWPORT: for each line "LABEL... PORT T0 MS" of
# STALLED (the client's UDP port, the connect's start in unix seconds, its
# ping time or "fail"), prints that client's WireGuard packets on the
# gateway's link during the connect: type, sender and receiver index.
# Used by bench/coldconnect/crossed.sh and run.sh (CAPTURE=1).
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
    *label, port, t0, t = line.split()
    port, t0 = int(port), float(t0)
    # This connect's packets: from the ping's start to its end (or 6 s).
    end = t0 + (float(t) / 1000 if t != 'fail' else 12) + 0.05
    mine = [p for p in pkts if port in (p[1], p[2]) and t0 - 0.05 <= p[0] <= end]
    print(f'\n--- {" ".join(label)} (port {port}): {t} ms')
    for p in mine[:24]:
        who = 'client -> gw' if p[1] == port else 'gw -> client'
        idx = (f' sender {p[4]:08x}' if p[4] is not None else '') + \
              (f' receiver {p[5]:08x}' if p[5] is not None else '')
        print(f'  +{(p[0] - t0) * 1000:8.2f} ms  {who}  {names.get(p[3], p[3])}{idx}')
