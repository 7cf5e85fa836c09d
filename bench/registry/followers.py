#!/usr/bin/python3
"""N idle long-poll followers of jitwg-registry's change feed.

    followers.py URL TOKEN N PID ROUNDS

Opens N connections, each holding GET /v1/peers?since=HEAD&wait=60 (plain
sockets, one thread: the client must not be the bottleneck), then for each
of ROUNDS: samples the registry (PID) over 10 s of idleness (threads, RSS,
CPU seconds from /proc), commits one peer through a separate connection and
times until every follower has its answer (fan-out: commit to first and last
answer, and the p50/p99 over followers), then re-arms all followers. Prints
one line per round; the baseline (no followers) first.
"""
import base64, json, os, select, socket, sys, time, urllib.request

url, token, n, pid, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
host, port = url.split("//")[1].split(":")
port = int(port)
hz = os.sysconf("SC_CLK_TCK")


def api(method, path, body=None):
    req = urllib.request.Request(url + path, method=method, data=body and json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"{}")


def head():
    since = 0
    while True:
        p = api("GET", "/v1/peers?since=%d&limit=1000" % since)
        since = int(p["next_since"])
        if not p["more"]:
            return since


def proc():
    st = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    cpu = (int(st[11]) + int(st[12])) / hz
    status = dict(l.split(":", 1) for l in open("/proc/%d/status" % pid))
    return int(status["Threads"]), int(status["VmRSS"].split()[0]) // 1024, cpu


def arm(socks, since):
    req = ("GET /v1/peers?since=%d&wait=60 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
           % (since, token)).encode()
    for s in socks:
        s.sendall(req)


def idle_sample():
    t0, (_, _, c0) = time.time(), proc()
    time.sleep(10)
    th, rss, c1 = proc()
    return th, rss, (c1 - c0) / (time.time() - t0)


def key():
    return base64.b64encode(os.urandom(32)).decode()


th, rss, cpu = idle_sample()
print("followers=0 threads=%d rss_mib=%d cpu_idle=%.4f" % (th, rss, cpu), flush=True)
socks = []
for i in range(n):
    s = socket.create_connection((host, port))
    s.setblocking(False)
    socks.append(s)
for r in range(rounds):
    since = head()
    arm(socks, since)
    time.sleep(2)  # every request parked
    th, rss, cpu = idle_sample()
    pending = {s.fileno(): s for s in socks}
    bufs = {s.fileno(): b"" for s in socks}
    t0 = time.time()
    api("POST", "/v1/peers", {"public_key": key()})
    got = []
    deadline = t0 + 30
    while pending and time.time() < deadline:
        rd, _, _ = select.select(list(pending.values())[:1000], [], [], 0.05) if len(pending) <= 1000 else \
            (None, None, None)
        if rd is None:  # select() caps at FD_SETSIZE: use poll
            p = select.poll()
            for s in pending.values():
                p.register(s, select.POLLIN)
            rd = [pending[fd] for fd, _ in p.poll(50)]
        for s in rd:
            d = s.recv(65536)
            bufs[s.fileno()] += d
            b = bufs[s.fileno()]
            if b"\r\n\r\n" in b and b.endswith(b"}"):
                got.append(time.time() - t0)
                del pending[s.fileno()]
                bufs[s.fileno()] = b""
    got.sort()
    q = lambda f: got[min(len(got) - 1, int(f * len(got)))] * 1000 if got else float("nan")
    print("followers=%d round=%d threads=%d rss_mib=%d cpu_idle=%.4f answered=%d fanout_ms first=%.1f p50=%.1f "
          "p99=%.1f last=%.1f" % (n, r, th, rss, cpu, len(got), q(0), q(0.5), q(0.99), got[-1] * 1000 if got
                                  else float("nan")), flush=True)
