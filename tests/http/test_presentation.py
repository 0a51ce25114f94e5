"""test_presentation.py - IIIF Presentation 3.0 and 2.1 from the folder tree, over HTTP.

Builds the trees of presentation_tree.py (a clean one, a hostile one and a
small one the tests change on disk) under the suite's temporary directory,
starts the real daemon on each behind nginx (FastCGI) and in embedded HTTP
mode, and for both setups:
  * walks collection/top and every member down to every Manifest, in 3.0
    and in 2.1, and runs every check of presentation_checks.py on each
    (structure, then the deep checks: every id dereferences, formats are
    the served Content-Types, pixel sizes and durations are the files');
  * compares each Manifest with the facts the tree measured (canvas count,
    order, types, sizes after EXIF orientation, ffprobe durations, labels,
    renderings, seeAlso, thumbnails, Ranges, CSV metadata);
  * checks the HTTP contract of presentation.md §4-5: Content-Type per
    version, the 303 from /iiif/3/{item}, unversioned URLs, CORS, ETag and
    304, Vary: Accept, gzip, and on media res URLs: HEAD, Range (206, 416,
    suffix, If-Range), ETag/304, exact Content-Type;
  * changes the disk (a file rewritten in place, a page added, a sidecar
    edited) and requires the next answer to show it;
  * serves the hostile tree: bad sidecars are a 500 naming the item and the
    field, paths out of the root are 404, the 100,000-entry folder answers
    within the request timeout, truncated and lying media never become a
    manifest with a wrong duration, and no body ever holds a server path;
  * byte stability: one manifest fetched twice is the same bytes, nginx and
    embedded agree once the base URL is replaced, and the golden item
    equals tests/http/golden/golden-manifest-3.json (write it with
    TESSERA_WRITE_GOLDEN=1 once the server produces the agreed output).

The one idea: nothing about the expected JSON is typed in here; it comes
from the spec (presentation_checks.py) or from measuring the files
(presentation_tree.py, compared by presentation_compare.py).
"""

import gzip
import json
import os
import re
import time
import urllib.parse

import harness
import presentation_checks as pc
import presentation_tree as pt
from common import test, expect, expect_status, short
from presentation_compare import compare_manifest2, compare_manifest3, label_matches, strings

SETUPS = ("nginx", "embedded")
CT3 = 'application/ld+json;profile="http://iiif.io/api/presentation/3/context.json"'
CT2_LD = 'application/ld+json;profile="http://iiif.io/api/presentation/2/context.json"'
GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "golden-manifest-3.json")

_trees = {}      # (tmp, which) -> tree object (or root path) or a _Failed
_servers = {}    # (tmp, which, setup) -> harness.Server or an error string


# --------------------------------------------------------------------------
# trees and servers of our own

class _Failed(str):
    """Why a tree could not be built (remembered, so each test says it)."""


def tree(ctx, which):
    key = (ctx.tmp, which)
    if key not in _trees:
        base = os.path.join(ctx.tmp, "pres")
        try:
            if which == "clean":
                _trees[key] = pt.build(os.path.join(base, "root"))
            elif which == "budget":
                _trees[key] = _build_budget(os.path.join(base, "budget"))
            elif which == "hostile":
                _trees[key] = pt.build_hostile(os.path.join(base, "hostile"), os.path.join(base, "work"))
            else:
                _trees[key] = _build_mutable(os.path.join(base, "mutable"))
        except Exception as e:
            _trees[key] = _Failed("building the %s presentation tree failed: %s: %s" % (which, type(e).__name__, e))
    t = _trees[key]
    if isinstance(t, _Failed):
        raise AssertionError(t)
    return t


def _build_mutable(root):
    os.makedirs(os.path.join(root, "m"), exist_ok=True)
    pt.save_pattern(os.path.join(root, "m", "p1.jpg"), 300, 200)
    pt.save_pattern(os.path.join(root, "m", "p2.jpg"), 200, 300)
    with open(os.path.join(root, "m", "iiif.json"), "w") as f:
        json.dump({"label": "Before"}, f)
    return root


# The "budget" tree is served with a decode budget of BUDGET pixels: a
# 1600x1200 unpyramided PNG (1.92 M) is within it, a 2400x1600 PNG
# (3.84 M) is not, so no whole-image answer of it can be made; a 2400x1600
# JPEG is over it at full size, but decodes at 1/2, 1/4, 1/8 (its reduced
# levels), so it has smaller sizes the server makes.
BUDGET = 2000000


def _build_budget(root):
    os.makedirs(os.path.join(root, "book"), exist_ok=True)
    pt.save_pattern(os.path.join(root, "flat.png"), 1600, 1200, fmt="PNG")
    pt.save_pattern(os.path.join(root, "over.png"), 2400, 1600, fmt="PNG")
    pt.save_pattern(os.path.join(root, "reduced.jpg"), 2400, 1600)
    pt.save_pattern(os.path.join(root, "book", "p1.png"), 1200, 1600, fmt="PNG")
    pt.save_pattern(os.path.join(root, "book", "p2.jpg"), 1000, 800)
    pt.save_pattern(os.path.join(root, "small.jpg"), 300, 200)
    return root


def server(ctx, which, setup, own=None):
    """A daemon (nginx + FastCGI, or embedded) serving one of our trees;
    own names a second daemon on the same tree, for a test whose requests
    may tie up workers (the 100,000-entry folder) so the others stay fair."""
    t = tree(ctx, which)
    root = t if isinstance(t, str) else t.root
    key = (ctx.tmp, which, setup, own)
    if key not in _servers:
        name = "pres-%s-%s%s" % (which, setup, "-" + own if own else "")
        extra = ["--max-decode-pixels", str(BUDGET)] if which == "budget" else []
        try:
            if setup == "nginx":
                _servers[key] = harness.start_nginx_fastcgi(ctx.tmp, name, root, extra)
            else:
                _servers[key] = harness.start_embedded(ctx.tmp, name, root, extra)
        except harness.SetupError as e:
            _servers[key] = "%s setup failed: %s" % (name, e)
    s = _servers[key]
    if isinstance(s, str):
        raise harness.SetupError(s)
    return s


