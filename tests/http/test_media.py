"""test_media.py - the published media files at /iiif/{item}/res/{file}
(presentation.md §4): Range, If-Range, HEAD, validators, exact Content-Type,
CORS, confinement, and bytes that never pass through the daemon's memory.

Three front doors are held to the same answers, each started once on its
own media root (a small tree of files of known bytes, made here):
  accel     FastCGI behind nginx with media_accel_location: Tessera answers
            X-Accel-Redirect and nginx sends the file (conf/nginx-tessera.conf)
  stream    FastCGI behind nginx without it: Tessera streams the file in chunks
  embedded  the embedded HTTP server: MHD sends the descriptor (sendfile)
A 2 GB sparse file is read in ranges and whole while the daemon's VmRSS is
watched.  Cited: RFC 9110 §14 (Range, 206, 416), §13.1.5 (If-Range), §9.3.2
(HEAD), §15.4.5 (304).
"""

import os
import re
import shutil
import socket
import threading
import time
import urllib.parse

import harness
from common import test, expect, expect_status, short, Skip

SETUPS = ("accel", "stream", "embedded")
ACCEL = "/tessera-media"
BIG = 2 * 1024 ** 3 + 12345          # a sparse file a little over 2 GB
BIG_MARKS = {0: b"start-of-big", 2 ** 30: b"middle-of-big", BIG - 11: b"end-of-big!"}
RSS_SLACK_KB = 6 * 1024              # "a few MB"

# extension -> the publishing table's exact type (probe/media_type.c)
TYPES = {
    "mp3": "audio/mpeg", "m4a": "audio/mp4", "ogg": "audio/ogg", "opus": "audio/ogg",
    "wav": "audio/wav", "flac": "audio/flac", "mp4": "video/mp4", "webm": "video/webm",
    "ogv": "video/ogg", "pdf": "application/pdf", "glb": "model/gltf-binary",
    "gltf": "model/gltf+json", "vtt": "text/vtt", "xml": "application/xml",
    "jpg": "image/jpeg", "png": "image/png", "tif": "image/tiff", "epub": "application/epub+zip",
}

_state = {"root": None, "files": {}, "servers": {}, "errors": {}}


def pattern(n, seed):
    """n bytes no two files share, every byte position distinguishable."""
    return bytes(((i * 31 + seed * 7 + (i >> 8)) & 255) for i in range(n))


def make_root(tmp):
    """The media tree; returns (root, {url path: bytes})."""
    root = os.path.join(tmp, "media-root")
    outside = os.path.join(tmp, "media-outside")
    files = {}
    os.makedirs(os.path.join(root, "recordings", "interview"), exist_ok=True)
    os.makedirs(os.path.join(root, "recordings", ".secret"), exist_ok=True)
    os.makedirs(os.path.join(root, "big"), exist_ok=True)
    os.makedirs(outside, exist_ok=True)

    def put(rel, data, url=None):
        with open(os.path.join(root, rel), "wb") as f:
            f.write(data)
        if url:
            files[url] = data

    interview = "/iiif/recordings%2Finterview/res/"
    for i, ext in enumerate(sorted(TYPES)):
        put("recordings/interview/sample.%s" % ext, pattern(1000 + 97 * i, i),
            interview + "sample.%s" % ext)
    put("recordings/interview/side-a.ogg", pattern(300001, 99), interview + "side-a.ogg")
    put("recordings/interview/LOUD.MP3", pattern(5000, 98), interview + "LOUD.MP3")
    put("recordings/interview/name with space & 100%.mp3", pattern(777, 97),
        interview + "name%20with%20space%20%26%20100%25.mp3")
    put("recordings/interview/caf\u00e9 \u00e9t\u00e9.flac", pattern(888, 96),
        interview + "caf%C3%A9%20%C3%A9t%C3%A9.flac")
    put("recordings/interview/what? #1; a+b=c.mp3", pattern(999, 94),
        interview + "what%3F%20%231%3B%20a+b=c.mp3")
    put("recordings/interview/empty.mp3", b"", interview + "empty.mp3")
    put("recordings/interview/notes.txt", b"not published")
    put("recordings/interview/trap.pdf.tif", b"a suffix must not find me")
    put("recordings/interview/.hidden.mp3", b"dot file")
    put("recordings/.secret/x.mp3", b"dot folder")
    put("letter.pdf", pattern(4321, 95), "/iiif/top/res/letter.pdf")
    with open(os.path.join(outside, "secret.mp3"), "wb") as f:
        f.write(b"outside the root")
    os.symlink(os.path.join(outside, "secret.mp3"),
               os.path.join(root, "recordings", "interview", "escape.mp3"))
    os.symlink("side-a.ogg", os.path.join(root, "recordings", "interview", "alias.ogg"))
    files[interview + "alias.ogg"] = files[interview + "side-a.ogg"]
    big = os.path.join(root, "big", "sparse.mp4")
    with open(big, "wb") as f:
        f.truncate(BIG)
        for off, mark in BIG_MARKS.items():
            f.seek(off)
            f.write(mark)
    os.chmod(tmp, 0o755)
    for d, _, names in os.walk(root):
        os.chmod(d, 0o755)
    return root, files


