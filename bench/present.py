#!/usr/bin/python3
"""bench/present.py - IIIF Presentation answers: cold generation and cached.

Builds (once, under build/bench-present/) a book of 2,000 pages (copies of
one small pyramidal TIFF, each its own file so every page is probed) and a
shelf of 10,000 member folders (one small image each), then, behind one
nginx with Tessera on a FastCGI socket:

  cold      the first answer of a freshly started daemon (nothing cached in
            Tessera; the page cache warm from a previous run), median of
            BENCH_RUNS restarts: the 2,000-canvas Manifest and the
            10,000-member Collection
  regen     the same answer after one page was rewritten (the folder's
            fingerprint changed, the other files' probes still cached)
  cached    one GET of the answer Tessera has cached (median of BENCH_RUNS),
            then wrk on it: plain, gzip, and as a conditional request
            answered 304

The ceiling rows are nginx sending the very bytes of the cached answer
as a static file (sendfile) in the same run: no answer of that size can go
faster on this machine, so they bound the uncompressed cached rows.

Every row also gives the daemon's CPU time per request (before and after:
/proc/PID/stat for cold and regen, whose helper threads may have exited;
/proc/PID/task/*/schedstat for the cached rows): on a machine shared with
compilers the wall times are noisy, the CPU times much less so.

Targets (issue 11): cold manifest < 250 ms, cold collection < 400 ms,
cached >= 5,000 req/s.  Timings are never part of `make check`.  On a
machine shared with compilers, read the best cold time and the CPU column
beside the median.

  BENCH_DURATION=10 seconds per wrk run   BENCH_RUNS=5 restarts for cold
  BENCH_PAGES=2000  BENCH_MEMBERS=10000   the sizes of the tree
  BENCH_ONLY=cold,regen,cached            which parts to run (default all)
  BENCH_FASTCGI_EXTRA="..."               nginx directives added to the FastCGI
                                          location (to try buffering settings)
  BENCH_TESSERA=path                      the binary measured (default ./tessera)
  BENCH_BEFORE=path                       an older binary measured beside it in the
                                          cold rows, run for run (alternating which
                                          goes first), for a before/after on a
                                          machine whose load moves

Usage: /usr/bin/python3 bench/present.py      (needs wrk: apt-get install -y wrk)
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as common  # noqa: E402  (wrk, process helpers)

TOP = common.TOP
DUR = int(os.environ.get("BENCH_DURATION", "10"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
PAGES = int(os.environ.get("BENCH_PAGES", "2000"))
MEMBERS = int(os.environ.get("BENCH_MEMBERS", "10000"))
ONLY = set(os.environ.get("BENCH_ONLY", "cold,regen,cached").split(","))
TREE = os.path.join(TOP, "build", "bench-present")
TESSERA = os.environ.get("BENCH_TESSERA", common.TESSERA)
BEFORE = os.environ.get("BENCH_BEFORE", "")

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
  sendfile on;
  upstream tessera {{ server unix:{w}/tessera.sock; }}
  server {{
    listen 127.0.0.1:{port};
    merge_slashes off;
    location /iiif/ {{
      fastcgi_pass tessera;
      include /etc/nginx/fastcgi_params;
      fastcgi_param REQUEST_URI $request_uri;
      {fastcgi_extra}
    }}
    # the ceiling: the very bytes of a cached answer as a static file
    location /static/ {{
      alias {w}/static/;
      default_type application/ld+json;
    }}
  }}
}}
"""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def build_tree():
    """The book and the shelf, made once (copies, so every file has its own
    identity and is probed on its own)."""
    stamp = os.path.join(TREE, f".built-{PAGES}-{MEMBERS}")
    if os.path.exists(stamp):
        return
    shutil.rmtree(TREE, ignore_errors=True)
    os.makedirs(os.path.join(TREE, "book"))
    os.makedirs(os.path.join(TREE, "shelf"))
    page = os.path.join(TREE, "_page.tif")
    small = os.path.join(TREE, "_small.tif")
    common.sh(["vips", "black", page + "[tile,pyramid,compression=jpeg,Q=60]", "1600", "2400",
               "--bands", "3"], stdout=sys.stderr)
    common.sh(["vips", "black", small + "[tile,compression=jpeg,Q=60]", "256", "320",
               "--bands", "3"], stdout=sys.stderr)
    log(f"present: writing {PAGES} pages and {MEMBERS} member folders under {TREE}")
    for i in range(1, PAGES + 1):
        shutil.copyfile(page, os.path.join(TREE, "book", f"p{i:04d}.tif"))
    for i in range(1, MEMBERS + 1):
        d = os.path.join(TREE, "shelf", f"item{i:05d}")
        os.mkdir(d)
        shutil.copyfile(small, os.path.join(d, "cover.tif"))
    open(stamp, "w").close()


