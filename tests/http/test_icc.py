"""test_icc.py - embedded ICC colour profiles carried from the source file
to every response.

A museum scan in Adobe RGB shown without its profile has every colour
shifted; so each source format's profile must come out, byte for byte, in
each output format that can hold it: JPEG (APP2), PNG (iCCP), WebP (ICCP)
and TIFF (ICCProfile tag).  A profile that does not describe the answer's
pixels must stay behind: gray and bitonal answers of an RGB source carry no
RGB profile, and WebP (always RGB) carries no gray profile.

The files are made here: an RGB matrix/TRC profile with Adobe RGB (1998)
primaries and a gray profile, built byte by byte (ICC.1:2001-04 v2 tags),
then a JPEG-compressed TIFF pyramid (whose stored tiles are passed through,
so the profile is spliced into them), a deflate one (decoded and
re-encoded), a gray JPEG pyramid, a plain JPEG and a plain PNG (PIL writes
their profiles), and a JP2: opj_compress cannot embed a profile, so its
colr box is replaced here by one of method 2 carrying the profile.  The
daemon runs without a response cache so every answer is rendered.

The one idea: the profile is compared as bytes, as PIL reads it out of
each response (Image.info["icc_profile"]), never as colours.
"""

import io
import os
import struct

import numpy as np
from PIL import Image

import harness
import images
from common import test, expect, expect_status, get_image

W, H = 600, 400
PATTERN = images.Pattern(W, H)
GRAY = images.Pattern(W, H, mode="gray")
FORMATS = ("jpg", "png", "webp", "tif")


# --------------------------------------------------------------------------
# profiles

def _s15(v):
    return struct.pack(">i", int(round(v * 65536)))


def _xyz(x, y, z):
    return b"XYZ \0\0\0\0" + _s15(x) + _s15(y) + _s15(z)


def _curv(gamma):
    return b"curv\0\0\0\0" + struct.pack(">IH", 1, int(round(gamma * 256))) + b"\0\0"


def _desc(text):
    a = text.encode("ascii") + b"\0"
    # textDescriptionType: ASCII, then empty Unicode and ScriptCode parts
    return (b"desc\0\0\0\0" + struct.pack(">I", len(a)) + a +
            struct.pack(">II", 0, 0) + struct.pack(">HB", 0, 0) + b"\0" * 67)


def _text(text):
    return b"text\0\0\0\0" + text.encode("ascii") + b"\0"


def make_profile(space, desc):
    """A v2 display profile: 'RGB ' (Adobe RGB (1998) primaries adapted to
    D50, gamma 2.2) or 'GRAY' (gamma 2.2)."""
    tags = [(b"desc", _desc(desc)), (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),
            (b"cprt", _text("No copyright, test data"))]
    if space == b"RGB ":
        tags += [(b"rXYZ", _xyz(0.6097, 0.3111, 0.0195)),
                 (b"gXYZ", _xyz(0.2053, 0.6257, 0.0609)),
                 (b"bXYZ", _xyz(0.1492, 0.0632, 0.7446)),
                 (b"rTRC", _curv(2.2)), (b"gTRC", _curv(2.2)), (b"bTRC", _curv(2.2))]
    else:
        tags += [(b"kTRC", _curv(2.2))]
    table = 128 + 4 + 12 * len(tags)
    offset = table
    entries = b""
    data = b""
    for sig, body in tags:
        pad = (-len(body)) % 4
        entries += sig + struct.pack(">II", offset, len(body))
        data += body + b"\0" * pad
        offset += len(body) + pad
    size = offset
    header = (struct.pack(">I", size) + b"tsra" + struct.pack(">I", 0x02100000) + b"mntr" +
              space + b"XYZ " + struct.pack(">6H", 2024, 1, 1, 0, 0, 0) + b"acsp" +
              b"\0" * 4 + b"\0" * 4 + b"\0" * 4 + b"\0" * 4 + b"\0" * 8 +
              struct.pack(">I", 0) + _s15(0.9642) + _s15(1.0) + _s15(0.8249) + b"tsra")
    header += b"\0" * (128 - len(header))
    out = header + struct.pack(">I", len(tags)) + entries + data
    assert len(out) == size and out[36:40] == b"acsp"
    return out


