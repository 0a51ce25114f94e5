"""test_auto_pyramid.py - pyramids made on demand by the daemon.

A daemon with auto_pyramid_min_pixels set serves flat files (a plain JPEG,
a PNG, a striped TIFF) from the file at first and converts them in the
background into pyramid_cache_dir; later requests read the pyramid.  Proven
by the daemon's own metrics (conversions started/done/failed, hits,
evictions, invalidations):
  - the first answers come from the flat file, later ones from the pyramid,
    with the same width, height and tile width, every size and tile scale
    the flat file's info.json offered still answered (a JPEG's DCT scales
    may reach further down than the pyramid's levels, which stop at the
    first level within one tile), and the pixels of a region within JPEG
    tolerance of the flat answer;
  - rewriting the source (new content, a new mtime) invalidates its pyramid:
    the next answer shows the new content and a new conversion follows;
  - a byte budget smaller than two pyramids evicts the least recently used;
  - a truncated file's conversion fails once, is not retried on later
    requests, and the file goes on being answered as before;
  - after a restart the pyramids on disk are found again (a hit, no new
    conversion);
  - a small file and an already tiled pyramid are never converted.

Each test starts its own daemon on its own root and cache folder (made
here), so they share nothing with the other suites.
"""

import io
import json
import os
import re
import shutil
import time

import numpy as np
from PIL import Image

import harness
import pixels
from common import test, expect, expect_status, iiif

MIN_PIXELS = 1000000
WAIT_S = 120   # a small, busy CI box: conversions of a few megapixels


def metrics(srv):
    r = srv.get("/metrics")
    expect_status(r, 200, "GET /metrics")
    out = {}
    for line in r.body.decode().splitlines():
        m = re.match(r'^(tessera_pyramid_\w+)(?:\{state="(\w+)"\})? (\d+)$', line)
        if m:
            out[m.group(1) + ("." + m.group(2) if m.group(2) else "")] = int(m.group(3))
    expect("tessera_pyramid_hits_total" in out, "no pyramid metrics: %r" % r.body[-400:])
    return out


def conv(m, state):
    return m.get("tessera_pyramid_conversions_total." + state, 0)


def wait_for(srv, what, pred, timeout=WAIT_S):
    deadline = time.monotonic() + timeout
    while True:
        m = metrics(srv)
        if pred(m):
            return m
        if time.monotonic() > deadline:
            raise AssertionError("%s: not within %d s; metrics %r" % (what, timeout, m))
        time.sleep(0.25)


def picture(w, h, seed):
    """A photograph-like picture: smooth gradients and some texture."""
    ys, xs = np.indices((h, w)).astype(np.float64)
    r = 128 + 100 * np.sin(xs / (53.0 + seed) + ys / 97.0)
    g = 128 + 100 * np.cos(ys / (41.0 + seed))
    b = 128 + 90 * np.sin((xs + ys * (1 + seed)) / 23.0)
    return np.clip(np.rint(np.dstack([r, g, b])), 0, 255).astype(np.uint8)


def setup(ctx, name, files, extra=()):
    """A fresh root with files {name: array or bytes}, a cache dir, a daemon."""
    base = os.path.join(ctx.tmp, "apyr-" + name)
    shutil.rmtree(base, ignore_errors=True)
    root = os.path.join(base, "root")
    os.makedirs(root)
    for fname, data in files.items():
        write(root, fname, data)
    cache = os.path.join(base, "pyramids")
    args = ["--auto-pyramid-min-pixels", str(MIN_PIXELS), "--pyramid-cache-dir", cache,
            "--viewer-dir", ""] + list(extra)
    srv = harness.start_embedded(ctx.tmp, "apyr-" + name, root, args)
    return srv, root, cache, args


