"""test_deployments.py - the same protocol checks through every deployment.

Each check below runs once per deployment of deploy.py (Apache + mod_fcgid
in Debian's default vhost and in a vhost of one's own, nginx + spawn-fcgi
via conf/spawn-fcgi.sh, nginx + tessera's own FastCGI listener, the
embedded server): IIIF 3 and 2 with %2F identifiers, DeepZoom, Zoomify,
IIP, `?IIIF=`, HEAD, OPTIONS, 304 (also where Apache's mod_deflate would
touch the answer), errors, /health, /metrics, Presentation and media
routes, the viewer, and iipsrv's environment variables (MAX_CVT,
JPEG_QUALITY) reaching the daemon.  A check names what the client must
see, so a deployment that routes, decodes, compresses or caches
differently from the others fails it.
"""

import io
import json
import re

from PIL import Image

import deploy
from common import TESTS, expect, expect_status, get_image

SUB = "sub%2Fdir%2Fx"
W, H = 2000, 1500
DEPS = deploy.DEPS
CHECKS = []


def check(name):
    def deco(fn):
        CHECKS.append((name, fn))
        return fn
    return deco


def _cors(r, what):
    expect(r.header("Access-Control-Allow-Origin") == "*",
           "%s: Access-Control-Allow-Origin %r" % (what, r.header("Access-Control-Allow-Origin")))


@check("IIIF 3 info.json of a %2F identifier: 200, id keeps %2F, MAX_CVT is maxWidth/maxHeight")
def _(srv):
    r = srv.get("/iiif/3/%s/info.json" % SUB)
    expect_status(r, 200, "info.json")
    _cors(r, "info.json")
    j = json.loads(r.body)
    expect(j["id"].endswith("/iiif/3/" + SUB), "id %r" % j["id"])
    expect((j["width"], j["height"]) == (W, H), "size %r" % ((j["width"], j["height"]),))
    expect(j.get("maxWidth") == 3000 and j.get("maxHeight") == 3000,
           "MAX_CVT=3000 did not reach the daemon: maxWidth %r maxHeight %r" % (
               j.get("maxWidth"), j.get("maxHeight")))


@check("IIIF 2 info.json and an image of a %2F identifier")
def _(srv):
    r = srv.get("/iiif/2/%s/info.json" % SUB)
    expect_status(r, 200, "2.1 info.json")
    j = json.loads(r.body)
    expect(j["@id"].endswith("/iiif/2/" + SUB), "@id %r" % j["@id"])
    im, _ = get_image(srv, "/iiif/2/%s/0,0,512,512/256,/0/default.jpg" % SUB)
    expect(im.size == (256, 256), "size %r" % (im.size,))


@check("IIIF 3 tile and a scaled region of a %2F identifier decode at their size")
def _(srv):
    im, r = get_image(srv, "/iiif/3/%s/0,0,256,256/256,256/0/default.jpg" % SUB)
    expect(im.size == (256, 256), "tile size %r" % (im.size,))
    _cors(r, "tile")
    im, _ = get_image(srv, "/iiif/3/pattern/full/300,/0/default.png")
    expect(im.size == (300, 225), "png size %r" % (im.size,))


@check("JPEG_QUALITY reaches the daemon: a re-encoded JPEG has quality 63's tables")
def _(srv):
    im, r = get_image(srv, "/iiif/3/pattern/full/333,/0/default.jpg")
    ref = io.BytesIO()
    Image.new("RGB", (16, 16)).save(ref, "JPEG", quality=63)
    want = Image.open(io.BytesIO(ref.getvalue())).quantization
    got = Image.open(io.BytesIO(r.body)).quantization
    expect(got[0] == want[0], "luminance table is not quality 63's (JPEG_QUALITY did not reach "
           "the daemon): %r..." % (list(got[0])[:8],))


@check("DeepZoom: the .dzi and a tile")
def _(srv):
    r = srv.get("/deepzoom/pattern.dzi")
    expect_status(r, 200, ".dzi")
    expect(b'TileSize="' in r.body and b'Width="2000"' in r.body, "dzi %r" % r.body[:200])
    _cors(r, ".dzi")
    im, _ = get_image(srv, "/deepzoom/pattern_files/8/0_0.jpg")
    expect(im.size[0] > 0, "tile")


