"""test_iiif3.py - IIIF Image API 3.0 level-2 conformance, from the spec.

Each test cites the section of https://iiif.io/api/image/3.0/ (and the
compliance document https://iiif.io/api/image/3.0/compliance/) it checks.
Images are requested from the 2000x1500 JPEG pyramid "pattern" and
compared pixel by pixel (block centres) with the pattern they were made
from; sizes are checked exactly.  These run against every setup.
"""

import json
import math

import numpy as np

import pixels
from common import (core, expect, expect_status, expect_size, get_image, iiif, short,
                    expected_max, Skip)

W, H = 2000, 1500
ID = "pattern"
CONTEXT3 = "http://iiif.io/api/image/3/context.json"

FEATURES3 = {"baseUriRedirect", "canonicalLinkHeader", "cors", "jsonldMediaType", "mirroring",
             "profileLinkHeader", "regionByPct", "regionByPx", "regionSquare",
             "rotationArbitrary", "rotationBy90s", "sizeByConfinedWh", "sizeByH", "sizeByPct",
             "sizeByW", "sizeByWh", "sizeUpscaling"}


def pat(ctx):
    return ctx.variants["jpeg"].pattern


def img3(srv, region="full", size="max", rotation="0", quality="default", fmt="jpg", ident=ID):
    return get_image(srv, iiif(3, ident, region, size, rotation, quality, fmt))


def status3(srv, region="full", size="max", rotation="0", quality="default", fmt="jpg", ident=ID):
    path = iiif(3, ident, region, size, rotation, quality, fmt)
    return srv.get(path), "GET " + path


# ---------------------------------------------------------------- info.json

@core("info.json 3.0 has every required property with the right value (3.0 §5.1, §5.2)")
def _(ctx, srv):
    path = "/iiif/3/%s/info.json" % ID
    r = srv.get(path)
    expect_status(r, 200, "GET " + path)
    info = json.loads(r.body)
    ctxv = info.get("@context")
    expect(ctxv == CONTEXT3 or (isinstance(ctxv, list) and ctxv and ctxv[-1] == CONTEXT3),
           "@context is %r, expected %r (last, if a list)" % (ctxv, CONTEXT3))
    want_id = "http://127.0.0.1:%d/iiif/3/%s" % (srv.port, ID)
    expect(info.get("id") == want_id, "id is %r, expected the URL used minus /info.json: %r" % (
        info.get("id"), want_id))
    expect(info.get("type") == "ImageService3", "type is %r" % info.get("type"))
    expect(info.get("protocol") == "http://iiif.io/api/image", "protocol is %r" % info.get("protocol"))
    expect(info.get("profile") == "level2", "profile is %r, expected level2" % info.get("profile"))
    expect(info.get("width") == W and info.get("height") == H,
           "width x height %r x %r, expected %d x %d" % (info.get("width"), info.get("height"), W, H))
    for k in ("maxWidth", "maxHeight", "maxArea"):
        if k in info:
            v = info[k]
            expect(isinstance(v, int) and 0 < v < 4294967295,
                   "%s is %r: must be a real limit, not a sentinel (field notes)" % (k, v))


@core("info.json id keeps the percent-encoded identifier character for character (3.0 §5.1, §9 URI encoding)")
def _(ctx, srv):
    ident = ctx.extras["sub"]
    path = "/iiif/3/%s/info.json" % ident
    r = srv.get(path)
    expect_status(r, 200, "GET " + path)
    info = json.loads(r.body)
    want = "http://127.0.0.1:%d/iiif/3/%s" % (srv.port, ident)
    expect(info.get("id") == want, "id is %r, expected %r" % (info.get("id"), want))


@core("info.json sizes ascend and each listed size is served exactly (3.0 §5.3, compliance §3.2)")
def _(ctx, srv):
    info = ctx.info(srv)
    sizes = info.get("sizes")
    if sizes is None:
        raise Skip("no sizes property")
    expect(isinstance(sizes, list) and sizes, "sizes is %r" % (sizes,))
    prev = 0
    for s in sizes:
        w, h = s.get("width"), s.get("height")
        expect(isinstance(w, int) and isinstance(h, int) and 0 < w <= W and 0 < h <= H,
               "bad size entry %r" % (s,))
        expect(w * h > prev, "sizes are not in ascending order: %r" % (sizes,))
        prev = w * h
        expect(abs(w / h - W / H) < 0.02, "size %dx%d does not keep the aspect ratio" % (w, h))
    for s in sizes:
        w, h = s["width"], s["height"]
        im, _ = img3(srv, size="%d,%d" % (w, h))
        expect_size(im, w, h, "sizes entry %dx%d" % (w, h))


