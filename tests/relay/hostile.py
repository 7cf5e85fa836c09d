#!/usr/bin/python3
# Hostile clients against jitwg-relay, one case per row of the relay's
# attack table (docs/OPERATIONS.md, "The relay under hostile clients"):
# each prints "ok CASE ..." or raises. Stdlib only; frames from wslib.py.
#   hostile.py HOST PORT CASE [ARG...]
import base64, os, select, socket, struct, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wslib
from wslib import Reader

HOST, PORT, CASE = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ARGS = sys.argv[4:]
MAGIC = b'\x2f\xac\xed\x77'

def frame(op, payload, fin=True):
    return wslib.frame(op, payload, mask='zero', fin=fin)

def connect(src=None, timeout=5):
    s = socket.socket(socket.AF_INET6 if ':' in HOST else socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if src:
        s.bind((src, 0))
    s.connect((HOST, PORT))
    return s

def upgrade(s):
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(('GET / HTTP/1.1\r\nHost: relay\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
               'Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n' % key).encode())
    buf = b''
    while b'\r\n\r\n' not in buf:
        d = s.recv(4096)
        if not d:
            return '', b''
        buf += d
    head, _, rest = buf.partition(b'\r\n\r\n')
    return head.decode('latin1').split('\r\n')[0], rest

def opened(src=None):
    s = connect(src)
    line, rest = upgrade(s)
    assert line.startswith('HTTP/1.1 101'), line
    return s, rest

def close_code(r, deadline, answer_pings=False):
    """Reads until a close frame (its code) or EOF (None); pings seen counted."""
    pings = 0
    r.s.settimeout(max(0.1, deadline - time.monotonic()))
    while True:
        op, _, p = r.frame()
        if op == 9:
            pings += 1
            if answer_pings:
                r.s.sendall(frame(10, p))
            continue
        if op == 8:
            return (struct.unpack('!H', p[:2])[0] if len(p) >= 2 else None), pings

def rss_kb(pid):
    with open('/proc/%s/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])

t0 = time.monotonic()
if CASE == 'idle':
    # N silent upgraded WebSockets are pinged, then closed with 1001 by
    # --idle-timeout (the relay runs with 3 s); a client that answers the
    # pings stays open past it; afterwards a new client gets in.
    n = int(ARGS[0])
    silent = {}
    for _ in range(n):
        s, rest = opened()
        silent[s] = Reader(s, rest)
    alive, rest = opened()
    ra = Reader(alive, rest)
    codes, alive_pings = [], 0
    while silent and time.monotonic() - t0 < 15:
        rd, _, _ = select.select(list(silent) + [alive], [], [], 0.5)
        for s in rd:
            r = ra if s is alive else silent[s]
            op, _, p = r.frame()
            if s is alive:
                assert op == 9, 'answering client got opcode %d' % op
                alive_pings += 1
                alive.sendall(frame(10, p))
            elif op == 8:
                codes.append(struct.unpack('!H', p[:2])[0])
                del silent[s]
    assert not silent and codes == [1001] * n, codes
    assert alive_pings >= 1, 'the answering client was never pinged'
    alive.sendall(frame(2, b'\x04still'))
    alive.settimeout(5)
    while True:
        op, _, p = ra.frame()
        if op == 9:
            alive.sendall(frame(10, p))
            continue
        assert op == 2 and p == b'\x04still', (op, p)
        break
    s, _ = opened()
    print('ok idle: %d silent closed with 1001 after %.1fs; the answering one (%d pings) still echoes' %
          (n, time.monotonic() - t0, alive_pings))
elif CASE == 'per-source':
    # one source (127.0.0.1) takes all it can; another source still gets in
    limit, total = int(ARGS[0]), int(ARGS[1])
    held, refused = [], 0
    for _ in range(total):
        try:
            s = connect('127.0.0.1')
            line, _ = upgrade(s)
            if line.startswith('HTTP/1.1 101'):
                held.append(s)
            else:
                refused += 1
                s.close()
        except (ConnectionResetError, BrokenPipeError, socket.timeout, OSError):
            refused += 1
    assert len(held) == limit, 'held %d, limit %d' % (len(held), limit)
    for i in range(3):
        s, _ = opened('127.0.0.2')
        s.close()
    print('ok per-source: %d held, %d refused from one source; another source gets in' % (len(held), refused))
elif CASE == 'ping-flood':
    # pings as fast as we can, never reading: the relay's memory stays
    # bounded, it stops reading us once its output to us is backed up, and
    # closes us (1008 after --handshake-timeout) while we still hold on
    import urllib.request
    pid, budget_mb, mport = ARGS[0], int(ARGS[1]), ARGS[2]
    def slow_readers():
        with urllib.request.urlopen('http://127.0.0.1:%s/metrics' % mport, timeout=5) as f:
            for line in f.read().decode().splitlines():
                if line.startswith('jitwg_relay_slow_readers_total '):
                    return int(line.split()[1])
    before, readers0 = rss_kb(pid), slow_readers()
    s, _ = opened()
    s.setblocking(False)
    burst = frame(9, b'p' * 125) * 512
    sent, last_progress, pending = 0, time.monotonic(), b''
    while time.monotonic() - t0 < 20 and time.monotonic() - last_progress < 1:
        try:
            pending = pending or burst   # never cut a frame: send the rest first
            k = s.send(pending)
            pending = pending[k:]
            sent += k
            last_progress = time.monotonic()
        except BlockingIOError:
            select.select([], [s], [], 0.2)
        except (ConnectionResetError, BrokenPipeError):
            break
    after = rss_kb(pid)
    grew = (after - before) / 1024
    assert grew < budget_mb, 'relay RSS grew %.1f MB while %.1f MB of pings were sent' % (grew, sent / 1048576)
    assert time.monotonic() - last_progress >= 1, 'the relay never stopped reading a client that does not read'
    while slow_readers() == readers0 and time.monotonic() - t0 < 30:
        time.sleep(0.2)
    assert slow_readers() > readers0, 'the client that would not read was not closed'
    print('ok ping-flood: sent %.1f MB of pings, relay RSS %+.1f MB, reading paused, closed after %.1fs' %
          (sent / 1048576, grew, time.monotonic() - t0))
elif CASE == 'partial':
    # N connections each start a 65,535-byte record (and a fragmented
    # message) and stop: each is closed with 1008 at --handshake-timeout
    n = int(ARGS[0])
    conns = []
    for i in range(n):
        s, rest = opened()
        if i % 2:
            s.sendall(frame(1, MAGIC + struct.pack('!I', 65535) + b'x'))
        else:
            s.sendall(frame(2, b'\x04frag', fin=False))
        conns.append(Reader(s, rest))
    for r in conns:
        code, _ = close_code(r, t0 + 20)
        assert code == 1008, code
    print('ok partial: %d unfinished records/messages closed with 1008 after %.1fs' % (n, time.monotonic() - t0))
elif CASE == 'empty-burst':
    # thousands of empty frames, then a ping, in one write: the pong comes
    # although the bytes after the burst sit in the relay's buffers
    n = int(ARGS[0])
    s, rest = opened()
    s.sendall(frame(2, b'') * n + frame(9, b'after the burst'))
    r = Reader(s, rest)
    s.settimeout(10)
    op, _, p = r.frame()
    assert op == 10 and p == b'after the burst', (op, p)
    print('ok empty-burst: pong after %d empty frames in %.2fs' % (n, time.monotonic() - t0))
elif CASE == 'hold':
    # opens N TCP connections (upgraded), holds them until stdin closes
    n = int(ARGS[0])
    held = [opened()[0] for _ in range(n)]
    print('holding %d' % n, flush=True)
    sys.stdin.read()
    print('ok hold')
elif CASE == 'hold-spread':
    # N upgraded WebSockets, each from its own source address (127.2.x.y),
    # held (answering pings) until stdin closes: legitimate idle clients
    n = int(ARGS[0])
    held = []
    for i in range(n):
        s, rest = opened('127.2.%d.%d' % (i // 250, i % 250 + 1))
        held.append(s)
    print('holding %d' % n, flush=True)
    poll, by_fd = select.poll(), {s.fileno(): s for s in held}  # poll: more than FD_SETSIZE
    for fd in by_fd:
        poll.register(fd, select.POLLIN)
    poll.register(sys.stdin.fileno(), select.POLLIN)
    while True:
        ready = [fd for fd, _ in poll.poll(1000)]
        if sys.stdin.fileno() in ready:
            break
        for fd in ready:
            if by_fd[fd].recv(4096):  # the relay's pings: answer them (empty pong)
                by_fd[fd].sendall(frame(10, b''))
    print('ok hold-spread')
elif CASE == 'connect-spread':
    # N new upgrades, one per fresh source address (127.3.x.y): how many get in
    n, ok = int(ARGS[0]), 0
    for i in range(n):
        try:
            s, _ = opened('127.3.%d.%d' % (i // 250, i % 250 + 1))
            ok += 1
            s.close()
        except (AssertionError, OSError):
            pass
    print('connect-spread %d of %d' % (ok, n))
elif CASE == 'slowloris-hold':
    # N connections from one source that send half an upgrade head and stall
    n = int(ARGS[0])
    held = []
    for _ in range(n):
        try:
            s = connect('127.9.0.2', timeout=2)
            s.sendall(b'GET / HTTP/1.1\r\nHost: rel')
            held.append(s)
        except OSError:
            pass
    print('holding %d' % len(held), flush=True)
    sys.stdin.read()
elif CASE == 'reconnect-loop':
    # upgrades and drops, over and over, from one source, until stdin closes
    n = 0
    while not select.select([sys.stdin], [], [], 0)[0]:
        try:
            s = connect('127.9.0.3', timeout=2)
            upgrade(s)
            s.close()
            n += 1
        except OSError:
            time.sleep(0.01)
    print('reconnected %d' % n)
elif CASE == 'tcp-hold':
    # N bare TCP connections (no request; from SRC when given), held until
    # stdin closes; those the relay refuses or cannot accept do not matter here
    n, src = int(ARGS[0]), (ARGS[1] if len(ARGS) > 1 else None)
    held = []
    for _ in range(n):
        try:
            held.append(connect(src, timeout=1))
        except OSError:
            break
    print('holding %d' % len(held), flush=True)
    sys.stdin.read()
    print('ok tcp-hold')
else:
    raise SystemExit('unknown case ' + CASE)