def media(ctx, setup):
    """The server of one setup, started once (with the media root)."""
    st = _state
    if st["root"] is None:
        st["root"], st["files"] = make_root(ctx.tmp)
    if setup in st["errors"]:
        raise harness.SetupError(st["errors"][setup])
    if setup not in st["servers"]:
        try:
            if setup == "accel":
                s = harness.start_nginx_fastcgi(ctx.tmp, "media-accel", st["root"],
                                                ["--media-accel-location", ACCEL])
            elif setup == "stream":
                s = harness.start_nginx_fastcgi(ctx.tmp, "media-stream", st["root"])
            else:
                s = harness.start_embedded(ctx.tmp, "media-embedded", st["root"])
        except harness.SetupError as e:
            st["errors"][setup] = "%s setup failed: %s" % (setup, e)
            raise harness.SetupError(st["errors"][setup])
        st["servers"][setup] = s
    return st["servers"][setup]


def per_setup(name):
    """Register fn once per front door: "media (accel): name"..."""
    def deco(fn):
        for setup in SETUPS:
            def run(ctx, srv, setup=setup):
                fn(ctx, media(ctx, setup), setup)
            test("media (%s): %s" % (setup, name), server=None)(run)
        return fn
    return deco


SIDE_A = "/iiif/recordings%2Finterview/res/side-a.ogg"


def side_a():
    return _state["files"][SIDE_A]


def expect_cors(r, what):
    expect(r.header("Access-Control-Allow-Origin") == "*",
           "%s: Access-Control-Allow-Origin %r" % (what, r.header("Access-Control-Allow-Origin")))
    expect(len(r.headers_all("Access-Control-Allow-Origin")) == 1,
           "%s: Access-Control-Allow-Origin sent %d times" % (
               what, len(r.headers_all("Access-Control-Allow-Origin"))))


def expect_part(r, data, first, last, what):
    expect_status(r, 206, what)
    expect(r.header("Content-Range") == "bytes %d-%d/%d" % (first, last, len(data)),
           "%s: Content-Range %r, expected bytes %d-%d/%d" % (
               what, r.header("Content-Range"), first, last, len(data)))
    expect(int(r.header("Content-Length", "-1")) == last - first + 1,
           "%s: Content-Length %r" % (what, r.header("Content-Length")))
    expect(r.body == data[first:last + 1], "%s: %d bytes, not bytes %d-%d of the file" % (
        what, len(r.body), first, last))


def expect_whole(r, data, what):
    expect_status(r, 200, what)
    expect(int(r.header("Content-Length", "-1")) == len(data),
           "%s: Content-Length %r, file has %d" % (what, r.header("Content-Length"), len(data)))
    expect(r.body == data, "%s: body of %d bytes differs from the file's %d" % (
        what, len(r.body), len(data)))
    expect(r.header("Content-Range") is None, "%s: Content-Range on a 200" % what)


