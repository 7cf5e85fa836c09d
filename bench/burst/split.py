#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Where a burst's connect time goes, from bench/burst's CAPTURE=1 pcaps.

Reads a `tcpdump -i any` capture of the gateways' UDP ports and follows each
handshake initiation by its sender index: when the client's initiation
arrived, when jitwgd's copy of it went through lo (the same bytes seen again),
and when the data plane's response (type 2, whose receiver index is the
initiation's sender index) left. Prints, per port, p50/p99/max in ms of
arrival -> copy (jitwgd's share), copy -> response (the data plane's share)
and arrival -> response, with how many initiations had each.

    split.py CAPTURE.pcap [PORT...]
"""
import struct
import sys


def packets(path):
    with open(path, "rb") as f:
        hdr = f.read(24)
        magic, = struct.unpack("<I", hdr[:4])
        if magic == 0xA1B2C3D4:
            scale = 1e-6
        elif magic == 0xA1B23C4D:
            scale = 1e-9
        else:
            raise SystemExit("%s: not a little-endian pcap" % path)
        link, = struct.unpack("<I", hdr[20:24])
        if link == 113:    # LINUX_SLL
            skip = 16
        elif link == 276:  # LINUX_SLL2
            skip = 20
        else:
            raise SystemExit("%s: link type %d, want -i any" % (path, link))
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            sec, frac, incl, _ = struct.unpack("<IIII", rec)
            data = f.read(incl)
            if len(data) < incl:
                return
            yield sec + frac * scale, data[skip:]


def udp(pkt):
    """(sport, dport, payload) of an IPv4 or IPv6 UDP packet, or None."""
    if not pkt:
        return None
    v = pkt[0] >> 4
    if v == 4:
        ihl = (pkt[0] & 15) * 4
        if len(pkt) < ihl + 8 or pkt[9] != 17:
            return None
        u = pkt[ihl:]
    elif v == 6:
        if len(pkt) < 48 or pkt[6] != 17:
            return None
        u = pkt[40:]
    else:
        return None
    sport, dport = struct.unpack("!HH", u[:4])
    return sport, dport, u[8:]


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    ports = {int(p) for p in sys.argv[2:]}
    first = {}   # (port, sender index) -> arrival time
    copy = {}    # (port, sender index) -> copy time
    resp = {}    # (port, receiver index) -> response time
    body = {}    # (port, sender index) -> initiation bytes
    cookies = {}
    for t, pkt in packets(sys.argv[1]):
        u = udp(pkt)
        if not u or len(u[2]) < 12:
            continue
        sport, dport, p = u
        kind = p[0]
        if kind == 1 and len(p) == 148 and (not ports or dport in ports):
            k = (dport, struct.unpack("<I", p[4:8])[0])
            if k not in first:
                first[k] = t
                body[k] = p
            elif k not in copy and body[k] == p and t > first[k]:
                copy[k] = t
        elif kind == 2 and len(p) == 92 and (not ports or sport in ports):
            k = (sport, struct.unpack("<I", p[8:12])[0])
            resp.setdefault(k, t)
        elif kind == 3 and (not ports or sport in ports):
            cookies[sport] = cookies.get(sport, 0) + 1
    print("%-6s %-18s %6s %9s %9s %9s" % ("port", "span", "n", "p50_ms", "p99_ms", "max_ms"))
    for port in sorted({k[0] for k in first}):
        spans = {"arrival->copy": [], "copy->response": [], "arrival->response": []}
        for k, t0 in first.items():
            if k[0] != port:
                continue
            if k in copy:
                spans["arrival->copy"].append(copy[k] - t0)
                if k in resp and resp[k] >= copy[k]:
                    spans["copy->response"].append(resp[k] - copy[k])
            if k in resp:
                spans["arrival->response"].append(resp[k] - t0)
        for name, xs in spans.items():
            if xs:
                print("%-6d %-18s %6d %9.2f %9.2f %9.2f" % (port, name, len(xs), pct(xs, .5) * 1e3,
                                                          pct(xs, .99) * 1e3, max(xs) * 1e3))
        if cookies.get(port):
            print("%-6d cookie replies %d" % (port, cookies[port]))


if __name__ == "__main__":
    main()