def base_of(srv):
    return "http://127.0.0.1:%d" % srv.port


def local_path(srv, url):
    b = base_of(srv)
    if not url.startswith(b + "/"):
        raise AssertionError("%s is not under this server's base %s" % (url, b))
    return url[len(b):]


def no_server_path(ctx, r, what):
    """No body may show where the files live (the root or the temp dir)."""
    body = r.body.decode("latin-1", errors="replace")
    for secret in (ctx.tmp, os.path.realpath(ctx.tmp)):
        expect(secret not in body, "%s: the body shows the server path %s: %s" % (what, secret, short(r.body, 200)))


def fetcher(ctx, srv):
    def fetch(url, method="GET"):
        r = srv.get(local_path(srv, url), method=method)
        no_server_path(ctx, r, "%s %s" % (method, url))
        return r
    return fetch


def get_json(ctx, srv, path, headers=None):
    r = srv.get(path, headers=headers)
    no_server_path(ctx, r, "GET " + path)
    expect_status(r, 200, "GET " + path)
    try:
        return json.loads(r.body), r
    except ValueError as e:
        raise AssertionError("GET %s: not JSON (%s): %s" % (path, e, short(r.body)))


def ct_norm(v):
    return re.sub(r"\s+", "", v or "")


def manifest_url(base, v, item):
    return "%s/iiif/%d/%s/manifest" % (base, v, item)


def collection_url(base, v, fid):
    return "%s/iiif/%d/collection/%s" % (base, v, fid)


# --------------------------------------------------------------------------
# the walk

def walk(ctx, srv, v):
    """Fetch collection/top and everything under it.  Returns
    ({url: collection json}, {url: manifest json}, [problems as text])."""
    base = base_of(srv)
    fetch = fetcher(ctx, srv)
    check = pc.check_v3 if v == 3 else pc.check_v2
    deep = pc.deep_v3 if v == 3 else pc.deep_v2
    colls, mans, problems = {}, {}, []
    todo = [("Collection", collection_url(base, v, "top"))]
    seen = set()
    while todo:
        kind, url = todo.pop(0)
        if url in seen:
            continue
        seen.add(url)
        r = srv.get(local_path(srv, url))
        no_server_path(ctx, r, "GET " + url)
        if r.status != 200:
            problems.append("%s: %d %s" % (url, r.status, short(r.body, 200)))
            continue
        want_ct = CT3 if v == 3 else "application/json"
        if ct_norm(r.header("Content-Type")) != ct_norm(want_ct):
            problems.append("%s: Content-Type %r, expected %r" % (url, r.header("Content-Type"), want_ct))
        try:
            doc = json.loads(r.body)
        except ValueError as e:
            problems.append("%s: not JSON: %s" % (url, e))
            continue
        probs = check(doc)
        if v == 3:
            probs += deep(doc, url, fetch, base)
        else:
            probs += deep(doc, url, fetch, base)
        for p in probs:
            problems.append("%s %s" % (url, p))
        if kind == "Collection":
            colls[url] = doc
            if v == 3:
                members = [(m.get("type"), m.get("id")) for m in doc.get("items", []) if isinstance(m, dict)]
            else:
                members = [(m.get("@type", "").replace("sc:", ""), m.get("@id"))
                           for k in ("members", "collections", "manifests")
                           for m in doc.get(k, []) if isinstance(m, dict)]
            for t_, u in members:
                if isinstance(u, str) and u.startswith(base + "/"):
                    todo.append((t_, u))
        else:
            mans[url] = doc
    return colls, mans, problems


# --------------------------------------------------------------------------
# tests

def _collection_members(doc, v, want=None):
    """The members in order.  2.1 may list them in members (one ordered
    list) or in collections + manifests (2.1 §5.5, order kept per type);
    for the latter, want (the expected list) is put in the same shape."""
    if v == 3:
        return [(m.get("type"), m.get("id")) for m in doc.get("items", [])], want
    if "members" in doc:
        return [(m.get("@type", "").replace("sc:", ""), m.get("@id")) for m in doc.get("members", [])], want
    got = [("Collection", m.get("@id")) for m in doc.get("collections", [])] + \
        [("Manifest", m.get("@id")) for m in doc.get("manifests", [])]
    if want is not None:
        want = [w for w in want if w[0] == "Collection"] + [w for w in want if w[0] == "Manifest"]
    return got, want


def _member_url(base, v, kind, ident):
    return collection_url(base, v, ident) if kind == "Collection" else manifest_url(base, v, ident)


