#!/usr/bin/python3
"""convert.py - `tessera convert` against `vips tiffsave --tile --pyramid`.

Usage: /usr/bin/python3 bench/convert.py [--corpus DIR] [--work DIR] [--runs N]

Inputs (made once under --work from the corpus; the corpus is fetched with
/work/shared/corpus/fetch-corpus.sh when DIR has none):
  flat20k.jpg   20000x13333 flat JPEG (Q90), big_jpeg.tif resized by 2/3
  photographs   two corpus photographs as they ship: elephants (5640x3172,
                progressive) and kleiber (6028x3391, baseline)
  photo16.tif   that photograph as a 16-bit striped uncompressed TIFF
Each input is converted to a 256x256 JPEG-tiled (Q85, 4:2:0) pyramidal
TIFF by both tools, one run at a time, N runs each; the table prints the
median wall time, CPU time (user + system) and peak RSS (/usr/bin/time -v,
the child's maxrss) and the ratios tessera/vips.  Targets: time <= 0.8x and RSS <= 1.0x vips.

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


def sh(*argv):
    r = subprocess.run([str(a) for a in argv], capture_output=True)
    if r.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(map(str, argv)), r.stderr.decode()[-500:]))


def find_corpus():
    given = arg("--corpus", None)
    cands = [given] if given else ["/work/shared/corpus", "/tmp/conv-core-corpus", "/tmp/corpus"]
    for c in cands:
        if c and os.path.exists(os.path.join(c, "images", "big_jpeg.tif")):
            return c
    target = given or "/tmp/conv-core-corpus"
    sh("bash", "/work/shared/corpus/fetch-corpus.sh", target)
    return target


def make_inputs(corpus, work):
    os.makedirs(work, exist_ok=True)
    flat = os.path.join(work, "flat20k.jpg")
    if not os.path.exists(flat):
        sh("vips", "resize", os.path.join(corpus, "images", "big_jpeg.tif"), flat + "[Q=90]",
           "0.666667")
    photo = os.path.join(corpus, "src", "elephants.jpg")
    p16 = os.path.join(work, "photo16.tif")
    if not os.path.exists(p16):
        v = os.path.join(work, "p16.v")
        sh("vips", "linear", photo, v, "257", "0")
        sh("vips", "cast", v, p16 + "[compression=none]", "ushort")
        os.unlink(v)
    return [("flat JPEG 20000x13333", flat),
            ("photo, progressive 5640x3172", photo),
            ("photo, baseline 6028x3391", os.path.join(corpus, "src", "kleiber.jpg")),
            ("16-bit TIFF 5640x3172", p16)]


def measure(argv, out):
    """(wall seconds, peak RSS MB, CPU seconds user+system) of one run."""
    if os.path.exists(out):
        os.unlink(out)
    t0 = time.monotonic()
    r = subprocess.run(["/usr/bin/time", "-v"] + argv, capture_output=True)
    t = time.monotonic() - t0
    if r.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(argv), r.stderr.decode()[-800:]))
    kb, cpu = 0, 0.0
    for line in r.stderr.decode().splitlines():
        if "Maximum resident set size" in line:
            kb = int(line.split(":")[1])
        elif "User time (seconds)" in line or "System time (seconds)" in line:
            cpu += float(line.split(":")[1])
    os.unlink(out)
    return t, kb / 1024.0, cpu


def main():
    runs = int(arg("--runs", "3"))
    work = arg("--work", "/tmp/conv-core-bench")
    if not os.access(TESSERA, os.X_OK):
        sh("make", "-C", TOP)
    inputs = make_inputs(find_corpus(), work)
    load = os.getloadavg()[0]
    out_t = os.path.join(work, "bench_t.tif")
    out_v = os.path.join(work, "bench_v.tif")
    rows = []
    for label, path in inputs:
        tt, tv = [], []
        for _ in range(runs):   # alternate, one at a time
            tt.append(measure([TESSERA, "convert", "--quiet", "--tile", "256", "--quality", "85",
                               path, out_t], out_t))
            tv.append(measure(["vips", "tiffsave", path, out_v, "--tile", "--pyramid",
                               "--compression", "jpeg", "--Q", "85", "--tile-width", "256",
                               "--tile-height", "256"], out_v))
        mt = [statistics.median(x[i] for x in tt) for i in range(3)]
        mv = [statistics.median(x[i] for x in tv) for i in range(3)]
        rows.append((label, mt, mv))
    print("tessera convert vs vips tiffsave --tile --pyramid --compression jpeg --Q 85 "
          "(256 px tiles; medians of %d; %d cores)" % (runs, os.cpu_count()))
    print("load average before: %.1f, after: %.1f (wall times on a loaded box favour the tool "
          "with more threads; CPU seconds do not)" % (load, os.getloadavg()[0]))
    print("%-30s %9s %8s %6s  %9s %8s %6s  %9s %8s %6s" % (
        "input", "tessera s", "vips s", "ratio", "tess cpu", "vips cpu", "ratio",
        "tess MB", "vips MB", "ratio"))
    ok = True
    for label, mt, mv in rows:
        rt, rc, rm = mt[0] / mv[0], mt[2] / mv[2], mt[1] / mv[1]
        ok = ok and rt <= 0.8 and rm <= 1.0
        print("%-30s %9.2f %8.2f %5.2fx  %9.2f %8.2f %5.2fx  %9.0f %8.0f %5.2fx" % (
            label, mt[0], mv[0], rt, mt[2], mv[2], rc, mt[1], mv[1], rm))
    print("targets (wall <= 0.8x, RSS <= 1.0x): %s" % ("met" if ok else "MISSED"))


if __name__ == "__main__":
    main()
