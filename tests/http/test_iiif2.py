"""test_iiif2.py - IIIF Image API 2.1 level-2 conformance, from the spec.

Sections cited are those of https://iiif.io/api/image/2.1/ and its
compliance document.  2.1 differs from 3.0 where clients notice: "full" is
a size, upscaling needs no "^" (and "^" is not syntax), info.json uses
@id and a profile array whose second element lists formats, qualities and
supported features.  These run against every setup.
"""

import json
import math

import pixels
from common import core, expect, expect_status, expect_size, get_image, iiif, Skip

W, H = 2000, 1500
ID = "pattern"
CONTEXT2 = "http://iiif.io/api/image/2/context.json"
LEVEL2 = "http://iiif.io/api/image/2/level2.json"
FEATURES2 = {"baseUriRedirect", "canonicalLinkHeader", "cors", "jsonldMediaType", "mirroring",
             "profileLinkHeader", "regionByPct", "regionByPx", "regionSquare", "rotationArbitrary",
             "rotationBy90s", "sizeAboveFull", "sizeByConfinedWh", "sizeByDistortedWh", "sizeByH",
             "sizeByPct", "sizeByW", "sizeByWh", "sizeByForcedWh", "sizeByWhListed"}


def pat(ctx):
    return ctx.variants["jpeg"].pattern


def img2(srv, region="full", size="full", rotation="0", quality="default", fmt="jpg", ident=ID):
    return get_image(srv, iiif(2, ident, region, size, rotation, quality, fmt))


def info2(ctx, srv):
    return ctx.info(srv, ID, 2)


def profile_desc(info):
    prof = info.get("profile")
    expect(isinstance(prof, list) and prof, "profile is %r, expected a list" % (prof,))
    desc = {}
    for p in prof[1:]:
        if isinstance(p, dict):
            desc = p
    return prof, desc


@core("info.json 2.1 has @context, @id, protocol, size and the level2 profile (2.1 §5.1, §5.2, §5.6)")
def _(ctx, srv):
    path = "/iiif/2/%s/info.json" % ID
    r = srv.get(path)
    expect_status(r, 200, "GET " + path)
    expect(r.media_type == "application/json", "Content-Type %r" % r.header("Content-Type"))
    info = json.loads(r.body)
    expect(info.get("@context") == CONTEXT2, "@context %r" % info.get("@context"))
    want = "http://127.0.0.1:%d/iiif/2/%s" % (srv.port, ID)
    expect(info.get("@id") == want, "@id %r, expected %r" % (info.get("@id"), want))
    expect(info.get("protocol") == "http://iiif.io/api/image", "protocol %r" % info.get("protocol"))
    expect(info.get("width") == W and info.get("height") == H, "size %r x %r" % (info.get("width"), info.get("height")))
    prof, desc = profile_desc(info)
    expect(prof[0] == LEVEL2, "profile[0] %r, expected %r" % (prof[0], LEVEL2))
    expect(isinstance(desc.get("formats", []), list), "profile formats %r" % desc.get("formats"))
    for k in ("formats", "qualities", "supports"):
        expect(k in desc, "profile[1] has no %r: %r" % (k, desc))


@core("info.json 2.1 id keeps %2F character for character (2.1 §5.1, §9)")
def _(ctx, srv):
    ident = ctx.extras["sub"]
    r = srv.get("/iiif/2/%s/info.json" % ident)
    expect_status(r, 200, "GET /iiif/2/%s/info.json" % ident)
    want = "http://127.0.0.1:%d/iiif/2/%s" % (srv.port, ident)
    got = json.loads(r.body).get("@id")
    expect(got == want, "@id %r, expected %r" % (got, want))


