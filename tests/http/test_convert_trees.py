"""test_convert_trees.py - `tessera convert` to static DeepZoom, Zoomify and
IIIF level-0 trees and to JPEG 2000, end to end.

Sources are made here (PNG, lossless, so every comparison is against the
exact source): 4097x2049 RGB (just over powers of two, where the pyramid
rules differ), 1x1, 257x1, 700x500 gray, 600x400 RGBA.  Each is converted
with ./tessera convert; the trees are served by a plain static nginx (no
Tessera behind it), and the same sources are served by the real daemon.

What is checked:
  * geometry identical to the daemon's: the .dzi and ImageProperties.xml
    byte for byte, IIIF "tiles" equal (tile 512, the daemon's tile for a
    flat source) and the daemon's "sizes" among ours; every tile file is a
    tile the daemon answers, with the same pixel size, and the tree has as
    many tiles as the protocol's grid (computed here from its rules);
  * pixels against the source (box-reduced with PIL to the tile's level)
    within JPEG tolerance at every level, and against the daemon's tile;
  * the JPEG 2000 opens in the daemon (its info.json, a rendering compared
    with the source) and in opj_decompress (lossless: exactly the source);
  * OpenSeadragon in headless Chromium opens every tree from the static
    server, loads it fully, and paints the source (tests/browser/trees.mjs);
  * the IIIF validator's checks that apply at level 0 (info.json, id_basic,
    id_squares, mirrored from test_validator.py) pass on a static tree of
    the validator's picture at /iiif/3/{id} and /iiif/2/{id}.
"""

import io
import json
import os
import random
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET

import numpy as np
from PIL import Image

import common
import harness
from common import test, expect, expect_status, Skip

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BROWSER_DIR = os.path.join(REPO, "tests", "browser")
OSD_JS = os.path.join(REPO, "viewer", "node_modules", "openseadragon", "build", "openseadragon",
                      "openseadragon.min.js")
CHROMIUM = os.environ.get("TESSERA_CHROMIUM", "/usr/bin/chromium")
NODE = shutil.which("node") or "/usr/bin/node"
OPJ_DECOMPRESS = shutil.which("opj_decompress") or "/usr/bin/opj_decompress"

SOURCES = {
    # name: (width, height, PIL mode)
    "big": (4097, 2049, "RGB"),
    "one": (1, 1, "RGB"),
    "line": (257, 1, "RGB"),
    "gray": (700, 500, "L"),
    "rgba": (600, 400, "RGBA"),
}
SMALL = ("one", "line", "gray", "rgba")
IIIF_TILE = 512
JPEG_TOL = 6.0        # mean absolute difference of a JPEG tile (q85) from its reference
SMALL_LEVEL = 32      # levels smaller than this (a side) are judged apart

_state = {}


# --------------------------------------------------------------------------
# the sources and the trees, made once

