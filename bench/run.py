#!/usr/bin/python3
"""bench/run.py - Tessera against iipsrv and static nginx, behind one nginx.

One nginx on 127.0.0.1 routes /iiif/ to Tessera (FastCGI, Unix socket),
/fcgi-bin/iipsrv.fcgi to Debian's iipsrv (spawn-fcgi, two processes), and
/static/ to the same tiles written as files by `vips dzsave --layout iiif3`.
wrk (bench/walk.lua) walks viewer-like URL lists.  Every figure is the median
of BENCH_RUNS runs; CPU milliseconds per request come from /proc (steadier
than requests/s on a noisy 2-core machine).  Both servers are asked the same
IIIF 2.1 URLs, since iipsrv 1.1 speaks 2.1 only.

Scenarios:
  warm     tiles with caches hot (Tessera's cache; iipsrv with memcached)
  cold     tiles with caches off (Tessera --cache-size 0; iipsrv no memcached)
  regions  thumbnails (!800,800) and non-aligned regions, caches off
  fullmax  full/max of a 4224x3168 image, caches off
  mixed    cold tiles while two connections ask for large regions; reports
           the tiles' p99 next to their idle p99
  regionmix  issue 14's mixed workload of arbitrary regions and thumbnails:
           a fixed-seed list over several JPEG-tiled pyramidal TIFFs of
           non-aligned regions (and full images) at !800,800, 512, ,400,
           pct:25 and !1024,1024, caches off for both (Tessera --cache-size
           0, iipsrv without memcached); reports req/s, CPU ms per request,
           p50 and p99 of both and their ratios

BENCH_TESSERA=/path/to/tessera measures that binary instead of ./tessera;
BENCH_BASELINE=/path/to/an/older/tessera adds a third system, "baseline",
measured in the same run behind the same nginx (its own port), so that a
change is compared with the build before it side by side.
"""
import math
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DUR = int(os.environ.get("BENCH_DURATION", "10"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
CORPUS = os.environ.get("BENCH_CORPUS", os.path.join(TOP, "build", "corpus"))
BIG = os.environ.get("BENCH_BIG", "0") == "1"
# comma list of scenarios to run (default all): warm,cold,regions,fullmax,mixed,regionmix
ONLY = set(filter(None, os.environ.get("BENCH_SCENARIOS", "").split(",")))
TILE = 256
TICK = os.sysconf("SC_CLK_TCK")
TESSERA = os.path.join(TOP, "tessera")
BASELINE = os.environ.get("BENCH_BASELINE", "")
# several images for regionmix (all in the corpus, all JPEG-tiled pyramids)
MIX_IMAGES = ["dragonfly_jpeg.tif", "sunset_jpeg.tif", "kleiber_jpeg.tif", "seeding_jpeg.tif",
              "bridge_jpeg.tif"]
MIX_FORMS = ["!800,800", "512,", ",400", "pct:25", "!1024,1024"]

procs = []


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def ensure_corpus():
    images = os.path.join(CORPUS, "images")
    want = ["dragonfly_jpeg.tif", "sunset_jpeg.tif", "kleiber_jpeg.tif"]
    want += [m for m in MIX_IMAGES if m not in want]
    if BIG:
        want.append("big_jpeg.tif")
    if not all(os.path.exists(os.path.join(images, w)) for w in want):
        env = dict(os.environ, CORPUS_BIG="1" if BIG else "0")
        sh(["bash", os.path.join(TOP, "..", "shared", "corpus", "fetch-corpus.sh"), CORPUS],
           env=env, stdout=sys.stderr)
    return images, want


def vips_size(path):
    w = int(subprocess.check_output(["vipsheader", "-f", "width", path]))
    h = int(subprocess.check_output(["vipsheader", "-f", "height", path]))
    return w, h


def ensure_static(images, name, static_root):
    """The same image as static IIIF 3 tiles (vips dzsave), made once."""
    out = os.path.join(static_root, name)
    if not os.path.isdir(out):
        tmp = out + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        sh(["vips", "dzsave", os.path.join(images, name + ".tif"), tmp, "--layout", "iiif3",
            "--tile-size", str(TILE), "--suffix", ".jpg[Q=75]"], stdout=sys.stderr)
        # dzsave appends the basename; move its tree into place
        inner = os.path.join(tmp, name) if os.path.isdir(os.path.join(tmp, name)) else tmp
        os.rename(inner, out)
        shutil.rmtree(tmp, ignore_errors=True)
    paths = []
    for dirpath, _, files in os.walk(out):
        for f in files:
            if f.endswith(".jpg"):
                paths.append("/static/" + os.path.relpath(os.path.join(dirpath, f), static_root))
    paths.sort()
    return paths


def tile_regions(w, h):
    """Every tile of every level, as OpenSeadragon asks them (x,y,w,h/ceil(w/s),)."""
    out = []
    s = 1
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


def nonaligned(rnd, lo, hi):
    """A random coordinate in [lo, hi] that is not on a 256-pixel tile edge."""
    while True:
        v = rnd.randint(lo, hi)
        if v % TILE or lo == hi:
            return v


def mix_regions(images):
    """issue 14's mixed workload: per image 60 requests, each a size form of
    MIX_FORMS (round robin) of a non-aligned region (the thumbnail forms
    !800,800 and !1024,1024 of the full image one time in two), every region
    at least as large as the size asked, so nobody upscales.  Fixed seed."""
    rnd = random.Random(14)
    out = []
    for n in MIX_IMAGES:
        w, h = vips_size(os.path.join(images, n))
        for k in range(60):
            form = MIX_FORMS[k % len(MIX_FORMS)]
            if form.startswith("!") and rnd.random() < 0.5:
                out.append((n, f"full/{form}"))
                continue
            lo_w = {"512,": 512, "!800,800": 800, "!1024,1024": 1024}.get(form, 300)
            lo_h = {",400": 400, "!800,800": 800, "!1024,1024": 1024}.get(form, 300)
            rw = rnd.randint(lo_w, min(w, 3200))
            rh = rnd.randint(lo_h, min(h, 3200))
            x, y = nonaligned(rnd, 1, w - rw), nonaligned(rnd, 1, h - rh)
            out.append((n, f"{x},{y},{rw},{rh}/{form}"))
    rnd.shuffle(out)
    return out


def url_sets(images, names):
    rnd = random.Random(1)
    tiles, regions, big = [], [], []
    for n in names:
        if n not in ("dragonfly_jpeg.tif", "sunset_jpeg.tif", "kleiber_jpeg.tif", "big_jpeg.tif"):
            continue
        w, h = vips_size(os.path.join(images, n))
        ident = n
        tiles += [(ident, t) for t in tile_regions(w, h)]
        regions.append((ident, "full/!800,800"))
        for _ in range(20):
            rw, rh = rnd.randint(300, 1500), rnd.randint(300, 1500)
            x, y = rnd.randint(0, w - rw), rnd.randint(0, h - rh)
            regions.append((ident, f"{x},{y},{rw},{rh}/512,"))
        for _ in range(4):
            x, y = rnd.randint(0, w - 3000), rnd.randint(0, h - 2400)
            big.append((ident, f"{x},{y},3000,2400/1500,"))
    fullmax = [("dragonfly_jpeg.tif", "full/max")]
    return {"tiles": tiles, "regions": regions, "fullmax": fullmax, "big": big,
            "regionmix": mix_regions(images)}


def write_list(path, prefix_fn, items):
    with open(path, "w") as f:
        for ident, rest in items:
            f.write(prefix_fn(ident, rest) + "\n")


def tessera_url(ident, rest):
    return f"/iiif/2/{ident}/{rest}/0/default.jpg"


def iipsrv_url(ident, rest):
    return f"/fcgi-bin/iipsrv.fcgi?IIIF={ident}/{rest}/0/default.jpg"


NGINX_CONF = """
worker_processes 2;
pid {w}/nginx.pid;
error_log {w}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {w}/cb; fastcgi_temp_path {w}/fc; proxy_temp_path {w}/px;
  uwsgi_temp_path {w}/uw; scgi_temp_path {w}/sc;
  # No keepalive to the upstreams: libfcgi serves a kept-alive connection
  # with one worker until nginx closes it, which starves the other requests
  # (both servers use libfcgi, so both are measured the same way).
  # The same buffers for both upstreams, as conf/nginx-tessera.conf ships:
  # an answer of up to 32 KB is read in one call instead of 4 KB at a time.
  fastcgi_buffer_size 32k; fastcgi_buffers 16 32k;
  upstream tessera {{ server unix:{w}/tessera.sock; }}
  upstream iipsrv {{ server unix:{w}/iip.sock; }}
  upstream baseline {{ server unix:{w}/baseline.sock; }}
  server {{
    listen 127.0.0.1:{bport};
    merge_slashes off;
    location /iiif/ {{
      fastcgi_pass baseline;
      include /etc/nginx/fastcgi_params;
      fastcgi_param REQUEST_URI $request_uri;
    }}
  }}
  server {{
    listen 127.0.0.1:{port};
    merge_slashes off;
    location /iiif/ {{
      fastcgi_pass tessera;
      include /etc/nginx/fastcgi_params;
      fastcgi_param REQUEST_URI $request_uri;
    }}
    location /fcgi-bin/iipsrv.fcgi {{
      fastcgi_pass iipsrv;
      include /etc/nginx/fastcgi_params;
    }}
    location /static/ {{ alias {static}/; }}
  }}
}}
"""


def start(cmd, env=None, **kw):
    p = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, **kw)
    procs.append(p)
    return p


def stop(p):
    """End one process we started (its own session), by its id only."""
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    if p in procs:
        procs.remove(p)


def stop_all():
    for p in list(procs):
        stop(p)


def wait_socket(path, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        if os.path.exists(path):
            return
        time.sleep(0.05)
    raise RuntimeError("no socket " + path)


def children_of(pid):
    """The direct children of pid (our nginx's workers), from /proc."""
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(x) for x in f.read().split()]
        except FileNotFoundError:
            pass
    return out


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (FileNotFoundError, IndexError):
            pass
    return total


def settle(pids, quiet=0.3, limit=15.0):
    """Wait until the server stops working on the previous run's requests.

    When wrk stops, nginx closes the upstream connections of the requests in
    flight.  Tessera drops the work of those (queued and running large
    renders within ~100 ms, tiles not yet decoded: tessera_requests_
    abandoned_total), but finishes the light renders already started, and
    iipsrv goes on with all of its decodes.  Starting the next run at once
    would count that CPU against it.  Returns when the pids used no CPU for
    `quiet` seconds."""
    end = time.time() + limit
    last = cpu_ticks(pids)
    while time.time() < end:
        time.sleep(quiet)
        now = cpu_ticks(pids)
        if now == last:
            return
        last = now


def rss_peak_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                m = re.search(r"VmHWM:\s+(\d+)", f.read())
            total += int(m.group(1)) if m else 0
        except FileNotFoundError:
            pass
    return total


def wrk(port, listfile, conns, dur, threads=2):
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{conns}", f"-d{dur}s", "--timeout", "30s", "-s",
         os.path.join(TOP, "bench", "walk.lua"), f"http://127.0.0.1:{port}", "--", listfile],
        capture_output=True, text=True, timeout=dur + 60).stdout
    m = re.search(r"BENCH requests=(\d+) errors_status=(\d+) p50_us=(\d+) p99_us=(\d+) "
                  r"duration_us=(\d+)", out)
    if not m:
        raise RuntimeError("wrk said: " + out)
    req, errs, p50, p99, d = map(int, m.groups())
    if errs > req // 1000:
        raise RuntimeError(f"{errs} of {req} responses were not 2xx: the figure is invalid")
    return {"rps": req / (d / 1e6), "req": req, "errors": errs, "p50": p50 / 1000,
            "p99": p99 / 1000}


