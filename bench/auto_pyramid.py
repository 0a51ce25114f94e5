#!/usr/bin/python3
"""auto_pyramid.py - what an on-demand pyramid buys: 512x512 tiles of a flat
baseline JPEG served from the file, then from its pyramid.

Usage: /usr/bin/python3 bench/auto_pyramid.py [--size 8000x6000] [--tiles 20]

Makes a flat JPEG (Q90, a smooth synthetic picture) of --size in a
temporary folder, starts ./tessera on it with auto_pyramid_min_pixels on,
times --tiles distinct full-resolution tiles of the bottom half (the
costly ones for a baseline JPEG: decoded from the top) while the
conversion runs at nice 19, waits for the conversion (the daemon's
metrics), then times as many other tiles of the same rows from the
pyramid.  Prints the medians, the conversion's wall time and the pyramid's
size.  Never part of `make check`: timings are not tests.
"""

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import numpy as np
from PIL import Image

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESSERA = os.path.join(TOP, "tessera")


def arg(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def get(port, path):
    t = time.monotonic()
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=120) as r:
        body = r.read()
    return time.monotonic() - t, body


def main():
    w, h = (int(v) for v in arg("--size", "8000x6000").split("x"))
    n = int(arg("--tiles", "20"))
    tmp = tempfile.mkdtemp(prefix="tessera-bench-apyr-")
    root, cache = os.path.join(tmp, "root"), os.path.join(tmp, "pyramids")
    os.makedirs(root)
    ys, xs = np.indices((h, w), dtype=np.float32)
    a = np.dstack([128 + 100 * np.sin(xs / 53 + ys / 97), 128 + 100 * np.cos(ys / 41),
                   128 + 90 * np.sin((xs + ys) / 23)]).clip(0, 255).astype(np.uint8)
    Image.fromarray(a).save(os.path.join(root, "flat.jpg"), quality=90)
    del a, xs, ys
    port = free_port()
    p = subprocess.Popen([TESSERA, "serve", "--root", root, "--http", "127.0.0.1:%d" % port,
                          "--viewer-dir", "", "--auto-pyramid-min-pixels", "1000000",
                          "--pyramid-cache-dir", cache], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                get(port, "/metrics")
                break
            except OSError:
                time.sleep(0.1)
        cols, rows = w // 512, h // 512
        spots = [(c, r) for r in range(rows // 2, rows) for c in range(cols)]
        flat_spots, pyr_spots = spots[0:2 * n:2], spots[1:2 * n:2]
        t0 = time.monotonic()
        flat = [get(port, "/iiif/3/flat.jpg/%d,%d,512,512/512,/0/default.jpg" % (
            c * 512, r * 512))[0] for c, r in flat_spots]
        while True:
            m = get(port, "/metrics")[1].decode()
            if re.search(r'state="(done|failed)"\} 1', m):
                break
            time.sleep(0.1)
        conv_s = time.monotonic() - t0
        pyr = [get(port, "/iiif/3/flat.jpg/%d,%d,512,512/512,/0/default.jpg" % (
            c * 512, r * 512))[0] for c, r in pyr_spots]
        size = sum(os.path.getsize(os.path.join(cache, f)) for f in os.listdir(cache))
        print("flat JPEG %dx%d (%d KB)" % (w, h, os.path.getsize(os.path.join(root, "flat.jpg")) // 1024))
        print("  %d tiles from the flat file:  median %.1f ms" % (len(flat), 1000 * statistics.median(flat)))
        print("  conversion done within       %.1f s (pyramid %d KB)" % (conv_s, size // 1024))
        print("  %d tiles from the pyramid:    median %.1f ms" % (len(pyr), 1000 * statistics.median(pyr)))
    finally:
        p.terminate()
        p.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
