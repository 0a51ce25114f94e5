"""test_abandon.py - work for clients that have gone away is dropped.

A viewer panning away cancels its tile requests, wrk stops, an attacker
opens and closes connections: nginx then closes its FastCGI connection (and
an embedded-server client its socket), and the daemon must not go on
rendering answers nobody will read, above all the large renders waiting
for admission, whose full queue would answer the next real clients 503.

Behind nginx and in embedded mode, with one large render at a time and a
queue of four: a client that stays holds the running render (after a first
small request on the same keep-alive connection), three clients queue
large renders and leave, a fourth client that stays queues behind them.
Then:
  (a) the renders of the clients that left are dropped at once:
      tessera_requests_abandoned_total and tessera_renders_abandoned_total
      rise by three, the queue holds only the staying client, and the
      access log has a 499 for each of them;
  (b) a fresh large render asked right after is admitted (200, not 503);
  (c) both staying clients get their 200, the keep-alive one on its
      second request;
  (d) a running large render whose client leaves is stopped at its next
      check and counted, not finished.
Embedded mode: one of the three leaving clients only half-closes (and
reads): over TCP that is the same FIN as a close, taken as gone as nginx
does (it gets no answer, the connection is closed); a client that
pipelines two requests and then half-closes gets both answers.

Times are bounds for a noisy 2-core machine, not measurements.
"""

import os
import re
import socket
import time

import harness
from common import Skip, test, expect
from test_overload import overload_root, metrics

HOLD = "/iiif/3/big/full/max/45/default.png"           # seconds of work
LEAVE = ["/iiif/3/big/full/max/%d/default.png" % a for a in (30, 60, 15)]
STAY = "/iiif/3/big/full/1800,/0/default.jpg"          # heavy: 2.4 Mpx out
FRESH = "/iiif/3/big/full/1700,/0/default.jpg"
TILE = "/iiif/3/big/0,0,256,256/256,/0/default.jpg"    # a stored tile, passed through
DECODE = "/iiif/3/big/0,0,512,512/256,/0/default.jpg"  # decoded and scaled
BOUND_S = 200.0       # the longest any staying client may wait here (loaded CI box)

FLAGS = ["--threads", "8", "--max-heavy-renders", "1", "--max-heavy-queue", "4",
         "--max-render-seconds", "150", "--cache-size", "0"]


def send(port, path, keep_alive=False):
    """A connection with one GET sent; the caller reads or closes it."""
    s = socket.create_connection(("127.0.0.1", port), timeout=BOUND_S)
    s.sendall(request_bytes(port, path, keep_alive))
    return s


def request_bytes(port, path, keep_alive=False):
    return ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: abandon-test\r\n%s\r\n"
            % (path, port, "" if keep_alive else "Connection: close\r\n")).encode()


def read_response(s, buf=b""):
    """(status, body, rest) of one response with Content-Length read from s;
    (0, b"", b"") when the connection ends before a whole head."""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            return 0, b"", buf
        buf += d
    head, _, buf = buf.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    n = int(m.group(1)) if m else 0
    while len(buf) < n:
        d = s.recv(1 << 20)
        if not d:
            break
        buf += d
    return status, buf[:n], buf[n:]


def wait_for(srv, pred, timeout):
    end = time.monotonic() + timeout
    m = metrics(srv)
    while not pred(m) and time.monotonic() < end:
        time.sleep(0.05)
        m = metrics(srv)
    return m


def scenario(ctx, kind):
    root = overload_root(ctx)
    alog = os.path.join(ctx.tmp, "abandon-%s-access.log" % kind)
    flags = FLAGS + ["--access-log", alog]
    name = "abandon-" + kind
    if kind == "nginx":
        srv = harness.start_nginx_fastcgi(ctx.tmp, name, root, flags)
    else:
        srv = harness.start_embedded(ctx.tmp, name, root, flags)
    try:
        run(srv, kind, alog)
    finally:
        srv.stop()


