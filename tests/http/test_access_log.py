"""test_access_log.py - the access log (access_log, access_log_format).

Every line must parse (combined: a regular expression of nginx's combined
format plus duration and cache outcome; json: json.loads) and match the
requests made: method, target, status, bytes (the body length the client
got), the client address, the User-Agent and Referer, and the cache
outcome ("hit" for a repeated request).  Behind nginx (FastCGI, the client
from REMOTE_ADDR) and embedded, with one process and with two workers
appending to one file; stderr writes there; off writes nothing; SIGHUP
reopens a rotated file.
"""

import json
import os
import re
import signal
import time

import harness
from common import test, expect, expect_status, iiif

ID = "pattern"
COMBINED = re.compile(
    r'^(?P<client>\S+) - - \[(?P<time>\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000)\] '
    r'"(?P<method>[A-Z]+) (?P<target>\S+)(?: (?P<protocol>HTTP/[0-9.]+))?" (?P<status>\d{3}) '
    r'(?P<bytes>\d+) "(?P<referer>[^"\\]*(?:\\.[^"\\]*)*)" '
    r'"(?P<agent>[^"\\]*(?:\\.[^"\\]*)*)" (?P<duration>\d+\.\d+) (?P<cache>\S+)$')
UA = "access-log-test/1.0"
REF = "http://viewer.example/page"


def _start(ctx, name, mode, extra):
    d = os.path.join(ctx.tmp, "srv-" + name)
    os.makedirs(d, exist_ok=True)
    out = os.path.join(d, "stdout.log")
    argv = [harness.TESSERA, "serve", "--root", ctx.root, "--threads", "2"] + list(extra)
    if mode == "nginx":
        sock = os.path.join(d, "tessera.sock")
        argv += ["--fastcgi", sock, "--logfile", os.path.join(d, "tessera.log")]
        p = harness._spawn(name, argv, out)
        procs, logs = [p], [out]
        try:
            harness._wait_path(sock, procs, logs)
            port = harness.free_port()
            harness._start_nginx(d, port, sock, procs, logs, ctx.root)
            harness._wait_http(port, procs, logs, probe="/health")
        except BaseException:
            for q in procs:
                harness._stop(q)
            raise
    else:
        port = harness.free_port()
        argv += ["--http", "127.0.0.1:%d" % port]
        p = harness._spawn(name, argv, out)
        procs, logs = [p], [out]
        try:
            harness._wait_http(port, procs, logs, probe="/health")
        except BaseException:
            harness._stop(p)
            raise
    return harness.Server(name, port, procs, logs, ctx.root), d


def _requests(srv):
    """The requests made, each as (method, target, status, body length)."""
    hdr = {"User-Agent": UA, "Referer": REF}
    tile = iiif(3, ID, "0,0,512,512", "256,")
    made = []
    for method, target in (("GET", "/iiif/3/%s/info.json" % ID), ("GET", tile),
                           ("GET", tile), ("HEAD", tile), ("GET", "/iiif/3/no-such/info.json"),
                           ("GET", iiif(3, ID, "full", "120,", "0", "default", "png"))):
        r = srv.get(target, method=method, headers=hdr)
        made.append((method, target, r.status, len(r.body) if method != "HEAD" else 0))
    return made


def _lines(path, want, timeout=5.0):
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        try:
            with open(path, "rb") as f:
                lines = [x for x in f.read().decode("utf-8").split("\n") if x]
        except OSError:
            lines = []
        if len(lines) >= want:
            break
        time.sleep(0.1)
    return lines


def _parse_combined(line):
    m = COMBINED.match(line)
    expect(m, "not a combined line: %r" % line)
    return {"client": m["client"], "method": m["method"], "target": m["target"],
            "protocol": m["protocol"], "status": int(m["status"]), "bytes": int(m["bytes"]),
            "duration": float(m["duration"]), "cache": m["cache"], "referer": m["referer"],
            "user_agent": m["agent"]}


def _parse_json(line):
    try:
        e = json.loads(line)
    except ValueError as x:
        raise AssertionError("not JSON: %r (%s)" % (line, x))
    for k in ("time", "client", "method", "target", "status", "bytes", "duration", "cache"):
        expect(k in e, "JSON line without %s: %r" % (k, line))
    if e["cache"] is None:
        e["cache"] = "-"
    return e


def _check(entries, made, in_order):
    got = [(e["method"], e["target"], e["status"], e["bytes"]) for e in entries]
    if in_order:
        expect(got == made, "logged %s, made %s" % (got, made))
    else:
        expect(sorted(got) == sorted(made), "logged %s, made %s" % (sorted(got), sorted(made)))
    for e in entries:
        expect(e["client"] == "127.0.0.1", "client %r" % e["client"])
        expect(e["user_agent"] == UA and e["referer"] == REF,
               "agent/referer %r %r" % (e["user_agent"], e["referer"]))
        expect(0 <= e["duration"] < 30, "duration %r" % e["duration"])
        expect(e["cache"] in ("hit", "memcached", "pass", "render", "-"), "cache %r" % e["cache"])


