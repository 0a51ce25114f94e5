"""test_browser.py - the daemon's own viewer page in a real browser.

Starts the daemon behind nginx with the viewer directory, then runs
tests/browser/osd.mjs (playwright-core driving Debian's headless
/usr/bin/chromium) once.  For each tile source the viewer page offers
(IIIF 3 and IIIF 2 info.json, DeepZoom .dzi, Zoomify ImageProperties.xml)
the script opens /?id=pattern&proto=SOURCE, waits until OpenSeadragon has
fully loaded the home view, then zooms to 1:1 at the bottom-right corner
and waits again; after each step it checks every tile response (200, an
image type, CORS, decoded size equal to what the protocol's rules promise
for that URL), that no request failed, and the colours OpenSeadragon drew
at block centres against the pattern.

The one idea: one browser run serves many tests.  The run happens the
first time one of these tests executes; its JSON results are kept, and
each (source, step) pair is reported as its own test, so a failure names
the protocol and the moment.  Without chromium, node or the npm packages
the tests are skipped with the reason, never failed.

The second half runs Mirador 4 and the Universal Viewer 4.4 on published
IIIF (tests/browser/viewers.py: mirador.mjs, uv.mjs) against a daemon of
its own, on a root holding tools/sample-collection.py's samples/ tree and
one loose image, and reports each group of the scripts' ok/FAIL lines as
one test.  Its Presentation files come from the daemon's own routes;
TESSERA_VIEWER_ROUTES=fixture serves tests/browser/fixture.py's hand-made
files instead (to try the viewers against a daemon without the routes), and
each test's detail says which was used.
"""

import json
import os
import shutil
import signal
import subprocess
import time

import sys

import common
import harness
from common import test, expect, Skip

REPO = harness.REPO
BROWSER_DIR = os.path.join(REPO, "tests", "browser")
SCRIPT = os.path.join(BROWSER_DIR, "osd.mjs")
CHROMIUM = os.environ.get("TESSERA_CHROMIUM", "/usr/bin/chromium")
NODE = shutil.which("node") or "/usr/bin/node"
RUN_TIMEOUT_S = 150

SOURCES = (("iiif3", "IIIF 3 info.json"), ("iiif2", "IIIF 2 info.json"),
           ("deepzoom", "DeepZoom .dzi"), ("zoomify", "Zoomify ImageProperties.xml"))
STEPS = (
    ("home", "the viewer opens it and loads every home-view tile with 200, CORS and no failed request"),
    ("home-sizes", "home-view tiles have exactly the size the protocol promises for their URL"),
    ("home-colours", "the home-view canvas shows the pattern's colours at block centres"),
    ("zoomed", "zoomed to 1:1 at the bottom-right corner, every new tile (full-resolution edge tiles "
               "included) is 200 with the promised size"),
    ("zoomed-colours", "the zoomed canvas shows the pattern's colours at block centres"),
)

common.SERVER_CONFIGS.setdefault("browser", ("nginx", ["--viewer", "on", "--viewer-dir", os.path.join(REPO, "viewer")]))

_run = {}   # the one browser run: {"results": {...}} or {"skip": reason} or {"error": reason}


def _unavailable():
    if not os.access(CHROMIUM, os.X_OK):
        return "%s is not installed (apt-get install chromium)" % CHROMIUM
    if not os.access(NODE, os.X_OK):
        return "node is not installed"
    if not os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")):
        return "playwright-core is not installed (npm ci --prefix tests/browser)"
    if not os.path.isdir(os.path.join(REPO, "viewer", "node_modules", "openseadragon")):
        return "OpenSeadragon is not installed (npm ci --prefix viewer)"
    return None


