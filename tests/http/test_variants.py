"""test_variants.py - pixel correctness across every TIFF layout, behind nginx.

For each image variant (JPEG, deflate, LZW, uncompressed and WebP tiles,
SubIFD pyramid, BigTIFF, 256x128 tiles, 8-bit gray, RGBA with a hole,
16-bit RGB, untiled striped single level, odd 1001x751 size) the tiles
info.json promises are fetched at every scale factor (first, middle and
last tile, the last one clipped at the edge) and a region aligned to
nothing is compared with the pattern.  Sizes must be exact; colours must be
within the tolerance of the formats involved.
"""

import io
import math

from PIL import Image

import pixels
from common import test, expect, expect_status, expect_size, get_image, iiif, Skip


def _variant_test(key):
    @test("variant %s: info.json, tiles at every scale and an unaligned region match the pattern" % key)
    def _(ctx, srv):
        v = ctx.variants.get(key)
        if v is None:
            raise Skip("vips could not write this variant")
        p = v.pattern
        r = srv.get("/iiif/3/%s/info.json" % v.ident)
        if r.status == 501:
            raise Skip("codec not built: %s" % r.body[:80])
        expect_status(r, 200, "GET /iiif/3/%s/info.json" % v.ident)
        info = ctx.info(srv, v.ident)
        expect(info.get("width") == p.width and info.get("height") == p.height,
               "info size %rx%r, file is %dx%d" % (info.get("width"), info.get("height"), p.width, p.height))
        fmt = "jpg" if v.lossy else "png"
        tol = pixels.TOL_WEBP if key == "webp" else (pixels.TOL_JPEG if v.lossy else pixels.TOL_LOSSLESS)
        alpha = p.alpha_blocks is not None
        tiles = info.get("tiles") or []
        checked = 0
        if v.tile:
            expect(tiles, "a tiled file without tiles in info.json")
        if tiles:
            t = tiles[0]
            tw = t["width"]
            th = t.get("height", tw)
            if v.tile:
                expect((tw, th) == v.tile, "info.json tiles %dx%d, file tiles %dx%d" % (tw, th, v.tile[0], v.tile[1]))
            sfs = t.get("scaleFactors", [1])
            if v.pyramid:
                # vips halves until the level fits in one tile
                lw, lh, levels = p.width, p.height, 1
                while lw > v.tile[0] or lh > v.tile[1]:
                    lw, lh, levels = (lw + 1) // 2, (lh + 1) // 2, levels + 1
                expect(len(sfs) >= levels, "scaleFactors %r for a %d-level pyramid" % (sfs, levels))
            for s in sfs:
                nx = math.ceil(p.width / (tw * s))
                ny = math.ceil(p.height / (th * s))
                for tx, ty in sorted({(0, 0), (nx // 2, ny // 2), (nx - 1, ny - 1)}):
                    x, y = tx * tw * s, ty * th * s
                    rw, rh = min(tw * s, p.width - x), min(th * s, p.height - y)
                    ow, oh = math.ceil(rw / s), math.ceil(rh / s)
                    path = iiif(3, v.ident, "%d,%d,%d,%d" % (x, y, rw, rh), "%d," % ow, fmt=fmt)
                    im, _ = get_image(srv, path)
                    expect(im.size[0] == ow and abs(im.size[1] - oh) <= 1,
                           "%s: size %dx%d, expected %dx%d" % (path, im.size[0], im.size[1], ow, oh))
                    checked += pixels.check_pattern(im, p, (x, y, rw, rh), im.size, tol=tol,
                                                    check_alpha=alpha, what="%s: " % path)
        # an unaligned region, scaled down by about 1.7
        rx, ry, rw, rh = 123, 77, 517, 333
        path = iiif(3, v.ident, "%d,%d,%d,%d" % (rx, ry, rw, rh), "300,193", fmt=fmt)
        im, _ = get_image(srv, path)
        expect_size(im, 300, 193, path)
        checked += pixels.check_pattern(im, p, (rx, ry, rw, rh), (300, 193), tol=tol, check_alpha=alpha,
                                        what="%s: " % path)
        # the whole image small, and as jpg too (alpha flattened or dropped)
        path = iiif(3, v.ident, "full", "!400,400", fmt="jpg")
        im, _ = get_image(srv, path)
        ew = 400 if p.width >= p.height else round(400 * p.width / p.height)
        eh = 400 if p.height > p.width else round(400 * p.height / p.width)
        expect(abs(im.size[0] - ew) <= 1 and abs(im.size[1] - eh) <= 1,
               "%s: size %dx%d, expected %dx%d" % (path, im.size[0], im.size[1], ew, eh))
        checked += pixels.check_pattern(im, p, (0, 0, p.width, p.height), im.size,
                                        tol=pixels.TOL_JPEG if key != "webp" else pixels.TOL_WEBP,
                                        what="%s: " % path)
        expect(checked > 100, "only %d sample points checked" % checked)
    return _


for _k in ("jpeg", "odd", "deflate", "lzw", "none", "webp", "subifd", "bigtiff", "tile128",
           "gray", "rgba", "rgb16", "striped"):
    _variant_test(_k)


@test("the pixel checker itself accepts a true rendering and rejects a wrong one", server=None)
def _(ctx, srv):
    """A test of the tests: render a region with PIL as the daemon should
    (crop, scale, mirror, rotate clockwise, JPEG q75 4:2:0) and check that
    check_pattern passes it, and fails it for the wrong rotation, the wrong
    mirroring and a region one block off."""
    p = ctx.variants["jpeg"].pattern
    src = Image.fromarray(p.array())
    region, out = (100, 0, 800, 600), (400, 300)
    im = src.crop((100, 0, 900, 600)).resize(out, Image.BILINEAR)
    im = im.transpose(Image.FLIP_LEFT_RIGHT).rotate(-90, expand=True)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=75)
    im = pixels.decode(buf.getvalue())
    pixels.check_pattern(im, p, region, out, rotation=90, mirror=True)
    for wrong in (dict(rotation=270, mirror=True), dict(rotation=90, mirror=False),
                  dict(rotation=90, mirror=True, region=(0, 0, 800, 600))):
        kw = dict(wrong)
        reg = kw.pop("region", region)
        try:
            pixels.check_pattern(im, p, reg, out, **kw)
        except pixels.Mismatch:
            continue
        raise AssertionError("check_pattern accepted a wrong rendering (%r)" % (wrong,))
