"""test_presentation_core.py - Presentation 3.0 Manifests and Collections
made from the folder tree, through nginx (FastCGI) and embedded HTTP.

A small tree is made under the test root, in a folder per setup so that a
test changing files on disk never disturbs the other setup: an image
folder (p1, p2, p10 in natural order), a single image file, a collection of
two items and a loose image, an item with a sidecar (labels, metadata,
structures) and one with a broken sidecar.  Each test checks what a viewer
sees: ids that dereference with 200 and the same JSON, canvas sizes equal to
info.json's, image bodies and thumbnails that are real sizes from info.json's
`sizes`, ETag and 304, gzip, a change on disk in the very next answer, and
a 500 naming the item and the field for a bad sidecar.

The one idea: every URL a Manifest contains is fetched and checked against
the server's own other answers (info.json, the image itself), so the test
proves the pieces fit rather than comparing against stored text.
"""

import gzip
import io
import json
import os
import time
import urllib.parse

from PIL import Image

from common import core, expect, expect_status

CT3 = 'application/ld+json;profile="http://iiif.io/api/presentation/3/context.json"'
_made = {}


def _img(path, w, h, colour=(200, 80, 40)):
    Image.new("RGB", (w, h), colour).save(path, quality=90)


def tree(ctx, srv):
    """The test tree for this setup: returns its root-relative folder."""
    top = "pres-%s" % srv.name
    if top in _made:
        return top
    base = os.path.join(ctx.root, top)
    os.makedirs(os.path.join(base, "book"), exist_ok=True)
    for n, (w, h) in (("p1", (1200, 900)), ("p2", (640, 480)), ("p10", (300, 500))):
        _img(os.path.join(base, "book", n + ".jpg"), w, h)
    _img(os.path.join(base, "single.png"), 700, 350)
    coll = os.path.join(base, "coll")
    for sub in ("a2", "a10"):
        os.makedirs(os.path.join(coll, sub), exist_ok=True)
        _img(os.path.join(coll, sub, "leaf.jpg"), 400, 300)
    _img(os.path.join(coll, "loose.jpg"), 320, 240)
    os.makedirs(os.path.join(base, "described"), exist_ok=True)
    _img(os.path.join(base, "described", "recto.jpg"), 500, 400)
    _img(os.path.join(base, "described", "verso.jpg"), 500, 400)
    with open(os.path.join(base, "described", "iiif.json"), "w") as f:
        json.dump({
            "label": "Letter of 2 April 1871", "language": "en",
            "summary": "Two leaves.",
            "metadata": [{"label": "Creator", "value": "A. Writer"}],
            "rights": "http://creativecommons.org/licenses/by/4.0/",
            "requiredStatement": {"label": "Attribution", "value": "Example Archive"},
            "behavior": ["paged"],
            "items": [{"file": "verso.jpg", "label": "Verso"}, {"file": "recto.jpg", "label": "Recto"}],
            "structures": [{"label": "Contents", "items": [
                "verso.jpg", {"label": "Detail", "items": [{"file": "recto.jpg", "xywh": [10, 20, 100, 50]}]}]}],
        }, f)
    os.makedirs(os.path.join(base, "broken"), exist_ok=True)
    _img(os.path.join(base, "broken", "p1.jpg"), 100, 100)
    with open(os.path.join(base, "broken", "iiif.json"), "w") as f:
        json.dump({"label": "Broken", "navDate": "last Tuesday"}, f)
    _made[top] = True
    return top


def enc(rel):
    return urllib.parse.quote(rel, safe="")


def get_json(srv, path, what=None, headers=None):
    r = srv.get(path, headers=headers)
    expect_status(r, 200, what or ("GET " + path))
    expect(r.header("Content-Type") == CT3, "GET %s: Content-Type %r" % (path, r.header("Content-Type")))
    try:
        return json.loads(r.body), r
    except ValueError as e:
        raise AssertionError("GET %s: not JSON: %s" % (path, e))


def local(srv, url):
    """The path of one of our own absolute URLs."""
    p = urllib.parse.urlsplit(url)
    expect(p.netloc.startswith("127.0.0.1"), "id %s is not on this server" % url)
    return p.path


