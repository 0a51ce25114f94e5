"""test_htj2k.py - HTJ2K (JPEG 2000 Part 15) sources over HTTP, and the
converter's HTJ2K output.

`tessera convert --htj2k` makes, from one smooth synthetic photograph of
2300x1700 (edge tiles on both axes at 1024), a lossless and a lossy JPH
file, a raw .j2c codestream, a grey one and an untiled one; OpenJPH's own
ojph_compress makes a tiled raw codestream independently of our writer.
Each must open in opj_decompress with the source's pixels (lossless: equal;
lossy: a PSNR bound), and Tessera must serve each: info.json with the size
and one scale factor per resolution, every 256 tile of every scale factor
close to PIL's box reduction of the source, DeepZoom and Zoomify tiles too;
windows decoded without the decoded-tile cache (OpenJPEG decoding just the
window) equal to the same windows cut from whole decoded code-stream tiles,
on every level, edge windows included.  A truncated HTJ2K file and one whose
SIZ lies are answered with an error, never a crash, and the daemon keeps
serving.

The one idea: one source image whose pixels we hold, so every answer is
compared with what it must be, not with another answer of ours (except the
window check, whose point is that two decode paths agree).
"""

import json
import math
import os
import shutil
import subprocess

import numpy as np
from PIL import Image

import common
import harness
import images
from common import test, expect, get_image, iiif, Skip
import test_tiles

W, H = 2300, 1700
TESSERA = harness.TESSERA
OJPH_COMPRESS = "/usr/bin/ojph_compress"
OPJ_DECOMPRESS = "/usr/bin/opj_decompress"

# window decodes: no decoded-tile cache, so every region is an OpenJPEG window
common.SERVER_CONFIGS.setdefault("htj2k-window", ("embedded", ["--decoded-cache-mb", "0"]))

# identifier -> (file name, lossless, channels)
FILES = {
    "ht-lossless": ("ht-lossless.jph", True, 3),
    "ht-lossy": ("ht-lossy.jph", False, 3),
    "ht-raw": ("ht-raw.j2c", True, 3),
    "ht-gray": ("ht-gray.jph", True, 1),
    "ht-untiled": ("ht-untiled.jph", True, 3),
    "ht-ojph": ("ht-ojph.j2c", True, 3),
}

_made = {}


