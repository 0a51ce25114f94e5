#!/usr/bin/python3
"""bench/overload.py - tiles under a burst of expensive renders.

Makes (once, under build/bench-overload/) a 5000x3750 JPEG-tiled pyramidal
TIFF, starts Tessera on a FastCGI socket behind a private nginx (the HTTP
test suite's harness), and for each configuration below:

  idle      an OpenSeadragon-style walk of stored tiles, alone: latency p50/p99
  loaded    BENCH_HEAVY concurrent {id}/full/max/45/default.png (each seconds of
            work and ~300 MB by the daemon's estimate) while two walkers go
            on: tile latency p50/p99/max, the heavy answers by status
            (200 / 503 refused at once / 503 stopped at the deadline / 504),
            how long they took, the daemon's peak RSS (VmHWM) and /metrics'
            refused and timed-out counters

Configurations (BENCH_ONLY picks some, comma-separated):
  default   the defaults on this machine: threads 4 per core, one heavy render
            per core, queue 4, max_render_seconds 10, max_render_memory_mb 1024
  tight     max_render_memory_mb 400, max_render_seconds 6 (the HTTP test's)
  loose     what admission used to be: no deadline, no memory budget, a
            queue as long as the workers allow (32 threads)

Timings are never part of `make check`; the functional bounds are in
tests/http/test_overload.py.

  BENCH_HEAVY=16   concurrent heavy requests      BENCH_WALK_S=20  seconds of loaded walk at most

Usage: /usr/bin/python3 bench/overload.py
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "http"))
import harness  # noqa: E402

HEAVY_N = int(os.environ.get("BENCH_HEAVY", "16"))
WALK_S = float(os.environ.get("BENCH_WALK_S", "20"))
ONLY = set(os.environ.get("BENCH_ONLY", "default,tight,loose").split(","))
TREE = os.path.join(TOP, "build", "bench-overload")
HEAVY = "/iiif/3/big/full/max/45/default.png"

CONFIGS = [
    ("default", []),
    ("tight", ["--max-render-memory-mb", "400", "--max-render-seconds", "6"]),
    ("loose", ["--threads", "32", "--max-heavy-queue", "4096", "--max-render-seconds", "0",
               "--max-render-memory-mb", "0"]),
]


def make_image():
    path = os.path.join(TREE, "img", "big.tif")
    if os.path.exists(path):
        return os.path.dirname(path)
    import numpy
    from PIL import Image
    os.makedirs(os.path.dirname(path), exist_ok=True)
    w, h = 5000, 3750
    y, x = numpy.mgrid[0:h, 0:w]
    rng = numpy.random.default_rng(13)
    a = numpy.stack([x * 255 // w, y * 255 // h, (x ^ y) & 255], axis=-1)
    a = (a // 2 + rng.integers(0, 128, a.shape)).astype(numpy.uint8)
    src = os.path.join(TREE, "src.tif")
    Image.fromarray(a).save(src)
    subprocess.run(["vips", "tiffsave", src, path, "--tile", "--pyramid", "--tile-width", "256",
                    "--tile-height", "256", "--compression", "jpeg", "--Q", "85"], check=True)
    os.unlink(src)
    return os.path.dirname(path)


def tile_urls(srv):
    info = json.loads(srv.get("/iiif/3/big/info.json").body)
    w, h = info["width"], info["height"]
    t = info["tiles"][0]
    tw, th = t["width"], t.get("height", t["width"])
    urls = []
    for s in sorted(t["scaleFactors"], reverse=True):
        for ty in range((h + th * s - 1) // (th * s)):
            for tx in range((w + tw * s - 1) // (tw * s)):
                x, y = tx * tw * s, ty * th * s
                rw, rh = min(tw * s, w - x), min(th * s, h - y)
                urls.append("/iiif/3/big/%d,%d,%d,%d/%d,/0/default.jpg" % (
                    x, y, rw, rh, (rw + s - 1) // s))
    return urls


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else float("nan")


def metrics(srv):
    out = {}
    for line in srv.get("/metrics").body.decode().splitlines():
        if line and not line.startswith("#"):
            k, _, v = line.rpartition(" ")
            out[k] = float(v)
    return out


def hwm_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1)) / 1024.0


def run_config(tmp, root, name, flags):
    srv = harness.start_nginx_fastcgi(tmp, "bench-" + name, root,
                                      ["--threads", "8", "--cache-size", "0"] + flags)
    try:
        urls = tile_urls(srv)
        idle = []
        for u in urls[:300]:
            t0 = time.monotonic()
            srv.get(u)
            idle.append(time.monotonic() - t0)
        loaded, heavy, stop = [], [], threading.Event()

        def walker(part):
            i = 0
            while not stop.is_set():
                u = part[i % len(part)]
                i += 1
                t0 = time.monotonic()
                try:
                    r = srv.get(u, timeout=60)
                    loaded.append((time.monotonic() - t0, r.status))
                except OSError:
                    loaded.append((time.monotonic() - t0, 0))

        barrier = threading.Barrier(HEAVY_N)

        def one():
            barrier.wait()
            t0 = time.monotonic()
            try:
                r = srv.get(HEAVY, timeout=120)
                heavy.append((r.status, time.monotonic() - t0, r.body[:80]))
            except OSError as e:
                heavy.append((0, time.monotonic() - t0, str(e).encode()))

        walkers = [threading.Thread(target=walker, args=(urls[k::2],)) for k in range(2)]
        for t in walkers:
            t.start()
        time.sleep(0.3)
        hs = [threading.Thread(target=one) for _ in range(HEAVY_N)]
        for t in hs:
            t.start()
        t_end = time.monotonic() + WALK_S + 120
        for t in hs:
            t.join(max(0.1, t_end - time.monotonic()))
        stop.set()
        for t in walkers:
            t.join(60)
        m = metrics(srv)
        hwm = hwm_mb(srv.procs[0].pid)
    finally:
        srv.stop()
    tt = [t for t, _ in loaded]
    ok = [t for s, t, _ in heavy if s == 200]
    refused = [t for s, t, b in heavy if s == 503 and b"busy" in b]
    late = [t for s, t, b in heavy if s == 503 and b"longer" in b]
    other = sorted(s for s, _, _ in heavy if s not in (200, 503))
    print("%-8s tiles idle p50 %6.1f ms p99 %6.1f ms | loaded p50 %6.1f ms p99 %6.1f ms "
          "max %7.1f ms (%d tiles, %d not 200)" % (
              name, pct(idle, .5) * 1e3, pct(idle, .99) * 1e3, pct(tt, .5) * 1e3,
              pct(tt, .99) * 1e3, max(tt or [0]) * 1e3, len(tt),
              sum(1 for _, s in loaded if s != 200)))
    print("%-8s heavy x%d: %d ok (%.1f-%.1f s), %d refused (max %.2f s), %d stopped at the "
          "deadline, other %s | VmHWM %.0f MB | metrics refused %d timed out %d" % (
              "", HEAVY_N, len(ok), min(ok or [0]), max(ok or [0]), len(refused),
              max(refused or [0]), len(late), other, hwm,
              m.get("tessera_renders_refused_total", -1),
              m.get("tessera_renders_timed_out_total", -1)), flush=True)


def main():
    root = make_image()
    tmp = tempfile.mkdtemp(prefix="tessera-bench-overload-")
    os.chmod(tmp, 0o755)
    print("# %s, load average %s" % (time.strftime("%Y-%m-%d %H:%M"),
                                     open("/proc/loadavg").read().split()[0]))
    try:
        for name, flags in CONFIGS:
            if name in ONLY:
                run_config(tmp, root, name, flags)
    finally:
        harness.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
