"""test_settings.py - behaviour that depends on how the daemon is started.

Each test here starts (once, lazily) an embedded-mode daemon with one
setting changed: --max-width, --allow-upscaling 0, --default-version 2,
--base-url; plus the spawn-fcgi smoke test, concurrency behind nginx and
the check that the nginx setup used the shipped conf/nginx-tessera.conf.
"""

import json
import threading

import pixels
from common import test, expect, expect_status, expect_size, get_image, iiif, Skip

W, H = 2000, 1500
ID = "pattern"


@test("max-width 1000: info.json says maxWidth 1000 (3.0 §5.2, 2.1 §5.6)", server="maxw")
def _(ctx, srv):
    info = ctx.info(srv)
    expect(info.get("maxWidth") == 1000, "maxWidth %r" % info.get("maxWidth"))
    expect(info.get("maxHeight") in (None, 1000) or info.get("maxHeight") >= 750,
           "maxHeight %r" % info.get("maxHeight"))
    info2 = ctx.info(srv, ID, 2)
    prof = info2.get("profile", [])
    desc = next((p for p in prof if isinstance(p, dict)), {})
    expect(desc.get("maxWidth") == 1000, "2.1 profile maxWidth %r" % desc.get("maxWidth"))
    for s in info.get("sizes", []):
        expect(s["width"] <= 1000, "sizes lists %r, wider than maxWidth" % s)


@test("max-width 1000: size max is clamped to 1000x750, not refused (3.0 §4.2 max)", server="maxw")
def _(ctx, srv):
    p = ctx.variants["jpeg"].pattern
    im, _ = get_image(srv, iiif(3, ID, "full", "max"))
    pixels.check_pattern(im, p, (0, 0, W, H), (1000, 750))
    im, _ = get_image(srv, iiif(2, ID, "full", "max"))
    expect_size(im, 1000, 750, "2.1 max under maxWidth 1000")
    im, _ = get_image(srv, iiif(3, ID, "full", "!3000,3000"))
    expect_size(im, 1000, 750, "!3000,3000 under maxWidth 1000 (3.0 §4.2: not larger than server limits)")


@test("max-width 1000: an explicit width over maxWidth is refused (3.0 §5.2 maxWidth)", server="maxw")
def _(ctx, srv):
    for size in ("1500,", "1001,750", "pct:100"):
        r = srv.get(iiif(3, ID, "full", size))
        expect_status(r, range(400, 500), "GET full/%s with maxWidth 1000" % size)
    r = srv.get(iiif(3, ID, "full", "1000,"))
    expect_status(r, 200, "GET full/1000, with maxWidth 1000")


@test("max-width 1000: ^max upscales a small region to the limits (3.0 §4.2 ^max, §5.2)", server="maxw")
def _(ctx, srv):
    info = ctx.info(srv)
    if "sizeUpscaling" not in info.get("extraFeatures", []):
        raise Skip("sizeUpscaling not advertised")
    im, _ = get_image(srv, iiif(3, ID, "0,0,100,50", "^max"))
    # maxHeight defaults to maxWidth (3.0 §5.2): 100x50 scales to 1000x500
    expect_size(im, 1000, 500, "^max of 100x50 under maxWidth 1000", slack=1)


@test("allow-upscaling 0: sizeUpscaling is not advertised and ^ sizes are refused", server="noup")
def _(ctx, srv):
    info = ctx.info(srv)
    expect("sizeUpscaling" not in info.get("extraFeatures", []), "sizeUpscaling advertised with upscaling off")
    for size in ("^400,", "^400,400", "^pct:200", "^!400,400"):
        r = srv.get(iiif(3, ID, "0,0,200,100", size))
        # refused: a 4xx, or 501 (3.0 §7: a valid request for an unimplemented feature)
        expect_status(r, list(range(400, 500)) + [501], "GET %s with upscaling off" % size)
    info2 = ctx.info(srv, ID, 2)
    desc = next((p for p in info2.get("profile", []) if isinstance(p, dict)), {})
    expect("sizeAboveFull" not in desc.get("supports", []), "2.1 sizeAboveFull advertised with upscaling off")
    r = srv.get(iiif(2, ID, "0,0,200,100", "400,"))
    expect_status(r, list(range(400, 500)) + [501], "2.1 upscale with upscaling off")
    im, _ = get_image(srv, iiif(3, ID, "0,0,200,100", "100,"))
    expect_size(im, 100, 50, "a downscale with upscaling off")


