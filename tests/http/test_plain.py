"""test_plain.py - plain JPEG and PNG sources over HTTP (no stored pyramid).

The files are made at test time from the block pattern: baseline and
progressive JPEG (the progressive one at the odd size 1001x751), PNG 8-bit
RGB, 16-bit RGB, palette with a transparent entry (tRNS), gray+alpha and
Adam7-interlaced, and JPEGs carrying EXIF orientation 6 and 8 whose
*displayed* picture is the pattern.  A file is reached by its full name
(the resolver's default suffixes are TIFF and JP2 only).

For each: info.json gives the displayed size; sizes are the levels the
reader really has (a JPEG's DCT scales 1/1..1/8, sizes ceil(W / d); a PNG
one level); tiles is one virtual tile whose scale factors reach a single
tile for the whole image; a tile walk over every scale factor, an
unaligned region, mirroring with rotation, gray quality and each output
format match the pattern.  Hostile plain files (a PNG declaring
100000x100000, a JPEG declaring 65500x65500, truncated JPEG and PNG) are
refused fast with an error and the daemon keeps serving.

The one idea: as in test_jp2.py, each file is derived from one pattern
whose colour at any pixel is known, made once, lazily, by the first test
that needs it.
"""

import json
import math
import os
import struct
import time

import numpy as np
from PIL import Image, ImageOps

import images
import pixels
from common import test, expect, expect_status, get_image, iiif, short

LIMIT_S = 1.0
# a JPEG source at q95 4:4:4 is within a few levels at block centres, but
# its 8x8 blocks straddling a pattern edge ring: keep further from edges
SRC_JPEG_TOL = 14
SRC_JPEG_MARGIN = 8


class P:
    """One plain test file: name under the root, pattern of the displayed
    picture, levels the reader has (DCT scale denominators), lossy source."""

    def __init__(self, key, fname, pattern, jpeg, alpha=False, orientation=1):
        self.key = key
        self.fname = fname
        self.ident = fname
        self.pattern = pattern
        self.jpeg = jpeg
        self.alpha = alpha
        self.orientation = orientation

    @property
    def denoms(self):
        return (1, 2, 4, 8) if self.jpeg else (1,)

    @property
    def tol(self):
        return SRC_JPEG_TOL if self.jpeg else pixels.TOL_LOSSLESS

    @property
    def margin(self):
        return SRC_JPEG_MARGIN if self.jpeg else 5


MAIN = images.Pattern(2000, 1500)
ODD = images.Pattern(1001, 751)
MID = images.Pattern(1200, 900)
MID_ALPHA = images.Pattern(1200, 900, alpha_blocks=(2, 2, 5, 5))
GRAY_ALPHA = images.Pattern(1200, 900, mode="gray", alpha_blocks=(2, 2, 5, 5))

FILES = [
    P("baseline", "plain-base.jpg", MAIN, True),
    P("progressive", "plain-prog.jpg", ODD, True),
    P("png-rgb", "plain-rgb.png", MAIN, False),
    P("png-16", "plain-16.png", MID, False),
    P("png-palette", "plain-pal.png", MID_ALPHA, False, alpha=True),
    P("png-gray-alpha", "plain-ga.png", GRAY_ALPHA, False, alpha=True),
    P("png-interlaced", "plain-adam7.png", MAIN, False),
    P("exif6", "plain-exif6.jpg", MID, True, orientation=6),
    P("exif8", "plain-exif8.jpg", MID, True, orientation=8),
]
BY_KEY = {f.key: f for f in FILES}

_made = {}


def ensure(ctx):
    if ctx.root in _made:
        if _made[ctx.root]:
            raise AssertionError(_made[ctx.root])
        return
    try:
        _make(ctx.root, os.path.join(ctx.tmp, "work-plain"))
        _made[ctx.root] = None
    except Exception as e:
        _made[ctx.root] = "making the plain test files failed: %s" % e
        raise AssertionError(_made[ctx.root])


def _path(root, key):
    return os.path.join(root, BY_KEY[key].fname)


