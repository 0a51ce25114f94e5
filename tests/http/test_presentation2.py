"""test_presentation2.py - Presentation 2.1 Manifests and Collections made
from the folder tree, through nginx (FastCGI) and embedded HTTP.

A small tree per setup (pres2-nginx, pres2-embedded): an image folder with
a sidecar (two languages, metadata, rights, attribution, a navDate with an
offset, paged, ranges), a single image file, a collection of two items and
a loose image, a video item with a cover picture and a sound item without
one.  Each test checks what a 2.1 viewer (Mirador 2, UV 2/3) relies on:
@context/@id/@type everywhere, one sc:Sequence, annotations "on" their
canvas, image resources whose service info.json gives the same size, every
@id dereferencing with 200 (Presentation resources to the same JSON they
are embedded as), the 2.1 media types and the context Link header (2.1
§7.3), navDate in UTC, and the IXIF mediaSequences of sound and video.

The one idea: every URL a 2.1 Manifest holds is fetched and checked against
the server's other answers (the same resource alone, info.json, the image
itself), so the test proves the pieces fit rather than comparing text.
"""

import gzip
import io
import json
import os
import re
import shutil
import subprocess
import urllib.parse

from PIL import Image

from common import Skip, core, expect, expect_status, test

P2 = "http://iiif.io/api/presentation/2/context.json"
IMG2 = "http://iiif.io/api/image/2/context.json"
CT2LD = 'application/ld+json;profile="http://iiif.io/api/presentation/2/context.json"'
_made = {}


def _img(path, w, h, colour=(40, 120, 200)):
    Image.new("RGB", (w, h), colour).save(path, quality=90)


def _ffmpeg(args, out):
    exe = shutil.which("ffmpeg")
    if not exe:
        return False
    r = subprocess.run([exe, "-loglevel", "error", "-y"] + args + [out],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
    return r.returncode == 0 and os.path.exists(out)


def tree(ctx, srv):
    """The 2.1 test tree for this setup: returns its root-relative folder."""
    top = "pres2-%s" % srv.name
    if top in _made:
        return top
    base = os.path.join(ctx.root, top)
    book = os.path.join(base, "book")
    os.makedirs(book, exist_ok=True)
    _img(os.path.join(book, "f1.jpg"), 1200, 900)
    _img(os.path.join(book, "f2.jpg"), 640, 800)
    _img(os.path.join(book, "f10.jpg"), 300, 200)
    with open(os.path.join(book, "iiif.json"), "w") as f:
        json.dump({
            "label": {"en": ["A letter"], "fr": ["Une lettre"]},
            "language": "en",
            "summary": "Three leaves.",
            "metadata": [{"label": "Creator", "value": "A. Writer"}],
            "rights": "http://creativecommons.org/licenses/by/4.0/",
            "requiredStatement": {"label": "Attribution", "value": "Example Archive"},
            "homepage": "https://example.org/items/1",
            "navDate": "1871-04-02T01:30:00+02:00",
            "behavior": ["paged"],
            "viewingDirection": "left-to-right",
            "start": "f2.jpg",
            "structures": [{"label": "Contents", "items": [
                {"label": "Front", "items": ["f1.jpg", {"file": "f2.jpg", "xywh": [0, 0, 320, 400]}]},
                "f10.jpg"]}],
        }, f)
    _img(os.path.join(base, "single.png"), 700, 350)
    coll = os.path.join(base, "coll")
    for sub in ("a2", "a10"):
        os.makedirs(os.path.join(coll, sub), exist_ok=True)
        _img(os.path.join(coll, sub, "leaf.jpg"), 400, 300)
    _img(os.path.join(coll, "loose.jpg"), 320, 240)
    with open(os.path.join(coll, "iiif.json"), "w") as f:
        json.dump({"label": "Letters", "navDate": "1870-01-01T00:00:00-01:00"}, f)
    video = os.path.join(base, "video")
    os.makedirs(video, exist_ok=True)
    sound = os.path.join(base, "sound")
    os.makedirs(sound, exist_ok=True)
    ok = _ffmpeg(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=10", "-t", "2",
                  "-pix_fmt", "yuv420p", "-c:v", "libx264"], os.path.join(video, "clip.mp4"))
    ok = ok and _ffmpeg(["-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-c:a", "libvorbis"],
                        os.path.join(sound, "tone.ogg"))
    _img(os.path.join(video, "clip.jpg"), 480, 270, (200, 30, 30))
    _made[top] = True
    _made[top + ":av"] = ok
    return top