def source_array():
    """A smooth photograph-like RGB image: gradients, slow waves and a few
    sharp-edged shapes (so edges are exercised), deterministic."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    r = 128 + 90 * np.sin(x / 97.0) * np.cos(y / 131.0)
    g = 60 + 150 * (x / W) * (y / H) + 20 * np.sin((x + y) / 41.0)
    b = 200 - 120 * (y / H) + 25 * np.cos(x / 23.0)
    a = np.stack([r, g, b], axis=-1)
    a[300:700, 400:900] = (30, 200, 90)          # a sharp rectangle across a tile edge
    a[1000:1100, 2000:2300] = (250, 240, 10)     # one touching the right edge
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def ensure(ctx):
    if ctx.root in _made:
        if _made[ctx.root]:
            raise AssertionError(_made[ctx.root])
        return _made.get(("src", ctx.root))
    try:
        src = _make(ctx)
        _made[ctx.root] = None
        _made[("src", ctx.root)] = src
        return src
    except Skip:
        raise
    except Exception as e:
        _made[ctx.root] = "making the HTJ2K test files failed: %s" % e
        raise AssertionError(_made[ctx.root])


def convert(*args):
    p = subprocess.run([TESSERA, "convert", "--quiet"] + [str(a) for a in args],
                       capture_output=True, timeout=120)
    return p.returncode, p.stderr.decode("utf-8", "replace")


def _make(ctx):
    if subprocess.run([TESSERA, "convert", "--help"], capture_output=True).stdout.find(b"--htj2k") < 0:
        raise Skip("tessera convert has no --htj2k")
    work = os.path.join(ctx.tmp, "work-htj2k")
    os.makedirs(work, exist_ok=True)
    arr = source_array()
    src = Image.fromarray(arr, "RGB")
    png = os.path.join(work, "src.png")
    src.save(png)
    gray = os.path.join(work, "gray.png")
    src.convert("L").save(gray)
    root = ctx.root
    jobs = [
        (["--htj2k", "--lossless", png, os.path.join(root, "ht-lossless.jph")]),
        (["--htj2k", "--quality", "85", png, os.path.join(root, "ht-lossy.jph")]),
        (["--htj2k", "--lossless", png, os.path.join(root, "ht-raw.j2c")]),
        (["--htj2k", "--lossless", gray, os.path.join(root, "ht-gray.jph")]),
        (["--htj2k", "--lossless", "--tile", "4096", png, os.path.join(root, "ht-untiled.jph")]),
    ]
    for args in jobs:
        rc, err = convert(*args)
        if rc == 2 and "OpenJPH" in err:
            raise Skip("built without OpenJPH")
        expect(rc == 0, "tessera convert %s: exit %d: %s" % (" ".join(args), rc, err))
    if os.access(OJPH_COMPRESS, os.X_OK):
        ppm = os.path.join(work, "src.ppm")
        src.save(ppm)
        p = subprocess.run([OJPH_COMPRESS, "-i", ppm, "-o", os.path.join(root, "ht-ojph.j2c"),
                            "-tile_size", "{1024,1024}", "-reversible", "true",
                            "-num_decomps", "4", "-prog_order", "RPCL"],
                           capture_output=True, timeout=120)
        expect(p.returncode == 0, "ojph_compress failed: %s" % p.stderr[-300:])
    # hostile files: cut at half (JPH box and raw), and a SIZ that lies
    images.truncate_copy(os.path.join(root, "ht-lossless.jph"), os.path.join(root, "ht-cut.jph"))
    images.truncate_copy(os.path.join(root, "ht-raw.j2c"), os.path.join(root, "ht-cut.j2c"))
    images.patch_siz(os.path.join(root, "ht-raw.j2c"), os.path.join(root, "ht-huge.j2c"),
                     width=100000, height=100000)
    images.patch_siz(os.path.join(root, "ht-raw.j2c"), os.path.join(root, "ht-manytiles.j2c"),
                     width=100000, height=100000, tile_w=64, tile_h=64)
    images.patch_siz(os.path.join(root, "ht-raw.j2c"), os.path.join(root, "ht-small-siz.j2c"),
                     width=1200, height=900)
    return arr


def available(ident, ctx):
    fname = FILES[ident][0]
    if not os.path.exists(os.path.join(ctx.root, fname)):
        raise Skip("%s was not made (ojph_compress missing?)" % fname)
    return fname


def psnr(a, b):
    d = a.astype(np.float64) - b.astype(np.float64)
    mse = float(np.mean(d * d))
    return 99.0 if mse == 0 else 10 * math.log10(255.0 * 255.0 / mse)


def reference(src, region, size):
    """PIL's reduction of the source: the region box-filtered to size."""
    x, y, w, h = region
    im = Image.fromarray(src[y:y + h, x:x + w], "RGB")
    if (w, h) != size:
        im = im.resize(size, Image.BOX)
    return np.asarray(im).astype(np.int16)


def as_rgb(im, channels):
    a = np.asarray(im.convert("RGB")).astype(np.int16)
    return a


def expected(src, channels, region, size):
    ref = reference(src, region, size)
    if channels == 1:
        g = np.asarray(Image.fromarray(ref.astype(np.uint8), "RGB").convert("L")).astype(np.int16)
        ref = np.stack([g, g, g], axis=-1)
    return ref


def src_for(src, channels):
    if channels == 1:
        g = np.asarray(Image.fromarray(src, "RGB").convert("L"))
        return np.stack([g, g, g], axis=-1)
    return src


# ---------------------------------------------------------------------------