# --------------------------------------------------------------------------
# whole files, types, validators

@per_setup("GET answers 200 with the whole file, Accept-Ranges, a strong ETag, Last-Modified, Cache-Control and CORS")
def _(ctx, srv, setup):
    r = srv.get(SIDE_A)
    expect_whole(r, side_a(), "GET side-a.ogg")
    expect(r.header("Content-Type") == "audio/ogg", "Content-Type %r" % r.header("Content-Type"))
    expect(r.headers_all("Accept-Ranges") == ["bytes"], "Accept-Ranges %r" % r.headers_all("Accept-Ranges"))
    et = r.header("ETag") or ""
    expect(re.fullmatch(r'"[0-9a-f]{16}"', et), "not a strong Tessera ETag: %r" % et)
    expect(len(r.headers_all("ETag")) == 1, "ETag sent %d times" % len(r.headers_all("ETag")))
    expect(r.header("Last-Modified"), "no Last-Modified")
    expect(r.header("Cache-Control") == "max-age=86400", "Cache-Control %r" % r.header("Cache-Control"))
    expect_cors(r, "GET side-a.ogg")
    expect("Content-Range" in (r.header("Access-Control-Expose-Headers") or ""),
           "Content-Range not exposed to scripts (PDF.js reads it): %r" % r.header("Access-Control-Expose-Headers"))
    expect(r.header("X-Accel-Redirect") is None, "X-Accel-Redirect leaked to the client")


@per_setup("every published extension is served with exactly the publishing table's Content-Type")
def _(ctx, srv, setup):
    files = _state["files"]
    for ext, mime in sorted(TYPES.items()):
        path = "/iiif/recordings%2Finterview/res/sample." + ext
        r = srv.get(path)
        expect_whole(r, files[path], "GET sample." + ext)
        expect(r.header("Content-Type") == mime, "sample.%s: Content-Type %r, expected exactly %r" % (
            ext, r.header("Content-Type"), mime))
    r = srv.get("/iiif/recordings%2Finterview/res/LOUD.MP3")
    expect(r.header("Content-Type") == "audio/mpeg", "LOUD.MP3: Content-Type %r" % r.header("Content-Type"))
    expect_whole(r, files["/iiif/recordings%2Finterview/res/LOUD.MP3"], "GET LOUD.MP3")


@per_setup("the root folder is the item 'top', and names with spaces, '%', '&', '?', '#', '+' and UTF-8 are found")
def _(ctx, srv, setup):
    files = _state["files"]
    for path in ("/iiif/top/res/letter.pdf",
                 "/iiif/recordings%2Finterview/res/name%20with%20space%20%26%20100%25.mp3",
                 "/iiif/recordings%2Finterview/res/caf%C3%A9%20%C3%A9t%C3%A9.flac",
                 "/iiif/recordings%2Finterview/res/what%3F%20%231%3B%20a+b=c.mp3",
                 "/iiif/recordings%2Finterview/res/alias.ogg"):
        r = srv.get(path)
        expect_whole(r, files[path], "GET " + path)
        r = srv.get(path, headers={"Range": "bytes=5-9"})
        expect_part(r, files[path], 5, 9, "GET %s bytes=5-9" % path)


@per_setup("an empty file is a 200 of no bytes, and any range of it is 416 bytes */0")
def _(ctx, srv, setup):
    path = "/iiif/recordings%2Finterview/res/empty.mp3"
    r = srv.get(path)
    expect_whole(r, b"", "GET empty.mp3")
    r = srv.get(path, headers={"Range": "bytes=0-"})
    expect_status(r, 416, "GET empty.mp3 bytes=0-")
    expect(r.header("Content-Range") == "bytes */0", "Content-Range %r" % r.header("Content-Range"))


