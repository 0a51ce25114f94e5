"""test_formats.py - the gif, jp2 and pdf answers of the Image API.

Every format is fetched in 3.0 and 2.1 for the full image scaled, a
region, a size, rotations (90 with mirror, an arbitrary angle) and the
gray and bitonal qualities, and decoded by an independent reader: PIL for
GIF and JPEG 2000, OpenJPEG's own `opj_decompress` for JPEG 2000 as well,
and poppler's `pdftoppm` (rendering at 72 dpi, so one page pixel is one
image pixel) for PDF.  Pixels are compared with the test pattern within a
tolerance suited to the format: the palette of a GIF holds the pattern's
27 colours exactly, JPEG 2000 and the PDF's JPEG are lossy.

GIF-specific: the palette never exceeds 256 entries, a bitonal answer has
at most 2 colours, a gray one only gray entries, an RGBA source's clear
pixels are the one transparent index, and a smooth colour picture (a
gradient with more than 256 colours) stays close to the source.  PDF: the
cross-reference table's offsets point exactly at their objects and the
page is the image at 72 dpi.  Limits: an oversized request is the same
4xx whatever the format.
"""

import os
import re
import subprocess
import tempfile

import numpy as np
from PIL import Image

import pixels
from common import test, core, expect, expect_status, expect_size, get_image, iiif

ID = "pattern"
RGBA = "v-rgba"
GRAY = "v-gray"
FORMATS = ("gif", "jp2", "pdf")
# the pattern is served from a JPEG pyramid (q95): its noise is more than
# 256 colours, so even the GIF's palette is a median cut of them
# poppler's JPEG decoder upsamples chroma more simply than libjpeg's
TOL = {"gif": pixels.TOL_JPEG, "jp2": pixels.TOL_JPEG, "pdf": pixels.TOL_JPEG + 6}
# the 9/7 wavelet rings further from a sharp edge than an 8x8 DCT block
MARGIN = {"gif": 5, "jp2": 10, "pdf": 5}

# (region, size in 3.0, size in 2.1, rotation, the region box, output size)
CASES = [
    ("full", "500,", "500,", "0", (0, 0, 2000, 1500), (500, 375)),
    ("0,0,512,512", "256,", "256,", "0", (0, 0, 512, 512), (256, 256)),
    ("700,300,600,400", "max", "full", "0", (700, 300, 600, 400), (600, 400)),
    ("pct:10,10,50,50", "!400,400", "!400,400", "0", (200, 150, 1000, 750), (400, 300)),
    ("0,0,800,600", "400,", "400,", "!90", (0, 0, 800, 600), (400, 300)),
]


def fetch(srv, version, ident, region, size, rotation, quality, fmt):
    path = iiif(version, ident, region, size, rotation, quality, fmt)
    im, r = get_image(srv, path, fmt)
    return im, r, path


@core("gif, jp2 and pdf answers match the pattern for region, size and rotation in 3.0 and 2.1")
def _(ctx, srv):
    pat = ctx.variants["jpeg"].pattern
    for fmt in FORMATS:
        for v in (3, 2):
            for region, s3, s2, rot, box, out in CASES:
                im, r, path = fetch(srv, v, ID, region, s3 if v == 3 else s2, rot, "default", fmt)
                mirror = rot.startswith("!")
                pixels.check_pattern(im, pat, box, out, rotation=int(rot.lstrip("!")),
                                     mirror=mirror, tol=TOL[fmt], margin_out=MARGIN[fmt],
                                     what="GET %s: " % path)


@core("gif, jp2 and pdf answers in gray and bitonal quality")
def _(ctx, srv):
    pat = ctx.variants["jpeg"].pattern
    for fmt in FORMATS:
        for v in (3, 2):
            im, r, path = fetch(srv, v, ID, "0,0,1000,1000", "500,", "0", "gray", fmt)
            pixels.check_gray(im, pat, (0, 0, 1000, 1000), (500, 500), tol=TOL[fmt] + 2)
            im, r, path = fetch(srv, v, ID, "0,0,1000,1000", "500,", "0", "bitonal", fmt)
            a = pixels.rgb_array(im)
            if fmt == "gif":
                vals = set(np.unique(a))
                expect(vals <= {0, 255}, "GET %s: bitonal values %s" % (path, sorted(vals)[:10]))
            else:
                # lossy codecs ring at the edges; most pixels are black or white
                near = (np.minimum(a, 255 - a) <= 24).mean()
                expect(near > 0.95, "GET %s: only %.1f%% of pixels are black or white" % (
                    path, 100 * near))


@core("info.json advertises gif, jp2 and pdf (3.0 extraFormats, 2.1 profile formats)")
def _(ctx, srv):
    import json
    info = json.loads(srv.get("/iiif/3/%s/info.json" % ID).body)
    for f in FORMATS:
        expect(f in info.get("extraFormats", []), "3.0 extraFormats %r" % info.get("extraFormats"))
    info = json.loads(srv.get("/iiif/2/%s/info.json" % ID).body)
    desc = [p for p in info["profile"] if isinstance(p, dict)]
    formats = desc[0].get("formats", []) if desc else []
    for f in FORMATS:
        expect(f in formats, "2.1 profile formats %r" % formats)


