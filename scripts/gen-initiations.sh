#!/usr/bin/env bash
# Regenerates tests/data/: real WireGuard handshake initiations from Debian's
# wireguard-go, captured with tcpdump, plus the keys that made them and the
# output `jitwg identify` must print for each file.
#
#   scripts/gen-initiations.sh [OUTDIR]      (default tests/data; needs root)
#
# Two namespaces joined by a veth: "gw" runs wireguard-go on the
# non-default port 51999 and knows only client 0; "cl" runs four
# wireguard-go clients with their own keys, two reaching the gateway over
# IPv4 and two over IPv6. A ping through each client tunnel makes it send an
# initiation; client 0 completes its handshake, so responses, data and
# keepalives are in the capture too and must be skipped. Some non-WireGuard
# traffic (ICMP, UDP to other ports) and two malformed type-1 datagrams are
# added. tcpdump writes four captures: Ethernet (microsecond and nanosecond
# timestamps) on the gateway's veth, and `-i any` as Linux cooked v1 and v2;
# a byte-swapped copy stands for a capture made on a big-endian host.
#
# The expected outputs are computed by an independent reader (Python,
# hashlib's BLAKE2s for mac1, and the sending port -> key map of this
# script), never by jitwg itself.
source "$(dirname "$0")/../tests/lib.sh"
tl_init
umask 022

OUT=${1:-$TL_ROOT/tests/data}
PORT=51999
mkdir -p "$OUT"
for t in wireguard-go wg tcpdump python3; do
	command -v "$t" >/dev/null || tl_fail "$t not installed"
done

gw=$(tl_netns gw)
cl=$(tl_netns cl)
ve_g=$(tl_ifname vg)
ve_c=$(tl_ifname vc)
tl_veth "$gw" "$cl" "$ve_g" "$ve_c"
ip -n "$gw" addr add 10.77.0.1/24 dev "$ve_g"
ip -n "$gw" addr add fd77::1/64 dev "$ve_g" nodad
ip -n "$cl" addr add 10.77.0.2/24 dev "$ve_c"
ip -n "$cl" addr add fd77::2/64 dev "$ve_c" nodad

(umask 077; wg genkey >"$OUT/gateway.key")
wg pubkey <"$OUT/gateway.key" >"$OUT/gateway.pub"
gw_pub=$(cat "$OUT/gateway.pub")
: >"$OUT/clients.map"
for i in 0 1 2 3; do
	(umask 077; wg genkey >"$OUT/client$i.key")
	wg pubkey <"$OUT/client$i.key" >"$OUT/client$i.pub"
done

wg_g=$(tl_ifname g)
tl_wg_go "$gw" "$wg_g"
ip netns exec "$gw" wg set "$wg_g" private-key "$OUT/gateway.key" listen-port "$PORT" \
	peer "$(cat "$OUT/client0.pub")" allowed-ips 10.99.0.2/32
ip -n "$gw" addr add 10.99.0.1/24 dev "$wg_g"
ip -n "$gw" link set "$wg_g" up

for i in 0 1 2 3; do
	wc=$(tl_ifname "c$i")
	tl_wg_go "$cl" "$wc"
	if [ "$i" -lt 2 ]; then ep=10.77.0.1:$PORT; src=10.77.0.2; else ep=[fd77::1]:$PORT; src=fd77::2; fi
	if [ "$i" -eq 0 ]; then aips=10.99.0.0/24; else aips=10.98.$i.0/24; fi
	ip netns exec "$cl" wg set "$wc" private-key "$OUT/client$i.key" listen-port $((40000 + i)) \
		peer "$gw_pub" endpoint "$ep" allowed-ips "$aips"
	[ "$i" -eq 0 ] && ip -n "$cl" addr add 10.99.0.2/32 dev "$wc"
	ip -n "$cl" link set "$wc" up
	ip -n "$cl" route add "$aips" dev "$wc"
	echo "$src $((40000 + i)) $(cat "$OUT/client$i.pub")" >>"$OUT/clients.map"
done

