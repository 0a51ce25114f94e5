#!/usr/bin/python3
"""bench/walk_ab.py - first walks (bench/jp2.py's) of two or more Tessera
binaries in turns, behind one nginx: the side-by-side check for a change
to the JPEG 2000 path.

usage: python3 bench/walk_ab.py BIN_A BIN_B [...]

Each round walks every binary once (order rotating round by round), each
on a Tessera started afresh (nothing decoded, nothing cached, decoded-tile
cache 128 MB): every 256 tile of every level of BENCH_WALK_IMAGES once, by
BENCH_WALK_CONNS clients.  Prints per binary the median tiles/s, CPU ms per
tile (the Tessera process, all threads, from /proc), p50 and p99, and the
load average before and after each walk.  A binary may be a wrapper script
that execs tessera (e.g. to set an environment variable): the pid stays
Tessera's.

Environment: BENCH_RUNS (3), PROF_WALK (walk-iiif), PROF_FORMAT (part1, or
htj2k / htj2k-lossless / part1-conv: bench/htj2k.py's converted files,
made with the first binary), BENCH_WALK_IMAGES, BENCH_WALK_CONNS,
BENCH_CORPUS.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import jp2  # noqa: E402
import htj2k  # noqa: E402

base = jp2.base


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main(argv):
    bins = [os.path.abspath(b) for b in argv[1:]]
    if len(bins) < 2:
        print(__doc__.strip())
        return 2
    walk = os.environ.get("PROF_WALK", "walk-iiif")
    fmt = os.environ.get("PROF_FORMAT", "part1")
    work = tempfile.mkdtemp(prefix="tessera-walk-ab-")
    os.chmod(work, 0o755)
    src = jp2.images_dir()
    port = base.free_port()
    res = {b: [] for b in bins}
    srv = None
    try:
        if fmt == "part1":
            images = src
        else:
            images = os.path.join(work, "images")
            os.makedirs(images)
            htj2k.TESSERA = bins[0]
            made = htj2k.make_images(src, images, jp2.WALK_IMAGES, fmt == "htj2k-lossless")
        srv = jp2.Servers(work, images)
        with open(f"{work}/nginx.conf", "w") as f:
            f.write(jp2.NGINX_CONF.format(w=work, port=port))
        base.start(["/usr/sbin/nginx", "-c", f"{work}/nginx.conf", "-p", work, "-g",
                    "daemon off;"])
        for rnd in range(base.RUNS):
            order = bins[rnd % len(bins):] + bins[:rnd % len(bins)]
            for b in order:
                jp2.TESSERA = b
                srv.start(128)
                if fmt == "part1":
                    urls = jp2.walk_urls(images, walk, "tessera", port)
                else:
                    urls = htj2k.walk_urls(made, "htj2k" if fmt.startswith("htj2k")
                                           else "part1", walk, port)
                l0 = loadavg()
                r = jp2.first_walk(srv, "tessera", port, urls)
                r["load"] = f"{l0} -> {loadavg()}"
                res[b].append(r)
                base.log(f"round {rnd} {os.path.basename(b):24} {r['req']} tiles "
                         f"{r['rps']:7.1f} tiles/s cpu={r['cpu_ms']:6.2f} ms/tile "
                         f"p50={r['p50']:7.1f} p99={r['p99']:7.1f} errors={r['errors']} "
                         f"load {r['load']}")
        print(f"\n{walk} {fmt}, {base.RUNS} rounds, medians:")
        print(f"{'binary':40} {'tiles/s':>8} {'cpu ms':>7} {'p50':>7} {'p99':>7}")
        for b in bins:
            print(f"{b[-40:]:40} {base.median_of(res[b], 'rps'):8.1f} "
                  f"{base.median_of(res[b], 'cpu_ms'):7.2f} {base.median_of(res[b], 'p50'):7.1f} "
                  f"{base.median_of(res[b], 'p99'):7.1f}")
        print("cpu ms per round: " + "; ".join(
            os.path.basename(b) + " " + " ".join(f"{r['cpu_ms']:.2f}" for r in res[b])
            for b in bins))
    finally:
        if srv:
            srv.stop()
        for p in list(base.procs):
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        base.procs.clear()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