@test("htj2k convert: opj_decompress opens every output with the source's pixels (lossless equal, lossy >= 38 dB)")
def _(ctx, srv):
    src = ensure(ctx)
    if not os.access(OPJ_DECOMPRESS, os.X_OK):
        raise Skip("opj_decompress is not installed")
    work = os.path.join(ctx.tmp, "work-htj2k")
    for ident in ("ht-lossless", "ht-lossy", "ht-raw", "ht-gray", "ht-untiled"):
        fname, lossless, ch = FILES[ident]
        out = os.path.join(work, ident + (".pgm" if ch == 1 else ".png"))
        p = subprocess.run([OPJ_DECOMPRESS, "-i", os.path.join(ctx.root, fname), "-o", out],
                           capture_output=True, timeout=120)
        expect(p.returncode == 0, "opj_decompress %s: %s" % (fname, p.stderr[-300:]))
        got = np.asarray(Image.open(out).convert("RGB"))
        want = src_for(src, ch)
        expect(got.shape == want.shape, "%s decodes to %r, expected %r" % (fname, got.shape, want.shape))
        if lossless:
            diff = int(np.max(np.abs(got.astype(np.int16) - want.astype(np.int16))))
            expect(diff == 0, "%s is lossless but differs by up to %d" % (fname, diff))
        else:
            q = psnr(got, want)
            expect(q >= 38.0, "%s: PSNR %.1f dB < 38" % (fname, q))
    # the box file is a JPH file: the 'jph ' brand (15444-15 Annex D)
    with open(os.path.join(ctx.root, "ht-lossless.jph"), "rb") as f:
        head = f.read(32)
    expect(head[16:24] == b"ftypjph ", "ht-lossless.jph ftyp: %r" % head[12:32])
    with open(os.path.join(ctx.root, "ht-raw.j2c"), "rb") as f:
        expect(f.read(4) == b"\xff\x4f\xff\x51", "ht-raw.j2c is not a raw codestream")


@test("htj2k convert: --htj2k refuses a TIFF output name and a tile that is not a power of two (exit 2 / 1)")
def _(ctx, srv):
    ensure(ctx)
    png = os.path.join(ctx.tmp, "work-htj2k", "src.png")
    out = os.path.join(ctx.tmp, "work-htj2k", "x.tif")
    rc, err = convert("--htj2k", png, out)
    expect(rc == 2 and "JPEG 2000" in err, "--htj2k to .tif: exit %d: %s" % (rc, err))
    rc, err = convert("--htj2k", "--tile", "1008", png, os.path.join(ctx.tmp, "work-htj2k", "x.jph"))
    expect(rc == 1 and "power of two" in err, "--tile 1008: exit %d: %s" % (rc, err))
    expect(not os.path.exists(os.path.join(ctx.tmp, "work-htj2k", "x.jph")), "a refused conversion left a file")


