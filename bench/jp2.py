#!/usr/bin/python3
"""bench/jp2.py - Tessera against iipsrv on JPEG 2000, behind one nginx.

The same harness as bench/run.py (whose helpers it imports: wrk with
bench/walk.lua, medians of BENCH_RUNS runs, CPU milliseconds per request from
/proc), on the corpus' JP2 files (opj_compress -t 1024,1024 -p RPCL
-c [256,256] -b 64,64 -TLM -PLT -r 10 -I).  Both servers get the same IIIF
2.1 URLs; iipsrv 1.1 from Debian reads JP2 through OpenJPEG.

Response caches are off for both (Tessera --cache-size 0, iipsrv
MAX_IMAGE_CACHE_SIZE=0 and no memcached).  Tessera's decoded-tile cache
(decoded_cache_mb, default 128) stays ON: it is what makes JPEG 2000 tiles
fast, and the table says so.  The "nodc" rows run Tessera with
--decoded-cache-mb 0 (each request decodes its own window) for comparison.

Scenarios:
  tiles        every 256-px tile of every level of dragonfly.jp2 (4224x3168),
               as OpenSeadragon asks them; after the first pass the decoded
               tiles are all in the cache
  tiles-all    the same walk over all JP2 files (~400 MB decoded, more than
               the 128 MB cache holds): code-stream tiles are decoded again
               on every pass, only the neighbouring 256-px tiles share them
  thumbs       full/!800,800 and full/200, of every JP2 file
  *-nodc       the same, Tessera without the decoded-tile cache
  walk-iiif, walk-dz, walk-zoomify
               the "first walk" (issue 14): BENCH_WALK_IMAGES JP2 files (default
               4: bridge, dragonfly, seeding, sunset; ~200 MB decoded, more
               than the 128 MB decoded-tile cache), every 256-px tile of every
               level visited exactly once in viewer order (image by image,
               smallest level first, row by row) by BENCH_WALK_CONNS (6, one
               browser's connections) clients, on servers started afresh
               for every run (nothing decoded yet).  Through IIIF (same URLs
               for both), DeepZoom (Tessera: overlap 1, 258-px windows over
               up to four code-stream tiles; iipsrv: its own ?DeepZoom=) and
               Zoomify (?Zoomify=).  Reports tiles/s (all tiles over the
               wall time of the walk), CPU ms per tile, p50 and p99 latency.
  walk-untiled the same IIIF walk over untiled copies of the walk images,
               Tessera before/after and iipsrv in one run: bench/jp2_untiled.py
               (BENCH_TESSERA_BEFORE names the binary to compare with).

Processes are stopped by their own pids only.
Environment: BENCH_DURATION (10), BENCH_RUNS (3), BENCH_WALK_IMAGES,
BENCH_WALK_CONNS, BENCH_JP2_IMAGES (a
directory with the JP2 files; default /work/corpus/images or
$BENCH_CORPUS/images), BENCH_JP2_SCENARIOS (comma list, default all),
BENCH_TESSERA (the binary; default ./tessera), BENCH_JP2_SYSTEMS (comma list of
tessera,iipsrv; default both).
"""
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import shutil

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as base  # noqa: E402  (helpers: wrk, cpu_ticks, medians...)

TOP = base.TOP
DUR, RUNS = base.DUR, base.RUNS
TILE = 256
IIPSRV = "/usr/lib/iipimage-server/iipsrv.fcgi"
TESSERA = os.environ.get("BENCH_TESSERA", os.path.join(TOP, "tessera"))


def images_dir():
    env = os.environ.get("BENCH_JP2_IMAGES")
    for d in ([env] if env else []) + ["/work/corpus/images", os.path.join(base.CORPUS, "images")]:
        if d and os.path.exists(os.path.join(d, "dragonfly.jp2")):
            return d
    base.sh(["bash", os.path.join(TOP, "..", "shared", "corpus", "fetch-corpus.sh"), base.CORPUS],
            stdout=sys.stderr)
    return os.path.join(base.CORPUS, "images")


def jp2_size(path):
    """Width and height from the codestream's SIZ marker (no tools needed)."""
    with open(path, "rb") as f:
        data = f.read(1 << 16)
    i = data.find(b"\xff\x4f\xff\x51")
    if i < 0:
        raise RuntimeError(f"{path}: no SIZ marker")
    siz = data[i + 4:i + 4 + 40]
    x1, y1, x0, y0 = (int.from_bytes(siz[k:k + 4], "big") for k in (4, 8, 12, 16))
    return x1 - x0, y1 - y0


