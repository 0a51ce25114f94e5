#!/usr/bin/python3
"""bench/jp2_untiled.py - the first walk over untiled (single-tile) JPEG 2000
files: Tessera before and after keeping an OpenJPEG codec per open source
(src/source/jp2_opj.c) and cutting untiled levels into virtual tiles for the
decoded-tile cache (src/source/jp2_read.c), and iipsrv, in one run.

Scenario walk-untiled: bench/jp2.py's walk-iiif (every 256-px tile of every
level visited once in viewer order by 6 clients, servers started afresh for
every run, decoded-tile cache 128 MB) over untiled copies of its walk images
(bridge, dragonfly, seeding, sunset), made once under build/bench-untiled/
from the corpus' source JPEGs the way bench/j2k_decoders.sh makes its
untiled files: opj_compress -p RPCL -c [256,256] -b 64,64 -TLM -PLT -r 10 -I
-n 6 (no -t: one tile).  Same nginx, same URLs for both Tessera builds.

Environment: BENCH_TESSERA (after; default ./tessera), BENCH_TESSERA_BEFORE
(required: e.g. the main branch's build), BENCH_RUNS, BENCH_WALK_IMAGES,
BENCH_WALK_CONNS, BENCH_CORPUS (source JPEGs in $BENCH_CORPUS/src).

Figures (2026-12-07, the 2-core box loaded by other engineers: load average
9.8-19.8 during the run; BENCH_RUNS=2, medians; 1179 tiles of 4 images, 6
clients; Tessera 2 workers, iipsrv 2 processes; "before" is the main branch
at e05a911):

    BENCH_TESSERA_BEFORE=/tmp/tessera-main BENCH_CORPUS=/work/main/build/corpus \
      BENCH_RUNS=2 /usr/bin/python3 bench/jp2_untiled.py

    system    tiles/s cpu ms/tile   p50 ms   p99 ms  rss MiB errors
    before        8.9       33.52    648.3   1620.2    212.3      0
    after        24.4       18.34    189.8   1184.9    410.1      0
    iipsrv       16.6       46.89    423.5    906.0     64.5      0
    after/before tiles/s 2.74x, CPU per tile 1.83x less; after/iipsrv 1.47x,
    before/iipsrv 0.54x

With 1024-px virtual tiles instead of 512 (one run): after 14.6 tiles/s,
16.7 ms CPU per tile, p50 21 ms, p99 2971 ms (before 7.4, 33.9 ms, 778 /
1808; iipsrv 9.4, 48.3 ms, 564 / 1597).  The split, one thread, every
256-px tile of dragonfly untiled's levels walked in order (313 tiles, a
small C harness over ts_jp2_source_ops): a fresh codec per window and no
cache 35.6-37.7 ms CPU per tile; virtual tiles on fresh codecs 22.4 (1024) /
19.6 (512); virtual tiles on the kept codec 15.6 / 14.7.

Processes are stopped by their own pids only.
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as base  # noqa: E402
import jp2  # noqa: E402

OPJ_OPTS = ["-p", "RPCL", "-c", "[256,256]", "-b", "64,64", "-TLM", "-PLT", "-r", "10", "-I",
            "-n", "6"]


def make_untiled():
    """Untiled copies of the walk images (once), named as the originals."""
    out = os.path.join(base.TOP, "build", "bench-untiled")
    os.makedirs(out, exist_ok=True)
    src = os.path.join(base.CORPUS, "src")
    for n in jp2.WALK_IMAGES:
        stem = n[:-4]
        dst = os.path.join(out, n)
        if os.path.exists(dst) and os.path.getsize(dst) > 0:
            continue
        ppm = os.path.join(out, stem + ".ppm")
        base.sh(["vips", "copy", os.path.join(src, stem + ".jpg"), ppm])
        base.sh(["opj_compress", "-i", ppm, "-o", dst + ".tmp.jp2"] + OPJ_OPTS,
                stdout=subprocess.DEVNULL)
        os.rename(dst + ".tmp.jp2", dst)
        os.unlink(ppm)
    return out


def main():
    before = os.environ.get("BENCH_TESSERA_BEFORE")
    after = jp2.TESSERA
    if not before or not os.access(before, os.X_OK):
        sys.exit("BENCH_TESSERA_BEFORE must name the binary to compare with")
    images = make_untiled()
    work = tempfile.mkdtemp(prefix="tessera-bench-untiled-")
    os.chmod(work, 0o755)
    port = base.free_port()
    srv = jp2.Servers(work, images)
    load = []
    res = {}
    try:
        with open(f"{work}/nginx.conf", "w") as f:
            f.write(jp2.NGINX_CONF.format(w=work, port=port))
        base.start(["/usr/sbin/nginx", "-c", f"{work}/nginx.conf", "-p", work, "-g",
                    "daemon off;"])
        systems = (("before", before, "tessera"), ("after", after, "tessera"),
                   ("iipsrv", after, "iipsrv"))
        for _ in range(base.RUNS):
            # interleaved, so that the load of the box falls on all three alike
            for label, binary, system in systems:
                jp2.TESSERA = binary
                srv.start(128)
                urls = jp2.walk_urls(images, "walk-iiif", system, port)
                res.setdefault(label, []).append(jp2.first_walk(srv, system, port, urls))
                load.append(os.getloadavg()[0])
                r = res[label][-1]
                base.log(f"{label:7} tiles/s={r['rps']:7.1f} cpu={r['cpu_ms']:6.2f}ms/tile "
                         f"p50={r['p50']:7.1f} p99={r['p99']:7.1f} errors={r['errors']}")
        print()
        print(f"walk-untiled: {len(urls)} tiles of {len(jp2.WALK_IMAGES)} untiled images, "
              f"{jp2.WALK_CONNS} clients; medians of {base.RUNS} runs; load average "
              f"{min(load):.1f}-{max(load):.1f}")
        print(f"{'system':8} {'tiles/s':>8} {'cpu ms/tile':>11} {'p50 ms':>8} {'p99 ms':>8} "
              f"{'rss MiB':>8} {'errors':>6}")
        for label, _, _ in systems:
            runs = res[label]
            print(f"{label:8} {base.median_of(runs, 'rps'):8.1f} "
                  f"{base.median_of(runs, 'cpu_ms'):11.2f} {base.median_of(runs, 'p50'):8.1f} "
                  f"{base.median_of(runs, 'p99'):8.1f} {base.median_of(runs, 'rss_mib'):8.1f} "
                  f"{sum(r['errors'] for r in runs):6d}")
        a, b, i = (base.median_of(res[k], "rps") for k in ("after", "before", "iipsrv"))
        ca, cb = (base.median_of(res[k], "cpu_ms") for k in ("after", "before"))
        print(f"after/before tiles/s {a / b:.2f}x, CPU per tile {cb / ca:.2f}x less; "
              f"after/iipsrv {a / i:.2f}x, before/iipsrv {b / i:.2f}x")
    finally:
        srv.stop()
        for p in list(base.procs):
            try:
                os.killpg(p.pid, 15)
                p.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        base.procs.clear()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
