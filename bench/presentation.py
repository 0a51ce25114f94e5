#!/usr/bin/python3
"""presentation.py - how long Manifests and Collections take to make.

Usage: /usr/bin/python3 bench/presentation.py [--pages 2000] [--members 10000] [--tiff]

Builds, in a temporary root, a book of N pages (small JPEGs, or tiled
pyramidal TIFFs with --tiff, made by copying one file so the tree is quick
to make) and a collection of M one-image folders, starts the daemon in
embedded HTTP mode and times, each the median of 5 runs:
  cold     the first answer of a fresh daemon (nothing probed or cached)
  rebuild  after one page was rewritten (probe cache warm, response cache miss)
  cached   an unchanged folder (a readdir and a response cache hit)
Targets (the design's): a 2,000-canvas Manifest cold < 250 ms, a
10,000-member Collection cold < 400 ms.  Timings are never part of make
check.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "http"))
import harness  # noqa: E402
from PIL import Image  # noqa: E402


def arg(name, default):
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def make_tree(root, pages, members, tiff):
    book = os.path.join(root, "book")
    os.makedirs(book)
    src = os.path.join(root, "_src." + ("tif" if tiff else "jpg"))
    im = Image.new("RGB", (2000, 3000), (120, 90, 60))
    if tiff:
        png = os.path.join(root, "_src.png")
        im.save(png)
        subprocess.run(["vips", "tiffsave", png, src, "--tile", "--pyramid", "--compression", "jpeg",
                        "--tile-width", "256", "--tile-height", "256"], check=True)
    else:
        im.save(src, quality=80)
    ext = os.path.splitext(src)[1]
    for i in range(1, pages + 1):
        shutil.copy(src, os.path.join(book, "p%04d%s" % (i, ext)))
    coll = os.path.join(root, "coll")
    os.makedirs(coll)
    for i in range(1, members + 1):
        d = os.path.join(coll, "m%05d" % i)
        os.makedirs(d)
        os.link(src, os.path.join(d, "a" + ext))
    return ext


def timed(srv, path):
    """Milliseconds to the whole answer, and its size: curl when there is
    one (Python's socket reads dominate a 3 MB answer otherwise)."""
    if shutil.which("curl"):
        out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total} %{size_download}",
                              "http://127.0.0.1:%d%s" % (srv.port, path)], capture_output=True, text=True).stdout.split()
        if out[0] != "200":
            raise SystemExit("GET %s: %s" % (path, out[0]))
        return float(out[1]) * 1000, int(out[2])
    t0 = time.monotonic()
    r = srv.get(path)
    dt = time.monotonic() - t0
    if r.status != 200:
        raise SystemExit("GET %s: %d %s" % (path, r.status, r.body[:200]))
    return dt * 1000, len(r.body)


def main():
    pages, members, tiff = arg("--pages", 2000), arg("--members", 10000), "--tiff" in sys.argv
    tmp = tempfile.mkdtemp(prefix="tessera-bench-pres-")
    root = os.path.join(tmp, "root")
    os.makedirs(root)
    try:
        ext = make_tree(root, pages, members, tiff)
        rows = []
        for name, path, touch in (("book", "/iiif/3/book/manifest", "book/p0001" + ext),
                                  ("collection", "/iiif/3/collection/coll", "coll/m00001/a" + ext)):
            cold, rebuild, cached = [], [], []
            size = 0
            for run in range(5):
                srv = harness.start_embedded(tmp, "bench%d%s" % (run, name), root, [])
                try:
                    ms, size = timed(srv, path)
                    cold.append(ms)
                    cached.append(timed(srv, path)[0])
                    os.utime(os.path.join(root, touch), (1e9 + run, 1e9 + run))
                    rebuild.append(timed(srv, path)[0])
                finally:
                    srv.stop()
            rows.append((name, size, statistics.median(cold), statistics.median(rebuild),
                         statistics.median(cached)))
        print("%-11s %10s %9s %9s %9s" % ("", "bytes", "cold ms", "rebuild", "cached"))
        for name, size, c, rb, ca in rows:
            print("%-11s %10d %9.1f %9.1f %9.1f" % (name, size, c, rb, ca))
        print("(%d pages, %d members, %s; targets: book cold < 250 ms, collection cold < 400 ms)"
              % (pages, members, "tiled TIFF" if tiff else "JPEG"))
    finally:
        harness.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