def enc(rel):
    return urllib.parse.quote(rel, safe="")


def local(url):
    p = urllib.parse.urlsplit(url)
    expect(p.netloc.startswith("127.0.0.1"), "id %s is not on this server" % url)
    return p.path


def get2(srv, path, headers=None, what=None):
    """GET a 2.1 resource: 200, application/json with the context Link."""
    r = srv.get(path, headers=headers)
    expect_status(r, 200, what or ("GET " + path))
    expect(r.header("Content-Type") == "application/json",
           "GET %s: Content-Type %r, 2.1 §7.3 wants application/json" % (path, r.header("Content-Type")))
    link = r.header("Link") or ""
    expect("<%s>" % P2 in link and 'rel="http://www.w3.org/ns/json-ld#context"' in link,
           "GET %s: Link %r does not name the 2.1 context" % (path, link))
    expect(r.header("Access-Control-Allow-Origin") == "*", "GET %s: no CORS" % path)
    try:
        return json.loads(r.body), r
    except ValueError as e:
        raise AssertionError("GET %s: not JSON: %s" % (path, e))


def ids(v, out):
    """Every (key, url) of @id, on, startCanvas and range canvases below v."""
    if isinstance(v, dict):
        for k, x in v.items():
            if k in ("@id", "on", "startCanvas") and isinstance(x, str):
                out.append((k, x))
            elif k == "canvases" and isinstance(x, list) and x and isinstance(x[0], str):
                out.extend(("canvases", s) for s in x)
            elif k in ("ranges", "within") and isinstance(x, (list, str)):
                out.extend((k, s) for s in ([x] if isinstance(x, str) else x))
            else:
                ids(x, out)
    elif isinstance(v, list):
        for x in v:
            ids(x, out)
    return out


def embedded(doc, url):
    """The full embedded object whose @id is url (not a reference)."""
    found = []

    def walk(v):
        if isinstance(v, dict):
            if v.get("@id") == url and len(v) > 3:
                found.append(v)
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    walk(doc)
    return found[0] if found else None


def is_res(url):
    return "/res/" in urllib.parse.urlsplit(url).path


@core("presentation 2.1: an image folder is an sc:Manifest with one sequence and annotations on their canvas")
def _(ctx, srv):
    top = tree(ctx, srv)
    m, r = get2(srv, "/iiif/2/%s/manifest" % enc(top + "/book"))
    expect(list(m)[:3] == ["@context", "@id", "@type"], "key order %s" % list(m)[:4])
    expect(m["@context"] == P2, "@context %r" % m["@context"])
    expect(m["@type"] == "sc:Manifest", "@type %r" % m["@type"])
    expect(m["@id"].endswith("/iiif/2/%s/manifest" % enc(top + "/book")), "@id %s" % m["@id"])
    expect(r.header("ETag") and "Accept" in (r.header("Vary") or ""), "ETag and Vary: Accept")
    expect(len(m["sequences"]) == 1, "one sequence")
    seq = m["sequences"][0]
    expect(seq["@type"] == "sc:Sequence" and seq["@id"].endswith("/sequence/normal"), "sequence %s" % seq["@id"])
    expect([c["label"] for c in seq["canvases"]] == ["f1", "f2", "f10"], "natural order %s" %
           [c["label"] for c in seq["canvases"]])
    expect(seq["startCanvas"] == seq["canvases"][1]["@id"], "startCanvas %s" % seq.get("startCanvas"))
    for n, c in enumerate(seq["canvases"], 1):
        expect(c["@type"] == "sc:Canvas" and c["@id"].endswith("/canvas/p%d" % n), "canvas %s" % c["@id"])
        expect(isinstance(c["width"], int) and isinstance(c["height"], int), "canvas size")
        expect(len(c["images"]) == 1, "one image per canvas")
        a = c["images"][0]
        expect(a["@type"] == "oa:Annotation" and a["motivation"] == "sc:painting", "annotation %r" % a)
        expect(a["@id"].endswith("/annotation/p%d-image" % n), "annotation @id %s" % a["@id"])
        expect(a["on"] == c["@id"], "on %s is not the canvas %s" % (a["on"], c["@id"]))
        res = a["resource"]
        expect(res["@type"] == "dctypes:Image" and res["format"] == "image/jpeg", "resource %r" % res)
        svc = res["service"]
        expect(svc["@context"] == IMG2 and svc["profile"] == "http://iiif.io/api/image/2/level2.json",
               "service %r" % svc)
        expect("/iiif/2/" in svc["@id"], "service @id %s is the ImageService2 URL" % svc["@id"])
        expect("thumbnail" in c, "canvas %d has a thumbnail" % n)


