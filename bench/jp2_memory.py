#!/usr/bin/python3
"""bench/jp2_memory.py - the JPEG 2000 first walk's memory: page faults, CPU
and resident memory of Tessera per tile, for several binaries or malloc
settings in turns (A, B, A, B...), on the embedded server.

Each variant gets a fresh daemon (--cache-size 0, decoded-tile cache at its
default), walks bench/jp2.py's first walk (BENCH_WALK_IMAGES, 6 clients,
every tile once), then stays idle IDLE seconds (default 35, past the default
idle_trim_seconds of 30), then walks again.  Printed per variant: tiles/s,
minor faults, user and system CPU ms per tile (from /proc/PID/stat), VmRSS
at the end of the walk and after the idle time, and the second walk's
faults and CPU per tile (what giving the memory back costs when visitors
return).

usage: python3 bench/jp2_memory.py KIND ROUNDS NAME|BINARY|ENV [...]
  KIND   walk-iiif, walk-dz (TileSize 254, as Tessera's DZI says for JP2) or walk-zoomify
  ENV    VAR=value;VAR=value put in the daemon's environment (may be empty)
e.g.  python3 bench/jp2_memory.py walk-iiif 2 "old|/tmp/tessera.old|" "new|./tessera|" \\
          "new-arenas16|./tessera|MALLOC_ARENA_MAX=16"
BENCH_CORPUS names the corpus (its images/ must hold the walk's JP2 files).
Processes are stopped by their own pids only.
"""
import http.client
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import jp2  # noqa: E402  (the walks' URL lists and jp2_size)

CORPUS = os.environ.get("BENCH_CORPUS", os.path.join(jp2.TOP, "build", "corpus"))
IMAGES = os.path.join(CORPUS, "images")
TICK = os.sysconf("SC_CLK_TCK")
IDLE = float(os.environ.get("IDLE", "35"))


def proc_stat(pid):
    """minor faults, user ticks, system ticks, VmRSS kB."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    rss = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return int(fields[7]), int(fields[11]), int(fields[12]), rss


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def walk_urls(kind):
    out = []
    for n in jp2.WALK_IMAGES:
        w, h = jp2.jp2_size(os.path.join(IMAGES, n))
        if kind == "walk-dz":
            out += [u[0] for u in jp2.walk_deepzoom(n, w, h, 254)]
        else:
            out += [u[0] for u in jp2.WALKS[kind](n, w, h)]
    return out


def walk(port, pid, urls, conns=6):
    pos, lock, errors = [0], threading.Lock(), [0]

    def client():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                if pos[0] >= len(urls):
                    break
                u = urls[pos[0]]
                pos[0] += 1
            c.request("GET", u)
            r = c.getresponse()
            r.read()
            if r.status != 200:
                errors[0] += 1
        c.close()

    s0, t0 = proc_stat(pid), time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall, s1 = time.monotonic() - t0, proc_stat(pid)
    n = len(urls)
    return {"tps": n / wall, "flt": (s1[0] - s0[0]) / n, "user": (s1[1] - s0[1]) * 1000 / TICK / n,
            "sys": (s1[2] - s0[2]) * 1000 / TICK / n, "rss": s1[3] / 1024, "errors": errors[0]}


def run(binary, env_extra, kind):
    port = free_port()
    env = dict(os.environ, **env_extra)
    p = subprocess.Popen([binary, "serve", "--root", IMAGES, "--http", "127.0.0.1:%d" % port,
                          "--cache-size", "0", "--verbosity", "1"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                time.sleep(0.05)
        urls = walk_urls(kind)
        first = walk(port, p.pid, urls)
        time.sleep(IDLE)
        idle_rss = proc_stat(p.pid)[3] / 1024
        second = walk(port, p.pid, urls)
    finally:
        p.terminate()
        p.wait()
    return len(urls), first, idle_rss, second


def main(argv):
    if len(argv) < 4:
        print(__doc__.strip())
        return 2
    kind, rounds = argv[1], int(argv[2])
    variants = []
    for a in argv[3:]:
        name, binary, envs = a.split("|")
        variants.append((name, binary, dict(kv.split("=", 1) for kv in envs.split(";") if kv)))
    print("load average %s" % open("/proc/loadavg").read().split()[:3])
    for _ in range(rounds):
        for name, binary, env in variants:
            n, a, idle, b = run(binary, env, kind)
            print("%-12s %s %d tiles: %.1f tiles/s, %.0f faults, user %.2f + sys %.2f ms/tile; "
                  "VmRSS %.0f MB after, %.0f MB after %.0f s idle | again: %.0f faults, "
                  "%.2f ms/tile, VmRSS %.0f MB; errors %d" % (
                      name, kind, n, a["tps"], a["flt"], a["user"], a["sys"], a["rss"], idle, IDLE,
                      b["flt"], b["user"] + b["sys"], b["rss"], a["errors"] + b["errors"]),
                  flush=True)
    print("load average %s" % open("/proc/loadavg").read().split()[:3])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