def get(port, path, headers=(), keep=None):
    """One request; returns (status, seconds to the last byte, body length,
    head); with keep, the body is also written to that file."""
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        req = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
        req += "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
        s.sendall(req.encode())
        data = b""
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            data += chunk
    dt = time.perf_counter() - t0
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0
    if keep:
        with open(keep, "wb") as f:
            f.write(body)
    return status, dt, len(body), head.decode("latin-1")


def header(head, name):
    for line in head.split("\r\n")[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == name.lower():
            return v.strip()
    return None


def start_tessera(work, binary=None):
    sock = os.path.join(work, "tessera.sock")
    try:
        os.unlink(sock)
    except FileNotFoundError:
        pass
    p = common.start([binary or TESSERA, "serve", "--root", TREE, "--fastcgi", sock,
                      "--verbosity", "1"])
    common.wait_socket(sock)
    time.sleep(0.2)
    if p.poll() is not None:
        raise RuntimeError("tessera exited at start")
    return p


def cpu_ms(p, coarse=False):
    """The daemon's CPU time so far, in milliseconds: with coarse, utime +
    stime from /proc/PID/stat (10 ms ticks, but it includes threads that
    have exited, such as the helpers that measure a cold book's pages);
    else the sum of /proc/PID/task/*/schedstat (nanoseconds on a CPU, live
    threads only), for the short cached answers."""
    if coarse:
        with open(f"/proc/{p.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000.0 / common.TICK
    total = 0
    for t in os.listdir(f"/proc/{p.pid}/task"):
        try:
            with open(f"/proc/{p.pid}/task/{t}/schedstat") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total / 1e6


def stop(p):
    os.killpg(p.pid, 15)
    p.wait(timeout=10)
    common.procs.remove(p)


def cold(work, port, path, binaries):
    """Median first-answer time over RUNS fresh daemons of each binary, the
    binaries taking turns (and turns at going first) run for run, so a
    load that comes and goes weighs on each alike."""
    times = {b: [] for b in binaries}
    cpu = {b: [] for b in binaries}
    size = {}
    for run in range(RUNS):
        order = binaries if run % 2 == 0 else binaries[::-1]
        for b in order:
            p = start_tessera(work, b)
            c0 = cpu_ms(p, True)
            st, dt, size[b], _ = get(port, path)
            cpu[b].append(cpu_ms(p, True) - c0)
            stop(p)
            if st != 200:
                raise RuntimeError(f"{path}: {st}")
            times[b].append(dt * 1000)
    return {b: (statistics.median(times[b]), statistics.median(cpu[b]), size[b], min(times[b]))
            for b in binaries}


def main():
    if not os.access(TESSERA, os.X_OK):
        raise SystemExit(f"{TESSERA} is missing: run make")
    if BEFORE and not os.access(BEFORE, os.X_OK):
        raise SystemExit(f"BENCH_BEFORE={BEFORE} is not an executable")
    if not shutil.which("wrk") and "cached" in ONLY:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    build_tree()
    manifest = "/iiif/3/book/manifest"
    collection = "/iiif/3/collection/shelf"
    work = tempfile.mkdtemp(prefix="tessera-bench-present-")
    os.chmod(work, 0o755)   # nginx's workers run as nobody and must reach the socket
    port = common.free_port()
    for d in ("cb", "fc", "px", "uw", "sc", "static"):
        os.mkdir(os.path.join(work, d))
    with open(os.path.join(work, "nginx.conf"), "w") as f:
        f.write(NGINX_CONF.format(w=work, port=port,
                                  fastcgi_extra=os.environ.get("BENCH_FASTCGI_EXTRA", "")))
    common.start(["nginx", "-c", os.path.join(work, "nginx.conf"), "-g", "daemon off;"])
    rows = []
    with open("/proc/loadavg") as f:
        load0 = f.read().split()[:3]
    try:
        # warm the page cache (the target says: page cache warm)
        p = start_tessera(work)
        for path in (manifest, collection):
            get(port, path)
        stop(p)
        if "cold" in ONLY:
            for name, path, target in (("manifest, 2,000 canvases", manifest, 250),
                                       ("collection, 10,000 members", collection, 400)):
                binaries = [BEFORE, TESSERA] if BEFORE else [TESSERA]
                res = cold(work, port, path, binaries)
                for b in binaries:
                    ms, cpu, size, best = res[b]
                    which = "" if not BEFORE else " (before)" if b == BEFORE else " (after)"
                    rows.append((f"cold {name}{which}", f"{ms:.0f} ms", f"{cpu:.1f} ms",
                                 f"< {target} ms",
                                 f"{'met' if ms < target else 'MISSED'} (best {best:.0f} ms, "
                                 f"{size} bytes)"))
        p = start_tessera(work)
        for name, path in (("manifest", manifest), ("collection", collection)):
            st, _, _, head = get(port, path)
            victim = os.path.join(TREE, "book", "p0001.tif") if path == manifest else \
                os.path.join(TREE, "shelf", "item00001", "cover.tif")
            if "regen" in ONLY:
                times, cpu = [], []
                for _ in range(RUNS):
                    os.utime(victim)       # a rewritten file: new mtime, new fingerprint
                    c0 = cpu_ms(p, True)
                    st, dt, _, _ = get(port, path)
                    cpu.append(cpu_ms(p, True) - c0)
                    times.append(dt * 1000)
                rows.append((f"regen {name} after one file changed",
                             f"{statistics.median(times):.0f} ms",
                             f"{statistics.median(cpu):.1f} ms", "", ""))
            if "cached" not in ONLY:
                continue
            st, _, _, head = get(port, path)   # cached again after the last change
            etag = header(head, "ETag")
            times, cpu = [], []
            for _ in range(max(RUNS, 5)):
                c0 = cpu_ms(p)
                st, dt, _, _ = get(port, path)
                cpu.append(cpu_ms(p) - c0)
                times.append(dt * 1000)
            rows.append((f"cached {name}, one GET", f"{statistics.median(times):.1f} ms",
                         f"{statistics.median(cpu):.2f} ms", "", ""))
            # the same bytes as a static file nginx sends with sendfile:
            # what any answer of that size can reach on this machine
            static = f"/static/{name}.json"
            get(port, path, keep=os.path.join(work, "static", f"{name}.json"))
            for variant, hdrs, url in (("plain", [], path),
                                       ("nginx static file, same bytes", [], static),
                                       ("gzip", ["Accept-Encoding: gzip"], path),
                                       ("304", [f"If-None-Match: {etag}"] if etag else None,
                                        path)):
                if hdrs is None:
                    continue
                lf = os.path.join(work, f"list-{name}-{variant[:5]}")
                with open(lf, "w") as f:
                    f.write(url + "\n")
                # made once before wrk starts (a gzip answer is cached on its
                # first request; wrk's connections must not all build it)
                get(port, url, [h.split(": ", 1) for h in hdrs])
                res = []
                for _ in range(3):
                    c0 = cpu_ms(p)
                    r = wrk_headers(port, lf, hdrs)
                    r["cpu"] = (cpu_ms(p) - c0) / max(r["req"], 1)
                    res.append(r)
                rps = statistics.median(r["rps"] for r in res)
                p99 = statistics.median(r["p99"] for r in res)
                cpu = statistics.median(r["cpu"] for r in res)
                mbs = statistics.median(r["mbs"] for r in res)
                ceiling = url == static
                if ceiling:
                    verdict = "what the machine allows for these bytes"
                else:
                    verdict = "met" if rps >= 5000 else "MISSED"
                rows.append((f"{'ceiling' if ceiling else 'cached'} {name} ({variant}), wrk",
                             f"{rps:.0f} req/s", "" if ceiling else f"{cpu * 1000:.0f} us",
                             ">= 5000 req/s" if not ceiling else "",
                             f"{verdict} (p99 {p99:.1f} ms, {mbs:.0f} MB/s)"))
                if ceiling and rows[-2][0].startswith(f"cached {name} (plain)"):
                    plain = float(rows[-2][1].split()[0])
                    rows[-1] = rows[-1][:4] + (f"{verdict}; plain is {100 * plain / max(rps, 1):.0f}%"
                                               f" of it (p99 {p99:.1f} ms, {mbs:.0f} MB/s)",)
        stop(p)
    finally:
        common.stop_all()
        if os.environ.get("BENCH_KEEP"):
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    with open("/proc/loadavg") as f:
        load1 = f.read().split()[:3]
    w = max(len(r[0]) for r in rows)
    print(f"{'what':<{w}}  {'median':>12}  {'CPU/request':>11}  {'target':>14}  note")
    for r in rows:
        print(f"{r[0]:<{w}}  {r[1]:>12}  {r[2]:>11}  {r[3]:>14}  {r[4]}")
    print(f"(load average before {' '.join(load0)}, after {' '.join(load1)}; "
          f"{PAGES} pages, {MEMBERS} members, BENCH_RUNS={RUNS}, BENCH_DURATION={DUR})")


def wrk_headers(port, listfile, headers, conns=8):
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{DUR}s", "--timeout", "30s"]
    for h in headers:
        cmd += ["-H", h]
    cmd += ["-s", os.path.join(TOP, "bench", "walk.lua"), f"http://127.0.0.1:{port}", "--",
            listfile]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=DUR + 60).stdout
    m = re.search(r"BENCH requests=(\d+) errors_status=(\d+) p50_us=(\d+) p99_us=(\d+) "
                  r"duration_us=(\d+)", out)
    if not m:
        raise RuntimeError("wrk said: " + out)
    req, errs, p50, p99, d = map(int, m.groups())
    if errs > req // 1000:
        raise RuntimeError(f"{errs} of {req} responses were not 2xx/3xx")
    m = re.search(r"Transfer/sec:\s+([0-9.]+)([KMG]?B)", out)
    scale = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}   # wrk's units
    mbs = float(m.group(1)) * scale[m.group(2)] / 1e6 if m else 0.0
    return {"rps": req / (d / 1e6), "p50": p50 / 1000, "p99": p99 / 1000, "req": req,
            "mbs": mbs}


if __name__ == "__main__":
    main()