def painting(canvas):
    return canvas["items"][0]["items"][0]


@core("presentation: an image folder is a Manifest with canvases in natural order")
def _(ctx, srv):
    top = tree(ctx, srv)
    m, r = get_json(srv, "/iiif/3/%s/manifest" % enc(top + "/book"))
    expect(list(m)[:4] == ["@context", "id", "type", "label"], "key order %s" % list(m)[:4])
    expect(m["@context"] == "http://iiif.io/api/presentation/3/context.json", "@context")
    expect(m["type"] == "Manifest", "type")
    expect(m["id"].endswith("/iiif/3/%s/manifest" % enc(top + "/book")), "id %s" % m["id"])
    expect(m["label"] == {"none": ["book"]}, "label %r" % m["label"])
    labels = [c["label"]["none"][0] for c in m["items"]]
    expect(labels == ["p1", "p2", "p10"], "canvas order %s" % labels)
    expect("thumbnail" in m, "the Manifest has a thumbnail")
    expect(r.header("ETag"), "ETag")
    expect("Accept" in (r.header("Vary") or ""), "Vary: %r" % r.header("Vary"))
    expect(r.header("Access-Control-Allow-Origin") == "*", "CORS")


@core("presentation: canvas sizes, bodies and thumbnails agree with info.json")
def _(ctx, srv):
    top = tree(ctx, srv)
    m, _ = get_json(srv, "/iiif/3/%s/manifest" % enc(top + "/book"))
    for c in m["items"]:
        anno = painting(c)
        body = anno["body"]
        svc3 = [s for s in body["service"] if s.get("type") == "ImageService3"]
        svc2 = [s for s in body["service"] if s.get("@type") == "ImageService2"]
        expect(len(svc3) == 1 and len(svc2) == 1, "both image services: %s" % body["service"])
        expect("@type" not in svc3[0] and "id" not in svc2[0], "no id/@type mixing")
        info, _ = get_json_plain(srv, local(srv, svc3[0]["id"]) + "/info.json")
        expect((c["width"], c["height"]) == (info["width"], info["height"]),
               "canvas %s is %dx%d, info.json %dx%d" % (c["id"], c["width"], c["height"], info["width"], info["height"]))
        expect(svc3[0]["sizes"] == info.get("sizes"), "embedded sizes %s vs %s" % (svc3[0]["sizes"], info.get("sizes")))
        expect(svc3[0].get("tiles") == info.get("tiles"), "embedded tiles")
        sizes = [(s["width"], s["height"]) for s in info["sizes"]]
        expect((body["width"], body["height"]) in sizes, "body size is a sizes entry")
        expect(max(body["width"], body["height"]) <= 1024 or (body["width"], body["height"]) == sizes[0],
               "body bounded")
        th = c["thumbnail"][0]
        expect((th["width"], th["height"]) in sizes, "thumbnail size %dx%d in sizes" % (th["width"], th["height"]))
        for url, (w, h) in ((body["id"], (body["width"], body["height"])), (th["id"], (th["width"], th["height"]))):
            r = srv.get(local(srv, url))
            expect_status(r, 200, "GET " + url)
            im = Image.open(io.BytesIO(r.body))
            expect(im.size == (w, h), "%s is %s, declared %dx%d" % (url, im.size, w, h))


def get_json_plain(srv, path):
    r = srv.get(path)
    expect_status(r, 200, "GET " + path)
    return json.loads(r.body), r


@core("presentation: every id of a Manifest dereferences to the same JSON")
def _(ctx, srv):
    top = tree(ctx, srv)
    m, _ = get_json(srv, "/iiif/3/%s/manifest" % enc(top + "/described"))
    pairs = []
    for c in m["items"]:
        pairs.append((c["id"], c))
        page = c["items"][0]
        pairs.append((page["id"], page))
        pairs.append((page["items"][0]["id"], page["items"][0]))

    def ranges(rs):
        for rg in rs:
            pairs.append((rg["id"], rg))
            ranges([x for x in rg["items"] if x.get("type") == "Range"])
    ranges(m.get("structures", []))
    expect(len(pairs) >= 8, "resources found: %d" % len(pairs))
    for url, embedded in pairs:
        got, _ = get_json(srv, local(srv, url))
        ctx_ = got.pop("@context", None)
        expect(ctx_ == "http://iiif.io/api/presentation/3/context.json", "%s has its @context" % url)
        expect(got == embedded, "%s differs from the embedded copy" % url)
    r = srv.get(local(srv, m["items"][0]["id"])[:-1] + "9")
    expect_status(r, 404, "a canvas that does not exist")


