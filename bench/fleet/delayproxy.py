#!/usr/bin/env python3
# A TCP forwarder that puts a registry "far away": every chunk is held for
# half the round trip in each direction, order kept, so each HTTP request
# costs one extra RTT. bench/fleet/prefetch.sh uses it where the kernel has
# no sch_netem (tc qdisc ... netem), which it prefers.
#   delayproxy.py LISTEN_ADDR LISTEN_PORT TARGET_ADDR TARGET_PORT RTT_MS
import asyncio
import sys


async def pipe(reader, writer, delay):
    queue = asyncio.Queue()

    async def sender():
        loop = asyncio.get_running_loop()
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        writer.close()

    task = asyncio.create_task(sender())
    loop = asyncio.get_running_loop()
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            await queue.put((loop.time() + delay, data))
    except ConnectionError:
        pass
    await queue.put((0, None))
    try:
        await task
    except ConnectionError:
        pass


async def main():
    laddr, lport, taddr, tport, rtt = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    half = rtt / 2000.0

    async def handle(cr, cw):
        try:
            tr, tw = await asyncio.open_connection(taddr, tport)
        except OSError:
            cw.close()
            return
        await asyncio.gather(pipe(cr, tw, half), pipe(tr, cw, half))

    server = await asyncio.start_server(handle, laddr, lport)
    async with server:
        await server.serve_forever()


asyncio.run(main())