@core("info.json 2.1 advertised formats and qualities all work (2.1 §5.6)")
def _(ctx, srv):
    _, desc = profile_desc(info2(ctx, srv))
    for f in desc.get("formats", []):
        expect(f in ("jpg", "png", "webp", "tif", "gif", "jp2", "pdf"), "unknown format %r" % f)
        im, _ = img2(srv, "0,0,256,256", "128,", fmt=f)
        expect_size(im, 128, 128, "advertised format %s" % f)
    for q in desc.get("qualities", []):
        expect(q in ("default", "color", "gray", "bitonal"), "unknown quality %r" % q)
        im, _ = img2(srv, "0,0,256,256", "128,", quality=q, fmt="png")
        expect_size(im, 128, 128, "advertised quality %s" % q)


@core("info.json 2.1 supports lists only spec features that work (2.1 §5.6, compliance)")
def _(ctx, srv):
    _, desc = profile_desc(info2(ctx, srv))
    sup = desc.get("supports", [])
    for f in sup:
        expect(f in FEATURES2, "unknown supports entry %r" % f)
    if "sizeAboveFull" in sup:
        im, _ = img2(srv, "0,0,100,100", "200,")
        expect_size(im, 200, 200, "advertised sizeAboveFull 200, of 100x100")
    if "mirroring" in sup:
        img2(srv, "0,0,256,256", "64,", rotation="!0")
    if "rotationArbitrary" in sup:
        img2(srv, "0,0,256,256", "64,", rotation="33")
    if "profileLinkHeader" in sup:
        _, r = img2(srv, "0,0,256,256", "64,")
        expect('rel="profile"' in ",".join(r.headers_all("Link")), "advertised profileLinkHeader")
    if "baseUriRedirect" in sup:
        expect_status(srv.get("/iiif/2/%s" % ID), 303, "advertised baseUriRedirect")


@core("info.json 2.1 sizes and tiles describe the pyramid and are served (2.1 §5.3, §5.4)")
def _(ctx, srv):
    info = info2(ctx, srv)
    for s in info.get("sizes", []):
        im, _ = img2(srv, "full", "%d,%d" % (s["width"], s["height"]))
        expect_size(im, s["width"], s["height"], "listed size")
    tiles = info.get("tiles")
    expect(isinstance(tiles, list) and tiles, "tiles %r" % (tiles,))
    t = tiles[0]
    tw, th = t.get("width"), t.get("height", t.get("width"))
    sf = t.get("scaleFactors", [])
    expect(tw == 256 and th == 256 and {1, 2, 4, 8} <= set(sf), "tiles %r" % (t,))
    for s in sf:
        x = y = 0
        rw, rh = min(tw * s, W), min(th * s, H)
        ow, oh = math.ceil(rw / s), math.ceil(rh / s)
        im, _ = img2(srv, "%d,%d,%d,%d" % (x, y, rw, rh), "%d," % ow)
        pixels.check_pattern(im, pat(ctx), (x, y, rw, rh), (ow, oh), what="2.1 scale %d: " % s)


@core("info.json 2.1 is JSON-LD with the 2 context when asked (2.1 §5.1)")
def _(ctx, srv):
    r = srv.get("/iiif/2/%s/info.json" % ID, headers={"Accept": "application/ld+json"})
    expect_status(r, 200, "GET info.json Accept: application/ld+json")
    ct = (r.header("Content-Type") or "").replace(" ", "")
    expect(ct == 'application/ld+json;profile="%s"' % CONTEXT2, "Content-Type %r" % r.header("Content-Type"))
    expect("accept" in ",".join(r.headers_all("Vary")).lower(), "no Vary: Accept")


@core("2.1 sizes full, max, w, ,h, pct:n, w,h and !w,h (2.1 §4.2)")
def _(ctx, srv):
    p = pat(ctx)
    for size, want in (("full", (W, H)), ("max", (W, H)), ("500,", (500, 375)), (",300", (400, 300)),
                       ("pct:25", (500, 375)), ("300,300", (300, 300)), ("!400,400", (400, 300))):
        im, _ = img2(srv, "full", size)
        pixels.check_pattern(im, p, (0, 0, W, H), want, what="2.1 size %s: " % size)