def source_array(w, h, mode):
    """Smooth gradients and waves: JPEG (4:2:0 chroma too) keeps them within
    a few levels, the browser's resampling of them stays close to ours, and
    a tile out of place by a few pixels shows in the waves."""
    y, x = np.mgrid[0:h, 0:w]
    r = (x * 255 // max(1, w - 1)).astype(np.uint8)
    g = (y * 255 // max(1, h - 1)).astype(np.uint8)
    b = (128 + 90 * np.sin(2 * np.pi * x / 300.0) * np.cos(2 * np.pi * y / 260.0)).astype(np.uint8)
    if mode == "L":
        return ((r.astype(np.uint16) + b) // 2).astype(np.uint8)
    if mode == "RGBA":
        a = np.where(((x // 100) + (y // 100)) % 3 == 0, 255, 160).astype(np.uint8)
        return np.dstack([r, g, b, a])
    return np.dstack([r, g, b])


def convert(args, what):
    r = subprocess.run([harness.TESSERA, "convert", "--quiet"] + args, capture_output=True,
                       timeout=300)
    if r.returncode != 0:
        raise AssertionError("tessera convert %s failed (%d): %s" % (
            what, r.returncode, r.stderr.decode(errors="replace")[-400:]))


STATIC_CONF = """
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 256; }}
http {{
    include {d}/mime.types;
    default_type application/octet-stream;
    access_log {d}/access.log;
    client_body_temp_path {d}/temp;
    proxy_temp_path {d}/temp;
    fastcgi_temp_path {d}/temp;
    uwsgi_temp_path {d}/temp;
    scgi_temp_path {d}/temp;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        add_header Access-Control-Allow-Origin * always;
        location ~ \\.dzi$ {{
            types {{ application/xml dzi; }}
        }}
        # a v2 client asks {{id}}/info.json: give it the tree's v2 document
        location ~ ^/iiif/2/([^/]+)/info\\.json$ {{
            try_files /iiif/2/$1/v2/info.json =404;
        }}
    }}
}}
"""


def start_static(d, root, port):
    os.makedirs(os.path.join(d, "temp"), exist_ok=True)
    shutil.copy("/etc/nginx/mime.types", os.path.join(d, "mime.types"))
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(STATIC_CONF.format(d=d, root=root, port=port))
    t = subprocess.run([harness.NGINX, "-t", "-c", conf, "-p", d + "/"], capture_output=True,
                       timeout=20)
    if t.returncode != 0:
        raise harness.SetupError("nginx -t: " + t.stderr.decode(errors="replace")[-400:])
    log = os.path.join(d, "nginx-stdout.log")
    p = harness._spawn("nginx-static", [harness.NGINX, "-c", conf, "-p", d + "/", "-g",
                                        "daemon off;"], log)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            r = harness.request(port, "/page.html")
            if r.status == 200:
                return harness.Server("static", port, [p], [log], root)
        except OSError:
            pass
        if p.poll() is not None:
            break
        time.sleep(0.1)
    raise harness.SetupError("the static nginx did not start: %s" % harness._tail(log))


def setup(ctx):
    if "error" in _state:
        raise AssertionError(_state["error"])
    if "static" in _state:
        return _state
    try:
        _setup(ctx)
    except Exception as e:
        _state["error"] = "setting up the converted trees failed: %s" % e
        raise AssertionError(_state["error"])
    return _state


def _setup(ctx):
    import test_validator as tv
    work = os.path.join(ctx.tmp, "convert-trees")
    trees = os.path.join(work, "trees")
    for sub in ("ref", "dz", "zoomify", "iiif/3", "iiif/2"):
        os.makedirs(os.path.join(trees, sub), exist_ok=True)
    os.chmod(work, 0o755)
    os.chmod(trees, 0o755)
    port = harness.free_port()
    base = "http://127.0.0.1:%d" % port
    _state.update(work=work, trees=trees, base=base, arrays={}, seconds={})
    for name, (w, h, mode) in SOURCES.items():
        a = source_array(w, h, mode)
        _state["arrays"][name] = a
        src = os.path.join(ctx.root, "ct-%s.png" % name)
        Image.fromarray(a, mode).save(src)
        shutil.copy(src, os.path.join(trees, "ref", name + ".png"))
        t0 = time.monotonic()
        convert([src, os.path.join(trees, "dz", name + ".dzi")], "to DeepZoom")
        convert(["--format", "zoomify", src, os.path.join(trees, "zoomify", name)], "to Zoomify")
        convert(["--format", "iiif", "--tile", str(IIIF_TILE), "--base-url", base + "/iiif",
                 src, os.path.join(trees, "iiif", name)], "to a IIIF tree")
        convert([src, os.path.join(ctx.root, "ct-%s.jp2" % name)], "to JPEG 2000")
        convert(["--lossless", src, os.path.join(work, "ct-%s-lossless.jp2" % name)],
                "to lossless JPEG 2000")
        _state["seconds"][name] = time.monotonic() - t0
    # the validator's picture as level-0 trees at /iiif/3/{id} and /iiif/2/{id}
    fx = tv.fixture(ctx)
    for v in (3, 2):
        convert(["--format", "iiif", "--base-url", "%s/iiif/%d" % (base, v), "--iiif-id", tv.VID,
                 fx.ref_png, os.path.join(trees, "iiif", str(v), tv.VID)], "the validator's picture")
    with open(os.path.join(trees, "page.html"), "w") as f:
        f.write('<!DOCTYPE html><html><head><meta charset="utf-8">'
                '<script src="/osd/openseadragon.min.js"></script></head>'
                '<body style="margin:0;background:#fff">'
                '<div id="v" style="width:1000px;height:700px"></div></body></html>\n')
    for dirpath, dirnames, filenames in os.walk(trees):
        os.chmod(dirpath, 0o755)
    _state["static"] = start_static(os.path.join(work, "nginx"), trees, port)


# --------------------------------------------------------------------------
# helpers

def tree_files(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for f in filenames:
            out.append(os.path.relpath(os.path.join(dirpath, f), root))
    return sorted(out)


def decode(body_or_path):
    if isinstance(body_or_path, bytes):
        im = Image.open(io.BytesIO(body_or_path))
    else:
        im = Image.open(body_or_path)
    im.load()
    return im


def rgb_of(im):
    """Float RGB array, alpha composited over white (as the JPEG tiles are)."""
    if im.mode in ("RGBA", "LA"):
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        bg.alpha_composite(im.convert("RGBA"))
        im = bg
    return np.asarray(im.convert("RGB"), dtype=np.float64)


def reference(name, region, size):
    """The source's region reduced with a box filter to size, as an RGB array."""
    a = _state["arrays"][name]
    w, h, mode = SOURCES[name]
    x, y, rw, rh = region
    im = Image.fromarray(a, mode).crop((x, y, x + rw, y + rh))
    if (rw, rh) != tuple(size):
        im = im.resize(tuple(size), Image.BOX)
    return rgb_of(im)


def mean_diff(a, b):
    if a.shape != b.shape:
        return 999.0
    return float(np.abs(a - b).mean())


def compared(name, region, size):
    """Whether a tile's pixels are compared with the source and the daemon:
    when its level is at least SMALL_LEVEL pixels on the sides the image
    has.  Below that, a level's last row or column stands for a sliver of
    the image (4097 = 4096 + 1 column) and the builder's 2x2 halving gives
    it the weight of a whole pixel, where the daemon resamples the region
    uniformly; "the smallest levels" below judges those levels apart."""
    w, h, mode = SOURCES[name]
    lw = size[0] * w / float(region[2]) if region[2] else w
    lh = size[1] * h / float(region[3]) if region[3] else h
    return (lw >= SMALL_LEVEL or lw >= w) and (lh >= SMALL_LEVEL or lh >= h)


def sample(items, name, n=40):
    """Every item for the small images, a fixed sample for the big one."""
    if name in SMALL or len(items) <= n:
        return list(items)
    rng = random.Random(12)
    return sorted(rng.sample(list(items), n))


def dz_grid(w, h, ts, ov):
    """{relative path: (region, out size)} of every DeepZoom tile."""
    import test_tiles as tt
    out = {}
    for level in range(tt.dz_max_level(w, h) + 1):
        lw, lh = tt.dz_level_size(w, h, level)
        for row in range(-(-lh // ts)):
            for col in range(-(-lw // ts)):
                out["%d/%d_%d.jpg" % (level, col, row)] = tt.dz_tile(w, h, level, col, row, ts, ov)
    return out


def zoomify_grid(w, h, ts=256):
    """As test_tiles.py's helpers, with the server's rule for a tier side
    that floors to 0: it is served 1 pixel long (src/proto/zoomify.c); and
    the column and row OpenSeadragon adds past the floor grid (its grid is
    ceil(W/2^k) long), which the server answers as the clipped edge."""
    import test_tiles as tt
    out = {}
    levels = tt.zoomify_levels(w, h, ts)
    for z, (lw, lh) in enumerate(levels):
        ew, eh = max(lw, 1), max(lh, 1)
        s = 1 << (len(levels) - 1 - z)
        cw, ch = -(-w // s), -(-h // s)
        for y in range(-(-max(ch, eh) // ts)):
            for x in range(-(-max(cw, ew) // ts)):
                g = tt.zoomify_group(w, h, z, x, y, ts)
                xe = ew if x < -(-ew // ts) else cw
                ye = eh if y < -(-eh // ts) else ch
                ow, oh = min((x + 1) * ts, xe) - x * ts, min((y + 1) * ts, ye) - y * ts
                rx, ry = x * ts * s, y * ts * s
                region = (rx, ry, min((x * ts + ow) * s, w) - rx, min((y * ts + oh) * s, h) - ry)
                out["TileGroup%d/%d-%d-%d.jpg" % (g, z, x, y)] = (region, (ow, oh))
    return out


def compare_tiles(ctx, srv, name, grid, tree_dir, daemon_path, what):
    """Every file of the tree is in grid and vice versa; sampled tiles have
    the size the grid promises and the daemon gives, and the source's and
    the daemon's pixels within tolerance."""
    files = [f for f in tree_files(tree_dir) if f.endswith(".jpg")]
    missing = sorted(set(grid) - set(files))
    extra = sorted(set(files) - set(grid))
    expect(not missing and not extra, "%s %s: %d tiles missing (%s), %d extra (%s)" % (
        what, name, len(missing), missing[:3], len(extra), extra[:3]))
    bad = []
    for rel in sample(grid.keys(), name):
        region, size = grid[rel]
        im = decode(os.path.join(tree_dir, rel))
        if im.size != tuple(size):
            bad.append("%s is %dx%d, expected %dx%d" % ((rel,) + im.size + tuple(size)))
            continue
        got = rgb_of(im)
        if not compared(name, region, size):
            continue
        d = mean_diff(got, reference(name, region, size))
        if d > JPEG_TOL:
            bad.append("%s differs from the source by %.2f" % (rel, d))
        r = srv.get(daemon_path(rel))
        if r.status != 200:
            bad.append("the daemon answers %d for %s" % (r.status, daemon_path(rel)))
            continue
        dim = decode(r.body)
        if dim.size != im.size:
            bad.append("%s: the daemon's tile is %dx%d, ours %dx%d" % ((rel,) + dim.size + im.size))
            continue
        d = mean_diff(got, rgb_of(dim))
        if d > 2 * JPEG_TOL:
            bad.append("%s differs from the daemon's tile by %.2f" % (rel, d))
    expect(not bad, "%s %s: %s" % (what, name, "; ".join(bad[:5])))


# --------------------------------------------------------------------------
# DeepZoom

@test("convert trees: the DeepZoom .dzi is the daemon's, byte for byte, for every source")
def _(ctx, srv):
    st = setup(ctx)
    for name in SOURCES:
        with open(os.path.join(st["trees"], "dz", name + ".dzi"), "rb") as f:
            ours = f.read()
        r = srv.get("/deepzoom/ct-%s.png.dzi" % name)
        expect_status(r, 200, "GET /deepzoom/ct-%s.png.dzi" % name)
        expect(r.body == ours, "%s: ours %r, the daemon's %r" % (name, ours[:200], r.body[:200]))


@test("convert trees: DeepZoom tiles are the daemon's grid, sizes and pixels (source and daemon)")
def _(ctx, srv):
    st = setup(ctx)
    for name, (w, h, mode) in SOURCES.items():
        dzi = ET.parse(os.path.join(st["trees"], "dz", name + ".dzi")).getroot()
        ts, ov = int(dzi.get("TileSize")), int(dzi.get("Overlap"))
        compare_tiles(ctx, srv, name, dz_grid(w, h, ts, ov),
                      os.path.join(st["trees"], "dz", name + "_files"),
                      lambda rel: "/deepzoom/ct-%s.png_files/%s" % (name, rel), "DeepZoom")


@test("convert trees: the smallest DeepZoom levels are made as vips dzsave makes them (1x1 and 2x1 mean colours within 8)")
def _(ctx, srv):
    """Below SMALL_LEVEL the tiles are not compared with the daemon: the
    pyramid halves 2x2 with the last pixel of an odd level repeated, so a
    pixel standing for a sliver (4097 = 4096 + 1) weighs as much as a whole
    one, and the 1x1 level of 4097x2049 is not the image's mean colour (the
    daemon resamples the region uniformly, and is).  That is the pyramid
    vips dzsave makes; this test holds us to it."""
    st = setup(ctx)
    if not shutil.which("vips"):
        raise Skip("vips is not installed")
    import test_tiles as tt
    bad = []
    for name in ("big", "line", "gray", "one"):
        w, h, mode = SOURCES[name]
        out = os.path.join(st["work"], "vips-" + name)
        r = subprocess.run(["vips", "dzsave", os.path.join(ctx.root, "ct-%s.png" % name), out,
                            "--suffix", ".jpg[Q=95]"], capture_output=True, timeout=120)
        expect(r.returncode == 0, "vips dzsave %s: %s" % (name, r.stderr[-300:]))
        for level in range(min(2, tt.dz_max_level(w, h) + 1)):
            ours = rgb_of(decode(os.path.join(st["trees"], "dz", name + "_files", "%d/0_0.jpg" % level)))
            theirs = rgb_of(decode(os.path.join(out + "_files", "%d/0_0.jpg" % level)))
            # mean colours: a 2x1 JPEG's chroma is one sample (4:2:0)
            d = float(np.abs(ours.reshape(-1, 3).mean(0) - theirs.reshape(-1, 3).mean(0)).max())
            if d > 8:
                bad.append("%s level %d: ours %s, vips's %s" % (
                    name, level, ours.reshape(-1, 3).mean(0).round(), theirs.reshape(-1, 3).mean(0).round()))
    expect(not bad, "; ".join(bad))


# --------------------------------------------------------------------------
# Zoomify

@test("convert trees: Zoomify ImageProperties.xml is the daemon's, byte for byte")
def _(ctx, srv):
    st = setup(ctx)
    for name in SOURCES:
        with open(os.path.join(st["trees"], "zoomify", name, "ImageProperties.xml"), "rb") as f:
            ours = f.read()
        r = srv.get("/zoomify/ct-%s.png/ImageProperties.xml" % name)
        expect_status(r, 200, "ImageProperties.xml of " + name)
        expect(r.body == ours, "%s: ours %r, the daemon's %r" % (name, ours, r.body))


@test("convert trees: Zoomify tiles are the daemon's grid (floor-halved tiers, TileGroups), sizes and pixels")
def _(ctx, srv):
    st = setup(ctx)
    for name, (w, h, mode) in SOURCES.items():
        compare_tiles(ctx, srv, name, zoomify_grid(w, h),
                      os.path.join(st["trees"], "zoomify", name),
                      lambda rel: "/zoomify/ct-%s.png/%s" % (name, rel), "Zoomify")


# --------------------------------------------------------------------------
# IIIF level 0

def iiif_grid(info, version):
    """{relative path: (region, size)} of every tile a client derives from
    info.json's tiles (3.0 §5.4 / 2.1 §5.1), spelt as OpenSeadragon spells
    them, plus the full/ images of every size."""
    W, H = info["width"], info["height"]
    out = {}
    t = info["tiles"][0]
    ts = t["width"]
    for f in t["scaleFactors"]:
        lw, lh = -(-W // f), -(-H // f)
        span = ts * f
        for y in range(-(-lh // ts)):
            for x in range(-(-lw // ts)):
                rx, ry = x * span, y * span
                rw, rh = min(span, W - rx), min(span, H - ry)
                sw, sh = min(ts, lw - x * ts), min(ts, lh - y * ts)
                region = "full" if (rx, ry, rw, rh) == (0, 0, W, H) else "%d,%d,%d,%d" % (rx, ry, rw, rh)
                if version == 3:
                    size = "max" if (sw, sh) == (W, H) else "%d,%d" % (sw, sh)
                else:
                    size = "full" if sw == W else "%d," % sw
                out["%s/%s/0/default.jpg" % (region, size)] = ((rx, ry, rw, rh), (sw, sh))
    for s in info["sizes"]:
        sw, sh = s["width"], s["height"]
        size = ("%d,%d" % (sw, sh)) if version == 3 else ("%d," % sw)
        out["full/%s/0/default.jpg" % size] = ((0, 0, W, H), (sw, sh))
    full = "max" if version == 3 else "full"
    out["full/%s/0/default.jpg" % full] = ((0, 0, W, H), (W, H))
    return out


@test("convert trees: IIIF info.json (3.0 and v2/ 2.1) say level 0, the id, the daemon's tiles and its sizes among ours")
def _(ctx, srv):
    st = setup(ctx)
    for name, (w, h, mode) in SOURCES.items():
        for v, rel in ((3, "info.json"), (2, "v2/info.json")):
            with open(os.path.join(st["trees"], "iiif", name, rel)) as f:
                ours = json.load(f)
            r = srv.get("/iiif/%d/ct-%s.png/info.json" % (v, name))
            expect_status(r, 200, "the daemon's info.json of " + name)
            theirs = json.loads(r.body)
            idk = "id" if v == 3 else "@id"
            expect(ours[idk] == "%s/iiif/%s" % (st["base"], name), "%s v%d id %r" % (name, v, ours[idk]))
            expect(ours["profile"] == ("level0" if v == 3 else ["http://iiif.io/api/image/2/level0.json"]),
                   "%s v%d profile %r" % (name, v, ours["profile"]))
            expect((ours["width"], ours["height"]) == (w, h), "%s v%d size" % (name, v))
            expect(ours["tiles"] == theirs["tiles"], "%s v%d tiles: ours %s, the daemon's %s" % (
                name, v, ours["tiles"], theirs["tiles"]))
            sizes = [(s["width"], s["height"]) for s in ours["sizes"]]
            for s in theirs.get("sizes", []):
                expect((s["width"], s["height"]) in sizes, "%s v%d: the daemon lists %s, we do not (%s)" % (
                    name, v, s, sizes))


@test("convert trees: IIIF tiles at every scale factor and full/ sizes exist under the URLs clients ask, with the daemon's sizes and pixels")
def _(ctx, srv):
    st = setup(ctx)
    for name in SOURCES:
        tree = os.path.join(st["trees"], "iiif", name)
        files = set(tree_files(tree))
        for v, rel in ((3, "info.json"), (2, "v2/info.json")):
            with open(os.path.join(tree, rel)) as f:
                info = json.load(f)
            grid = iiif_grid(info, v)
            missing = sorted(set(grid) - files)
            expect(not missing, "%s v%d: %d URLs missing, e.g. %s" % (name, v, len(missing), missing[:3]))
            bad = []
            for p in sample(grid.keys(), name, 30):
                region, size = grid[p]
                im = decode(os.path.join(tree, p))
                if im.size != tuple(size):
                    bad.append("%s is %dx%d" % ((p,) + im.size))
                    continue
                got = rgb_of(im)
                d = mean_diff(got, reference(name, region, size)) if compared(name, region, size) else 0
                if d > JPEG_TOL:
                    bad.append("%s differs from the source by %.2f" % (p, d))
                if p.startswith("full/") and size[0] * size[1] > 4000000:
                    continue   # the daemon's max_area; the picture was checked against the source
                r = srv.get("/iiif/%d/ct-%s.png/%s" % (v, name, p))
                if r.status != 200:
                    bad.append("the daemon answers %d for %s" % (r.status, p))
                    continue
                dim = decode(r.body)
                # 2.1's "w," gives the height from the region's aspect ratio
                # (2.1 §4.2); OpenSeadragon asks "w," for a tile of the
                # ceil-rounded level, which can be a pixel or more shorter
                # on a 1-pixel-wide edge tile: the tree answers what the
                # viewer draws, the daemon what the spec computes.
                loose = v == 2 and p.split("/")[1].endswith(",")
                if dim.size != im.size and not (loose and dim.size[0] == im.size[0]):
                    bad.append("%s: the daemon's is %dx%d" % ((p,) + dim.size))
            expect(not bad, "%s v%d: %s" % (name, v, "; ".join(bad[:5])))
        # nothing but the tiles, the full/ images and the two documents
        every = set(iiif_grid(json.load(open(os.path.join(tree, "info.json"))), 3))
        every |= set(iiif_grid(json.load(open(os.path.join(tree, "v2/info.json"))), 2))
        extra = sorted(f for f in files - every if f not in ("info.json", "v2/info.json"))
        expect(not extra, "%s: files no client asks for: %s" % (name, extra[:5]))


# --------------------------------------------------------------------------
# JPEG 2000

@test("convert trees: the JPEG 2000 opens in the daemon with the source's size and pixels")
def _(ctx, srv):
    setup(ctx)
    for name, (w, h, mode) in SOURCES.items():
        r = srv.get("/iiif/3/ct-%s.jp2/info.json" % name)
        expect_status(r, 200, "info.json of ct-%s.jp2" % name)
        info = json.loads(r.body)
        expect((info["width"], info["height"]) == (w, h), "%s: %sx%s" % (name, info["width"], info["height"]))
        size = "max" if w * h <= 4000000 else "%d," % (w // 4)
        r = srv.get("/iiif/3/ct-%s.jp2/full/%s/0/default.png" % (name, size))
        expect_status(r, 200, "a rendering of ct-%s.jp2" % name)
        im = decode(r.body)
        d = mean_diff(rgb_of(im), reference(name, (0, 0, w, h), im.size))
        # lossy at 42 dB: a few levels; a single pixel may be off by more
        expect(d < (4.0 if w * h > 64 else 8.0),
               "%s: the daemon's rendering differs from the source by %.2f" % (name, d))


@test("convert trees: opj_decompress reads the JPEG 2000; lossless gives the source exactly")
def _(ctx, srv):
    st = setup(ctx)
    if not os.access(OPJ_DECOMPRESS, os.X_OK):
        raise Skip("opj_decompress is not installed (libopenjp2-tools)")
    for name, (w, h, mode) in SOURCES.items():
        for path, exact in ((os.path.join(ctx.root, "ct-%s.jp2" % name), False),
                            (os.path.join(st["work"], "ct-%s-lossless.jp2" % name), True)):
            out = path + ".tif"   # opj_decompress writes PNG slowly (a minute for 8 MP)
            r = subprocess.run([OPJ_DECOMPRESS, "-i", path, "-o", out], capture_output=True, timeout=120)
            expect(r.returncode == 0, "opj_decompress %s: %s" % (
                os.path.basename(path), r.stderr.decode(errors="replace")[-300:]))
            im = decode(out)
            expect(im.size == (w, h), "%s: %dx%d" % ((os.path.basename(path),) + im.size))
            got = np.asarray(im, dtype=np.int32)
            want = _state["arrays"][name].astype(np.int32)
            if exact:
                expect(got.shape == want.shape and (got == want).all(),
                       "%s: not the source exactly" % os.path.basename(path))
            else:
                expect(got.shape == want.shape and np.abs(got - want).mean() < (3.0 if w * h > 64 else 8.0),
                       "%s: differs from the source by %.2f" % (
                           os.path.basename(path), np.abs(got - want).mean() if got.shape == want.shape else 999))


# --------------------------------------------------------------------------
# OpenSeadragon, headless Chromium, static nginx

_browser = {}


def _browser_run(ctx):
    if _browser:
        return _browser
    if not os.access(CHROMIUM, os.X_OK):
        _browser["skip"] = "%s is not installed" % CHROMIUM
        return _browser
    if not os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")):
        _browser["skip"] = "playwright-core is not installed (npm ci --prefix tests/browser)"
        return _browser
    if not os.path.isfile(OSD_JS):
        _browser["skip"] = "OpenSeadragon is not installed (npm ci --prefix viewer)"
        return _browser
    st = setup(ctx)
    base = st["base"]
    trees = []
    for name, (w, h, mode) in SOURCES.items():
        trees.append({"name": "dzi " + name, "source": "%s/dz/%s.dzi" % (base, name),
                      "width": w, "height": h, "ref": "/ref/%s.png" % name})
        trees.append({"name": "zoomify " + name, "width": w, "height": h, "ref": "/ref/%s.png" % name,
                      "source": {"type": "zoomifytileservice", "width": w, "height": h,
                                 "tilesUrl": "%s/zoomify/%s/" % (base, name)}})
        trees.append({"name": "iiif3 " + name, "source": "%s/iiif/%s/info.json" % (base, name),
                      "width": w, "height": h, "ref": "/ref/%s.png" % name})
        trees.append({"name": "iiif2 " + name, "source": "%s/iiif/%s/v2/info.json" % (base, name),
                      "width": w, "height": h, "ref": "/ref/%s.png" % name})
    d = os.path.join(st["work"], "browser")
    os.makedirs(d, exist_ok=True)
    udd = os.path.join(d, "chromium-profile")
    cfg = {"page": base + "/page.html", "osd": OSD_JS, "refBase": base, "chromium": CHROMIUM,
           "userDataDir": udd, "timeoutMs": 25000, "hardTimeoutMs": 280000, "trees": trees}
    cfg_path = os.path.join(d, "config.json")
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    out = os.path.join(d, "stdout.log")
    p = harness._spawn("trees.mjs", [NODE, os.path.join(BROWSER_DIR, "trees.mjs"), cfg_path], out,
                       cwd=BROWSER_DIR)
    try:
        p.wait(timeout=300)
    except subprocess.TimeoutExpired:
        pass
    finally:
        harness._stop(p)
        harness._started[:] = [(n, q) for (n, q) in harness._started if q is not p]
        for pid, _ in harness.processes_mentioning(udd):
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        shutil.rmtree(udd, ignore_errors=True)
    with open(out, "rb") as f:
        lines = [l for l in f.read().decode(errors="replace").splitlines() if l.startswith("{")]
    _browser["results"] = {}
    for l in lines:
        r = json.loads(l)
        _browser["results"][r["name"]] = r
    return _browser


def _register_browser(kind, label):
    @test("convert trees: OpenSeadragon opens the static %s trees from a plain nginx, loads them fully and paints the source" % label,
          server="nginx")
    def _(ctx, srv):
        b = _browser_run(ctx)
        if "skip" in b:
            raise Skip(b["skip"])
        res = b["results"]
        if "all" in res:
            raise AssertionError("the browser run failed: %s" % res["all"]["steps"])
        bad = []
        for name, (w, h, mode) in SOURCES.items():
            r = res.get("%s %s" % (kind, name))
            if not r:
                bad.append("%s: no result" % name)
                continue
            for s in r["steps"]:
                if not s["ok"]:
                    bad.append("%s: %s (%s)" % (name, s["step"], s["detail"]))
            for f in r["failed"]:
                bad.append("%s: %s" % (name, f))
        expect(not bad, "; ".join(bad[:6]))


for _kind, _label in (("dzi", "DeepZoom"), ("zoomify", "Zoomify"), ("iiif3", "IIIF 3.0 level-0"),
                      ("iiif2", "IIIF 2.1 level-0")):
    _register_browser(_kind, _label)


# --------------------------------------------------------------------------
# the validator's checks at level 0, on a static tree

@test("convert trees: the IIIF validator's level-0 checks (info_json, id_basic, id_squares) pass on a static tree, 3.0 and 2.1")
def _(ctx, srv):
    import test_validator as tv
    st = setup(ctx)
    static = st["static"]
    fx = tv.fixture(ctx)
    for v in (3, 2):
        tv._check_info_json(ctx, static, v)
        feats = tv.Features(tv.info(static, v), v)
        expect(feats.level == 0, "v%d: the tree is not level 0 (%d)" % (v, feats.level))
        p = tv.path(v)
        im, r = tv.fetch(static, p)
        expect(tv.sniff(r.body) == "jpg" and im.format == "JPEG", "GET %s: not a JPEG" % p)
        got = tv.rgb(im)
        d = tv.mean_diff(got, fx.ref)
        expect(d < 6, "GET %s: mean difference %.2f from the picture" % (p, d))
        for x, y in tv.squares(tv.seeded()):
            ok, top, want = tv.dominant_ok(got[y * tv.SQ + 13:y * tv.SQ + 87, x * tv.SQ + 13:x * tv.SQ + 87], x, y)
            expect(ok, "GET %s: square %d,%d is %s, expected %s" % (p, x, y, top, want))


# --------------------------------------------------------------------------
# failures

@test("convert trees: a truncated source is a clear error and leaves no tree, no temporary folder")
def _(ctx, srv):
    st = setup(ctx)
    d = os.path.join(st["work"], "bad")
    os.makedirs(d, exist_ok=True)
    src = os.path.join(ctx.root, "ct-big.png")
    with open(src, "rb") as f:
        data = f.read()
    bad = os.path.join(d, "cut.png")
    with open(bad, "wb") as f:
        f.write(data[:len(data) // 2])
    for args, outs in ((["--format", "dzi"], ["t.dzi", "t_files"]),
                       (["--format", "zoomify"], ["z"]),
                       (["--format", "iiif", "--base-url", "http://x"], ["i"]),
                       (["--format", "jp2"], ["j.jp2"])):
        out = os.path.join(d, outs[0])
        r = subprocess.run([harness.TESSERA, "convert", "--quiet"] + args + [bad, out],
                           capture_output=True, timeout=120)
        expect(r.returncode != 0, "%s: exit 0 for a truncated input" % args)
        expect(r.stderr.strip(), "%s: no error message" % args)
        left = sorted(os.listdir(d))
        expect(left == ["cut.png"], "%s: left behind %s" % (args, left))
    r = subprocess.run([harness.TESSERA, "convert", "--quiet", "--format", "iiif", src,
                        os.path.join(d, "nobase")], capture_output=True, timeout=60)
    expect(r.returncode != 0 and b"base URL" in r.stderr, "iiif without --base-url: %r" % r.stderr[-200:])
