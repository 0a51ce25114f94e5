"""test_embedded_hardening.py - the embedded HTTP server under attack.

Issue 13 reproduced these against the libmicrohttpd front end: 10,000 idle
connections or ~1,100 slowloris connections made every normal request time
out, a 450-argument query got no answer, and requests that RFC 9112 says
must be refused (Content-Length with Transfer-Encoding, two Host fields, no
Host on HTTP/1.1, a NUL in the target) were served.  Issue 15: SIGTERM
during a render gave the client an empty reply.

Each test starts its own daemon with short limits (a 2 s header deadline),
attacks it from 127.0.0.1 (or many 127.x addresses) and checks that a
second client, connecting from 127.0.0.2 (Linux routes all of 127/8 to
lo), is still answered within a second.
"""

import os
import re
import resource
import signal
import socket
import time

import harness
from common import test, expect, Skip

ID = "pattern"
HEADER_S = 2
IDLE_S = 3
LIMITS = ["--http-header-timeout", str(HEADER_S), "--http-idle-timeout", str(IDLE_S)]
GOOD = "127.0.0.2"


def _more_files(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 256
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            raise Skip("needs %d file descriptors, the hard limit is %d" % (want, hard))
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def _connect(port, source="127.0.0.1"):
    """A non-blocking connection started (not necessarily finished)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.bind((source, 0))
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    return s


def _ask(port, path="/iiif/3/%s/info.json" % ID, source=GOOD, timeout=5.0):
    """One complete GET from source; returns (status, seconds)."""
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))
    try:
        s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n"
                   % (path, port)).encode())
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    finally:
        s.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, time.monotonic() - t0


def _raw(port, data, wait=3.0):
    """Send raw bytes; return (everything received, whether the server
    closed the connection within wait seconds)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=wait)
    s.sendall(data)
    out = b""
    deadline = time.monotonic() + wait
    closed = False
    try:
        while time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            d = s.recv(65536)
            if not d:
                closed = True
                break
            out += d
    except socket.timeout:
        pass
    except ConnectionResetError:
        closed = True
    finally:
        s.close()
    return out, closed


def _statuses(data):
    """The status of every answer in data (a status line starts a line)."""
    return [int(m) for m in re.findall(rb"(?:^|\n)HTTP/1\.[01] (\d{3}) ", data)]


def _alive(s):
    """False once the server has closed s (EOF or reset); reads and drops
    whatever it sent (a 503, a 408)."""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return False
    except BlockingIOError:
        return True
    except OSError:
        return False


def _good_client_while(port, seconds, attack_step):
    """Ask every 0.25 s for `seconds` while attack_step() runs between the
    requests; return the slowest answer and every status."""
    worst, statuses = 0.0, []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        attack_step()
        st, dt = _ask(port)
        statuses.append(st)
        worst = max(worst, dt)
        time.sleep(0.25)
    return worst, statuses


def _start(ctx, name, extra=()):
    return harness.start_embedded(ctx.tmp, name, ctx.root, LIMITS + list(extra))


@test("embedded hardening: 2,000 idle connections from one client do not keep a second client "
      "waiting (per-client limit: the rest are 503 at once; the held ones closed after the "
      "header timeout)", server=None)
def _(ctx, srv):
    _more_files(2100)
    srv = _start(ctx, "hard-idle")
    socks = []
    try:
        for _i in range(2000):
            socks.append(_connect(srv.port))
        worst, statuses = _good_client_while(srv.port, 2.0, lambda: None)
        expect(all(s == 200 for s in statuses), "second client's answers: %s" % statuses)
        expect(worst < 1.0, "second client waited %.2f s behind 2,000 idle connections" % worst)
        time.sleep(HEADER_S + 1.5)
        held = sum(1 for s in socks if _alive(s))
        expect(held == 0, "%d idle connections still open %d s after the header timeout" % (held, 1.5))
        expect(_ask(srv.port)[0] == 200, "answered after the attack")
    finally:
        for s in socks:
            s.close()
        srv.stop()


