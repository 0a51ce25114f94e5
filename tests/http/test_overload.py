"""test_overload.py - admission control, render deadlines, bounded render
memory and the FastCGI read timeout, seen from a client.

Behind nginx: sixteen concurrent rotated full-size PNGs of a 5000x3750
image (each seconds of work and ~300 MB by the daemon's estimate) while an
OpenSeadragon-style walk of stored tiles goes on: no tile waits more than
TILE_BOUND_S, nothing is 504, the renders beyond the queue are answered 503
with Retry-After at once, the daemon's peak RSS (VmHWM) stays under the
configured max_render_memory_mb plus the daemon's own footprint, and
/metrics counts what happened.  A render past max_render_seconds answers
503 and the next request succeeds (embedded HTTP: the same admission).
FastCGI: more idle connections than workers on the daemon's socket leave a
request through nginx unaffected, and they are closed after
fastcgi_read_timeout; with fastcgi_keep_conn and upstream keepalive, kept
connections idle in the gate, and requests succeed across the timeout.

Times are bounds for a noisy 2-core machine, not measurements; the
figures live in bench/overload.py.
"""

import os
import re
import shutil
import socket
import subprocess
import threading
import time

import numpy
from PIL import Image

import harness
from common import Skip, test, expect, expect_status

BIG_W, BIG_H = 5000, 3750
HEAVY = "/iiif/3/big/full/max/45/default.png"
WORKERS = 8
RUNNING, QUEUE = 2, 4
MEMORY_MB = 400
# The daemon's own footprint beside the renders: code, libraries, thread
# stacks, the open image, tiles in flight.  Measured about 30 MB idle.
BASE_SLACK_MB = 120
TILE_BOUND_S = 2.0

_root = {}
_daemons = {}


