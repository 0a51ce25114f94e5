#!/usr/bin/python3
"""tsan_load.py - concurrent load on a ThreadSanitizer build, to find races.

Usage:
    sh tests/fuzz/build-sanitized.sh tsan          # once: /tmp/tessera-tsan
    /usr/bin/python3 tests/fuzz/tsan_load.py [--seconds 10] [--bin /tmp/tessera-tsan]

Makes a small pattern pyramid (and a TIFF with a corrupt tile), starts the
daemon in embedded HTTP mode and as FastCGI behind nginx, drives each with
`wrk -t2 -c16` over a mix of DeepZoom, Zoomify, IIIF tile, info.json, IIP,
rotation/gray/webp, corrupt-file, whole-level full/max and /metrics URLs (a
third of them fresh renderings that miss every cache; and first a burst of 64
concurrent Python requests), then stops the
daemons cleanly and prints every ThreadSanitizer report.  Last line:
"N passed, N failed".

The one idea: TSan writes its reports to files of ours (log_path), so a
report is found whatever the front end did with the daemon's stderr.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "http"))

import http_fuzz  # noqa: E402  (make_images)

LUA = r"""
-- every path below exists on the 1200x900 pattern (DeepZoom level 11 is
-- 5x4 tiles, level 10 3x2; Zoomify level 3 is 5x4, all in TileGroup0)
local paths = {}
for c = 0, 4 do for r = 0, 3 do
  paths[#paths+1] = string.format("/deepzoom/pattern_files/11/%d_%d.jpg", c, r)
  paths[#paths+1] = string.format("/zoomify/pattern/TileGroup0/3-%d-%d.jpg", c, r)
  paths[#paths+1] = string.format("/iiif/3/pattern/%d,%d,256,256/128,/0/default.jpg", c*256, r*256)
  paths[#paths+1] = string.format("/iiif/2/pattern/%d,%d,512,512/256,/0/default.png", c*256, r*256)
end end
for c = 0, 2 do for r = 0, 1 do
  paths[#paths+1] = string.format("/deepzoom/pattern_files/10/%d_%d.png", c, r)
end end
paths[#paths+1] = "/iiif/3/pattern/info.json"
paths[#paths+1] = "/iiif/3/pattern/full/200,/90/gray.webp"
paths[#paths+1] = "/iiif/3/pattern/pct:10,10,50,50/!300,300/!45/default.png"
paths[#paths+1] = "/fcgi-bin/iipsrv.fcgi?FIF=pattern.tif&JTL=2,3"
paths[#paths+1] = "/fcgi-bin/iipsrv.fcgi?FIF=pattern.tif&WID=300&CVT=jpeg"
paths[#paths+1] = "/iiif/3/corrupt/full/300,/0/default.jpg"
-- whole levels made from the tiles' coefficients, on several threads
paths[#paths+1] = "/iiif/3/pattern/full/max/0/default.jpg"
paths[#paths+1] = "/iiif/3/corrupt/full/max/0/default.jpg"
paths[#paths+1] = "/metrics"
local i = 0
request = function()
  i = i + 1
  if i % 3 == 0 then
    -- a fresh rendering (not in the cache): decode, scale, encode every time
    return wrk.format("GET", string.format("/iiif/3/pattern/%d,%d,300,300/%d,/0/default.jpg",
                      math.random(0, 900), math.random(0, 600), math.random(20, 300)))
  end
  return wrk.format("GET", paths[(i * 7919) % #paths + 1])
end
"""


def burst(harness, port, n=64):
    errors = []

    def one(i):
        try:
            r = harness.request(port, "/iiif/3/pattern/%d,0,256,256/128,/0/default.jpg" % (i % 5 * 256))
            if r.status != 200:
                errors.append(r.status)
        except Exception as e:   # noqa: BLE001
            errors.append(str(e))

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return errors


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--bin", default=os.environ.get("TESSERA_BIN", "/tmp/tessera-tsan"))
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)
    if not os.access(args.bin, os.X_OK):
        print("FAIL %s is not built (sh tests/fuzz/build-sanitized.sh tsan)\n0 passed, 1 failed" % args.bin)
        return 1
    tmp = tempfile.mkdtemp(prefix="tessera-tsan-")
    os.chmod(tmp, 0o755)
    logdir = os.path.join(tmp, "tsan")
    os.makedirs(logdir)
    os.environ["TSAN_OPTIONS"] = "log_path=%s/tsan:second_deadlock_stack=1" % logdir
    import harness
    harness.TESSERA = args.bin
    passed = failed = 0
    lua = os.path.join(tmp, "mix.lua")
    with open(lua, "w") as f:
        f.write(LUA)
    wrk = shutil.which("wrk")
    try:
        root = http_fuzz.make_images(tmp)
        servers = [harness.start_embedded(tmp, "embedded", root),
                   harness.start_nginx_fastcgi(tmp, "nginx", root)]
        for srv in servers:
            errs = burst(harness, srv.port)
            print("# %s: 64 concurrent requests, %d errors %s" % (srv.name, len(errs), errs[:5]), flush=True)
            if wrk:
                out = subprocess.run([wrk, "-t2", "-c16", "-d%ds" % args.seconds, "-s", lua,
                                      "http://127.0.0.1:%d" % srv.port],
                                     capture_output=True, text=True, timeout=args.seconds + 60).stdout
                summary = [l.strip() for l in out.splitlines() if "Requests/sec" in l or "requests in" in l
                           or "Non-2xx" in l or "Socket errors" in l]
                print("# %s: wrk %s" % (srv.name, "; ".join(summary)), flush=True)
            if not srv.alive():
                print("FAIL %s: the daemon died under load: %s" % (srv.name, srv.log_tail()[-800:]))
                failed += 1
        for srv in servers:
            srv.stop()
    finally:
        harness.stop_all()
    reports = []
    for f in sorted(os.listdir(logdir)):
        with open(os.path.join(logdir, f), errors="replace") as fh:
            reports.append(fh.read())
    if reports:
        print("FAIL ThreadSanitizer reports:\n%s" % "\n".join(reports))
        failed += 1
    else:
        print("ok   no ThreadSanitizer report")
        passed += 1
    if args.keep:
        print("# temp dir %s (kept)" % tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