@core("info.json tiles match the pyramid and every scale factor's tiles are served at the implied size (3.0 §5.4)")
def _(ctx, srv):
    info = ctx.info(srv)
    tiles = info.get("tiles")
    expect(isinstance(tiles, list) and tiles, "tiles is %r" % (tiles,))
    t = tiles[0]
    tw = t.get("width")
    th = t.get("height", tw)
    sf = t.get("scaleFactors")
    expect(tw == 256 and th == 256, "tile size %rx%r, the file's tiles are 256x256" % (tw, th))
    expect(isinstance(sf, list) and sf == sorted(sf) and sf[0] == 1,
           "scaleFactors %r must ascend from 1" % (sf,))
    expect({1, 2, 4, 8} <= set(sf), "scaleFactors %r miss a level of the 2000/1000/500/250 pyramid" % (sf,))
    p = pat(ctx)
    for s in sf:
        span_w, span_h = tw * s, th * s
        nx, ny = math.ceil(W / span_w), math.ceil(H / span_h)
        for tx, ty in {(0, 0), (nx - 1, ny - 1), (nx // 2, ny // 2)}:
            x, y = tx * span_w, ty * span_h
            rw, rh = min(span_w, W - x), min(span_h, H - y)
            ow, oh = math.ceil(rw / s), math.ceil(rh / s)
            im, _ = img3(srv, region="%d,%d,%d,%d" % (x, y, rw, rh), size="%d,%d" % (ow, oh))
            pixels.check_pattern(im, p, (x, y, rw, rh), (ow, oh),
                                 what="scale %d tile (%d,%d): " % (s, tx, ty))
            # OpenSeadragon's form: w, only
            im, _ = img3(srv, region="%d,%d,%d,%d" % (x, y, rw, rh), size="%d," % ow)
            expect(abs(im.size[1] - oh) <= 1 and im.size[0] == ow,
                   "scale %d tile (%d,%d) as %d,: got %dx%d, expected %dx%d" % (
                       s, tx, ty, ow, im.size[0], im.size[1], ow, oh))


@core("info.json extraFormats all work (3.0 §5.7)")
def _(ctx, srv):
    info = ctx.info(srv)
    for f in info.get("extraFormats", []):
        expect(f in ("png", "webp", "tif", "gif", "jp2", "pdf"), "unknown extraFormat %r" % f)
        im, _ = img3(srv, region="0,0,256,256", size="128,", fmt=f)
        expect_size(im, 128, 128, "advertised format %s" % f)


@core("info.json extraQualities all work (3.0 §5.7)")
def _(ctx, srv):
    info = ctx.info(srv)
    for q in info.get("extraQualities", []):
        expect(q in ("color", "gray", "bitonal"), "unknown extraQuality %r" % q)
        im, _ = img3(srv, region="0,0,256,256", size="128,", quality=q, fmt="png")
        expect_size(im, 128, 128, "advertised quality %s" % q)


@core("info.json extraFeatures are spec names and each one really works (3.0 §5.7, compliance §3-4)")
def _(ctx, srv):
    info = ctx.info(srv)
    feats = info.get("extraFeatures", [])
    for f in feats:
        expect(f in FEATURES3, "unknown extraFeature %r" % f)
    if "mirroring" in feats:
        img3(srv, region="0,0,256,256", size="64,", rotation="!0")
    if "rotationArbitrary" in feats:
        img3(srv, region="0,0,256,256", size="64,", rotation="22.5")
    if "sizeUpscaling" in feats:
        im, _ = img3(srv, region="0,0,100,100", size="^200,")
        expect_size(im, 200, 200, "advertised sizeUpscaling ^200,")
    if "baseUriRedirect" in feats:
        r = srv.get("/iiif/3/%s" % ID)
        expect_status(r, 303, "advertised baseUriRedirect: GET /iiif/3/%s" % ID)
    if "cors" in feats:
        r = srv.get("/iiif/3/%s/info.json" % ID)
        expect(r.header("Access-Control-Allow-Origin"), "advertised cors but no Access-Control-Allow-Origin")
    if "jsonldMediaType" in feats:
        r = srv.get("/iiif/3/%s/info.json" % ID, headers={"Accept": "application/ld+json"})
        expect(r.media_type == "application/ld+json", "advertised jsonldMediaType but got %r" % r.header("Content-Type"))
    if "canonicalLinkHeader" in feats or "profileLinkHeader" in feats:
        _, r = img3(srv, region="0,0,256,256", size="64,")
        links = ",".join(r.headers_all("Link"))
        if "canonicalLinkHeader" in feats:
            expect('rel="canonical"' in links, "advertised canonicalLinkHeader; Link: %r" % links)
        if "profileLinkHeader" in feats:
            expect('rel="profile"' in links, "advertised profileLinkHeader; Link: %r" % links)


@core("info.json is application/json by default and JSON-LD with the 3 profile when asked (3.0 §5.1)")
def _(ctx, srv):
    path = "/iiif/3/%s/info.json" % ID
    r = srv.get(path)
    expect(r.media_type == "application/json", "default Content-Type %r" % r.header("Content-Type"))
    r = srv.get(path, headers={"Accept": "*/*"})
    expect(r.media_type == "application/json", "Accept */*: Content-Type %r" % r.header("Content-Type"))
    r = srv.get(path, headers={"Accept": "application/ld+json"})
    ct = (r.header("Content-Type") or "").replace(" ", "")
    expect(ct == 'application/ld+json;profile="%s"' % CONTEXT3,
           "Accept application/ld+json: Content-Type %r" % r.header("Content-Type"))
    vary = ",".join(r.headers_all("Vary")).lower()
    expect("accept" in vary, "no Vary: Accept on a negotiated info.json (Vary %r)" % vary)
    json.loads(r.body)


# ---------------------------------------------------------------- region

@core("region full returns the whole image (3.0 §4.1)")
def _(ctx, srv):
    im, _ = img3(srv, "full", "max")
    pixels.check_pattern(im, pat(ctx), (0, 0, W, H), expected_int(expected_max(W, H, ctx.info(srv))))


def expected_int(wh):
    return (int(round(wh[0])), int(round(wh[1])))


@core("region x,y,w,h returns exactly those pixels (3.0 §4.1)")
def _(ctx, srv):
    im, _ = img3(srv, "130,270,300,400", "max", fmt="png")
    pixels.check_pattern(im, pat(ctx), (130, 270, 300, 400), (300, 400))


@core("region pct:x,y,w,h is a percentage of the full size (3.0 §4.1)")
def _(ctx, srv):
    # 10% of 2000 = 200, 20% of 1500 = 300, 30% -> 600, 40% -> 600
    im, _ = img3(srv, "pct:10,20,30,40", "max")
    pixels.check_pattern(im, pat(ctx), (200, 300, 600, 600), (600, 600))


@core("region square is the largest square inside the image (3.0 §4.1)")
def _(ctx, srv):
    im, _ = img3(srv, "square", "300,")
    expect_size(im, 300, 300, "square/300,")
    # "location determined by the server": accept any horizontal offset
    errors = []
    for x0 in range(0, W - H + 1, 5):
        try:
            pixels.check_pattern(im, pat(ctx), (x0, 0, H, H), (300, 300))
            return
        except pixels.Mismatch as e:
            errors.append(str(e))
    raise AssertionError("square/300, matches no 1500x1500 square of the image (x=0: %s)" % errors[0])


@core("region crossing the edge comes back at its clipped size to the pixel (3.0 §4.1)")
def _(ctx, srv):
    im, _ = img3(srv, "%d,%d,100,100" % (W - 50, H - 50), "max", fmt="png")
    pixels.check_pattern(im, pat(ctx), (W - 50, H - 50, 50, 50), (50, 50))
    im, _ = img3(srv, "%d,%d,300,300" % (W - 123, 7), "max", fmt="png")
    pixels.check_pattern(im, pat(ctx), (W - 123, 7, 123, 300), (123, 300))
    ctxw = ctx.variants["odd"]
    im, _ = get_image(srv, iiif(3, ctxw.ident, "900,700,200,200", "max", fmt="png"))
    pixels.check_pattern(im, ctxw.pattern, (900, 700, 101, 51), (101, 51))


@core("region wholly outside the image is 400 (3.0 §4.1)")
def _(ctx, srv):
    for region in ("%d,0,10,10" % (W + 10), "%d,0,10,10" % W, "0,%d,10,10" % H, "pct:100,0,10,10"):
        r, what = status3(srv, region=region)
        expect_status(r, 400, what)


@core("region of zero width or height is 400 (3.0 §4.1)")
def _(ctx, srv):
    for region in ("0,0,0,10", "0,0,10,0", "pct:0,0,0,10"):
        r, what = status3(srv, region=region)
        expect_status(r, 400, what)


@core("malformed regions are 400 (3.0 §4.1)")
def _(ctx, srv):
    for region in ("0,0,10", "a,b,c,d", "0,0,10,10,10", "pct:", "pct:a,0,1,1", "fulll", "Full", "-5,0,10,10"):
        r, what = status3(srv, region=region)
        expect_status(r, 400, what)


# ---------------------------------------------------------------- size

@core("size max returns the region at full size (3.0 §4.2)")
def _(ctx, srv):
    im, _ = img3(srv, "0,0,700,500", "max")
    pixels.check_pattern(im, pat(ctx), (0, 0, 700, 500), (700, 500))


@core("size w, keeps the aspect ratio (3.0 §4.2)")
def _(ctx, srv):
    im, _ = img3(srv, "full", "500,")
    pixels.check_pattern(im, pat(ctx), (0, 0, W, H), (500, 375))


@core("size ,h keeps the aspect ratio (3.0 §4.2)")
def _(ctx, srv):
    im, _ = img3(srv, "full", ",300")
    pixels.check_pattern(im, pat(ctx), (0, 0, W, H), (400, 300))


@core("size pct:n scales both sides (3.0 §4.2)")
def _(ctx, srv):
    im, _ = img3(srv, "full", "pct:25")
    pixels.check_pattern(im, pat(ctx), (0, 0, W, H), (500, 375))


@core("size w,h gives exactly w x h even if distorted (3.0 §4.2)")
def _(ctx, srv):
    im, _ = img3(srv, "0,0,800,400", "300,300")
    pixels.check_pattern(im, pat(ctx), (0, 0, 800, 400), (300, 300))


@core("size !w,h fits inside w x h keeping the ratio (3.0 §4.2)")
def _(ctx, srv):
    im, _ = img3(srv, "full", "!400,400")
    pixels.check_pattern(im, pat(ctx), (0, 0, W, H), (400, 300))
    im, _ = img3(srv, "full", "!800,150")
    pixels.check_pattern(im, pat(ctx), (0, 0, W, H), (200, 150))


@core("size !w,h larger than the region returns the region's own size (3.0 §4.2)")
def _(ctx, srv):
    im, _ = img3(srv, "0,0,600,300", "!3000,3000")
    pixels.check_pattern(im, pat(ctx), (0, 0, 600, 300), (600, 300))


@core("size ^w, ^w,h ^!w,h and ^pct:n upscale (3.0 §4.2)")
def _(ctx, srv):
    if "sizeUpscaling" not in ctx.info(srv).get("extraFeatures", []):
        raise Skip("sizeUpscaling not advertised")
    p = pat(ctx)
    im, _ = img3(srv, "0,0,200,100", "^400,")
    pixels.check_pattern(im, p, (0, 0, 200, 100), (400, 200))
    im, _ = img3(srv, "0,0,200,100", "^,300")
    pixels.check_pattern(im, p, (0, 0, 200, 100), (600, 300))
    im, _ = img3(srv, "0,0,200,100", "^400,400")
    pixels.check_pattern(im, p, (0, 0, 200, 100), (400, 400))
    im, _ = img3(srv, "0,0,200,100", "^!400,400")
    pixels.check_pattern(im, p, (0, 0, 200, 100), (400, 200))
    im, _ = img3(srv, "0,0,200,100", "^pct:150")
    pixels.check_pattern(im, p, (0, 0, 200, 100), (300, 150))
    # ^ also allows sizes that do not upscale
    im, _ = img3(srv, "0,0,200,100", "^100,")
    pixels.check_pattern(im, p, (0, 0, 200, 100), (100, 50))


@core("size that would upscale without ^ is 400 (3.0 §4.2)")
def _(ctx, srv):
    for size in ("400,", ",200", "400,200", "201,100", "pct:150"):
        r, what = status3(srv, region="0,0,200,100", size=size)
        expect_status(r, 400, what)


@core("size full is not 3.0 syntax and is 400 (3.0 §4.2)")
def _(ctx, srv):
    r, what = status3(srv, size="full")
    expect_status(r, 400, what)


@core("size of zero or malformed is 400 (3.0 §4.2)")
def _(ctx, srv):
    for size in ("0,", ",0", "0,0", "pct:0", "pct:", "pct:-5", ",", "a,", "10,10,10", "!10,", "max,", "^", "^^max", "Max"):
        r, what = status3(srv, size=size)
        expect_status(r, 400, what)


# ---------------------------------------------------------------- rotation

@core("rotation 0 and 360 return the unrotated image (3.0 §4.3)")
def _(ctx, srv):
    for rot in ("0", "360", "0.0"):
        im, _ = img3(srv, "0,0,800,600", "400,", rotation=rot)
        pixels.check_pattern(im, pat(ctx), (0, 0, 800, 600), (400, 300), what="rotation %s: " % rot)


@core("rotation 90, 180 and 270 turn clockwise, moving each corner where it belongs (3.0 §4.3)")
def _(ctx, srv):
    for rot in (90, 180, 270):
        im, _ = img3(srv, "100,0,800,600", "400,", rotation=str(rot))
        pixels.check_pattern(im, pat(ctx), (100, 0, 800, 600), (400, 300), rotation=rot,
                             what="rotation %d: " % rot)


@core("rotation !0 mirrors and !90 mirrors then rotates (3.0 §4.3)")
def _(ctx, srv):
    im, _ = img3(srv, "0,0,800,600", "400,", rotation="!0")
    pixels.check_pattern(im, pat(ctx), (0, 0, 800, 600), (400, 300), mirror=True, what="!0: ")
    im, _ = img3(srv, "0,0,800,600", "400,", rotation="!90")
    pixels.check_pattern(im, pat(ctx), (0, 0, 800, 600), (400, 300), rotation=90, mirror=True, what="!90: ")
    im, _ = img3(srv, "0,0,800,600", "400,", rotation="!180")
    pixels.check_pattern(im, pat(ctx), (0, 0, 800, 600), (400, 300), rotation=180, mirror=True, what="!180: ")


@core("rotation 22.5 returns the bounding box with white corners in jpg (3.0 §4.3)")
def _(ctx, srv):
    im, _ = img3(srv, "50,0,400,300", "max", rotation="22.5")
    bw, bh = pixels.rotated_box(400, 300, 22.5)
    expect(abs(im.size[0] - bw) <= 1.01 and abs(im.size[1] - bh) <= 1.01,
           "size %dx%d, bounding box is %.1fx%.1f" % (im.size[0], im.size[1], bw, bh))
    px = pixels.rgb_array(im)
    for (x, y) in ((1, 1), (im.size[0] - 2, 1), (1, im.size[1] - 2), (im.size[0] - 2, im.size[1] - 2)):
        expect(px[y, x].min() >= 235, "corner (%d,%d) is %s, expected white" % (x, y, tuple(px[y, x])))
    # the centre of the box is the centre of the region: pixel (250,150), block (2,1)
    c = px[im.size[1] // 2, im.size[0] // 2]
    want = pat(ctx).colour(2, 1)
    expect(np.abs(c - want).max() <= 12, "centre %s, expected %s" % (tuple(c), tuple(want)))


@core("rotation 22.5 in png has transparent corners (3.0 §4.3)")
def _(ctx, srv):
    im, _ = img3(srv, "0,0,400,300", "max", rotation="22.5", fmt="png")
    a = pixels.alpha_array(im)
    expect(a is not None, "png of an arbitrary rotation has no alpha channel (mode %s)" % im.mode)
    for (x, y) in ((1, 1), (im.size[0] - 2, 1), (1, im.size[1] - 2), (im.size[0] - 2, im.size[1] - 2)):
        expect(a[y, x] == 0, "corner (%d,%d) alpha %d, expected 0" % (x, y, a[y, x]))
    expect(a[im.size[1] // 2, im.size[0] // 2] == 255, "centre is not opaque")


@core("bad rotations are 400 (3.0 §4.3)")
def _(ctx, srv):
    for rot in ("-1", "361", "abc", "!", "!!0", "90deg", "360.1", "nan", "inf"):
        r, what = status3(srv, region="0,0,100,100", rotation=rot)
        expect_status(r, 400, what)


# ---------------------------------------------------------------- quality / format

@core("quality default and color are the colour image (3.0 §4.4)")
def _(ctx, srv):
    for q in ("default", "color"):
        im, _ = img3(srv, "0,0,800,600", "400,", quality=q)
        pixels.check_pattern(im, pat(ctx), (0, 0, 800, 600), (400, 300), what="%s: " % q)


@core("quality gray has R=G=B equal to the luminance (3.0 §4.4)")
def _(ctx, srv):
    for fmt in ("png", "jpg"):
        im, _ = img3(srv, "0,0,800,600", "400,", quality="gray", fmt=fmt)
        expect_size(im, 400, 300, "gray." + fmt)
        pixels.check_gray(im, pat(ctx), (0, 0, 800, 600), (400, 300))


@core("quality bitonal has only black and white (3.0 §4.4)")
def _(ctx, srv):
    im, _ = img3(srv, "0,0,800,600", "400,", quality="bitonal", fmt="png")
    expect_size(im, 400, 300, "bitonal.png")
    px = pixels.rgb_array(im)
    vals = set(np.unique(px).tolist())
    expect(vals <= {0, 255}, "bitonal png has values other than 0/255: %s" % sorted(vals)[:10])
    expect(vals == {0, 255}, "bitonal png is all %s" % vals)
    expect((px[:, :, 0] == px[:, :, 1]).all() and (px[:, :, 1] == px[:, :, 2]).all(), "bitonal has colour")


@core("bad qualities are 400 (3.0 §4.4)")
def _(ctx, srv):
    for q in ("grey", "colour", "native", "", "Default", "bitonal2"):
        r, what = status3(srv, region="0,0,100,100", quality=q)
        expect_status(r, 400, what)


@core("formats jpg, png, webp and tif decode as themselves with the right Content-Type (3.0 §4.5)")
def _(ctx, srv):
    for f in ("jpg", "png", "webp", "tif"):
        im, _ = img3(srv, "0,0,512,512", "256,", fmt=f)
        pixels.check_pattern(im, pat(ctx), (0, 0, 512, 512), (256, 256),
                             tol=pixels.TOL_WEBP if f == "webp" else pixels.TOL_JPEG, what="%s: " % f)


@core("formats gif, jp2 and pdf are answered and an unknown format is 400 (3.0 §4.5, §7 Error Conditions)")
def _(ctx, srv):
    for f in ("gif", "jp2", "pdf"):
        im, _ = img3(srv, region="0,0,100,100", fmt=f)
        expect_size(im, 100, 100, "format %s" % f)
    for f in ("xyz", "jpeg", ""):
        r, what = status3(srv, region="0,0,100,100", fmt=f)
        expect_status(r, 400, what)
    r = srv.get("/iiif/3/%s/full/max/0/default" % ID)
    expect_status(r, 400, "GET .../default with no format")


@core("canonical Link header names the canonical 3.0 form (3.0 §4.7, §7 Server Responses)")
def _(ctx, srv):
    _, r = img3(srv, "full", "pct:10")
    links = ",".join(r.headers_all("Link"))
    expect('rel="canonical"' in links, "no Link rel=\"canonical\" (Link: %r)" % links)
    target = links.split('rel="canonical"')[0].rsplit("<", 1)[-1].split(">")[0]
    expect(target.endswith("/iiif/3/%s/full/200,150/0/default.jpg" % ID),
           "canonical link %r, expected .../full/200,150/0/default.jpg (3.0 §4.7)" % target)


# ---------------------------------------------------------------- routes

@core("the base URI redirects 303 to info.json with CORS (3.0 §2.1, compliance baseUriRedirect)")
def _(ctx, srv):
    r = srv.get("/iiif/3/%s" % ID)
    expect_status(r, 303, "GET /iiif/3/%s" % ID)
    loc = r.header("Location") or ""
    expect(loc.endswith("/iiif/3/%s/info.json" % ID), "Location %r" % loc)
    expect(r.header("Access-Control-Allow-Origin") == "*", "303 without Access-Control-Allow-Origin: *")
    r = srv.get("/iiif/3/%s/" % ID)
    expect(r.status in (303, 404), "GET /iiif/3/%s/: %d" % (ID, r.status))


@core("/iiif/{id}/ without a version uses 3.0 (routing)")
def _(ctx, srv):
    r = srv.get("/iiif/%s/info.json" % ID)
    expect_status(r, 200, "GET /iiif/%s/info.json" % ID)
    info = json.loads(r.body)
    expect(info.get("type") == "ImageService3", "default version answered %s" % short(r.body, 80))
    im, _ = get_image(srv, iiif(None, ID, "0,0,200,200", "100,"))
    expect_size(im, 100, 100, "unversioned image request")


@core("a %2F-escaped identifier reaches a sub-folder (3.0 §9)")
def _(ctx, srv):
    im, _ = get_image(srv, iiif(3, ctx.extras["sub"], "0,0,400,400", "200,"))
    pixels.check_pattern(im, pat(ctx), (0, 0, 400, 400), (200, 200))


@core("an unescaped / in the identifier, an unknown identifier and a traversal are 404 (3.0 §9)")
def _(ctx, srv):
    for path in ("/iiif/3/sub/dir/x/info.json", "/iiif/3/sub/dir/x/full/max/0/default.jpg",
                 "/iiif/3/nosuchimage/info.json", "/iiif/3/nosuchimage/full/max/0/default.jpg",
                 "/iiif/3/sub%2Fdir/info.json", "/iiif/3/..%2Fpattern/info.json"):
        r = srv.get(path)
        expect_status(r, 404, "GET " + path)


@core("an identifier resolves to a file with a known suffix (resolver)")
def _(ctx, srv):
    r = srv.get("/iiif/3/pattern/info.json")
    expect_status(r, 200, "GET /iiif/3/pattern/info.json (file pattern.tif)")
    r = srv.get("/iiif/3/pattern.tif/info.json")
    expect_status(r, 200, "GET /iiif/3/pattern.tif/info.json (the exact file name)")


@core("an identifier is percent-decoded once, + stays +, and id keeps the URL's spelling (3.0 §9)")
def _(ctx, srv):
    ident = ctx.extras["spaced"]     # file "a b+c.tif"
    r = srv.get("/iiif/3/%s/info.json" % ident)
    expect_status(r, 200, "GET /iiif/3/%s/info.json (file 'a b+c.tif')" % ident)
    info = json.loads(r.body)
    expect(info.get("width") == 1001, "a%%20b+c is not the 1001-wide file: %r" % info.get("width"))
    want = "http://127.0.0.1:%d/iiif/3/%s" % (srv.port, ident)
    expect(info.get("id") == want, "id %r, expected %r" % (info.get("id"), want))
    r = srv.get("/iiif/3/a%20b%20c/info.json")
    expect_status(r, 404, "GET a%20b%20c (+ must not be read as a space)")
    r = srv.get("/iiif/3/patt%65rn/info.json")
    expect_status(r, 200, "GET /iiif/3/patt%65rn/info.json")
    got = json.loads(r.body).get("id")
    expect(got == "http://127.0.0.1:%d/iiif/3/patt%%65rn" % srv.port, "id %r does not keep patt%%65rn" % got)


@core("a query string is ignored (viewers add cache-busters)")
def _(ctx, srv):
    r = srv.get("/iiif/3/%s/info.json?t=12345" % ID)
    expect_status(r, 200, "GET info.json?t=12345")
    expect(json.loads(r.body).get("id") == "http://127.0.0.1:%d/iiif/3/%s" % (srv.port, ID),
           "the query string leaked into id")
    im, _ = get_image(srv, iiif(3, ID, "0,0,200,200", "100,") + "?x=1")
    expect_size(im, 100, 100, "image with a query string")


@core("several requests on one kept-alive connection all get complete answers (RFC 9112 §9.3)")
def _(ctx, srv):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    try:
        for path in ("/iiif/3/%s/info.json" % ID, iiif(3, ID, "0,0,256,256", "128,"),
                     "/iiif/3/nosuchimage/info.json", iiif(3, ID, "0,0,256,256", "64,", fmt="png")):
            c.request("GET", path)
            r = c.getresponse()
            body = r.read()
            expect(r.status in (200, 404), "%s: %d" % (path, r.status))
            if r.status == 200 and path.endswith((".jpg", ".png")):
                expect(pixels.decode(body).size[0] in (128, 64), "%s: wrong image on a reused connection" % path)
    finally:
        c.close()
