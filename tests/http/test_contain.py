"""test_contain.py - htj2k_decoder, and decoder crashes contained by the
master of `workers = N` (tessera(8), DECODER CRASHES).

The files are test_jp2_ojph.c's: its base HTJ2K code-stream (701x493, tiles
of 256) and the mutants its mutation loop found crashing OpenJPH 0.9.0,
made again byte for byte by mutant.py, in a root of this module's own.

  - htj2k_decoder = openjpeg: no tile goes to OpenJPH (the
    tessera_openjph_tiles_total counter of /metrics stays 0, and is not 0
    with the default), and both give the same pixels within the 9/7
    rounding.
  - workers = 2 behind nginx, a mutant that segfaults OpenJPH (5/1812,
    level 1) and one that makes OpenJPEG abort (5/600, level 2): the first
    walk of its tiles kills one worker (two at most: one per level), and
    that is checked, so the test cannot pass on a mutant that no longer
    crashes; after it, the tiles and info.json of the file are answered
    (the OpenJPEG fallback, or a clear 500 without a server path; level 2:
    "could not be decoded") without any worker dying again (the master's
    log and tessera_worker_crashes_total); an untouched file still decodes
    right; replacing the file (new mtime) lifts the quarantine.  Without
    the quarantine the first walk kills three workers and the test fails.
"""

import io
import os
import re
import subprocess
import time

import numpy as np
from PIL import Image

import harness
import mutant
from common import test, expect, expect_status, Skip

TILE = "/iiif/3/%s/%d,%d,256,256/max/0/default.png"
CRASHER = (5, 1812)       # seed, mutant number: a segfault inside OpenJPH
OPJ_CRASHER = (5, 600)    # OpenJPEG 2.5.0's assertion in ht_dec.c:319 (abort)


def _root(ctx, name):
    if not mutant.available():
        raise Skip("ojph_compress is not installed")
    root = os.path.join(ctx.tmp, "root-" + name)
    os.makedirs(root, exist_ok=True)
    work = os.path.join(ctx.tmp, "work-contain")
    os.makedirs(work, exist_ok=True)
    base = mutant.base_file(work)
    with open(os.path.join(root, "ht-base.j2c"), "wb") as f:
        f.write(base)
    return root, base


def _metric(srv, name):
    r = srv.get("/metrics")
    expect_status(r, 200, "/metrics")
    m = re.search(r"^%s (\d+)$" % name, r.body.decode(), re.M)
    expect(m is not None, "/metrics has no %s" % name)
    return int(m.group(1))


def _pixels(r, what):
    expect_status(r, 200, what)
    return np.asarray(Image.open(io.BytesIO(r.body)).convert("RGB"), dtype=np.int16)


@test("contain: htj2k_decoder = openjpeg sends no HTJ2K tile to OpenJPH; openjph does, "
      "with the same pixels", server=None)
def _(ctx, srv):
    root, _ = _root(ctx, "decoder")
    a = harness.start_embedded(ctx.tmp, "contain-ojph", root)
    b = harness.start_embedded(ctx.tmp, "contain-opj", root,
                               ["--htj2k-decoder", "openjpeg"])
    try:
        for x, y in ((0, 0), (256, 256), (512, 256)):
            pa = _pixels(a.get(TILE % ("ht-base", x, y)), "openjph tile %d,%d" % (x, y))
            pb = _pixels(b.get(TILE % ("ht-base", x, y)), "openjpeg tile %d,%d" % (x, y))
            expect(pa.shape == pb.shape, "shapes %s %s" % (pa.shape, pb.shape))
            d = int(np.abs(pa - pb).max())
            expect(d <= 2, "tile %d,%d: the decoders differ by %d" % (x, y, d))
        na, nb = _metric(a, "tessera_openjph_tiles_total"), _metric(b, "tessera_openjph_tiles_total")
        if na == 0:
            raise Skip("built without OpenJPH")
        expect(nb == 0, "htj2k_decoder = openjpeg: %d tiles went to OpenJPH" % nb)
    finally:
        a.stop()
        b.stop()


