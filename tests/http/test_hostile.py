"""test_hostile.py - requests and files meant to hurt, behind nginx.

Each hostile request must be answered with an error status in under a
second, and afterwards the daemon must still answer info.json with 200
(field notes: format strings crashed a peer, a region outside the image
spun 23 s of CPU, a 100000x100000 TIFF took 30 s and 2 GiB, corrupt tiles
came back as 200).  The last test checks the daemon process survived it all.
"""

import time

from common import test, expect, expect_status, iiif, short

ID = "pattern"
LIMIT_S = 1.0


def still_serving(srv, after):
    r = srv.get("/iiif/3/%s/info.json" % ID)
    expect(r.status == 200, "after %s: info.json answered %d" % (after, r.status))


def hostile(srv, path, codes=range(400, 600), headers=None, limit=LIMIT_S, method="GET"):
    t0 = time.monotonic()
    try:
        r = srv.get(path, headers=headers, method=method)
    except Exception as e:
        raise AssertionError("%s %r: no answer (%s); daemon alive: %s" % (
            method, path, e, srv.daemon_alive()))
    dt = time.monotonic() - t0
    expect(r.status in codes, "%s %r: expected %s, got %d (%s)" % (
        method, path, "%d-%d" % (codes.start, codes.stop - 1) if isinstance(codes, range) else codes,
        r.status, short(r.body, 60)))
    expect(dt < limit, "%s %r took %.2f s (limit %.1f s)" % (method, path, dt, limit))
    still_serving(srv, repr(path))
    return r


CASES = [
    ("malformed numbers in the region are 400",
     [iiif(3, ID, reg) for reg in ("1e10,0,10,10", "-5,0,10,10", "0x10,0,10,10", "99999999999999999999,0,10,10",
                                   "0,0,99999999999999999999,10", "pct:1e400,0,1,1",
                                   "0,0,10,10%20", "0,,10,10", "0,0,10,10,")], (400,)),
    ("format strings in the region are 400", [iiif(3, ID, "%25n%25n%25n%25s"), iiif(3, ID, "%n%n%n%s")], (400,)),
    ("format strings in the identifier are 404",
     ["/iiif/3/%25n%25n%25n%25s/info.json", "/iiif/3/%25n%25s%25x%25p/full/max/0/default.jpg"], (404,)),
    ("format strings in the format are 400", [iiif(3, ID, "0,0,10,10", "max", fmt="%25n%25n%25s")], (400,)),
    ("huge sizes are refused, not attempted",
     [iiif(3, ID, "full", "100000000,"), iiif(3, ID, "full", "^100000000,"), iiif(3, ID, "full", "^100000,100000"),
      iiif(3, ID, "full", "^pct:100000"), iiif(2, ID, "full", "100000000,"), iiif(2, ID, "0,0,1,1", "4000000000,4000000000"),
      iiif(3, ID, "full", "4294967296,")], range(400, 500)),
    ("a region wholly outside the image is 400 at once",
     [iiif(3, ID, "4000000000,4000000000,10,10"), iiif(3, ID, "2001,0,4000000000,4000000000"),
      iiif(3, ID, "pct:200,200,10,10")], (400,)),
    ("path traversal in any encoding is 404",
     ["/iiif/3/..%2F..%2F..%2Fetc%2Fpasswd/info.json", "/iiif/3/%2e%2e%2F%2e%2e%2Fetc%2Fpasswd/info.json",
      "/iiif/3/%2Fetc%2Fpasswd/info.json", "/iiif/3/..%252F..%252Fetc%252Fpasswd/info.json",
      "/iiif/3/%2E%2E%2Fpattern/info.json", "/iiif/3/..%5C..%5Cetc%5Cpasswd/info.json",
      "/iiif/3/sub%2F..%2F..%2Fpattern/info.json", "/iiif/3/%2Fproc%2Fself%2Fenviron/full/max/0/default.jpg",
      "/iiif/3/pattern%00.tif/info.json", "/iiif/3/..%2Foutside/info.json",
      "/iiif/3/..%2Foutside/full/max/0/default.jpg", "/iiif/3/%2E%2E%2Foutside/info.json",
      "/iiif/3/sub%2F..%2F..%2Foutside/info.json"], (400, 404)),
]


def _make(name, paths, codes):
    @test(name)
    def _(ctx, srv):
        for p in paths:
            hostile(srv, p, codes if not isinstance(codes, tuple) else codes)
    return _