@test("default-version 2: /iiif/{id}/info.json answers 2.1", server="v2default")
def _(ctx, srv):
    r = srv.get("/iiif/%s/info.json" % ID)
    expect_status(r, 200, "GET /iiif/%s/info.json" % ID)
    info = json.loads(r.body)
    expect(info.get("@context") == "http://iiif.io/api/image/2/context.json", "@context %r" % info.get("@context"))
    im, _ = get_image(srv, "/iiif/%s/0,0,200,200/full/0/default.jpg" % ID)
    expect_size(im, 200, 200, "2.1 'full' size on the unversioned route")
    r = srv.get("/iiif/3/%s/info.json" % ID)
    expect(json.loads(r.body).get("type") == "ImageService3", "explicit /3/ still answers 3.0")


@test("base-url: info.json ids and redirects use the configured public URL", server="baseurl")
def _(ctx, srv):
    base = "https://images.example.org"
    info = ctx.info(srv)
    expect(info.get("id", "").startswith(base + "/") and info["id"].endswith("/" + ID),
           "3.0 id %r" % info.get("id"))
    info2 = ctx.info(srv, ID, 2)
    expect(info2.get("@id", "").startswith(base + "/") and info2["@id"].endswith("/" + ID),
           "2.1 @id %r" % info2.get("@id"))
    r = srv.get("/iiif/3/%s" % ID)
    loc = r.header("Location") or ""
    expect(r.status == 303 and (loc.startswith(base) or loc.startswith("/")), "303 Location %r" % loc)
    r = srv.get(iiif(3, ID, "full", "pct:10"))
    links = ",".join(r.headers_all("Link"))
    expect("<" + base in links, "canonical Link %r does not use the base URL" % links)
    r = srv.get("/iiif/3/%s/info.json" % ID, headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"})
    expect(b"evil.example" not in r.body, "Host/X-Forwarded-Host overrode --base-url")


@test("replacing an image file is noticed by info.json and images (field notes: cache keys)")
def _(ctx, srv):
    import os
    import shutil
    import time
    path = os.path.join(ctx.root, "swap.tif")
    r = srv.get("/iiif/3/swap/info.json")
    expect_status(r, 200, "GET swap info.json")
    expect(json.loads(r.body)["width"] == W, "swap.tif starts as the 2000-wide pattern")
    im, _ = get_image(srv, iiif(3, "swap", "full", "100,"))
    expect_size(im, 100, 75, "swap full/100, before")
    # replace by rename (new inode), as deploy tools do
    tmp = path + ".new"
    shutil.copy(os.path.join(ctx.root, "odd.tif"), tmp)
    os.rename(tmp, path)
    r = srv.get("/iiif/3/swap/info.json")
    expect(json.loads(r.body)["width"] == 1001, "after rename: info.json still says %r" % json.loads(r.body)["width"])
    im, _ = get_image(srv, iiif(3, "swap", "full", "100,"))
    expect_size(im, 100, round(100 * 751 / 1001), "swap full/100, after rename", slack=1)
    # overwrite in place (same inode, new size and mtime)
    time.sleep(1.1)
    shutil.copyfile(os.path.join(ctx.root, "pattern.tif"), path)
    r = srv.get("/iiif/3/swap/info.json")
    expect(json.loads(r.body)["width"] == W, "after overwrite: info.json still says %r" % json.loads(r.body)["width"])
    im, _ = get_image(srv, iiif(3, "swap", "full", "100,"))
    expect_size(im, 100, 75, "swap full/100, after overwrite in place")


@test("spawn-fcgi: the daemon serves with the listening socket on stdin", server="spawn")
def _(ctx, srv):
    r = srv.get("/iiif/3/%s/info.json" % ID)
    expect_status(r, 200, "info.json under spawn-fcgi")
    im, _ = get_image(srv, iiif(3, ID, "0,0,512,512", "256,"))
    pixels.check_pattern(im, ctx.variants["jpeg"].pattern, (0, 0, 512, 512), (256, 256))


@test("nginx: 64 concurrent tile requests all succeed with the right size")
def _(ctx, srv):
    results = []
    lock = threading.Lock()

    def worker(i):
        x, y = (i % 7) * 256, (i // 7 % 5) * 256
        path = iiif(3, ID, "%d,%d,256,256" % (x, y), "128,")
        try:
            r = srv.get(path)
            ok = r.status == 200 and pixels.decode(r.body).size == (128, 128)
            msg = "%s: %d" % (path, r.status)
        except Exception as e:
            ok, msg = False, "%s: %s" % (path, e)
        with lock:
            results.append((ok, msg))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    bad = [m for ok, m in results if not ok]
    expect(len(results) == 64, "only %d of 64 requests finished" % len(results))
    expect(not bad, "%d failed, e.g. %s" % (len(bad), bad[:2]))


@test("nginx: the setup uses the shipped conf/nginx-tessera.conf")
def _(ctx, srv):
    src = getattr(srv, "conf_source", "?")
    if src != "conf/nginx-tessera.conf":
        raise Skip("conf/nginx-tessera.conf not written yet; used the %s" % src)