@per_setup("HEAD gives the 200's headers and full Content-Length with no body, Range or not (RFC 9110 §9.3.2, §14.2)")
def _(ctx, srv, setup):
    g = srv.get(SIDE_A)
    for hdrs in ({}, {"Range": "bytes=0-99"}):
        r = srv.get(SIDE_A, method="HEAD", headers=hdrs)
        expect_status(r, 200, "HEAD %r" % hdrs)
        expect(r.body == b"", "HEAD %r: %d body bytes" % (hdrs, len(r.body)))
        expect(r.header("Content-Length") == str(len(side_a())),
               "HEAD %r: Content-Length %r, file has %d" % (hdrs, r.header("Content-Length"), len(side_a())))
        for h in ("Content-Type", "ETag", "Last-Modified", "Accept-Ranges", "Cache-Control"):
            expect(r.header(h) == g.header(h), "HEAD %r: %s %r, GET had %r" % (hdrs, h, r.header(h), g.header(h)))
        expect_cors(r, "HEAD")


@per_setup("If-None-Match and If-Modified-Since give 304 without a body; ranges share the 200's ETag")
def _(ctx, srv, setup):
    g = srv.get(SIDE_A)
    et, lm = g.header("ETag"), g.header("Last-Modified")
    for hdrs in ({"If-None-Match": et}, {"If-None-Match": "W/" + et}, {"If-None-Match": '"x", ' + et},
                 {"If-Modified-Since": lm}, {"If-None-Match": et, "Range": "bytes=0-9"}):
        r = srv.get(SIDE_A, headers=hdrs)
        expect_status(r, 304, "GET with %r" % hdrs)
        expect(r.body == b"", "304 with a body")
        expect(r.header("ETag") == et, "304 ETag %r" % r.header("ETag"))
        expect_cors(r, "304")
    r = srv.get(SIDE_A, headers={"If-None-Match": '"other"'})
    expect_whole(r, side_a(), "If-None-Match of another tag")
    r = srv.get(SIDE_A, headers={"Range": "bytes=0-9"})
    expect(r.header("ETag") == et, "206 ETag %r, 200 had %r" % (r.header("ETag"), et))


# --------------------------------------------------------------------------
# ranges

@per_setup("each Range form answers 206 with its exact bytes and Content-Range (RFC 9110 §14.1.1, §15.3.7)")
def _(ctx, srv, setup):
    data = side_a()
    n = len(data)
    cases = [("bytes=0-0", 0, 0), ("bytes=0-99", 0, 99), ("bytes=1000-1999", 1000, 1999),
             ("bytes=299990-", 299990, n - 1), ("bytes=-1", n - 1, n - 1),
             ("bytes=-300", n - 300, n - 1), ("bytes=-9999999", 0, n - 1),
             ("bytes=250000-9999999", 250000, n - 1), ("bytes=0-", 0, n - 1),
             ("Bytes=7-8", 7, 8), ("bytes=100-100000000000000000000000", 100, n - 1),
             ("bytes=5000-5009, 999999-", 5000, 5009)]
    for rng, first, last in cases:
        r = srv.get(SIDE_A, headers={"Range": rng})
        expect_part(r, data, first, last, "Range: " + rng)
        expect(r.header("Content-Type") == "audio/ogg", "206 Content-Type %r" % r.header("Content-Type"))
        expect_cors(r, "206 " + rng)


@per_setup("an unsatisfiable Range is 416 with Content-Range bytes */size and CORS (RFC 9110 §15.5.17)")
def _(ctx, srv, setup):
    n = len(side_a())
    for rng in ("bytes=%d-" % n, "bytes=%d-%d" % (n + 10, n + 20), "bytes=-0",
                "bytes=99999999999999999999-"):
        r = srv.get(SIDE_A, headers={"Range": rng})
        expect_status(r, 416, "Range: " + rng)
        expect(r.header("Content-Range") == "bytes */%d" % n,
               "%s: Content-Range %r" % (rng, r.header("Content-Range")))
        expect_cors(r, "416")


