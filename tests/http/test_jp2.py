"""test_jp2.py - JPEG 2000 sources over HTTP, and hostile JPEG 2000 files.

The JP2s are made at test time with opj_compress from the same block
pattern the TIFF tests use, in the layouts a collection holds: 256 and 1024
code-stream tiles, untiled, precincts with RPCL progression, lossy (9/7,
-r 10), 8-bit gray, RGBA, 16-bit RGB and gray (maxval 65535: the 8-bit
output must be the pattern, not a dark image), an odd 1001x751 size and a
raw .j2k codestream reached by its full name.  For each: info.json must
agree with the code-stream (size, one scale factor per resolution level,
the code-stream tile size or a virtual tile when untiled, sizes equal to
the level sizes ceil(W / 2^r)); a tile walk over every scale factor, an
unaligned region, mirroring with rotation, gray quality and png/webp
output must match the pattern; and the same request served from the
lossless TIFF pyramid must give the same pixels.

Hostile files (SIZ declaring 100000x100000, 100000 tiles, a codestream cut
at half, random bytes after the main header) must be answered with an
error in under a second, never a 200 with garbage, and the daemon keeps
serving.  A big region over the decode budget is 403.

The one idea: every file is derived from one pattern whose colour at any
pixel is known, so each check is "does this look like the pattern", and
the files are made once, lazily, by the first test that needs them (all
opj_compress runs in parallel), so the module costs a few seconds.
"""

import json
import math
import os
import time

import numpy as np

import images
import pixels
from common import test, expect, expect_status, get_image, iiif, short, Skip

W, H = 2000, 1500
LIMIT_S = 1.0


class J:
    """One JPEG 2000 test file."""

    def __init__(self, key, src, args, pattern, lossy=False, tile=None, nres=5, ext="jp2",
                 tiff=None, tol=None):
        self.key = key
        self.src = src              # name of the input in the work folder
        self.args = args
        self.pattern = pattern
        self.lossy = lossy
        self.tile = tile            # code-stream tile (w, h), None when untiled
        self.nres = nres            # resolution levels (-n)
        self.ext = ext
        self.tiff = tiff            # identifier of the TIFF with the same pattern
        self.tol = tol if tol is not None else (16 if lossy else pixels.TOL_LOSSLESS)

    @property
    def fname(self):
        return "jp2-%s.%s" % (self.key, self.ext)

    @property
    def ident(self):
        # the resolver appends .jp2 itself; anything else is reached by full name
        return "jp2-%s" % self.key if self.ext == "jp2" else self.fname


MAIN = images.Pattern(W, H)
ODD = images.Pattern(1001, 751)
GRAY = images.Pattern(W, H, mode="gray")
RGBA = images.Pattern(1200, 900, alpha_blocks=(2, 2, 5, 5))

FILES = [
    J("t256", "main.png", ["-t", "256,256", "-n", 5], MAIN, tile=(256, 256), tiff="v-deflate"),
    J("t1024", "main.png", ["-t", "1024,1024", "-n", 5], MAIN, tile=(1024, 1024), tiff="v-deflate"),
    J("untiled", "main.png", ["-n", 5], MAIN, tiff="v-deflate"),
    J("rpcl", "main.png", ["-p", "RPCL", "-c", "[256,256]", "-b", "64,64", "-n", 5], MAIN,
      tiff="v-deflate"),
    J("lossy", "main.png", ["-t", "512,512", "-n", 5, "-r", 10, "-I"], MAIN, lossy=True,
      tile=(512, 512), tiff="v-deflate"),
    J("gray", "gray.png", ["-t", "256,256", "-n", 5], GRAY, tile=(256, 256)),
    J("rgba", "rgba.png", ["-t", "256,256", "-n", 4], RGBA, tile=(256, 256), nres=4, tiff="v-rgba"),
    J("rgb16", "main16.ppm", ["-t", "256,256", "-n", 5], MAIN, tile=(256, 256), tiff="v-deflate"),
    J("gray16", "gray16.pgm", ["-n", 5], GRAY),
    J("odd", "odd.png", ["-t", "256,256", "-n", 4], ODD, tile=(256, 256), nres=4),
    J("raw", "main.png", ["-t", "512,512", "-n", 5], MAIN, tile=(512, 512), ext="j2k",
      tiff="v-deflate"),
]
BY_KEY = {j.key: j for j in FILES}

