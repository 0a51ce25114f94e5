"""common.py - the test registry, the shared context and assertion helpers.

Tests are plain functions registered with @core (run once per setup: behind
nginx over FastCGI, and in embedded HTTP mode) or @test (run once, against
the server named by `server=`).  A test passes by returning, fails by
raising AssertionError (or anything else), and is skipped by raising Skip.
Servers are started lazily by the context the first time a test asks for
them, so a setup that cannot start fails exactly the tests that need it.
"""

import email.utils
import json
import math

import harness
import pixels

CORE = []     # (name, fn)       run for every setup in SETUPS
TESTS = []    # (name, server, fn)
SETUPS = ("nginx", "embedded")


class Skip(Exception):
    pass


def core(name):
    def deco(fn):
        CORE.append((name, fn))
        return fn
    return deco


def test(name, server="nginx"):
    def deco(fn):
        TESTS.append((name, server, fn))
        return fn
    return deco


# --------------------------------------------------------------------------

SERVER_CONFIGS = {
    # name: (kind, extra flags)
    "nginx": ("nginx", []),
    "embedded": ("embedded", []),
    "maxw": ("embedded", ["--max-width", "1000"]),
    "noup": ("embedded", ["--allow-upscaling", "0"]),
    "v2default": ("embedded", ["--default-version", "2"]),
    "baseurl": ("embedded", ["--base-url", "https://images.example.org"]),
    "budget": ("embedded", ["--max-decode-pixels", "100000"]),
    "spawn": ("spawn", []),
}


class Context:
    def __init__(self, tmp, root, variants, extras):
        self.tmp = tmp
        self.root = root
        self.variants = variants
        self.extras = extras
        self._servers = {}
        self._errors = {}
        self._info = {}

    def server(self, name):
        if name in self._errors:
            raise harness.SetupError(self._errors[name])
        if name not in self._servers:
            kind, extra = SERVER_CONFIGS[name]
            try:
                if kind == "nginx":
                    s = harness.start_nginx_fastcgi(self.tmp, name, self.root, extra)
                elif kind == "spawn":
                    s = harness.start_spawn_fcgi(self.tmp, name, self.root)
                else:
                    s = harness.start_embedded(self.tmp, name, self.root, extra)
            except harness.SetupError as e:
                self._errors[name] = "%s setup failed: %s" % (name, e)
                raise harness.SetupError(self._errors[name])
            self._servers[name] = s
        return self._servers[name]

    def running(self):
        return dict(self._servers)

    def info(self, srv, ident="pattern", version=3):
        key = (srv.name, ident, version)
        if key not in self._info:
            r = srv.get("/iiif/%d/%s/info.json" % (version, ident))
            expect_status(r, 200, "GET /iiif/%d/%s/info.json" % (version, ident))
            self._info[key] = json.loads(r.body)
        return self._info[key]


# --------------------------------------------------------------------------
# helpers

def iiif(version, ident, region="full", size="max", rotation="0", quality="default", fmt="jpg"):
    v = "%s/" % version if version else ""
    return "/iiif/%s%s/%s/%s/%s/%s.%s" % (v, ident, region, size, rotation, quality, fmt)


def short(body, n=120):
    t = body[:n].decode("latin-1", errors="replace")
    return repr(t) + ("..." if len(body) > n else "")


def expect_status(r, code, what):
    codes = code if isinstance(code, (tuple, list, range)) else (code,)
    if r.status not in codes:
        cs = sorted(set(codes))
        parts = []
        for c in cs:
            if parts and parts[-1][1] == c - 1:
                parts[-1][1] = c
            else:
                parts.append([c, c])
        desc = " or ".join("%d" % a if a == b else "%d-%d" % (a, b) for a, b in parts)
        raise AssertionError("%s: expected %s, got %d %s (%s)" % (
            what, desc,
            r.status, r.media_type, short(r.body) if not r.media_type.startswith("image/") else "%d bytes" % len(r.body)))


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


MIME = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "tif": "image/tiff",
        "gif": "image/gif", "jp2": "image/jp2", "pdf": "application/pdf"}
PIL_FORMAT = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP", "tif": "TIFF", "gif": "GIF",
              "jp2": "JPEG2000", "pdf": "PDF"}


def get_image(srv, path, fmt=None, headers=None):
    """GET path, require 200 with the format's Content-Type and a body PIL
    decodes as that format.  Returns (PIL image, response)."""
    if fmt is None:
        fmt = path.split("?")[0].rsplit(".", 1)[-1]
    r = srv.get(path, headers=headers)
    expect_status(r, 200, "GET " + path)
    expect(r.media_type == MIME[fmt], "GET %s: Content-Type %r, expected %s" % (
        path, r.header("Content-Type"), MIME[fmt]))
    try:
        # PDF: rendered by poppler's pdftoppm at 72 dpi (pixels.decode_pdf)
        im = pixels.decode_pdf(r.body) if fmt == "pdf" else pixels.decode(r.body)
    except Exception as e:
        raise AssertionError("GET %s: body does not decode: %s" % (path, e))
    expect(im.format == PIL_FORMAT[fmt], "GET %s: body is %s, expected %s" % (
        path, im.format, PIL_FORMAT[fmt]))
    return im, r


def expect_size(im, w, h, what, slack=0):
    ok = abs(im.size[0] - w) <= slack and abs(im.size[1] - h) <= slack
    expect(ok, "%s: size %dx%d, expected %dx%d%s" % (
        what, im.size[0], im.size[1], w, h, " (+-%d)" % slack if slack else ""))


def tol_for(fmt, variant_lossy=True):
    if fmt == "jpg":
        return pixels.TOL_JPEG
    if fmt == "webp":
        return pixels.TOL_WEBP
    return pixels.TOL_JPEG if variant_lossy else pixels.TOL_LOSSLESS


def limits(info):
    """(maxWidth, maxHeight, maxArea) from a 3.0 info.json, None when absent.
    3.0 §5.2: if maxWidth is given without maxHeight, maxHeight = maxWidth."""
    mw = info.get("maxWidth")
    mh = info.get("maxHeight", mw)
    ma = info.get("maxArea")
    return mw, mh, ma


def expected_max(rw, rh, info, upscale=False):
    """The size 'max' (or '^max' when upscale) resolves to for a region of
    rw x rh under the limits in info (3.0 §4.2).  Returns floats; callers
    allow one pixel of rounding."""
    mw, mh, ma = limits(info)
    s = [] if upscale else [1.0]
    if mw:
        s.append(mw / rw)
    if mh:
        s.append(mh / rh)
    if ma:
        s.append(math.sqrt(ma / (rw * rh)))
    k = min(s) if s else 1.0
    return rw * k, rh * k


def http_date(s):
    t = email.utils.parsedate_to_datetime(s)
    return t


def fmt_http_date(dt):
    return email.utils.format_datetime(dt, usegmt=True)
