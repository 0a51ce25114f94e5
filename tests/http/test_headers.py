"""test_headers.py - HTTP behaviour every viewer relies on.

CORS on every status (viewers fail silently without it), Content-Length
equal to the body (a truncated 200 must be detectable), caching validators
(strong ETag, Last-Modified, 304s without a body), HEAD, OPTIONS preflight,
405 for other methods, and error bodies that are short plain text with no
server path and no echoed markup.  Cited: IIIF 3.0 §7 (Server Responses:
CORS, Content-Type), RFC 9110 (HEAD §9.3.2, 304 §15.4.5, Content-Length
§8.6), RFC 9111, and the Fetch standard for preflight.
"""

import datetime

from common import (core, expect, expect_status, iiif, http_date, fmt_http_date, short)

ID = "pattern"
TILE = iiif(3, ID, "0,0,512,512", "256,", "0", "default", "jpg")


def status_samples(srv):
    """(label, path, expected status, headers) covering 200, 303, 304, 400, 404
    (every IIIF format is written now: a .gif is a 200)."""
    r = srv.get(TILE)
    etag = r.header("ETag") or '"none"'
    return [
        ("200 image", TILE, 200, {}),
        ("200 info.json", "/iiif/3/%s/info.json" % ID, 200, {}),
        ("303 base URI", "/iiif/3/%s" % ID, 303, {}),
        ("304 not modified", TILE, 304, {"If-None-Match": etag}),
        ("400 bad size", iiif(3, ID, "full", "0,"), 400, {}),
        ("404 unknown id", "/iiif/3/nosuchimage/info.json", 404, {}),
        ("200 gif", iiif(3, ID, "0,0,10,10", "max", fmt="gif"), 200, {}),
    ]


@core("every status (200, 303, 304, 400, 404) has CORS, Content-Type and a true Content-Length (3.0 §7, RFC 9110 §8.6)")
def _(ctx, srv):
    get_len = len(srv.get(TILE).body)
    for label, path, code, hdrs in status_samples(srv):
        r = srv.get(path, headers=hdrs)
        expect_status(r, code, "%s: GET %s" % (label, path))
        expect(r.header("Access-Control-Allow-Origin") == "*",
               "%s: Access-Control-Allow-Origin %r" % (label, r.header("Access-Control-Allow-Origin")))
        cl = r.header("Content-Length")
        if code == 304:
            expect(not r.body, "304 with a %d-byte body" % len(r.body))
            # RFC 9110 §8.6: a 304 may carry Content-Length only if it equals the 200's
            expect(cl is None or int(cl) == get_len,
                   "304 with Content-Length %s; RFC 9110 §8.6 allows only the 200's %d or none" % (cl, get_len))
            continue
        expect(cl is not None, "%s: no Content-Length" % label)
        expect(int(cl) == len(r.body), "%s: Content-Length %s but %d body bytes" % (label, cl, len(r.body)))
        # RFC 9110 §8.3: Content-Type goes with content; an empty 303 needs none
        expect(r.header("Content-Type") or not r.body, "%s: no Content-Type on a %d-byte body" % (label, len(r.body)))
        expect(r.complete, "%s: connection did not end cleanly" % label)


@core("image responses carry Last-Modified, a strong ETag and Cache-Control (RFC 9110 §8.8, RFC 9111)")
def _(ctx, srv):
    r = srv.get(TILE)
    expect_status(r, 200, "GET " + TILE)
    etag = r.header("ETag")
    expect(etag and etag.startswith('"') and etag.endswith('"') and len(etag) > 2,
           "ETag %r is not a strong quoted tag" % etag)
    lm = r.header("Last-Modified")
    expect(lm, "no Last-Modified")
    http_date(lm)
    expect(r.header("Cache-Control"), "no Cache-Control")
    other = srv.get(iiif(3, ID, "0,0,512,512", "128,"))
    expect(other.header("ETag") != etag, "two different images share ETag %r" % etag)
    again = srv.get(TILE)
    expect(again.header("ETag") == etag, "ETag changed between identical requests: %r %r" % (etag, again.header("ETag")))
    info = srv.get("/iiif/3/%s/info.json" % ID)
    expect(info.header("ETag") or info.header("Last-Modified"), "info.json has no validator")


@core("If-None-Match with the ETag is 304 with no body and keeps CORS (RFC 9110 §13.1.2)")
def _(ctx, srv):
    r = srv.get(TILE)
    etag = r.header("ETag")
    for hdr in (etag, 'W/%s' % etag, '"nope", %s' % etag, "*"):
        r2 = srv.get(TILE, headers={"If-None-Match": hdr})
        expect_status(r2, 304, "If-None-Match: %s" % hdr)
        expect(r2.body == b"", "304 has a %d-byte body" % len(r2.body))
        expect(r2.header("ETag") == etag, "304 ETag %r, 200 had %r" % (r2.header("ETag"), etag))
    expect(r2.header("Access-Control-Allow-Origin") == "*", "304 without CORS")
    r3 = srv.get(TILE, headers={"If-None-Match": '"something-else"'})
    expect_status(r3, 200, "If-None-Match with another tag")
    ri = srv.get("/iiif/3/%s/info.json" % ID)
    if ri.header("ETag"):
        r4 = srv.get("/iiif/3/%s/info.json" % ID, headers={"If-None-Match": ri.header("ETag")})
        expect_status(r4, 304, "info.json If-None-Match")


