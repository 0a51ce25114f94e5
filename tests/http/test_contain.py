"""test_contain.py - htj2k_decoder, and decoder crashes contained by the
master of `workers = N` (tessera(8), DECODER CRASHES).

The files are test_jp2_ojph.c's: its base HTJ2K code-stream (701x493, tiles
of 256) and the mutants its mutation loop found crashing OpenJPH 0.9.0,
made again byte for byte by mutant.py, in a root of this module's own.

  - htj2k_decoder = openjpeg: no tile goes to OpenJPH (the
    tessera_openjph_tiles_total counter of /metrics stays 0, and is not 0
    with the default), and both give the same pixels within the 9/7
    rounding.
  - workers = 2 behind nginx, a mutant that segfaults OpenJPH: the first
    request may fail; after it, that tile, the other tiles and info.json of
    the file are answered (the OpenJPEG fallback, or a clear 500 without a
    server path) without any worker dying again; an untouched file still
    decodes right; replacing the file (new mtime) lifts the quarantine.
"""

import io
import os
import re
import shutil
import time

import numpy as np
from PIL import Image

import harness
import mutant
from common import test, expect, expect_status, Skip

TILE = "/iiif/3/%s/%d,%d,256,256/max/0/default.png"
CRASHER = (5, 1812)       # seed, mutant number: a segfault inside OpenJPH


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
