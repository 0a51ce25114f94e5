"""test_jp2_window.py - JPEG 2000 tiles through IIIF, DeepZoom and Zoomify
have the pixels OpenJPEG's own opj_decompress gives for the same region.

Tessera decodes a first look at a code-stream tile as a window and later
looks from whole decoded tiles (src/source/jp2_read.c); whichever it does,
a tile must be the region of the level that `opj_decompress -r k` decodes
whole.  The files are made at test time: a textured 1536x1024 RGB image
(every side divisible by 32, so Zoomify's floor-halved tiers are the
code-stream's levels and nothing is resampled), 384x320 code-stream tiles
(so 256-pixel tiles, DeepZoom's 254+1+1 and Zoomify's tiles straddle 2 and
4 of them), RPCL, 128x128 precincts, 32x32 code-blocks, TLM and PLT; once
reversible (5/3) and once irreversible (9/7, -r 10).  Every tile of every
level is asked twice (a first look, then from the decoded-tile cache), as
PNG.  Tolerance: 0 for 5/3 (integer wavelet), 1 for 9/7 (floating-point
wavelet: a window's partial inverse transform may round a sample the other
way than the whole decode).
"""

import math
import os
import re
import shutil
import subprocess

import numpy as np

import images
import pixels
from common import test, expect, get_image, Skip

W, H = 1536, 1024
LEVELS = 6
OPJ_DECOMPRESS = shutil.which("opj_decompress") or "/usr/bin/opj_decompress"
ARGS = ["-t", "384,320", "-n", LEVELS, "-p", "RPCL", "-c", "[128,128]", "-b", "32,32",
        "-TLM", "-PLT"]
FILES = {"jw-53": (ARGS, 0), "jw-97": (ARGS + ["-r", 10, "-I"], 1)}

_refs = {}   # (root, ident) -> [level arrays] or an error string