@per_setup("a malformed or multi-range Range is ignored: 200 with the whole file (RFC 9110 §14.2)")
def _(ctx, srv, setup):
    for rng in ("bytes=5-4", "bytes=abc", "bytes=1-2-3", "items=0-9", "bytes=", "bytes=0-9;x",
                "bytes=0-9,20-29", "bytes=0-0,-1"):
        r = srv.get(SIDE_A, headers={"Range": rng})
        expect_whole(r, side_a(), "Range: " + rng)
        expect_cors(r, "Range: " + rng)


@per_setup("If-Range with the ETag or the Last-Modified date lets the range apply; anything else gets the whole file (RFC 9110 §13.1.5)")
def _(ctx, srv, setup):
    g = srv.get(SIDE_A)
    et, lm = g.header("ETag"), g.header("Last-Modified")
    data = side_a()
    r = srv.get(SIDE_A, headers={"Range": "bytes=10-19", "If-Range": et})
    expect_part(r, data, 10, 19, "If-Range: the ETag")
    r = srv.get(SIDE_A, headers={"Range": "bytes=10-19", "If-Range": lm})
    expect_part(r, data, 10, 19, "If-Range: the Last-Modified date")
    for ir in ('"0000000000000000"', "W/" + et, "Mon, 01 Jan 2001 00:00:00 GMT", "garbage"):
        r = srv.get(SIDE_A, headers={"Range": "bytes=10-19", "If-Range": ir})
        expect_whole(r, data, "If-Range: %s" % ir)
    # If-Range without Range is ignored
    r = srv.get(SIDE_A, headers={"If-Range": '"0000000000000000"'})
    expect_whole(r, data, "If-Range without Range")


# --------------------------------------------------------------------------
# what is not served

@per_setup("'..', symlinks out of the root, dot files and folders, unknown extensions and suffix guesses are 404 with CORS and no path")
def _(ctx, srv, setup):
    root = os.path.realpath(_state["root"])
    paths = [
        "/iiif/..%2Fmedia-outside/res/secret.mp3",
        "/iiif/recordings%2F..%2F..%2Fmedia-outside/res/secret.mp3",
        "/iiif/recordings%2Finterview/res/..%2F..%2F..%2Fmedia-outside%2Fsecret.mp3",
        "/iiif/%2Ftmp/res/secret.mp3",
        "/iiif/top/res/%2E%2E%2Fmedia-outside%2Fsecret.mp3",
        "/iiif/recordings%2Finterview/res/escape.mp3",
        "/iiif/recordings%2Finterview/res/.hidden.mp3",
        "/iiif/recordings%2Finterview/res/%2Ehidden.mp3",
        "/iiif/recordings%2F.secret/res/x.mp3",
        "/iiif/recordings%2Finterview/res/notes.txt",
        "/iiif/recordings%2Finterview/res/trap.pdf",
        "/iiif/recordings%2Finterview/res/missing.mp3",
        "/iiif/top/res/recordings%2Finterview%2Fside-a.ogg",
        "/iiif/recordings%2F%2Finterview/res/side-a.ogg",
        "/iiif/recordings%2Finterview%2F/res/side-a.ogg",
        "/iiif/recordings%2Finterview/res/side-a.ogg%00.mp3",
        "/iiif/recordings%2Finterview/res/side-a.ogg%2",
        "/iiif/nosuchfolder/res/side-a.ogg",
    ]
    for path in paths:
        r = srv.get(path)
        if (path.endswith("%2") or "%00" in path) and setup != "embedded" and \
                r.status == 400 and b"nginx" in r.body:
            continue   # nginx refuses an encoded NUL or a cut escape itself
        expect_status(r, 404, "GET " + path)
        body = r.body.decode("latin-1")
        expect(root not in body and "media-outside" not in body and "/tmp" not in body,
               "GET %s: the body names a path: %s" % (path, short(r.body)))
        expect(b"outside the root" not in r.body, "GET %s: the outside file leaked" % path)
        expect_cors(r, "404 " + path)
        r = srv.get(path, method="HEAD")
        expect_status(r, 404, "HEAD " + path)