_made = {}   # root -> None when made, or the error text


def ensure(ctx):
    """Make every JP2 (and the hostile ones) under ctx.root once."""
    if ctx.root in _made:
        if _made[ctx.root]:
            raise AssertionError(_made[ctx.root])
        return
    try:
        _make(ctx.root, os.path.join(ctx.tmp, "work-jp2"))
        _made[ctx.root] = None
    except Skip:
        raise
    except Exception as e:
        _made[ctx.root] = "making the JPEG 2000 test files failed: %s" % e
        raise AssertionError(_made[ctx.root])


def _make(root, work):
    if not os.access(images.OPJ_COMPRESS, os.X_OK):
        raise Skip("opj_compress is not installed")
    os.makedirs(work, exist_ok=True)
    MAIN.save_png(os.path.join(work, "main.png"))
    ODD.save_png(os.path.join(work, "odd.png"))
    GRAY.save_png(os.path.join(work, "gray.png"))
    RGBA.save_png(os.path.join(work, "rgba.png"))
    images.write_pnm(os.path.join(work, "main16.ppm"), MAIN.array().astype(np.uint32) * 257, 65535)
    images.write_pnm(os.path.join(work, "gray16.pgm"), GRAY.array().astype(np.uint32) * 257, 65535)
    small = images.Pattern(512, 512)
    small.save_png(os.path.join(work, "small.png"))
    jobs = []
    for j in FILES:
        dst = os.path.join(root, j.fname)
        jobs.append((images.opj_start(os.path.join(work, j.src), dst, j.args), dst))
    small_jp2 = os.path.join(work, "small.jp2")
    small_j2k = os.path.join(work, "small.j2k")
    jobs.append((images.opj_start(os.path.join(work, "small.png"), small_jp2,
                                  ["-t", "256,256", "-n", 3]), small_jp2))
    jobs.append((images.opj_start(os.path.join(work, "small.png"), small_j2k,
                                  ["-t", "256,256", "-n", 3]), small_j2k))
    for p, dst in jobs:
        images.opj_wait(p, dst)
    # hostile files
    t256 = os.path.join(root, BY_KEY["t256"].fname)
    images.patch_siz(small_jp2, os.path.join(root, "jp2-h-huge.jp2"), 100000, 100000)
    images.patch_siz(small_jp2, os.path.join(root, "jp2-h-hugetile.jp2"), 100000, 100000,
                     100000, 100000)
    images.patch_siz(t256, os.path.join(root, "jp2-h-tiles.jp2"), tile_w=6, tile_h=5)
    # cut at half: the JP2 box then claims more than the file holds; "open"
    # makes the box run to the end so that only the codestream is short
    images.truncate_copy(t256, os.path.join(root, "jp2-h-trunc.jp2"))
    images.truncate_copy(t256, os.path.join(root, "jp2-h-trunc-open.jp2"), open_box=True)
    images.truncate_at_tile_part(t256, os.path.join(root, "jp2-h-cut.jp2"))
    images.truncate_copy(os.path.join(root, BY_KEY["raw"].fname), os.path.join(root, "jp2-h-trunc.j2k"))
    images.truncate_copy(os.path.join(root, BY_KEY["untiled"].fname),
                         os.path.join(root, "jp2-h-trunc-untiled.jp2"), open_box=True)
    images.garbage_after_main_header(small_jp2, os.path.join(root, "jp2-h-garbage.jp2"))
    images.garbage_after_main_header(small_j2k, os.path.join(root, "jp2-h-garbage.j2k"))
    images.garbage_in_tile_data(small_jp2, os.path.join(root, "jp2-h-packets.jp2"))
    images.garbage_in_tile_data(small_j2k, os.path.join(root, "jp2-h-packets.j2k"))


def level_sizes(j):
    return [(math.ceil(j.pattern.width / 2 ** r), math.ceil(j.pattern.height / 2 ** r))
            for r in range(j.nres)]