def _texture():
    ys, xs = np.indices((H, W))
    out = np.stack([(xs * (2 + c) + ys * (3 + c) + ((xs // 5) ^ (ys // 3)) * 7) & 0xFF
                    for c in range(3)], axis=-1)
    return out.astype(np.uint8)


def refs(ctx, ident):
    """The levels of ident as opj_decompress decodes them whole."""
    key = (ctx.root, ident)
    if key not in _refs:
        if not os.access(images.OPJ_COMPRESS, os.X_OK) or not os.access(OPJ_DECOMPRESS, os.X_OK):
            raise Skip("opj_compress / opj_decompress are not installed")
        work = os.path.join(ctx.tmp, "work-jp2w")
        os.makedirs(work, exist_ok=True)
        src = os.path.join(work, "texture.ppm")
        if not os.path.exists(src):
            images.write_pnm(src, _texture())
        dst = os.path.join(ctx.root, ident + ".jp2")
        images.opj_wait(images.opj_start(src, dst, FILES[ident][0]), dst)
        levels = []
        for k in range(LEVELS):
            out = os.path.join(work, "%s-r%d.ppm" % (ident, k))
            p = subprocess.run([OPJ_DECOMPRESS, "-i", dst, "-o", out, "-r", str(k)],
                               capture_output=True, timeout=120)
            if p.returncode != 0:
                raise AssertionError("opj_decompress -r %d failed: %s" % (
                    k, p.stderr.decode(errors="replace")[-300:]))
            with open(out, "rb") as f:
                levels.append(pixels.rgb_array(pixels.decode(f.read())))
        _refs[key] = levels
    return _refs[key]


def compare(srv, path, ref, x0, y0, tol, what):
    """GET path (PNG); its pixels against ref[y0:, x0:]; the largest difference."""
    im, _ = get_image(srv, path)
    a = pixels.rgb_array(im).astype(np.int16)
    h, w = a.shape[:2]
    b = ref[y0:y0 + h, x0:x0 + w].astype(np.int16)
    expect(b.shape == a.shape, "%s %s: %dx%d, the level holds %dx%d there" % (
        what, path, w, h, b.shape[1], b.shape[0]))
    d = int(np.abs(a - b).max())
    expect(d <= tol, "%s %s: differs from opj_decompress by %d (tolerance %d)" % (
        what, path, d, tol))
    return d


def level_size(k):
    return math.ceil(W / 2 ** k), math.ceil(H / 2 ** k)


def _iiif_test(ident):
    @test("jp2 windows %s: every IIIF 256 tile of every level, twice, is opj_decompress's "
          "region (tolerance %d)" % (ident, FILES[ident][1]))
    def _(ctx, srv):
        ref = refs(ctx, ident)
        tol = FILES[ident][1]
        n = 0
        for k in range(LEVELS):
            s, (lw, lh) = 2 ** k, level_size(k)
            for ty in range(math.ceil(lh / 256)):
                for tx in range(math.ceil(lw / 256)):
                    x, y = tx * 256, ty * 256
                    w, h = min(256, lw - x), min(256, lh - y)
                    rw, rh = min(w * s, W - x * s), min(h * s, H - y * s)
                    path = "/iiif/3/%s/%d,%d,%d,%d/%d,%d/0/default.png" % (
                        ident, x * s, y * s, rw, rh, w, h)
                    for look in ("first", "second"):
                        compare(srv, path, ref[k], x, y, tol, look + " look")
                        n += 1
        expect(n > 60, "only %d tiles" % n)
    return _


def _deepzoom_test(ident):
    @test("jp2 windows %s: every DeepZoom tile (254+1+1 over 2 and 4 code-stream tiles), "
          "twice, is opj_decompress's region (tolerance %d)" % (ident, FILES[ident][1]))
    def _(ctx, srv):
        ref = refs(ctx, ident)
        tol = FILES[ident][1]
        r = srv.get("/deepzoom/%s.dzi" % ident)
        expect(r.status == 200, "GET %s.dzi: %d" % (ident, r.status))
        ts = int(re.search(rb'TileSize="(\d+)"', r.body).group(1))
        ov = int(re.search(rb'Overlap="(\d+)"', r.body).group(1))
        expect((ts, ov) == (254, 1), "DZI TileSize %d Overlap %d, expected 254 and 1 for a "
               "JPEG 2000 file" % (ts, ov))
        top = math.ceil(math.log2(max(W, H)))
        n = 0
        for k in range(LEVELS):
            lw, lh = level_size(k)
            for row in range(math.ceil(lh / ts)):
                for col in range(math.ceil(lw / ts)):
                    x0 = col * ts - (ov if col else 0)
                    y0 = row * ts - (ov if row else 0)
                    path = "/deepzoom/%s_files/%d/%d_%d.png" % (ident, top - k, col, row)
                    for look in ("first", "second"):
                        compare(srv, path, ref[k], x0, y0, tol, look + " look")
                        n += 1
        expect(n > 60, "only %d tiles" % n)
    return _


def _zoomify_test(ident):
    @test("jp2 windows %s: every Zoomify tile, twice, is opj_decompress's region "
          "(tolerance %d)" % (ident, FILES[ident][1]))
    def _(ctx, srv):
        ref = refs(ctx, ident)
        tol = FILES[ident][1]
        tiers = [(W, H)]
        while tiers[-1][0] > 256 or tiers[-1][1] > 256:
            tiers.append((tiers[-1][0] // 2, tiers[-1][1] // 2))
        tiers.reverse()
        index = n = 0
        for z, (tw, th) in enumerate(tiers):
            k = len(tiers) - 1 - z
            expect((tw, th) == level_size(k), "tier %d is %dx%d" % (z, tw, th))
            for y in range(math.ceil(th / 256)):
                for x in range(math.ceil(tw / 256)):
                    path = "/zoomify/%s/TileGroup%d/%d-%d-%d.png" % (ident, index // 256, z, x, y)
                    index += 1
                    for look in ("first", "second"):
                        compare(srv, path, ref[k], x * 256, y * 256, tol, look + " look")
                        n += 1
        expect(n > 40, "only %d tiles" % n)
    return _


for _ident in FILES:
    _iiif_test(_ident)
    _deepzoom_test(_ident)
    _zoomify_test(_ident)