@per_setup("nginx's internal location cannot be asked for directly")
def _(ctx, srv, setup):
    for path in (ACCEL + "/letter.pdf", ACCEL + "/recordings/interview/side-a.ogg"):
        r = srv.get(path)
        expect_status(r, 404, "GET " + path)
        expect(r.body not in (_state["files"]["/iiif/top/res/letter.pdf"], side_a()),
               "GET %s gave the file" % path)


@per_setup("the Image API still answers next to the media route, and /metrics counts route iiif_media")
def _(ctx, srv, setup):
    # a real image under the media root: info.json and a download of the file
    from PIL import Image
    p = os.path.join(_state["root"], "pic.png")
    if not os.path.exists(p):
        Image.new("RGB", (64, 48), (200, 10, 10)).save(p)
    r = srv.get("/iiif/3/pic.png/info.json")
    expect_status(r, 200, "info.json of pic.png")
    r = srv.get("/iiif/3/res/info.json")
    expect_status(r, 404, "/iiif/3/res/info.json stays an Image API request")
    expect(b"file not found" not in r.body, "info.json of 'res' was routed to the media files")
    r = srv.get("/iiif/top/res/pic.png")
    expect_status(r, 200, "pic.png as a download")
    expect(r.header("Content-Type") == "image/png" and r.body[:4] == b"\x89PNG", "pic.png download")
    srv.get(SIDE_A, headers={"Range": "bytes=0-9"})
    m = srv.get("/metrics")
    expect_status(m, 200, "GET /metrics")
    # behind X-Accel-Redirect Tessera's own answer to a range is the 200 nginx follows
    want = 'route="iiif_media",status="%s"' % ("200" if setup == "accel" else "206")
    expect(want in m.body.decode(), "/metrics has no %s count: %s" % (want, short(m.body, 400)))


@test("media: a media_accel_location that is not a plain path is refused at start-up", server=None)
def _(ctx, srv):
    import subprocess
    root = os.path.join(ctx.tmp, "img")
    for bad in ("tessera-media", "/tessera-media/", "/a b", "/x?y", "/%2e"):
        p = subprocess.run([harness.TESSERA, "serve", "--root", root, "--http",
                            "127.0.0.1:%d" % harness.free_port(), "--media-accel-location", bad],
                           capture_output=True, timeout=20)
        out = (p.stdout + p.stderr).decode(errors="replace")
        expect(p.returncode != 0, "started with media_accel_location %r" % bad)
        expect("media_accel_location" in out, "no message naming the setting for %r: %s" % (bad, out[-300:]))


# --------------------------------------------------------------------------
# the 2 GB sparse file and the daemon's memory

def vm_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def stream_get(port, path, headers=(), timeout=120.0):
    """GET path reading the body in 1 MB pieces and discarding it.  Returns
    (status, headers dict (lower-case names), body length, first 64 bytes,
    last 64 bytes)."""
    req = "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n" % (path, port)
    for k, v in headers:
        req += "%s: %s\r\n" % (k, v)
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        sock.sendall((req + "\r\n").encode("latin-1"))
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = sock.recv(65536)
            if not d:
                raise AssertionError("GET %s: connection closed before the headers" % path)
            buf += d
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        hd = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hd[k.strip().lower()] = v.strip()
        total, first, last = len(rest), rest[:64], rest[-64:]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            d = sock.recv(1 << 20)
            if not d:
                break
            if len(first) < 64:
                first = (first + d)[:64]
            last = (last + d)[-64:]
            total += len(d)
        return status, hd, total, first, last
    finally:
        sock.close()


class RssWatch:
    """Samples the daemon's VmRSS every 20 ms while a transfer runs."""

    def __init__(self, pid):
        self.pid = pid
        self.peak = 0
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop:
            try:
                self.peak = max(self.peak, vm_rss_kb(self.pid))
            except (OSError, AssertionError):
                return
            time.sleep(0.02)

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *a):
        self.stop = True
        self.t.join()


BIG_PATH = "/iiif/big/res/sparse.mp4"