@core("presentation: a sidecar gives labels, metadata, rights and structures")
def _(ctx, srv):
    top = tree(ctx, srv)
    m, _ = get_json(srv, "/iiif/3/%s/manifest" % enc(top + "/described"))
    expect(m["label"] == {"en": ["Letter of 2 April 1871"]}, "label %r" % m["label"])
    expect(m["summary"] == {"en": ["Two leaves."]}, "summary")
    expect(m["metadata"][0]["value"] == {"en": ["A. Writer"]}, "metadata %r" % m["metadata"])
    expect(m["rights"] == "http://creativecommons.org/licenses/by/4.0/", "rights")
    expect(m["requiredStatement"]["value"] == {"en": ["Example Archive"]}, "requiredStatement")
    expect(m["behavior"] == ["paged"], "behavior")
    expect([c["label"]["en"][0] for c in m["items"]] == ["Verso", "Recto"], "sidecar order")
    st = m["structures"][0]
    expect(st["type"] == "Range" and st["id"].endswith("/range/r1"), "range id %s" % st["id"])
    expect(st["items"][0] == {"id": m["items"][0]["id"], "type": "Canvas"}, "canvas ref %r" % st["items"][0])
    detail = st["items"][1]
    expect(detail["items"][0]["id"] == m["items"][1]["id"] + "#xywh=10,20,100,50",
           "fragment %s" % detail["items"][0]["id"])


@core("presentation: a single image file is its own one-canvas Manifest")
def _(ctx, srv):
    top = tree(ctx, srv)
    m, _ = get_json(srv, "/iiif/3/%s/manifest" % enc(top + "/single.png"))
    expect(len(m["items"]) == 1, "one canvas")
    c = m["items"][0]
    expect((c["width"], c["height"]) == (700, 350), "size %dx%d" % (c["width"], c["height"]))
    expect(painting(c)["body"]["service"][0]["id"].endswith("/iiif/3/" + enc(top + "/single.png")),
           "service id")
    # the image's base URL still goes to info.json
    r = srv.get("/iiif/3/%s" % enc(top + "/single.png"))
    expect_status(r, 303, "image base URL")
    expect(r.header("Location").endswith("/info.json"), "Location %s" % r.header("Location"))


@core("presentation: a collection lists its folders, then loose files, with thumbnails")
def _(ctx, srv):
    top = tree(ctx, srv)
    c, _ = get_json(srv, "/iiif/3/collection/%s" % enc(top + "/coll"))
    expect(c["type"] == "Collection", "type")
    ids = [x["id"] for x in c["items"]]
    want = ["/iiif/3/%s/manifest" % enc(top + "/coll/a2"), "/iiif/3/%s/manifest" % enc(top + "/coll/a10"),
            "/iiif/3/%s/manifest" % enc(top + "/coll/loose.jpg")]
    expect(len(ids) == 3 and all(i.endswith(w) for i, w in zip(ids, want)), "members %s" % ids)
    for x in c["items"]:
        expect(x["type"] == "Manifest" and "thumbnail" in x, "member %s has a thumbnail" % x["id"])
        get_json(srv, local(srv, x["id"]))
    # the parent lists it as a Collection; top reaches it
    p, _ = get_json(srv, "/iiif/3/collection/%s" % enc(top))
    kinds = {x["id"].rsplit("/iiif/3/", 1)[1]: x["type"] for x in p["items"]}
    expect(kinds.get("collection/" + enc(top + "/coll")) == "Collection", "kinds %s" % kinds)
    t, _ = get_json(srv, "/iiif/3/collection/top")
    expect(any(x["id"].endswith("/collection/" + enc(top)) for x in t["items"]), "top lists the tree")
    # a folder's base URL redirects
    r = srv.get("/iiif/3/%s" % enc(top + "/coll/a2"))
    expect_status(r, 303, "item folder base URL")
    expect(r.header("Location").endswith("/iiif/3/%s/manifest" % enc(top + "/coll/a2")), "Location")
    r = srv.get("/iiif/3/%s" % enc(top + "/coll"))
    expect_status(r, 303, "collection folder base URL")
    expect(r.header("Location").endswith("/iiif/3/collection/%s" % enc(top + "/coll")), "Location")