def info_of(srv, j):
    r = srv.get("/iiif/3/%s/info.json" % j.ident)
    expect_status(r, 200, "GET /iiif/3/%s/info.json" % j.ident)
    return json.loads(r.body)


def out_fmt(j):
    return "jpg" if j.lossy else "png"


def out_tol(j, fmt):
    return max(j.tol, pixels.TOL_JPEG) if fmt == "jpg" else j.tol


def check(j, im, region, size, what, rotation=0, mirror=False, fmt="png"):
    return pixels.check_pattern(im, j.pattern, region, size, rotation=rotation, mirror=mirror,
                                tol=out_tol(j, fmt), check_alpha=j.pattern.alpha_blocks is not None,
                                what=what + ": ")


# ---------------------------------------------------------------- per file

def _info_test(j, server="nginx"):
    @test("jp2 %s (%s): info.json size, sizes, tiles and scaleFactors follow the code-stream (3.0 §5.3, §5.4)"
          % (j.key, " ".join(map(str, j.args))), server=server)
    def _(ctx, srv):
        ensure(ctx)
        info = info_of(srv, j)
        p = j.pattern
        expect((info.get("width"), info.get("height")) == (p.width, p.height),
               "info size %rx%r, code-stream is %dx%d" % (info.get("width"), info.get("height"),
                                                         p.width, p.height))
        levels = level_sizes(j)
        sizes = [(s["width"], s["height"]) for s in info.get("sizes", [])]
        expect(sorted(sizes) == sorted(levels),
               "sizes %r, the code-stream's resolution levels are %r" % (sizes, levels[::-1]))
        tiles = info.get("tiles") or []
        expect(len(tiles) == 1, "tiles %r" % (tiles,))
        t = tiles[0]
        tw, th = t["width"], t.get("height", t["width"])
        if j.tile:
            expect((tw, th) == j.tile, "tiles %dx%d, code-stream tiles are %dx%d" % (tw, th, j.tile[0], j.tile[1]))
        else:
            expect(tw >= 256 and th >= 256, "untiled code-stream: virtual tile %dx%d is too small" % (tw, th))
        want = [2 ** r for r in range(j.nres)]
        sf = t.get("scaleFactors")
        expect(sf == want, "scaleFactors %r, the code-stream has %d resolution levels: %r" % (sf, j.nres, want))
    return _