@check("Zoomify: ImageProperties.xml and a tile")
def _(srv):
    r = srv.get("/zoomify/pattern/ImageProperties.xml")
    expect_status(r, 200, "ImageProperties.xml")
    expect(b'WIDTH="2000"' in r.body, "xml %r" % r.body[:200])
    im, _ = get_image(srv, "/zoomify/pattern/TileGroup0/0-0-0.jpg")
    expect(max(im.size) <= 256, "tile size %r" % (im.size,))


@check("IIP at /fcgi-bin/iipsrv.fcgi and /iip: OBJ answers and a JTL tile")
def _(srv):
    for base in ("/fcgi-bin/iipsrv.fcgi", "/iip"):
        r = srv.get("%s?FIF=pattern.tif&OBJ=IIP,1.0&OBJ=Max-size" % base)
        expect_status(r, 200, base + " OBJ")
        expect(b"Max-size:2000 1500" in r.body.replace(b": ", b":"), "%s: %r" % (base, r.body[:200]))
        im, _ = get_image(srv, "%s?FIF=pattern.tif&JTL=1,0" % base, fmt="jpg")
        expect(im.size[0] > 0, "JTL")


@check("iipsrv's ?IIIF= entry: info.json and an image of a path with slashes")
def _(srv):
    r = srv.get("/fcgi-bin/iipsrv.fcgi?IIIF=sub/dir/x.tif/info.json")
    expect_status(r, 200, "?IIIF= info.json")
    j = json.loads(r.body)
    expect(j.get("width") == W, "?IIIF= info.json %r" % r.body[:200])
    im, _ = get_image(srv, "/fcgi-bin/iipsrv.fcgi?IIIF=pattern.tif/full/100,/0/default.jpg", fmt="jpg")
    expect(im.size == (100, 75), "size %r" % (im.size,))


@check("HEAD: the GET's status and headers without a body")
def _(srv):
    for path in ("/iiif/3/%s/info.json" % SUB, "/iiif/3/pattern/0,0,256,256/256,/0/default.jpg"):
        g = srv.get(path)
        h = srv.get(path, method="HEAD")
        expect_status(h, 200, "HEAD " + path)
        expect(h.body == b"", "HEAD %s has a body of %d bytes" % (path, len(h.body)))
        for k in ("Content-Type", "ETag", "Content-Length"):
            expect(h.header(k) == g.header(k), "HEAD %s: %s %r, GET %r" % (path, k, h.header(k), g.header(k)))


@check("OPTIONS: a CORS preflight answer")
def _(srv):
    r = srv.get("/iiif/3/%s/info.json" % SUB, method="OPTIONS",
                headers={"Origin": "https://viewer.example", "Access-Control-Request-Method": "GET"})
    expect_status(r, (200, 204), "OPTIONS")
    _cors(r, "OPTIONS")
    expect("GET" in (r.header("Access-Control-Allow-Methods") or ""), "Allow-Methods %r" %
           r.header("Access-Control-Allow-Methods"))


@check("304 on If-None-Match, gzip asked or not, for info.json, .dzi, ImageProperties.xml and a tile")
def _(srv):
    for path in ("/iiif/3/%s/info.json" % SUB, "/deepzoom/pattern.dzi",
                 "/zoomify/pattern/ImageProperties.xml",
                 "/iiif/3/pattern/0,0,256,256/256,/0/default.jpg"):
        for ae in (None, "gzip, deflate"):
            hdrs = {"Accept-Encoding": ae} if ae else {}
            r = srv.get(path, headers=hdrs)
            expect_status(r, 200, path)
            expect(r.header("Content-Encoding") is None,
                   "%s: Content-Encoding %r on an answer with an ETag" % (path, r.header("Content-Encoding")))
            etag = r.header("ETag")
            expect(etag, "%s: no ETag" % path)
            r2 = srv.get(path, headers=dict(hdrs, **{"If-None-Match": etag}))
            expect_status(r2, 304, "%s with If-None-Match %s%s" % (path, etag, " (gzip)" if ae else ""))
            expect(r2.body == b"", "304 with a body")


