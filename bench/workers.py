#!/usr/bin/python3
"""bench/workers.py - one process (workers = 1) against a master with two
worker processes (workers = 2), behind the same nginx.

Tessera serves FastCGI on a Unix socket; wrk (bench/walk.lua) walks every
tile of every level of a 6000x4500 JPEG-tiled pyramid (made once with vips
under build/bench-workers/) with BENCH_CONNS connections.  For each mode
and each scenario, BENCH_RUNS runs of BENCH_DURATION seconds; the figures
are medians: tiles/s, p50 and p99 latency, and the CPU milliseconds all
Tessera processes spent per request (steadier than tiles/s on a noisy
machine).  The total number of threads is the same in both modes
(--threads is per process: 8 for one process, 4 for each of two).

Scenarios:
  pass     the response cache off: stored tiles passed through (cheap)
  render   the cache off and --passthrough false: every tile decoded and
           encoded again (CPU-bound)
  warm     the response cache on (256 MB per process): after the first
           pass, every tile a hit (a worker's cache is its own, so with two
           workers each tile is made once per process)

  BENCH_DURATION=10  BENCH_RUNS=3  BENCH_CONNS=16
  BENCH_SCENARIOS=pass,render,warm  TESSERA_BIN=./tessera

Usage: /usr/bin/python3 bench/workers.py    (needs wrk and nginx)
Timings are never part of `make check`.
"""
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESSERA = os.environ.get("TESSERA_BIN", os.path.join(TOP, "tessera"))
DUR = int(os.environ.get("BENCH_DURATION", "10"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
CONNS = int(os.environ.get("BENCH_CONNS", "16"))
SCENARIOS = [s for s in os.environ.get("BENCH_SCENARIOS", "pass,render,warm").split(",") if s]
TREE = os.path.join(TOP, "build", "bench-workers")
TILE = 256
TICK = os.sysconf("SC_CLK_TCK")
W, H = 6000, 4500

NGINX_CONF = """
worker_processes 2;
pid {w}/nginx.pid;
error_log {w}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {w}/cb; fastcgi_temp_path {w}/fc; proxy_temp_path {w}/px;
  uwsgi_temp_path {w}/uw; scgi_temp_path {w}/sc;
  fastcgi_buffer_size 32k; fastcgi_buffers 16 32k;
  server {{
    listen 127.0.0.1:{port};
    merge_slashes off;
    location /iiif/ {{
      fastcgi_pass unix:{w}/tessera.sock;
      include /etc/nginx/fastcgi_params;
      fastcgi_param REQUEST_URI $request_uri;
    }}
  }}
}}
"""

procs = []


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd):
    p = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    procs.append(p)
    return p


def stop(p):
    try:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout=60)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(timeout=10)
    procs.remove(p)


def build_image():
    """A noisy RGB pyramid (noise, so that tiles cost what photographs do)."""
    path = os.path.join(TREE, "walk.tif")
    if not os.path.exists(path):
        os.makedirs(TREE, exist_ok=True)
        v = lambda name: os.path.join(TREE, name + ".v")
        subprocess.run(["vips", "gaussnoise", v("n"), str(W), str(H), "--mean", "128",
                        "--sigma", "40"], check=True)
        subprocess.run(["vips", "cast", v("n"), v("u"), "uchar"], check=True)
        subprocess.run(["vips", "bandjoin", " ".join([v("u")] * 3), v("rgb")], check=True)
        subprocess.run(["vips", "tiffsave", v("rgb"), path, "--tile", "--pyramid",
                        "--compression", "jpeg", "--Q", "80", "--tile-width", str(TILE),
                        "--tile-height", str(TILE)], check=True)
        for name in ("n", "u", "rgb"):
            os.unlink(v(name))
    return path


