#!/usr/bin/python3
"""abandon.py - what work for clients that went away costs: CPU spent after
the clients left, and how long the next real client waits.

Behind nginx (one large render at a time, a queue of four), six clients ask
for rotated full-size PNGs of a 5000x3750 image and close their connections
after LEAVE_AFTER seconds, as wrk does when it stops or a viewer when it pans
away.  Then, for each build (BENCH_TESSERA, default ./tessera, and
BENCH_BEFORE when set, run for run side by side):
  - CPU seconds the daemon spends from the moment they left until it is
    idle (after: only what was running at the next check; before: every
    queued render, to the end),
  - the status and time of a fresh large render asked 0.3 s after they left.

    BENCH_BEFORE=/path/to/older/tessera BENCH_RUNS=3 /usr/bin/python3 bench/abandon.py
"""

import os
import socket
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "http"))

import harness  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
LEAVE = ["/iiif/3/big/full/max/%d/default.png" % a for a in (45, 30, 60, 15, 75, 20)]
FRESH = "/iiif/3/big/full/1700,/0/default.jpg"
LEAVE_AFTER = 0.5
FLAGS = ["--threads", "8", "--max-heavy-renders", "1", "--max-heavy-queue", "4",
         "--max-render-seconds", "60", "--cache-size", "0"]


class Ctx:
    def __init__(self, tmp):
        self.tmp = tmp


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        st = f.read()
    fields = st[st.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def until_idle(pid, quiet=0.5, limit=120.0):
    end = time.monotonic() + limit
    last = cpu_s(pid)
    while time.monotonic() < end:
        time.sleep(quiet)
        now = cpu_s(pid)
        if now - last < 0.02:
            return now
        last = now
    return last


def one_run(srv):
    pid = srv.procs[0].pid
    until_idle(pid)
    socks = []
    for p in LEAVE:
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % p).encode())
        socks.append(s)
        time.sleep(0.02)
    time.sleep(LEAVE_AFTER)
    for s in socks:
        s.close()
    c0 = cpu_s(pid)
    time.sleep(0.3)
    t0 = time.monotonic()
    r = srv.get(FRESH, timeout=120)
    fresh = (r.status, time.monotonic() - t0)
    c1 = until_idle(pid)
    # the fresh render's own CPU is in c1 - c0 too: measured alone, below
    c2 = cpu_s(pid)
    r2 = srv.get(FRESH.replace("1700", "1699"), timeout=120)
    alone = until_idle(pid) - c2
    return {"wasted_cpu_s": max(0.0, (c1 - c0) - alone), "fresh_status": fresh[0],
            "fresh_s": fresh[1], "fresh_alone_status": r2.status}


def main():
    from test_overload import overload_root
    runs = int(os.environ.get("BENCH_RUNS", "3"))
    builds = [("this build", os.environ.get("BENCH_TESSERA",
                                            os.path.join(HERE, "..", "tessera")))]
    if os.environ.get("BENCH_BEFORE"):
        builds.append(("before", os.environ["BENCH_BEFORE"]))
    tmp = tempfile.mkdtemp(prefix="tessera-abandon-")
    os.chmod(tmp, 0o755)   # nginx's workers run as nobody and must reach the sockets
    root = overload_root(Ctx(tmp))
    servers = {}
    try:
        for name, path in builds:
            harness.TESSERA = path
            servers[name] = harness.start_nginx_fastcgi(tmp, name.replace(" ", "-"), root, FLAGS)
        results = {name: [] for name, _ in builds}
        for _ in range(runs):
            for name, _ in builds:
                results[name].append(one_run(servers[name]))
        print("load average %.1f; %d runs; six rotated 5000x3750 PNGs abandoned after %.1f s"
              % (os.getloadavg()[0], runs, LEAVE_AFTER))
        print("| build | CPU spent for nobody (median) | fresh large render 0.3 s later |")
        print("|---|---|---|")
        for name, _ in builds:
            rs = results[name]
            print("| %s | %.2f s | %s, median %.1f s |" % (
                name, statistics.median(r["wasted_cpu_s"] for r in rs),
                "/".join(str(r["fresh_status"]) for r in rs),
                statistics.median(r["fresh_s"] for r in rs)))
    finally:
        for s in servers.values():
            s.stop()


if __name__ == "__main__":
    main()