@core("presentation 2.1: image resources, canvases and their service's info.json agree on the size")
def _(ctx, srv):
    top = tree(ctx, srv)
    m, _ = get2(srv, "/iiif/2/%s/manifest" % enc(top + "/book"))
    for c in m["sequences"][0]["canvases"]:
        res = c["images"][0]["resource"]
        svc = res["service"]
        r = srv.get(local(svc["@id"]) + "/info.json")
        expect_status(r, 200, "info.json of " + svc["@id"])
        info = json.loads(r.body)
        expect(info["@id"] == svc["@id"], "info.json @id %s vs service %s" % (info["@id"], svc["@id"]))
        expect((res["width"], res["height"]) == (info["width"], info["height"]),
               "resource %dx%d, info.json %dx%d" % (res["width"], res["height"], info["width"], info["height"]))
        expect((c["width"], c["height"]) == (info["width"], info["height"]), "canvas size vs info.json")
        expect(svc.get("sizes") == info.get("sizes") and svc.get("tiles") == info.get("tiles"),
               "embedded sizes/tiles differ from info.json's")
        th = c["thumbnail"]
        sizes = [(s["width"], s["height"]) for s in info["sizes"]]
        expect((th["width"], th["height"]) in sizes, "thumbnail %dx%d is not a sizes entry" % (th["width"], th["height"]))
        r = srv.get(local(th["@id"]))
        expect_status(r, 200, "thumbnail " + th["@id"])
        expect(Image.open(io.BytesIO(r.body)).size == (th["width"], th["height"]), "thumbnail pixels")


@core("presentation 2.1: every @id of a Manifest dereferences with 200, resources to the JSON they are embedded as")
def _(ctx, srv):
    top = tree(ctx, srv)
    checked = 0
    for item in ("book", "single.png", "video"):
        if item == "video" and not _made.get(top + ":av"):
            continue
        m, _ = get2(srv, "/iiif/2/%s/manifest" % enc(top + "/" + item))
        seen = set()
        for key, url in ids(m, []):
            url = url.split("#")[0]
            if url in seen or not url.startswith("http://127.0.0.1") or is_res(url):
                continue   # external links; media files: see the res test below
            seen.add(url)
            path = local(url)
            if "/iiif/2/" in path and re.search(r"/(manifest|sequence/\w+|canvas/p\d+|annotation/[\w-]+|range/[\w-]+)$", path):
                got, _ = get2(srv, path)
                expect(got.get("@id") == url and got.get("@type"), "%s: @id %s" % (url, got.get("@id")))
                if not path.endswith("/manifest"):
                    want = embedded(m, url)
                    expect(want is not None, "%s is not embedded in the Manifest" % url)
                    c = got.pop("@context")
                    expect(c == P2 or (isinstance(c, list) and c[0] == P2), "%s: @context %r" % (url, c))
                    if isinstance(c, list):
                        want = dict(want)
                        want.pop("@context", None)
                    expect(got == want, "%s differs from its embedded copy" % url)
            elif re.search(r"/full/[^/]+/0/default\.jpg$", path):
                r = srv.get(path)
                expect_status(r, 200, "image " + url)
            else:   # an image service: its info.json
                r = srv.get(path + "/info.json")
                expect_status(r, 200, "service " + url + "/info.json")
            checked += 1
    expect(checked >= 15, "only %d ids checked" % checked)
    base = "/iiif/2/%s" % enc(top + "/book")
    for bad in ("/canvas/p9", "/annotation/p9-image", "/range/nope", "/sequence/other", "/page/p1/1"):
        r = srv.get(base + bad)
        expect_status(r, 404, "GET " + base + bad)
        expect(r.header("Access-Control-Allow-Origin") == "*", "404 has CORS")