def _make(root, work):
    os.makedirs(work, exist_ok=True)
    jpg = dict(quality=95, subsampling=0)
    Image.fromarray(MAIN.array()).save(_path(root, "baseline"), "JPEG", **jpg)
    Image.fromarray(ODD.array()).save(_path(root, "progressive"), "JPEG", progressive=True, **jpg)
    Image.fromarray(MAIN.array()).save(_path(root, "png-rgb"), "PNG")
    images.write_png16(_path(root, "png-16"), MID.array().astype(np.uint32) * 257)
    # palette: the 27 pattern colours plus one fully transparent entry
    ys, xs = np.indices((MID_ALPHA.height, MID_ALPHA.width))
    bx, by = xs // images.BLOCK, ys // images.BLOCK
    idx = ((7 * bx + 13 * by) % 27).astype(np.uint8)
    idx[MID_ALPHA.transparent(bx, by)] = 27
    pal = []
    for i in range(27):
        pal += [int(images.LEVELS[i % 3]), int(images.LEVELS[(i // 3) % 3]), int(images.LEVELS[i // 9])]
    pal += [0, 0, 0]
    im = Image.fromarray(idx, "P")
    im.putpalette(pal)
    im.save(_path(root, "png-palette"), "PNG", transparency=bytes([255] * 27 + [0]))
    # gray + alpha
    g = GRAY_ALPHA.array()
    a = np.where(GRAY_ALPHA.transparent(bx, by), 0, 255).astype(np.uint8)
    Image.fromarray(np.dstack([g, a]), "LA").save(_path(root, "png-gray-alpha"), "PNG")
    # Adam7, written by vips (PIL cannot interlace)
    src = os.path.join(work, "main.png")
    MAIN.save_png(src)
    images.vips("pngsave", src, _path(root, "png-interlaced"), "--interlace")
    # EXIF orientation: stored so that the displayed picture is the pattern
    for key in ("exif6", "exif8"):
        f = BY_KEY[key]
        stored = images.stored_for_orientation(f.pattern.array(), f.orientation)
        Image.fromarray(stored).save(_path(root, key), "JPEG",
                                     exif=images.exif_orientation(f.orientation), **jpg)
    # hostile files
    small = os.path.join(work, "small.png")
    images.Pattern(300, 200).save_png(small)
    images.patch_png_size(small, os.path.join(root, "plain-h-huge.png"), 100000, 100000)
    images.truncate_copy(_path(root, "baseline"), os.path.join(root, "plain-h-trunc.jpg"))
    images.truncate_copy(_path(root, "png-rgb"), os.path.join(root, "plain-h-trunc.png"))
    _patch_sof(_path(root, "baseline"), os.path.join(root, "plain-h-huge.jpg"), 65500, 65500)


def _patch_sof(src, dst, width, height):
    """Copy a JPEG declaring width x height in its SOF0/SOF2."""
    with open(src, "rb") as f:
        data = bytearray(f.read())
    pos = 2
    while pos + 4 <= len(data):
        marker, length = struct.unpack(">HH", data[pos:pos + 4])
        if marker in (0xFFC0, 0xFFC2):
            struct.pack_into(">HH", data, pos + 5, height, width)
            break
        pos += 2 + length
    else:
        raise ValueError("no SOF in %s" % src)
    with open(dst, "wb") as f:
        f.write(data)


def info_of(srv, f):
    r = srv.get("/iiif/3/%s/info.json" % f.ident)
    expect_status(r, 200, "GET /iiif/3/%s/info.json" % f.ident)
    return json.loads(r.body)


def check(f, im, region, size, what, rotation=0, mirror=False, fmt="png"):
    tol = max(f.tol, pixels.TOL_JPEG) if fmt == "jpg" else f.tol
    if fmt == "webp":
        tol = max(tol, pixels.TOL_WEBP)
    return pixels.check_pattern(im, f.pattern, region, size, rotation=rotation, mirror=mirror,
                                tol=tol, margin_out=f.margin,
                                check_alpha=f.alpha and fmt == "png", what=what + ": ")


def _info_test(f, server="nginx"):
    @test("plain %s (%s): info.json has the displayed size, the reader's levels as sizes and a virtual tile (3.0 §5.3, §5.4)"
          % (f.key, f.fname), server=server)
    def _(ctx, srv):
        ensure(ctx)
        info = info_of(srv, f)
        p = f.pattern
        expect((info.get("width"), info.get("height")) == (p.width, p.height),
               "info size %rx%r, the displayed picture is %dx%d" % (
                   info.get("width"), info.get("height"), p.width, p.height))
        levels = sorted((math.ceil(p.width / d), math.ceil(p.height / d)) for d in f.denoms)
        sizes = sorted((s["width"], s["height"]) for s in info.get("sizes", []))
        expect(sizes == levels, "sizes %r, the reader's levels are %r" % (sizes, levels))
        tiles = info.get("tiles") or []
        expect(len(tiles) == 1, "tiles %r" % (tiles,))
        t = tiles[0]
        tw, th = t["width"], t.get("height", t["width"])
        sf = t.get("scaleFactors") or []
        expect(256 <= tw <= 1024 and 256 <= th <= 1024,
               "a flat image should get a viewer-sized virtual tile, not %dx%d" % (tw, th))
        expect(sf and sf[0] == 1 and all(b == 2 * a for a, b in zip(sf, sf[1:])),
               "scaleFactors %r are not 1, 2, 4, ..." % (sf,))
        expect(tw * sf[-1] >= p.width and th * sf[-1] >= p.height,
               "scaleFactors %r never fit %dx%d in one %dx%d tile" % (sf, p.width, p.height, tw, th))
        expect(len(sf) >= len(f.denoms), "scaleFactors %r miss the reader's %d levels" % (sf, len(f.denoms)))
    return _


def _walk_test(f, server="nginx"):
    @test("plain %s: first, middle and last tile of every scale factor match the pattern (3.0 §5.4)" % f.key,
          server=server)
    def _(ctx, srv):
        ensure(ctx)
        info = info_of(srv, f)
        p = f.pattern
        t = info["tiles"][0]
        tw, th = t["width"], t.get("height", t["width"])
        fmt = "png"
        checked = 0
        for s in t["scaleFactors"]:
            nx, ny = math.ceil(p.width / (tw * s)), math.ceil(p.height / (th * s))
            for tx, ty in sorted({(0, 0), (nx // 2, ny // 2), (nx - 1, ny - 1)}):
                x, y = tx * tw * s, ty * th * s
                rw, rh = min(tw * s, p.width - x), min(th * s, p.height - y)
                ow, oh = math.ceil(rw / s), math.ceil(rh / s)
                path = iiif(3, f.ident, "%d,%d,%d,%d" % (x, y, rw, rh), "%d," % ow, fmt=fmt)
                im, _ = get_image(srv, path)
                expect(im.size[0] == ow and abs(im.size[1] - oh) <= 1,
                       "%s: size %dx%d, expected %dx%d" % (path, im.size[0], im.size[1], ow, oh))
                checked += check(f, im, (x, y, rw, rh), im.size, path, fmt=fmt)
        expect(checked > 200, "only %d points checked" % checked)
    return _


def _pixels_test(f):
    @test("plain %s: region, size, mirror+rotation, gray and jpg/png/webp match the pattern (3.0 §4)" % f.key)
    def _(ctx, srv):
        ensure(ctx)
        p = f.pattern
        # unaligned region, scaled by about 1.7, and a region at full size at the far corner
        for reg, size, osz in (((123, 77, 517, 333), "300,193", (300, 193)),
                               ((p.width - 300, p.height - 200, 300, 200), "max", (300, 200)),
                               ((0, 0, p.width, p.height), "500,", None)):
            rs = "full" if reg[2] == p.width else "%d,%d,%d,%d" % reg
            path = iiif(3, f.ident, rs, size, fmt="png")
            im, _ = get_image(srv, path)
            check(f, im, reg, osz or im.size, path)
        for rot in (90, 180, 270):
            reg = (200, 150, 600, 450)
            path = iiif(3, f.ident, "%d,%d,%d,%d" % reg, "300,", "!%d" % rot, fmt="png")
            im, _ = get_image(srv, path)
            check(f, im, reg, (300, 225), path, rotation=rot, mirror=True)
        # gray quality, away from the transparent blocks (their colour is undefined)
        reg, osz = ((500, 500, 600, 400), (300, 200)) if f.alpha else ((0, 0, 1000, 750), (500, 375))
        path = iiif(3, f.ident, "%d,%d,%d,%d" % reg, "%d," % osz[0], quality="gray", fmt="png")
        im, _ = get_image(srv, path)
        if f.alpha:
            im = im.convert("L")
        if p.mode == "gray":
            pixels.check_pattern(im, p, reg, osz, tol=f.tol, margin_out=f.margin, what=path + ": ")
        else:
            pixels.check_gray(im, p, reg, osz, tol=max(f.tol, 4))
        for fmt in ("jpg", "png", "webp"):
            path = iiif(3, f.ident, "200,100,800,600", "400,", fmt=fmt)
            r = srv.get(path)
            if fmt == "webp" and r.status in (400, 415, 501):
                continue
            im, _ = get_image(srv, path)
            check(f, im, (200, 100, 800, 600), (400, 300), path, fmt=fmt)
    return _


for _f in FILES:
    _info_test(_f)
    _walk_test(_f)
    _pixels_test(_f)

_info_test(BY_KEY["exif6"], server="embedded")
_walk_test(BY_KEY["png-palette"], server="embedded")


@test("plain EXIF test files really display as the pattern (a test of the tests)", server=None)
def _(ctx, srv):
    ensure(ctx)
    for key in ("exif6", "exif8"):
        f = BY_KEY[key]
        with Image.open(os.path.join(ctx.root, f.fname)) as im:
            stored = im.size
            shown = ImageOps.exif_transpose(im)
            expect(stored == (f.pattern.height, f.pattern.width) and shown.size == (f.pattern.width, f.pattern.height),
                   "%s: stored %r, displayed %r" % (key, stored, shown.size))
            pixels.check_pattern(shown, f.pattern, (0, 0, shown.size[0], shown.size[1]), shown.size,
                                 tol=SRC_JPEG_TOL, margin_out=SRC_JPEG_MARGIN, what=key + ": ")


@test("plain EXIF orientation: a region is cut from the displayed frame, not the stored one")
def _(ctx, srv):
    ensure(ctx)
    for key in ("exif6", "exif8"):
        f = BY_KEY[key]
        # a region only the displayed frame has (x beyond the stored width 900)
        for reg, size in (((950, 100, 250, 300), "max"), ((0, 600, 1200, 300), "600,")):
            path = iiif(3, f.ident, "%d,%d,%d,%d" % reg, size, fmt="png")
            im, _ = get_image(srv, path)
            osz = (reg[2], reg[3]) if size == "max" else (600, 150)
            check(f, im, reg, osz, path)
        # and the IIIF 2.1 info agrees
        r = srv.get("/iiif/2/%s/info.json" % f.ident)
        expect_status(r, 200, "GET /iiif/2/%s/info.json" % f.ident)
        info = json.loads(r.body)
        expect((info.get("width"), info.get("height")) == (1200, 900),
               "2.1 info size %rx%r, displayed 1200x900" % (info.get("width"), info.get("height")))


# ---------------------------------------------------------------- hostile

def _hostile(srv, path, codes=range(400, 600)):
    t0 = time.monotonic()
    try:
        r = srv.get(path)
    except Exception as e:
        raise AssertionError("GET %s: no answer (%s); daemon alive: %s" % (path, e, srv.daemon_alive()))
    dt = time.monotonic() - t0
    expect(r.status in codes, "GET %s: expected an error status, got %d %s (%s)" % (
        path, r.status, r.media_type,
        short(r.body, 60) if not r.media_type.startswith("image/") else "%d bytes" % len(r.body)))
    expect(dt < LIMIT_S, "GET %s took %.2f s (limit %.1f s)" % (path, dt, LIMIT_S))
    return r


def _still_serving(srv, after):
    r = srv.get("/iiif/3/pattern/info.json")
    expect(r.status == 200, "after %s: info.json of the pattern answered %d" % (after, r.status))
    r = srv.get(iiif(3, BY_KEY["baseline"].ident, "0,0,256,256", "256,"))
    expect(r.status == 200, "after %s: a plain JPEG tile answered %d" % (after, r.status))


def _info_status(srv, ident, allowed=(200, 403, 500)):
    t0 = time.monotonic()
    r = srv.get("/iiif/3/%s/info.json" % ident)
    dt = time.monotonic() - t0
    expect(r.status in allowed, "info.json of %s: %d (%s)" % (ident, r.status, short(r.body, 80)))
    expect(dt < LIMIT_S, "info.json of %s took %.2f s" % (ident, dt))
    return r


@test("plain hostile: a PNG declaring 100000x100000 and a JPEG declaring 65500x65500 are refused fast")
def _(ctx, srv):
    ensure(ctx)
    for ident in ("plain-h-huge.png", "plain-h-huge.jpg"):
        _info_status(srv, ident)
        for path in (iiif(3, ident, "full", "max"), iiif(3, ident, "full", "1000,"),
                     iiif(3, ident, "0,0,256,256", "256,"), iiif(3, ident, "50000,50000,256,256", "256,"),
                     iiif(3, ident, "0,60000,256,256", "256,"), iiif(2, ident, "full", "full")):
            _hostile(srv, path)
        _still_serving(srv, ident)


@test("plain hostile: a JPEG and a PNG cut at half are 500 where data is missing, never a 200")
def _(ctx, srv):
    ensure(ctx)
    for ident in ("plain-h-trunc.jpg", "plain-h-trunc.png"):
        _info_status(srv, ident)
        for path in (iiif(3, ident, "full", "max"), iiif(3, ident, "0,1300,400,200", "max", fmt="png"),
                     iiif(3, ident, "full", "250,"), iiif(3, ident, "0,1300,400,200", "max", fmt="png")):
            _hostile(srv, path, range(500, 600))
        # the intact top may be served, but then it must be right
        path = iiif(3, ident, "0,0,400,200", "max", fmt="png")
        r = srv.get(path)
        expect(r.status in (200, 500), "%s: %d" % (path, r.status))
        if r.status == 200:
            im = pixels.decode(r.body)
            pixels.check_pattern(im, MAIN, (0, 0, 400, 200), (400, 200), tol=SRC_JPEG_TOL,
                                 margin_out=SRC_JPEG_MARGIN, what=path + ": ")
        _still_serving(srv, ident)


@test("plain hostile: a big plain region over the decode budget is 403, a small one works", server="budget")
def _(ctx, srv):
    ensure(ctx)
    for key in ("baseline", "png-rgb", "png-interlaced"):
        f = BY_KEY[key]
        _hostile(srv, iiif(3, f.ident, "full", "max"), (403,))
        _hostile(srv, iiif(3, f.ident, "0,1000,1024,500", "max"), (403,))
    f = BY_KEY["baseline"]
    path = iiif(3, f.ident, "full", "250,", fmt="png")
    im, _ = get_image(srv, path)
    pixels.check_pattern(im, f.pattern, (0, 0, 2000, 1500), im.size, tol=SRC_JPEG_TOL, margin_out=2,
                         what=path + ": ")
    path = iiif(3, BY_KEY["png-rgb"].ident, "0,0,200,40", "max", fmt="png")
    im, _ = get_image(srv, path)
    pixels.check_pattern(im, MAIN, (0, 0, 200, 40), (200, 40), tol=pixels.TOL_LOSSLESS, what=path + ": ")