@test("access log: combined lines behind nginx match the requests, a repeated tile is a hit",
      server=None)
def _(ctx, srv):
    d = os.path.join(ctx.tmp, "srv-alog-nginx")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "access.log")
    s, d = _start(ctx, "alog-nginx", "nginx", ["--access-log", path])
    try:
        made = _requests(s)
        lines = _lines(path, len(made) + 1)
        entries = [_parse_combined(x) for x in lines]
        entries = [e for e in entries if e["target"] != "/health"]   # the start probe
        _check(entries, made, True)
        expect(entries[1]["cache"] in ("pass", "render"), "first tile: %r" % entries[1]["cache"])
        expect(entries[2]["cache"] == "hit", "the repeated tile: %r" % entries[2]["cache"])
        expect(entries[4]["cache"] == "-", "a 404: %r" % entries[4]["cache"])
        expect(all(e["protocol"] == "HTTP/1.1" for e in entries), "protocols %s" %
               [e["protocol"] for e in entries])
    finally:
        s.stop()


@test("access log: JSON lines from two embedded workers sharing one file match the requests",
      server=None)
def _(ctx, srv):
    d = os.path.join(ctx.tmp, "srv-alog-json")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "access.jsonl")
    s, d = _start(ctx, "alog-json", "embedded", ["--access-log", path, "--access-log-format",
                                                 "json", "--workers", "2"])
    try:
        made = []
        for _ in range(3):
            made += _requests(s)
        lines = _lines(path, len(made) + 1)
        entries = [_parse_json(x) for x in lines]
        entries = [e for e in entries if e["target"] != "/health"]   # the start probe
        _check(entries, made, False)
        tile = iiif(3, ID, "0,0,512,512", "256,")
        kinds = [e["cache"] for e in entries if e["target"] == tile and e["method"] == "GET"]
        expect("hit" in kinds, "six GETs of one tile and no hit: %s" % kinds)
        # rotation with workers: SIGHUP to the master, whose new workers
        # open the file afresh
        master = s.procs[0].pid
        with open("/proc/%d/task/%d/children" % (master, master)) as f:
            old = set(f.read().split())
        os.rename(path, path + ".1")
        os.kill(master, signal.SIGHUP)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with open("/proc/%d/task/%d/children" % (master, master)) as f:
                now = set(f.read().split())
            if len(now) == 2 and not now & old:
                break
            time.sleep(0.1)
        expect(len(now) == 2 and not now & old, "SIGHUP did not replace the workers")
        expect_status(s.get("/iiif/3/%s/info.json" % ID), 200, "info.json after SIGHUP")
        lines = _lines(path, 1)
        expect(len(lines) == 1 and json.loads(lines[0])["target"].endswith("/info.json"),
               "after rotation and SIGHUP the new file holds %r" % lines)
    finally:
        s.stop()


@test("access log: stderr gets the lines, off writes none, SIGHUP reopens a rotated file",
      server=None)
def _(ctx, srv):
    s, d = _start(ctx, "alog-stderr", "embedded", ["--access-log", "stderr"])
    try:
        made = _requests(s)
        time.sleep(0.5)
    finally:
        s.stop()
    with open(os.path.join(d, "stdout.log")) as f:
        entries = [_parse_combined(x) for x in f.read().splitlines() if COMBINED.match(x)]
    entries = [e for e in entries if e["target"] != "/health"]
    _check(entries, made, True)

    s, d = _start(ctx, "alog-off", "embedded", ["--access-log", "off"])
    try:
        _requests(s)
        time.sleep(0.5)
        m = s.get("/metrics")
        expect(b"tessera_access_log_dropped_total 0" in m.body,
               "/metrics has no access log drop counter")
    finally:
        s.stop()
    with open(os.path.join(d, "stdout.log")) as f:
        text = f.read()
    expect(not any(COMBINED.match(x) for x in text.splitlines()),
           "access_log = off wrote lines: %r" % text[-300:])

    path = os.path.join(ctx.tmp, "srv-alog-rot", "access.log")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    s, d = _start(ctx, "alog-rot", "embedded", ["--access-log", path])
    try:
        expect_status(s.get("/health"), 200, "/health")
        _lines(path, 2)
        os.rename(path, path + ".1")
        s.procs[0].send_signal(signal.SIGHUP)
        time.sleep(0.5)
        expect(s.daemon_alive(), "SIGHUP stopped the daemon")
        expect_status(s.get("/iiif/3/%s/info.json" % ID), 200, "info.json")
        lines = _lines(path, 1)
        expect(len(lines) == 1 and "/info.json" in lines[0],
               "after rotation and SIGHUP the new file holds %r" % lines)
    finally:
        s.stop()