class Servers:
    """Starts Tessera (and the baseline build) and iipsrv in a given cache
    mode behind the shared nginx.  Every process is ours, known by its id:
    iipsrv's two processes share a listening socket made here (what
    spawn-fcgi does), so other people's iipsrv or nginx on this machine are
    neither measured nor stopped."""

    def __init__(self, work, images, nginx):
        self.work, self.images, self.nginx = work, images, nginx
        self.servers = []

    def stop(self):
        for p in self.servers:
            stop(p)
        self.servers = []
        for s in ("tessera.sock", "iip.sock", "baseline.sock"):
            try:
                os.unlink(os.path.join(self.work, s))
            except FileNotFoundError:
                pass

    def start(self, cached):
        self.stop()
        if not os.access(TESSERA, os.X_OK):
            raise RuntimeError("./tessera is missing: run make")
        cache = "256" if cached else "0"
        self.tessera = start([TESSERA, "serve", "--root", self.images,
                              "--fastcgi", f"{self.work}/tessera.sock",
                              "--cache-size", cache, "--verbosity", "1"])
        self.servers.append(self.tessera)
        self.baseline = None
        if BASELINE:
            self.baseline = start([BASELINE, "serve", "--root", self.images,
                                   "--fastcgi", f"{self.work}/baseline.sock",
                                   "--cache-size", cache, "--verbosity", "1"])
            self.servers.append(self.baseline)
        env = dict(os.environ, FILESYSTEM_PREFIX=self.images + "/", VERBOSITY="0",
                   MAX_CVT="5000", JPEG_QUALITY="75")
        if cached:
            env["MEMCACHED_SERVERS"] = f"127.0.0.1:{self.memcached_port}"
            env["MAX_IMAGE_CACHE_SIZE"] = "256"
        else:
            env["MAX_IMAGE_CACHE_SIZE"] = "0"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(f"{self.work}/iip.sock")
        os.chmod(f"{self.work}/iip.sock", 0o666)
        sock.listen(1024)
        # FastCGI: the listening socket is each child's fd 0 (kept as fd 3
        # by the shell, which gives background jobs /dev/null).  Both
        # processes under one shell in one session: with the kernel's
        # autogroup scheduling each session gets an equal share of a busy
        # machine, so iipsrv's two processes get what Tessera's one does.
        self.iip_group = subprocess.Popen(
            ["/bin/sh", "-c", "exec 3<&0; for i in 1 2; do \"$0\" <&3 3<&- & done; wait",
             "/usr/lib/iipimage-server/iipsrv.fcgi"], env=env, stdin=sock.fileno(),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        procs.append(self.iip_group)
        self.servers.append(self.iip_group)
        sock.close()
        end = time.time() + 10
        while len(children_of(self.iip_group.pid)) < 2 and time.time() < end:
            time.sleep(0.05)
        self.iipsrv = children_of(self.iip_group.pid)
        if len(self.iipsrv) != 2:
            raise RuntimeError("iipsrv did not start")
        wait_socket(f"{self.work}/tessera.sock")
        if BASELINE:
            wait_socket(f"{self.work}/baseline.sock")
        time.sleep(0.3)
        for p in self.servers:
            if p.poll() is not None:
                raise RuntimeError(f"{p.args[0]} exited at start")

    def pids(self, system):
        if system == "tessera":
            return [self.tessera.pid]
        if system == "baseline":
            return [self.baseline.pid]
        if system == "iipsrv":
            return list(self.iipsrv)
        return children_of(self.nginx.pid)


def measure(srv, system, port, listfile, conns, dur):
    pids = srv.pids(system)
    settle(pids)
    t0 = cpu_ticks(pids)
    try:
        r = wrk(port, listfile, conns, dur)
    except RuntimeError as e:
        raise RuntimeError(f"{system}: {e}") from e
    t1 = cpu_ticks(srv.pids(system))
    r["cpu_ms"] = (t1 - t0) * 1000.0 / TICK / max(r["req"], 1)
    r["rss_mib"] = rss_peak_kib(srv.pids(system)) / 1024
    return r


def median_of(runs, key):
    return statistics.median(r[key] for r in runs)


def main():
    images, names = ensure_corpus()
    static_root = os.path.join(CORPUS, "static")
    os.makedirs(static_root, exist_ok=True)
    static_paths = ensure_static(images, "dragonfly_jpeg", static_root)
    work = tempfile.mkdtemp(prefix="tessera-bench-")
    os.chmod(work, 0o755)   # nginx's workers run as nobody and must reach the sockets
    # measure a copy, so a rebuild during the run cannot swap the binary
    global TESSERA
    shutil.copy2(os.environ.get("BENCH_TESSERA", os.path.join(TOP, "tessera")),
                 os.path.join(work, "tessera"))
    TESSERA = os.path.join(work, "tessera")
    global BASELINE
    if BASELINE:
        shutil.copy2(BASELINE, os.path.join(work, "baseline"))
        BASELINE = os.path.join(work, "baseline")
    port, bport = free_port(), free_port()
    try:
        with open(f"{work}/nginx.conf", "w") as f:
            f.write(NGINX_CONF.format(w=work, port=port, bport=bport, static=static_root))
        nginx = start(["/usr/sbin/nginx", "-c", f"{work}/nginx.conf", "-p", work, "-g",
                       "daemon off;"])
        mport = free_port()
        start(["memcached", "-l", "127.0.0.1", "-p", str(mport), "-m", "512", "-U", "0",
               "-u", "root"])
        sets = url_sets(images, names)
        lists = {}
        for kind, items in sets.items():
            for system, fn in (("tessera", tessera_url), ("iipsrv", iipsrv_url)):
                path = f"{work}/{kind}-{system}.txt"
                write_list(path, fn, items)
                lists[(kind, system)] = path
            lists[(kind, "baseline")] = lists[(kind, "tessera")]
        with open(f"{work}/tiles-static.txt", "w") as f:
            f.write("\n".join(static_paths) + "\n")
        lists[("tiles", "static")] = f"{work}/tiles-static.txt"

        srv = Servers(work, images, nginx)
        ports = {"baseline": bport}
        both = ("tessera", "baseline", "iipsrv") if BASELINE else ("tessera", "iipsrv")
        srv.memcached_port = mport
        results = {}

        def run(scenario, kind, cached, conns, systems=both):
            if ONLY and scenario not in ONLY:
                return
            srv.start(cached)
            if cached:   # one pass to fill the caches
                for system in systems:
                    wrk(ports.get(system, port), lists[(kind, system)], 8, max(3, DUR // 2))
            # Runs interleaved (A B C A B C ...): on a shared machine whose
            # load drifts, each system sees the same drift.
            for system in systems:
                results[(scenario, system)] = []
            for _ in range(RUNS):
                for system in systems:
                    results[(scenario, system)].append(
                        measure(srv, system, ports.get(system, port), lists[(kind, system)],
                                conns, DUR))
            for system in systems:
                runs = results[(scenario, system)]
                log(f"{scenario:8} {system:8} rps={median_of(runs, 'rps'):9.1f} "
                    f"p50={median_of(runs, 'p50'):7.2f}ms p99={median_of(runs, 'p99'):7.2f}ms "
                    f"cpu={median_of(runs, 'cpu_ms'):6.3f}ms/req errors={sum(r['errors'] for r in runs)}")

        run("warm", "tiles", True, 16, both + ("static",))
        run("cold", "tiles", False, 8)
        run("regions", "regions", False, 4)
        run("regionmix", "regionmix", False, 4)
        run("fullmax", "fullmax", False, 2)

        # mixed: tiles while two connections ask for large regions
        if not ONLY or "mixed" in ONLY:
            srv.start(False)
        for system in both if not ONLY or "mixed" in ONLY else ():
            runs = []
            p = ports.get(system, port)
            for _ in range(RUNS):
                bg = subprocess.Popen(
                    ["wrk", "-t1", "-c2", f"-d{DUR + 2}s", "--timeout", "60s", "-s",
                     os.path.join(TOP, "bench", "walk.lua"), f"http://127.0.0.1:{p}", "--",
                     lists[("big", system)]], stdout=subprocess.DEVNULL)
                time.sleep(1)
                runs.append(measure(srv, system, p, lists[("tiles", system)], 8, DUR))
                bg.wait()
            results[("mixed", system)] = runs
            log(f"mixed    {system:8} tile p99={median_of(runs, 'p99'):.2f}ms")
        report(results)
    finally:
        stop_all()
        shutil.rmtree(work, ignore_errors=True)


def report(res):
    def m(s, sys_, k):
        return median_of(res[(s, sys_)], k) if (s, sys_) in res else float("nan")

    print()
    print(f"Tessera vs iipsrv 1.1 (2 processes) vs static nginx; medians of {RUNS} runs of "
          f"{DUR}s; same nginx, 127.0.0.1")
    print(f"{'scenario':9} {'tessera r/s':>11} {'iipsrv r/s':>10} {'ratio':>6} {'static r/s':>10} "
          f"{'vs static':>9} {'T p50/p99 ms':>14} {'I p50/p99 ms':>14} {'T cpu ms':>8} "
          f"{'I cpu ms':>8} {'T rss MiB':>9} {'I rss MiB':>9}")
    for s in ("warm", "cold", "regions", "regionmix", "fullmax", "mixed"):
        if (s, "tessera") not in res:
            continue
        t, i = m(s, "tessera", "rps"), m(s, "iipsrv", "rps")
        st = m(s, "static", "rps")
        print(f"{s:9} {t:11.1f} {i:10.1f} {t / i:6.2f} {st:10.1f} {t / st:9.2f} "
              f"{m(s, 'tessera', 'p50'):6.2f}/{m(s, 'tessera', 'p99'):<7.2f} "
              f"{m(s, 'iipsrv', 'p50'):6.2f}/{m(s, 'iipsrv', 'p99'):<7.2f} "
              f"{m(s, 'tessera', 'cpu_ms'):8.3f} {m(s, 'iipsrv', 'cpu_ms'):8.3f} "
              f"{m(s, 'tessera', 'rss_mib'):9.1f} {m(s, 'iipsrv', 'rss_mib'):9.1f}")
    print()
    print(f"{'scenario':9} {'system':8} {'r/s':>8} {'cpu ms':>7} {'p50 ms':>7} {'p99 ms':>7}  "
          f"{'r/s ratio':>9} {'cpu ratio':>9} {'p99 ratio':>9}   (ratios: system / iipsrv)")
    for s in ("warm", "cold", "regions", "regionmix", "fullmax", "mixed"):
        for sys_ in ("tessera", "baseline"):
            if (s, sys_) not in res:
                continue
            print(f"{s:9} {sys_:8} {m(s, sys_, 'rps'):8.1f} {m(s, sys_, 'cpu_ms'):7.2f} "
                  f"{m(s, sys_, 'p50'):7.2f} {m(s, sys_, 'p99'):7.2f}  "
                  f"{m(s, sys_, 'rps') / m(s, 'iipsrv', 'rps'):9.2f} "
                  f"{m(s, sys_, 'cpu_ms') / m(s, 'iipsrv', 'cpu_ms'):9.2f} "
                  f"{m(s, sys_, 'p99') / m(s, 'iipsrv', 'p99'):9.2f}")
        if (s, "iipsrv") in res and (s, "tessera") in res:
            print(f"{s:9} {'iipsrv':8} {m(s, 'iipsrv', 'rps'):8.1f} "
                  f"{m(s, 'iipsrv', 'cpu_ms'):7.2f} {m(s, 'iipsrv', 'p50'):7.2f} "
                  f"{m(s, 'iipsrv', 'p99'):7.2f}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    if ("mixed", "tessera") in res:
        print(f"tile p99 under mixed load / idle cold p99: tessera "
              f"{m('mixed', 'tessera', 'p99') / m('cold', 'tessera', 'p99'):.2f}x, iipsrv "
              f"{m('mixed', 'iipsrv', 'p99') / m('cold', 'iipsrv', 'p99'):.2f}x")
    errs = sum(r["errors"] for runs in res.values() for r in runs)
    print(f"non-2xx responses during the benchmark: {errs}")


if __name__ == "__main__":
    main()