def overload_root(ctx):
    """A root with one 5000x3750 JPEG-tiled pyramidal TIFF of smooth colour
    and noise (so the PNG encoder has real work), made once."""
    if "dir" in _root:
        return _root["dir"]
    d = os.path.join(ctx.tmp, "overload-img")
    os.makedirs(d, exist_ok=True)
    y, x = numpy.mgrid[0:BIG_H, 0:BIG_W]
    rng = numpy.random.default_rng(13)
    a = numpy.stack([x * 255 // BIG_W, y * 255 // BIG_H, (x ^ y) & 255], axis=-1)
    a = (a // 2 + rng.integers(0, 128, a.shape)).astype(numpy.uint8)
    src = os.path.join(ctx.tmp, "overload-src.tif")
    Image.fromarray(a).save(src)       # uncompressed: fast to write
    r = subprocess.run(["vips", "tiffsave", src, os.path.join(d, "big.tif"), "--tile",
                        "--pyramid", "--tile-width", "256", "--tile-height", "256",
                        "--compression", "jpeg", "--Q", "85"],
                       capture_output=True, timeout=120)
    os.unlink(src)
    if r.returncode != 0:
        raise Skip("vips cannot make the big image: %s" % r.stderr.decode(errors="replace")[-200:])
    _root["dir"] = d
    return d


def daemon(ctx, name, kind, flags):
    if name not in _daemons:
        root = overload_root(ctx)
        if kind == "nginx":
            _daemons[name] = harness.start_nginx_fastcgi(ctx.tmp, name, root, flags)
        else:
            _daemons[name] = harness.start_embedded(ctx.tmp, name, root, flags)
    return _daemons[name]


def metrics(srv):
    r = srv.get("/metrics")
    expect_status(r, 200, "GET /metrics")
    out = {}
    for line in r.body.decode().splitlines():
        if line and not line.startswith("#"):
            k, _, v = line.rpartition(" ")
            out[k] = float(v)
    return out


def vm_hwm_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        m = re.search(r"VmHWM:\s+(\d+) kB", f.read())
    return int(m.group(1)) / 1024.0


def tile_urls(srv):
    """Every stored tile of every level, smallest level first, as a viewer
    asks for them (IIIF 3.0 region and "w," size)."""
    import json
    info = json.loads(srv.get("/iiif/3/big/info.json").body)
    w, h = info["width"], info["height"]
    t = info["tiles"][0]
    tw = t["width"]
    th = t.get("height", tw)
    urls = []
    for s in sorted(t["scaleFactors"], reverse=True):
        for ty in range((h + th * s - 1) // (th * s)):
            for tx in range((w + tw * s - 1) // (tw * s)):
                x, y = tx * tw * s, ty * th * s
                rw, rh = min(tw * s, w - x), min(th * s, h - y)
                urls.append("/iiif/3/big/%d,%d,%d,%d/%d,/0/default.jpg" % (
                    x, y, rw, rh, (rw + s - 1) // s))
    return urls


def walk(srv, urls, stop, out, errors):
    """Ask for tiles one after the other (as a viewer with a few
    connections does), recording each answer's time, until stop is set or
    the tiles run out (then again from the start)."""
    i = 0
    while not stop.is_set():
        u = urls[i % len(urls)]
        i += 1
        t0 = time.monotonic()
        try:
            r = srv.get(u, timeout=30)
        except OSError as e:
            errors.append("%s: %s" % (u, e))
            continue
        out.append((time.monotonic() - t0, r.status))


def p99(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * 0.99))] if xs else 0.0


def heavy_burst(srv, n, results):
    barrier = threading.Barrier(n)

    def one():
        barrier.wait()
        t0 = time.monotonic()
        try:
            r = srv.get(HEAVY, timeout=60)
            results.append((r.status, r.header("Retry-After"), time.monotonic() - t0))
        except OSError as e:
            results.append((0, str(e), time.monotonic() - t0))

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    return threads


@test("overload nginx: 16 heavy renders and a tile walk: tiles never wait behind them, "
      "no 504, the ones beyond the queue get 503 with Retry-After, peak RSS within "
      "max_render_memory_mb, /metrics counts it", server=None)
def _(ctx, srv):
    srv = daemon(ctx, "overload", "nginx", [
        "--threads", str(WORKERS), "--max-heavy-renders", str(RUNNING),
        "--max-heavy-queue", str(QUEUE), "--max-render-seconds", "6",
        "--max-render-memory-mb", str(MEMORY_MB), "--cache-size", "0"])
    urls = tile_urls(srv)
    expect(len(urls) > 300, "the walk has %d tiles" % len(urls))
    # The walk alone first: what a tile costs with nothing heavy running.
    idle, errors, stop = [], [], threading.Event()
    for u in urls[:150]:
        t0 = time.monotonic()
        r = srv.get(u)
        expect_status(r, 200, "GET %s" % u)
        idle.append(time.monotonic() - t0)
    # Now the burst, with two viewers walking.
    loaded = []
    walkers = [threading.Thread(target=walk, args=(srv, urls[k::2], stop, loaded, errors))
               for k in range(2)]
    for t in walkers:
        t.start()
    time.sleep(0.3)
    results = []
    burst = heavy_burst(srv, 16, results)
    for t in burst:
        t.join(90)
    time.sleep(0.5)
    stop.set()
    for t in walkers:
        t.join(60)
    hwm = vm_hwm_mb(srv.procs[0].pid)
    m = metrics(srv)
    statuses = sorted(s for s, _, _ in results)
    tile_times = [t for t, _ in loaded]
    print("    overload: tiles idle p99 %.3f s, under load p99 %.3f s max %.3f s over %d "
          "tiles; heavy statuses %s; VmHWM %.0f MB; refused %d timed out %d" % (
              p99(idle), p99(tile_times), max(tile_times or [0]), len(tile_times), statuses,
              hwm, m.get("tessera_renders_refused_total", -1),
              m.get("tessera_renders_timed_out_total", -1)))
    expect(not errors, "tile requests failed: %s" % errors[:3])
    expect(len(results) == 16, "all 16 heavy requests answered (%d)" % len(results))
    expect(all(s in (200, 503) for s in statuses), "heavy answers are 200 or 503: %s" % statuses)
    expect(all(s != 504 for _, s in loaded), "no tile got 504")
    expect(all(s == 200 for _, s in loaded), "every tile 200: %s" %
           sorted(set(s for _, s in loaded)))
    refused = [(s, ra, t) for s, ra, t in results if s == 503]
    expect(len(refused) >= 16 - RUNNING - QUEUE - 2,
           "at least the renders beyond %d running + %d queued are refused: %s"
           % (RUNNING, QUEUE, statuses))
    expect(all(ra and ra.isdigit() and int(ra) > 0 for _, ra, _ in refused),
           "every 503 carries Retry-After: %s" % [ra for _, ra, _ in refused])
    quick = [t for _, _, t in refused if t < 2.0]
    expect(len(quick) >= 16 - RUNNING - QUEUE - 2,
           "the ones beyond the queue are refused at once: %s" % sorted(t for _, _, t in refused))
    expect(len(tile_times) >= 20, "the walk went on during the burst (%d tiles)" % len(tile_times))
    expect(max(tile_times) < TILE_BOUND_S, "no tile waited %.1f s or more behind the renders: "
           "max %.2f s, p99 %.3f s" % (TILE_BOUND_S, max(tile_times), p99(tile_times)))
    expect(hwm < MEMORY_MB + BASE_SLACK_MB, "peak RSS %.0f MB within max_render_memory_mb %d "
           "+ %d MB" % (hwm, MEMORY_MB, BASE_SLACK_MB))
    expect(m.get("tessera_renders_refused_total", 0) >= len(quick),
           "/metrics counts the refused renders: %s" % m.get("tessera_renders_refused_total"))
    for k in ("tessera_renders_running", "tessera_renders_queued",
              "tessera_renders_timed_out_total", "tessera_render_memory_reserved_bytes"):
        expect(k in m, "/metrics has %s" % k)
    expect(m["tessera_renders_running"] == 0 and m["tessera_renders_queued"] == 0,
           "nothing left running or queued afterwards")
    expect(m["tessera_render_memory_reserved_bytes"] == 0, "every reservation returned")
    r = srv.get("/iiif/3/big/full/200,/0/default.jpg")
    expect_status(r, 200, "a small render after the burst")
    # A heavy one (a 2500x1875 level read whole and scaled) once the burst is
    # over is admitted and made as usual.
    admitted = m.get("tessera_renders_admitted_total", 0)
    r = srv.get("/iiif/3/big/full/1800,/0/default.jpg", timeout=30)
    expect_status(r, 200, "a heavy render after the burst")
    expect(metrics(srv).get("tessera_renders_admitted_total", 0) == admitted + 1,
           "it went through admission")


@test("overload embedded: a render past max_render_seconds answers 503 with Retry-After "
      "and frees its memory; the next request succeeds; /metrics counts it", server=None)
def _(ctx, srv):
    srv = daemon(ctx, "deadline-http", "embedded", [
        "--threads", "6", "--max-render-seconds", "1", "--max-heavy-renders", "1",
        "--max-heavy-queue", "0", "--cache-size", "0"])
    t0 = time.monotonic()
    r = srv.get(HEAVY, timeout=30)
    took = time.monotonic() - t0
    if r.status == 200:
        raise Skip("the machine rendered the rotated 5000x3750 PNG within 1 s (%.2f s)" % took)
    expect_status(r, 503, "GET %s with max_render_seconds 1" % HEAVY)
    expect(r.header("Retry-After", "").isdigit(), "Retry-After on the 503: %r" % r.header("Retry-After"))
    expect(b"longer" in r.body, "the 503 says why: %r" % r.body[:120])
    expect(took < 6.0, "stopped soon after its deadline: %.2f s" % took)
    m = metrics(srv)
    expect(m.get("tessera_renders_timed_out_total", 0) >= 1, "/metrics counts the timed-out render")
    expect(m.get("tessera_render_memory_reserved_bytes", -1) == 0, "its reservation returned")
    r = srv.get("/iiif/3/big/full/300,/0/default.jpg")
    expect_status(r, 200, "the next request")
    r = srv.get("/iiif/3/big/0,0,256,256/256,/0/default.jpg")
    expect_status(r, 200, "a tile after it")


@test("overload embedded: with one render running and no queue, a second heavy request is "
      "refused at once with 503 and Retry-After while tiles still answer", server=None)
def _(ctx, srv):
    srv = daemon(ctx, "admit-http", "embedded", [
        "--threads", "6", "--max-render-seconds", "8", "--max-heavy-renders", "1",
        "--max-heavy-queue", "0", "--cache-size", "0"])
    results = []
    first = threading.Thread(target=lambda: results.append(srv.get(HEAVY, timeout=60)))
    first.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and metrics(srv).get("tessera_renders_running", 0) < 1:
        time.sleep(0.05)
    if not first.is_alive():
        raise Skip("the first render ended before the second could be sent")
    t0 = time.monotonic()
    r = srv.get(HEAVY.replace("45", "30"))
    took = time.monotonic() - t0
    expect_status(r, 503, "a second heavy render while the only slot is taken")
    expect(r.header("Retry-After", "").isdigit(), "Retry-After: %r" % r.header("Retry-After"))
    expect(took < 1.0, "refused at once (%.2f s)" % took)
    t0 = time.monotonic()
    r = srv.get("/iiif/3/big/256,256,256,256/256,/0/default.jpg")
    expect_status(r, 200, "a tile meanwhile")
    expect(time.monotonic() - t0 < TILE_BOUND_S, "the tile did not wait behind the render")
    first.join(60)
    expect(results and results[0].status in (200, 503), "the first render ended: %s" % results)


@test("overload nginx: idle connections to the FastCGI socket, more than the workers, do not "
      "stop service, and are closed after fastcgi_read_timeout", server=None)
def _(ctx, srv):
    srv = daemon(ctx, "fcgi-idle", "nginx", ["--threads", "3", "--fastcgi-read-timeout", "2"])
    sock = os.path.join(ctx.tmp, "srv-fcgi-idle", "tessera.sock")
    idle = []
    for _ in range(3 + 5):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sock)
        idle.append(s)
    # one that sends half a request head and stalls
    half = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    half.connect(sock)
    half.sendall(bytes([1, 1, 0, 1, 0, 8, 0, 0]) + b"\0\1\0\0\0\0\0\0" + bytes([1, 4, 0, 1, 0, 40, 0, 0]) + b"x" * 10)
    idle.append(half)
    time.sleep(0.2)
    t0 = time.monotonic()
    r = srv.get("/iiif/3/big/info.json", timeout=10)
    took = time.monotonic() - t0
    expect_status(r, 200, "info.json through nginx with %d idle FastCGI connections open" % len(idle))
    expect(took < 1.5, "answered promptly (%.2f s), not after the read timeout" % took)
    r = srv.get("/iiif/3/big/0,0,256,256/256,/0/default.jpg", timeout=10)
    expect_status(r, 200, "a tile too")
    closed = 0
    deadline = time.monotonic() + 8
    for s in idle:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            if s.recv(1) == b"":
                closed += 1
        except ConnectionResetError:
            closed += 1      # closed with our unread bytes in its buffer: a reset
        except (socket.timeout, OSError):
            pass
        s.close()
    expect(closed == len(idle), "the daemon closed %d of %d idle connections after the "
           "2 s read timeout" % (closed, len(idle)))


KEEPALIVE_CONF = """
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {d}/temp;
    proxy_temp_path {d}/temp;
    fastcgi_temp_path {d}/temp;
    uwsgi_temp_path {d}/temp;
    scgi_temp_path {d}/temp;
    upstream tessera {{ server unix:{sock}; keepalive 8; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            include {d}/fastcgi_params;
            fastcgi_param REQUEST_URI $request_uri;
            fastcgi_keep_conn on;
            fastcgi_pass tessera;
        }}
    }}
}}
"""


@test("overload nginx: with fastcgi_keep_conn and upstream keepalive, kept connections "
      "idle in the gate, not in workers; requests succeed across the read timeout", server=None)
def _(ctx, srv):
    import concurrent.futures
    root = overload_root(ctx)
    d = os.path.join(ctx.tmp, "srv-keepconn")
    os.makedirs(os.path.join(d, "logs"), exist_ok=True)
    os.makedirs(os.path.join(d, "temp"), exist_ok=True)
    sock = os.path.join(d, "tessera.sock")
    shutil.copy("/etc/nginx/fastcgi_params", os.path.join(d, "fastcgi_params"))
    log = os.path.join(d, "tessera.log")
    p = harness._spawn("keepconn", [harness.TESSERA, "serve", "--root", root, "--fastcgi", sock,
                                    "--threads", "3", "--fastcgi-read-timeout", "1",
                                    "--logfile", log], os.path.join(d, "stdout.log"))
    harness._wait_path(sock, [p], [log])
    port = harness.free_port()
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(KEEPALIVE_CONF.format(d=d, sock=sock, port=port))
    n = harness._spawn("nginx", [harness.NGINX, "-c", conf, "-p", d + "/", "-g", "daemon off;"],
                       os.path.join(d, "nginx-stdout.log"))
    s = harness.Server("keepconn", port, [p, n], [log], root)
    try:
        harness._wait_http(port, [p, n], [log], probe="/iiif/3/big/info.json")
        urls = ["/iiif/3/big/%d,0,256,256/256,/0/default.jpg" % (256 * i) for i in range(19)]
        statuses = []
        for rnd in range(4):
            # six at a time over three workers and eight kept connections
            with concurrent.futures.ThreadPoolExecutor(6) as ex:
                statuses += list(ex.map(lambda u: s.get(u, timeout=10).status, urls * 3))
            time.sleep(1.6 if rnd % 2 == 0 else 0.2)   # past the read timeout, then not
        bad = [x for x in statuses if x != 200]
        expect(not bad, "every request 200 through kept connections: %d of %d not: %s"
               % (len(bad), len(statuses), sorted(set(bad))))
    finally:
        s.stop()