# ---------------------------------------------------------------- GIF


def gif_palette(body):
    im = Image.open(__import__("io").BytesIO(body))
    expect(im.format == "GIF" and im.mode == "P", "GIF mode %s" % im.mode)
    pal = im.getpalette() or []
    return im, len(pal) // 3


@test("gif: palette within 256 entries, 2 for bitonal, gray entries for a gray image")
def _(ctx, srv):
    for q, ident, check in (("default", ID, None), ("bitonal", ID, 2), ("gray", GRAY, "gray"),
                            ("default", GRAY, "gray")):
        path = iiif(3, ident, "0,0,1024,1024", "512,", "0", q, "gif")
        r = srv.get(path)
        expect_status(r, 200, "GET " + path)
        expect(r.body[:6] == b"GIF89a", "GET %s: starts %r" % (path, r.body[:6]))
        im, n = gif_palette(r.body)
        expect(n <= 256, "GET %s: %d palette entries" % (path, n))
        used = np.unique(np.asarray(im))
        if check == 2:
            expect(len(used) <= 2, "GET %s: bitonal uses %d indices" % (path, len(used)))
        if check == "gray":
            pal = np.array(im.getpalette()[:3 * n]).reshape(-1, 3)[used]
            expect((pal[:, 0] == pal[:, 1]).all() and (pal[:, 1] == pal[:, 2]).all(),
                   "GET %s: a gray picture's palette has colours" % path)