def register(setup):
    tag = "presentation %s: " % setup

    for v in (3, 2):
        def _walk_test(v=v):
            @test(tag + "%d: collection/top and every member and manifest under it pass every check "
                  "(structure, ids dereference, formats, pixel sizes, durations)" % v, server=None)
            def _(ctx, srv_unused):
                srv = server(ctx, "clean", setup)
                colls, mans, problems = walk(ctx, srv, v)
                expect(not problems, "%d problems: %s" % (len(problems), "; ".join(problems[:12])))
                expect(colls and mans, "the walk found %d collections and %d manifests" % (len(colls), len(mans)))

            @test(tag + "%d: the collections list their members in the tree's order with the tree's labels (and thumbnails)" % v,
                  server=None)
            def _(ctx, srv_unused):
                t = tree(ctx, "clean")
                srv = server(ctx, "clean", setup)
                base = base_of(srv)
                errs = []
                for fid, ce in sorted(t.collections.items()):
                    doc, _ = get_json(ctx, srv, local_path(srv, collection_url(base, v, fid)))
                    want = [(k, urllib.parse.unquote(_member_url(base, v, k, i))) for k, i in ce.members]
                    got, want = _collection_members(doc, v, want)
                    got = [(k, urllib.parse.unquote(u or "")) for k, u in got]
                    if got != want:
                        errs.append("collection %s: members %r, expected %r" % (fid, got, want))
                    if v == 3 and not label_matches(ce.label, doc.get("label")):
                        errs.append("collection %s: label %r, expected %r" % (fid, doc.get("label"), ce.label))
                    # presentation.md §5: a thumbnail on every member that has a picture
                    if v == 3:
                        for (k, i), entry in zip(ce.members, doc.get("items", [])):
                            me = t.manifests.get(i)
                            if k == "Manifest" and me and any(c.thumbnail for c in me.canvases) \
                                    and not entry.get("thumbnail"):
                                errs.append("collection %s: member %s has a picture but no thumbnail" % (fid, i))
                expect(not errs, "; ".join(errs))

            @test(tag + "%d: every manifest matches the tree's facts (canvas order, types, sizes after "
                  "EXIF orientation, ffprobe durations, labels, renderings, seeAlso, Ranges, CSV metadata)" % v,
                  server=None)
            def _(ctx, srv_unused):
                t = tree(ctx, "clean")
                srv = server(ctx, "clean", setup)
                base = base_of(srv)
                errs = []
                for item, exp in sorted(t.manifests.items()):
                    path = local_path(srv, manifest_url(base, v, item))
                    r = srv.get(path)
                    no_server_path(ctx, r, "GET " + path)
                    if r.status != 200:
                        errs.append("%s: %d %s" % (path, r.status, short(r.body, 160)))
                        continue
                    m = json.loads(r.body)
                    cmp = compare_manifest3 if v == 3 else compare_manifest2
                    errs += ["%s: %s" % (item, e) for e in cmp(t, base, exp, m)]
                    errs += ["%s: %s" % (item, p) for p in (pc.check_v3(m) if v == 3 else pc.check_v2(m))]
                expect(not errs, "%d differences: %s" % (len(errs), "; ".join(errs[:12])))

        _walk_test()

    @test(tag + "every thumbnail and image body is a size the server makes within max_decode_pixels: "
          "each answers 200 at its advertised pixel size (3.0 and 2.1); an unpyramided image gets scaled "
          "sizes, not its whole picture; one over the budget is a 403 naming it and no member", server=None)
    def _(ctx, srv_unused):
        srv = server(ctx, "budget", setup)
        base = base_of(srv)
        errs = []
        for v in (3, 2):
            # the walk's deep checks fetch every thumbnail and body (3.0 and
            # 2.1) and compare its pixels with its URL and width/height
            colls, mans, problems = walk(ctx, srv, v)
            errs += problems
            top = colls.get(collection_url(base, v, "top"), {})
            listed = json.dumps(top)
            if "over.png" in listed:
                errs.append("%d: collection/top lists over.png, which the server cannot make whole" % v)
            for want in ("flat.png", "small.jpg", "reduced.jpg", "book"):
                if want not in listed:
                    errs.append("%d: collection/top does not list %s" % (v, want))
            r = srv.get("/iiif/%d/over.png/manifest" % v)
            no_server_path(ctx, r, "GET over.png manifest")
            if r.status != 403 or b"over.png" not in r.body:
                errs.append("%d: over.png's manifest answers %d %s, expected a 403 naming it"
                            % (v, r.status, short(r.body, 120)))
        m, _ = get_json(ctx, srv, "/iiif/3/flat.png/manifest")
        th = (m.get("thumbnail") or [{}])[0]
        body = m["items"][0]["items"][0]["items"][0]["body"]
        if (th.get("width"), th.get("height")) != (400, 300):
            errs.append("flat.png: thumbnail %sx%s, expected the image scaled to 400x300"
                        % (th.get("width"), th.get("height")))
        if (body.get("width"), body.get("height")) != (1024, 768):
            errs.append("flat.png: body %sx%s, expected the image scaled to 1024x768"
                        % (body.get("width"), body.get("height")))
        expect(not errs, "%d problems: %s" % (len(errs), "; ".join(errs[:12])))

    @test(tag + "each embedded resource is served alone with @context: canvas, page, annotation, range (3.0)",
          server=None)
    def _(ctx, srv_unused):
        t = tree(ctx, "clean")
        srv = server(ctx, "clean", setup)
        base = base_of(srv)
        item = pt.pct("letters/1871-04-02")
        m, _ = get_json(ctx, srv, "/iiif/3/%s/manifest" % item)
        errs = []
        for path in ("canvas/p2", "page/p2/1", "annotation/p2-image", "range/r1", "range/seal"):
            url = "%s/iiif/3/%s/%s" % (base, item, path)
            r = srv.get(local_path(srv, url))
            if r.status != 200:
                errs.append("%s: %d" % (path, r.status))
                continue
            doc = json.loads(r.body)
            if list(doc)[:1] != ["@context"]:
                errs.append("%s: @context is not the first key" % path)
            if doc.get("id") != url:
                errs.append("%s: id %r" % (path, doc.get("id")))
            errs += ["%s %s" % (path, p) for p in pc.check_v3(doc)]
        canvas = json.loads(srv.get("/iiif/3/%s/canvas/p2" % item).body)
        canvas.pop("@context", None)
        if m.get("items") and canvas != m["items"][1]:
            errs.append("canvas/p2 alone differs from the canvas embedded in the manifest")
        expect(not errs, "; ".join(errs))
        del t

    @test(tag + "Content-Type: 3.0 ld+json with the 3 profile; 2.1 application/json with the context Link, "
          "ld+json with the 2 profile when asked; Vary: Accept", server=None)
    def _(ctx, srv_unused):
        srv = server(ctx, "clean", setup)
        item = pt.pct("letters/1871-04-02")
        r3 = srv.get("/iiif/3/%s/manifest" % item)
        expect_status(r3, 200, "3.0 manifest")
        expect(ct_norm(r3.header("Content-Type")) == ct_norm(CT3), "3.0 Content-Type %r" % r3.header("Content-Type"))
        r2 = srv.get("/iiif/2/%s/manifest" % item)
        expect_status(r2, 200, "2.1 manifest")
        expect(r2.media_type == "application/json", "2.1 Content-Type %r" % r2.header("Content-Type"))
        link = " ".join(r2.headers_all("Link"))
        expect("http://iiif.io/api/presentation/2/context.json" in link and "json-ld#context" in link,
               "2.1 Link header %r" % link)
        r2ld = srv.get("/iiif/2/%s/manifest" % item, headers={"Accept": "application/ld+json"})
        expect(ct_norm(r2ld.header("Content-Type")) == ct_norm(CT2_LD),
               "2.1 with Accept ld+json: Content-Type %r" % r2ld.header("Content-Type"))
        for r, w in ((r3, "3.0"), (r2, "2.1")):
            expect("accept" in (r.header("Vary") or "").lower(), "%s: Vary %r lacks Accept" % (w, r.header("Vary")))
        c = srv.get("/iiif/3/collection/top")
        expect(ct_norm(c.header("Content-Type")) == ct_norm(CT3), "collection Content-Type %r" % c.header("Content-Type"))

    @test(tag + "/iiif/3/{item} is a 303 to its manifest; unversioned URLs answer the default version (3.0)",
          server=None)
    def _(ctx, srv_unused):
        srv = server(ctx, "clean", setup)
        base = base_of(srv)
        item = pt.pct("letters/1871-04-02")
        r = srv.get("/iiif/3/%s" % item)
        expect_status(r, 303, "GET /iiif/3/" + item)
        loc = r.header("Location") or ""
        expect(loc in (manifest_url(base, 3, item), "/iiif/3/%s/manifest" % item), "Location %r" % loc)
        for path in ("/iiif/collection/top", "/iiif/%s/manifest" % item):
            doc, _ = get_json(ctx, srv, path)
            expect(doc.get("@context") == pc.CONTEXT3, "%s: @context %r, the default version is 3" % (path, doc.get("@context")))
            expect(not pc.check_v3(doc), "%s: %s" % (path, pc.format_problems(pc.check_v3(doc))))
        r = srv.get("/iiif/3/nothing-here/manifest")
        expect_status(r, 404, "a manifest of nothing")
        no_server_path(ctx, r, "a manifest of nothing")

    @test(tag + "CORS on collections, manifests, errors and media (Access-Control-Allow-Origin)", server=None)
    def _(ctx, srv_unused):
        t = tree(ctx, "clean")
        srv = server(ctx, "clean", setup)
        base = base_of(srv)
        paths = ["/iiif/3/collection/top", "/iiif/3/%s/manifest" % pt.pct("recordings/interview"),
                 "/iiif/2/%s/manifest" % pt.pct("recordings/interview"), "/iiif/3/nothing-here/manifest",
                 local_path(srv, t.res(base, "recordings/interview/side-a.ogg")), "/iiif/top/res/nothing.mp3"]
        for p in paths:
            r = srv.get(p, headers={"Origin": "https://viewer.example"})
            expect(r.header("Access-Control-Allow-Origin") in ("*", "https://viewer.example"),
                   "%s (%d): Access-Control-Allow-Origin %r" % (p, r.status, r.header("Access-Control-Allow-Origin")))

    @test(tag + "manifests carry ETag and Last-Modified, answer 304 to If-None-Match / If-Modified-Since, "
          "and HEAD like GET",
          server=None)
    def _(ctx, srv_unused):
        srv = server(ctx, "clean", setup)
        for path in ("/iiif/3/%s/manifest" % pt.pct("letters/1871-04-02"), "/iiif/2/%s/manifest" % pt.pct("single"),
                     "/iiif/3/collection/top"):
            r = srv.get(path)
            expect_status(r, 200, path)
            et, lm = r.header("ETag"), r.header("Last-Modified")
            expect(et, "%s: no ETag" % path)
            expect(lm, "%s: no Last-Modified" % path)
            r2 = srv.get(path, headers={"If-None-Match": et})
            expect_status(r2, 304, "%s with If-None-Match %s" % (path, et))
            expect(not r2.body, "%s: a 304 with a body" % path)
            r3 = srv.get(path, headers={"If-Modified-Since": lm})
            expect_status(r3, 304, "%s with If-Modified-Since %s" % (path, lm))
            r4 = srv.get(path, headers={"If-None-Match": '"not-this-one"'})
            expect_status(r4, 200, "%s with another ETag" % path)
            expect(r4.body == r.body, "%s: the body changed between two requests" % path)
            # 3.0 §6: HEAD is recommended; it must agree with GET
            h = srv.get(path, method="HEAD")
            expect_status(h, 200, "HEAD " + path)
            expect(not h.body and h.header("ETag") == et, "HEAD %s: body %d bytes, ETag %r (GET %r)" % (
                path, len(h.body), h.header("ETag"), et))

    @test(tag + "gzip when asked: Content-Encoding gzip and the body decompresses to the same JSON", server=None)
    def _(ctx, srv_unused):
        srv = server(ctx, "clean", setup)
        for path in ("/iiif/3/%s/manifest" % pt.pct("letters/1871-04-02"), "/iiif/2/%s/manifest" % pt.pct("letters/1871-04-02"),
                     "/iiif/3/collection/top"):
            plain = srv.get(path)
            expect_status(plain, 200, path)
            expect((plain.header("Content-Encoding") or "identity") == "identity",
                   "%s: gzip without Accept-Encoding" % path)
            z = srv.get(path, headers={"Accept-Encoding": "gzip"})
            expect_status(z, 200, path + " with Accept-Encoding: gzip")
            expect((z.header("Content-Encoding") or "").lower() == "gzip",
                   "%s: Content-Encoding %r when gzip was asked" % (path, z.header("Content-Encoding")))
            try:
                body = gzip.decompress(z.body)
            except Exception as e:
                raise AssertionError("%s: the gzip body does not decompress: %s" % (path, e))
            expect(json.loads(body) == json.loads(plain.body), "%s: gzip body is not the same JSON" % path)
            expect("accept-encoding" in (z.header("Vary") or "").lower(), "%s: Vary %r lacks Accept-Encoding"
                   % (path, z.header("Vary")))

    @test(tag + "media res URLs: exact Content-Type, Accept-Ranges, HEAD length, Range 206/416, suffix, "
          "If-Range, ETag 304, CORS", server=None)
    def _(ctx, srv_unused):
        t = tree(ctx, "clean")
        srv = server(ctx, "clean", setup)
        base = base_of(srv)
        cases = [("recordings/interview/side-a.ogg", "audio/ogg"), ("recordings/clip/clip.mp4", "video/mp4"),
                 ("recordings/clip/clip.webm", "video/webm"), ("loose.mp3", "audio/mpeg"),
                 ("letters/1871-04-02/letter.pdf", "application/pdf"), ("models/vase/vase.glb", "model/gltf-binary"),
                 ("recordings/clip/clip.vtt", "text/vtt")]
        for rel, mime in cases:
            with open(os.path.join(t.root, rel), "rb") as f:
                data = f.read()
            n = len(data)
            path = local_path(srv, t.res(base, rel))
            r = srv.get(path, headers={"Origin": "https://viewer.example"})
            expect_status(r, 200, "GET " + path)
            expect(r.media_type == mime, "%s: Content-Type %r, expected %s" % (path, r.header("Content-Type"), mime))
            expect(r.body == data, "%s: %d bytes, not the file's %d" % (path, len(r.body), n))
            expect((r.header("Accept-Ranges") or "").lower() == "bytes", "%s: Accept-Ranges %r" % (path, r.header("Accept-Ranges")))
            expect(r.header("Access-Control-Allow-Origin") in ("*", "https://viewer.example"), "%s: no CORS" % path)
            h = srv.get(path, method="HEAD")
            expect_status(h, 200, "HEAD " + path)
            expect(h.header("Content-Length") == str(n), "HEAD %s: Content-Length %r, the file has %d" % (
                path, h.header("Content-Length"), n))
            expect(not h.body, "HEAD %s: a body" % path)
            a = srv.get(path, headers={"Range": "bytes=0-"})
            expect_status(a, 206, path + " Range bytes=0-")
            expect(a.header("Content-Range") == "bytes 0-%d/%d" % (n - 1, n), "%s: Content-Range %r" % (path, a.header("Content-Range")))
            expect(a.body == data, "%s bytes=0-: not the whole file" % path)
            b = srv.get(path, headers={"Range": "bytes=10-19"})
            expect_status(b, 206, path + " Range bytes=10-19")
            expect(b.body == data[10:20] and b.header("Content-Range") == "bytes 10-19/%d" % n,
                   "%s bytes=10-19: %r %r" % (path, b.header("Content-Range"), b.body[:20]))
            s = srv.get(path, headers={"Range": "bytes=-7"})
            expect_status(s, 206, path + " Range bytes=-7")
            expect(s.body == data[-7:], "%s bytes=-7: not the last 7 bytes" % path)
            u = srv.get(path, headers={"Range": "bytes=%d-" % (n + 10)})
            expect_status(u, 416, path + " an unsatisfiable Range")
            expect(u.header("Content-Range") == "bytes */%d" % n, "%s 416: Content-Range %r" % (path, u.header("Content-Range")))
            et = r.header("ETag")
            expect(et, "%s: no ETag" % path)
            c = srv.get(path, headers={"If-None-Match": et})
            expect_status(c, 304, path + " If-None-Match")
            ir = srv.get(path, headers={"Range": "bytes=0-3", "If-Range": et})
            expect_status(ir, 206, path + " If-Range with the current ETag")
            ir2 = srv.get(path, headers={"Range": "bytes=0-3", "If-Range": '"stale"'})
            expect_status(ir2, 200, path + " If-Range with a stale ETag")
            expect(ir2.body == data, "%s: If-Range stale did not give the whole file" % path)
        r = srv.get("/iiif/top/res/not-there.mp3")
        expect_status(r, 404, "a res file that does not exist")
        r = srv.get("/iiif/top/res/iiif.json")
        expect_status(r, (403, 404), "the root sidecar through res (not a published media file)")

    @test(tag + "a change on disk shows in the next answer: a file rewritten in place, a page added, "
          "a sidecar edited", server=None)
    def _(ctx, srv_unused):
        root = tree(ctx, "mutable")
        srv = server(ctx, "mutable", setup)
        path = "/iiif/3/m/manifest"
        # both setups share the mutable tree: start from the same state
        _reset_mutable(root)
        m1, r1 = get_json(ctx, srv, path)
        expect(len(m1.get("items", [])) == 2, "before: %d canvases" % len(m1.get("items", [])))
        expect(strings(m1.get("label")) == ["Before"], "before: label %r" % m1.get("label"))
        expect((m1["items"][0].get("width"), m1["items"][0].get("height")) == (300, 200),
               "before: p1 %sx%s" % (m1["items"][0].get("width"), m1["items"][0].get("height")))
        # rewrite p1.jpg in place (same inode, the folder's mtime unchanged) at another size
        p1 = os.path.join(root, "m", "p1.jpg")
        tmp = p1 + ".new"
        pt.save_pattern(tmp, 360, 240)
        with open(tmp, "rb") as f:
            data = f.read()
        os.unlink(tmp)
        st_dir = os.stat(os.path.join(root, "m"))
        with open(p1, "r+b") as f:
            f.write(data)
            f.truncate()
        os.utime(os.path.join(root, "m"), ns=(st_dir.st_atime_ns, st_dir.st_mtime_ns))
        st = os.stat(p1)
        os.utime(p1, ns=(st.st_atime_ns, st.st_mtime_ns + 2 * 10 ** 9))
        m2, r2 = get_json(ctx, srv, path)
        expect((m2["items"][0].get("width"), m2["items"][0].get("height")) == (360, 240),
               "after rewriting p1.jpg in place at 360x240 the canvas is %sx%s" % (
                   m2["items"][0].get("width"), m2["items"][0].get("height")))
        expect(r2.header("ETag") != r1.header("ETag"), "the ETag did not change with the file")
        # add a page
        pt.save_pattern(os.path.join(root, "m", "p3.jpg"), 250, 250)
        m3, _ = get_json(ctx, srv, path)
        expect(len(m3.get("items", [])) == 3, "after adding p3.jpg: %d canvases" % len(m3.get("items", [])))
        # edit the sidecar
        with open(os.path.join(root, "m", "iiif.json"), "w") as f:
            json.dump({"label": "After"}, f)
        st = os.stat(os.path.join(root, "m", "iiif.json"))
        os.utime(os.path.join(root, "m", "iiif.json"), ns=(st.st_atime_ns, st.st_mtime_ns + 2 * 10 ** 9))
        m4, _ = get_json(ctx, srv, path)
        expect(strings(m4.get("label")) == ["After"], "after editing iiif.json: label %r" % m4.get("label"))
        probs = pc.check_v3(m4) + pc.deep_v3(m4, base_of(srv) + path, fetcher(ctx, srv), base_of(srv))
        expect(not probs, pc.format_problems(probs))
        _reset_mutable(root)

    @test(tag + "bad sidecars are a 500 naming the item and the field, never a silently invalid manifest",
          server=None)
    def _(ctx, srv_unused):
        h = tree(ctx, "hostile")
        srv = server(ctx, "hostile", setup)
        errs = []
        for item, field in sorted(h.sidecars.items()):
            for v in (3, 2):
                path = "/iiif/%d/%s/manifest" % (v, item)
                r = srv.get(path)
                no_server_path(ctx, r, path)
                body = r.body.decode("utf-8", errors="replace")
                if r.status != 500:
                    errs.append("%s: %d, expected 500 (%s)" % (path, r.status, short(r.body, 100)))
                    continue
                if item not in body:
                    errs.append("%s: the message does not name the item %r: %s" % (path, item, body[:200]))
                if field not in body:
                    errs.append("%s: the message does not name %r: %s" % (path, field, body[:200]))
                if r.header("Access-Control-Allow-Origin") is None:
                    errs.append("%s: an error without CORS" % path)
        expect(not errs, "; ".join(errs))
        expect(srv.daemon_alive(), "the daemon died")

    @test(tag + "paths out of the root are 404: a folder symlink, file symlinks, traversal in res URLs",
          server=None)
    def _(ctx, srv_unused):
        h = tree(ctx, "hostile")
        srv = server(ctx, "hostile", setup)
        errs = []
        paths = ["/iiif/3/%s/manifest" % i for i in h.outside] + ["/iiif/2/%s/manifest" % i for i in h.outside] \
            + ["/iiif/3/collection/escape"] + h.outside_res
        for path in paths:
            r = srv.get(path)
            no_server_path(ctx, r, path)
            if r.status not in (400, 403, 404):
                errs.append("%s: %d (%s)" % (path, r.status, short(r.body, 80)))
            elif r.status != 404 and "/res/" not in path:
                errs.append("%s: %d, expected 404" % (path, r.status))
        r = srv.get("/iiif/3/%s/manifest" % pt.pct("links/inside.jpg"))
        if r.status != 200:
            errs.append("the file beside the symlinks, links/inside.jpg: %d" % r.status)
        expect(not errs, "; ".join(errs))

    @test(tag + "the 100,000-entry folder is answered within the request timeout, then the daemon still serves",
          server=None)
    def _(ctx, srv_unused):
        h = tree(ctx, "hostile")
        srv = server(ctx, "hostile", setup, own="big")
        for path in ("/iiif/3/%s/manifest" % h.big, "/iiif/3/collection/top"):
            t0 = time.monotonic()
            try:
                r = srv.get(path, timeout=harness.REQUEST_TIMEOUT)
            except Exception as e:
                raise AssertionError("%s: no answer within %.0f s (%s)" % (path, harness.REQUEST_TIMEOUT, e))
            dt = time.monotonic() - t0
            no_server_path(ctx, r, path)
            expect(r.status == 200 or 400 <= r.status < 600, "%s: status %d" % (path, r.status))
            if r.status == 200 and path.endswith("/manifest"):
                m = json.loads(r.body)
                expect(len(m.get("items", [])) == pt.BIG_ENTRIES or "truncated" in r.body.decode(errors="replace"),
                       "%s: 200 with %d canvases, the folder has %d images" % (path, len(m.get("items", [])), pt.BIG_ENTRIES))
            expect(dt < harness.REQUEST_TIMEOUT, "%s took %.1f s" % (path, dt))
        r = srv.get("/iiif/3/%s/manifest" % pt.pct("links/inside.jpg"))
        expect_status(r, 200, "a small manifest after the big folder")

    @test(tag + "truncated and lying media: an error naming the item, or a valid manifest with the file's "
          "real duration; never a 10^18 s canvas", server=None)
    def _(ctx, srv_unused):
        h = tree(ctx, "hostile")
        srv = server(ctx, "hostile", setup)
        errs = []
        for item, why in sorted(h.media.items()):
            path = "/iiif/3/%s/manifest" % item
            t0 = time.monotonic()
            r = srv.get(path)
            dt = time.monotonic() - t0
            no_server_path(ctx, r, path)
            if dt > 5:
                errs.append("%s (%s): %.1f s" % (path, why, dt))
            if r.status == 200:
                m = json.loads(r.body)
                probs = pc.check_v3(m)
                if probs:
                    errs.append("%s (%s): 200 but %s" % (path, why, pc.format_problems(probs)))
                for c in m.get("items", []):
                    d = c.get("duration")
                    if isinstance(d, (int, float)) and d > 1e8:
                        errs.append("%s (%s): a canvas of %g s" % (path, why, d))
                if item == "liar":
                    errs.append("%s: the lying WebM was published (200), presentation.md says it is an error" % path)
                deep = pc.deep_v3(m, base_of(srv) + path, fetcher(ctx, srv), base_of(srv))
                errs += ["%s (%s): %s" % (path, why, p) for p in deep]
            elif 400 <= r.status < 600:
                if item not in r.body.decode("utf-8", errors="replace"):
                    errs.append("%s (%s): %d without naming the item: %s" % (path, why, r.status, short(r.body, 120)))
            else:
                errs.append("%s (%s): status %d" % (path, why, r.status))
        expect(not errs, "; ".join(errs))
        expect(srv.daemon_alive(), "the daemon died on hostile media")
        r = srv.get("/iiif/3/%s/manifest" % pt.pct("links/inside.jpg"))
        expect_status(r, 200, "a plain manifest after the hostile media")

    @test(tag + "byte-stable output: a manifest fetched twice is the same bytes", server=None)
    def _(ctx, srv_unused):
        srv = server(ctx, "clean", setup)
        for path in ("/iiif/3/%s/manifest" % pt.pct("letters/1871-04-02"), "/iiif/2/%s/manifest" % pt.pct("letters/1871-04-02"),
                     "/iiif/3/collection/top"):
            a = srv.get(path)
            b = srv.get(path)
            expect_status(a, 200, path)
            expect(a.body == b.body, "%s: two answers differ" % path)