def _tile_walk(srv, j, info, fmt=None, what=""):
    """First, middle and last tile of every scale factor; returns points checked."""
    p = j.pattern
    fmt = fmt or out_fmt(j)
    t = info["tiles"][0]
    tw, th = t["width"], t.get("height", t["width"])
    checked = 0
    for s in t["scaleFactors"]:
        nx, ny = math.ceil(p.width / (tw * s)), math.ceil(p.height / (th * s))
        for tx, ty in sorted({(0, 0), (nx // 2, ny // 2), (nx - 1, ny - 1)}):
            x, y = tx * tw * s, ty * th * s
            rw, rh = min(tw * s, p.width - x), min(th * s, p.height - y)
            ow, oh = math.ceil(rw / s), math.ceil(rh / s)
            path = iiif(3, j.ident, "%d,%d,%d,%d" % (x, y, rw, rh), "%d," % ow, fmt=fmt)
            im, _ = get_image(srv, path)
            expect(im.size[0] == ow and abs(im.size[1] - oh) <= 1,
                   "%s%s: size %dx%d, expected %dx%d" % (what, path, im.size[0], im.size[1], ow, oh))
            checked += check(j, im, (x, y, rw, rh), im.size, what + path, fmt=fmt)
    return checked


def _walk_test(j, server="nginx"):
    @test("jp2 %s: the first, middle and last tile of every scale factor match the pattern (3.0 §5.4)" % j.key,
          server=server)
    def _(ctx, srv):
        ensure(ctx)
        info = info_of(srv, j)
        checked = _tile_walk(srv, j, info)
        expect(checked > 200, "only %d points checked" % checked)
    return _


def _away_from_edges(region, size, margin_out):
    """Mask (h x w) of output pixels whose source point is more than
    margin_out output pixels from a pattern block edge."""
    rx, ry, rw, rh = region
    ow, oh = size
    sx = rx + (np.arange(ow) + 0.5) * rw / ow
    sy = ry + (np.arange(oh) + 0.5) * rh / oh
    mx = margin_out * rw / ow + 1.0
    my = margin_out * rh / oh + 1.0
    dx = np.minimum(sx % images.BLOCK, images.BLOCK - sx % images.BLOCK) >= mx
    dy = np.minimum(sy % images.BLOCK, images.BLOCK - sy % images.BLOCK) >= my
    return dy[:, None] & dx[None, :]


def _pixels_test(j):
    @test("jp2 %s: region, size, mirror+rotation, gray, png/webp and the TIFF of the same pattern agree (3.0 §4)"
          % j.key)
    def _(ctx, srv):
        ensure(ctx)
        p = j.pattern
        fmt = out_fmt(j)
        # an unaligned region, scaled down by about 1.7
        reg = (123, 77, 517, 333)
        path = iiif(3, j.ident, "%d,%d,%d,%d" % reg, "300,193", fmt=fmt)
        im, _ = get_image(srv, path)
        check(j, im, reg, (300, 193), path, fmt=fmt)
        # the same at full resolution, near the far corner (last tiles, clipped)
        reg = (p.width - 300, p.height - 200, 300, 200)
        path = iiif(3, j.ident, "%d,%d,%d,%d" % reg, "max", fmt=fmt)
        im, _ = get_image(srv, path)
        check(j, im, reg, (300, 200), path, fmt=fmt)
        # mirrored and rotated by 90 and 270 (3.0 §4.3)
        for rot in (90, 270):
            reg = (200, 150, 600, 450)
            path = iiif(3, j.ident, "%d,%d,%d,%d" % reg, "300,", "!%d" % rot, fmt=fmt)
            im, _ = get_image(srv, path)
            check(j, im, reg, (300, 225), path, rotation=rot, mirror=True, fmt=fmt)
        # gray quality (3.0 §4.4)
        reg = (0, 0, 1000, 750)
        path = iiif(3, j.ident, "0,0,1000,750", "500,", quality="gray", fmt="png")
        im, _ = get_image(srv, path)
        pixels.check_gray(im, p, reg, (500, 375), tol=max(j.tol, 4))
        # the whole image small, in each lossless/lossy format (3.0 §4.5)
        for f in ("jpg", "png", "webp"):
            path = iiif(3, j.ident, "full", "!400,400", fmt=f)
            r = srv.get(path)
            if f == "webp" and r.status in (400, 415, 501):
                continue
            im, _ = get_image(srv, path)
            ew = 400 if p.width >= p.height else round(400 * p.width / p.height)
            eh = 400 if p.height > p.width else round(400 * p.height / p.width)
            expect(abs(im.size[0] - ew) <= 1 and abs(im.size[1] - eh) <= 1,
                   "%s: size %dx%d, expected %dx%d" % (path, im.size[0], im.size[1], ew, eh))
            tol = {"jpg": max(j.tol, pixels.TOL_JPEG), "webp": max(j.tol, pixels.TOL_WEBP)}.get(f, j.tol)
            pixels.check_pattern(im, p, (0, 0, p.width, p.height), im.size, tol=tol,
                                 check_alpha=(f == "png" and p.alpha_blocks is not None),
                                 what=path + ": ")
        # the same requests from the TIFF pyramid of the same pattern: same pixels
        if j.tiff:
            for reg, size in (((123, 77, 517, 333), "300,193"), ((1024, 512, 512, 512), "256,"),
                              ((0, 0, p.width, p.height), "500,")):
                if reg[0] + reg[2] > p.width or reg[1] + reg[3] > p.height:
                    continue
                rs = "%d,%d,%d,%d" % reg if reg[2] < p.width else "full"
                a, _ = get_image(srv, iiif(3, j.ident, rs, size, fmt="png"))
                b, _ = get_image(srv, iiif(3, j.tiff, rs, size, fmt="png"))
                expect(a.size == b.size, "%s %s: JP2 gives %dx%d, TIFF %dx%d" % (
                    rs, size, a.size[0], a.size[1], b.size[0], b.size[1]))
                mode = "RGBA" if p.alpha_blocks else "RGB"
                da = np.asarray(a.convert(mode), dtype=np.int32)
                db = np.asarray(b.convert(mode), dtype=np.int32)
                # away from block edges: a JP2 level is the wavelet's low-pass
                # band, a TIFF level a box filter, so edges legitimately differ
                keep = _away_from_edges(reg, a.size, 2.5)
                d = np.abs(da - db).max(axis=2)[keep]
                lim = 24 if j.lossy else 4
                bad = (d > lim).mean()
                expect(keep.sum() > 100 and bad < 0.002,
                       "%s %s: JP2 and TIFF differ by more than %d levels at %.2f%% of %d pixels "
                       "away from block edges (max %d)" % (rs, size, lim, 100 * bad, keep.sum(), d.max()))
    return _


for _j in FILES:
    _info_test(_j)
    _walk_test(_j)
    _pixels_test(_j)

# embedded HTTP mode holds the same contract (one tiled and one untiled file)
_info_test(BY_KEY["t256"], server="embedded")
_walk_test(BY_KEY["untiled"], server="embedded")


@test("jp2 16-bit: the 8-bit output is the pattern scaled, not a dark image")
def _(ctx, srv):
    ensure(ctx)
    for key in ("rgb16", "gray16"):
        j = BY_KEY[key]
        path = iiif(3, j.ident, "full", "!500,500", fmt="png")
        im, _ = get_image(srv, path)
        a = pixels.rgb_array(im)
        ref = pixels.rgb_array(images.Image.fromarray(j.pattern.array()).resize(im.size))
        expect(abs(a.mean() - ref.mean()) < 3,
               "%s: mean level %.1f, the pattern's is %.1f (dark 16-bit decode?)" % (
                   path, a.mean(), ref.mean()))
        expect(a.max() >= 250, "%s: brightest value %d, the pattern has 255" % (path, a.max()))


# ---------------------------------------------------------------- hostile

def _still_serving(srv, after):
    r = srv.get("/iiif/3/pattern/info.json")
    expect(r.status == 200, "after %s: info.json of the pattern answered %d" % (after, r.status))
    r = srv.get(iiif(3, BY_KEY["t256"].ident, "0,0,256,256", "256,"))
    expect(r.status == 200, "after %s: a JP2 tile answered %d" % (after, r.status))


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


def _info_status(srv, ident, allowed=(200, 403, 500)):
    t0 = time.monotonic()
    r = srv.get("/iiif/3/%s/info.json" % ident)
    dt = time.monotonic() - t0
    expect(r.status in allowed, "info.json of %s: %d (%s)" % (ident, r.status, short(r.body, 80)))
    expect(dt < LIMIT_S, "info.json of %s took %.2f s" % (ident, dt))
    return r


@test("jp2 hostile: SIZ declaring 100000x100000 (as 256-px tiles and as one tile) is refused fast")
def _(ctx, srv):
    ensure(ctx)
    for ident in ("jp2-h-huge", "jp2-h-hugetile"):
        r = _info_status(srv, ident)
        if r.status == 200:
            info = json.loads(r.body)
            expect(info.get("width") == 100000, "%s info width %r" % (ident, info.get("width")))
        for path in (iiif(3, ident, "full", "max"), iiif(3, ident, "full", "1000,"),
                     iiif(3, ident, "0,0,256,256", "256,"), iiif(3, ident, "50000,50000,256,256", "256,"),
                     iiif(2, ident, "full", "full")):
            _hostile(srv, path)
        _still_serving(srv, ident)


@test("jp2 hostile: a code-stream declaring 100000 tiles is refused fast")
def _(ctx, srv):
    ensure(ctx)
    _info_status(srv, "jp2-h-tiles", (403, 500))
    for path in (iiif(3, "jp2-h-tiles", "0,0,256,256", "256,"), iiif(3, "jp2-h-tiles", "full", "100,")):
        _hostile(srv, path)
    _still_serving(srv, "jp2-h-tiles")


@test("jp2 hostile: a code-stream cut at half is 500 where data is missing, never a 200 with garbage")
def _(ctx, srv):
    ensure(ctx)
    j = BY_KEY["t256"]
    # (identifier, a tile in the lost half, a tile in the intact first half)
    cases = (("jp2-h-trunc", (1792, 1280, 208, 220), (0, 0, 256, 256)),
             ("jp2-h-trunc-open", (1792, 1280, 208, 220), (0, 0, 256, 256)),
             ("jp2-h-cut", (1792, 1280, 208, 220), (0, 0, 256, 256)),
             ("jp2-h-trunc.j2k", (1536, 1024, 464, 476), (0, 0, 512, 512)))
    for ident, lost, kept in cases:
        _info_status(srv, ident)
        lost_s = "%d,%d,%d,%d" % lost
        for path in (iiif(3, ident, lost_s, "%d," % lost[2]), iiif(3, ident, "full", "max"),
                     iiif(3, ident, "1024,1024,976,476", "max", fmt="png"),
                     iiif(3, ident, lost_s, "%d," % lost[2])):   # again: nothing cached
            r = _hostile(srv, path, range(500, 600))
            cc = (r.header("Cache-Control") or "").lower()
            expect("max-age=86400" not in cc and "immutable" not in cc,
                   "%s: a 5xx is cacheable: Cache-Control %r" % (path, cc))
        # a tile from the intact first half may be served, but then it must be right
        path = iiif(3, ident, "%d,%d,%d,%d" % kept, "%d," % kept[2], fmt="png")
        r = srv.get(path)
        expect(r.status in (200, 500), "%s: %d" % (path, r.status))
        if r.status == 200:
            im = pixels.decode(r.body)
            check(j, im, kept, im.size, path)
    # untiled, LRCP: lower resolutions come first and may decode; full resolution cannot
    ident = "jp2-h-trunc-untiled"
    _info_status(srv, ident)
    _hostile(srv, iiif(3, ident, "full", "max"), range(500, 600))
    _hostile(srv, iiif(3, ident, "1000,1000,256,256", "256,"), range(500, 600))
    for size in ("125,", "250,"):
        path = iiif(3, ident, "full", size, fmt="png")
        r = srv.get(path)
        expect(r.status in (200, 500), "%s: %d" % (path, r.status))
        if r.status == 200:
            im = pixels.decode(r.body)
            pixels.check_pattern(im, MAIN, (0, 0, W, H), im.size, tol=pixels.TOL_LOSSLESS,
                                 margin_out=2, what=path + ": ")
    _still_serving(srv, "truncated JP2s")


@test("jp2 hostile: random bytes after an intact main header are 500, never 200 (JP2 and raw J2K)")
def _(ctx, srv):
    ensure(ctx)
    for ident in ("jp2-h-garbage", "jp2-h-garbage.j2k"):
        _info_status(srv, ident)
        for path in (iiif(3, ident, "full", "max"), iiif(3, ident, "0,0,256,256", "256,"),
                     iiif(3, ident, "full", "64,"), iiif(3, ident, "256,256,256,256", "128,", fmt="png")):
            _hostile(srv, path, range(500, 600))
        _still_serving(srv, ident)


@test("jp2 hostile: tiles missing from the code-stream are 500, not black; random packets do not crash")
def _(ctx, srv):
    """jp2-h-packets: a 512x512 file of four 256x256 tiles whose only
    tile-part (tile 0, Psot 0) holds random bytes.  OpenJPEG decodes
    tiles with no tile-part as black and says nothing; the reader must
    refuse them.  Random packet data itself is not always detectable
    (no SOP/EPH markers): tile 0 may be a 200, but must come back fast."""
    ensure(ctx)
    for ident in ("jp2-h-packets", "jp2-h-packets.j2k"):
        _info_status(srv, ident)
        for path in (iiif(3, ident, "full", "max"), iiif(3, ident, "256,256,256,256", "256,"),
                     iiif(3, ident, "256,0,256,256", "128,", fmt="png"), iiif(3, ident, "full", "64,"),
                     iiif(3, ident, "200,200,100,100", "max")):
            _hostile(srv, path, range(500, 600))
        _hostile(srv, iiif(3, ident, "0,0,256,256", "256,"), (200, 500))
        _still_serving(srv, ident)


@test("jp2 hostile: a big JP2 region over the decode budget is 403, a small one works", server="budget")
def _(ctx, srv):
    ensure(ctx)
    for key in ("t256", "untiled"):
        ident = BY_KEY[key].ident
        for path in (iiif(3, ident, "full", "max"), iiif(3, ident, "0,0,1024,1024", "max"),
                     iiif(3, ident, "full", "1000,")):
            _hostile(srv, path, (403,))
        im, _ = get_image(srv, iiif(3, ident, "0,0,200,200", "200,", fmt="png"))
        check(BY_KEY[key], im, (0, 0, 200, 200), (200, 200), ident)
        path = iiif(3, ident, "full", "200,", fmt="png")
        im, _ = get_image(srv, path)
        pixels.check_pattern(im, MAIN, (0, 0, W, H), im.size, tol=pixels.TOL_LOSSLESS, margin_out=2,
                             what=path + ": ")


# ---- idle_trim_seconds: the decode buffers go back once the daemon is idle

def _vm_rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise AssertionError("no VmRSS for pid %d" % pid)


def _trims(srv):
    r = srv.get("/metrics")
    expect_status(r, 200, "GET /metrics")
    for line in r.body.decode().splitlines():
        if line.startswith("tessera_memory_trims_total "):
            return int(line.split()[1])
    raise AssertionError("/metrics has no tessera_memory_trims_total")


def _decode_burst(srv):
    """Whole-image decodes of the 2000x1500 files on four connections at once
    (OpenJPEG's buffers, ~40 MB each, freed into the threads' arenas)."""
    import threading
    errors = []

    def one(key):
        for size in ("max", "1000,"):
            r = srv.get(iiif(3, BY_KEY[key].ident, "full", size))
            if r.status != 200:
                errors.append("%s %s: %d" % (key, size, r.status))

    ts = [threading.Thread(target=one, args=(k,)) for k in ("untiled", "rpcl", "t1024", "lossy")]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    expect(not errors, "decodes failed: %s" % errors)


@test("jp2 memory: idle_trim_seconds gives the decode buffers back once idle; 0 keeps them",
      server=None)
def _(ctx, srv):
    import harness
    ensure(ctx)
    flags = ["--threads", "8", "--max-heavy-renders", "4", "--cache-size", "0",
             "--decoded-cache-mb", "0"]
    on = harness.start_embedded(ctx.tmp, "jp2-trim-on", ctx.root, flags + ["--idle-trim-seconds", "2"])
    off = harness.start_embedded(ctx.tmp, "jp2-trim-off", ctx.root, flags + ["--idle-trim-seconds", "0"])
    try:
        busy = {}
        for s in (off, on):   # on last: it may shrink as soon as its own burst ends
            _decode_burst(s)
            busy[s.name] = _vm_rss_mb(s.procs[0].pid)
        # No request now: the trimming daemon shrinks within ~2.5 s of the
        # last one; give it 15 s on a loaded machine.
        end = time.monotonic() + 15
        while time.monotonic() < end and _vm_rss_mb(on.procs[0].pid) > busy[on.name] - 40:
            time.sleep(0.2)
        idle = {s.name: _vm_rss_mb(s.procs[0].pid) for s in (on, off)}
        print("#   VmRSS after the decodes / idle: trim on %.0f / %.0f MB, off %.0f / %.0f MB" % (
            busy[on.name], idle[on.name], busy[off.name], idle[off.name]))
        expect(idle[on.name] <= busy[on.name] - 40,
               "idle_trim_seconds 2: VmRSS %.0f MB after the decodes, still %.0f MB when idle" % (
                   busy[on.name], idle[on.name]))
        expect(idle[off.name] > busy[off.name] - 40,
               "idle_trim_seconds 0: VmRSS fell from %.0f to %.0f MB" % (busy[off.name], idle[off.name]))
        expect(_trims(on) >= 1, "trim on: tessera_memory_trims_total is 0")
        expect(_trims(off) == 0, "trim off: tessera_memory_trims_total is not 0")
        _decode_burst(on)   # and it serves on after giving the memory back
    finally:
        on.stop()
        off.stop()