@core("presentation: unversioned URLs use the default version")
def _(ctx, srv):
    top = tree(ctx, srv)
    a, _ = get_json(srv, "/iiif/%s/manifest" % enc(top + "/book"))
    expect(a["items"], "unversioned Manifest")
    get_json(srv, "/iiif/collection/top")
    r = srv.get("/iiif/2/%s/manifest" % enc(top + "/book"))
    expect_status(r, (200, 501), "2.1 Manifest (501 until the 2.1 writer lands)")


@core("presentation: ETag and Last-Modified give 304, gzip when asked, HEAD has no body")
def _(ctx, srv):
    top = tree(ctx, srv)
    path = "/iiif/3/%s/manifest" % enc(top + "/book")
    m, r = get_json(srv, path)
    etag = r.header("ETag")
    r2 = srv.get(path, headers={"If-None-Match": etag})
    expect_status(r2, 304, "conditional GET")
    expect(r2.body == b"", "304 without body")
    lm = r.header("Last-Modified")
    expect(lm, "Last-Modified")
    r2 = srv.get(path, headers={"If-Modified-Since": lm})
    expect_status(r2, 304, "If-Modified-Since the Last-Modified")
    r2 = srv.get(path, headers={"If-Modified-Since": "Mon, 01 Jan 1990 00:00:00 GMT"})
    expect_status(r2, 200, "If-Modified-Since long ago")
    r3 = srv.get(path, headers={"Accept-Encoding": "gzip, deflate"})
    expect_status(r3, 200, "gzip GET")
    expect(r3.header("Content-Encoding") == "gzip", "Content-Encoding %r" % r3.header("Content-Encoding"))
    expect(json.loads(gzip.decompress(r3.body)) == m, "gzip body is the same JSON")
    expect(len(r3.body) < len(json.dumps(m)), "gzip is smaller")
    expect("Accept-Encoding" in (r3.header("Vary") or ""), "Vary names Accept-Encoding")
    r4 = srv.get(path, headers={"Accept-Encoding": "gzip;q=0"})
    expect(r4.header("Content-Encoding") is None, "q=0 refuses gzip")
    r5 = srv.get(path, method="HEAD")
    expect_status(r5, 200, "HEAD")
    expect(r5.body == b"", "HEAD has no body")


@core("presentation: a change on disk shows in the next answer")
def _(ctx, srv):
    top = tree(ctx, srv)
    folder = os.path.join(ctx.root, top, "changing")
    os.makedirs(folder, exist_ok=True)
    _img(os.path.join(folder, "a.jpg"), 300, 200)
    path = "/iiif/3/%s/manifest" % enc(top + "/changing")
    m1, r1 = get_json(srv, path)
    expect(len(m1["items"]) == 1, "one canvas")
    get_json(srv, path)   # cached now
    _img(os.path.join(folder, "b.jpg"), 300, 200)
    m2, r2 = get_json(srv, path)
    expect(len(m2["items"]) == 2, "a new file is a new canvas at once")
    expect(r2.header("ETag") != r1.header("ETag"), "a new ETag")
    # rewritten in place with another size: same names, new canvas size
    time.sleep(0.01)
    _img(os.path.join(folder, "a.jpg"), 600, 400)
    m3, _ = get_json(srv, path)
    expect(m3["items"][0]["width"] == 600, "the rewritten file's size %d" % m3["items"][0]["width"])
    with open(os.path.join(folder, "iiif.json"), "w") as f:
        json.dump({"label": "Renamed"}, f)
    m4, _ = get_json(srv, path)
    expect(m4["label"] == {"none": ["Renamed"]}, "the sidecar shows at once: %r" % m4["label"])


