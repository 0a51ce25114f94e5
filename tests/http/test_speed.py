"""test_speed.py - the speed machinery, checked for correctness (never timed).

Pass-through: a daemon serving stored JPEG tiles as they are and one that
re-encodes everything (--passthrough false) must give the same image for
every tile of every pyramid level, edge tiles included (same size, pixels
within JPEG tolerance), and the pass-through daemon must really have passed
tiles through (its /metrics counts them).  The response cache: a repeated
request and an equivalent request in another form are hits; the byte budget
holds while entries are evicted.  /health and /metrics answer in their
formats.
"""

import json
import math
import re

import numpy
from PIL import ImageOps

import harness
from common import test, expect, expect_status, get_image, iiif

ID = "pattern"     # the JPEG-compressed tiled pyramid of the suite's pattern
_daemons = {}


def _daemon(ctx, name, flags):
    if name not in _daemons:
        _daemons[name] = harness.start_embedded(ctx.tmp, name, ctx.root, flags)
    return _daemons[name]


def _metrics(srv):
    r = srv.get("/metrics")
    expect_status(r, 200, "GET /metrics")
    out = {}
    for line in r.body.decode().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, value = line.rpartition(" ")
        out[name] = float(value)
    return out


def _metric(m, name):
    return sum(v for k, v in m.items() if k == name or k.startswith(name + "{"))


def _mean_abs_diff(a, b):
    x = numpy.asarray(a.convert("RGB"), dtype=numpy.int16)
    y = numpy.asarray(b.convert("RGB"), dtype=numpy.int16)
    return float(numpy.abs(x - y).mean())


def _tiles(info):
    """Every stored tile of every level as (region, size) IIIF parameters
    that map exactly onto it: level sizes come from info.json's sizes."""
    w, h = info["width"], info["height"]
    tw = info["tiles"][0]["width"]
    th = info["tiles"][0].get("height", tw)
    out = []
    for s in info["tiles"][0]["scaleFactors"]:
        lw = next((z["width"] for z in info["sizes"] if round(w / z["width"]) == s), None)
        lh = next((z["height"] for z in info["sizes"] if round(w / z["width"]) == s), None)
        if lw is None:
            continue
        for ty in range(math.ceil(lh / th)):
            for tx in range(math.ceil(lw / tw)):
                vw, vh = min(tw, lw - tx * tw), min(th, lh - ty * th)
                x, y = tx * tw * s, ty * th * s
                rw, rh = min(tw * s, w - x), min(th * s, h - y)
                out.append(("%d,%d,%d,%d" % (x, y, rw, rh), "%d,%d" % (vw, vh), vw, vh, s))
    return out


@test("speed: pass-through and re-encoding give the same image for every tile of every "
      "level, edge tiles included", server=None)
def _(ctx, srv):
    on = _daemon(ctx, "pt-on", ["--cache-size", "0"])
    # Re-encoding at q95 (4:4:4, like the stored tiles) so the comparison
    # measures the two paths, not the loss of a q75 4:2:0 encode.
    off = _daemon(ctx, "pt-off", ["--cache-size", "0", "--passthrough", "false",
                                  "--jpeg-quality", "95"])
    before = _metric(_metrics(on), "tessera_passthrough_total")
    total = 0
    # 2000x1500 and 1001x751 (edge tiles on every level, floor-halved levels),
    # gray tiles, and 256x128 tiles
    for ident in (ID, "odd", "v-gray", "v-tile128"):
        info = json.loads(on.get("/iiif/3/%s/info.json" % ident).body)
        tiles = _tiles(info)
        expect(len(tiles) >= 10, "%s: only %d tiles to compare" % (ident, len(tiles)))
        for region, size, vw, vh, s in tiles:
            path = iiif(3, ident, region, size)
            a, _ = get_image(on, path)
            b, _ = get_image(off, path)
            expect(a.size == (vw, vh) and b.size == (vw, vh),
                   "%s: pass-through %s, re-encoded %s, expected %dx%d" % (path, a.size, b.size,
                                                                          vw, vh))
            d = _mean_abs_diff(a, b)
            expect(d < 3.0, "%s: pass-through and re-encoded tiles differ by %.2f on average"
                   % (path, d))
        total += len(tiles)
    passed = _metric(_metrics(on), "tessera_passthrough_total") - before
    expect(passed >= total * 0.9, "only %d of %d stored tiles were passed through"
           % (passed, total))
    expect(_metric(_metrics(off), "tessera_passthrough_total") == 0,
           "--passthrough false still passed tiles through")


@test("speed: full/max and info.json's level sizes of a JPEG-tiled image are made from the "
      "tiles' coefficients and match the decoded image", server=None)