def tile_regions(w, h):
    """Every tile of every level, as OpenSeadragon asks them (x,y,w,h/ceil(w/s),)."""
    out, s = [], 1
    while True:
        span = TILE * s
        for ty in range(math.ceil(h / span)):
            for tx in range(math.ceil(w / span)):
                x, y = tx * span, ty * span
                rw, rh = min(span, w - x), min(span, h - y)
                out.append(f"{x},{y},{rw},{rh}/{math.ceil(rw / s)},")
        if w / s <= TILE and h / s <= TILE:
            break
        s *= 2
    return out


def url_sets(images):
    names = sorted(n for n in os.listdir(images) if n.endswith(".jp2"))
    sets = {"tiles": [], "tiles-all": [], "thumbs": []}
    for n in names:
        w, h = jp2_size(os.path.join(images, n))
        regions = [(n, t) for t in tile_regions(w, h)]
        if n == "dragonfly.jp2":
            sets["tiles"] = regions
        sets["tiles-all"] += regions
        sets["thumbs"] += [(n, "full/!800,800"), (n, "full/200,")]
    return sets


NGINX_CONF = """
worker_processes 2;
pid {w}/nginx.pid;
error_log {w}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {w}/cb; fastcgi_temp_path {w}/fc; proxy_temp_path {w}/px;
  uwsgi_temp_path {w}/uw; scgi_temp_path {w}/sc;
  # No fastcgi_keep_conn: libfcgi pins a worker to a kept-alive connection.
  upstream tessera {{ server unix:{w}/tessera.sock; }}
  upstream iipsrv {{ server unix:{w}/iip.sock; }}
  server {{
    listen 127.0.0.1:{port};
    merge_slashes off;
    location /iiif/ {{
      fastcgi_pass tessera;
      include /etc/nginx/fastcgi_params;
      fastcgi_param REQUEST_URI $request_uri;
    }}
    location /deepzoom/ {{
      fastcgi_pass tessera;
      include /etc/nginx/fastcgi_params;
      fastcgi_param REQUEST_URI $request_uri;
    }}
    location /zoomify/ {{
      fastcgi_pass tessera;
      include /etc/nginx/fastcgi_params;
      fastcgi_param REQUEST_URI $request_uri;
    }}
    location /fcgi-bin/iipsrv.fcgi {{
      fastcgi_pass iipsrv;
      include /etc/nginx/fastcgi_params;
    }}
  }}
}}
"""


def kill_pid(pid, sig=signal.SIGTERM):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


