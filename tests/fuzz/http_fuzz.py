#!/usr/bin/python3
"""http_fuzz.py - mutate real requests against the real daemon, sanitizers on.

Usage (from anywhere):
    sh tests/fuzz/build-sanitized.sh asan          # once: /tmp/tessera-asan
    /usr/bin/python3 tests/fuzz/http_fuzz.py [--seconds 120] [--seed N]
        [--bin /tmp/tessera-asan] [--no-nginx] [--replay-only] [--keep]

Makes a small pattern pyramid (and one TIFF with a corrupt tile), starts the
daemon in embedded HTTP mode and as FastCGI behind a private nginx (through
tests/http/harness.py), replays every request kept in
tests/fuzz/http_regressions/ against both, and then, for a bounded time,
sends valid IIIF / DeepZoom / Zoomify / IIP / media file requests mutated at random:
byte flips, inserted %XX escapes (%00 %2F %25 %n ...), huge and negative
numbers, repeated commas, 8 KB segments, unicode and broken UTF-8, odd
methods, and junk in If-None-Match, Accept, Host, Origin, X-Forwarded-*,
Range and If-Range.

Every answer must be a well-formed HTTP response with a status in
{200,204,206,303,304,400,403,404,405,416,501} (500 only for the corrupt file; 413,
414 and 431 only for requests over 4 KB), a Content-Length that matches the
body, and an error body that names no server path and holds no raw '<'.
The daemon must stay alive: its process is polled after every request and
info.json is probed every 100.  A sanitizer report (ASan/UBSan write to a
log directory of ours), a dead daemon or a failed probe is a crash: the request is printed, saved under http_regressions/ (one raw
request per file) and the run fails.  Other violations are printed and
saved once per kind.  Answers that nginx writes itself (its HTML error
pages, its 301 and HTTP/0.9 answers) are printed as notes, not failures.
Kept files are raw requests named for what they caught; those named
known-*.req are accepted limitations for which only a crash counts on
replay.  (The embedded server used to be libmicrohttpd, whose stalls on
long requests were such limitations; its own server answers them.)  Last line: "N passed, N failed".

The one idea: requests go one at a time on fresh connections, so whatever
the sanitizer or the liveness probe reports was caused by the request just
sent, and that request, byte for byte, is the reproducer.
"""

import argparse
import hashlib
import os
import random
import re
import shutil
import signal
import socket
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "http"))

REGRESSIONS = os.path.join(HERE, "http_regressions")
ALLOWED = {200, 204, 206, 303, 304, 400, 403, 404, 405, 416, 501}
LONG_ALLOWED = {413, 414, 431}          # front-end limits for requests over 4 KB
TIMEOUT = 15.0
SLOW_S = 10.0      # ASan is slow; ^max may legitimately upscale to maxArea
IIP = "/fcgi-bin/iipsrv.fcgi"

W, H = 1200, 900                       # the pattern image


# --------------------------------------------------------------------------
# raw HTTP

class Answer:
    def __init__(self, status, headers, body, raw):
        self.status = status
        self.headers = headers
        self.body = body
        self.raw = raw

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None


class NoAnswer(Exception):
    pass


class Malformed(Exception):
    pass