def write(root, fname, data):
    path = os.path.join(root, fname)
    if isinstance(data, bytes):
        with open(path, "wb") as f:
            f.write(data)
    elif fname.endswith(".tif"):
        Image.fromarray(data).save(path, compression="tiff_deflate")   # striped
    elif fname.endswith(".png"):
        Image.fromarray(data).save(path)
    else:
        Image.fromarray(data).save(path, quality=92)
    return path


def info(srv, ident):
    r = srv.get("/iiif/3/%s/info.json" % ident)
    expect_status(r, 200, "GET info.json of " + ident)
    return json.loads(r.body)


def region(srv, ident, reg="0,0,1024,1024", size="512,"):
    path = iiif(3, ident, reg, size, "0", "default", "png")
    r = srv.get(path)
    expect_status(r, 200, "GET " + path)
    return pixels.rgb_array(Image.open(io.BytesIO(r.body))).astype(np.float64)


def close(a, b, what):
    d = np.abs(a - b)
    expect(a.shape == b.shape, "%s: %s against %s" % (what, a.shape, b.shape))
    expect(d.mean() < 3 and np.percentile(d, 99) < 24,
           "%s: differ by %.2f on average, %.0f at the 99th percentile" % (
               what, d.mean(), np.percentile(d, 99)))