@core("presentation: a bad sidecar is a 500 naming the item and the field")
def _(ctx, srv):
    top = tree(ctx, srv)
    r = srv.get("/iiif/3/%s/manifest" % enc(top + "/broken"))
    expect_status(r, 500, "broken sidecar")
    text = r.body.decode("utf-8", "replace")
    expect((top + "/broken/iiif.json") in text and "navDate" in text, "message %r" % text)
    expect(r.header("Access-Control-Allow-Origin") == "*", "CORS on errors")
    r = srv.get("/iiif/3/%s/manifest" % enc(top + "/nothing-here"))
    expect_status(r, 404, "missing item")
    r = srv.get("/iiif/3/%s/manifest" % enc("../etc"))
    expect_status(r, 404, "outside the root")


@core("presentation: /metrics counts the route")
def _(ctx, srv):
    tree(ctx, srv)
    get_json(srv, "/iiif/3/collection/top")
    r = srv.get("/metrics")
    expect('route="presentation"' in r.body.decode(), "presentation route in /metrics")


def _av_folder(ctx, srv):
    """A folder with a video, its poster and captions, and a sound: made
    with ffmpeg (skipped without it)."""
    import shutil
    import subprocess
    from common import Skip
    if not shutil.which("ffmpeg"):
        raise Skip("ffmpeg is not installed")
    top = tree(ctx, srv)
    d = os.path.join(ctx.root, top, "av")
    if not os.path.exists(os.path.join(d, "side-a.mp3")):
        os.makedirs(d, exist_ok=True)
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10",
                        "-f", "lavfi", "-i", "sine=frequency=440", "-t", "2", "-c:v", "libx264",
                        "-pix_fmt", "yuv420p", "-c:a", "aac", os.path.join(d, "clip.mp4")], check=True, timeout=60)
        _img(os.path.join(d, "clip.jpg"), 320, 240)
        with open(os.path.join(d, "clip.vtt"), "w") as f:
            f.write("WEBVTT\n\n00:00.000 --> 00:01.000\nhello\n")
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440",
                        "-t", "3", os.path.join(d, "side-a.mp3")], check=True, timeout=60)
    return top


@core("presentation: video outranks sound; durations, sizes, captions and the poster come through")
def _(ctx, srv):
    top = _av_folder(ctx, srv)
    m, _ = get_json(srv, "/iiif/3/%s/manifest" % enc(top + "/av"))
    expect(len(m["items"]) == 1, "one Video canvas (the sound is a rendering): %d" % len(m["items"]))
    c = m["items"][0]
    body = painting(c)["body"]
    expect(body["type"] == "Video" and body["format"] == "video/mp4", "body %r" % body)
    expect((c["width"], c["height"]) == (320, 240), "video size %sx%s" % (c.get("width"), c.get("height")))
    expect(abs(c["duration"] - 2.0) < 0.2, "duration %s" % c.get("duration"))
    expect(body["id"].endswith("/iiif/%s/res/clip.mp4" % enc(top + "/av")), "media URL %s" % body["id"])
    expect(c["thumbnail"][0]["service"][0]["id"].endswith("/iiif/3/" + enc(top + "/av/clip.jpg")),
           "poster thumbnail")
    cap = c["annotations"][0]["items"][0]
    expect(cap["motivation"] == "supplementing" and cap["body"]["format"] == "text/vtt", "captions %r" % cap)
    rend = [x for x in m.get("rendering", []) if x["format"] == "audio/mpeg"]
    expect(len(rend) == 1, "the mp3 is a rendering: %r" % m.get("rendering"))
    s, _ = get_json(srv, "/iiif/3/%s/manifest" % enc(top + "/av/side-a.mp3"))
    sc = s["items"][0]
    expect("width" not in sc and abs(sc["duration"] - 3.0) < 0.2, "sound canvas %r" % {k: sc.get(k) for k in ("width", "duration")})
    expect(painting(sc)["body"]["type"] == "Sound", "Sound body")
