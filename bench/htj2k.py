#!/usr/bin/python3
"""bench/htj2k.py - the first walk over the same images as JPEG 2000 Part 1
and as HTJ2K (Part 15), side by side in one run.

Issue 14's target: HTJ2K sources >= 3x the first-walk rate of the same
images as Part 1 files.  The images are the corpus' JP2 files named by
BENCH_WALK_IMAGES (bench/jp2.py's default four), decoded and written again
by `tessera convert` twice with the same layout (1024 tiles, RPCL, 256
precincts, 64x64 code-blocks, the same number of resolution levels, lossy
at BENCH_HTJ2K_QUALITY or, with BENCH_HTJ2K_LOSSLESS=1, lossless): once as Part 1
(OpenJPEG) and once with --htj2k (OpenJPH).  Then for each format, afresh
each run (a new Tessera, nothing decoded, nothing cached; decoded-tile cache
at its default 128 MB, less than the walk decodes), every 256 tile of every
level of every image is asked once by BENCH_WALK_CONNS clients behind one
nginx (bench/jp2.py's first_walk: IIIF, and DeepZoom on the server's own
DZI grid): tiles/s over the wall time, CPU ms per tile of the Tessera
process, p50/p99 latency, medians of BENCH_RUNS runs, formats alternating
run by run so load from elsewhere falls on both.

Uses bench/jp2.py's helpers (Servers, first_walk, the walks) the way
jp2.py uses run.py's.  Processes are stopped by their own pids only.
Environment: BENCH_RUNS (3), BENCH_WALK_IMAGES, BENCH_WALK_CONNS (6),
BENCH_HTJ2K_WALKS (walk-iiif,walk-dz), BENCH_HTJ2K_LOSSLESS (1: --lossless),
BENCH_HTJ2K_QUALITY (85), BENCH_TESSERA.
"""
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import jp2  # noqa: E402  (Servers, first_walk, walk_iiif, walk_deepzoom, jp2_size)

base = jp2.base
RUNS = base.RUNS
TESSERA = jp2.TESSERA
FORMATS = (("part1", ".jp2", []), ("htj2k", ".jph", ["--htj2k"]))
QUALITY = os.environ.get("BENCH_HTJ2K_QUALITY", "85")


def levels_for(w, h):
    """Resolutions down to a longer side <= 256, at most 11 for 1024 tiles:
    the HTJ2K sink's default, given to both so the pyramids are the same."""
    d = 0
    while (max(w, h) >> d) > 256 and d < 10:
        d += 1
    return d + 1


def make_images(src_dir, out_dir, names, lossless):
    made = {}
    for n in names:
        w, h = jp2.jp2_size(os.path.join(src_dir, n))
        stem = os.path.splitext(n)[0]
        for fmt, ext, extra in FORMATS:
            dst = os.path.join(out_dir, f"{stem}-{fmt}{ext}")
            args = [TESSERA, "convert", "--quiet", "--tile", "1024",
                    "--jp2-levels", str(levels_for(w, h))] + extra
            args += ["--lossless"] if lossless else ["--quality", QUALITY]
            subprocess.run(args + [os.path.join(src_dir, n), dst], check=True)
            made.setdefault(fmt, []).append((os.path.basename(dst), w, h))
    return made


def walk_urls(made, fmt, kind, port):
    out = []
    for name, w, h in made[fmt]:
        if kind == "walk-dz":
            ts, _ = jp2.dzi_tile_size(port, "tessera", name)
            urls = jp2.walk_deepzoom(name, w, h, ts)
        else:
            urls = jp2.WALKS[kind](name, w, h)
        out += [u[0] for u in urls]
    return out


def main():
    src_dir = jp2.images_dir()
    lossless = os.environ.get("BENCH_HTJ2K_LOSSLESS") == "1"
    walks = os.environ.get("BENCH_HTJ2K_WALKS", "walk-iiif,walk-dz").split(",")
    work = tempfile.mkdtemp(prefix="tessera-bench-htj2k-")
    os.chmod(work, 0o755)   # nginx's workers run as nobody and must reach the sockets
    images = os.path.join(work, "images")
    os.makedirs(images)
    port = base.free_port()
    srv = jp2.Servers(work, images)
    results = {}
    try:
        made = make_images(src_dir, images, jp2.WALK_IMAGES, lossless)
        sizes = {fmt: sum(os.path.getsize(os.path.join(images, n)) for n, _, _ in made[fmt])
                 for fmt, _, _ in FORMATS}
        with open(f"{work}/nginx.conf", "w") as f:
            f.write(jp2.NGINX_CONF.format(w=work, port=port))
        base.start(["/usr/sbin/nginx", "-c", f"{work}/nginx.conf", "-p", work, "-g",
                    "daemon off;"])
        for kind in walks:
            for _ in range(RUNS):
                for fmt, _, _ in FORMATS:
                    srv.start(128)   # afresh: nothing decoded, nothing cached
                    urls = walk_urls(made, fmt, kind, port)
                    r = jp2.first_walk(srv, "tessera", port, urls)
                    results.setdefault((kind, fmt), []).append(r)
                    base.log(f"{kind:10} {fmt:6} {len(urls)} tiles: {r['rps']:7.1f} tiles/s "
                             f"cpu={r['cpu_ms']:6.2f} ms/tile p50={r['p50']:7.2f} ms "
                             f"p99={r['p99']:7.2f} ms errors={r['errors']}")
        report(results, walks, sizes, lossless)
    finally:
        srv.stop()
        for p in list(base.procs):
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        base.procs.clear()
        shutil.rmtree(work, ignore_errors=True)


def report(res, walks, sizes, lossless):
    def m(kind, fmt, k):
        return base.median_of(res[(kind, fmt)], k)

    print()
    print(f"First walk, Part 1 vs HTJ2K of the same {len(jp2.WALK_IMAGES)} images "
          f"({', '.join(jp2.WALK_IMAGES)}), {'lossless' if lossless else 'quality ' + QUALITY}, "
          f"1024 tiles; Tessera behind nginx, {jp2.WALK_CONNS} clients, decoded-tile cache "
          f"128 MB; medians of {RUNS} runs; load average {os.getloadavg()[0]:.1f}")
    print(f"files: Part 1 {sizes['part1'] / 1e6:.1f} MB, HTJ2K {sizes['htj2k'] / 1e6:.1f} MB")
    print(f"{'walk':10} {'P1 tiles/s':>10} {'HT tiles/s':>10} {'ratio':>6} {'P1 cpu ms':>9} "
          f"{'HT cpu ms':>9} {'cpu ratio':>9} {'P1 p50/p99 ms':>15} {'HT p50/p99 ms':>15} {'errors':>6}")
    for kind in walks:
        p, h = m(kind, "part1", "rps"), m(kind, "htj2k", "rps")
        pc, hc = m(kind, "part1", "cpu_ms"), m(kind, "htj2k", "cpu_ms")
        errs = sum(r["errors"] for f in ("part1", "htj2k") for r in res[(kind, f)])
        print(f"{kind:10} {p:10.1f} {h:10.1f} {h / p:5.2f}x {pc:9.2f} {hc:9.2f} "
              f"{pc / hc if hc else math.nan:8.2f}x "
              f"{m(kind, 'part1', 'p50'):7.1f}/{m(kind, 'part1', 'p99'):<7.1f} "
              f"{m(kind, 'htj2k', 'p50'):7.1f}/{m(kind, 'htj2k', 'p99'):<7.1f} {errs:6d}")
    print("target (issue 14): HTJ2K >= 3x the Part 1 first-walk rate")


if __name__ == "__main__":
    main()