@test("gif: an RGBA source's clear pixels are the one transparent index, also in rotation corners")
def _(ctx, srv):
    v = ctx.variants["rgba"]
    path = iiif(3, RGBA, "0,0,800,600", "400,", "0", "default", "gif")
    im, r = get_image(srv, path, "gif")
    expect("transparency" in im.info, "GET %s: no transparent index" % path)
    pixels.check_pattern(im, v.pattern, (0, 0, 800, 600), (400, 300), tol=TOL["gif"],
                         check_alpha=True, what="GET %s: " % path)
    path = iiif(3, ID, "0,0,400,400", "200,", "30", "default", "gif")
    im, r = get_image(srv, path, "gif")
    expect("transparency" in im.info, "GET %s: rotated corners not transparent" % path)
    a = pixels.alpha_array(im)
    expect(a[0, 0] == 0 and a[a.shape[0] // 2, a.shape[1] // 2] == 255,
           "GET %s: corner alpha %d, centre %d" % (path, a[0, 0], a[a.shape[0] // 2, a.shape[1] // 2]))


_grad = {}


def gradient(ctx):
    """A smooth 640x480 colour picture with far more than 256 colours."""
    name = "fmt-gradient.png"
    if ctx.root not in _grad:
        ys, xs = np.indices((480, 640)).astype(np.float64)
        r = xs / 639 * 255
        g = ys / 479 * 255
        b = 128 + 127 * np.sin(xs / 50.0) * np.cos(ys / 70.0)
        a = np.rint(np.dstack([r, g, b])).astype(np.uint8)
        Image.fromarray(a).save(os.path.join(ctx.root, name))
        _grad[ctx.root] = a
    return name, _grad[ctx.root]


def box_blur(a, k=4):
    h, w = a.shape[0] // k * k, a.shape[1] // k * k
    return a[:h, :w].reshape(h // k, k, w // k, k, -1).mean(axis=(1, 3))


@test("gif: a smooth colour picture is dithered onto a median-cut palette close to the source")
def _(ctx, srv):
    name, src = gradient(ctx)
    path = iiif(3, name, "full", "max", "0", "default", "gif")
    im, r = get_image(srv, path, "gif")
    expect_size(im, 640, 480, "GET " + path)
    _im, n = gif_palette(r.body)
    expect(n == 256, "GET %s: %d entries for a picture of many colours" % (path, n))
    got = pixels.rgb_array(im).astype(np.float64)
    diff = np.abs(got - src)
    expect(diff.mean() < 10, "GET %s: mean error %.1f" % (path, diff.mean()))
    # dithering: locally (4x4) the average colour is the source's
    local = np.abs(box_blur(got) - box_blur(src.astype(np.float64)))
    # (measured: 2.6 and 15.5; undithered it is 5.4 on average)
    expect(local.mean() < 4 and np.percentile(local, 99) < 20,
           "GET %s: 4x4 averages differ by %.1f on average, %.1f at the 99th percentile" % (
               path, local.mean(), np.percentile(local, 99)))


# ---------------------------------------------------------------- JPEG 2000


def opj_decode(body):
    with tempfile.TemporaryDirectory() as d:
        src, dst = os.path.join(d, "a.jp2"), os.path.join(d, "a.png")
        with open(src, "wb") as f:
            f.write(body)
        p = subprocess.run(["opj_decompress", "-i", src, "-o", dst], capture_output=True,
                           timeout=60)
        expect(p.returncode == 0 and os.path.exists(dst),
               "opj_decompress failed: %s" % p.stderr.decode(errors="replace")[-300:])
        im = Image.open(dst)
        im.load()
        return im


@test("jp2: opj_decompress reads every answer, the same pixels as PIL, alpha kept")
def _(ctx, srv):
    for ident, q, mode in ((ID, "default", "RGB"), (ID, "gray", "L"), (RGBA, "default", "RGBA")):
        path = iiif(3, ident, "0,0,600,600", "300,", "0", q, "jp2")
        im, r = get_image(srv, path, "jp2")
        expect(r.body[4:8] == b"jP  ", "GET %s: no JP2 signature box" % path)
        o = opj_decode(r.body)
        expect(o.mode == mode and o.size == (300, 300), "GET %s: opj_decompress gives %s %s" % (
            path, o.mode, o.size))
        d = np.abs(np.asarray(o, dtype=np.int32) - np.asarray(im.convert(o.mode), dtype=np.int32))
        expect(d.max() <= 1, "GET %s: opj_decompress and PIL differ by %d" % (path, d.max()))
    v = ctx.variants["rgba"]
    path = iiif(3, RGBA, "0,0,800,600", "400,", "0", "default", "jp2")
    im, r = get_image(srv, path, "jp2")
    pixels.check_pattern(im, v.pattern, (0, 0, 800, 600), (400, 300), tol=TOL["jp2"],
                         margin_out=MARGIN["jp2"], what="GET %s: " % path)
    # alpha is a lossy component too: clear blocks (200..500 of the source,
    # 100..250 here) near 0, the rest near 255
    a = pixels.alpha_array(im)
    expect(a is not None, "GET %s: no alpha" % path)
    expect(a[110:240, 110:240].max() <= 8 and a[:90, :90].min() >= 247,
           "GET %s: alpha inside the clear blocks up to %d, outside down to %d" % (
               path, a[110:240, 110:240].max(), a[:90, :90].min()))


# ---------------------------------------------------------------- PDF


def pdf_objects(body):
    """Check the xref table against the file; return {num: offset}."""
    m = re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", body)
    expect(m, "no startxref/%%EOF at the end")
    xref = int(m.group(1))
    expect(body[xref:xref + 4] == b"xref", "startxref %d does not point at 'xref'" % xref)
    lines = body[xref:].split(b"\n")
    first, count = map(int, lines[1].split())
    offsets = {}
    pos = xref + len(lines[0]) + len(lines[1]) + 2
    for i in range(count):
        entry = body[pos:pos + 20]
        expect(len(entry) == 20 and entry[18:20] == b"\r\n", "xref entry %d is %r" % (i, entry))
        off, gen, kind = entry[:10], entry[11:16], entry[17:18]
        if kind == b"n":
            o = int(off)
            want = b"%d %d obj" % (first + i, int(gen))
            expect(body[o:o + len(want)] == want, "object %d: offset %d points at %r" % (
                first + i, o, body[o:o + 12]))
            offsets[first + i] = o
        pos += 20
    return offsets


@test("pdf: one page at 72 dpi holding the JPEG as it is, xref offsets exact")
def _(ctx, srv):
    for v in (3, 2):
        path = iiif(v, ID, "0,0,800,600", "400,", "0", "default", "pdf")
        r = srv.get(path)
        expect_status(r, 200, "GET " + path)
        expect(r.media_type == "application/pdf", "Content-Type %r" % r.header("Content-Type"))
        expect(r.body.startswith(b"%PDF-1.4"), "GET %s: starts %r" % (path, r.body[:8]))
        objs = pdf_objects(r.body)
        expect(len(objs) == 5, "GET %s: %d objects" % (path, len(objs)))
        expect(b"/MediaBox [0 0 400.0000 300.0000]" in r.body, "GET %s: page size" % path)
        expect(b"/Filter /DCTDecode" in r.body, "GET %s: no DCTDecode image" % path)
        # the JPEG inside is the daemon's own .jpg answer of the same request
        j = srv.get(iiif(v, ID, "0,0,800,600", "400,", "0", "default", "jpg")).body
        expect(j in r.body, "GET %s: the .jpg answer is not embedded as it is" % path)
    p = subprocess.run(["pdfinfo", "-"], input=r.body, capture_output=True, timeout=30)
    out = p.stdout.decode(errors="replace")
    expect(p.returncode == 0 and re.search(r"Pages:\s+1\n", out) and
           re.search(r"Page size:\s+400 x 300 pts", out),
           "pdfinfo: %s %s" % (out[-300:], p.stderr.decode(errors="replace")[-200:]))


# ---------------------------------------------------------------- limits


@core("oversized gif, jp2 and pdf requests get the same 4xx as jpg")
def _(ctx, srv):
    for size in ("99999,", "^99999,", "70000,70000", "^pct:5000"):
        want = srv.get(iiif(3, ID, "full", size, "0", "default", "jpg")).status
        expect(400 <= want < 500, "jpg %s is %d" % (size, want))
        for fmt in FORMATS:
            path = iiif(3, ID, "full", size, "0", "default", fmt)
            expect_status(srv.get(path), want, "GET " + path)