@core("presentation 2.1: Accept application/ld+json gets the 2.1 JSON-LD media type")
def _(ctx, srv):
    top = tree(ctx, srv)
    path = "/iiif/2/%s/manifest" % enc(top + "/book")
    _, plain = get2(srv, path)
    r = srv.get(path, headers={"Accept": "application/ld+json"})
    expect_status(r, 200, "GET with Accept: application/ld+json")
    expect(r.header("Content-Type") == CT2LD, "Content-Type %r" % r.header("Content-Type"))
    expect(r.body == plain.body, "the same document either way")
    expect(r.header("ETag") != plain.header("ETag"), "two representations share an ETag")
    r2 = srv.get(path, headers={"Accept": "application/ld+json;q=0, application/json"})
    expect(r2.header("Content-Type") == "application/json", "q=0 refuses ld+json: %r" % r2.header("Content-Type"))
    r3 = srv.get(path, headers={"If-None-Match": plain.header("ETag")})
    expect_status(r3, 304, "conditional GET")
    expect(not r3.body, "304 without a body")
    r4 = srv.get(path, headers={"Accept-Encoding": "gzip"})
    expect_status(r4, 200, "GET with Accept-Encoding: gzip")
    expect(r4.header("Content-Encoding") == "gzip", "Content-Encoding %r" % r4.header("Content-Encoding"))
    expect(gzip.decompress(r4.body) == plain.body, "gzip of the same document")
    expect(r4.header("Content-Type") == "application/json" and r4.header("Link"), "gzip keeps the 2.1 headers")