def _slowloris(port, sources, per_source, seconds, check):
    """per_source connections from each source address, each sending a
    request head one byte every 0.5 s (faster than the header timeout, so
    only a deadline that ignores activity cuts them); check() runs as the
    good client in between.  Returns (still open at the end, got 408)."""
    socks = []
    for src in sources:
        for _i in range(per_source):
            socks.append(_connect(port, src))
    time.sleep(0.3)
    head = b"GET /iiif/3/%s/info.json HTTP/1.1\r\nHost: x\r\nX-Slow: " % ID.encode()
    sent = {}
    timeouts = 0
    state = {"next": 0.0}

    def step():
        nonlocal timeouts
        now = time.monotonic()
        if now < state["next"]:
            return
        state["next"] = now + 0.5
        for s in socks:
            if s.fileno() < 0:
                continue
            try:
                if s not in sent:
                    s.send(head)
                    sent[s] = True
                else:
                    s.send(b"a")
                d = s.recv(4096)
                if d.startswith(b"HTTP/1.1 408"):
                    timeouts += 1
                if not d:
                    s.close()
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                s.close()

    worst, statuses = _good_client_while(port, seconds, step)
    check(worst, statuses)
    open_at_end = sum(1 for s in socks if s.fileno() >= 0 and _alive(s))
    for s in socks:
        s.close()
    return open_at_end, timeouts


@test("embedded hardening: 1,200 slowloris connections (a byte every 0.5 s) do not keep a "
      "second client waiting, and are cut at the header deadline although they keep sending",
      server=None)
def _(ctx, srv):
    _more_files(1300)
    srv = _start(ctx, "hard-slow")
    try:
        def check(worst, statuses):
            expect(all(s == 200 for s in statuses), "second client's answers: %s" % statuses)
            expect(worst < 1.0, "second client waited %.2f s behind 1,200 slowloris connections" % worst)
        still, timeouts = _slowloris(srv.port, ["127.0.0.1"], 1200, HEADER_S + 3.0, check)
        expect(still == 0, "%d slowloris connections outlived the %d s header deadline" % (still, HEADER_S))
        expect(timeouts > 0, "no slowloris connection was answered 408 at its deadline")
    finally:
        srv.stop()


@test("embedded hardening: slowloris from 40 addresses (1,200 connections, each address under "
      "the per-client limit) fill http_max_connections: the oldest waiting ones make room and "
      "a second client is still answered within a second", server=None)
def _(ctx, srv):
    _more_files(1300)
    srv = _start(ctx, "hard-spread", ["--http-max-connections", "256"])
    try:
        def check(worst, statuses):
            expect(all(s == 200 for s in statuses), "second client's answers: %s" % statuses)
            expect(worst < 1.0, "second client waited %.2f s behind spread slowloris" % worst)
        sources = ["127.0.3.%d" % i for i in range(1, 41)]
        still, _t = _slowloris(srv.port, sources, 30, HEADER_S + 3.0, check)
        expect(still == 0, "%d slowloris connections outlived the header deadline" % still)
    finally:
        srv.stop()


