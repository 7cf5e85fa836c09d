#!/usr/bin/python3
# Opens a WebSocket (python3-websockets), sends one file's bytes as one
# binary message, waits a moment for answers, closes. For replays.
#   send_once.py URL FILE [CA_FILE]
import asyncio, ssl, sys, websockets

async def main():
    kw = {'compression': None, 'open_timeout': 5}
    if sys.argv[1].startswith('wss:'):
        ctx = ssl.create_default_context(cafile=sys.argv[3])
        ctx.check_hostname = False
        kw['ssl'] = ctx
    async with websockets.connect(sys.argv[1], **kw) as ws:
        await ws.send(open(sys.argv[2], 'rb').read())
        try:
            await asyncio.wait_for(ws.recv(), 1)
        except asyncio.TimeoutError:
            pass

asyncio.run(main())