def _kill_leftovers(marker):
    """Chromium starts its own process group; end any of its processes
    (found by our private user-data-dir on their command line) by id."""
    for pid, _ in harness.processes_mentioning(marker):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _browser_run(ctx, srv):
    why = _unavailable()
    if why:
        return {"skip": why}
    d = os.path.join(ctx.tmp, "browser")
    os.makedirs(d, exist_ok=True)
    udd = os.path.join(d, "chromium-profile")
    pat = ctx.variants["jpeg"].pattern
    cfg = {
        "base": "http://127.0.0.1:%d" % srv.port,
        "id": ctx.variants["jpeg"].ident,
        "width": pat.width, "height": pat.height, "block": 100,
        "sources": [s for s, _ in SOURCES],
        "dzTileSize": 256, "dzOverlap": 1, "zoomifyTileSize": 256,
        "userDataDir": udd, "chromium": CHROMIUM,
        "timeoutMs": 25000, "hardTimeoutMs": (RUN_TIMEOUT_S - 10) * 1000,
        "tolerance": 40,
    }
    cfg_path = os.path.join(d, "config.json")
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    out = os.path.join(d, "osd-stdout.log")
    t0 = time.monotonic()
    p = harness._spawn("osd.mjs", [NODE, SCRIPT, cfg_path], out, cwd=BROWSER_DIR)
    try:
        p.wait(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pass
    finally:
        harness._stop(p)
        harness._started[:] = [(n, q) for (n, q) in harness._started if q is not p]
        _kill_leftovers(udd)
        shutil.rmtree(udd, ignore_errors=True)
    with open(out, "rb") as f:
        text = f.read().decode(errors="replace")
    lines = [l for l in text.splitlines() if l.startswith("{")]
    if not lines:
        return {"error": "osd.mjs printed no results in %.0f s (exit %s): %s" % (
            time.monotonic() - t0, p.returncode, text[-400:])}
    data = json.loads(lines[-1])
    res = {}
    for r in data.get("results", []):
        res[(r["source"], r["step"])] = r
    return {"results": res, "drawer": data.get("drawer"), "seconds": time.monotonic() - t0}


def _result(ctx, srv, source, step):
    if not _run:
        _run.update(_browser_run(ctx, srv))
    if "skip" in _run:
        raise Skip(_run["skip"])
    expect("error" not in _run, _run.get("error", ""))
    res = _run["results"]
    for (s, st), r in res.items():
        if s == "all" and not r["ok"]:
            raise AssertionError("%s: %s" % (st, r["detail"]))
    r = res.get((source, step))
    expect(r is not None, "no result for this step (the run for %s stopped earlier; see the first step)" % source)
    expect(r["ok"], "%s (drawer %s)" % (r["detail"], _run.get("drawer")))


def _register(source, label, step, text):
    @test("browser %s: %s" % (label, text), server="browser")
    def _(ctx, srv):
        _result(ctx, srv, source, step)


for _source, _label in SOURCES:
    for _step, _text in STEPS:
        _register(_source, _label, _step, _text)


# --------------------------------------------------------------------------
# The viewer directory as files: what /viewer/... answers (src/serve/viewer.c)

VIEWER_FILES = (
    # (path under viewer/, Content-Type's media type)
    ("mirador.html", "text/html"),
    ("viewer.js", "text/javascript"),
    ("viewer.css", "text/css"),
    ("node_modules/mirador/dist/mirador.min.js", "text/javascript"),
    ("node_modules/mirador/dist/mirador.min.js.map", "application/json"),
    ("node_modules/mirador/package.json", "application/json"),
    ("node_modules/openseadragon/build/openseadragon/images/home_rest.png", "image/png"),
)


@test("viewer files: pages, scripts, source maps, JSON and images under viewer/node_modules are served "
      "whole with their Content-Type", server="browser")
def _(ctx, srv):
    if not os.path.isfile(os.path.join(REPO, "viewer", "node_modules", "mirador", "dist", "mirador.min.js")):
        raise Skip("Mirador is not installed (npm ci --prefix viewer)")
    for rel, mt in VIEWER_FILES:
        r = srv.get("/viewer/" + rel)
        expect(r.status == 200, "GET /viewer/%s: %d" % (rel, r.status))
        expect(r.media_type == mt, "GET /viewer/%s: Content-Type %r, expected %s" % (
            rel, r.header("Content-Type"), mt))
        with open(os.path.join(REPO, "viewer", rel), "rb") as f:
            expect(r.body == f.read(), "GET /viewer/%s: the body differs from the file" % rel)
    r = srv.get("/viewer/mirador.html?manifest=http%3A%2F%2Fexample.org%2Fm")
    expect(r.status == 200 and r.media_type == "text/html", "a query string after mirador.html: %d %s" % (
        r.status, r.media_type))


@test("viewer files: '..', hidden segments (node_modules/.bin, .package-lock.json), empty segments and "
      "directories are 404, encoded or not", server="browser")
def _(ctx, srv):
    for path in ("/viewer/../README.md", "/viewer/%2e%2e/README.md", "/viewer/node_modules/%2E%2E/package.json",
                 "/viewer/node_modules/.package-lock.json", "/viewer/node_modules/%2epackage-lock.json",
                 "/viewer/node_modules/.bin/", "/viewer//index.html", "/viewer/node_modules//mirador/package.json",
                 "/viewer/node_modules/mirador", "/viewer/node_modules/mirador/", "/viewer/",
                 "/viewer/%2Fetc%2Fpasswd", "/viewer/index.html%00.js"):
        r = srv.get(path)
        # (nginx itself may answer 400 for an encoded NUL)
        expect(r.status == 404 or (r.status == 400 and "%00" in path),
               "GET %s: %d, expected 404" % (path, r.status))
        expect(b"root" not in r.body and REPO.encode() not in r.body, "GET %s: the body names a path" % path)


# --------------------------------------------------------------------------
# Mirador 4 and the Universal Viewer 4.4 on IIIF Presentation (viewers.py)

sys.path.insert(0, BROWSER_DIR)
import viewers  # noqa: E402

VIEWER_GROUPS = (
    ("demo page", "the page at / browses the collection (members, nested collection, thumbnails, "
                  "Mirador links) and says plainly when the Presentation routes are missing"),
    ("mirador collection", "Mirador lists the top Collection, a member is picked down the nested Collection"),
    ("mirador image", "Mirador paints the picked image Manifest (page colours on screen, tiles 200)"),
    ("mirador sound", "Mirador plays the sound canvas (metadata, the manifest's duration within 0.1 s, 206)"),
    ("mirador video", "Mirador plays the video canvas (duration, frame size, 206)"),
    ("uv collection", "UV lists the nested Collection's members in its index"),
    ("uv image", "UV paints the image Manifest"),
    ("uv sound", "UV plays the sound canvas with the manifest's duration"),
    ("uv pdf", "UV renders the PDF canvas with PDF.js from pdfjs-dist"),
    ("uv model", "UV shows the GLB model canvas"),
)

_viewers = {}   # {"results": [(name, ok, detail)], "mode": ...} or {"skip": why} or {"error": why}


def _viewers_run(ctx):
    why = viewers.unavailable()
    if why:
        return {"skip": why}
    root = os.path.join(ctx.tmp, "viewers-root")
    viewers.make_root(root)
    srv = harness.start_embedded(ctx.tmp, "viewers", root, ["--viewer-dir", os.path.join(REPO, "viewer")])
    try:
        # The daemon's own routes: a broken route must fail these tests, not
        # send them quietly to the hand-made files (TESSERA_VIEWER_ROUTES=fixture
        # asks for those, to check the viewers against a daemon without them).
        mode = os.environ.get("TESSERA_VIEWER_ROUTES", "real")
        results = viewers.run_viewer_tests("http://127.0.0.1:%d" % srv.port, root, ctx.tmp,
                                           real_routes=(mode == "real"))
        return {"results": results, "mode": mode}
    finally:
        srv.stop()


def _viewer_group(ctx, group):
    if not _viewers:
        try:
            _viewers.update(_viewers_run(ctx))
        except Exception as e:  # a setup failure fails every group with its reason
            _viewers["error"] = "%s: %s" % (type(e).__name__, e)
    if "skip" in _viewers:
        raise Skip(_viewers["skip"])
    expect("error" not in _viewers, _viewers.get("error", ""))
    res = _viewers["results"]
    skipped = [d for n, ok, d in res if ok is None]
    if skipped:
        raise Skip(skipped[0])
    mine = [(n, ok, d) for n, ok, d in res if n == group or n.startswith(group + ":") or n.startswith(group + " ")]
    if not mine:
        broken = [n + ": " + d for n, ok, d in res if not ok]
        raise AssertionError("no result for %s (%s routes)%s" % (
            group, _viewers["mode"], "; " + "; ".join(broken[:2]) if broken else ""))
    bad = [n + " -- " + d for n, ok, d in mine if not ok]
    expect(not bad, "(%s routes) %s" % (_viewers["mode"], "; ".join(bad[:3])))


def _register_group(group, text):
    @test("viewers %s: %s" % (group, text), server="embedded")
    def _(ctx, srv):
        _viewer_group(ctx, group)


for _group, _text in VIEWER_GROUPS:
    _register_group(_group, _text)


@test("viewers' static server: byte ranges as the media route gives them (206 + Content-Range, suffix, "
      "416, HEAD, whole file for an unparsed Range), CORS, and paths confined to the root", server="embedded")
def _(ctx, srv):
    import static_server
    root = os.path.join(ctx.tmp, "static-root")
    os.makedirs(os.path.join(root, "a b"), exist_ok=True)
    data = bytes(range(256)) * 40
    with open(os.path.join(root, "a b", "x.mp3"), "wb") as f:
        f.write(data)
    s = static_server.StaticServer(json_dir=None, media_root=root)
    s.start()
    port = int(s.base.rsplit(":", 1)[1])
    try:
        url = "/iiif/a%20b/res/x.mp3"
        for rng, code, body, cr in (("bytes=0-", 206, data, "bytes 0-10239/10240"),
                                    ("bytes=100-199", 206, data[100:200], "bytes 100-199/10240"),
                                    ("bytes=-10", 206, data[-10:], "bytes 10230-10239/10240"),
                                    ("bytes=10000-99999", 206, data[10000:], "bytes 10000-10239/10240"),
                                    ("bytes=10240-", 416, b"", "bytes */10240"),
                                    ("bytes=1-2,5-6", 200, data, None)):
            r = harness.request(port, url, headers={"Range": rng})
            expect(r.status == code, "Range %s: %d, expected %d" % (rng, r.status, code))
            expect(r.body == body, "Range %s: %d body bytes, expected %d" % (rng, len(r.body), len(body)))
            expect(r.header("Content-Range") == cr, "Range %s: Content-Range %r" % (rng, r.header("Content-Range")))
            expect(r.header("Access-Control-Allow-Origin") == "*", "Range %s: no CORS" % rng)
        r = harness.request(port, url, method="HEAD")
        expect(r.status == 200 and r.header("Content-Length") == "10240" and r.header("Accept-Ranges") == "bytes"
               and r.media_type == "audio/mpeg", "HEAD: %d %r %r" % (r.status, r.header("Content-Length"), r.media_type))
        for bad in ("/iiif/..%2F..%2Fetc/res/passwd", "/iiif/a%20b/res/..%2Fx.mp3", "/iiif/top/res/%2Fetc%2Fpasswd",
                    "/iiif/a%20b/res/nope.mp3"):
            r = harness.request(port, bad)
            expect(r.status == 404, "GET %s: %d, expected 404" % (bad, r.status))
    finally:
        s.stop()