@per_setup("a 2 GB file is served in ranges at its start, middle and end, and whole, while the daemon's RSS stays within a few MB")
def _(ctx, srv, setup):
    pid = srv.procs[0].pid
    # warm up: threads, arenas and the first answers' allocations
    for _ in range(3):
        stream_get(srv.port, BIG_PATH, [("Range", "bytes=0-65535")])
    base = vm_rss_kb(pid)
    with RssWatch(pid) as w:
        for off, mark in BIG_MARKS.items():
            last = off + 4 * 1024 * 1024 - 1
            st, hd, n, first, _ = stream_get(srv.port, BIG_PATH, [("Range", "bytes=%d-%d" % (off, last))])
            end = min(last, BIG - 1)
            expect(st == 206, "bytes=%d-: status %d" % (off, st))
            expect(hd.get("content-range") == "bytes %d-%d/%d" % (off, end, BIG),
                   "Content-Range %r" % hd.get("content-range"))
            expect(n == end - off + 1, "bytes=%d-: %d bytes" % (off, n))
            expect(first.startswith(mark), "bytes=%d-: starts %r, not %r" % (off, first[:16], mark))
        st, hd, n, first, _ = stream_get(srv.port, BIG_PATH, [("Range", "bytes=-11")])
        expect(st == 206 and first == b"end-of-big!", "bytes=-11: %d %r" % (st, first))
        st, hd, n, first, last = stream_get(srv.port, BIG_PATH)
        expect(st == 200, "whole GET: status %d" % st)
        expect(hd.get("content-length") == str(BIG), "whole GET: Content-Length %r" % hd.get("content-length"))
        expect(n == BIG, "whole GET: %d bytes of %d" % (n, BIG))
        expect(first.startswith(b"start-of-big") and last.endswith(b"end-of-big!"),
               "whole GET: wrong first or last bytes")
    after = vm_rss_kb(pid)
    if os.environ.get("TESSERA_MEDIA_RSS"):
        print("#   %s: VmRSS %d kB before, peak %d kB, %d kB after" % (setup, base, w.peak, after))
    expect(w.peak - base <= RSS_SLACK_KB and after - base <= RSS_SLACK_KB,
           "VmRSS grew from %d kB to a peak of %d kB (%d after) serving 2 GB" % (base, w.peak, after))


# --------------------------------------------------------------------------
# a real player: headless Chromium (tests/browser/media.mjs)

BROWSER_DIR = os.path.join(harness.REPO, "tests", "browser")
CHROMIUM = os.environ.get("TESSERA_CHROMIUM", "/usr/bin/chromium")
NODE = shutil.which("node") or "/usr/bin/node"
FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
BROWSER_TIMEOUT_S = 150
# name, element, ffmpeg arguments, duration, video size
AV = [
    ("clip.webm", "video", ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=4",
                            "-f", "lavfi", "-i", "sine=frequency=440:duration=4",
                            "-c:v", "libvpx-vp9", "-b:v", "200k", "-c:a", "libopus", "-shortest"],
     4.0, (160, 120)),
    ("tone.mp3", "audio", ["-f", "lavfi", "-i", "sine=frequency=330:duration=3",
                           "-c:a", "libmp3lame", "-b:a", "64k"], 3.0, None),
    ("tone.ogg", "audio", ["-f", "lavfi", "-i", "sine=frequency=550:duration=5",
                           "-c:a", "libopus"], 5.0, None),
]
_browser = {}   # {"results": {name: result}} or {"skip": why} or {"error": why}


def _browser_unavailable():
    if not os.access(CHROMIUM, os.X_OK):
        return "%s is not installed (apt-get install chromium)" % CHROMIUM
    if not os.access(NODE, os.X_OK):
        return "node is not installed"
    if not os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")):
        return "playwright-core is not installed (npm ci --prefix tests/browser)"
    if not os.access(FFMPEG, os.X_OK):
        return "ffmpeg is not installed"
    return None


