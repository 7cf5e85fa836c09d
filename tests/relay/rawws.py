#!/usr/bin/python3
# Bad-input cases against jitwg-relay, over raw sockets (stdlib only), so the
# bytes on the wire are exactly the ones each case needs: unmasked frames,
# oversized control frames, wrong magic... Each case prints "ok CASE" or
# raises. Usage: rawws.py HOST PORT CASE [--tls]
import base64, os, socket, ssl, struct, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wslib import frame, Reader

HOST, PORT, CASE = sys.argv[1], int(sys.argv[2]), sys.argv[3]
TLS = '--tls' in sys.argv
MAGIC = b'\x2f\xac\xed\x77'

def connect():
    s = socket.create_connection((HOST, PORT), timeout=5)
    if TLS:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(s)
    return s

def read_head(s):
    buf = b''
    while b'\r\n\r\n' not in buf:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    head, _, rest = buf.partition(b'\r\n\r\n')
    return head.decode('latin1'), rest

def upgrade(s, path='/', extra=''):
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(('GET %s HTTP/1.1\r\nHost: relay\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
               'Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s\r\n' % (path, key, extra)).encode())
    head, rest = read_head(s)
    return head, rest

def expect_close(r, code):
    op, fin, p = r.frame()
    while op in (1, 2):          # echoes of what was sent before the fault
        op, fin, p = r.frame()
    assert op == 8, 'expected close, got opcode %d' % op
    got = struct.unpack('!H', p[:2])[0] if len(p) >= 2 else None
    assert got == code, 'close code %r, wanted %r' % (got, code)
    # the relay then ends the TCP connection
    try:
        while r.s.recv(4096):
            pass
    except (ConnectionResetError, ssl.SSLError):
        pass

def opened():
    s = connect()
    head, rest = upgrade(s)
    assert head.startswith('HTTP/1.1 101'), head
    return s, Reader(s, rest)

def status_of(req):
    s = connect()
    s.sendall(req)
    head, _ = read_head(s)
    return head.split('\r\n')[0]

t0 = time.monotonic()
if CASE == 'not-upgrade':
    line = status_of(b'GET / HTTP/1.1\r\nHost: relay\r\n\r\n')
    assert line.startswith('HTTP/1.1 400'), line
    s = connect()
    head, _ = upgrade(s, path='/elsewhere')
    assert head.startswith('HTTP/1.1 404'), head
    line = status_of(b'POST / HTTP/1.1\r\nHost: relay\r\nContent-Length: 0\r\n\r\n')
    assert line.startswith('HTTP/1.1 405'), line
    line = status_of(b'GET / HTTP/1.1\r\nHost: relay\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
                     b'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n')
    assert line.startswith('HTTP/1.1 426'), line
    line = status_of(b'\x16\x03\x01garbage\r\n\r\n')
    assert line.startswith('HTTP/1.1 400'), line
    line = status_of(b'GET / HTTP/1.1\r\n' + b'X-Pad: ' + b'a' * 5000 + b'\r\n\r\n')
    assert line.startswith('HTTP/1.1 431'), line
elif CASE == 'unmasked':
    s, r = opened()
    s.sendall(frame(2, b'\x04' * 32, mask=False))
    expect_close(r, 1002)
elif CASE == 'control-too-long':
    s, r = opened()
    s.sendall(frame(9, b'p' * 126))
    expect_close(r, 1002)
elif CASE == 'reserved-bits':
    s, r = opened()
    s.sendall(frame(2, b'abc', rsv=4))
    expect_close(r, 1002)
elif CASE == 'too-big':
    s, r = opened()
    # only the header and a little payload: the relay must decide on the header
    hdr = frame(2, b'\0' * 70000)
    s.sendall(hdr[:14 + 1000])
    expect_close(r, 1009)
elif CASE == 'record-too-long':
    s, r = opened()
    s.sendall(frame(1, MAGIC + struct.pack('!I', 65536) + b'x' * 16))
    expect_close(r, 1009)
elif CASE == 'wrong-magic':
    s, r = opened()
    s.sendall(frame(1, b'\xde\xad\xbe\xef' + struct.pack('!I', 0)))
    expect_close(r, 1002)
elif CASE == 'mixed-framing':
    s, r = opened()
    s.sendall(frame(2, b'\x04abc'))
    s.sendall(frame(1, MAGIC))
    expect_close(r, 1003)
elif CASE == 'ping-close':
    s, r = opened()
    s.sendall(frame(9, b'are you there'))
    op, fin, p = r.frame()
    assert op == 10 and p == b'are you there', (op, p)
    s.sendall(frame(8, struct.pack('!H', 1000) + b'bye'))
    expect_close(r, 1000)
elif CASE == 'fragmented':
    # one datagram as three fragments with a ping in between; the echo returns it whole
    s, r = opened()
    s.sendall(frame(2, b'\x04fr', fin=False) + frame(9, b'mid') + frame(0, b'ag', fin=False) +
              frame(0, b'ment', fin=True))
    seen = {}
    for _ in range(2):
        op, fin, p = r.frame()
        seen[op] = p
    assert seen.get(10) == b'mid' and seen.get(2) == b'\x04fragment', seen
    s.sendall(frame(8, struct.pack('!H', 1000)))
    expect_close(r, 1000)
elif CASE == 'slowloris':
    s = connect()
    s.sendall(b'GET / HTTP/1.1\r\nHost: rel')
    head, _ = read_head(s)       # blocks until the relay gives up
    took = time.monotonic() - t0
    assert head.startswith('HTTP/1.1 408'), head
    print('slowloris answered after %.1fs' % took)
elif CASE == 'tls-stall':
    # TCP only, never a ClientHello: the relay must hang up by itself
    s = socket.create_connection((HOST, PORT), timeout=30)
    s.sendall(b'\x16\x03\x01\x00')   # the start of a record, then silence
    assert s.recv(1) == b''
    print('tls stall closed after %.1fs' % (time.monotonic() - t0))
elif CASE == 'max-connections':
    # the relay runs with --max-connections 2: two upgrades hold, the third gets 503
    held = [opened() for _ in range(2)]
    s = connect()
    head, _ = upgrade(s)
    assert head.startswith('HTTP/1.1 503'), head
    for h, _ in held:
        h.close()
elif CASE == 'xff-init':
    # behind a trusted proxy: the hook must report the proxy's rightmost entry
    s = connect()
    head, rest = upgrade(s, extra='X-Forwarded-For: 198.51.100.7, 203.0.113.9\r\n')
    assert head.startswith('HTTP/1.1 101'), head
    r = Reader(s, rest)
    init = b'\x01\0\0\0' + os.urandom(144)
    s.sendall(frame(2, init))
    op, fin, p = r.frame()
    assert op == 2 and p == init
    s.sendall(frame(8, struct.pack('!H', 1000)))
    expect_close(r, 1000)
else:
    raise SystemExit('unknown case ' + CASE)
print('ok', CASE)