def send(port, raw, timeout=TIMEOUT):
    """Send raw bytes on a fresh connection, read until EOF.  Returns
    (bytes, clean_eof, seconds)."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    chunks, eof = [], False
    try:
        try:
            s.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass   # the server may answer and close before reading it all
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                d = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not d:
                eof = True
                break
            chunks.append(d)
    finally:
        s.close()
    return b"".join(chunks), eof, time.monotonic() - t0


def parse(data, method):
    """Parse one HTTP/1.x response; raise Malformed on anything wrong with
    its framing."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        raise Malformed("no complete header (%d bytes: %r)" % (len(data), data[:80]))
    lines = data[:end].split(b"\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d{3})( [^\r\n]*)?$", lines[0])
    if not m:
        raise Malformed("bad status line %r" % lines[0][:80])
    status = int(m.group(1))
    headers = []
    for line in lines[1:]:
        k, sep, v = line.partition(b":")
        if not sep or not re.match(rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", k):
            raise Malformed("bad header line %r" % line[:80])
        headers.append((k.decode("latin-1"), v.strip().decode("latin-1")))
    body = data[end + 4:]
    a = Answer(status, headers, body, data)
    cl = a.header("Content-Length")
    te = (a.header("Transfer-Encoding") or "").lower()
    if method == "HEAD" or status in (204, 304):
        if method == "HEAD" and body:
            raise Malformed("HEAD answered with a %d-byte body" % len(body))
        if status in (204, 304) and body:
            raise Malformed("%d with a %d-byte body" % (status, len(body)))
        return a
    if "chunked" in te:
        raise Malformed("chunked answer (no Content-Length)")
    if cl is None:
        raise Malformed("no Content-Length")
    if not cl.isdigit() or int(cl) != len(body):
        raise Malformed("Content-Length %s but %d bytes of body" % (cl, len(body)))
    return a


def build(method, target, headers):
    req = method + b" " + target + b" HTTP/1.1\r\n"
    for k, v in headers:
        req += k + b": " + v + b"\r\n"
    return req + b"\r\n"


def split_request(raw):
    """(method, target) of a raw request, best effort, for the checks."""
    line = raw.split(b"\r\n", 1)[0]
    parts = line.split(b" ")
    method = parts[0].decode("latin-1", "replace")
    target = b" ".join(parts[1:-1]) if len(parts) > 2 else (parts[1] if len(parts) > 1 else b"")
    return method, target


# --------------------------------------------------------------------------
# valid requests

def iiif_urls(rnd, ident="pattern"):
    v = rnd.choice((2, 3))
    if rnd.random() < 0.2:
        return "/iiif/%d/%s/info.json" % (v, ident)
    x, y = rnd.randrange(0, W), rnd.randrange(0, H)
    region = rnd.choice(["full", "square", "%d,%d,%d,%d" % (x, y, rnd.randrange(1, 600), rnd.randrange(1, 600)),
                         "pct:%d,%d,%d,%d" % (rnd.randrange(100), rnd.randrange(100), rnd.randrange(1, 100),
                                              rnd.randrange(1, 100)),
                         "pct:10.5,20.25,30,40", "0,0,256,256", "1024,768,176,132"])
    size = rnd.choice(["max", "%d," % rnd.randrange(1, 400), ",%d" % rnd.randrange(1, 400),
                       "!%d,%d" % (rnd.randrange(1, 400), rnd.randrange(1, 400)),
                       "%d,%d" % (rnd.randrange(1, 300), rnd.randrange(1, 300)), "pct:%d" % rnd.randrange(1, 50),
                       "^%d," % rnd.randrange(1, 300), "^pct:150", "full" if v == 2 else "max", "256,"])
    if rnd.random() < 0.01:
        size = "^max"   # upscales to maxArea (40 MP): seconds of work, so rare
    rot = rnd.choice(["0", "90", "180", "270", "!0", "!90", "22.5", "360", "0.0"])
    qual = rnd.choice(["default", "color", "gray", "bitonal", "native" if v == 2 else "default"])
    fmt = rnd.choice(["jpg", "jpg", "png", "webp", "tif", "gif", "jp2", "pdf"])
    return "/iiif/%d/%s/%s/%s/%s/%s.%s" % (v, ident, region, size, rot, qual, fmt)


def tile_urls(rnd, ident="pattern"):
    k = rnd.randrange(10)
    fmt = rnd.choice(["jpg", "png", "webp"])
    if k == 0:
        return "/deepzoom/%s.dzi%s" % (ident, rnd.choice(["", "?format=json", "?format=xml"]))
    if k < 4:
        lv = rnd.randrange(0, 12)
        return "/deepzoom/%s_files/%d/%d_%d.%s" % (ident, lv, rnd.randrange(5), rnd.randrange(4), fmt)
    if k == 4:
        return "/zoomify/%s/ImageProperties.xml" % ident
    if k < 7:
        return "/zoomify/%s/TileGroup%d/%d-%d-%d.%s" % (ident, rnd.randrange(2), rnd.randrange(4),
                                                        rnd.randrange(5), rnd.randrange(4), fmt)
    cmds = rnd.choice([
        "FIF=%s.tif&JTL=%d,%d" % (ident, rnd.randrange(4), rnd.randrange(20)),
        "FIF=%s.tif&OBJ=IIP,1.0&OBJ=Max-size&OBJ=Tile-size&OBJ=Resolution-number" % ident,
        "FIF=%s.tif&WID=%d&CVT=jpeg" % (ident, rnd.randrange(1, 500)),
        "FIF=%s.tif&HEI=%d&RGN=0.1,0.1,0.5,0.5&QLT=80&CVT=png" % (ident, rnd.randrange(1, 500)),
        "IIIF=%s.tif/info.json" % ident,
        "IIIF=%s.tif/full/200,/0/default.jpg" % ident,
        "DeepZoom=%s.tif.dzi" % ident,
        "DeepZoom=%s.tif_files/9/1_1.jpg" % ident,
        "Zoomify=%s.tif/ImageProperties.xml" % ident,
        "Zoomify=%s.tif/TileGroup0/2-1-1.jpg" % ident,
    ])
    return "%s?%s" % (IIP, cmds)


def other_urls(rnd):
    return rnd.choice(["/health", "/metrics", "/images.json", "/", "/index.html", "/viewer/",
                       "/viewer/viewer.js", "/viewer/../../etc/passwd", "/nosuch", "/iiif/", "/iiif/3/",
                       "/iiif/3/pattern", "/iiif/3/pattern/", "/iiif/3/sub%2Fdir%2Fx/info.json"])


def media_urls(rnd):
    """The media files route (/iiif/{item}/res/{file}), served with Range."""
    return rnd.choice(["/iiif/top/res/plain.png", "/iiif/sub%2Fdir/res/x.tif", "/iiif/top/res/pattern.tif",
                       "/iiif/top/res/escape.tif", "/iiif/sub%2Fdir/res/nosuch.mp4", "/iiif/top/res/.x.mp3",
                       "/iiif/..%2Fx/res/outside.tif", "/iiif/top/res/plain.png.txt"])


def base_url(rnd):
    if rnd.random() < 0.08:
        return media_urls(rnd)
    k = rnd.random()
    ident = "pattern"
    if rnd.random() < 0.08:
        ident = "corrupt"
    elif rnd.random() < 0.05:
        ident = rnd.choice(["plain.png", "sub%2Fdir%2Fx", "nosuch", "escape"])
    if k < 0.5:
        return iiif_urls(rnd, ident)
    if k < 0.9:
        return tile_urls(rnd, ident)
    return other_urls(rnd)


# --------------------------------------------------------------------------
# mutations

ESCAPES = [b"%00", b"%2F", b"%2f", b"%25", b"%n", b"%25n", b"%s%s%s", b"%", b"%G1", b"%2", b"%2e%2e",
           b"%5C", b"%FF", b"%C0%AF", b"%0D%0A", b"%20", b"+", b"%3F", b"%23", b"%252F", b"%u002F",
           b"%E2%80%A8", b"%3C", b"%22"]
NUMBERS = [b"99999999999999999999", b"4294967296", b"4294967295", b"2147483648", b"2147483647",
           b"18446744073709551616", b"-1", b"-2147483648", b"-0", b"0", b"1e308", b"1e-308", b"NaN",
           b"inf", b"-inf", b"0x10", b"00000000001", b"1.", b".5", b"1e400", b"9" * 400, b"0.0000001"]
UNICODE = ["é".encode(), "日本".encode(), "\U0001F600".encode(), b"\xc0\xaf", b"\xed\xa0\x80",
           b"\xff\xfe", b"\xe2\x80\xae", b"\xef\xbb\xbf", b"\xc3", "\u2215".encode(), "\uff0e\uff0e".encode()]


def mutate_target(rnd, t):
    t = bytearray(t)
    for _ in range(rnd.randrange(1, 4)):
        k = rnd.randrange(11)
        if not t:
            t = bytearray(b"/")
        if k == 0:      # byte flip
            i = rnd.randrange(len(t))
            t[i] = rnd.randrange(256) if rnd.random() < 0.5 else t[i] ^ (1 << rnd.randrange(8))
        elif k == 1:    # inserted escape
            i = rnd.randrange(len(t) + 1)
            t[i:i] = rnd.choice(ESCAPES)
        elif k == 2 or k == 3:   # a number replaced
            nums = [m.span() for m in re.finditer(rb"-?\d+(\.\d+)?", bytes(t))]
            if nums:
                a, b = rnd.choice(nums)
                t[a:b] = rnd.choice(NUMBERS)
        elif k == 4:    # repeated commas
            i = bytes(t).find(b",")
            i = i if i >= 0 else rnd.randrange(len(t) + 1)
            t[i:i] = b"," * rnd.choice((1, 2, 5, 100))
        elif k == 5:    # a very long segment
            segs = bytes(t).split(b"/")
            j = rnd.randrange(len(segs))
            segs[j] = rnd.choice([b"A", b"9", b",", b"%41", b"%", b"/"]) * rnd.choice((256, 4096, 8192))
            t = bytearray(b"/".join(segs))
        elif k == 6:    # unicode
            i = rnd.randrange(len(t) + 1)
            t[i:i] = rnd.choice(UNICODE)
        elif k == 7:    # segment duplicated, dropped or swapped
            segs = bytes(t).split(b"/")
            j = rnd.randrange(len(segs))
            op = rnd.randrange(3)
            if op == 0:
                segs.insert(j, segs[j])
            elif op == 1 and len(segs) > 2:
                del segs[j]
            else:
                i2 = rnd.randrange(len(segs))
                segs[j], segs[i2] = segs[i2], segs[j]
            t = bytearray(b"/".join(segs))
        elif k == 8:    # truncated
            t = t[:rnd.randrange(len(t) + 1)]
        elif k == 9:    # query junk
            t += rnd.choice([b"?", b"?&&&", b"?a=%n&b", b"?format=%00", b"?=", b"?" + b"x=1&" * 300,
                             b"?FIF=pattern.tif&JTL=", b"?IIIF=", b"?DeepZoom=../../etc/passwd",
                             b"#frag", b"?format=json&format=xml"])
        else:           # dot segments and slashes
            i = rnd.randrange(len(t) + 1)
            t[i:i] = rnd.choice([b"/..", b"/.", b"//", b"/../..", b"\\", b";", b"/%2e%2e/", b"/./"])
    return bytes(t)


JUNK = [b"", b"*", b'"', b'W/"x"', b'"' * 500, b"%n%n%n%s", b"<script>alert(1)</script>", b"\x7f\x80\xff",
        b"\x0b\x0c", b"\xc2\x85", b"\xe2\x80\xa8", b"a" * 6000, b"'\"><", b"\\", b";;;,,,", b"\t \t",
        b"text/html;q=2, */*;q=-1", b"image/*;q=0.5, application/ld+json;profile=\"x", b"\r", b"null",
        b"-1", b"99999999999999999999", "é".encode()]


RANGES = [b"bytes=0-", b"bytes=0-99", b"bytes=-1", b"bytes=-0", b"bytes=99999999999-", b"bytes=5-4",
          b"bytes=0-0,-1", b"bytes=" + b"0-1," * 500, b"bytes=18446744073709551615-",
          b"bytes=1-18446744073709551616", b"Bytes=1-2", b"bytes=\t1-2 , ", b"bytes=-99999999999999999999",
          b"bytes=,,,", b"bytes=1-2-3", b"items=0-9", b"bytes=100-200"]


def headers_for(rnd, port, method):
    hdrs = [(b"Host", b"127.0.0.1:%d" % port), (b"Connection", b"close"), (b"User-Agent", b"tessera-fuzz")]
    for _ in range(rnd.randrange(0, 4)):
        name = rnd.choice([b"If-None-Match", b"If-Modified-Since", b"Accept", b"Host", b"X-Forwarded-Host",
                           b"X-Forwarded-Proto", b"X-Forwarded-For", b"X-Forwarded-Prefix", b"X-Forwarded-Port",
                           b"Forwarded", b"Origin", b"Access-Control-Request-Method",
                           b"Access-Control-Request-Headers", b"Range", b"Accept-Encoding", b"X-IIIF-ID",
                           b"Cookie", b"Referer"])
        val = rnd.choice(JUNK)
        if name == b"If-Modified-Since" and rnd.random() < 0.5:
            val = rnd.choice([b"Thu, 01 Jan 1970 00:00:00 GMT", b"Fri, 31 Dec 9999 23:59:59 GMT",
                              b"Sun, 06 Nov 1994 08:49:37 GMT", b"Mon, 99 Foo 2024 25:61:61 GMT"])
        if name == b"Range" and rnd.random() < 0.7:
            val = rnd.choice(RANGES)
            if rnd.random() < 0.3:
                hdrs.append((b"If-Range", rnd.choice([b'"0123456789abcdef"', b'W/"x"',
                                                      b"Sun, 06 Nov 1994 08:49:37 GMT",
                                                      b"Sunday, 06-Nov-94 08:49:37 GMT", b"garbage"])))
        if name == b"Host":
            hdrs = [(k, v) for k, v in hdrs if k != b"Host"]
            val = rnd.choice([b"127.0.0.1:%d" % port, b"ex ample.org", b"a\x0bb", b"a\rb", b"[::1",
                              b"h:99999999", b"\xe2\x80\xa8", b"", b"evil.org/../..", b"%n", b"<x>"])
        hdrs.append((name, val))
    if method in (b"POST", b"PUT") and rnd.random() < 0.7:
        hdrs.append((b"Content-Length", b"0"))
    rnd.shuffle(hdrs[3:])
    return hdrs


METHODS = [b"GET"] * 12 + [b"HEAD"] * 3 + [b"OPTIONS"] * 2 + [b"POST", b"PUT", b"DELETE", b"PATCH", b"TRACE",
                                                                 b"get", b"G3T", b"CONNECT", b"GETT", b"X" * 300]


def make_request(rnd, port):
    target = base_url(rnd).encode()
    if rnd.random() < 0.85:
        target = mutate_target(rnd, target)
    method = rnd.choice(METHODS)
    return build(method, target, headers_for(rnd, port, method))


# --------------------------------------------------------------------------
# checks

def frontend_page(srv, a_body, status=None):
    """An answer written by nginx itself (its fixed HTML error pages, its
    301 from /iiif to /iiif/: Tessera never sends 301), not by Tessera:
    judged as a note, not a failure."""
    if srv.name == "nginx" and (b"<center>nginx" in a_body or status == 301):
        return "nginx"
    return None


class Fuzz:
    def __init__(self, args, tmp, root, servers, sandir):
        self.args = args
        self.tmp = tmp
        self.root = root
        self.servers = servers
        self.sandir = sandir
        self.sent = 0
        self.statuses = {}
        self.crashes = []
        self.violations = {}     # signature -> (count, example raw request, message)
        self.notes = {}          # front-end quirks: signature -> [count, raw, message]
        self.replaying = False   # kept requests are not saved again

    def sanitizer_reports(self):
        return sorted(os.listdir(self.sandir))

    def read_reports(self):
        out = []
        for f in self.sanitizer_reports():
            with open(os.path.join(self.sandir, f), "rb") as fh:
                out.append("%s:\n%s" % (f, fh.read().decode(errors="replace")[:6000]))
        return "\n".join(out)

    def save(self, raw, kind):
        if self.replaying:
            return "(kept already)"
        os.makedirs(REGRESSIONS, exist_ok=True)
        name = "%s-%s.req" % (kind, hashlib.sha1(raw).hexdigest()[:12])
        path = os.path.join(REGRESSIONS, name)
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(raw)
        return path

    def crash(self, srv, raw, why):
        reports = self.read_reports()
        path = self.save(raw, "crash")
        msg = "CRASH on %s: %s\n  request: %r\n  saved as %s" % (srv.name, why, raw[:600], path.replace(REPO + "/", ""))
        if reports:
            msg += "\n  sanitizer:\n" + reports
        else:
            msg += "\n  daemon log tail: " + srv.log_tail()[-1500:]
        print(msg, flush=True)
        self.crashes.append(msg)

    def violation(self, srv, raw, kind, msg, status=None):
        method, target = split_request(raw)
        fam = re.match(rb"/[^/?]*", target)
        sig = (srv.name, kind, status, fam.group(0)[:20] if fam else b"")
        if sig not in self.violations:
            path = self.save(raw, kind)
            print("VIOLATION [%s] %s on %s: %s\n  request: %r\n  saved as %s" % (
                kind, status, srv.name, msg, raw[:400], path.replace(REPO + "/", "")), flush=True)
            self.violations[sig] = [0, raw, msg]
        self.violations[sig][0] += 1

    def note(self, srv, raw, who, msg):
        sig = (srv.name, who, msg[:60])
        if sig not in self.notes:
            self.notes[sig] = [0, raw, msg]
        self.notes[sig][0] += 1

    def one(self, srv, raw, known=False):
        """Send raw to srv and check everything.  Returns False on a crash.
        known: a kept request for a known, accepted limitation (files named
        known-*.req): only a crash counts, and it gets 3 s to answer."""
        self.sent += 1
        method, target = split_request(raw)
        before = len(self.sanitizer_reports())
        try:
            data, eof, dt = send(srv.port, raw, 3.0 if known else TIMEOUT)
        except OSError as e:
            data, eof, dt = b"", False, 0.0
            if not srv.alive():
                self.crash(srv, raw, "connect failed and the daemon is dead (%s)" % e)
                return False
            self.violation(srv, raw, "connect", str(e))
            return True
        if not srv.alive():
            self.crash(srv, raw, "the daemon died (exit status %s)" % srv.procs[0].returncode)
            return False
        if len(self.sanitizer_reports()) > before:
            self.crash(srv, raw, "sanitizer report")
            return False
        if known:
            if not self.probe(srv):
                self.crash(srv, raw, "known request: no info.json afterwards")
                return False
            return True
        if not data:
            # a front end may close on a request it cannot parse at all
            self.statuses["closed"] = self.statuses.get("closed", 0) + 1
            if not eof:
                if not self.probe(srv):
                    self.crash(srv, raw, "no answer, and then no info.json")
                    return False
                self.violation(srv, raw, "noanswer", "no answer within %.0f s (daemon still serving)" % TIMEOUT)
                return True
            if method in ("GET", "HEAD", "OPTIONS") and b"\n" not in target and b"\r" not in target \
                    and b" " not in target and len(raw) < 4096:
                self.violation(srv, raw, "closed", "connection closed with no answer")
            return True
        try:
            a = parse(data, method)
        except Malformed as e:
            who = frontend_page(srv, data[data.find(b"\r\n\r\n") + 4:])
            if srv.name == "nginx" and (b"\n" in target or b"\r" in target) and not data.startswith(b"HTTP/"):
                who = "nginx"   # a bare LF ends the request line: HTTP/0.9, answered without a header
                e = Malformed("HTTP/0.9 answer (no header) to a request line cut by a bare CR/LF")
            if who:
                self.note(srv, raw, who, str(e))
            else:
                self.violation(srv, raw, "malformed", str(e))
            return True
        self.statuses[a.status] = self.statuses.get(a.status, 0) + 1
        if dt > SLOW_S:
            self.violation(srv, raw, "slow", "answered %d after %.1f s" % (a.status, dt), a.status)
        who = frontend_page(srv, a.body, a.status)
        ok = a.status in ALLOWED or (a.status == 500 and b"corrupt" in target) or \
            (a.status in LONG_ALLOWED and len(raw) > 4096)
        if who:
            # nginx's own 301 (/iiif -> /iiif/), 400, 414...; MHD's 400, 414, 431
            if a.status not in ALLOWED:
                self.note(srv, raw, who, "its own %d page" % a.status)
            ok = ok or a.status in (301, 400, 413, 414, 431)
        if not ok:
            self.violation(srv, raw, "status", "status %d: %r" % (a.status, a.body[:200]), a.status)
        if a.status >= 400 and not who:
            if b"<" in a.body:
                self.violation(srv, raw, "angle", "raw '<' in the error body: %r" % a.body[:200], a.status)
        ctype = (a.header("Content-Type") or "").lower()
        if not ctype.startswith("image/"):
            for secret in (self.tmp.encode(), self.root.encode(), REPO.encode()):
                if secret in a.body or any(secret.decode() in v for _, v in a.headers):
                    self.violation(srv, raw, "path", "server path in the answer: %r" % a.body[:300], a.status)
                    break
        return True

    def probe(self, srv):
        raw = build(b"GET", b"/iiif/3/pattern/info.json",
                    [(b"Host", b"127.0.0.1:%d" % srv.port), (b"Connection", b"close")])
        try:
            data, _, _ = send(srv.port, raw)
            a = parse(data, "GET")
            return a.status == 200
        except (OSError, Malformed):
            return False


# --------------------------------------------------------------------------
# setup

def make_images(tmp):
    import images
    root = os.path.join(tmp, "img")
    work = os.path.join(tmp, "work")
    os.makedirs(root)
    os.makedirs(work)
    pat = images.Pattern(W, H)
    png = os.path.join(work, "p.png")
    pat.save_png(png)
    tif = os.path.join(root, "pattern.tif")
    images.vips("tiffsave", png, tif, *(images.PYR + images.JPEG))
    images.make_corrupt(tif, os.path.join(root, "corrupt.tif"))
    shutil.copy(png, os.path.join(root, "plain.png"))
    os.makedirs(os.path.join(root, "sub", "dir"))
    shutil.copy(tif, os.path.join(root, "sub", "dir", "x.tif"))
    outside = os.path.join(tmp, "outside.tif")
    shutil.copy(tif, outside)
    os.symlink(outside, os.path.join(root, "escape.tif"))
    return root


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--bin", default=os.environ.get("TESSERA_BIN", "/tmp/tessera-asan"))
    ap.add_argument("--no-nginx", action="store_true")
    ap.add_argument("--replay-only", action="store_true")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)

    if not os.access(args.bin, os.X_OK):
        print("FAIL %s is not built (sh tests/fuzz/build-sanitized.sh asan)" % args.bin)
        print("0 passed, 1 failed")
        return 1
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rnd = random.Random(seed)

    tmp = tempfile.mkdtemp(prefix="tessera-fuzz-")
    os.chmod(tmp, 0o755)
    sandir = os.path.join(tmp, "sanitizer")
    os.makedirs(sandir)
    os.environ["TESSERA_BIN"] = args.bin
    os.environ["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=1:log_path=%s/asan" % sandir
    os.environ["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1:log_path=%s/ubsan" % sandir
    import harness
    harness.TESSERA = args.bin

    def on_term(signum, frame):
        harness.stop_all()
        os._exit(1)

    signal.signal(signal.SIGTERM, on_term)
    failed = passed = 0
    fz = None
    try:
        root = make_images(tmp)
        servers = [harness.start_embedded(tmp, "embedded", root)]
        if not args.no_nginx:
            servers.append(harness.start_nginx_fastcgi(tmp, "nginx", root))
        fz = Fuzz(args, tmp, root, servers, sandir)

        def restart(srv):
            """Replace a dead server so the run can go on."""
            srv.stop()
            kind = srv.name
            name = kind + "-%d" % len(fz.crashes)
            new = harness.start_embedded(tmp, name, root) if kind == "embedded" else \
                harness.start_nginx_fastcgi(tmp, name, root)
            new.name = kind
            servers[servers.index(srv)] = new
            for f in os.listdir(sandir):
                os.rename(os.path.join(sandir, f), os.path.join(tmp, "seen-" + f))

        # 1. the kept regressions, against every front end
        kept = sorted(f for f in os.listdir(REGRESSIONS) if f.endswith(".req")) if os.path.isdir(REGRESSIONS) else []
        t0 = time.monotonic()
        for f in kept:
            with open(os.path.join(REGRESSIONS, f), "rb") as fh:
                raw = fh.read()
            fz.replaying = True
            for i in range(len(servers)):
                srv = servers[i]
                if not fz.one(srv, raw, known=f.startswith("known-")):
                    restart(srv)
        fz.replaying = False
        print("# replayed %d kept requests on %d front ends in %.1f s" % (
            len(kept), len(servers), time.monotonic() - t0), flush=True)

        # 2. fuzzing
        if not args.replay_only:
            t0 = time.monotonic()
            n = 0
            while time.monotonic() - t0 < args.seconds:
                srv = servers[n % len(servers)] if rnd.random() < 0.5 else rnd.choice(servers)
                raw = make_request(rnd, srv.port)
                n += 1
                if not fz.one(srv, raw):
                    restart(srv)
                    continue
                if n % 100 == 0:
                    for s in servers:
                        if not fz.probe(s):
                            fz.crash(s, raw, "liveness probe failed after %d requests" % n)
                            restart(s)
            dt = time.monotonic() - t0
            print("# fuzzed %d requests in %.1f s (%.0f/s), seed %d" % (n, dt, n / dt if dt else 0, seed),
                  flush=True)
        # 3. a clean stop, so LeakSanitizer gets to speak
        for s in list(servers):
            s.stop()
        time.sleep(0.2)
        leaks = fz.read_reports()
        if leaks:
            print("FAIL sanitizer reports at exit (leaks?):\n%s" % leaks, flush=True)
            failed += 1
        else:
            passed += 1
            print("ok   no sanitizer report at exit", flush=True)
    except harness.SetupError as e:
        print("FAIL setup: %s" % e)
        failed += 1
    finally:
        harness.stop_all()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("# temp dir %s (kept)" % tmp)

    if fz is not None:
        print("# statuses: %s" % ", ".join("%s=%d" % kv for kv in sorted(fz.statuses.items(), key=str)))
        if fz.crashes:
            failed += len(fz.crashes)
            print("FAIL %d crash(es)" % len(fz.crashes))
        else:
            passed += 1
            print("ok   the daemon survived every request with no sanitizer report")
        if fz.violations:
            failed += len(fz.violations)
            for sig, (count, raw, msg) in sorted(fz.violations.items(), key=str):
                print("FAIL %s %s %s on %s x%d: %s | %r" % (sig[1], sig[2], sig[3].decode("latin-1"),
                                                         sig[0], count, msg[:200], raw[:200]))
        else:
            passed += 1
            print("ok   every answer was well-formed and allowed")
        for sig, (count, raw, msg) in sorted(fz.notes.items(), key=str):
            print("note %s on %s x%d (not Tessera's code): %s | %r" % (sig[1], sig[0], count, msg[:120], raw[:120]))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