def _browser_run(ctx):
    import json
    import subprocess
    why = _browser_unavailable()
    if why:
        return {"skip": why}
    media(ctx, "embedded")   # makes the root
    av = os.path.join(_state["root"], "av")
    os.makedirs(av, exist_ok=True)
    os.chmod(av, 0o755)
    for name, _, args, _, _ in AV:
        p = subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y"] + args +
                           [os.path.join(av, name)], capture_output=True, timeout=60)
        if p.returncode != 0:
            return {"error": "ffmpeg could not make %s: %s" % (name, p.stderr.decode(errors="replace")[-300:])}
    cfg = {"chromium": CHROMIUM, "timeoutMs": 20000, "hardTimeoutMs": (BROWSER_TIMEOUT_S - 10) * 1000,
           "media": [], "fetches": []}
    errors = {}
    for setup in SETUPS:
        try:
            base = "http://127.0.0.1:%d" % media(ctx, setup).port
        except harness.SetupError as e:
            errors[setup] = str(e)
            continue
        for name, tag, _, duration, size in AV:
            cfg["media"].append({"name": "%s %s" % (setup, name), "url": base + "/iiif/av/res/" + name,
                                 "tag": tag, "duration": duration,
                                 "width": size[0] if size else 0, "height": size[1] if size else 0})
        cfg["fetches"].append({"name": "%s letter.pdf" % setup, "url": base + "/iiif/top/res/letter.pdf",
                               "size": len(_state["files"]["/iiif/top/res/letter.pdf"]),
                               "first": list(_state["files"]["/iiif/top/res/letter.pdf"][:4])})
    d = os.path.join(ctx.tmp, "media-browser")
    os.makedirs(d, exist_ok=True)
    udd = os.path.join(d, "chromium-profile")
    cfg["userDataDir"] = udd
    path = os.path.join(d, "config.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    out = os.path.join(d, "media-stdout.log")
    p = harness._spawn("media.mjs", [NODE, os.path.join(BROWSER_DIR, "media.mjs"), path], out,
                       cwd=BROWSER_DIR)
    try:
        p.wait(timeout=BROWSER_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pass
    finally:
        harness._stop(p)
        harness._started[:] = [(n, q) for (n, q) in harness._started if q is not p]
        for pid, _ in harness.processes_mentioning(udd):   # chromium's own group
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        shutil.rmtree(udd, ignore_errors=True)
    with open(out, "rb") as f:
        text = f.read().decode(errors="replace")
    lines = [l for l in text.splitlines() if l.startswith("{")]
    if not lines:
        return {"error": "media.mjs printed no results (exit %s): %s" % (p.returncode, text[-400:])}
    res = {r["name"]: r for r in json.loads(lines[-1]).get("results", [])}
    return {"results": res, "setup_errors": errors}


def _browser_result(ctx, setup, name):
    if not _browser:
        _browser.update(_browser_run(ctx))
    if "skip" in _browser:
        raise Skip(_browser["skip"])
    expect("error" not in _browser, _browser.get("error", ""))
    if setup in _browser["setup_errors"]:
        raise harness.SetupError(_browser["setup_errors"][setup])
    res = _browser["results"]
    expect("all" not in res, res.get("all", {}).get("detail", ""))
    r = res.get("%s %s" % (setup, name))
    expect(r is not None, "no result (the browser run stopped early)")
    expect(r["ok"], r["detail"])


def _register_browser(setup, name, text):
    @test("media (%s): Chromium %s" % (setup, text), server=None)
    def _(ctx, srv):
        _browser_result(ctx, setup, name)


for _setup in SETUPS:
    for _name, _tag, _, _d, _ in AV:
        _register_browser(_setup, _name, "plays %s (%s): metadata, duration %.0f s, a seek near the end "
                          "by Range, CORS on every answer" % (_name, _tag, _d))
    _register_browser(_setup, "letter.pdf", "reads letter.pdf in ranges as PDF.js does: a fetch of "
                      "bytes 0-9 sees 206 and the exposed Content-Range")