@test("htj2k serve: info.json and every 256 tile of every scale factor match PIL's reduction of the source")
def _(ctx, srv):
    src = ensure(ctx)
    for ident in FILES:
        if ident == "ht-ojph" and not os.path.exists(os.path.join(ctx.root, FILES[ident][0])):
            continue
        fname, lossless, ch = FILES[ident]
        r = srv.get("/iiif/3/%s/info.json" % fname)
        expect(r.status == 200, "info.json of %s: %d" % (fname, r.status))
        info = json.loads(r.body)
        expect((info["width"], info["height"]) == (W, H), "%s: %dx%d" % (fname, info["width"], info["height"]))
        factors = info["tiles"][0]["scaleFactors"]
        expect(len(factors) >= 4, "%s: scale factors %r" % (fname, factors))
        ref_src = src_for(src, ch)
        # every tile of three files; the corners and the middle of the others
        every = ident in ("ht-lossless", "ht-gray", "ht-ojph")
        for s in factors:
            ts = 256 * s
            xs, ys = list(range(0, W, ts)), list(range(0, H, ts))
            cells = [(x, y) for y in ys for x in xs] if every else sorted(
                {(xs[0], ys[0]), (xs[-1], ys[-1]), (xs[len(xs) // 2], ys[len(ys) // 2])})
            for (x, y) in cells:
                if True:
                    w, h = min(ts, W - x), min(ts, H - y)
                    size = (-(-w // s), -(-h // s))
                    path = iiif(3, fname, "%d,%d,%d,%d" % (x, y, w, h), "%d,%d" % size, fmt="png")
                    im, _ = get_image(srv, path)
                    expect(im.size == size, "%s: %dx%d, expected %dx%d" % (path, im.size[0], im.size[1], *size))
                    got = as_rgb(im, ch)
                    want = reference(ref_src, (x, y, w, h), size)
                    mean = float(np.mean(np.abs(got - want)))
                    # level 0 lossless: exact; lower levels: the wavelet's
                    # low pass against a box filter
                    limit = 0.0 if (s == 1 and lossless) else (3.0 if s == 1 else 6.0)
                    expect(mean <= limit, "%s: mean difference %.2f > %.1f" % (path, mean, limit))
    # and the resolver finds them without their suffix
    for ident in ("ht-lossless", "ht-raw"):
        r = srv.get("/iiif/3/%s/info.json" % ident)
        expect(r.status == 200, "%s without its suffix: %d" % (ident, r.status))


@test("htj2k serve: DeepZoom and Zoomify tiles of an HTJ2K source match the source")
def _(ctx, srv):
    src = ensure(ctx)
    fname = FILES["ht-lossless"][0]
    top = test_tiles.dz_max_level(W, H)
    d = test_tiles.dzi(srv, fname)
    ts, ov = d["TileSize"], d["Overlap"]
    expect((d["Width"], d["Height"]) == (W, H), "DZI of %s: %r" % (fname, d))
    for level in range(top - 4, top + 1):
        lw, lh = test_tiles.dz_level_size(W, H, level)
        for row in range(-(-lh // ts)):
            for col in range(-(-lw // ts)):
                (rx, ry, rw, rh), (ow, oh) = test_tiles.dz_tile(W, H, level, col, row, ts, ov)
                path = "/deepzoom/%s_files/%d/%d_%d.jpg" % (fname, level, col, row)
                im, _ = get_image(srv, path)
                expect(im.size == (ow, oh), "%s: %dx%d, expected %dx%d" % (path, im.size[0], im.size[1], ow, oh))
                mean = float(np.mean(np.abs(as_rgb(im, 3) - reference(src, (rx, ry, rw, rh), (ow, oh)))))
                expect(mean <= 8.0, "%s: mean difference %.2f" % (path, mean))
    levels = test_tiles.zoomify_levels(W, H)
    for z in range(len(levels)):
        lw, lh = levels[z]
        for y in range(-(-lh // 256)):
            for x in range(-(-lw // 256)):
                region, (ow, oh) = test_tiles.zoomify_tile(W, H, z, x, y)
                g = test_tiles.zoomify_group(W, H, z, x, y)
                path = "/zoomify/%s/TileGroup%d/%d-%d-%d.jpg" % (fname, g, z, x, y)
                im, _ = get_image(srv, path)
                expect(im.size == (ow, oh), "%s: %dx%d, expected %dx%d" % (path, im.size[0], im.size[1], ow, oh))
                # Zoomify's floor-halved tiers resample the level: a looser bound
                mean = float(np.mean(np.abs(as_rgb(im, 3) - reference(src, region, (ow, oh)))))
                expect(mean <= 10.0, "%s: mean difference %.2f" % (path, mean))


def _windows(w, h, s):
    """Regions (full-resolution) at scale factor s: tiles, windows across
    code-stream tile edges, and windows at the right and bottom edges."""
    out = []
    ts = 256 * s
    xs, ys = list(range(0, w, ts)), list(range(0, h, ts))
    # the tiles of the top row and the right column: first, inner and edge ones
    cells = sorted({(x, ys[0]) for x in xs} | {(xs[-1], y) for y in ys} | {(xs[len(xs) // 2], ys[len(ys) // 2])})
    for (x, y) in cells:
        out.append((x, y, min(ts, w - x), min(ts, h - y)))
    for (x, y) in ((1024 - 100 * s, 1024 - 60 * s), (w - 77 * s, 13 * s), (5 * s, h - 41 * s),
                   (w - 130 * s, h - 90 * s), (1024 * s - 3 * s if 1024 * s < w else 0, 0)):
        x, y = max(0, x), max(0, y)
        rw, rh = min(200 * s, w - x), min(150 * s, h - y)
        if rw > 0 and rh > 0:
            out.append((x, y, rw, rh))
    return out


@test("htj2k: window decodes equal whole-tile decodes on every level of tiled, untiled and raw HTJ2K files, edge windows included",
      server="htj2k-window")
def _(ctx, srv):
    ensure(ctx)
    whole = ctx.server("embedded")
    for ident in ("ht-lossless", "ht-lossy", "ht-untiled", "ht-raw", "ht-ojph"):
        fname = FILES[ident][0]
        if not os.path.exists(os.path.join(ctx.root, fname)):
            continue
        info = json.loads(whole.get("/iiif/3/%s/info.json" % fname).body)
        for s in info["tiles"][0]["scaleFactors"]:
            for (x, y, w, h) in _windows(W, H, s):
                size = (-(-w // s), -(-h // s))
                path = iiif(3, fname, "%d,%d,%d,%d" % (x, y, w, h), "%d,%d" % size, fmt="png")
                a, _ = get_image(srv, path)
                b, _ = get_image(whole, path)
                expect(a.size == b.size, "%s: window %r, whole tiles %r" % (path, a.size, b.size))
                d = int(np.max(np.abs(np.asarray(a).astype(np.int16) - np.asarray(b).astype(np.int16))))
                # within the codec's rounding (9/7 windows may round a sample differently)
                limit = 0 if FILES[ident][1] else 2
                expect(d <= limit, "%s: window and whole-tile decodes differ by %d" % (path, d))


@test("htj2k hostile: a truncated HTJ2K file and a lying SIZ are errors, never a crash; the daemon keeps serving")
def _(ctx, srv):
    ensure(ctx)
    for name in ("ht-cut.jph", "ht-huge.j2c", "ht-manytiles.j2c"):
        r = srv.get("/iiif/3/%s/info.json" % name)
        expect(400 <= r.status < 600, "info.json of %s: %d" % (name, r.status))
        r = srv.get(iiif(3, name, "0,0,512,512", "256,"))
        expect(400 <= r.status < 600, "a tile of %s: %d" % (name, r.status))
        expect(b"/" + ctx.root.encode() not in r.body, "%s: a server path in the body" % name)
    # a raw codestream cut at half: tiles still in the file decode, the rest are errors
    r = srv.get("/iiif/3/ht-cut.j2c/info.json")
    expect(r.status == 200, "info.json of the cut codestream: %d" % r.status)
    # (OpenJPEG 2.5.0 may refuse even the whole first tile: it reads on past
    # it when the file has TLM, as for Part 1 files of ours)
    r = srv.get(iiif(3, "ht-cut.j2c", "0,0,256,256", "256,", fmt="png"))
    expect(r.status in (200, 500), "the first tile of the cut codestream: %d" % r.status)
    r = srv.get(iiif(3, "ht-cut.j2c", "%d,%d,256,256" % (W - 256, H - 256), "256,", fmt="png"))
    expect(r.status == 500, "the last tile of the cut codestream: %d (a 200 would be garbage)" % r.status)
    # SIZ smaller than the tiles: whatever it answers, not a crash
    for path in ("/iiif/3/ht-small-siz.j2c/info.json", iiif(3, "ht-small-siz.j2c", "full", "300,")):
        r = srv.get(path)
        expect(r.status in (200, 400, 403, 500), "%s: %d" % (path, r.status))
    expect(srv.alive(), "the daemon died")
    r = srv.get("/iiif/3/ht-lossless.jph/info.json")
    expect(r.status == 200, "after the hostile files, info.json of a good one: %d" % r.status)