FRAMING = [
    ("Content-Length with Transfer-Encoding (the smuggled request must not be answered)",
     b"POST /iiif/3/pattern/info.json HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /iiif/3/pattern/info.json HTTP/1.1\r\nHost: a\r\n\r\n",
     (400,)),
    ("Transfer-Encoding with Content-Length on a GET",
     b"GET /iiif/3/pattern/info.json HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
     b"Content-Length: 5\r\n\r\n0\r\n\r\n", (400,)),
    ("two Content-Length fields", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
     b"Content-Length: 2\r\n\r\nab", (400,)),
    ("two Host fields", b"GET /iiif/3/pattern/info.json HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", (400,)),
    ("no Host on HTTP/1.1", b"GET /iiif/3/pattern/info.json HTTP/1.1\r\n\r\n", (400,)),
    ("a NUL in the target", b"GET /iiif/3/pattern.tif\x00/info.json HTTP/1.1\r\nHost: a\r\n\r\n", (400,)),
    ("a control byte in the target", b"GET /iiif/3/pat\x01tern/info.json HTTP/1.1\r\nHost: a\r\n\r\n", (400,)),
    ("a tab in the target", b"GET /iiif/3/pat\ttern/info.json HTTP/1.1\r\nHost: a\r\n\r\n", (400,)),
    ("a NUL in a field", b"GET /iiif/3/pattern/info.json HTTP/1.1\r\nHost: a\r\nX-A: a\x00b\r\n\r\n", (400,)),
    ("obs-fold", b"GET /iiif/3/pattern/info.json HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", (400,)),
    ("whitespace before the colon", b"GET /iiif/3/pattern/info.json HTTP/1.1\r\nHost : a\r\n\r\n", (400,)),
    ("a chunk size that is not hex", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"zz\r\nhello\r\n0\r\n\r\n", (400,)),
    ("a chunk size that overflows", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"ffffffffffffffffff\r\nhello\r\n0\r\n\r\n", (400,)),
    ("a chunk longer than its size", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"3\r\nhello\r\n0\r\n\r\n", (400,)),
    ("a head over 32 KB", b"GET /iiif/3/pattern/info.json HTTP/1.1\r\nHost: a\r\nX-Big: " + b"b" * 40000 +
     b"\r\n\r\n", (431,)),
    ("more than 64 fields", b"GET /iiif/3/pattern/info.json HTTP/1.1\r\nHost: a\r\n" +
     b"".join(b"X-%d: v\r\n" % i for i in range(80)) + b"\r\n", (431,)),
    ("a target over 16 KB", b"GET /iiif/3/pattern/info.json?" + b"a" * 17000 + b" HTTP/1.1\r\nHost: a\r\n\r\n",
     (414,)),
    ("HTTP/2.0 in the request line", b"GET /iiif/3/pattern/info.json HTTP/2.0\r\nHost: a\r\n\r\n", (505,)),
]


@test("embedded hardening: framing RFC 9112 refuses is answered 400/414/431/505 at once and "
      "the connection closed: " + "; ".join(name for name, _d, _c in FRAMING), server=None)
