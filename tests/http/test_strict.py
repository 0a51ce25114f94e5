"""test_strict.py - what a public server refuses or keeps to itself.

Every answer carries X-Content-Type-Options: nosniff (Fetch §3.5), errors
and preflights included.  IIP (iipsrv's protocol, IIP 1.0.5 and iipsrv's
command list) is strict: an empty query or an unknown command at iipsrv's
addresses is 400, and the commands Tessera accepts without applying them
(CNT, GAM, SHD...) are range-checked.  The viewer page and /images.json,
which names every image under the root, are on for the embedded server and
off through FastCGI unless `viewer = on`.  Zoomify: OpenSeadragon's
ZoomifyTileSource asks for the column (and row) that ceil(W/2^k) adds past
the floor-halved grid on sizes just over a power of two; those are the
image's clipped edge, served with its pixels.
"""

import io
import os

from PIL import Image

import harness
from common import (Skip, core, expect, expect_status, test, SERVER_CONFIGS)
import images

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER_CONFIGS.setdefault("viewer-on", ("nginx", ["--viewer", "on",
                                                  "--viewer-dir", os.path.join(REPO, "viewer")]))


@core("every answer, errors, redirects, 304s and preflights included, says X-Content-Type-Options: nosniff")
def _(ctx, srv):
    tile = "/iiif/3/pattern/0,0,256,256/256,/0/default.jpg"
    etag = srv.get(tile).header("ETag")
    cases = [("GET", tile, {}), ("GET", "/iiif/3/pattern/info.json", {}),
             ("GET", "/iiif/3/pattern", {}), ("GET", tile, {"If-None-Match": etag or '"x"'}),
             ("GET", "/iiif/3/nosuch/info.json", {}), ("GET", "/iiif/3/pattern/full/0,/0/default.jpg", {}),
             ("OPTIONS", tile, {"Origin": "https://example.org", "Access-Control-Request-Method": "GET"}),
             ("HEAD", tile, {}), ("GET", "/deepzoom/pattern.dzi", {}), ("GET", "/health", {}),
             ("GET", "/fcgi-bin/iipsrv.fcgi?FIF=pattern.tif&OBJ=IIP,1.0", {})]
    for method, path, hdrs in cases:
        r = srv.get(path, method=method, headers=hdrs)
        expect(r.header("X-Content-Type-Options") == "nosniff",
               "%s %s (%d): X-Content-Type-Options %r" % (method, path, r.status,
                                                          r.header("X-Content-Type-Options")))


@core("IIP: an empty query or an unknown command at iipsrv's addresses is 400 with an IIP error line, and "
      "CNT=nan, GAM=-1, WID=99999, SHD=9999 are 400 (they were ignored with 200)")
def _(ctx, srv):
    ok = "/fcgi-bin/iipsrv.fcgi?FIF=pattern.tif&CNT=1.5&GAM=2.2&SHD=20,30&JTL=0,0"
    r = srv.get(ok)
    expect_status(r, 200, "GET " + ok)
    for path in ("/fcgi-bin/iipsrv.fcgi", "/fcgi-bin/iipsrv.fcgi?", "/iip", "/iip?",
                 "/fcgi-bin/iipsrv.fcgi?FOO=1", "/iip?FIF=pattern.tif&FOO=1&JTL=0,0",
                 "/fcgi-bin/iipsrv.fcgi?FIF=pattern.tif&CNT=nan&JTL=0,0",
                 "/fcgi-bin/iipsrv.fcgi?FIF=pattern.tif&GAM=-1&JTL=0,0",
                 "/fcgi-bin/iipsrv.fcgi?FIF=pattern.tif&WID=99999&CVT=jpeg",
                 "/fcgi-bin/iipsrv.fcgi?FIF=pattern.tif&SHD=9999&JTL=0,0",
                 "/fcgi-bin/iipsrv.fcgi?FIF=pattern.tif&CMP=PLAID&JTL=0,0"):
        r = srv.get(path)
        expect_status(r, 400, "GET " + path)
        expect(r.body.startswith(b"Error/"), "GET %s: body %r is not an IIP error line" % (path, r.body[:60]))
        expect(r.header("Content-Type", "").startswith("application/vnd.netfpx"),
               "GET %s: Content-Type %r" % (path, r.header("Content-Type")))


@test("viewer = auto: the viewer page, its files and /images.json answer 404 through FastCGI (they list every "
      "image under the root)", server="nginx")
def _(ctx, srv):
    for path in ("/images.json", "/", "/index.html", "/viewer/index.html"):
        r = srv.get(path)
        expect_status(r, 404, "GET %s through FastCGI with viewer = auto" % path)
        expect(b"pattern" not in r.body, "GET %s: the 404 names an image" % path)


@test("viewer = auto: the embedded server (the demo) lists the images at /images.json", server="embedded")
def _(ctx, srv):
    r = srv.get("/images.json")
    expect_status(r, 200, "GET /images.json (embedded, viewer = auto)")
    expect(b"pattern" in r.body, "/images.json does not list the pattern image: %r" % r.body[:200])


