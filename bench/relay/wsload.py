#!/usr/bin/python3
# Load for bench/relay: raw-socket WebSocket clients (stdlib only).
#   wsload.py hold N HOST PORT [tls]   open N upgraded connections, print
#                                      "held N", keep them until killed
#   wsload.py pump N HOST PORT         one connection, N initiation-shaped
#                                      148-byte binary messages as fast as
#                                      the socket takes them
#   wsload.py steady RATE HOST PORT S  one connection, RATE messages/s in
#                                      5 ms batches for S seconds
import asyncio, base64, os, resource, ssl, struct, sys, time

mode, n, host, port = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
tls = len(sys.argv) > 5 and sys.argv[5] == 'tls'
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

def request():
    key = base64.b64encode(os.urandom(16)).decode()
    return ('GET / HTTP/1.1\r\nHost: relay\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
            'Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n' % key).encode()

def frame(payload):
    k = os.urandom(4)
    return struct.pack('!BB', 0x82, 0x80 | len(payload)) + k + bytes(b ^ k[i % 4] for i, b in enumerate(payload)) \
        if len(payload) < 126 else \
        struct.pack('!BBH', 0x82, 0xfe, len(payload)) + k + bytes(b ^ k[i % 4] for i, b in enumerate(payload))

async def one(ctx):
    r, w = await asyncio.open_connection(host, port, ssl=ctx)
    w.write(request())
    head = await r.readuntil(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.1 101'), head[:40]
    return r, w

async def hold():
    ctx = None
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    conns, sem = [], asyncio.Semaphore(200)
    async def opener():
        async with sem:
            conns.append(await one(ctx))
    await asyncio.gather(*(opener() for _ in range(n)))
    print('held', len(conns), flush=True)
    await asyncio.Event().wait()

async def pump():
    r, w = await one(None)
    base = b'\x01\0\0\0' + os.urandom(144)
    blob = b''.join(frame(base[:4] + struct.pack('!I', i) + base[8:]) for i in range(n))
    t = time.monotonic()
    w.write(blob)
    await w.drain()
    print('pumped %d in %.3f s' % (n, time.monotonic() - t), flush=True)
    await asyncio.sleep(1)

async def steady():
    r, w = await one(None)
    base = b'\x01\0\0\0' + os.urandom(144)
    per = max(1, n // 200)
    batch = b''.join(frame(base[:4] + struct.pack('!I', i) + base[8:]) for i in range(per))
    t0 = time.monotonic()
    k = 0
    while time.monotonic() - t0 < float(sys.argv[5]):
        w.write(batch)
        await w.drain()
        k += 1
        delay = t0 + k * 0.005 - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
    print('sent %d' % (k * per), flush=True)

asyncio.run(hold() if mode == 'hold' else steady() if mode == 'steady' else pump())
