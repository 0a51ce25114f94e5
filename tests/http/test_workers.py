"""test_workers.py - supervised worker processes (`workers = N`).

A master forks N workers sharing the listening socket.  Behind nginx
(FastCGI on a Unix socket) and in embedded HTTP mode, while viewers walk the
tiles of an image: kill -9 of one worker costs at most the requests it had
in flight, the next request succeeds within a second and the master starts
a new worker in its place; SIGHUP with a changed jpeg_quality in the config
file replaces every worker without one failed request, and the answers
after it show the new quality; SIGTERM lets requests in flight complete,
then every process exits and the socket file is removed.  workers = 1 is
one process, as before, that SIGHUP does not stop.

Worker PIDs are the master's children (/proc/PID/task/PID/children).  Every
wait is bounded; timings are generous (a noisy 2-core machine).
"""

import os
import signal
import threading
import time

import harness
from common import test, expect, expect_status, iiif

ID = "pattern"          # 2000x1500, JPEG-tiled 256x256
RENDERED = iiif(3, ID, "full", "300,")   # made by a render: shows jpeg_quality


def _children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return sorted(int(x) for x in f.read().split())
    except OSError:
        return []


def _wait(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("%s within %.0f s" % (what, timeout))


def _write_conf(path, quality):
    with open(path, "w") as f:
        f.write("# written by test_workers.py\njpeg_quality = %d\n" % quality)


def _start(ctx, name, mode, workers=2, extra=()):
    """A master (or lone process) with --config CONF, behind nginx (mode
    'nginx') or embedded ('embedded').  Returns (server, conf path, sock)."""
    d = os.path.join(ctx.tmp, "srv-" + name)
    os.makedirs(d, exist_ok=True)
    conf = os.path.join(d, "tessera.conf")
    _write_conf(conf, 90)
    tlog = os.path.join(d, "tessera.log")
    out = os.path.join(d, "stdout.log")
    argv = [harness.TESSERA, "serve", "--config", conf, "--root", ctx.root, "--threads", "2",
            "--workers", str(workers), "--logfile", tlog] + list(extra)
    sock = None
    if mode == "nginx":
        sock = os.path.join(d, "tessera.sock")
        argv += ["--fastcgi", sock]
    else:
        port = harness.free_port()
        argv += ["--http", "127.0.0.1:%d" % port]
    p = harness._spawn(name, argv, out)
    procs, logs = [p], [out, tlog]
    try:
        if mode == "nginx":
            harness._wait_path(sock, procs, logs)
            port = harness.free_port()
            harness._start_nginx(d, port, sock, procs, logs, ctx.root)
        harness._wait_http(port, procs, logs)
    except BaseException:
        for q in procs:
            harness._stop(q)
        raise
    return harness.Server(name, port, procs, logs, ctx.root), conf, sock


def _tile_paths(n_levels=3):
    """An OpenSeadragon-style walk: info.json, then the 256-pixel tiles of
    the coarse levels of the 2000x1500 pattern, level after level."""
    paths = ["/iiif/3/%s/info.json" % ID]
    w, h = 2000, 1500
    for s in (8, 4, 2)[:n_levels]:
        step = 256 * s
        for y in range(0, h, step):
            for x in range(0, w, step):
                rw, rh = min(step, w - x), min(step, h - y)
                paths.append(iiif(3, ID, "%d,%d,%d,%d" % (x, y, rw, rh),
                                  "%d," % max(1, -(-rw // s))))
    return paths


class Walk:
    """Viewers walking tiles in threads; every request's (start, end, status
    or error) is recorded."""

    def __init__(self, port, threads=2):
        self.port = port
        self.stop = threading.Event()
        self.results = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                        for i in range(threads)]

    def _run(self, k):
        paths = _tile_paths()
        i = k * 7
        while not self.stop.is_set():
            path = paths[i % len(paths)]
            i += 1
            t0 = time.monotonic()
            try:
                r = harness.request(self.port, path, timeout=15)
                ok = r.status == 200 and r.complete and len(r.body) > 0
                what = r.status
            except (OSError, IOError) as e:
                ok, what = False, "%s" % e
            with self.lock:
                self.results.append((t0, time.monotonic(), ok, what, path))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(20)

    def failures(self):
        with self.lock:
            return [r for r in self.results if not r[2]]

    def count(self):
        with self.lock:
            return len(self.results)


def _kill_one_worker(srv, walkers):
    master = srv.procs[0].pid
    before = _wait(lambda: len(_children(master)) == 2 and _children(master), 15,
                   "the master has two workers")
    with Walk(srv.port, walkers) as walk:
        _wait(lambda: walk.count() >= 10, 20, "the walk made 10 requests")
        victim = before[0]
        os.kill(victim, signal.SIGKILL)
        t_kill = time.monotonic()
        # one reading of the children per look (three readings could see
        # three different moments)
        after = _wait(lambda: (lambda c: len(c) == 2 and victim not in c and c)(_children(master)),
                      10, "the master replaced the killed worker")
        n = walk.count()
        _wait(lambda: walk.count() >= n + 20, 30, "the walk went on after the kill")
    fails = walk.failures()
    expect(len(fails) <= walkers,
           "%d requests failed; at most the %d in flight in the killed worker may: %s" % (
               len(fails), walkers, fails[:4]))
    for f in fails:
        expect(f[0] <= t_kill + 0.5,
               "a request started %.2f s after the kill failed: %s" % (f[0] - t_kill, f))
    later = sorted(r for r in walk.results if r[0] >= t_kill and r[2])
    expect(later and later[0][1] - t_kill < 1.0,
           "the first success after the kill came %.2f s later" % (
               later[0][1] - t_kill if later else -1))
    new = set(after) - set(before)
    expect(len(new) == 1, "one new worker PID expected, children %s -> %s" % (before, after))
    expect(srv.daemon_alive(), "the master died")


def _sighup_during_walk(srv, conf):
    master = srv.procs[0].pid
    r = srv.get(RENDERED)
    expect_status(r, 200, RENDERED)
    size90 = len(r.body)
    before = _wait(lambda: len(_children(master)) == 2 and _children(master), 15,
                   "the master has two workers")
    with Walk(srv.port, 2) as walk:
        _wait(lambda: walk.count() >= 10, 20, "the walk made 10 requests")
        _write_conf(conf, 15)
        os.kill(master, signal.SIGHUP)
        _wait(lambda: (len(_children(master)) == 2 and
                       not set(before) & set(_children(master))), 30,
              "the old workers were replaced by two new ones")
        n = walk.count()
        _wait(lambda: walk.count() >= n + 10, 30, "the walk went on after the reload")
    fails = walk.failures()
    expect(not fails, "%d of %d requests failed across SIGHUP: %s" % (
        len(fails), walk.count(), fails[:4]))
    r = srv.get(RENDERED)
    expect_status(r, 200, RENDERED + " after SIGHUP")
    expect(len(r.body) < 0.8 * size90,
           "jpeg_quality 15 after SIGHUP should shrink %s: %d bytes before, %d after" % (
               RENDERED, size90, len(r.body)))
    # a bad configuration: logged, and the workers stay
    with open(conf, "w") as f:
        f.write("jpeg_quality = 900\n")
    now = _children(master)
    os.kill(master, signal.SIGHUP)
    time.sleep(1.0)
    expect(_children(master) == now, "a bad configuration replaced the workers")
    expect_status(srv.get(RENDERED), 200, RENDERED + " after a bad SIGHUP")


@test("workers: behind nginx, kill -9 of one of two workers costs only its in-flight "
      "requests, and the master starts a new one", server=None)
def _(ctx, srv):
    s, _conf, _sock = _start(ctx, "workers-nginx-kill", "nginx")
    try:
        _kill_one_worker(s, 2)
    finally:
        s.stop()


@test("workers: behind nginx, SIGHUP during a tile walk applies the new configuration "
      "with no failed request", server=None)
def _(ctx, srv):
    s, conf, _sock = _start(ctx, "workers-nginx-hup", "nginx")
    try:
        _sighup_during_walk(s, conf)
    finally:
        s.stop()


@test("workers: embedded HTTP, kill -9 of a worker and SIGHUP during tile walks", server=None)
def _(ctx, srv):
    s, conf, _sock = _start(ctx, "workers-http", "embedded")
    try:
        _kill_one_worker(s, 2)
        _sighup_during_walk(s, conf)
    finally:
        s.stop()


def _slow_request(port, path, out, i):
    try:
        out[i] = harness.request(port, path, timeout=60)
    except (OSError, IOError) as e:
        out[i] = e


def _sigterm_drains(ctx, mode):
    # PNG level 9 makes the slow request slower still
    # two heavy renders at once in one worker need four threads (admission
    # keeps two threads for tiles) and a deadline past a loaded machine's
    s, _conf, sock = _start(ctx, "workers-term-" + mode, mode,
                            extra=["--png-level", "9", "--threads", "4",
                                   "--max-render-seconds", "120"])
    try:
        master = s.procs[0]
        workers = _wait(lambda: len(_children(master.pid)) == 2 and _children(master.pid), 15,
                        "the master has two workers")
        # slow enough to be in flight when SIGTERM comes: a rotated PNG
        path = iiif(3, ID, "full", "max", "33", "default", "png")
        out = [None, None]
        ts = [threading.Thread(target=_slow_request, args=(s.port, path, out, i))
              for i in range(2)]
        for t in ts:
            t.start()
        time.sleep(0.4)
        t_term = time.monotonic()
        master.send_signal(signal.SIGTERM)
        for t in ts:
            t.join(60)
        t_done = time.monotonic()
        if os.environ.get("TESSERA_TEST_DEBUG"):
            print("# %s: slow requests ended %.2f s after SIGTERM" % (mode, t_done - t_term))
        for i, r in enumerate(out):
            expect(isinstance(r, harness.Response), "slow request %d: %s" % (i, r))
            expect(r.status == 200 and r.complete and r.body.startswith(b"\x89PNG"),
                   "slow request %d in flight at SIGTERM: %r" % (i, r))
        expect(t_done - t_term > 0.05, "the slow requests were done before SIGTERM (%.2f s "
               "later); the test proves nothing" % (t_done - t_term))
        try:
            rc = master.wait(timeout=45)
        except Exception:
            raise AssertionError("the master did not exit within 45 s of SIGTERM")
        expect(rc == 0, "the master exited with %s" % rc)
        for w in workers:
            expect(not os.path.exists("/proc/%d" % w) or
                   open("/proc/%d/stat" % w).read().split(") ")[1][0] == "Z",
                   "worker %d still runs after the master exited" % w)
        if sock:
            expect(not os.path.exists(sock), "the socket file was left behind")
    finally:
        s.stop()


@test("workers: behind nginx, SIGTERM completes requests in flight, then every process "
      "exits and the socket file is removed", server=None)
def _(ctx, srv):
    _sigterm_drains(ctx, "nginx")


@test("workers: embedded HTTP, SIGTERM completes requests in flight, then every process "
      "exits", server=None)
def _(ctx, srv):
    _sigterm_drains(ctx, "embedded")


@test("workers: workers = 1 is one process, as before, and SIGHUP does not stop it",
      server=None)
def _(ctx, srv):
    s, _conf, sock = _start(ctx, "workers-one", "nginx", workers=1)
    try:
        p = s.procs[0]
        expect(_children(p.pid) == [], "workers = 1 forked %s" % _children(p.pid))
        expect_status(s.get(RENDERED), 200, RENDERED)
        p.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        expect(p.poll() is None, "SIGHUP stopped the lone process")
        expect_status(s.get(RENDERED), 200, RENDERED + " after SIGHUP")
        p.send_signal(signal.SIGTERM)
        expect(p.wait(timeout=30) == 0, "exit status after SIGTERM")
        expect(not os.path.exists(sock), "the socket file was left behind")
    finally:
        s.stop()


@test("workers: a configuration no worker can start with stops the master with status 2",
      server=None)
def _(ctx, srv):
    d = os.path.join(ctx.tmp, "srv-workers-bad")
    os.makedirs(d, exist_ok=True)
    out = os.path.join(d, "stdout.log")
    # a bad media_accel_location is refused by the server each worker creates
    p = harness._spawn("workers-bad", [harness.TESSERA, "serve", "--root", ctx.root,
                                       "--http", "127.0.0.1:%d" % harness.free_port(),
                                       "--workers", "2", "--threads", "1",
                                       "--media-accel-location", "no-slash"], out)
    try:
        rc = p.wait(timeout=20)
    except Exception:
        harness._stop(p)
        raise AssertionError("the master kept restarting workers that cannot start")
    expect(rc == 2, "exit status %s, expected 2" % rc)
