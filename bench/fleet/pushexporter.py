#!/usr/bin/env python3
# /metrics for a push gateway (bench only: push is the old design this bench
# compares against, not a product mode). It serves the two gauges jitwgd
# serves, under the same names and with the same meaning, computed from the
# data plane the same way jitwgd's sweep computes them (src/gateway/install/evict.c):
#
#   jitwg_peers_installed  peers in the interface's listing
#   jitwg_peers_stale      of those, idle past IDLE seconds: now minus the
#                          latest of (last handshake, traffic seen by a sweep,
#                          first seen installed) is more than IDLE
#
# A sweep runs `wg show IF dump` every max(1, IDLE/4) seconds, as jitwgd's
# does; a scrape answers the last sweep. An interface that is gone (a
# reboot) is an empty data plane: both gauges 0 and the install times are
# forgotten, so a reload counts as new installs.
#   pushexporter.py IFNAME IDLE_S LISTEN_ADDR LISTEN_PORT
import http.server
import subprocess
import sys
import threading
import time

IFNAME, IDLE, ADDR, PORT = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
SWEEP = max(1.0, IDLE / 4)

lock = threading.Lock()
gauges = {"installed": 0, "stale": 0, "sweeps": 0, "sweep_errors": 0}
# public key -> [first seen installed, last traffic seen, rx bytes at the last sweep]
peers = {}


def sweep():
    now = time.time()
    try:
        out = subprocess.run(["wg", "show", IFNAME, "dump"], capture_output=True, text=True,
                             timeout=60, check=True).stdout
    except (subprocess.SubprocessError, OSError):
        peers.clear()
        return 0, 0, False
    seen = set()
    stale = 0
    for line in out.splitlines()[1:]:  # the first line is the interface
        f = line.split("\t")
        if len(f) < 8:
            continue
        key, handshake, rx = f[0], int(f[4]), int(f[5])
        seen.add(key)
        p = peers.get(key)
        if p is None:
            p = peers[key] = [now, 0.0, rx]
        elif rx != p[2]:
            p[1], p[2] = now, rx
        if now - max(handshake, p[1], p[0]) > IDLE:
            stale += 1
    for key in [k for k in peers if k not in seen]:
        del peers[key]
    return len(seen), stale, True


def sweeper():
    while True:
        t = time.monotonic()
        installed, stale, ok = sweep()
        with lock:
            gauges["installed"], gauges["stale"] = installed, stale
            gauges["sweeps"] += 1
            gauges["sweep_errors"] += 0 if ok else 1
        time.sleep(max(0.0, SWEEP - (time.monotonic() - t)))


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/metrics":
            self.send_error(404)
            return
        with lock:
            g = dict(gauges)
        body = ("# HELP jitwg_peers_installed Peers currently installed in the data plane (push gateway).\n"
                "# TYPE jitwg_peers_installed gauge\n"
                f"jitwg_peers_installed {g['installed']}\n"
                "# HELP jitwg_peers_stale Installed peers idle past the idle timeout (last sweep).\n"
                "# TYPE jitwg_peers_stale gauge\n"
                f"jitwg_peers_stale {g['stale']}\n"
                "# HELP jitwg_push_sweeps_total Listings of the data plane (failed: interface gone).\n"
                "# TYPE jitwg_push_sweeps_total counter\n"
                f"jitwg_push_sweeps_total{{result=\"ok\"}} {g['sweeps'] - g['sweep_errors']}\n"
                f"jitwg_push_sweeps_total{{result=\"failed\"}} {g['sweep_errors']}\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


threading.Thread(target=sweeper, daemon=True).start()
http.server.ThreadingHTTPServer((ADDR, PORT), Handler).serve_forever()