@test("viewer = on through FastCGI serves the page and /images.json; viewer = maybe is refused at startup "
      "with exit 2", server="viewer-on")
def _(ctx, srv):
    r = srv.get("/images.json")
    expect_status(r, 200, "GET /images.json with viewer = on")
    expect(b"pattern" in r.body, "/images.json with viewer = on does not list the pattern image")
    r = srv.get("/")
    expect_status(r, 200, "GET / with viewer = on")
    import subprocess
    p = subprocess.run([harness.TESSERA, "serve", "--root", ctx.root, "--http", "127.0.0.1:1",
                        "--viewer", "maybe"], capture_output=True, timeout=10)
    expect(p.returncode == 2, "--viewer maybe: exit %d, expected 2 (%r)" % (p.returncode, p.stderr[-200:]))
    expect(b"on, off or auto" in p.stderr, "--viewer maybe: message %r" % p.stderr[-200:])


_edge = {}


def _edge_server(ctx):
    """An embedded daemon on a root of its own holding a 4097x2049 pyramid."""
    if "srv" not in _edge:
        root = os.path.join(ctx.tmp, "zoomify-edge-root")
        os.makedirs(root, exist_ok=True)
        png = os.path.join(ctx.tmp, "zoomify-edge.png")
        pat = images.Pattern(4097, 2049)
        pat.save_png(png)
        images.vips("tiffsave", png, os.path.join(root, "edge.tif"), *(images.PYR + images.JPEG))
        _edge["pat"] = pat
        _edge["srv"] = harness.start_embedded(ctx.tmp, "zoomify-edge", root)
    return _edge["srv"], _edge["pat"]


def _levels(w, h, ts=256):
    """OpenSeadragon's ZoomifyTileSource: floor-halved tiers, smallest first."""
    sizes = [(w, h)]
    while sizes[-1][0] > ts or sizes[-1][1] > ts:
        sizes.append((sizes[-1][0] // 2, sizes[-1][1] // 2))
    return sizes[::-1]


@test("Zoomify on 4097x2049: every tile OpenSeadragon asks for (its grid is ceil(W/2^k)/256, one column and "
      "row past the floor-halved one) is served, the edge ones as the clipped edge with the image's pixels",
      server="embedded")
def _(ctx, _srv):
    srv, pat = _edge_server(ctx)
    w, h, ts = 4097, 2049, 256
    tiers = _levels(w, h)
    n = len(tiers)
    counts = [(-(-tw // ts)) * (-(-th // ts)) for tw, th in tiers]
    extra = 0
    for z in range(n):
        k = n - 1 - z
        scale = 1.0 / (1 << k)
        cols = int(-(-(w * scale) // ts))
        rows = int(-(-(h * scale) // ts))
        floor_cols = -(-tiers[z][0] // ts)
        for y in range(rows):
            for x in range(cols):
                # the group as OpenSeadragon counts it: on the floor grid
                index = sum(counts[:z]) + floor_cols * y + x
                path = "/zoomify/edge.tif/TileGroup%d/%d-%d-%d.jpg" % (index // 256, z, x, y)
                if x < floor_cols and y < -(-tiers[z][1] // ts):
                    continue   # the floor grid is covered by test_tiles; only the additions here
                extra += 1
                r = srv.get(path)
                expect_status(r, 200, "GET " + path)
                img = Image.open(io.BytesIO(r.body)).convert("RGB")
                # level pixels [x*ts, min((x+1)*ts, end)) where end is the
                # floor-halved size inside the floor grid and ceil(W/2^k) in
                # the added column or row
                cw, ch = -(-w // (1 << k)), -(-h // (1 << k))
                ew = min(ts, (cw if x >= floor_cols else tiers[z][0]) - x * ts)
                eh = min(ts, (ch if y >= -(-tiers[z][1] // ts) else tiers[z][1]) - y * ts)
                expect(img.size == (ew, eh), "%s: %s, expected %dx%d" % (path, img.size, ew, eh))
                # the tile's last column is the image's column fx (averaged
                # over 2^k rows, which may cross a block edge: any of them)
                fx = min(w - 1, (x * ts + ew - 1) << k)
                fy = (y * ts + eh // 2) << k
                got = img.getpixel((ew - 1, eh // 2))
                wants = [tuple(int(v) for v in pat.colour(fx // images.BLOCK, yy // images.BLOCK))
                         for yy in range(fy, min(h, fy + (1 << k)))] or \
                        [tuple(int(v) for v in pat.colour(fx // images.BLOCK, (h - 1) // images.BLOCK))]
                err = min(max(abs(int(a) - b) for a, b in zip(got, want)) for want in wants)
                expect(err <= 40, "%s: pixel %r, the image has %r there" % (path, got, wants[0]))
    expect(extra > 0, "4097x2049 gave no tile past the floor grid: the test proves nothing")
    # and one column further is still 404
    z = n - 2
    r = srv.get("/zoomify/edge.tif/TileGroup0/%d-%d-0.jpg" % (z, -(-(w // 2 + 1) // ts)))
    expect(r.status == 404, "a column past OpenSeadragon's grid: %d, expected 404" % r.status)
