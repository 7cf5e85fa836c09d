#!/usr/bin/python3
# One binary message per datagram, on Debian's python3-websockets (a stack we
# did not write; it validates UTF-8 on TEXT frames, so it cannot speak the
# stream framing). An empty message is a keepalive the relay must absorb,
# and the relay must never send one back.
#   py_binary.py URL [CA_FILE]
import asyncio, ssl, sys, websockets

async def main():
    kw = {'compression': None, 'open_timeout': 5}
    if sys.argv[1].startswith('wss:'):
        ctx = ssl.create_default_context(cafile=sys.argv[2])
        ctx.check_hostname = False
        kw['ssl'] = ctx
    async with websockets.connect(sys.argv[1], **kw) as ws:
        await ws.send(b'')
        sent = [b'\x04' + bytes(range(200)), b'\x01' + b'\0' * 147, b'\x02' * 1420]
        for m in sent:
            await ws.send(m)
        for m in sent:
            r = await asyncio.wait_for(ws.recv(), 5)
            assert isinstance(r, bytes) and r == m, (len(r), len(m))
        pong = await ws.ping(b'hi')
        await asyncio.wait_for(pong, 5)
    print('ok binary framing over python3-websockets')

asyncio.run(main())