caps=(eth eth-nano sll sll2)
args_eth=(-i "$ve_g")
args_eth_nano=(-i "$ve_g" --time-stamp-precision=nano)
args_sll=(-i any -y LINUX_SLL)
args_sll2=(-i any -y LINUX_SLL2)
cap_pids=()
for c in "${caps[@]}"; do
	v="args_${c//-/_}[@]"
	tl_bg ip netns exec "$gw" tcpdump -n -U -s 0 "${!v}" -w "$TL_TMP/$c.pcap" 2>"$TL_TMP/$c.err"
	cap_pids+=("$TL_LAST_PID")
done
for c in "${caps[@]}"; do
	tl_wait_until 10 grep -q "listening on" "$TL_TMP/$c.err" || tl_fail "tcpdump $c did not start"
done

# Underlay traffic that is not WireGuard.
ip netns exec "$cl" ping -c 1 -W 1 10.77.0.1 >/dev/null
ip netns exec "$cl" ping -6 -c 1 -W 1 fd77::1 >/dev/null
ip netns exec "$cl" bash -c 'printf "\x12\x34 not a wireguard payload" >/dev/udp/10.77.0.1/53' || true
# One handshake per client, one after the other so the order is fixed.
ip netns exec "$cl" ping -c 1 -W 2 10.99.0.1 >/dev/null || tl_fail "client 0 tunnel did not come up"
for i in 1 2 3; do
	ip netns exec "$cl" ping -c 1 -W 1 "10.98.$i.1" >/dev/null 2>&1 || true
done
# Malformed type-1 datagrams to the gateway port: too short, and 148 bytes of
# noise behind a valid header (mac1 cannot match).
ip netns exec "$cl" bash -c "printf '\x01\x00\x00\x00\x2a\x00\x00\x00short' >/dev/udp/10.77.0.1/$PORT"
head -c 144 /dev/urandom >"$TL_TMP/noise"
{ printf '\x01\x00\x00\x00'; cat "$TL_TMP/noise"; } >"$TL_TMP/fake"
ip netns exec "$cl" bash -c "cat '$TL_TMP/fake' >/dev/udp/fd77::1/$PORT"
sleep 1

for p in "${cap_pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
for p in "${cap_pids[@]}"; do wait "$p" 2>/dev/null || true; done
for c in "${caps[@]}"; do
	cp "$TL_TMP/$c.pcap" "$OUT/wg-$c.pcap"
done

python3 - "$OUT" <<'PY'
import base64, hashlib, os, struct, sys

out = sys.argv[1]
gw_pub = base64.b64decode(open(os.path.join(out, "gateway.pub")).read().strip())
mac1_key = hashlib.blake2s(b"mac1----" + gw_pub).digest()
keys = {}
for line in open(os.path.join(out, "clients.map")):
    ip, port, pub = line.split()
    keys[(ip, int(port))] = pub

def mac1(msg):
    return hashlib.blake2s(msg[:116], digest_size=16, key=mac1_key).digest()

def udp_payloads(path):
    data = open(path, "rb").read()
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if linktype == 1:
            proto, l3 = struct.unpack(">H", frame[12:14])[0], frame[14:]
        elif linktype == 113:
            proto, l3 = struct.unpack(">H", frame[14:16])[0], frame[16:]
        elif linktype == 276:
            proto, l3 = struct.unpack(">H", frame[0:2])[0], frame[20:]
        else:
            raise SystemExit("link type %d" % linktype)
        if proto == 0x0800 and l3[9] == 17:
            ihl = (l3[0] & 15) * 4
            src = ".".join(str(b) for b in l3[12:16])
            udp = l3[ihl:]
        elif proto == 0x86DD and l3[6] == 17:
            import ipaddress
            src = str(ipaddress.IPv6Address(l3[8:24]))
            udp = l3[40:]
        else:
            continue
        sport, dport, ulen = struct.unpack(">HHH", udp[:6])
        yield src, sport, udp[8:ulen]

def is_attempt(p):
    return len(p) >= 1 and p[0] == 1 and (len(p) == 148 or (len(p) >= 4 and p[1:4] == b"\0\0\0"))

def expect(p, sender=None):
    if len(p) != 148 or p[0] != 1 or p[1:4] != b"\0\0\0":
        return "- - bad-format"
    idx = struct.unpack("<I", p[4:8])[0]
    if mac1(p) != p[116:132]:
        return "%d - bad-mac1" % idx
    return "%d %s ok" % (idx, keys[sender])