RGB_ICC = make_profile(b"RGB ", "Tessera test RGB (Adobe RGB primaries)")
GRAY_ICC = make_profile(b"GRAY", "Tessera test gray 2.2")


# --------------------------------------------------------------------------
# files

# identifier -> (what it is, its profile)
SOURCES = {
    "icc-jpeg": ("a JPEG-compressed TIFF pyramid", RGB_ICC),
    "icc-deflate": ("a deflate TIFF pyramid", RGB_ICC),
    "icc-plain.jpg": ("a plain JPEG", RGB_ICC),
    "icc-plain.png": ("a plain PNG", RGB_ICC),
    "icc-j2": ("a JP2 with a colr box of method 2", RGB_ICC),
    "icc-gray": ("a gray JPEG-compressed TIFF pyramid", GRAY_ICC),
}

_made = {}
_daemon = {}


def add_colr_icc(data, icc):
    """A JP2's bytes with the first colr box of jp2h replaced by one of
    method 2 (restricted ICC, JP2 I.5.3.3) holding icc."""
    pos = 0
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"jp2h":
            sub = pos + 8
            while sub < pos + length:
                slen, skind = struct.unpack(">I4s", data[sub:sub + 8])
                if skind == b"colr":
                    colr = struct.pack(">I4sBBB", 11 + len(icc), b"colr", 2, 0, 0) + icc
                    body = data[pos + 8:sub] + colr + data[sub + slen:pos + length]
                    return (data[:pos] + struct.pack(">I4s", 8 + len(body), b"jp2h") + body +
                            data[pos + length:])
                sub += slen
            break
        pos += length
    raise RuntimeError("no colr box in jp2h")


def _make(root, work):
    os.makedirs(work, exist_ok=True)
    rgb = Image.fromarray(PATTERN.array())
    gray = Image.fromarray(GRAY.array()).convert("L")
    src = os.path.join(work, "icc-rgb.png")
    rgb.save(src, icc_profile=RGB_ICC)
    gsrc = os.path.join(work, "icc-gray.png")
    gray.save(gsrc, icc_profile=GRAY_ICC)
    # vips keeps the input's profile in the TIFF it writes
    images.vips("tiffsave", src, os.path.join(root, "icc-jpeg.tif"), *(images.PYR + images.JPEG))
    images.vips("tiffsave", src, os.path.join(root, "icc-deflate.tif"),
                *(images.PYR + ["--compression", "deflate"]))
    images.vips("tiffsave", gsrc, os.path.join(root, "icc-gray.tif"), *(images.PYR + images.JPEG))
    rgb.save(os.path.join(root, "icc-plain.jpg"), "JPEG", quality=95, icc_profile=RGB_ICC)
    rgb.save(os.path.join(root, "icc-plain.png"), "PNG", icc_profile=RGB_ICC)
    pnm = os.path.join(work, "icc.ppm")
    plain_jp2 = os.path.join(work, "icc-plain.jp2")
    images.write_pnm(pnm, PATTERN.array())
    images.opj_wait(images.opj_start(pnm, plain_jp2, ["-n", "4"]), plain_jp2)
    with open(plain_jp2, "rb") as f:
        data = f.read()
    with open(os.path.join(root, "icc-j2.jp2"), "wb") as f:
        f.write(add_colr_icc(data, RGB_ICC))
    # the files themselves must hold the profile, or the test proves nothing
    for ident, (_, icc) in SOURCES.items():
        name = ident if "." in ident else ident + (".jp2" if ident == "icc-j2" else ".tif")
        if name.endswith(".jp2"):
            continue   # PIL cannot read JP2 profiles; checked by the unit tests
        got = Image.open(os.path.join(root, name)).info.get("icc_profile")
        if got != icc:
            raise RuntimeError("%s was written without its profile" % name)


def ensure(ctx):
    if ctx.root not in _made:
        try:
            _make(ctx.root, os.path.join(ctx.tmp, "work-icc"))
            _made[ctx.root] = None
        except Exception as e:
            _made[ctx.root] = "making the ICC test files failed: %s" % e
    if _made[ctx.root]:
        raise AssertionError(_made[ctx.root])
    if ctx.root not in _daemon:
        _daemon[ctx.root] = harness.start_embedded(ctx.tmp, "icc", ctx.root,
                                                   ["--cache-size", "0"])
    return _daemon[ctx.root]


