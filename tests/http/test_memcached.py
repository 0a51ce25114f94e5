"""test_memcached.py - two daemons share their work through memcached.

Starts a real memcached on a free 127.0.0.1 port and two embedded-mode
daemons A and B on the same image root with --memcached-servers pointing at
it and --cache-size 0, so nothing can be shared but through memcached (both
use the same --base-url, so their info.json ids, and hence keys, agree).
A renders a tile; B must then serve the same bytes from memcached, shown
two ways: B's /metrics counts a remote hit (tessera_remote_cache_hits_total),
and memcached's own `stats` counts a get hit during B's request.  Last, a
daemon pointed at a memcached that is not there still answers, quickly.
Says "skipped" when memcached is not installed.
"""

import os
import re
import shutil
import socket
import time

import harness
from common import test, expect, expect_status, get_image, iiif, Skip

ID = "pattern"
TILE = iiif(3, ID, "256,256,256,256", "128,", "0", "default", "jpg")
INFO = "/iiif/3/%s/info.json" % ID
BASE_URL = "https://images.example.org"
MEMCACHED = shutil.which("memcached") or "/usr/bin/memcached"

_shared = {}   # the memcached and the two daemons, started once for this module


def _memcached_stats(port):
    """memcached's `stats` as a dict of ints (where they parse)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"stats\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    out = {}
    for line in data.decode("latin-1").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "STAT":
            try:
                out[parts[1]] = int(parts[2])
            except ValueError:
                pass
    return out


def _start_memcached(tmp):
    if not os.access(MEMCACHED, os.X_OK):
        raise Skip("memcached is not installed (apt-get install memcached)")
    port = harness.free_port()
    d = os.path.join(tmp, "memcached")
    os.makedirs(d, exist_ok=True)
    log = os.path.join(d, "memcached.log")
    argv = [MEMCACHED, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "64"]
    if os.geteuid() == 0:
        argv += ["-u", "root"]   # memcached refuses to run as root without it
    p = harness._spawn("memcached", argv, log)
    srv = harness.Server("memcached", port, [p], [log], None)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if p.poll() is not None:
            srv.stop()
            raise harness.SetupError("memcached exited with %s: %s" % (p.returncode, srv.log_tail()))
        try:
            _memcached_stats(port)
            return srv
        except OSError:
            time.sleep(0.05)
    srv.stop()
    raise harness.SetupError("memcached did not answer on port %d" % port)


def _setup(ctx):
    if "error" in _shared:
        raise harness.SetupError(_shared["error"])
    if "a" not in _shared:
        mc = _start_memcached(ctx.tmp)
        _shared["mc"] = mc
        flags = ["--memcached-servers", "127.0.0.1:%d" % mc.port, "--cache-size", "0",
                 "--base-url", BASE_URL]
        try:
            _shared["a"] = harness.start_embedded(ctx.tmp, "memcached-a", ctx.root, flags)
            _shared["b"] = harness.start_embedded(ctx.tmp, "memcached-b", ctx.root, flags)
        except harness.SetupError as e:
            _shared["error"] = "daemons with --memcached-servers: %s" % e
            _teardown()
            raise harness.SetupError(_shared["error"])
    return _shared["mc"], _shared["a"], _shared["b"]


def _teardown():
    for k in ("b", "a", "mc"):
        s = _shared.pop(k, None)
        if s:
            s.stop()


def _remote_hits(srv):
    """tessera_remote_cache_hits_total from srv's /metrics (summed over labels)."""
    r = srv.get("/metrics")
    expect_status(r, 200, "GET /metrics")
    text = r.body.decode("utf-8", errors="replace")
    vals = re.findall(r"^tessera_remote_cache_hits_total(?:\{[^}]*\})?\s+([0-9.e+]+)\s*$",
                      text, re.M)
    expect(vals, "%s's /metrics has no tessera_remote_cache_hits_total line (is the remote "
           "cache wired into the server?)" % srv.name)
    return sum(float(v) for v in vals)


def _shared_once(ctx, path):
    """A answers path, then B; returns (A's response, B's response, B's
    remote hits during its request, memcached get_hits during it)."""
    mc, a, b = _setup(ctx)
    ra = a.get(path)
    expect_status(ra, 200, "daemon A: GET " + path)
    hits0 = _remote_hits(b)
    st0 = _memcached_stats(mc.port)
    expect(st0.get("curr_items", 0) >= 1, "memcached holds no item after daemon A answered "
           "%s (stats: curr_items=%s, cmd_set=%s)" % (path, st0.get("curr_items"), st0.get("cmd_set")))
    rb = b.get(path)
    expect_status(rb, 200, "daemon B: GET " + path)
    st1 = _memcached_stats(mc.port)
    hits1 = _remote_hits(b)
    return ra, rb, hits1 - hits0, st1.get("get_hits", 0) - st0.get("get_hits", 0)


@test("memcached: daemon B serves a tile daemon A rendered, from memcached (issue: shared cache)",
      server=None)
def _(ctx, srv):
    ra, rb, remote_hits, mc_hits = _shared_once(ctx, TILE)
    expect(mc_hits >= 1, "memcached counted %d get hits while B answered the tile" % mc_hits)
    expect(remote_hits >= 1, "B's tessera_remote_cache_hits_total went up by %d, expected a hit"
           % remote_hits)
    expect(rb.media_type == "image/jpeg", "B: Content-Type %r" % rb.header("Content-Type"))
    expect(rb.body == ra.body, "B's tile (%d bytes) differs from A's (%d bytes)" % (
        len(rb.body), len(ra.body)))
    expect(rb.header("Content-Length") == str(len(rb.body)), "B: Content-Length %r for %d bytes"
           % (rb.header("Content-Length"), len(rb.body)))
    expect(rb.header("ETag") == ra.header("ETag"), "B's ETag %r differs from A's %r" % (
        rb.header("ETag"), ra.header("ETag")))
    _, _ = get_image(_shared["b"], TILE)   # B's bytes decode as a JPEG


@test("memcached: info.json comes back from memcached with its own Content-Type", server=None)
def _(ctx, srv):
    ra, rb, remote_hits, mc_hits = _shared_once(ctx, INFO)
    expect(mc_hits >= 1, "memcached counted %d get hits while B answered info.json" % mc_hits)
    expect(remote_hits >= 1, "B's tessera_remote_cache_hits_total went up by %d" % remote_hits)
    expect(rb.header("Content-Type") == ra.header("Content-Type"),
           "B's Content-Type %r differs from A's %r" % (rb.header("Content-Type"),
                                                        ra.header("Content-Type")))
    expect(rb.body == ra.body, "B's info.json differs from A's")
    expect(BASE_URL.encode() in rb.body, "info.json id does not use the base URL")


@test("memcached: a daemon whose memcached is down still answers, quickly", server=None)
def _(ctx, srv):
    try:
        _teardown()   # the shared setup is no longer needed
        port = harness.free_port()   # nothing listens here
        c = harness.start_embedded(ctx.tmp, "memcached-down", ctx.root, [
            "--memcached-servers", "127.0.0.1:%d" % port, "--cache-size", "0"])
        try:
            for path in (TILE, INFO, TILE):
                t0 = time.monotonic()
                r = c.get(path)
                took = time.monotonic() - t0
                expect_status(r, 200, "GET %s with memcached down" % path)
                expect(took < 2.0, "GET %s took %.2f s with memcached down" % (path, took))
            expect(c.daemon_alive(), "the daemon exited with memcached down")
        finally:
            c.stop()
    finally:
        _teardown()