class Servers:
    """Tessera (one process, 2 threads) and iipsrv (2 processes via spawn-fcgi)."""

    def __init__(self, work, images):
        self.work, self.images = work, images
        self.tessera = None
        self.iip_pids = []

    def stop(self):
        if self.tessera:
            os.killpg(self.tessera.pid, signal.SIGTERM)
            try:
                self.tessera.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.tessera.pid, signal.SIGKILL)
                self.tessera.wait()
            base.procs.remove(self.tessera)
            self.tessera = None
        for pid in self.iip_pids:
            kill_pid(pid)
        end = time.time() + 5
        while self.iip_pids and time.time() < end and any(
                os.path.exists(f"/proc/{p}") for p in self.iip_pids):
            time.sleep(0.05)
        for pid in self.iip_pids:
            kill_pid(pid, signal.SIGKILL)
        self.iip_pids = []
        for s in ("tessera.sock", "iip.sock"):
            try:
                os.unlink(os.path.join(self.work, s))
            except FileNotFoundError:
                pass

    def start(self, decoded_mb):
        self.stop()
        if not os.access(TESSERA, os.X_OK):
            raise RuntimeError(TESSERA + " is missing: run make")
        self.tessera = base.start([TESSERA, "serve", "--root", self.images,
                                   "--fastcgi", f"{self.work}/tessera.sock",
                                   "--cache-size", "0", "--decoded-cache-mb", str(decoded_mb),
                                   "--verbosity", "1"])
        env = dict(os.environ, FILESYSTEM_PREFIX=self.images + "/", VERBOSITY="0",
                   MAX_CVT="5000", JPEG_QUALITY="75", MAX_IMAGE_CACHE_SIZE="0")
        env.pop("MEMCACHED_SERVERS", None)
        pidfile = f"{self.work}/iip.pid"
        subprocess.run(["spawn-fcgi", "-s", f"{self.work}/iip.sock", "-M", "0666", "-F", "2",
                        "-P", pidfile, "--", IIPSRV], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(pidfile) as f:
            self.iip_pids = [int(x) for x in f.read().split()]
        base.wait_socket(f"{self.work}/tessera.sock")
        base.wait_socket(f"{self.work}/iip.sock")
        time.sleep(0.3)
        if self.tessera.poll() is not None:
            raise RuntimeError("tessera exited at start")

    def pids(self, system):
        return [self.tessera.pid] if system == "tessera" else list(self.iip_pids)


def tessera_url(ident, rest):
    return f"/iiif/2/{ident}/{rest}/0/default.jpg"


def iipsrv_url(ident, rest):
    return f"/fcgi-bin/iipsrv.fcgi?IIIF={ident}/{rest}/0/default.jpg"


def check_iipsrv_reads_jp2(port):
    """iipsrv must really decode the JP2 (its info.json has the right size)."""
    import json
    import urllib.request
    url = f"http://127.0.0.1:{port}/fcgi-bin/iipsrv.fcgi?IIIF=dragonfly.jp2/info.json"
    with urllib.request.urlopen(url, timeout=30) as r:
        info = json.loads(r.read())
    w, h = info.get("width"), info.get("height")
    base.log(f"iipsrv info.json for dragonfly.jp2: {w}x{h}")
    if (w, h) != (4224, 3168):
        raise RuntimeError("iipsrv does not read the JP2 (info.json " + repr(info)[:200] + ")")


def measure(srv, system, port, listfile, conns):
    pids = srv.pids(system)
    base.settle(srv.pids("tessera") + srv.pids("iipsrv"))   # the previous run's leftovers
    t0 = base.cpu_ticks(pids)
    r = base.wrk(port, listfile, conns, DUR)
    t1 = base.cpu_ticks(srv.pids(system))
    r["cpu_ms"] = (t1 - t0) * 1000.0 / base.TICK / max(r["req"], 1)
    r["rss_mib"] = base.rss_peak_kib(srv.pids(system)) / 1024
    return r


# ---- the first walk ---------------------------------------------------------

WALK_IMAGES = os.environ.get("BENCH_WALK_IMAGES",
                             "bridge.jp2,dragonfly.jp2,seeding.jp2,sunset.jp2").split(",")
WALK_CONNS = int(os.environ.get("BENCH_WALK_CONNS", "6"))


def walk_iiif(name, w, h):
    """IIIF 2.1 tiles, smallest level first, row by row (OpenSeadragon's URLs)."""
    levels, s = [], 1
    while True:
        levels.append(s)
        if w / s <= TILE and h / s <= TILE:
            break
        s *= 2
    out = []
    for s in reversed(levels):
        span = TILE * s
        for ty in range(math.ceil(h / span)):
            for tx in range(math.ceil(w / span)):
                x, y = tx * span, ty * span
                rw, rh = min(span, w - x), min(span, h - y)
                rest = f"{x},{y},{rw},{rh}/{math.ceil(rw / s)},/0/default.jpg"
                out.append((f"/iiif/2/{name}/{rest}", f"/fcgi-bin/iipsrv.fcgi?IIIF={name}/{rest}"))
    return out


def walk_deepzoom(name, w, h, ts=256):
    """DeepZoom tiles (TileSize ts, as the server's DZI says) of the levels
    from the one that fits a tile up to the full image (DZI: level max =
    ceil(log2(max(W,H))), each below halves rounding up)."""
    top = math.ceil(math.log2(max(w, h)))
    k = 0
    while math.ceil(w / 2 ** k) > ts or math.ceil(h / 2 ** k) > ts:
        k += 1
    out = []
    for lv in range(top - k, top + 1):
        s = 2 ** (top - lv)
        lw, lh = math.ceil(w / s), math.ceil(h / s)
        for r in range(math.ceil(lh / ts)):
            for c in range(math.ceil(lw / ts)):
                rel = f"{name}_files/{lv}/{c}_{r}.jpg"
                out.append((f"/deepzoom/{rel}", f"/fcgi-bin/iipsrv.fcgi?DeepZoom={rel}"))
    return out


def dzi_tile_size(port, system, name):
    """TileSize and Overlap of the server's own DZI for name."""
    import re
    import urllib.request
    u = (f"/deepzoom/{name}.dzi" if system == "tessera"
         else f"/fcgi-bin/iipsrv.fcgi?DeepZoom={name}.dzi")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{u}", timeout=60) as r:
        body = r.read().decode()
    return (int(re.search(r'TileSize="(\d+)"', body).group(1)),
            int(re.search(r'Overlap="(\d+)"', body).group(1)))


def walk_zoomify(name, w, h):
    """Zoomify tiers as OpenSeadragon computes them (floor-halving while a
    side exceeds the tile), smallest first, 256 tiles to a TileGroup."""
    tiers = [(w, h)]
    while tiers[-1][0] > TILE or tiers[-1][1] > TILE:
        tiers.append((tiers[-1][0] // 2, tiers[-1][1] // 2))
    tiers.reverse()
    out, index = [], 0
    for z, (tw, th) in enumerate(tiers):
        for y in range(math.ceil(th / TILE)):
            for x in range(math.ceil(tw / TILE)):
                rel = f"{name}/TileGroup{index // 256}/{z}-{x}-{y}.jpg"
                out.append((f"/zoomify/{rel}", f"/fcgi-bin/iipsrv.fcgi?Zoomify={rel}"))
                index += 1
    return out


WALKS = {"walk-iiif": walk_iiif, "walk-dz": walk_deepzoom, "walk-zoomify": walk_zoomify}


def walk_urls(images, kind, system, port):
    """The walk's URLs for one system (DeepZoom: on that server's DZI grid)."""
    out = []
    for n in WALK_IMAGES:
        w, h = jp2_size(os.path.join(images, n))
        if kind == "walk-dz":
            ts, ov = dzi_tile_size(port, system, n)
            if n == WALK_IMAGES[0]:
                base.log(f"{system} DeepZoom: TileSize {ts}, Overlap {ov}")
            urls = walk_deepzoom(n, w, h, ts)
        else:
            urls = WALKS[kind](n, w, h)
        out += [u[0] if system == "tessera" else u[1] for u in urls]
    return out


def first_walk(srv, system, port, urls):
    """Every URL once, WALK_CONNS clients taking the next one in order:
    tiles/s over the wall time, CPU ms per tile, latency percentiles."""
    import http.client
    import threading
    pos, lat, errors, codes = [0], [], [0], {}
    lock = threading.Lock()

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                if pos[0] >= len(urls):
                    break
                u = urls[pos[0]]
                pos[0] += 1
            t0 = time.monotonic()
            try:
                conn.request("GET", u)
                r = conn.getresponse()
                r.read()
                ok, code = r.status == 200, r.status
            except (OSError, http.client.HTTPException):
                ok, code = False, "conn"
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            dt = (time.monotonic() - t0) * 1000
            with lock:
                lat.append(dt)
                if not ok:
                    errors[0] += 1
                    codes[code] = codes.get(code, 0) + 1
        conn.close()

    pids = srv.pids(system)
    c0 = base.cpu_ticks(pids)
    t0 = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(WALK_CONNS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    c1 = base.cpu_ticks(srv.pids(system))
    lat.sort()
    n = len(lat)
    if codes:
        base.log(f"{system}: non-200 answers {codes} (tiles/s counts them too)")
    return {"rps": n / wall, "p50": lat[n // 2], "p99": lat[min(n - 1, int(n * 0.99))],
            "cpu_ms": (c1 - c0) * 1000.0 / base.TICK / max(n, 1), "errors": errors[0],
            "req": n, "rss_mib": base.rss_peak_kib(srv.pids(system)) / 1024}


# scenario -> (URL set, connections, decoded_cache_mb, systems)
SCENARIOS = [
    ("tiles", "tiles", 8, 128, ("tessera", "iipsrv")),
    ("tiles-nodc", "tiles", 8, 0, ("tessera",)),
    ("tiles-all", "tiles-all", 8, 128, ("tessera", "iipsrv")),
    ("tiles-all-nodc", "tiles-all", 8, 0, ("tessera",)),
    ("thumbs", "thumbs", 4, 128, ("tessera", "iipsrv")),
    ("thumbs-nodc", "thumbs", 4, 0, ("tessera",)),
    ("walk-iiif", "walk-iiif", WALK_CONNS, 128, ("tessera", "iipsrv")),
    ("walk-dz", "walk-dz", WALK_CONNS, 128, ("tessera", "iipsrv")),
    ("walk-zoomify", "walk-zoomify", WALK_CONNS, 128, ("tessera", "iipsrv")),
]


def main():
    images = images_dir()
    want = os.environ.get("BENCH_JP2_SCENARIOS")
    scenarios = [s for s in SCENARIOS if not want or s[0] in want.split(",")]
    only = os.environ.get("BENCH_JP2_SYSTEMS")   # e.g. "tessera": skip iipsrv
    if only:
        scenarios = [(a, b, c, d, tuple(x for x in e if x in only.split(",")))
                     for a, b, c, d, e in scenarios]
    work = tempfile.mkdtemp(prefix="tessera-bench-jp2-")
    os.chmod(work, 0o755)   # nginx's workers run as nobody and must reach the sockets
    port = base.free_port()
    srv = Servers(work, images)
    try:
        with open(f"{work}/nginx.conf", "w") as f:
            f.write(NGINX_CONF.format(w=work, port=port))
        base.start(["/usr/sbin/nginx", "-c", f"{work}/nginx.conf", "-p", work, "-g",
                    "daemon off;"])
        sets = url_sets(images)
        lists = {}
        for kind, items in sets.items():
            for system, fn in (("tessera", tessera_url), ("iipsrv", iipsrv_url)):
                path = f"{work}/{kind}-{system}.txt"
                base.write_list(path, fn, items)
                lists[(kind, system)] = path
        results = {}
        iip_checked = False
        for name, kind, conns, dmb, systems in scenarios:
            if kind in WALKS:
                for system in systems:
                    runs = []
                    for _ in range(RUNS):
                        srv.start(dmb)   # afresh: nothing decoded, nothing cached
                        urls = walk_urls(images, kind, system, port)
                        runs.append(first_walk(srv, system, port, urls))
                    base.log(f"{name}: {len(urls)} tiles of {len(WALK_IMAGES)} images")
                    results[(name, system)] = runs
                    base.log(f"{name:15} {system:8} tiles/s={base.median_of(runs, 'rps'):8.1f} "
                             f"p50={base.median_of(runs, 'p50'):7.2f}ms "
                             f"p99={base.median_of(runs, 'p99'):7.2f}ms "
                             f"cpu={base.median_of(runs, 'cpu_ms'):6.2f}ms/tile "
                             f"errors={sum(r['errors'] for r in runs)}")
                continue
            srv.start(dmb)
            if not iip_checked and "iipsrv" in systems:
                check_iipsrv_reads_jp2(port)
                iip_checked = True
            for system in systems:
                runs = [measure(srv, system, port, lists[(kind, system)], conns)
                        for _ in range(RUNS)]
                results[(name, system)] = runs
                base.log(f"{name:15} {system:8} rps={base.median_of(runs, 'rps'):8.1f} "
                         f"p50={base.median_of(runs, 'p50'):7.2f}ms "
                         f"p99={base.median_of(runs, 'p99'):7.2f}ms "
                         f"cpu={base.median_of(runs, 'cpu_ms'):6.2f}ms/req "
                         f"errors={sum(r['errors'] for r in runs)}")
        report(results, scenarios)
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


def report(res, scenarios):
    def m(s, sys_, k):
        return base.median_of(res[(s, sys_)], k) if (s, sys_) in res else float("nan")

    print()
    print(f"JPEG 2000: Tessera vs iipsrv 1.1 (2 processes, OpenJPEG); medians of {RUNS} runs "
          f"of {DUR}s; same nginx, 127.0.0.1, {os.cpu_count()} CPUs")
    print("Response caches off for both; Tessera's decoded-tile cache ON (128 MB) except "
          "in *-nodc rows (ratios of nodc rows are against the iipsrv row of the same URLs).")
    print(f"{'scenario':15} {'tessera r/s':>11} {'iipsrv r/s':>10} {'ratio':>6} "
          f"{'T p50/p99 ms':>15} {'I p50/p99 ms':>15} {'T cpu ms':>8} {'I cpu ms':>8} "
          f"{'T rss MiB':>9} {'I rss MiB':>9}")
    for name, *_ in scenarios:
        peer = name.replace("-nodc", "")
        t, i = m(name, "tessera", "rps"), m(peer, "iipsrv", "rps")
        print(f"{name:15} {t:11.1f} {i:10.1f} {t / i:6.2f} "
              f"{m(name, 'tessera', 'p50'):7.2f}/{m(name, 'tessera', 'p99'):<7.2f} "
              f"{m(peer, 'iipsrv', 'p50'):7.2f}/{m(peer, 'iipsrv', 'p99'):<7.2f} "
              f"{m(name, 'tessera', 'cpu_ms'):8.2f} {m(peer, 'iipsrv', 'cpu_ms'):8.2f} "
              f"{m(name, 'tessera', 'rss_mib'):9.1f} {m(peer, 'iipsrv', 'rss_mib'):9.1f}")
    errs = sum(r["errors"] for runs in res.values() for r in runs)
    print(f"non-2xx responses during the benchmark: {errs}")


if __name__ == "__main__":
    main()
