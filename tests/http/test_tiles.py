"""test_tiles.py - DeepZoom, Zoomify and IIP end to end, behind nginx.

Every answer is checked against the pyramid arithmetic of the protocol,
computed here from the protocol's own rules rather than from the daemon:
DeepZoom (level L is ceil(W / 2^(max-L)) wide, max = ceil(log2(max(W,H))),
tiles of TileSize plus Overlap on the inner sides), Zoomify (floor-halve
until the level fits one 256 tile; TileGroup = floor(index / 256) counting
the smaller levels first, row by row) and IIP as iipmooviewer speaks it
(Max-size, Tile-size, Resolution-number, then JTL=res,tile with res 0 the
smallest and resolutions floor-halved from Max-size).

The one idea: a tile of any of these protocols is a rectangle of full-
resolution pixels at a size, so the test asks the IIIF endpoint for the
same rectangle and size as PNG and requires the two images to be equal
pixel for pixel; colours are then checked against the pattern once, on
the IIIF side (test_iiif3.py) and here on IIP tiles.  Every answer,
errors included, must carry the CORS header.

Uses the 2000x1500 JPEG pyramid "pattern" and a 5000x4000 one
("tiles-big", made here on first use) whose 429 Zoomify tiles cross a
TileGroup boundary inside the full-resolution level.
"""

import json
import math
import os
import re
import xml.etree.ElementTree as ET

import numpy as np
from PIL import Image

import common
import images
import pixels
from common import test, expect, expect_status, get_image, short

ID = "pattern"
W, H = 2000, 1500
BIG = "tiles-big"
BW, BH = 5000, 4000
IIP = "/fcgi-bin/iipsrv.fcgi"
DZ_NS = "{http://schemas.microsoft.com/deepzoom/2008}"

# A second daemon behind nginx whose DeepZoom tiles do not overlap.
common.SERVER_CONFIGS.setdefault("dz0", ("nginx", ["--deepzoom-overlap", "0"]))


# --------------------------------------------------------------------------
# the protocols' arithmetic, written from their rules

def dz_max_level(w, h):
    m, level = max(w, h), 0
    while (1 << level) < m:
        level += 1
    return level


