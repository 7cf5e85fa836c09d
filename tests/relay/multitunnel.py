#!/usr/bin/python3
# Many WireGuard clients through one process: a local UDP port where every
# distinct source (one simulated client of `jitwg loadgen`) gets its own
# WebSocket to the relay, one binary message per datagram, on Debian's
# python3-websockets. 200 `jitwg tunnel` processes would test the same relay
# path at ten times the memory; this keeps the 200-client case lean.
#   multitunnel.py LISTEN_PORT URL
import asyncio, socket, sys, websockets

PORT, URL = int(sys.argv[1]), sys.argv[2]

class Local(asyncio.DatagramProtocol):
    def __init__(self):
        self.links = {}

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        q = self.links.get(addr)
        if q is None:
            q = self.links[addr] = asyncio.Queue(maxsize=256)
            asyncio.ensure_future(self.link(addr, q))
        if not q.full():
            q.put_nowait(data)

    async def link(self, addr, q):
        try:
            async with websockets.connect(URL, compression=None, open_timeout=20,
                                          max_queue=64) as ws:
                async def up():
                    while True:
                        await ws.send(await q.get())
                async def down():
                    async for m in ws:
                        self.transport.sendto(m, addr)
                await asyncio.gather(up(), down())
        except Exception as e:
            print('link %s:%d: %r' % (addr[0], addr[1], e), file=sys.stderr, flush=True)
        finally:
            self.links.pop(addr, None)

async def main():
    loop = asyncio.get_running_loop()
    # One socket takes every client's datagrams: with the default buffer
    # (208 KiB) a burst of 200 handshakes overflowed it (the namespace's
    # RcvbufErrors matched the lost pings). SO_RCVBUFFORCE (root) passes
    # net.core.rmem_max; SO_RCVBUF is the fallback.
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for opt in (getattr(socket, 'SO_RCVBUFFORCE', 33), socket.SO_RCVBUF):
        try:
            sock.setsockopt(socket.SOL_SOCKET, opt, 16 << 20)
            break
        except OSError:
            pass
    sock.bind(('127.0.0.1', PORT))
    await loop.create_datagram_endpoint(Local, sock=sock)
    print('ready', flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
