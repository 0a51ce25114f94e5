#!/usr/bin/env python3
"""ab.py - A/B of two Tessera binaries behind one nginx, alternating.

On a small, noisy machine two benchmark runs minutes apart differ by 5-10%,
more than most single optimisations gain.  This runs binary A and binary B
in turns (A, B, A, B, ...) behind one nginx (bench/run.py's configuration)
on one URL list, with caches off, and prints for each the median requests/s
and CPU milliseconds per request of its rounds: a difference that shows in
every pair is real.

usage: python3 bench/ab.py BIN_A BIN_B LIST [CONNS [SECONDS [ROUNDS]]]

LIST is a file of request paths, one per line (e.g. /iiif/2/ID/full/max/0/
default.jpg); BENCH_CORPUS names the corpus whose images/ the paths refer to
(default build/corpus).  Needs nginx and wrk (sh bench/run.sh installs them).
"""
import importlib.util
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("bench_run", os.path.join(HERE, "run.py"))
b = importlib.util.module_from_spec(spec)
spec.loader.exec_module(b)


def main(argv):
    if len(argv) < 4:
        print(__doc__.strip())
        return 2
    bins, listfile = argv[1:3], argv[3]
    conns = int(argv[4]) if len(argv) > 4 else 8
    dur = int(argv[5]) if len(argv) > 5 else 5
    rounds = int(argv[6]) if len(argv) > 6 else 4
    images = os.path.join(b.CORPUS, "images")
    work = tempfile.mkdtemp(prefix="tessera-ab-")
    os.chmod(work, 0o755)   # nginx workers run as nobody
    for d in ("cb", "fc", "px", "uw", "sc"):
        os.makedirs(os.path.join(work, d), exist_ok=True)
    port = b.free_port()
    with open(os.path.join(work, "nginx.conf"), "w") as f:
        f.write(b.NGINX_CONF.format(w=work, port=port, static=work))
    b.start(["nginx", "-c", os.path.join(work, "nginx.conf"), "-g", "daemon off;"])
    sock = os.path.join(work, "tessera.sock")
    res = {x: [] for x in bins}
    try:
        for _ in range(rounds):
            for binary in bins:
                p = b.start([binary, "serve", "--root", images, "--fastcgi", sock,
                             "--cache-size", "0", "--verbosity", "1"])
                b.wait_socket(sock)
                time.sleep(0.3)
                t0 = b.cpu_ticks([p.pid])
                r = b.wrk(port, listfile, conns, dur)
                t1 = b.cpu_ticks([p.pid])
                r["cpu"] = (t1 - t0) * 1000.0 / b.TICK / max(r["req"], 1)
                res[binary].append(r)
                os.killpg(p.pid, 15)
                p.wait()
                b.procs.remove(p)
                if os.path.exists(sock):
                    os.unlink(sock)
        for binary in bins:
            rs = res[binary]
            print("%s: %.1f req/s, %.4f ms CPU/req, p99 %.2f ms (medians of %d; req/s %s)" % (
                binary, statistics.median(x["rps"] for x in rs),
                statistics.median(x["cpu"] for x in rs),
                statistics.median(x["p99"] for x in rs), len(rs),
                [round(x["rps"]) for x in rs]))
    finally:
        b.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
