#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Revocation propagation (bench/fleet/revoke.sh), three modes:

  revoke.py poll URL OUT SECONDS
      GET URL (a jitwgd /metrics) in a loop for SECONDS; each line of OUT is
      "unix_time jitwg_registry_gone_total" (the time the answer arrived).
  revoke.py delete URL[,URL...] KEYS RATE OUT
      DELETE /v1/peers/{key} for each "priv pub ..." line of KEYS, one after
      the other, at most RATE per second, round-robin over the registries;
      each line of OUT is "unix_time_of_the_answer status".
  revoke.py report DELETES POLL... -> one line per gateway and one for all:
      the delay from each deletion's answer to the poll that first showed
      that many removals (deletions are sequential, so commit order is
      answer order and the k-th removal on a gateway is the k-th deletion).
"""
import base64
import http.client
import sys
import time
import urllib.parse


def poll(url, out, seconds):
    u = urllib.parse.urlparse(url)
    end = time.time() + float(seconds)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
    with open(out, "w") as f:
        while time.time() < end:
            try:
                conn.request("GET", u.path)
                body = conn.getresponse().read().decode()
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
                time.sleep(0.01)
                continue
            t = time.time()
            v = 0
            for line in body.splitlines():
                if line.startswith("jitwg_registry_gone_total "):
                    v = int(float(line.split()[1]))
            f.write("%.6f %d\n" % (t, v))


def delete(urls, keys, rate, out):
    conns = []
    for url in urls.split(","):
        u = urllib.parse.urlparse(url)
        conns.append((u.hostname, u.port))
    pause = 1.0 / float(rate)
    live = [http.client.HTTPConnection(h, p, timeout=10) for h, p in conns]
    with open(keys) as k, open(out, "w") as f:
        for i, line in enumerate(k):
            pub = line.split()[1]
            path = "/v1/peers/" + base64.urlsafe_b64encode(base64.b64decode(pub)).decode().rstrip("=")
            c = live[i % len(live)]
            t0 = time.time()
            c.request("DELETE", path)
            r = c.getresponse()
            r.read()
            t = time.time()
            f.write("%.6f %d\n" % (t, r.status))
            left = pause - (time.time() - t0)
            if left > 0:
                time.sleep(left)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def report(deletes, polls):
    dels = [float(l.split()[0]) for l in open(deletes) if l.split()[1] == "204"]
    everyone = []
    for path in polls:
        rows = [(float(a), int(b)) for a, b in (l.split() for l in open(path))]
        base = rows[0][1]
        delays, j = [], 0
        for k, t in enumerate(dels, 1):
            while j < len(rows) and (rows[j][1] - base < k or rows[j][0] < t):
                j += 1
            if j == len(rows):
                break
            delays.append(rows[j][0] - t)
        gaps = [b[0] - a[0] for a, b in zip(rows, rows[1:])]
        everyone += delays
        print("%s\tdeleted %d\tseen %d\tp50_ms %.0f\tp99_ms %.0f\tmax_ms %.0f\tpoll_p50_ms %.1f" % (
            path.rsplit("/", 1)[-1], len(dels), len(delays), 1000 * pct(delays, 0.5),
            1000 * pct(delays, 0.99), 1000 * max(delays), 1000 * pct(gaps, 0.5)))
    print("all\tdeleted %d\tseen %d\tp50_ms %.0f\tp99_ms %.0f\tmax_ms %.0f" % (
        len(dels), len(everyone), 1000 * pct(everyone, 0.5), 1000 * pct(everyone, 0.99), 1000 * max(everyone)))


if __name__ == "__main__":
    if sys.argv[1] == "poll":
        poll(*sys.argv[2:5])
    elif sys.argv[1] == "delete":
        delete(*sys.argv[2:6])
    else:
        report(sys.argv[2], sys.argv[3:])