@check("errors: Tessera's own 404 and 400 (text, CORS, no-store), 405 for POST, never a 500")
def _(srv):
    r = srv.get("/iiif/3/no%2Fsuch%2Fimage/info.json")
    expect_status(r, 404, "missing image")
    expect(r.body.startswith(b"404 Not Found"), "not Tessera's 404: %r" % r.body[:120])
    _cors(r, "404")
    expect(r.header("Cache-Control") == "no-store", "404 Cache-Control %r" % r.header("Cache-Control"))
    r = srv.get("/iiif/3/%s/0,0,-5,10/max/0/default.jpg" % SUB)
    expect_status(r, 400, "bad region")
    expect(r.body.startswith(b"400 Bad Request"), "not Tessera's 400: %r" % r.body[:120])
    r = srv.get("/iiif/3/%s/info.json" % SUB, method="POST", body=b"x=1")
    expect_status(r, 405, "POST")
    r = srv.get("/iiif/3/%s/info.json" % SUB, method="POST", body=b"x" * (200 * 1024))
    expect_status(r, (405, 413), "POST of 200 KB")


@check("/health and /metrics are routed to Tessera")
def _(srv):
    r = srv.get("/health")
    expect_status(r, 200, "/health")
    expect(r.body == b"ok\n", "/health %r" % r.body[:60])
    r = srv.get("/metrics")
    expect_status(r, 200, "/metrics")
    expect(b"tessera_requests_total" in r.body, "/metrics %r" % r.body[:200])


@check("Presentation: the folder's Manifest and the top Collection, ids on the request's host")
def _(srv):
    r = srv.get("/iiif/3/letters/manifest")
    expect_status(r, 200, "Manifest")
    j = json.loads(r.body)
    expect(j.get("type") == "Manifest", "type %r" % j.get("type"))
    host = getattr(srv, "host", "127.0.0.1:%d" % srv.port)
    expect(j["id"].startswith("http://%s/iiif/" % host), "id %r, host %s" % (j["id"], host))
    r = srv.get("/iiif/3/collection/top")
    expect_status(r, 200, "top Collection")
    expect(json.loads(r.body).get("type") == "Collection", "top is not a Collection")


@check("media file under /iiif/{item}/res/: whole, Range and 304")
def _(srv):
    want = deploy.pdf_bytes()
    path = "/iiif/letters/res/letter.pdf"
    r = srv.get(path)
    expect_status(r, 200, path)
    expect(r.media_type == "application/pdf", "Content-Type %r" % r.header("Content-Type"))
    expect(r.body == want, "%d bytes, expected %d (the same)" % (len(r.body), len(want)))
    r2 = srv.get(path, headers={"Range": "bytes=270000-270099"})
    expect_status(r2, 206, "Range")
    expect(r2.body == want[270000:270100], "Range body differs")
    r3 = srv.get(path, headers={"If-None-Match": r.header("ETag")})
    expect_status(r3, 304, "media If-None-Match")


@check("the viewer page and /images.json: on for the embedded server, off through FastCGI (viewer = auto: "
       "the list names every image under the root)")
def _(srv):
    if srv.name != "embedded":
        for path in ("/", "/images.json"):
            r = srv.get(path)
            expect_status(r, 404, "%s through FastCGI with viewer = auto" % path)
            expect(b"pattern" not in r.body, "%s: the 404 names an image" % path)
        return
    r = srv.get("/")
    expect_status(r, 200, "/")
    expect(r.media_type == "text/html", "/ is %r" % r.media_type)
    r = srv.get("/images.json")
    expect_status(r, 200, "/images.json")
    expect(b"pattern" in r.body, "/images.json %r" % r.body[:200])


def _register(dep, name, fn):
    def run(ctx, _srv):
        fn(DEPS.get(ctx, dep))
    TESTS.append(("deploy %s: %s" % (dep, name), None, run))


for _dep in deploy.DEPLOYMENTS:
    for _name, _fn in CHECKS:
        _register(_dep, _name, _fn)