def run(srv, kind, alog):
    port = srv.port
    base = metrics(srv)
    # The staying client that holds the one render slot: a tile first, then
    # the long render, on one keep-alive connection.
    s1 = send(port, TILE, keep_alive=True)
    st, body, rest = read_response(s1)
    expect(st == 200 and body, "the first request on the keep-alive connection: %d" % st)
    s1.sendall(request_bytes(port, HOLD, keep_alive=True))
    m = wait_for(srv, lambda m: m.get("tessera_renders_running", 0) >= 1, 20)
    expect(m.get("tessera_renders_running", 0) >= 1, "the long render started")
    # Three that will leave, then one that stays, all queued behind it.
    leavers = [send(port, p) for p in LEAVE]
    m = wait_for(srv, lambda m: m.get("tessera_renders_queued", 0) >= 3, 20)
    s2 = send(port, STAY)
    m = wait_for(srv, lambda m: m.get("tessera_renders_queued", 0) >= 4, 20)
    if m.get("tessera_renders_queued", 0) < 4 or m.get("tessera_renders_running", 0) < 1:
        raise Skip("the long render ended before the queue was full (%s)" % m)
    # They leave.  Embedded: the first only half-closes (and reads).
    half = None
    for i, s in enumerate(leavers):
        if kind == "embedded" and i == 0:
            s.shutdown(socket.SHUT_WR)
            half = s
        else:
            s.close()
    t0 = time.monotonic()
    m = wait_for(srv, lambda m: m.get("tessera_renders_queued", 9) <= 1, 5)
    took = time.monotonic() - t0
    left = m.get("tessera_renders_queued", -1)
    print("    abandon %s: the queue went from 4 to %d in %.2f s" % (kind, left, took))
    # (b) the next real client is admitted, not refused.
    t0 = time.monotonic()
    f = send(port, FRESH)
    st_f, body_f, _ = read_response(f)
    f.close()
    took_f = time.monotonic() - t0
    expect(st_f == 200, "a fresh large render right after the clients left: %d, not 200 "
           "(503: the queue was still full of abandoned renders, %d queued)" % (st_f, left))
    expect(took_f < BOUND_S, "answered within %.0f s (%.1f s)" % (BOUND_S, took_f))
    expect(left <= 1, "the queued renders of the clients that left were dropped within 5 s: "
           "%d still queued" % left)
    # (c) the staying clients got theirs.
    st2, body2, _ = read_response(s2)
    s2.close()
    expect(st2 == 200 and body2[:2] == b"\xff\xd8", "the queued client that stayed: %d" % st2)
    st1, body1, _ = read_response(s1, rest)
    s1.close()
    expect(st1 == 200 and body1[:8] == b"\x89PNG\r\n\x1a\n",
           "the keep-alive client that stayed, its second request: %d" % st1)
    if half is not None:
        # Over TCP a half-close is the FIN of a close: taken as gone.
        half.settimeout(10)
        try:
            got = half.recv(1)
        except ConnectionResetError:
            got = b""
        half.close()
        expect(got == b"", "the half-closed client got no answer and the connection closed")
    # (a) counted, logged, and nothing left held.
    m = wait_for(srv, lambda m: m.get("tessera_renders_queued", 9) == 0 and
                 m.get("tessera_renders_running", 9) == 0, 20)
    gone = m.get("tessera_requests_abandoned_total", 0) - base.get(
        "tessera_requests_abandoned_total", 0)
    expect(gone >= 3, "tessera_requests_abandoned_total rose by %d, not 3" % gone)
    expect(m.get("tessera_renders_abandoned_total", 0) >= 3,
           "tessera_renders_abandoned_total: %s" % m.get("tessera_renders_abandoned_total"))
    expect(m.get('tessera_requests_total{route="iiif_image",status="499"}', 0) >= 3,
           "requests_total counts the 499s")
    expect(m["tessera_renders_running"] == 0 and m["tessera_renders_queued"] == 0,
           "nothing left running or queued")
    expect(m["tessera_render_memory_reserved_bytes"] == 0, "every reservation returned")
    lines = []
    end = time.monotonic() + 5
    while time.monotonic() < end:
        with open(alog, "rb") as fh:
            lines = [x for x in fh.read().decode().splitlines() if '" 499 ' in x]
        if len(lines) >= 3:
            break
        time.sleep(0.1)
    targets = sorted(p for p in LEAVE if any(p in x for x in lines))
    expect(targets == sorted(LEAVE), "the access log has a 499 for each client that left: %s"
           % lines)
    # (d) a running render whose client leaves is stopped, not finished.
    before = m.get("tessera_renders_abandoned_total", 0)
    s3 = send(port, HOLD)
    m = wait_for(srv, lambda m: m.get("tessera_renders_running", 0) >= 1, 20)
    expect(m.get("tessera_renders_running", 0) >= 1, "the long render started")
    s3.close()
    t0 = time.monotonic()
    m = wait_for(srv, lambda m: m.get("tessera_renders_running", 9) == 0, 30)
    took = time.monotonic() - t0
    print("    abandon %s: a running render stopped %.2f s after its client left" % (kind, took))
    expect(m.get("tessera_renders_abandoned_total", 0) == before + 1,
           "the running render of the client that left was stopped and counted "
           "(renders_abandoned_total %s -> %s)" % (before, m.get("tessera_renders_abandoned_total")))
    expect(m["tessera_render_memory_reserved_bytes"] == 0, "its reservation returned")


@test("abandon nginx: renders queued or running for clients that closed are dropped at once (499, "
      "counted), the next large render gets 200 not 503, clients that stay get theirs",
      server=None)
def _(ctx, srv):
    scenario(ctx, "nginx")


@test("abandon embedded: renders queued or running for clients that closed or half-closed are dropped "
      "at once (499, counted), the next large render gets 200 not 503, clients that stay "
      "(keep-alive) get theirs", server=None)
def _(ctx, srv):
    scenario(ctx, "embedded")


@test("abandon embedded: a client that pipelines two requests, then half-closes, gets both "
      "answers", server=None)
def _(ctx, srv):
    root = overload_root(ctx)
    srv = harness.start_embedded(ctx.tmp, "abandon-pipe", root, FLAGS)
    try:
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=BOUND_S)
        s.sendall(request_bytes(srv.port, STAY, True) + request_bytes(srv.port, DECODE, False))
        s.shutdown(socket.SHUT_WR)
        st1, b1, rest = read_response(s)
        st2, b2, _ = read_response(s, rest)
        s.close()
        expect(st1 == 200 and b1[:2] == b"\xff\xd8", "the pipelined large render: %d" % st1)
        expect(st2 == 200 and b2[:2] == b"\xff\xd8", "the pipelined decoded tile after it: %d" % st2)
        m = metrics(srv)
        expect(m.get("tessera_requests_abandoned_total", 0) == 0, "nothing dropped")
    finally:
        srv.stop()