@core("2.1 regions full, square, x,y,w,h, pct: and the clipped edge (2.1 §4.1)")
def _(ctx, srv):
    p = pat(ctx)
    im, _ = img2(srv, "130,270,300,400", "full", fmt="png")
    pixels.check_pattern(im, p, (130, 270, 300, 400), (300, 400))
    im, _ = img2(srv, "pct:10,20,30,40", "full")
    pixels.check_pattern(im, p, (200, 300, 600, 600), (600, 600))
    im, _ = img2(srv, "%d,%d,100,100" % (W - 50, H - 50), "full", fmt="png")
    pixels.check_pattern(im, p, (W - 50, H - 50, 50, 50), (50, 50))
    im, _ = img2(srv, "square", "200,")
    expect_size(im, 200, 200, "2.1 square")
    r = srv.get(iiif(2, ID, "%d,0,10,10" % (W + 1), "full"))
    expect_status(r, 400, "2.1 region outside the image")


@core("2.1 allows upscaling without ^ (2.1 §4.2)")
def _(ctx, srv):
    _, desc = profile_desc(info2(ctx, srv))
    expect("sizeAboveFull" in desc.get("supports", []), "sizeAboveFull not advertised (upscaling is on)")
    im, _ = img2(srv, "0,0,200,100", "400,")
    pixels.check_pattern(im, pat(ctx), (0, 0, 200, 100), (400, 200))
    im, _ = img2(srv, "0,0,200,100", "pct:150")
    pixels.check_pattern(im, pat(ctx), (0, 0, 200, 100), (300, 150))


@core("2.1 rejects 3.0-only syntax: ^ sizes and the size keyword case (2.1 §4.2)")
def _(ctx, srv):
    for size in ("^400,", "^max", "Full", "0,", "pct:0"):
        path = iiif(2, ID, "0,0,200,100", size)
        expect_status(srv.get(path), 400, "GET " + path)


@core("2.1 rotation, mirroring, gray and bitonal (2.1 §4.3, §4.4)")
def _(ctx, srv):
    p = pat(ctx)
    im, _ = img2(srv, "0,0,800,600", "400,", rotation="90")
    pixels.check_pattern(im, p, (0, 0, 800, 600), (400, 300), rotation=90)
    im, _ = img2(srv, "0,0,800,600", "400,", rotation="!0")
    pixels.check_pattern(im, p, (0, 0, 800, 600), (400, 300), mirror=True)
    im, _ = img2(srv, "0,0,800,600", "400,", quality="gray", fmt="png")
    pixels.check_gray(im, p, (0, 0, 800, 600), (400, 300))
    im, _ = img2(srv, "0,0,800,600", "400,", quality="bitonal", fmt="png")
    vals = set(pixels.rgb_array(im).ravel().tolist())
    expect(vals == {0, 255}, "bitonal values %s" % sorted(vals)[:8])
    for rot, q in (("361", "default"), ("-90", "default"), ("0", "grey"), ("0", "native")):
        path = iiif(2, ID, "0,0,100,100", "full", rot, q)
        expect_status(srv.get(path), 400, "GET " + path)


@core("2.1 image responses carry a profile Link header (2.1 §6 compliance levels)")
def _(ctx, srv):
    _, r = img2(srv, "0,0,256,256", "128,")
    links = ",".join(r.headers_all("Link"))
    expect('rel="profile"' in links and LEVEL2 in links, "Link %r, expected <%s>;rel=\"profile\"" % (links, LEVEL2))


@core("2.1 base URI redirects 303 to its info.json (2.1 §2.2)")
def _(ctx, srv):
    r = srv.get("/iiif/2/%s" % ID)
    expect_status(r, 303, "GET /iiif/2/%s" % ID)
    expect((r.header("Location") or "").endswith("/iiif/2/%s/info.json" % ID), "Location %r" % r.header("Location"))