def _pattern():
    y, x = np.mgrid[0:mutant.H, 0:mutant.W]
    out = np.zeros((mutant.H, mutant.W, 3), dtype=np.int16)
    out[..., 0] = x * 200 // (mutant.W - 1)
    out[..., 1] = y * 200 // (mutant.H - 1)
    out[..., 2] = 200 - (x + y) * 200 // (mutant.W + mutant.H - 2)
    out += np.where(((x // 8) ^ (y // 8)) & 1, 40, 0)[..., None]
    out += ((x * 7 + y * 13) % 11)[..., None]
    return out


def _tiles(ident):
    """Every 256 tile of the full size and of half size, and the whole image
    at a quarter: levels 0 to 2."""
    out = []
    for y in range(0, mutant.H, 256):
        for x in range(0, mutant.W, 256):
            out.append(TILE % (ident, x, y))
    for y in range(0, mutant.H, 512):
        for x in range(0, mutant.W, 512):
            w, h = min(512, mutant.W - x), min(512, mutant.H - y)
            out.append("/iiif/3/%s/%d,%d,%d,%d/%d,/0/default.png" % (
                ident, x, y, w, h, (w + 1) // 2))
    out.append("/iiif/3/%s/full/176,/0/default.png" % ident)
    return out


def _deaths(srv):
    """Workers the master saw die (its log: 'worker N died (killed by signal
    S)')."""
    with open(srv.logs[1], errors="replace") as f:
        return len(re.findall(r"worker \d+ died \(killed by signal", f.read()))


def _check_base(srv, ident, what):
    ref = _pattern()
    for x, y in ((0, 0), (256, 0), (512, 256)):
        got = _pixels(srv.get(TILE % (ident, x, y)), "%s tile %d,%d" % (what, x, y))
        want = ref[y:y + got.shape[0], x:x + got.shape[1]]
        d = np.abs(got - want)
        expect(got.shape[:2] == (min(256, mutant.H - y), min(256, mutant.W - x)),
               "%s tile %d,%d: shape %s" % (what, x, y, got.shape))
        expect(d.mean() < 2 and d.max() <= 24, "%s tile %d,%d: differs from the source "
               "by %.2f on average, %d at most" % (what, x, y, d.mean(), d.max()))


def _need_openjph(ctx):
    """Skip without OpenJPH in the build (/metrics cannot tell: each worker
    has its own): `tessera convert --htj2k` says so the same way."""
    png = os.path.join(ctx.tmp, "contain-probe.png")
    Image.new("RGB", (8, 8)).save(png)
    p = subprocess.run([harness.TESSERA, "convert", "--quiet", "--htj2k", "--lossless", png,
                        os.path.join(ctx.tmp, "contain-probe.jph")], capture_output=True,
                       timeout=60)
    if p.returncode == 2 and b"OpenJPH" in p.stderr:
        raise Skip("built without OpenJPH")


def _crash_walk(ctx, name, crasher, refused):
    """A root with the base file and mutant `crasher`, workers = 2 behind
    nginx: walk the mutant's tiles until it is quarantined, then again;
    refused: every failure after the first walk must be level 2's 500."""
    _need_openjph(ctx)
    root, base = _root(ctx, name)
    crash = os.path.join(root, "ht-crash.j2c")
    with open(crash, "wb") as f:
        f.write(mutant.mutate(base, *crasher))
    s = harness.start_nginx_fastcgi(ctx.tmp, name, root, ["--workers", "2"])
    try:
        first = [(p, s.get(p, timeout=30).status) for p in _tiles("ht-crash")]
        time.sleep(1.0)
        died = _deaths(s)
        expect(died >= 1, "the mutant %d/%d killed no worker (answers %s): it no longer "
               "crashes a decoder, so this test proves nothing" % (crasher + (first,)))
        expect(died <= 2, "%d workers died on the first walk (answers %s)" % (died, first))
        expect(_metric(s, "tessera_files_quarantined") >= 1, "nothing quarantined")
        # again, twice, and info.json: answered, nobody dies
        refusals = 0
        for walk in range(2):
            for p in _tiles("ht-crash") + ["/iiif/3/ht-crash/info.json"]:
                r = s.get(p, timeout=30)
                expect(r.status in (200, 500), "walk %d: %s: %d after the quarantine" % (
                    walk + 2, p, r.status))
                if r.status == 500:
                    body = r.body.decode("utf-8", "replace")
                    expect(body.startswith("500 "), "500 body: %r" % body[:200])
                    expect(not refused or "could not be decoded" in body,
                           "%s: not refused after a crash outside OpenJPH: %r" % (p, body[:200]))
                    refusals += "could not be decoded" in body
                    expect(root not in body and ctx.tmp not in body,
                           "a server path in the 500 body: %r" % body[:200])
        time.sleep(0.5)
        expect(_deaths(s) == died, "workers died again after the quarantine: %d, then %d"
               % (died, _deaths(s)))
        expect(_metric(s, "tessera_worker_crashes_total") == died,
               "tessera_worker_crashes_total differs from the master log's %d" % died)
        _check_base(s, "ht-base", "untouched file")
        # the curator replaces the file: a new file, a new mtime
        tmp = crash + ".new"
        with open(tmp, "wb") as f:
            f.write(base)
        os.replace(tmp, crash)
        _check_base(s, "ht-crash", "replaced file")
        expect(_deaths(s) == died, "a worker died on the replaced file")
        expect(not refused or refusals > 0, "no request was refused")
    finally:
        s.stop()


@test("contain: workers = 2 behind nginx, a file that segfaults OpenJPH kills one worker "
      "once; then it is answered (OpenJPEG, or a clear 500) with no worker dying again, "
      "other files decode, replacing it lifts the quarantine", server=None)
def _(ctx, srv):
    _crash_walk(ctx, "contain-ojph-crash", CRASHER, False)


@test("contain: workers = 2 behind nginx, a file that aborts OpenJPEG kills one worker "
      "once; then it is refused with 500 'could not be decoded', no worker dies again, "
      "replacing it lifts the quarantine", server=None)
def _(ctx, srv):
    _crash_walk(ctx, "contain-opj-crash", OPJ_CRASHER, True)