def _(ctx, srv):
    d = _daemon(ctx, "pt-on", ["--cache-size", "0"])
    before = _metric(_metrics(d), "tessera_transcoded_total")
    asked = 0
    for ident in (ID, "odd", "v-tile128"):
        info = json.loads(d.get("/iiif/3/%s/info.json" % ident).body)
        # full/max, and the next level down as a viewer's thumbnail asks
        # it: a size from "sizes" (larger than one tile, so not a stored
        # tile passed through)
        sizes = sorted((z["width"], z["height"]) for z in info["sizes"])
        below = [z for z in sizes if z[0] < info["width"] and z[0] > info["tiles"][0]["width"]]
        for size, want in [("max", (info["width"], info["height"]))] + \
                [("%d,%d" % below[-1], below[-1])] * bool(below):
            jpg, _ = get_image(d, iiif(3, ident, "full", size))
            png, _ = get_image(d, iiif(3, ident, "full", size, fmt="png"))
            expect(jpg.size == png.size == want,
                   "%s %s: jpg %s, png %s, expected %s" % (ident, size, jpg.size, png.size,
                                                          want))
            # The usual path's answer (decode, re-encode) is the yardstick:
            # mirrored twice, it is the same picture through pixels.
            usual, _ = get_image(d, iiif(3, ident, "full", size, rotation="!0"))
            usual = ImageOps.mirror(usual)
            ours, theirs = _mean_abs_diff(jpg, png), _mean_abs_diff(usual, png)
            # Photographs come out as close as re-encoding; hard saturated
            # colour edges (this pattern) a little less close, because
            # chroma is halved from each block's lower frequencies.
            expect(ours <= 1.3 * theirs + 0.1,
                   "%s %s: %.2f from the decoded png on average, re-encoding %.2f"
                   % (ident, size, ours, theirs))
            asked += 1
    made = _metric(_metrics(d), "tessera_transcoded_total") - before
    expect(asked >= 5 and made == asked, "%d of %d whole levels were made from coefficients"
           % (made, asked))
    # Rotated, mirrored or gray answers are not: they take the usual path.
    for path in (iiif(3, ID, "full", "max", rotation="90"),
                 iiif(3, ID, "full", "max", quality="gray"),
                 iiif(3, ID, "full", "max", rotation="!0")):
        expect_status(d.get(path), 200, path)
    expect(_metric(_metrics(d), "tessera_transcoded_total") - before == made,
           "a rotated, mirrored or gray full/max was made from coefficients")


@test("speed: a repeated request and an equivalent form of it are served from the cache",
      server=None)
def _(ctx, srv):
    d = _daemon(ctx, "cache-on", ["--cache-size", "64"])
    first = iiif(3, ID, "0,0,512,512", "256,")
    same = iiif(3, ID, "0,0,512,512", "256,256")     # 3.0 canonical form of the first
    r1 = d.get(first)
    expect_status(r1, 200, first)
    m0 = _metrics(d)
    r2 = d.get(first)
    r3 = d.get(same)
    m1 = _metrics(d)
    expect(r2.body == r1.body and r3.body == r1.body, "cached answers differ from the first")
    expect(r2.header("ETag") == r1.header("ETag") == r3.header("ETag"), "ETags differ")
    hits = _metric(m1, "tessera_cache_hits_total") - _metric(m0, "tessera_cache_hits_total")
    expect(hits >= 2, "expected 2 cache hits, /metrics counted %d" % hits)


@test("speed: the response cache stays within its byte budget while evicting", server=None)
def _(ctx, srv):
    d = _daemon(ctx, "cache-small", ["--cache-size", "1"])
    budget = 1 << 20
    n = 0
    for x in range(0, 1400, 40):
        for size in range(400, 600, 40):
            r = d.get(iiif(3, ID, "%d,0,600,600" % x, "%d," % size))
            expect_status(r, 200, "region at x=%d" % x)
            n += len(r.body)
    m = _metrics(d)
    expect(n > 1.5 * budget, "the requests made only %d bytes; the test needs more" % n)
    expect(_metric(m, "tessera_cache_evictions_total") > 0, "no eviction after %d bytes" % n)
    expect(0 < _metric(m, "tessera_cache_bytes") <= budget,
           "cache holds %d bytes with a budget of %d" % (_metric(m, "tessera_cache_bytes"), budget))
    expect(_metric(m, "tessera_cache_budget_bytes") == budget, "budget reported wrongly")


@test("speed: /health answers ok and /metrics is Prometheus text with the documented families",
      server=None)
def _(ctx, srv):
    d = _daemon(ctx, "cache-on", ["--cache-size", "64"])
    r = d.get("/health")
    expect_status(r, 200, "/health")
    expect(r.body.strip() == b"ok", "/health said %r" % r.body[:40])
    d.get(iiif(3, ID, "full", "100,"))
    d.get("/iiif/3/no-such-image/info.json")
    r = d.get("/metrics")
    expect(r.media_type == "text/plain", "/metrics Content-Type %r" % r.header("Content-Type"))
    text = r.body.decode()
    for family in ("tessera_requests_total", "tessera_request_duration_seconds_bucket",
                   "tessera_request_duration_seconds_count", "tessera_cache_hits_total",
                   "tessera_cache_misses_total", "tessera_cache_evictions_total",
                   "tessera_cache_bytes", "tessera_open_images", "tessera_workers_busy",
                   "tessera_passthrough_total", "tessera_transcoded_total",
                   "tessera_memory_trims_total"):
        expect(re.search(r"^%s(\{[^}]*\})? [0-9.e+]+$" % family, text, re.M),
               "/metrics lacks %s" % family)
    expect(re.search(r'^tessera_requests_total\{route="iiif_image",status="200"\} [1-9]', text, re.M),
           "no 200 counted for route iiif_image")
    expect(re.search(r'^tessera_requests_total\{route="iiif_info",status="404"\} [1-9]', text, re.M),
           "no 404 counted for route iiif_info")
    buckets = [float(v) for v in re.findall(
        r'^tessera_request_duration_seconds_bucket\{le="[^"]+"\} ([0-9.e+]+)$', text, re.M)]
    expect(buckets and all(a <= b for a, b in zip(buckets, buckets[1:])),
           "histogram buckets are not cumulative: %s" % buckets)