# A big-endian copy of the nanosecond capture, as a big-endian host's
# tcpdump would write it: every header field swapped, frames unchanged.
src = open(os.path.join(out, "wg-eth-nano.pcap"), "rb").read()
hdr = struct.unpack("<IHHiIII", src[:24])
be = [struct.pack(">IHHiIII", *hdr)]
off = 24
while off < len(src):
    rec = struct.unpack("<IIII", src[off:off + 16])
    be.append(struct.pack(">IIII", *rec) + src[off + 16:off + 16 + rec[2]])
    off += 16 + rec[2]
open(os.path.join(out, "wg-eth-nano-be.pcap"), "wb").write(b"".join(be))

valid = []
for cap in ("eth", "eth-nano", "eth-nano-be", "sll", "sll2"):
    lines = []
    for src, sport, p in udp_payloads(os.path.join(out, "wg-%s.pcap" % cap)):
        if not is_attempt(p):
            continue
        line = expect(p, (src, sport))
        lines.append(line)
        if cap == "eth" and line.endswith(" ok"):
            valid.append((p, (src, sport)))
    open(os.path.join(out, "wg-%s.expected" % cap), "w").write("".join(l + "\n" for l in lines))
    if sum(l.endswith(" ok") for l in lines) < 4:
        raise SystemExit("%s: fewer than 4 valid initiations" % cap)

# Hex mode: every valid initiation, then tampered variants of the first IPv4
# and the first IPv6 one, then lines that are not payloads at all.
hexlines, expected = [], []
for p, sender in valid:
    hexlines.append(p.hex())
    expected.append(expect(p, sender))

def resign(m):
    return m[:116] + mac1(m) + m[132:]

def flip(p, i, sign):
    m = bytearray(p)
    m[i] ^= 0x04
    m = bytes(m)
    return resign(m) if sign and i < 116 else m

picked = [valid[0]] + [v for v in valid if ":" in v[1][0]][:1]
for p, sender in picked:
    idx = struct.unpack("<I", p[4:8])[0]
    pub = keys[sender]
    for i, sign, want in (
        (0, False, "- - bad-format"), (2, False, "- - bad-format"),
        (0, True, "- - bad-format"), (3, True, "- - bad-format"),
        (5, False, "%d - bad-mac1"), (20, False, "%d - bad-mac1"),
        (60, False, "%d - bad-mac1"), (100, False, "%d - bad-mac1"),
        (120, False, "%d - bad-mac1"), (131, False, "%d - bad-mac1"),
        (8, True, "%d - bad-static"), (39, True, "%d - bad-static"),
        (40, True, "%d - bad-static"), (71, True, "%d - bad-static"),
        (72, True, "%d - bad-static"), (87, True, "%d - bad-static"),
        (88, True, "%d " + pub + " bad-timestamp"), (99, True, "%d " + pub + " bad-timestamp"),
        (100, True, "%d " + pub + " bad-timestamp"), (115, True, "%d " + pub + " bad-timestamp"),
        (140, False, "%d " + pub + " ok"), (147, True, "%d " + pub + " ok"),
    ):
        m = flip(p, i, sign)
        hexlines.append(m.hex())
        expected.append(want.replace("%d", str(struct.unpack("<I", m[4:8])[0])))
    # A re-signed change of the sender index is still ok: the index is not
    # part of the Noise transcript, only of mac1.
    m = flip(p, 6, True)
    hexlines.append(m.hex())
    expected.append("%d %s ok" % (struct.unpack("<I", m[4:8])[0], pub))
    hexlines.append(p[:147].hex())
    expected.append("- - bad-format")
    hexlines.append((p + b"\0").hex())
    expected.append("- - bad-format")
    hexlines.append("  \t" + p.hex().upper() + " \r")
    expected.append("%d %s ok" % (idx, pub))
    hexlines.append(" ".join(p[i:i + 4].hex() for i in range(0, 148, 4)))
    expected.append("%d %s ok" % (idx, pub))
for junk in ("", "zz", p.hex()[:-1], "0x" + p.hex(), "01000000", p.hex() + "g"):
    hexlines.append(junk)
    expected.append("- - bad-format")
open(os.path.join(out, "initiations.hex"), "w").write("".join(l + "\n" for l in hexlines))
open(os.path.join(out, "initiations.expected"), "w").write("".join(l + "\n" for l in expected))
PY
tl_log "wrote $(ls "$OUT" | wc -l) files to $OUT"