@core("presentation 2.1: the sidecar reads as 2.1 (languages, description, license, attribution, viewingHint, navDate in UTC, ranges)")
def _(ctx, srv):
    top = tree(ctx, srv)
    m, _ = get2(srv, "/iiif/2/%s/manifest" % enc(top + "/book"))
    expect(m["label"] == [{"@value": "A letter", "@language": "en"}, {"@value": "Une lettre", "@language": "fr"}],
           "label %r" % m["label"])
    expect(m["description"] == "Three leaves.", "description %r" % m.get("description"))
    expect(m["metadata"] == [{"label": "Creator", "value": "A. Writer"}], "metadata %r" % m.get("metadata"))
    expect(m["license"] == "http://creativecommons.org/licenses/by/4.0/", "license")
    expect(m["attribution"] == "Example Archive", "attribution %r" % m.get("attribution"))
    expect(m["related"]["@id"] == "https://example.org/items/1", "related")
    expect(m["viewingHint"] == "paged" and m["viewingDirection"] == "left-to-right", "hint and direction")
    expect(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", m["navDate"]), "navDate %r not in Z form" % m["navDate"])
    expect(m["navDate"] == "1871-04-01T23:30:00Z", "navDate %r: +02:00 not converted" % m["navDate"])
    for k in ("rights", "summary", "requiredStatement", "behavior", "items", "id", "type"):
        expect(k not in m, "3.0 property %s in a 2.1 Manifest" % k)
    canv = [c["@id"] for c in m["sequences"][0]["canvases"]]
    st = m["structures"]
    expect([s["@type"] for s in st] == ["sc:Range", "sc:Range"], "two ranges listed flat")
    expect(st[0]["viewingHint"] == "top", "the top range")
    expect([x["@id"] for x in st[0]["members"]] == [st[1]["@id"], canv[2]], "members in order %r" % st[0].get("members"))
    expect(st[1]["canvases"] == [canv[0], canv[1] + "#xywh=0,0,320,400"], "segment %r" % st[1].get("canvases"))


@core("presentation 2.1: a single image file is its own one-canvas Manifest")
def _(ctx, srv):
    top = tree(ctx, srv)
    m, _ = get2(srv, "/iiif/2/%s/manifest" % enc(top + "/single.png"))
    cs = m["sequences"][0]["canvases"]
    expect(len(cs) == 1 and (cs[0]["width"], cs[0]["height"]) == (700, 350), "one 700x350 canvas")
    expect(cs[0]["images"][0]["resource"]["service"]["@id"].endswith("/iiif/2/" + enc(top + "/single.png")),
           "service @id")
    r = srv.get(local(cs[0]["images"][0]["resource"]["@id"]))
    expect_status(r, 200, "the resource's image")
    expect(Image.open(io.BytesIO(r.body)).size == (700, 350), "the resource's pixels are its declared size")


@core("presentation 2.1: a collection lists sc:Collections and sc:Manifests that dereference")
def _(ctx, srv):
    top = tree(ctx, srv)
    c, _ = get2(srv, "/iiif/2/collection/%s" % enc(top + "/coll"))
    expect(list(c)[:3] == ["@context", "@id", "@type"] and c["@type"] == "sc:Collection", "collection head")
    expect(c["@id"].endswith("/iiif/2/collection/" + enc(top + "/coll")), "@id %s" % c["@id"])
    expect(c["label"] == "Letters", "label %r" % c["label"])
    expect(c["navDate"] == "1870-01-01T01:00:00Z", "navDate %r" % c.get("navDate"))
    expect(c["within"].endswith("/iiif/2/collection/" + enc(top)), "within %r" % c.get("within"))
    mans = [x["@id"] for x in c["manifests"]]
    want = [enc(top + "/coll/a2"), enc(top + "/coll/a10"), enc(top + "/coll/loose.jpg")]
    expect(len(mans) == 3 and all(i.endswith("/iiif/2/%s/manifest" % w) for i, w in zip(mans, want)),
           "manifests %s" % mans)
    for x in c["manifests"]:
        expect(x["@type"] == "sc:Manifest" and "thumbnail" in x and x["label"], "member %r" % x)
        got, _ = get2(srv, local(x["@id"]))
        expect(got["@id"] == x["@id"] and got["@type"] == "sc:Manifest", "member dereferences")
    p, _ = get2(srv, "/iiif/2/collection/%s" % enc(top))
    kinds = {x["@id"]: x["@type"] for x in p.get("collections", []) + p.get("manifests", []) + p.get("members", [])}
    coll_id = [k for k in kinds if k.endswith("/iiif/2/collection/" + enc(top + "/coll"))]
    expect(coll_id and kinds[coll_id[0]] == "sc:Collection", "parent lists it as sc:Collection: %s" % kinds)
    got, _ = get2(srv, local(coll_id[0]))
    expect(got["@type"] == "sc:Collection", "sub-collection dereferences")
    for rel, want in ((top + "/coll/a2", "/iiif/2/%s/manifest"), (top + "/coll", "/iiif/2/collection/%s")):
        r = srv.get("/iiif/2/%s" % enc(rel))
        expect_status(r, 303, "the base URL of " + rel)
        expect((r.header("Location") or "").endswith(want % enc(rel)), "Location %r" % r.header("Location"))
    t, _ = get2(srv, "/iiif/2/collection/top")
    expect(t["@id"].endswith("/iiif/2/collection/top") and "within" not in t, "top collection")
    expect(any(x["@id"].endswith("/collection/" + enc(top)) for x in t.get("collections", [])), "top lists the tree")


@core("presentation 2.1: sound and video get IXIF mediaSequences and placeholder canvases")
def _(ctx, srv):
    top = tree(ctx, srv)
    if not _made.get(top + ":av"):
        raise Skip("ffmpeg could not make the test video and sound")
    m, _ = get2(srv, "/iiif/2/%s/manifest" % enc(top + "/video"))
    expect(m["@context"] == P2 and m["@type"] == "sc:Manifest", "head")
    ms = m["mediaSequences"]
    expect(len(ms) == 1 and ms[0]["@type"] == "ixif:MediaSequence", "mediaSequences %r" % ms)
    el = ms[0]["elements"]
    expect(len(el) == 1, "one element")
    e = el[0]
    expect(e["@type"] == "dctypes:MovingImage" and e["format"] == "video/mp4", "element %r" % e)
    expect(local(e["@id"]).endswith("/iiif/%s/res/clip.mp4" % enc(top + "/video")), "element @id %s" % e["@id"])
    expect(e["rendering"][0]["@id"] == e["@id"] and e["rendering"][0]["format"] == "video/mp4", "rendering")
    expect((e["width"], e["height"]) == (320, 240), "video size %r" % ((e.get("width"), e.get("height")),))
    expect(abs(e["duration"] - 2.0) < 0.2, "duration %r" % e.get("duration"))
    expect(e["thumbnail"]["service"]["@id"].endswith("/iiif/2/" + enc(top + "/video/clip.jpg")), "thumbnail")
    cs = m["sequences"][0]["canvases"]
    expect(len(cs) == 1, "one placeholder canvas")
    c = cs[0]
    expect((c["width"], c["height"]) == (480, 270), "placeholder sized from the thumbnail: %dx%d" % (c["width"], c["height"]))
    expect(c["images"][0]["on"] == c["@id"], "painted with the thumbnail, on the canvas")
    expect(c["images"][0]["resource"]["service"]["@id"] == e["thumbnail"]["service"]["@id"], "the cover")
    expect(c["rendering"]["@id"] == e["@id"] and c["rendering"]["format"] == "video/mp4", "canvas rendering")
    s, _ = get2(srv, local(ms[0]["@id"]))
    expect(s["@type"] == "ixif:MediaSequence" and s["elements"] == el, "the media sequence dereferences")

    m, _ = get2(srv, "/iiif/2/%s/manifest" % enc(top + "/sound"))
    e = m["mediaSequences"][0]["elements"][0]
    expect(e["@type"] == "dctypes:Sound" and e["format"] == "audio/ogg", "sound element %r" % e)
    expect(abs(e["duration"] - 3.0) < 0.2, "duration %r" % e.get("duration"))
    c = m["sequences"][0]["canvases"][0]
    expect((c["width"], c["height"]) == (640, 360) and c["images"] == [], "an empty 640x360 placeholder: %r" % c)
    expect(c["rendering"]["format"] == "audio/ogg", "the sound is the canvas rendering")
    expect("duration" not in c, "2.1 canvases have no duration")


@core("presentation 2.1: media files named by the Manifest are served (needs the media route)")
def _(ctx, srv):
    top = tree(ctx, srv)
    if not _made.get(top + ":av"):
        raise Skip("ffmpeg could not make the test video and sound")
    m, _ = get2(srv, "/iiif/2/%s/manifest" % enc(top + "/video"))
    urls = sorted({u for _, u in ids(m, []) if is_res(u)})
    expect(urls, "the Manifest names its media file")
    r = srv.get(local(urls[0]), headers={"Range": "bytes=0-99"})
    if r.status == 404:
        raise Skip("no /iiif/{fid}/res/ route in this build (the media branch serves it)")
    for u in urls:
        r = srv.get(local(u))
        expect_status(r, 200, "GET " + u)
        expect(r.header("Content-Type") == "video/mp4", "%s: Content-Type %r" % (u, r.header("Content-Type")))


@test("presentation 2.1: default_version 2 makes unversioned URLs 2.1", server="v2default")
def _(ctx, srv):
    top = tree(ctx, srv)
    m, _ = get2(srv, "/iiif/%s/manifest" % enc(top + "/book"))
    expect(m["@type"] == "sc:Manifest" and m["@id"].endswith("/iiif/2/%s/manifest" % enc(top + "/book")),
           "unversioned Manifest is 2.1: %s" % m.get("@id"))
    c, _ = get2(srv, "/iiif/collection/top")
    expect(c["@type"] == "sc:Collection", "unversioned collection is 2.1")
    r = srv.get("/iiif/3/%s/manifest" % enc(top + "/book"))
    expect_status(r, 200, "the 3.0 Manifest still answers")
    expect(json.loads(r.body)["type"] == "Manifest", "3.0 by its URL")