@test("presentation tree: the clean tree is built with the facts it promises (no daemon)", server=None)
def _(ctx, srv_unused):
    import csv
    import struct
    from PIL import Image
    t = tree(ctx, "clean")
    errs = []
    for item, exp in sorted(t.manifests.items()):
        expect(exp.canvases, "%s: no canvases expected" % item)
        for c in exp.canvases:
            f = os.path.join(t.root, c.file)
            if not os.path.isfile(f):
                errs.append("%s: %s is missing" % (item, c.file))
                continue
            if c.kind == "Image":
                with Image.open(f) as im:
                    w, h = im.size
                    o = im.getexif().get(0x0112, 1)
                disp = (h, w) if o in (5, 6, 7, 8) else (w, h)
                if disp != (c.width, c.height):
                    errs.append("%s: displayed %r, expected %r" % (c.file, disp, (c.width, c.height)))
            if c.kind in ("Sound", "Video") and not (c.duration and c.duration > 0.5):
                errs.append("%s: duration %r" % (c.file, c.duration))
            if c.kind == "Video" and not (c.width and c.height):
                errs.append("%s: no video size" % c.file)
    # the EXIF-6 page is stored on its side
    with Image.open(os.path.join(t.root, "letters/1871-04-02/p2.jpg")) as im:
        expect(im.getexif().get(0x0112) == 6 and im.size == (450, 300), "p2.jpg: EXIF %r, stored %r" % (
            im.getexif().get(0x0112), im.size))
    # the GLB parses: header, JSON chunk, BIN chunk, total length
    with open(os.path.join(t.root, "models/vase/vase.glb"), "rb") as f:
        glb = f.read()
    magic, ver, total = struct.unpack("<4sII", glb[:12])
    jlen, jtype = struct.unpack("<I4s", glb[12:20])
    expect(magic == b"glTF" and ver == 2 and total == len(glb) and jtype == b"JSON" and jlen % 4 == 0,
           "vase.glb header %r %r %r %r" % (magic, ver, total, jtype))
    expect(json.loads(glb[20:20 + jlen])["asset"]["version"] == "2.0", "vase.glb JSON chunk")
    for pdf in ("documents/report/report.pdf", "letters/1871-04-02/letter.pdf"):
        with open(os.path.join(t.root, pdf), "rb") as f:
            data = f.read()
        xref = int(data.rsplit(b"startxref", 1)[1].split()[0])
        expect(data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF") and data[xref:xref + 4] == b"xref",
               "%s is not a well-formed PDF" % pdf)
    with open(os.path.join(t.root, "letters", "metadata.csv"), encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    row = [r for r in rows if r["folder"] == "1871-05-01"][0]
    expect(row["label"] == "Letter of 1 May 1871, unsent" and row["Subject"].split("|") == ["letters", "family"]
           and row["Note"] == 'Ink, on paper; "draft"' and row["Title@fr"] == "Lettre du 1er mai 1871",
           "metadata.csv row %r" % row)
    for rel in ("golden/g1.png", "golden/g2.png"):
        with Image.open(os.path.join(t.root, rel)) as im:
            im.load()
    for fid, ce in t.collections.items():
        for kind, ident in ce.members:
            expect(ident in t.manifests or ident in t.collections, "%s lists %s, which the tree does not describe" % (fid, ident))
    expect(not errs, "; ".join(errs))


@test("presentation tree: the hostile tree is built as described (no daemon)", server=None)
def _(ctx, srv_unused):
    import struct
    h = tree(ctx, "hostile")
    expect(len(os.listdir(os.path.join(h.root, h.big))) == pt.BIG_ENTRIES, "the big folder does not hold %d entries" % pt.BIG_ENTRIES)
    for name in ("escape", "links/out.jpg", "links/out.mp3"):
        real = os.path.realpath(os.path.join(h.root, name))
        expect(not real.startswith(os.path.realpath(h.root) + "/"), "%s does not lead out of the root" % name)
    with open(os.path.join(h.root, "bad-utf8", "iiif.json"), "rb") as f:
        raw = f.read()
    try:
        raw.decode("utf-8")
        raise AssertionError("bad-utf8/iiif.json is valid UTF-8")
    except UnicodeDecodeError:
        pass
    try:
        with open(os.path.join(h.root, "bad-json", "iiif.json")) as f:
            json.load(f)
        raise AssertionError("bad-json/iiif.json parses")
    except ValueError:
        pass
    with open(os.path.join(h.root, "liar", "media.webm"), "rb") as f:
        data = f.read()
    i = data.find(b"\x44\x89")
    val = struct.unpack(">d", data[i + 3:i + 11])[0] if data[i + 2] == 0x88 else struct.unpack(">f", data[i + 3:i + 7])[0]
    expect(abs(val / 1000.0 - 1e18) < 1e12, "the liar claims %g s" % (val / 1000.0))
    for name in ("trunc-mp4/media.mp4", "trunc-webm/media.webm", "trunc-ogg/media.ogg"):
        full = os.path.join(h.root, "..", "work", "full." + name.rsplit(".", 1)[1])
        expect(os.path.getsize(os.path.join(h.root, name)) < os.path.getsize(full), "%s is not truncated" % name)


def _reset_mutable(root):
    m = os.path.join(root, "m")
    for f in os.listdir(m):
        os.unlink(os.path.join(m, f))
    pt.save_pattern(os.path.join(m, "p1.jpg"), 300, 200)
    pt.save_pattern(os.path.join(m, "p2.jpg"), 200, 300)
    with open(os.path.join(m, "iiif.json"), "w") as f:
        json.dump({"label": "Before"}, f)
    # a later second: a fingerprint made of mtimes sees the reset
    for f in os.listdir(m):
        st = os.stat(os.path.join(m, f))
        os.utime(os.path.join(m, f), ns=(st.st_atime_ns, st.st_mtime_ns + 4 * 10 ** 9))


for _s in SETUPS:
    register(_s)


@test("presentation: nginx and embedded give the same manifest bytes once the base URL is replaced", server=None)
def _(ctx, srv_unused):
    a = server(ctx, "clean", "nginx")
    b = server(ctx, "clean", "embedded")
    for path in ("/iiif/3/%s/manifest" % pt.pct("letters/1871-04-02"), "/iiif/3/%s/manifest" % pt.pct("recordings/clip"),
                 "/iiif/2/golden/manifest", "/iiif/3/collection/top"):
        ra, rb = a.get(path), b.get(path)
        expect_status(ra, 200, "nginx " + path)
        expect_status(rb, 200, "embedded " + path)
        ta = ra.body.replace(base_of(a).encode(), b"{base}")
        tb = rb.body.replace(base_of(b).encode(), b"{base}")
        expect(ta == tb, "%s: the two setups differ" % path)


@test("presentation: the golden item's 3.0 manifest equals tests/http/golden/golden-manifest-3.json "
      "(base URL replaced)", server=None)
def _(ctx, srv_unused):
    tree(ctx, "clean")
    srv = server(ctx, "clean", "embedded")
    r = srv.get("/iiif/3/golden/manifest")
    expect_status(r, 200, "GET /iiif/3/golden/manifest")
    got = r.body.replace(base_of(srv).encode(), b"{base}")
    # meaningful only when every id went through the base: no port of
    # this run may be left, and the ids must be there to compare
    expect(b"127.0.0.1" not in got and got.count(b'"{base}/iiif/3/golden/manifest"') == 1,
           "the golden manifest's ids are not all under the base URL: %s" % short(got, 200))
    probs = pc.check_v3(json.loads(r.body))
    expect(not probs, "the golden manifest breaks the spec, it cannot be the reference: " + pc.format_problems(probs))
    if os.environ.get("TESSERA_WRITE_GOLDEN") == "1":
        os.makedirs(os.path.dirname(GOLDEN), exist_ok=True)
        with open(GOLDEN, "wb") as f:
            f.write(got)
    expect(os.path.exists(GOLDEN), "%s does not exist yet: once the manifest is right, write it with "
           "TESSERA_WRITE_GOLDEN=1 /usr/bin/python3 tests/http/run.py -k golden, review it, commit it" % GOLDEN)
    with open(GOLDEN, "rb") as f:
        want = f.read()
    expect(b"127.0.0.1" not in want, "%s holds a run's base URL, not {base}" % GOLDEN)
    if got != want:
        i = next((k for k in range(min(len(got), len(want))) if got[k] != want[k]), min(len(got), len(want)))
        raise AssertionError("the golden manifest differs at byte %d: got %r, golden %r" % (
            i, got[max(0, i - 40):i + 40], want[max(0, i - 40):i + 40]))


def _root_thumbnails(ctx, srv):
    """Every thumbnail in collection/top of the suite's image root (3.0 and
    2.1): none may be a size the server refuses for its limits (the hostile
    huge.tif, 100000x100000 in strips, once had a 5000x5000 one answered
    403), and each that answers has the pixel size it claims.  Some of the
    root's files are corrupt on purpose (a 500 is theirs, not the size's)."""
    errs = []
    for v in (3, 2):
        doc, _ = get_json(ctx, srv, "/iiif/%d/collection/top" % v)
        if v == 3:
            members = doc.get("items", [])
            thumbs = [(m.get("id"), t.get("id"), t) for m in members for t in m.get("thumbnail", [])]
        else:
            members = [m for k in ("members", "collections", "manifests") for m in doc.get(k, [])]
            thumbs = []
            for m in members:
                th = m.get("thumbnail")
                for t in th if isinstance(th, list) else [th] if isinstance(th, dict) else []:
                    thumbs.append((m.get("@id"), t.get("@id"), t))
        for member, u, t in thumbs:
            r = srv.get(local_path(srv, u))
            if r.status == 403:
                errs.append("%d: %s: thumbnail %s is refused (403)" % (v, member, u))
            elif r.status == 200:
                try:
                    got = _image_size(r.body)
                except Exception as e:
                    errs.append("%d: %s: thumbnail %s does not decode (%s)" % (v, member, u, e))
                    continue
                if (t.get("width"), t.get("height")) != got:
                    errs.append("%d: %s: thumbnail says %sx%s, is %dx%d" % (
                        v, member, t.get("width"), t.get("height"), got[0], got[1]))
    return errs


def _image_size(data):
    import io
    from PIL import Image
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return im.size


for _cfg in ("nginx", "budget"):
    @test("presentation: every thumbnail of the image root's collection/top is a size the server makes "
          "(none refused by its limits, each the size it claims)%s" % (
              " under max_decode_pixels 100000" if _cfg == "budget" else ""), server=_cfg)
    def _(ctx, srv):
        errs = _root_thumbnails(ctx, srv)
        expect(not errs, "%d problems: %s" % (len(errs), "; ".join(errs[:12])))