@core("If-Modified-Since at or after Last-Modified is 304, before it is 200 (RFC 9110 §13.1.3)")
def _(ctx, srv):
    r = srv.get(TILE)
    lm = r.header("Last-Modified")
    t = http_date(lm)
    for when, code in ((lm, 304), (fmt_http_date(t + datetime.timedelta(days=1)), 304),
                       (fmt_http_date(t - datetime.timedelta(days=1)), 200)):
        r2 = srv.get(TILE, headers={"If-Modified-Since": when})
        expect_status(r2, code, "If-Modified-Since: %s (Last-Modified %s)" % (when, lm))
        if code == 304:
            expect(r2.body == b"", "304 with a body")
    r3 = srv.get(TILE, headers={"If-Modified-Since": "not a date"})
    expect_status(r3, 200, "If-Modified-Since: not a date")


@core("HEAD returns the GET headers and Content-Length without a body (RFC 9110 §9.3.2)")
def _(ctx, srv):
    for path, code in ((TILE, 200), ("/iiif/3/%s/info.json" % ID, 200), (iiif(3, ID, "full", "0,"), 400),
                       ("/iiif/3/nosuchimage/info.json", 404)):
        g = srv.get(path)
        h = srv.get(path, method="HEAD")
        expect_status(h, code, "HEAD " + path)
        expect(h.body == b"", "HEAD %s: %d body bytes" % (path, len(h.body)))
        expect(h.header("Content-Length") == g.header("Content-Length"),
               "HEAD %s: Content-Length %r, GET has %r" % (path, h.header("Content-Length"), g.header("Content-Length")))
        expect(h.header("Content-Type") == g.header("Content-Type"), "HEAD %s: Content-Type differs" % path)
        expect(h.header("Access-Control-Allow-Origin") == "*", "HEAD %s: no CORS" % path)
        if code == 200:
            expect(h.header("ETag") == g.header("ETag"), "HEAD %s: ETag differs" % path)


@core("OPTIONS preflight answers 2xx with Allow-Origin and Allow-Methods (Fetch CORS preflight)")
def _(ctx, srv):
    for path in (TILE, "/iiif/3/%s/info.json" % ID, "/iiif/2/%s/info.json" % ID):
        r = srv.get(path, method="OPTIONS", headers={
            "Origin": "https://viewer.example.org", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "Accept"})
        expect_status(r, range(200, 300), "OPTIONS " + path)
        expect(r.header("Access-Control-Allow-Origin") in ("*", "https://viewer.example.org"),
               "OPTIONS %s: Access-Control-Allow-Origin %r" % (path, r.header("Access-Control-Allow-Origin")))
        methods = (r.header("Access-Control-Allow-Methods") or "").upper()
        expect("GET" in methods, "OPTIONS %s: Access-Control-Allow-Methods %r" % (path, methods))
        expect(r.body == b"" or int(r.header("Content-Length") or -1) == len(r.body), "OPTIONS body/length mismatch")


@core("POST, PUT and DELETE are 405 (RFC 9110 §15.5.6)")
def _(ctx, srv):
    for m in ("POST", "PUT", "DELETE"):
        r = srv.get(TILE, method=m)
        expect_status(r, 405, "%s %s" % (m, TILE))
        expect(r.header("Access-Control-Allow-Origin") == "*", "%s: 405 without CORS" % m)
    # A body nobody reads (900 KB, larger than any socket buffer) must not
    # turn the answer into a 502 through nginx.
    r = srv.get(TILE, method="POST", body=b"x" * 900000)
    expect_status(r, 405, "POST %s with a 900 KB body" % TILE)


@core("info.json answers carry Vary: Accept (3.0 §7 Content-Type)")
def _(ctx, srv):
    r = srv.get("/iiif/3/%s/info.json" % ID)
    expect("accept" in ",".join(r.headers_all("Vary")).lower(), "Vary %r" % r.headers_all("Vary"))


@core("error bodies are short plain text without server paths (house rule, field notes)")
def _(ctx, srv):
    paths = [iiif(3, ID, "full", "0,"), "/iiif/3/nosuchimage/info.json",
             iiif(3, ID, "full", "99999,", fmt="pdf"), "/iiif/3/..%2F..%2Fetc%2Fpasswd/info.json",
             iiif(3, "huge", "full", "max"), iiif(3, "corrupt", "1024,768,256,256", "max"),
             iiif(3, ID, "99999,0,10,10", "max")]
    for path in paths:
        r = srv.get(path)
        expect(r.status >= 400, "GET %s: %d" % (path, r.status))
        expect(r.media_type == "text/plain", "GET %s: %d error is %r, expected text/plain" % (path, r.status, r.header("Content-Type")))
        expect(len(r.body) < 1024, "GET %s: %d-byte error body" % (path, len(r.body)))
        text = r.body.decode("latin-1")
        for leak in (ctx.tmp, ctx.root, "/tmp", "/etc/", "/run/", "tessera.sock"):
            expect(leak not in text, "GET %s: error body reveals %r: %s" % (path, leak, short(r.body)))


@core("markup in the identifier is never echoed raw (house rule)")
def _(ctx, srv):
    for path in ("/iiif/3/<script>alert(1)</script>/info.json",
                 "/iiif/3/%3Cscript%3Ealert(1)%3C%2Fscript%3E/info.json",
                 "/iiif/3/<script>/full/max/0/default.jpg",
                 iiif(3, ID, "<script>", "max"), iiif(3, ID, "full", "max", "0", "<script>")):
        r = srv.get(path)
        expect(r.status >= 400, "GET %s: %d" % (path, r.status))
        expect(b"<script>" not in r.body.lower(), "GET %s echoes <script>: %s" % (path, short(r.body)))
        expect(r.media_type != "text/html", "GET %s: error is text/html" % path)
