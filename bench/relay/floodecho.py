#!/usr/bin/python3
# bench/relay helper: echo latency over N WebSockets (binary messages, the
# relay in front of a UDP echo); or, with "flooder", one connection that
# floods keepalive records (stream framing, 64 KiB TEXT frames full of
# zero-length records, as fast as the relay takes them) until killed: a
# process of its own, so that it does not share the measuring one's GIL.
# Prints p50/p99/max in ms.
#   floodecho.py HOST PORT CONNS SAMPLES [flood]   |   floodecho.py HOST PORT flooder
import base64, os, socket, struct, sys, threading, time
HOST, PORT = sys.argv[1], int(sys.argv[2])
FLOODER = sys.argv[3] == 'flooder'
if not FLOODER:
    CONNS, SAMPLES = int(sys.argv[3]), int(sys.argv[4])
    FLOOD = 'flood' in sys.argv[5:]

def frame(op, payload):
    n = len(payload)
    if n < 126:
        hdr = struct.pack('!BB', 0x80 | op, 0x80 | n)
    elif n < 65536:
        hdr = struct.pack('!BBH', 0x80 | op, 0x80 | 126, n)
    else:
        hdr = struct.pack('!BBQ', 0x80 | op, 0x80 | 127, n)
    return hdr + b'\0\0\0\0' + payload

def opened():
    s = socket.create_connection((HOST, PORT), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(('GET / HTTP/1.1\r\nHost: r\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
               'Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n' % key).encode())
    buf = b''
    while b'\r\n\r\n' not in buf:
        buf += s.recv(4096)
    assert buf.startswith(b'HTTP/1.1 101')
    return s, buf.split(b'\r\n\r\n', 1)[1]

def flooder(stop):
    s, _ = opened()
    big = frame(1, b'\x2f\xac\xed\x77') + frame(1, bytes(65532)) * 16
    while not stop.is_set():
        try:
            s.sendall(big)
        except OSError:
            break
        big = frame(1, bytes(65532)) * 16

def recv_frame(s, buf):
    while True:
        if len(buf) >= 2:
            n = buf[1] & 0x7f
            h = 2 if n < 126 else 4 if n == 126 else 10
            if len(buf) >= h:
                if n == 126:
                    n = struct.unpack('!H', buf[2:4])[0]
                elif n == 127:
                    n = struct.unpack('!Q', buf[2:10])[0]
                if len(buf) >= h + n:
                    return buf[0] & 0x0f, buf[h:h + n], buf[h + n:]
        buf += s.recv(65536)

stop = threading.Event()
if FLOODER:
    flooder(stop)
    sys.exit(0)
conns = [list(opened()) for _ in range(CONNS)]
rtts = []
for i in range(SAMPLES):
    c = conns[i % CONNS]
    msg = b'\x04' + os.urandom(99)
    t = time.perf_counter()
    c[0].sendall(frame(2, msg))
    while True:
        op, p, c[1] = recv_frame(c[0], c[1])
        if op == 2 and p == msg:
            break
    rtts.append((time.perf_counter() - t) * 1000)
stop.set()
rtts.sort()
print('%s p50 %.3f p99 %.3f max %.3f ms (%d samples over %d connections)' %
      ('flood' if FLOOD else 'quiet', rtts[len(rtts) // 2], rtts[int(len(rtts) * 0.99)], rtts[-1], len(rtts), CONNS))