def tile_list(path):
    out = []
    s = 1
    while True:
        span = TILE * s
        for y in range(0, H, span):
            for x in range(0, W, span):
                rw, rh = min(span, W - x), min(span, H - y)
                out.append("/iiif/3/walk/%d,%d,%d,%d/%d,/0/default.jpg" % (
                    x, y, rw, rh, -(-rw // s)))
        if W / s <= TILE and H / s <= TILE:
            break
        s *= 2
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    return len(out)


def tessera_pids(master):
    pids = [master.pid]
    try:
        with open("/proc/%d/task/%d/children" % (master.pid, master.pid)) as f:
            pids += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return pids


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError):
            pass
    return total


def wrk(port, listfile):
    out = subprocess.run(
        ["wrk", "-t2", "-c%d" % CONNS, "-d%ds" % DUR, "--timeout", "30s", "-s",
         os.path.join(TOP, "bench", "walk.lua"), "http://127.0.0.1:%d" % port, "--", listfile],
        capture_output=True, text=True, timeout=DUR + 60).stdout
    m = re.search(r"BENCH requests=(\d+) errors_status=(\d+) p50_us=(\d+) p99_us=(\d+) "
                  r"duration_us=(\d+)", out)
    if not m:
        raise RuntimeError("wrk said: " + out)
    req, errs, p50, p99, d = map(int, m.groups())
    if errs > req // 1000:
        raise RuntimeError("%d of %d answers were not 2xx: the figure is invalid" % (errs, req))
    return {"rps": req / (d / 1e6), "req": req, "p50": p50 / 1000, "p99": p99 / 1000}


def measure(work, port, listfile, workers, scenario):
    sock = os.path.join(work, "tessera.sock")
    cmd = [TESSERA, "serve", "--root", TREE, "--fastcgi", sock, "--verbosity", "1",
           "--workers", str(workers), "--threads", str(8 // workers),
           "--cache-size", "256" if scenario == "warm" else "0"]
    if scenario == "render":
        cmd += ["--passthrough", "false"]
    runs = []
    for _ in range(RUNS):
        p = start(cmd)
        deadline = time.time() + 20
        while not os.path.exists(sock) and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        if scenario == "warm":
            wrk(port, listfile)   # fill the caches first
        pids = tessera_pids(p)
        c0 = cpu_ticks(pids)
        r = wrk(port, listfile)
        r["cpu_ms"] = (cpu_ticks(pids) - c0) * 1000.0 / TICK / max(1, r["req"])
        runs.append(r)
        stop(p)
    return {k: statistics.median(x[k] for x in runs) for k in ("rps", "p50", "p99", "cpu_ms")}


def main():
    if not os.access(TESSERA, os.X_OK):
        raise SystemExit("./tessera is missing: run make")
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    build_image()
    work = tempfile.mkdtemp(prefix="tessera-bench-workers-")
    os.chmod(work, 0o755)   # nginx's workers run as nobody and must reach the socket
    for d in ("cb", "fc", "px", "uw", "sc"):
        os.makedirs(os.path.join(work, d))
    port = free_port()
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(w=work, port=port))
    listfile = os.path.join(work, "tiles.txt")
    n = tile_list(listfile)
    nginx = start(["nginx", "-c", conf, "-p", work + "/", "-g", "daemon off;"])
    results = {}
    try:
        time.sleep(0.5)
        log("workers: %d tiles, %d connections, %d x %d s per figure" % (n, CONNS, RUNS, DUR))
        for sc in SCENARIOS:
            for workers in (1, 2):
                results[(sc, workers)] = measure(work, port, listfile, workers, sc)
                r = results[(sc, workers)]
                log("  %-6s workers=%d  %7.0f tiles/s  p50 %6.1f ms  p99 %6.1f ms  "
                    "%.2f CPU ms/tile" % (sc, workers, r["rps"], r["p50"], r["p99"], r["cpu_ms"]))
    finally:
        stop(nginx)
        for p in list(procs):
            stop(p)
        shutil.rmtree(work, ignore_errors=True)
    print("| scenario | workers | tiles/s | p50 ms | p99 ms | CPU ms/tile |")
    print("|---|---|---|---|---|---|")
    for (sc, workers), r in results.items():
        print("| %s | %d | %.0f | %.1f | %.1f | %.2f |" % (sc, workers, r["rps"], r["p50"],
                                                         r["p99"], r["cpu_ms"]))
    for sc in SCENARIOS:
        one, two = results.get((sc, 1)), results.get((sc, 2))
        if one and two:
            print("%s: workers=2 gives %.2fx the tiles/s of workers=1" % (sc, two["rps"] / one["rps"]))


if __name__ == "__main__":
    main()