def consistent(srv, ident, before, after):
    """What a viewer read in the flat file's info.json still works on the
    pyramid (every size and every tile scale factor, at the far corner),
    and the pyramid's own info.json lists halving levels: the factors are
    1, 2, 4... and each size is a level's ceil(width / factor)."""
    W, H = after["width"], after["height"]
    for s in before["sizes"]:
        path = iiif(3, ident, "full", "%d,%d" % (s["width"], s["height"]), "0", "default", "jpg")
        r = srv.get(path)
        expect_status(r, 200, "GET " + path)
        expect(Image.open(io.BytesIO(r.body)).size == (s["width"], s["height"]), "GET " + path)
    t = before["tiles"][0]
    tw = t["width"]
    for f in t["scaleFactors"]:
        cols, rows = -(-W // (tw * f)), -(-H // (tw * f))
        x, y = (cols - 1) * tw * f, (rows - 1) * tw * f
        rw, rh = min(tw * f, W - x), min(tw * f, H - y)
        path = iiif(3, ident, "%d,%d,%d,%d" % (x, y, rw, rh), "%d," % -(-rw // f), "0",
                    "default", "jpg")
        r = srv.get(path)
        expect_status(r, 200, "GET " + path)
    factors = after["tiles"][0]["scaleFactors"]
    expect(factors == [2 ** i for i in range(len(factors))], "pyramid factors %r" % factors)
    for s in after["sizes"]:
        expect(any(s["width"] == -(-W // 2 ** i) and s["height"] == -(-H // 2 ** i)
                   for i in range(32)), "pyramid size %r is no halving level of %dx%d" % (s, W, H))


@test("auto pyramid: first answers from the flat file, later ones from its pyramid with the same geometry and pixels (JPEG, EXIF-turned JPEG, PNG, striped TIFF)", server=None)
def _(ctx, _srv):
    import images
    files = {"flat.jpg": picture(3000, 2000, 0), "flat.png": picture(1600, 1200, 1),
             "strips.tif": picture(1500, 1100, 2), "turned.jpg": None}
    srv, root, cache, _ = setup(ctx, "flow", {k: v for k, v in files.items() if v is not None})
    srv.stop()
    # EXIF orientation 6: displayed 1800x1200, stored 1200x1800
    Image.fromarray(images.stored_for_orientation(picture(1800, 1200, 3), 6)).save(
        os.path.join(root, "turned.jpg"), quality=92, exif=images.exif_orientation(6))
    # the flat answers, from a daemon without on-demand pyramids on the same root
    ref = harness.start_embedded(ctx.tmp, "apyr-flow-ref", root, ["--viewer-dir", ""])
    try:
        flat = {i: (info(ref, i), region(ref, i), region(ref, i, "full", "400,")) for i in files}
    finally:
        ref.stop()
    srv = harness.start_embedded(ctx.tmp, "apyr-flow2", root, _args(cache))
    try:
        for n, ident in enumerate(files, 1):
            before_info, before, before_small = flat[ident]
            h0 = metrics(srv)["tessera_pyramid_hits_total"]
            first = region(srv, ident)
            expect(metrics(srv)["tessera_pyramid_hits_total"] == h0,
                   "%s: the first answer came from a pyramid" % ident)
            expect(np.array_equal(first, before), "%s: the first answer is not the flat one" % ident)
            wait_for(srv, "%s converted" % ident, lambda m, n=n: conv(m, "done") >= n)
            after_info = info(srv, ident)
            after = region(srv, ident)
            after_small = region(srv, ident, "full", "400,")
            hits = metrics(srv)["tessera_pyramid_hits_total"] - h0
            expect(hits == 3, "%s: %d hits after the conversion" % (ident, hits))
            for k in ("width", "height"):
                expect(before_info[k] == after_info[k], "%s: %s %r, then %r from the pyramid" % (
                    ident, k, before_info[k], after_info[k]))
            expect(before_info["tiles"][0]["width"] == after_info["tiles"][0]["width"],
                   "%s: tiles %r, then %r" % (ident, before_info["tiles"], after_info["tiles"]))
            consistent(srv, ident, before_info, after_info)
            close(before, after, "%s: region from the flat file and from the pyramid" % ident)
            close(before_small, after_small, "%s: full/400, from the flat file and from a "
                  "pyramid level" % ident)
        m = metrics(srv)
        expect(conv(m, "started") == 4 and conv(m, "failed") == 0, "conversions %r" % m)
        expect(flat["turned.jpg"][0]["width"] == 1800, "the EXIF-turned JPEG's displayed size")
        names = [n for n in os.listdir(cache) if n.endswith(".tif")]
        expect(len(names) == 4, "cache holds %r" % names)
    finally:
        srv.stop()


@test("auto pyramid: a rewritten source invalidates its pyramid and is converted again", server=None)
def _(ctx, _srv):
    srv, root, cache, _ = setup(ctx, "change", {"img.jpg": picture(2000, 1500, 0)})
    try:
        region(srv, "img.jpg")
        wait_for(srv, "first conversion", lambda m: conv(m, "done") == 1)
        old = region(srv, "img.jpg")
        expect(metrics(srv)["tessera_pyramid_hits_total"] >= 1, "no hit after the conversion")
        # rewrite in place with other content, and make sure the mtime moves
        path = write(root, "img.jpg", picture(2000, 1500, 7))
        t = time.time() + 5
        os.utime(path, (t, t))
        new = region(srv, "img.jpg")
        m = metrics(srv)
        expect(m["tessera_pyramid_invalidations_total"] == 1, "invalidations %r" % m)
        expect(np.abs(new - old).mean() > 10, "the answer did not change with the source")
        direct = pixels.rgb_array(Image.fromarray(picture(2000, 1500, 7)).crop((0, 0, 1024, 1024))
                                  .resize((512, 512), Image.BILINEAR)).astype(np.float64)
        expect(np.abs(new - direct).mean() < 6, "the new answer is not the new source")
        wait_for(srv, "second conversion", lambda m: conv(m, "done") == 2)
        close(new, region(srv, "img.jpg"), "new source flat and from its new pyramid")
        names = [n for n in os.listdir(cache) if not n.startswith(".")]
        expect(len(names) == 1, "the old pyramid was not removed: %r" % names)
    finally:
        srv.stop()


@test("auto pyramid: the byte budget evicts the least recently used pyramid", server=None)
def _(ctx, _srv):
    # measure one pyramid, then allow about one and a half
    srv, root, cache, _ = setup(ctx, "size", {"a.jpg": picture(2000, 1500, 0)})
    try:
        region(srv, "a.jpg")
        m = wait_for(srv, "a converted", lambda m: conv(m, "done") == 1)
        one = m["tessera_pyramid_cache_bytes"]
    finally:
        srv.stop()
    budget = int(one * 1.5)
    files = {"a.jpg": picture(2000, 1500, 0), "b.jpg": picture(2000, 1500, 3)}
    srv, root, cache, _ = setup(ctx, "budget", files, ["--pyramid-cache-bytes", str(budget)])
    try:
        region(srv, "a.jpg")
        wait_for(srv, "a converted", lambda m: conv(m, "done") == 1)
        region(srv, "b.jpg")
        m = wait_for(srv, "b converted", lambda m: conv(m, "done") == 2)
        expect(m["tessera_pyramid_evictions_total"] == 1, "evictions %r" % m)
        expect(m["tessera_pyramid_cache_entries"] == 1 and
               m["tessera_pyramid_cache_bytes"] <= budget, "cache %r" % m)
        # b (the newest) stayed: a hit; a (evicted) is flat again and queued again
        h = m["tessera_pyramid_hits_total"]
        region(srv, "b.jpg")
        expect(metrics(srv)["tessera_pyramid_hits_total"] == h + 1, "b is not a hit")
        region(srv, "a.jpg")
        m = metrics(srv)
        expect(m["tessera_pyramid_hits_total"] == h + 1, "the evicted a was a hit")
        wait_for(srv, "a converted again", lambda m: conv(m, "done") == 3)
    finally:
        srv.stop()


@test("auto pyramid: a truncated file fails once, is not retried, and is still answered as before", server=None)
def _(ctx, _srv):
    buf = io.BytesIO()
    Image.fromarray(picture(2000, 1500, 0)).save(buf, "JPEG", quality=92)
    data = buf.getvalue()
    files = {"cut.jpg": data[:len(data) // 3], "ok.jpg": picture(2000, 1500, 1)}
    ref = harness.start_embedded(ctx.tmp, "apyr-ref", setup_root(ctx, files), ["--viewer-dir", ""])
    try:
        want = [ref.get(iiif(3, "cut.jpg", reg, "256,", "0", "default", "png"))
                for reg in ("0,0,512,512", "0,1200,512,256")]
    finally:
        ref.stop()
    srv, root, cache, _ = setup(ctx, "trunc", files)
    try:
        for _ in range(2):
            for reg, w in zip(("0,0,512,512", "0,1200,512,256"), want):
                r = srv.get(iiif(3, "cut.jpg", reg, "256,", "0", "default", "png"))
                expect(r.status == w.status and (r.status != 200 or r.body == w.body),
                       "cut.jpg %s: %d, without auto pyramids %d" % (reg, r.status, w.status))
            wait_for(srv, "the failure", lambda m: conv(m, "failed") == 1)
        for _ in range(5):
            srv.get(iiif(3, "cut.jpg", "0,0,512,512", "256,", "0", "default", "jpg"))
            srv.get("/iiif/3/cut.jpg/info.json")
        time.sleep(1.0)
        m = metrics(srv)
        expect(conv(m, "started") == 1 and conv(m, "failed") == 1,
               "the truncated file was tried again: %r" % m)
        expect(m["tessera_pyramid_cache_failed"] == 1, "no failure marker %r" % m)
        region(srv, "ok.jpg")
        wait_for(srv, "the good file still converts", lambda m: conv(m, "done") == 1)
    finally:
        srv.stop()
    # the marker outlives a restart: still not retried
    srv = harness.start_embedded(ctx.tmp, "apyr-trunc2", root, _args(cache))
    try:
        srv.get(iiif(3, "cut.jpg", "0,0,512,512", "256,", "0", "default", "jpg"))
        time.sleep(1.0)
        expect(conv(metrics(srv), "started") == 0, "retried after a restart")
    finally:
        srv.stop()


def setup_root(ctx, files):
    root = os.path.join(ctx.tmp, "apyr-ref-root")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    for fname, data in files.items():
        write(root, fname, data)
    return root


def _args(cache, extra=()):
    return ["--auto-pyramid-min-pixels", str(MIN_PIXELS), "--pyramid-cache-dir", cache,
            "--viewer-dir", ""] + list(extra)


@test("auto pyramid: pyramids on disk are found again after a restart; small and tiled files are left alone", server=None)
def _(ctx, _srv):
    files = {"big.jpg": picture(2000, 1500, 0), "small.jpg": picture(900, 900, 1)}
    srv, root, cache, args = setup(ctx, "restart", files)
    try:
        region(srv, "big.jpg")
        region(srv, "small.jpg", "full", "300,")
        wait_for(srv, "big converted", lambda m: conv(m, "done") == 1)
        time.sleep(0.5)
        expect(conv(metrics(srv), "started") == 1, "the small file was converted")
    finally:
        srv.stop()
    # a tiled pyramid is already what a conversion would make
    shutil.copy(os.path.join(ctx.root, "pattern.tif"), os.path.join(root, "tiled.tif"))
    # a stale temporary file of a conversion whose process is gone
    stale = os.path.join(cache, ".x.tif.tmp-999999999-0")
    open(stale, "wb").close()
    srv = harness.start_embedded(ctx.tmp, "apyr-restart2", root, args)
    try:
        m = metrics(srv)
        expect(m["tessera_pyramid_cache_entries"] == 1, "after a restart %r" % m)
        region(srv, "big.jpg")
        region(srv, "tiled.tif")
        time.sleep(0.5)
        m = metrics(srv)
        expect(m["tessera_pyramid_hits_total"] == 1 and conv(m, "started") == 0,
               "after a restart: %r" % m)
        expect(not os.path.exists(stale), "a stale temporary file was kept")
    finally:
        srv.stop()


def nice19_threads(srv):
    """Threads of the daemon running at nice 19 (/proc/PID/task/*/stat)."""
    pid = srv.procs[0].pid
    n = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[16]) == 19:   # field 19 of stat(5), after pid and comm
            n += 1
    return n


@test("auto pyramid: auto_pyramid_jobs threads at nice 19, and never more conversions at once", server=None)
def _(ctx, _srv):
    files = {"p%d.jpg" % i: picture(2400, 1800, i) for i in range(4)}
    root = setup_root(ctx, files)
    ref = harness.start_embedded(ctx.tmp, "apyr-nice-ref", root, ["--viewer-dir", ""])
    try:
        base = nice19_threads(ref)   # the heavy-render threads
    finally:
        ref.stop()
    cache = os.path.join(ctx.tmp, "apyr-jobs-cache")
    shutil.rmtree(cache, ignore_errors=True)
    srv = harness.start_embedded(ctx.tmp, "apyr-jobs", root,
                                 _args(cache, ["--auto-pyramid-jobs", "2"]))
    try:
        deadline = time.monotonic() + 10
        while nice19_threads(srv) != base + 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        expect(nice19_threads(srv) == base + 2, "%d threads at nice 19, %d without on-demand "
               "pyramids: expected 2 more" % (nice19_threads(srv), base))
        for name in files:
            srv.get(iiif(3, name, "0,0,256,256", "128,", "0", "default", "jpg"))
        most = 0
        deadline = time.monotonic() + WAIT_S
        while True:
            m = metrics(srv)
            running = conv(m, "started") - conv(m, "done") - conv(m, "failed")
            most = max(most, running)
            expect(running <= 2, "%d conversions at once with auto_pyramid_jobs 2" % running)
            if conv(m, "done") == len(files):
                break
            expect(time.monotonic() < deadline, "not all converted: %r" % m)
            time.sleep(0.05)
        expect(most >= 1, "no conversion was ever seen running")
        expect(m["tessera_pyramid_queue"] == 0, "queue %r" % m)
    finally:
        srv.stop()