def dz_level_size(w, h, level):
    s = 1 << (dz_max_level(w, h) - level)
    return -(-w // s), -(-h // s)


def dz_tile(w, h, level, col, row, ts, ov):
    """(region x, y, w, h in full-resolution pixels, out w, out h)."""
    s = 1 << (dz_max_level(w, h) - level)
    lw, lh = dz_level_size(w, h, level)
    x0 = col * ts - (ov if col else 0)
    y0 = row * ts - (ov if row else 0)
    x1 = min((col + 1) * ts + ov, lw)
    y1 = min((row + 1) * ts + ov, lh)
    rx, ry = x0 * s, y0 * s
    return (rx, ry, min(x1 * s, w) - rx, min(y1 * s, h) - ry), (x1 - x0, y1 - y0)


def zoomify_levels(w, h, ts=256):
    out = [(w, h)]
    while w > ts or h > ts:
        w, h = w // 2, h // 2
        out.append((w, h))
    return out[::-1]   # smallest first


def zoomify_tile(w, h, z, x, y, ts=256):
    levels = zoomify_levels(w, h, ts)
    lw, lh = levels[z]
    s = 1 << (len(levels) - 1 - z)
    rx, ry = x * ts * s, y * ts * s
    ow, oh = min((x + 1) * ts, lw) - x * ts, min((y + 1) * ts, lh) - y * ts
    return (rx, ry, min((x * ts + ow) * s, w) - rx, min((y * ts + oh) * s, h) - ry), (ow, oh)


def zoomify_group(w, h, z, x, y, ts=256):
    levels = zoomify_levels(w, h, ts)
    index = sum(-(-lw // ts) * -(-lh // ts) for lw, lh in levels[:z])
    index += y * -(-levels[z][0] // ts) + x
    return index // 256


def iiif_png(region, size, ident=ID):
    return "/iiif/3/%s/%d,%d,%d,%d/%d,%d/0/default.png" % ((ident,) + tuple(region) + tuple(size))


# --------------------------------------------------------------------------
# helpers

def pattern(ctx):
    return ctx.variants["jpeg"].pattern


def cors(r, what):
    expect(r.header("Access-Control-Allow-Origin") == "*",
           "%s: Access-Control-Allow-Origin %r" % (what, r.header("Access-Control-Allow-Origin")))


def get(srv, path, code=200, media=None):
    r = srv.get(path)
    expect_status(r, code, "GET " + path)
    cors(r, "GET " + path)
    if media:
        expect(r.media_type == media, "GET %s: Content-Type %r, expected %s" % (
            path, r.header("Content-Type"), media))
    return r


def image(srv, path):
    if "?" in path:     # IIP: the format is in the query, not the path
        q = path.split("?", 1)[1]
        fmt = "png" if ("PTL=" in q or q.endswith(".png")) else "jpg"
    else:
        fmt = None
    im, r = get_image(srv, path, fmt)
    cors(r, "GET " + path)
    return im


def same_pixels(a, b, what):
    pa, pb = np.asarray(a.convert("RGB"), dtype=np.int32), np.asarray(b.convert("RGB"), dtype=np.int32)
    expect(pa.shape == pb.shape, "%s: sizes %dx%d and %dx%d" % (what, a.size[0], a.size[1],
                                                               b.size[0], b.size[1]))
    d = np.abs(pa - pb).max(axis=2)
    if d.any():
        ys, xs = np.nonzero(d)
        raise AssertionError("%s: %d pixels differ (up to %d); first at (%d,%d)" % (
            what, len(xs), d.max(), xs[0], ys[0]))


def big_image(ctx):
    """Write the 5000x4000 pattern pyramid under the root once.  Built from
    the block colours and np.repeat, so it costs ~60 MB, not the gigabyte a
    per-pixel index grid would."""
    p = images.Pattern(BW, BH)
    path = os.path.join(ctx.root, BIG + ".tif")
    if not os.path.exists(path):
        nbx, nby = -(-BW // images.BLOCK), -(-BH // images.BLOCK)
        by, bx = np.indices((nby, nbx))
        blocks = p.colour(bx, by).astype(np.uint8)
        full = np.repeat(np.repeat(blocks, images.BLOCK, axis=0), images.BLOCK, axis=1)[:BH, :BW]
        png = os.path.join(ctx.tmp, "work", BIG + ".png")
        os.makedirs(os.path.dirname(png), exist_ok=True)
        Image.fromarray(np.ascontiguousarray(full)).save(png, compress_level=1)
        tmp = os.path.join(ctx.tmp, "work", BIG + ".tif")
        images.vips("tiffsave", png, tmp, *(images.PYR + images.JPEG))
        os.rename(tmp, path)    # appears whole, never half-written
    return p


def dzi(srv, ident=ID):
    r = get(srv, "/deepzoom/%s.dzi" % ident, media="application/xml")
    root = ET.fromstring(r.body)
    expect(root.tag == DZ_NS + "Image", "DZI root is %r, expected Image in the 2008 namespace" % root.tag)
    size = root.find(DZ_NS + "Size")
    expect(size is not None, "DZI without <Size>: %s" % short(r.body, 300))
    return {"Width": int(size.get("Width")), "Height": int(size.get("Height")),
            "TileSize": int(root.get("TileSize")), "Overlap": int(root.get("Overlap")),
            "Format": root.get("Format")}


# --------------------------------------------------------------------------
# DeepZoom

@test("deepzoom: the DZI in XML, JSON and JSONP gives Width, Height, TileSize 256, Overlap 1 and Format jpg")
def _(ctx, srv):
    d = dzi(srv)
    expect(d == {"Width": W, "Height": H, "TileSize": 256, "Overlap": 1, "Format": "jpg"},
           "DZI says %r" % d)
    r = get(srv, "/deepzoom/%s.dzi?format=json" % ID, media="application/json")
    j = json.loads(r.body)["Image"]
    got = (int(j["Size"]["Width"]), int(j["Size"]["Height"]), int(j["TileSize"]), int(j["Overlap"]),
           j["Format"])
    expect(got == (W, H, 256, 1, "jpg"), "DZI JSON says %r" % (j,))
    r = get(srv, "/deepzoom/%s.js?callback=tessera_cb1" % ID, media="application/javascript")
    m = re.match(rb"^\s*tessera_cb1\((.*)\);?\s*$", r.body, re.S)
    expect(m, "JSONP is not tessera_cb1({...}): %s" % short(r.body))
    expect(json.loads(m.group(1)) == json.loads(get(srv, "/deepzoom/%s.dzi?format=json" % ID).body),
           "JSONP and JSON differ")
    get(srv, "/deepzoom/nosuchimage.dzi", 404)
    # stored tiles of 256x128 are not square: DeepZoom falls back to 256
    t = ctx.variants["tile128"].ident
    expect(dzi(srv, t)["TileSize"] == 256, "DZI of %s (256x128 tiles) says %r" % (t, dzi(srv, t)))


def _dz_levels(srv, ov, ident=ID, w=W, h=H):
    ts = 256
    top = dz_max_level(w, h)
    for level in range(top + 1):
        lw, lh = dz_level_size(w, h, level)
        cols, rows = -(-lw // ts), -(-lh // ts)
        if level == 0:
            expect((lw, lh) == (1, 1), "level 0 is %dx%d" % (lw, lh))
        tiles = {(0, 0), (cols - 1, rows - 1), (cols - 1, 0), (0, rows - 1), (cols // 2, rows // 2)}
        for c, rr in sorted(tiles):
            path = "/deepzoom/%s_files/%d/%d_%d.jpg" % (ident, level, c, rr)
            _, (ow, oh) = dz_tile(w, h, level, c, rr, ts, ov)
            im = image(srv, path)
            expect(im.size == (ow, oh), "%s (level %dx%d, %dx%d tiles, overlap %d): %dx%d, expected %dx%d" % (
                path, lw, lh, cols, rows, ov, im.size[0], im.size[1], ow, oh))
        # one past the last column, row and level is not a tile
        for c, rr, lv in ((cols, 0, level), (0, rows, level)):
            get(srv, "/deepzoom/%s_files/%d/%d_%d.jpg" % (ident, lv, c, rr), 404)
    get(srv, "/deepzoom/%s_files/%d/0_0.jpg" % (ident, top + 1), 404)
    get(srv, "/deepzoom/%s_files/99/0_0.jpg" % ident, 404)


@test("deepzoom: every level (0 is 1x1, 11 is 2000x1500) has ceil(size/256) tiles with the right edge sizes at overlap 1; one past is 404")
def _(ctx, srv):
    expect(dz_max_level(W, H) == 11, "test bug: max level %d" % dz_max_level(W, H))
    _dz_levels(srv, 1)


@test("deepzoom: the odd 1001x751 image's levels round up (level 9 is 501x376) with the right edge tiles")
def _(ctx, srv):
    v = ctx.variants["odd"]
    d = dzi(srv, v.ident)
    expect((d["Width"], d["Height"]) == (1001, 751), "DZI size %r" % d)
    expect(dz_level_size(1001, 751, 9) == (501, 376), "test bug")
    _dz_levels(srv, 1, v.ident, 1001, 751)


@test("deepzoom: with --deepzoom-overlap 0 the DZI says Overlap 0 and every level's tiles abut exactly", server="dz0")
def _(ctx, srv):
    d = dzi(srv)
    expect(d["Overlap"] == 0 and d["TileSize"] == 256, "DZI says %r" % d)
    _dz_levels(srv, 0)


def _dz_identity(srv, ov, levels, ident=ID, w=W, h=H):
    ts = 256
    for level in levels:
        lw, lh = dz_level_size(w, h, level)
        cols, rows = -(-lw // ts), -(-lh // ts)
        for c, rr in sorted({(0, 0), (cols - 1, rows - 1), (cols // 2, 0), (0, rows - 1)}):
            region, size = dz_tile(w, h, level, c, rr, ts, ov)
            path = "/deepzoom/%s_files/%d/%d_%d.png" % (ident, level, c, rr)
            a = image(srv, path)
            b = image(srv, iiif_png(region, size, ident))
            same_pixels(a, b, "%s vs %s" % (path, iiif_png(region, size, ident)))


@test("deepzoom: a tile equals, pixel for pixel, the IIIF image of its full-resolution region and size (levels 7-11, edge tiles, overlap 1)")
def _(ctx, srv):
    _dz_identity(srv, 1, (7, 8, 9, 10, 11))
    _dz_identity(srv, 1, (8, 9, 10), ctx.variants["odd"].ident, 1001, 751)


@test("deepzoom: overlap 0 tiles equal the IIIF image of their region too", server="dz0")
def _(ctx, srv):
    _dz_identity(srv, 0, (8, 10, 11))


@test("deepzoom: tiles show the pattern at the right place (level 10, middle and edge tile, jpg)")
def _(ctx, srv):
    p = pattern(ctx)
    for c, rr in ((1, 1), (3, 2)):
        region, size = dz_tile(W, H, 10, c, rr, 256, 1)
        im = image(srv, "/deepzoom/%s_files/10/%d_%d.jpg" % (ID, c, rr))
        pixels.check_pattern(im, p, region, size, tol=pixels.TOL_JPEG, what="deepzoom 10/%d_%d: " % (c, rr))


# --------------------------------------------------------------------------
# Zoomify

def _properties(srv, ident):
    r = get(srv, "/zoomify/%s/ImageProperties.xml" % ident, media="application/xml")
    root = ET.fromstring(r.body)
    expect(root.tag == "IMAGE_PROPERTIES", "root element %r" % root.tag)
    return {k: root.get(k) for k in ("WIDTH", "HEIGHT", "NUMTILES", "TILESIZE", "NUMIMAGES")}


@test("zoomify: ImageProperties.xml gives WIDTH, HEIGHT, TILESIZE 256 and NUMTILES summed over the floor-halved levels")
def _(ctx, srv):
    big_image(ctx)
    for ident, w, h in ((ID, W, H), (BIG, BW, BH)):
        n = sum(-(-lw // 256) * -(-lh // 256) for lw, lh in zoomify_levels(w, h))
        got = _properties(srv, ident)
        want = {"WIDTH": str(w), "HEIGHT": str(h), "NUMTILES": str(n), "TILESIZE": "256", "NUMIMAGES": "1"}
        expect(got == want, "%s: ImageProperties %r, expected %r" % (ident, got, want))
    expect(n == 429, "test bug: %d tiles" % n)
    get(srv, "/zoomify/nosuchimage/ImageProperties.xml", 404)


@test("zoomify: TileGroup numbering crosses 256 inside the full level of a 5000x4000 image; a wrong group or tile is 404")
def _(ctx, srv):
    p = big_image(ctx)
    levels = zoomify_levels(BW, BH)
    z = len(levels) - 1
    lw, lh = levels[z]
    # tile index 255 is the last of group 0, 256 the first of group 1
    before = sum(-(-a // 256) * -(-b // 256) for a, b in levels[:z])
    across = -(-lw // 256)
    i0, i1 = 255 - before, 256 - before
    t0 = (i0 % across, i0 // across)
    t1 = (i1 % across, i1 // across)
    expect(zoomify_group(BW, BH, z, *t0) == 0 and zoomify_group(BW, BH, z, *t1) == 1,
           "test bug: groups of %r %r" % (t0, t1))
    for (x, y), g in ((t0, 0), (t1, 1)):
        path = "/zoomify/%s/TileGroup%d/%d-%d-%d.jpg" % (BIG, g, z, x, y)
        region, size = zoomify_tile(BW, BH, z, x, y)
        im = image(srv, path)
        pixels.check_pattern(im, p, region, size, what="%s: " % path)
        get(srv, "/zoomify/%s/TileGroup%d/%d-%d-%d.jpg" % (BIG, 1 - g, z, x, y), 404)
    # the last tile of all (group 1, bottom-right edge), the smallest level, and past the ends
    x, y = across - 1, -(-lh // 256) - 1
    g = zoomify_group(BW, BH, z, x, y)
    region, size = zoomify_tile(BW, BH, z, x, y)
    im = image(srv, "/zoomify/%s/TileGroup%d/%d-%d-%d.jpg" % (BIG, g, z, x, y))
    expect(im.size == size, "last tile %dx%d, expected %dx%d" % (im.size + size))
    im = image(srv, "/zoomify/%s/TileGroup0/0-0-0.jpg" % BIG)
    expect(im.size == levels[0], "level 0 tile %dx%d, expected %dx%d" % (im.size + levels[0]))
    for path in ("/zoomify/%s/TileGroup%d/%d-%d-%d.jpg" % (BIG, g, z, x + 1, y),
                 "/zoomify/%s/TileGroup%d/%d-%d-%d.jpg" % (BIG, g, z, x, y + 1),
                 "/zoomify/%s/TileGroup%d/%d-0-0.jpg" % (BIG, g, z + 1),
                 "/zoomify/%s/TileGroup9/0-0-0.jpg" % BIG,
                 "/zoomify/nosuchimage/TileGroup0/0-0-0.jpg"):
        get(srv, path, 404)


@test("zoomify: a tile equals, pixel for pixel, the IIIF image of its region and size (every level, edge tiles)")
def _(ctx, srv):
    levels = zoomify_levels(W, H)
    for z, (lw, lh) in enumerate(levels):
        nx, ny = -(-lw // 256), -(-lh // 256)
        for x, y in sorted({(0, 0), (nx - 1, ny - 1), (nx - 1, 0)}):
            g = zoomify_group(W, H, z, x, y)
            path = "/zoomify/%s/TileGroup%d/%d-%d-%d.png" % (ID, g, z, x, y)
            region, size = zoomify_tile(W, H, z, x, y)
            a = image(srv, path)
            expect(a.size == size, "%s: %dx%d, expected %dx%d" % ((path,) + a.size + size))
            same_pixels(a, image(srv, iiif_png(region, size)), "%s vs %s" % (path, iiif_png(region, size)))


# --------------------------------------------------------------------------
# IIP, as iipmooviewer walks it

def iip_objects(body):
    out = {}
    for line in body.decode("latin-1").splitlines():
        if ":" in line:
            k, _, v = line.partition(":")
            out[k.strip()] = v.strip()
    return out


def iip_describe(srv, fif="pattern.tif"):
    r = get(srv, "%s?FIF=%s&OBJ=IIP,1.0&OBJ=Max-size&OBJ=Tile-size&OBJ=Resolution-number" % (IIP, fif))
    o = iip_objects(r.body)
    for k in ("IIP", "Max-size", "Tile-size", "Resolution-number"):
        expect(k in o, "no %s in the OBJ answer: %s" % (k, short(r.body, 200)))
    mw, mh = map(int, o["Max-size"].split())
    tw, th = map(int, o["Tile-size"].split())
    n = int(o["Resolution-number"])
    # iipmooviewer: resolutions floor-halved from Max-size, smallest first
    res = [(mw, mh)]
    for _ in range(n - 1):
        res.append((res[-1][0] // 2, res[-1][1] // 2))
    return o, (mw, mh), (tw, th), res[::-1]


@test("iip: OBJ=IIP,1.0, Max-size, Tile-size and Resolution-number answer the image's geometry")
def _(ctx, srv):
    o, mx, tile, res = iip_describe(srv)
    expect(o["IIP"] == "1.0", "IIP:%s" % o["IIP"])
    expect(mx == (W, H), "Max-size %r" % (mx,))
    expect(tile == (256, 256), "Tile-size %r" % (tile,))
    expect(len(res) == 4, "Resolution-number %d for a 2000x1500 pyramid of 256 tiles" % len(res))


@test("iip: JTL=r,t answers every tile of two resolutions as a JPEG of the right size and colours; PTL is PNG")
def _(ctx, srv):
    p = pattern(ctx)
    _, (mw, mh), (tw, th), res = iip_describe(srv)
    for r in (1, 2):
        lw, lh = res[r]
        nx, ny = -(-lw // tw), -(-lh // th)
        sx, sy = mw / lw, mh / lh
        for t in range(nx * ny):
            tx, ty = t % nx, t // nx
            ow, oh = min(tw, lw - tx * tw), min(th, lh - ty * th)
            region = (tx * tw * sx, ty * th * sy, ow * sx, oh * sy)
            path = "%s?FIF=pattern.tif&JTL=%d,%d" % (IIP, r, t)
            im = image(srv, path)
            expect(im.format == "JPEG", "%s: %s" % (path, im.format))
            expect(im.size == (ow, oh), "%s: %dx%d, expected %dx%d" % ((path,) + im.size + (ow, oh)))
            pixels.check_pattern(im, p, region, (ow, oh), what="%s: " % path)
    # PTL: PNG of the same tile
    lw, lh = res[2]
    path = "%s?FIF=pattern.tif&PTL=2,5" % IIP
    im = image(srv, path)
    nx = -(-lw // tw)
    tx, ty = 5 % nx, 5 // nx
    ow, oh = min(tw, lw - tx * tw), min(th, lh - ty * th)
    expect(im.size == (ow, oh), "%s: %dx%d, expected %dx%d" % ((path,) + im.size + (ow, oh)))
    pixels.check_pattern(im, p, (tx * tw * 2, ty * th * 2, ow * 2, oh * 2), (ow, oh), what="%s: " % path)


@test("iip: CVT=jpeg with WID and RGN renders that part of the image at that width")
def _(ctx, srv):
    p = pattern(ctx)
    path = "%s?FIF=pattern.tif&WID=500&RGN=0.25,0.25,0.5,0.5&CVT=jpeg" % IIP
    im = image(srv, path)
    expect(im.size == (500, 375), "%s: %dx%d, expected 500x375" % ((path,) + im.size))
    pixels.check_pattern(im, p, (500, 375, 1000, 750), (500, 375), what="%s: " % path)
    path = "%s?FIF=pattern.tif&WID=400&CVT=jpeg" % IIP
    im = image(srv, path)
    expect(im.size == (400, 300), "%s: %dx%d, expected 400x300" % ((path,) + im.size))
    pixels.check_pattern(im, p, (0, 0, W, H), (400, 300), what="%s: " % path)


@test("iip: an out-of-range JTL is an IIP Error/ body with a non-200 status; a missing FIF image is 404")
def _(ctx, srv):
    for q in ("FIF=pattern.tif&JTL=4,0", "FIF=pattern.tif&JTL=1,4", "FIF=pattern.tif&JTL=0,1"):
        path = "%s?%s" % (IIP, q)
        r = srv.get(path)
        expect(r.status != 200 and 400 <= r.status < 500, "GET %s: status %d" % (path, r.status))
        cors(r, "GET " + path)
        m = re.match(rb"^Error/(\d+):(.*?)\r?\n?$", r.body, re.S)
        expect(m, "GET %s: body is not an IIP error: %s" % (path, short(r.body)))
        expect(int(m.group(1)) == len(m.group(2)), "GET %s: Error/%s but %d bytes follow" % (
            path, m.group(1).decode(), len(m.group(2))))
    for q in ("FIF=nosuchimage.tif&JTL=0,0", "FIF=nosuchimage.tif&OBJ=Max-size"):
        r = get(srv, "%s?%s" % (IIP, q), 404)
        expect(r.body.startswith(b"Error/"), "GET %s?%s: body %s" % (IIP, q, short(r.body)))


@test("iip: ?IIIF= on iipsrv.fcgi serves info.json whose id is the URL minus /info.json, and images")
def _(ctx, srv):
    p = pattern(ctx)
    path = "%s?IIIF=pattern.tif/info.json" % IIP
    r = get(srv, path)
    info = json.loads(r.body)
    want = "http://127.0.0.1:%d%s" % (srv.port, path[:-len("/info.json")])
    expect(info.get("id") == want, "id %r, expected %r" % (info.get("id"), want))
    expect((info.get("width"), info.get("height")) == (W, H), "size %r x %r" % (info.get("width"), info.get("height")))
    path = "%s?IIIF=pattern.tif/full/200,/0/default.jpg" % IIP
    im = image(srv, path)
    expect(im.size == (200, 150), "%s: %dx%d" % ((path,) + im.size))
    pixels.check_pattern(im, p, (0, 0, W, H), (200, 150), what="%s: " % path)


@test("iip: ?IIIF= takes identifiers with real slashes, as iipsrv does, and the id keeps them")
def _(ctx, srv):
    p = pattern(ctx)
    for ident in ("sub/dir/x.tif", "/sub/dir/x.tif", "sub%2Fdir%2Fx.tif"):
        path = "%s?IIIF=%s/info.json" % (IIP, ident)
        info = json.loads(get(srv, path).body)
        want = "http://127.0.0.1:%d%s" % (srv.port, path[:-len("/info.json")])
        expect(info.get("id") == want, "id %r, expected %r" % (info.get("id"), want))
        path = "%s?IIIF=%s/full/200,/0/default.jpg" % (IIP, ident)
        im = image(srv, path)
        expect(im.size == (200, 150), "%s: %dx%d" % ((path,) + im.size))
        pixels.check_pattern(im, p, (0, 0, W, H), (200, 150), what="%s: " % path)
    r = srv.get("%s?IIIF=sub/dir/x.tif" % IIP)
    expect_status(r, 303, "base URI with slashes")
    expect(r.header("Location", "").endswith("?IIIF=sub/dir/x.tif/info.json"),
           "Location %r" % r.header("Location"))
    r = srv.get("%s?IIIF=sub/dir/nope.tif/info.json" % IIP)
    expect_status(r, 404, "a missing image under a sub-folder")


@test("iip: ?DeepZoom= and ?Zoomify= on iipsrv.fcgi serve the same documents and tiles as /deepzoom and /zoomify")
def _(ctx, srv):
    a = get(srv, "%s?DeepZoom=pattern.tif.dzi" % IIP, media="application/xml")
    root = ET.fromstring(a.body)
    size = root.find(DZ_NS + "Size")
    expect(size is not None and (size.get("Width"), size.get("Height")) == (str(W), str(H)),
           "DZI %s" % short(a.body, 300))
    t1 = image(srv, "%s?DeepZoom=pattern.tif_files/9/1_1.png" % IIP)
    t2 = image(srv, "/deepzoom/pattern_files/9/1_1.png")
    same_pixels(t1, t2, "DeepZoom= tile vs /deepzoom tile")
    a = get(srv, "%s?Zoomify=pattern.tif/ImageProperties.xml" % IIP, media="application/xml")
    root = ET.fromstring(a.body)
    expect((root.get("WIDTH"), root.get("HEIGHT"), root.get("TILESIZE")) == (str(W), str(H), "256"),
           "ImageProperties %s" % short(a.body, 300))
    t1 = image(srv, "%s?Zoomify=pattern.tif/TileGroup0/2-1-1.png" % IIP)
    t2 = image(srv, "/zoomify/pattern/TileGroup0/2-1-1.png")
    same_pixels(t1, t2, "Zoomify= tile vs /zoomify tile")
    get(srv, "%s?DeepZoom=nosuchimage.dzi" % IIP, 404)