def profile(srv, path):
    im, _ = get_image(srv, path)
    return im.info.get("icc_profile") or None


def describe(p):
    if p is None:
        return "no profile"
    return "a %d-byte %r profile" % (len(p), p[16:20])


def passthrough_count(srv):
    r = srv.get("/metrics")
    expect_status(r, 200, "GET /metrics")
    for line in r.body.decode().splitlines():
        if line.startswith("tessera_passthrough_total"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("/metrics has no tessera_passthrough_total")


# --------------------------------------------------------------------------
# tests

def _register_source(ident, what, icc):
    if icc is RGB_ICC:
        @test("icc: %s carries its profile into jpg, png, webp and tif" % what, server=None)
        def _(ctx, srv):
            d = ensure(ctx)
            for fmt in FORMATS:
                path = "/iiif/3/%s/full/300,/0/default.%s" % (ident, fmt)
                got = profile(d, path)
                expect(got == icc, "GET %s: %s, expected the source's %d bytes" % (
                    path, describe(got), len(icc)))

        @test("icc: gray and bitonal answers of %s carry no RGB profile" % what, server=None)
        def _(ctx, srv):
            d = ensure(ctx)
            for quality in ("gray", "bitonal"):
                for fmt in FORMATS:
                    path = "/iiif/3/%s/full/200,/0/%s.%s" % (ident, quality, fmt)
                    got = profile(d, path)
                    expect(got is None, "GET %s: %s, expected none" % (path, describe(got)))


for _ident, (_what, _icc) in SOURCES.items():
    _register_source(_ident, _what, _icc)


@test("icc: stored JPEG tiles passed through carry the TIFF's profile, edge tiles too",
      server=None)
def _(ctx, srv):
    d = ensure(ctx)
    before = passthrough_count(d)
    # a whole tile, and the edge tile at the bottom right (cut losslessly)
    for region, size in (("0,0,256,256", "256,"), ("512,256,88,144", "88,")):
        path = "/iiif/3/icc-jpeg/%s/%s/0/default.jpg" % (region, size)
        im, _ = get_image(d, path)
        got = im.info.get("icc_profile")
        expect(got == RGB_ICC, "GET %s: %s, expected the TIFF's profile" % (path, describe(got)))
        expect(im.size == tuple(int(v) for v in region.split(",")[2:]),
               "GET %s: size %s" % (path, im.size))
    passed = passthrough_count(d) - before
    expect(passed >= 2, "the tiles were not passed through (/metrics counted %d)" % passed)


@test("icc: a gray answer passed through from colour tiles carries no RGB profile",
      server=None)
def _(ctx, srv):
    d = ensure(ctx)
    path = "/iiif/3/icc-jpeg/256,0,256,256/256,/0/gray.jpg"
    got = profile(d, path)
    expect(got is None, "GET %s: %s, expected none" % (path, describe(got)))


@test("icc: a gray source's gray profile stays on gray outputs and passed tiles, not on webp",
      server=None)
def _(ctx, srv):
    d = ensure(ctx)
    for fmt in ("jpg", "png", "tif"):
        path = "/iiif/3/icc-gray/full/300,/0/default.%s" % fmt
        got = profile(d, path)
        expect(got == GRAY_ICC, "GET %s: %s, expected the gray profile" % (path, describe(got)))
    path = "/iiif/3/icc-gray/full/300,/0/default.webp"
    got = profile(d, path)
    expect(got is None, "GET %s: %s, expected none (WebP is RGB)" % (path, describe(got)))
    path = "/iiif/3/icc-gray/0,0,256,256/256,/0/default.jpg"
    got = profile(d, path)
    expect(got == GRAY_ICC, "GET %s: %s, expected the gray profile" % (path, describe(got)))


@test("icc: a source without a profile answers without one", server=None)
def _(ctx, srv):
    d = ensure(ctx)
    for fmt in FORMATS:
        path = "/iiif/3/pattern/full/200,/0/default.%s" % fmt
        got = profile(d, path)
        expect(got is None, "GET %s: %s, expected none" % (path, describe(got)))