def _(ctx, srv):
    srv = _start(ctx, "hard-framing")
    try:
        for name, data, codes in FRAMING:
            t0 = time.monotonic()
            out, closed = _raw(srv.port, data)
            dt = time.monotonic() - t0
            st = _statuses(out)
            expect(st[:1] == list(codes[:1]) and len(st) == 1,
                   "%s: answers %s, expected one %s" % (name, st, codes))
            expect(closed, "%s: the connection was left open" % name)
            expect(dt < 2.0, "%s: took %.2f s" % (name, dt))
        out, closed = _raw(srv.port, b"HEAD /iiif/3/pattern/info.json HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
        expect(_statuses(out) == [400] and out.endswith(b"\r\n\r\n") and closed,
               "HEAD with two Host fields: a 400 with no body, then closed: %r" % out[-40:])
        expect(_ask(srv.port)[0] == 200, "still serving after the framing cases")
        # what must still work: a body that is read and dropped, then keep-alive
        out, _c = _raw(srv.port, b"POST /iiif/3/pattern/info.json HTTP/1.1\r\nHost: a\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                       b"GET /iiif/3/pattern/info.json HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        expect(_statuses(out) == [405, 200], "a chunked POST then a GET: %s" % _statuses(out))
        out, _c = _raw(srv.port, b"GET http://example.org/iiif/3/pattern/info.json HTTP/1.1\r\n"
                       b"Host: a\r\nConnection: close\r\n\r\n")
        expect(_statuses(out) == [200] and b'"http://example.org/iiif/3/pattern"' in out,
               "an absolute-form target is served with its authority as the host: %s" % out[:200])
    finally:
        srv.stop()


@test("embedded hardening: a 1,000-argument query is answered at once, with the URL's own answer; "
      "then the connection is kept alive", server=None)
def _(ctx, srv):
    srv = _start(ctx, "hard-query")
    try:
        q = "&".join("a%d=%d" % (i, i) for i in range(1000))   # 8.9 KB
        for short, path in (("/iiif/3/%s/info.json?a=1" % ID, "/iiif/3/%s/info.json?%s" % (ID, q)),
                            ("/iiif/3/%s/full/max/0/default.jpg" % ID,
                             "/iiif/3/%s/full/max/0/default.jpg?%s" % (ID, q)),
                            # IIP refuses unknown commands (400): the same
                            # answer for one of them as for a thousand
                            ("/fcgi-bin/iipsrv.fcgi?FIF=%s.tif&OBJ=IIP,1.0&a0=0" % ID,
                             "/fcgi-bin/iipsrv.fcgi?FIF=%s.tif&OBJ=IIP,1.0&%s" % (ID, q)),
                            ("/fcgi-bin/iipsrv.fcgi?FIF=%s.tif&OBJ=IIP,1.0" % ID,
                             "/fcgi-bin/iipsrv.fcgi?FIF=%s.tif&OBJ=IIP,1.0&%s" % (
                                 ID, "&".join("CNT=1.%d" % (i % 10) for i in range(1000)))),
                            ("/fcgi-bin/iipsrv.fcgi?&", "/fcgi-bin/iipsrv.fcgi?%s" % ("&" * 1000))):
            want = _ask(srv.port, short, source="127.0.0.1")[0]
            t0 = time.monotonic()
            out, closed = _raw(srv.port, ("GET %s HTTP/1.1\r\nHost: a\r\n\r\n" % path).encode(), wait=1.5)
            dt = time.monotonic() - t0
            st = _statuses(out)
            expect(st[:1] == [want], "%s...: %s, expected %d" % (path[:40], st, want))
            expect(not closed, "%s...: the connection was closed" % path[:40])
            first = out.find(b"\r\n\r\n")
            expect(first > 0 and dt < 1.5 + 0.5, "%s...: took %.2f s" % (path[:40], dt))
    finally:
        srv.stop()


def _noise_root(ctx):
    """A root with one big unpyramided noise PNG (a full-size PNG render of
    it takes a worker a good second) and the pattern the harness probes."""
    from PIL import Image
    import shutil
    root = os.path.join(ctx.tmp, "slowroot")
    path = os.path.join(root, "noise.png")
    if not os.path.exists(path):
        os.makedirs(root, exist_ok=True)
        Image.frombytes("RGB", (3000, 3000), os.urandom(3000 * 3000 * 3)).save(path, compress_level=0)
        shutil.copy(os.path.join(ctx.root, ID + ".tif"), root)
    return root


@test("embedded hardening: SIGTERM during a slow render: the answer is still sent whole "
      "(Content-Length bytes, a PNG that decodes), then the daemon exits 0", server=None)
def _(ctx, srv):
    from PIL import Image
    import io
    root = _noise_root(ctx)
    srv = harness.start_embedded(ctx.tmp, "hard-term", root, LIMITS + ["--cache-size", "0"])
    try:
        path = "/iiif/3/noise/full/max/0/default.png"
        t0 = time.monotonic()
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=60)
        s.sendall(("GET %s HTTP/1.1\r\nHost: a\r\n\r\n" % path).encode())
        time.sleep(0.3)
        srv.procs[0].send_signal(signal.SIGTERM)
        data = b""
        while True:
            d = s.recv(1 << 20)
            if not d:
                break
            data += d
        s.close()
        dt = time.monotonic() - t0
        end = data.find(b"\r\n\r\n")
        expect(end > 0 and data.startswith(b"HTTP/1.1 200"), "no answer after SIGTERM: %r" % data[:100])
        head = data[:end].decode("latin-1").lower()
        length = int(head.split("content-length:")[1].split("\r\n")[0])
        body = data[end + 4:]
        expect(len(body) == length, "body %d bytes, Content-Length %d" % (len(body), length))
        expect(Image.open(io.BytesIO(body)).size == (3000, 3000), "the PNG does not decode")
        expect(dt > 0.3, "the render was too quick (%.2f s) to test the drain" % dt)
        rc = srv.procs[0].wait(timeout=10)
        expect(rc == 0, "exit status %s after SIGTERM" % rc)
    finally:
        srv.stop()