for _name, _paths, _codes in CASES:
    _make(_name, _paths, _codes)


@test("format strings in request headers change nothing")
def _(ctx, srv):
    h = "%n%n%n%s%s%s%x"
    for hdrs in ({"Accept": h}, {"If-None-Match": h}, {"If-Modified-Since": h}, {"Host": h},
                 {"Origin": h}, {"X-Forwarded-Host": h}, {"User-Agent": h}):
        r = srv.get("/iiif/3/%s/info.json" % ID, headers=hdrs)
        expect(r.status in (200, 400), "header %r: %d" % (hdrs, r.status))
        expect(b"%n" not in r.body or r.status == 200, "header echoed")
        if "Host" not in hdrs and "X-Forwarded-Host" not in hdrs:
            expect_status(r, 200, "info.json with header %r" % hdrs)
    still_serving(srv, "format-string headers")


@test("a symlink leading out of the root is not followed")
def _(ctx, srv):
    hostile(srv, "/iiif/3/%s/info.json" % ctx.extras["symlink"], (403, 404))
    hostile(srv, iiif(3, ctx.extras["symlink"], "0,0,10,10"), (403, 404))


@test("an absurdly long identifier and region are refused quickly")
def _(ctx, srv):
    hostile(srv, "/iiif/3/%s/info.json" % ("a" * 3000), (404, 414, 400))
    hostile(srv, iiif(3, ID, "1" * 3000 + ",0,10,10"), (400, 414))
    hostile(srv, "/iiif/3/" + "%2F" * 500 + "x/info.json", (404, 414, 400))


@test("a corrupt tile is a 500, never a 200, every time")
def _(ctx, srv):
    x, y, w, h = ctx.extras["corrupt"]
    for _ in range(2):
        r = hostile(srv, iiif(3, "corrupt", "%d,%d,%d,%d" % (x, y, w, h), "%d," % w), (500,))
        cc = (r.header("Cache-Control") or "").lower()
        expect("max-age=0" in cc or "no-store" in cc or "no-cache" in cc or "max-age" not in cc,
               "a 500 is cacheable: Cache-Control %r" % cc)
    # a region overlapping the tile at a coarser level is served from that level,
    # but one touching it at full resolution must fail
    hostile(srv, iiif(3, "corrupt", "%d,%d,100,100" % (x + 50, y + 50), "max"), (500,))
    r = srv.get(iiif(3, "corrupt", "0,0,256,256", "256,"))
    expect_status(r, 200, "an intact tile of the corrupt file")


@test("a TIFF declaring 100000x100000 pixels without a pyramid is refused fast")
def _(ctx, srv):
    for path in (iiif(3, "huge", "full", "max"), iiif(3, "huge", "full", "1000,"),
                 iiif(3, "huge", "0,0,10,10", "max"), iiif(3, "huge", "50000,50000,256,256", "256,"),
                 iiif(2, "huge", "full", "full")):
        hostile(srv, path, range(400, 600))
    r = srv.get("/iiif/3/huge/info.json")
    expect(r.status in (200, 403, 500), "huge info.json %d" % r.status)


@test("a request over the decode budget is 403 and a small one still works", server="budget")
def _(ctx, srv):
    hostile(srv, iiif(3, ID, "full", "max"), (403,))
    hostile(srv, iiif(3, "v-striped", "full", "500,"), (403,))
    r = srv.get(iiif(3, ID, "0,0,100,100", "100,"))
    expect_status(r, 200, "a 100x100 region under a 100000-pixel budget")
    r = srv.get(iiif(3, ID, "full", "200,"))
    expect_status(r, 200, "a 200-wide thumbnail from the 250x188 level under the budget")


@test("many bad requests in a row leave the daemon serving")
def _(ctx, srv):
    t0 = time.monotonic()
    for i in range(100):
        srv.get(iiif(3, ID, "%d,0,0,10" % i) if i % 2 else "/iiif/3/nx%d/info.json" % i)
    expect(time.monotonic() - t0 < 10, "100 bad requests took %.1f s" % (time.monotonic() - t0))
    still_serving(srv, "100 bad requests")


@test("after the hostile set the daemon process is still alive")
def _(ctx, srv):
    expect(srv.daemon_alive(), "tessera exited with %s" % srv.procs[0].returncode)
    expect(srv.alive(), "nginx exited")
    still_serving(srv, "all hostile tests")
