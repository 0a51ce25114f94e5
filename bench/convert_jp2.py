#!/usr/bin/python3
"""convert_jp2.py - `tessera convert OUT.jp2` against `opj_compress` with
the same options.

Usage: /usr/bin/python3 bench/convert_jp2.py [--input FILE] [--work DIR] [--runs N]
                                             [--threads N]

Input: FILE, or a 6000x4000 photograph-like picture made once under --work
(the corpus's flat20k.jpg from bench/convert.py resized when it is there,
else a synthetic one), stored as an uncompressed striped TIFF so that both
tools read the same bytes through libtiff.  Both write the file that
src/convert/sink_jp2.c writes: 1024x1024 tiles, resolutions down to one
tile, RPCL, 256x256 precincts at every resolution, 64x64 code-blocks, TLM
and PLT, one layer; lossy (9/7 at 42 dB, tessera's --quality 85) and
lossless (5/3), with the same number of OpenJPEG threads.  Prints the
median wall time and peak RSS (the child's maxrss) of each and the ratio
tessera/opj_compress.  Target: tessera faster (ratio < 1).

Never part of `make check`: timings are not tests.
"""

import os
import statistics
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESSERA = os.path.join(TOP, "tessera")


def arg(name, default):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


def run_rss(argv):
    """Wall seconds and the child's peak RSS in MB, via /usr/bin/time -v."""
    t0 = time.monotonic()
    r = subprocess.run(["/usr/bin/time", "-v"] + [str(a) for a in argv],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.monotonic() - t0
    if r.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(map(str, argv)), r.stderr.decode()[-500:]))
    rss = 0
    for line in r.stderr.decode().splitlines():
        if "Maximum resident set size" in line:
            rss = int(line.split(":")[1]) / 1024.0
    return wall, rss


def make_input(work):
    os.makedirs(work, exist_ok=True)
    out = os.path.join(work, "photo6k.tif")
    if os.path.exists(out):
        return out
    flat = "/tmp/conv-core-bench/flat20k.jpg"
    if os.path.exists(flat):
        subprocess.run(["vips", "resize", flat, out, "0.3"], check=True)
    else:
        import numpy as np
        from PIL import Image
        y, x = np.mgrid[0:4000, 0:6000]
        a = np.dstack([(x * 255 // 5999), (y * 255 // 3999),
                       128 + 90 * np.sin(x / 37.0) * np.cos(y / 53.0)]).astype(np.uint8)
        noise = np.random.default_rng(1).integers(0, 24, a.shape, dtype=np.uint8)
        Image.fromarray(a + noise).save(out)
    return out


def resolutions(w, h, tile):
    n = 1
    while (tile << (n - 1)) < max(w, h):
        n += 1
    return n


def main():
    work = arg("--work", "/tmp/tessera-bench-jp2")
    runs = int(arg("--runs", "3"))
    threads = int(arg("--threads", str(os.cpu_count() or 2)))
    src = arg("--input", None) or make_input(work)
    from PIL import Image
    Image.MAX_IMAGE_PIXELS = None
    with Image.open(src) as im:
        w, h = im.size
    n = resolutions(w, h, 1024)
    prec = ",".join(["[256,256]"] * n)
    rows = []
    for label, topt, oopt in (
            ("lossy 42 dB", ["--quality", "85"], ["-I", "-q", "42"]),
            ("lossless 5/3", ["--lossless"], [])):
        t_out = os.path.join(work, "t.jp2")
        o_out = os.path.join(work, "o.jp2")
        tt, ot, tr, orr = [], [], 0, 0
        for _ in range(runs):
            a, r1 = run_rss([TESSERA, "convert", "--quiet", "--threads", threads] + topt + [src, t_out])
            b, r2 = run_rss(["opj_compress", "-i", src, "-o", o_out, "-t", "1024,1024", "-n", n,
                             "-p", "RPCL", "-c", prec, "-b", "64,64", "-TLM", "-PLT",
                             "-threads", threads] + oopt)
            tt.append(a)
            ot.append(b)
            tr, orr = max(tr, r1), max(orr, r2)
        rows.append((label, statistics.median(tt), statistics.median(ot), tr, orr,
                     os.path.getsize(t_out), os.path.getsize(o_out)))
    print("input %s (%dx%d), %d runs, %d threads, %d resolutions" % (src, w, h, runs, threads, n))
    print("%-14s %10s %10s %7s %9s %9s %9s %9s" % ("", "tessera s", "opj s", "ratio", "t RSS MB",
                                                  "o RSS MB", "t bytes", "o bytes"))
    for label, a, b, r1, r2, s1, s2 in rows:
        print("%-14s %10.2f %10.2f %7.2f %9.0f %9.0f %9d %9d" % (label, a, b, a / b, r1, r2, s1, s2))


if __name__ == "__main__":
    main()
