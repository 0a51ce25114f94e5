"""test_admin.py - what an administrator is told, checked: the Host header
and allowed_hosts, the log (where it goes, its levels), sockets, ports,
signals and exit statuses, `tessera config --check`, and the documented
defaults, ranges and environment names of every setting against what the
daemon reports.

Each test starts the daemons it needs (deploy.py), with its own settings,
on 127.0.0.1; nothing here depends on another test's daemon.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import deploy
import harness
from common import TESTS, expect, expect_status

_servers = {}


def admin_test(name):
    def deco(fn):
        TESTS.append((name, None, lambda ctx, _srv: fn(ctx)))
        return fn
    return deco


def embedded(ctx, name, extra=(), env=None):
    """One embedded daemon per name, on the deployment tests' root."""
    if name not in _servers:
        root = deploy_root(ctx)
        _servers[name] = deploy.start_embedded(ctx.tmp, root, name="adm-" + name,
                                               extra=extra, env=env or {})
    return _servers[name]


_deps = deploy.DEPS


def deploy_root(ctx):
    return _deps.make_root(ctx)


def info_id(srv, host, ident="pattern"):
    r = srv.get("/iiif/3/%s/info.json" % ident, headers={"Host": host})
    expect_status(r, 200, "info.json with Host %s" % host)
    return json.loads(r.body)["id"], r


# ------------------------------------------------------------------ Host

@admin_test("host: with allowed_hosts, a Host not listed gets ids on the first allowed host (info.json, 303, Manifest)")
def _(ctx):
    srv = embedded(ctx, "allowed", ["--allowed-hosts", "images.example.org, 127.0.0.1"])
    got, r = info_id(srv, "evil.example")
    expect(got == "http://images.example.org/iiif/3/pattern", "evil Host gave id %r" % got)
    expect("Host" in (r.header("Vary") or ""), "Vary %r lacks Host" % r.header("Vary"))
    got, _ = info_id(srv, "127.0.0.1:%d" % srv.port)
    expect(got == "http://127.0.0.1:%d/iiif/3/pattern" % srv.port,
           "an allowed name on any port keeps it: %r" % got)
    got, _ = info_id(srv, "Images.Example.ORG:8443")
    expect(got == "http://Images.Example.ORG:8443/iiif/3/pattern", "case-insensitive match: %r" % got)
    r = srv.get("/iiif/3/pattern", headers={"Host": "evil.example"})
    expect_status(r, 303, "base URI")
    expect(r.header("Location") == "http://images.example.org/iiif/3/pattern/info.json",
           "Location %r" % r.header("Location"))
    r = srv.get("/iiif/3/letters/manifest", headers={"Host": "evil.example:81"})
    expect_status(r, 200, "Manifest")
    expect(b"evil.example" not in r.body, "the Manifest names the Host not allowed")
    expect(json.loads(r.body)["id"].startswith("http://images.example.org/"), "Manifest id")


@admin_test("host: allowed_hosts with a port matches that port only")
def _(ctx):
    srv = embedded(ctx, "allowedport", ["--allowed-hosts", "images.example.org:8080,other.example"])
    got, _ = info_id(srv, "images.example.org:9090")
    expect(got == "http://images.example.org:8080/iiif/3/pattern", "other port: %r" % got)
    got, _ = info_id(srv, "images.example.org:8080")
    expect(got == "http://images.example.org:8080/iiif/3/pattern", "same port: %r" % got)
    got, _ = info_id(srv, "other.example:1")
    expect(got == "http://other.example:1/iiif/3/pattern", "name entry: %r" % got)


@admin_test("host: without base_url, answers holding ids say Vary: Host; with base_url they do not")
def _(ctx):
    srv = embedded(ctx, "plain")
    got, r = info_id(srv, "evil.example")
    expect(got.startswith("http://evil.example/"), "no allowed_hosts: the Host is used: %r" % got)
    expect("Host" in (r.header("Vary") or ""), "Vary %r" % r.header("Vary"))
    r = srv.get("/iiif/3/letters/manifest")
    expect("Host" in (r.header("Vary") or ""), "Manifest Vary %r" % r.header("Vary"))
    b = embedded(ctx, "based", ["--base-url", "https://images.example.org"])
    got, r = info_id(b, "evil.example")
    expect(got == "https://images.example.org/iiif/3/pattern", "base_url id %r" % got)
    expect("Host" not in (r.header("Vary") or ""), "base_url set, Vary %r" % r.header("Vary"))


@admin_test("host: the shipped nginx conf passes the validated $host with the port, not the raw Host header")
def _(ctx):
    srv = ctx.server("nginx")
    got, _ = info_id(srv, "EVIL.example:1234")
    expect(got == "http://evil.example:%d/iiif/3/pattern" % srv.port,
           "behind nginx the id is %r (expected nginx's $host and the server port)" % got)
    with open(harness.NGINX_CONF_SNIPPET) as f:
        text = f.read()
    expect("$http_host" not in text, "conf/nginx-tessera.conf still passes $http_host")


# ------------------------------------------------------------------ the documented settings

TESSERA = harness.TESSERA
CONF = os.path.join(harness.REPO, "conf", "tessera.conf")
MAN5 = os.path.join(harness.REPO, "man", "tessera.conf.5")


def run(args, env=None, timeout=20, cwd=None):
    """tessera ARGS with a clean environment (no TESSERA_* or iipsrv names)."""
    e = deploy._env(env or {})
    p = subprocess.run([TESSERA] + list(args), capture_output=True, timeout=timeout, env=e, cwd=cwd)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def conf_entries(text):
    """{name: {default, range, env: [..], flag}} from a `tessera config` file."""
    out = {}
    blocks = text.split("\n\n")
    for b in blocks:
        m = re.search(r"^# default: (.*?)(?:; range: (.*?))?\n# flag: (--\S+); env: (.*)\n#?(\w+) = ", b, re.M)
        if not m:
            continue
        d = m.group(1)
        if d == '""':
            d = ""
        out[m.group(5)] = {"default": d, "range": m.group(2), "flag": m.group(3),
                           "env": [x.strip() for x in m.group(4).split(",")]}
    return out


def man_entries(text):
    """The same from the SETTINGS section of tessera.conf(5)."""
    out = {}
    for m in re.finditer(r"^\.TP\n\.B (\w+)\n.*?\nFlag: (.*?); environment: (.*?)\.\n\.br\n"
                         r"Default: \"(.*?)\"(?:; range: (.*?))?\.\n", text, re.M | re.S):
        out[m.group(1)] = {"default": m.group(4).replace("\\e", "\\"),
                           "range": m.group(5), "env": [x.strip() for x in m.group(3).split(",")]}
    return out


def config_value(out, name):
    """(value, commented) of name in `tessera config` output."""
    m = re.search(r"^(#?)%s = (.*)$" % re.escape(name), out, re.M)
    if not m:
        return None, None
    v = m.group(2)
    if v == '""':
        v = ""
    return v, m.group(1) == "#"


# a valid value other than the default for each kind of string setting
STRING_SAMPLES = {"root": "/srv/elsewhere", "http_listen": "127.0.0.1:18080",
                  "fastcgi_listen": "/run/x/tessera.sock", "memcached_servers": "127.0.0.1:11211",
                  "base_url": "https://images.example.org", "logfile": "/var/log/x.log",
                  "media_accel_location": "/tessera-media", "cors": "https://a.example",
                  "viewer_dir": "/opt/viewer", "suffixes": ".tif", "cache_control": "max-age=60",
                  "allowed_hosts": "images.example.org", "rights": "https://rightsstatements.org/x",
                  "viewer": "off", "access_log": "stderr", "access_log_format": "json",
                  "pyramid_cache_dir": "/var/cache/tessera-pyramids", "htj2k_decoder": "openjpeg"}


def sample(entry, name):
    d = entry["default"]
    if entry["range"] == "true/false":
        return "false" if d == "true" else "true"
    if entry["range"]:
        if " or more" in entry["range"]:
            lo, hi = int(entry["range"].split(" ")[0]), None
        else:
            lo, hi = map(int, entry["range"].split(".."))
        for v in (hi, lo, lo + 1, lo + 2):
            if v is not None and str(v) != d and (hi is None or v <= hi):
                return str(v)
    return STRING_SAMPLES.get(name, "x-sample")


@admin_test("settings: conf/tessera.conf and tessera.conf(5) document the same settings, defaults, ranges and environment names as `tessera config` reports")
def _(ctx):
    rc, out, err = run(["config"])
    expect(rc == 0, "tessera config exited %d: %s" % (rc, err))
    daemon = conf_entries(out)
    expect(len(daemon) >= 30, "only %d settings parsed from tessera config" % len(daemon))
    with open(CONF) as f:
        shipped = conf_entries(f.read())
    with open(MAN5) as f:
        man = man_entries(f.read())
    expect(set(shipped) == set(daemon), "conf/tessera.conf differs in names: %s" % sorted(set(shipped) ^ set(daemon)))
    missing = set(daemon) - set(man)
    expect(not missing, "tessera.conf(5) lacks %s" % sorted(missing))
    for name, e in daemon.items():
        for doc, what in ((shipped[name], "conf/tessera.conf"), (man[name], "tessera.conf(5)")):
            for k in ("default", "range", "env"):
                expect(doc[k] == e[k], "%s: %s says %s %r, the daemon %r" % (name, what, k, doc[k], e[k]))
        v, commented = config_value(out, name)
        expect(commented and v == e["default"], "%s: with nothing set, tessera config prints %r "
               "(commented %s), the documented default is %r" % (name, v, commented, e["default"]))


@admin_test("settings: every documented environment name sets its setting, and TESSERA_ wins over iipsrv's name")
def _(ctx):
    rc, out, _ = run(["config"])
    daemon = conf_entries(out)
    for name, e in sorted(daemon.items()):
        val = sample(e, name)
        for var in e["env"]:
            rc, out2, err = run(["config"], env={var: val})
            expect(rc == 0, "%s=%s: exit %d: %s" % (var, val, rc, err.strip()))
            got, commented = config_value(out2, name)
            expect(got == val and not commented, "%s=%s: tessera config shows %s = %r" % (var, val, name, got))
        if len(e["env"]) > 1:
            rc, out2, _ = run(["config"], env={e["env"][0]: val, e["env"][1]: e["default"] or "x"})
            got, _ = config_value(out2, name)
            expect(got == val, "%s and %s both set: %s = %r, the TESSERA_ one must win" % (
                e["env"][0], e["env"][1], name, got))


@admin_test("settings: every number's documented range is what the daemon accepts: the ends pass, one past them is exit 2")
def _(ctx):
    rc, out, _ = run(["config"])
    for name, e in sorted(conf_entries(out).items()):
        r = e["range"]
        if not r or r == "true/false":
            continue
        flag = e["flag"]
        if " or more" in r:
            lo, hi = int(r.split(" ")[0]), None
        else:
            lo, hi = map(int, r.split(".."))
        for v, ok in ((lo, True), (hi, True), (lo - 1, False), ((hi or 0) + 1 if hi else None, False)):
            if v is None or v < 0:
                continue
            rc, _, err = run(["config", flag, str(v)])
            expect((rc == 0) == ok and (ok or rc == 2), "%s %d: exit %d (%s), documented range %s" % (
                flag, v, rc, err.strip()[:100], r))
            if not ok:
                expect(name in err.replace("-", "_") or flag in err, "%s %d: the message does not name it: %r" % (flag, v, err))


@admin_test("settings: an empty TESSERA_ number or boolean is ignored, so iipsrv's name counts")
def _(ctx):
    _, out, _ = run(["config"], env={"TESSERA_ALLOW_UPSCALING": "", "ALLOW_UPSCALING": "false"})
    expect(config_value(out, "allow_upscaling")[0] == "false", "allow_upscaling %r" % (config_value(out, "allow_upscaling"),))
    _, out, _ = run(["config"], env={"TESSERA_JPEG_QUALITY": "", "JPEG_QUALITY": "90"})
    expect(config_value(out, "jpeg_quality")[0] == "90", "jpeg_quality %r" % (config_value(out, "jpeg_quality"),))
    _, out, _ = run(["config"], env={"TESSERA_CORS": "", "CORS": "https://a.example"})
    expect(config_value(out, "cors")[0] == "", "an empty TESSERA_CORS sets cors empty: %r" % (config_value(out, "cors"),))


@admin_test("settings: a trailing # comment in the config file is not part of the value; quoted values keep ' #'")
def _(ctx):
    d = os.path.join(ctx.tmp, "adm-conf")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "t.conf")
    with open(path, "w") as f:
        f.write("cors = https://a.example   # the viewer's origin\n"
                "jpeg_quality = 85 # archive\n"
                "rights = \"https://r.example/a #b\"  # quoted\n"
                "cache_control = max-age=60#no space: kept\n")
    rc, out, err = run(["config", "--config", path])
    expect(rc == 0, "exit %d: %s" % (rc, err))
    for k, v in (("cors", "https://a.example"), ("jpeg_quality", "85"),
                 ("rights", "https://r.example/a #b"), ("cache_control", "max-age=60#no")):
        got = config_value(out, k)[0]
        if k == "cache_control":
            expect(got == "max-age=60#no space: kept", "%s = %r" % (k, got))
        else:
            expect(got == v, "%s = %r, expected %r" % (k, got, v))


@admin_test("config --help prints the command's usage; config --check checks values and the system")
def _(ctx):
    rc, out, _ = run(["config", "--help"])
    expect(rc == 0 and out.startswith("Usage: tessera config") and "--check" in out, "config --help: %r" % out[:200])
    root = deploy_root(ctx)
    rc, out, _ = run(["config", "--check", "--root", root])
    expect(rc == 0 and "valid" in out, "a good configuration: exit %d %r" % (rc, out))
    for args, code, text in (
            (["--root", root, "--http", "127.0.0.1:99999"], 2, "port 99999"),
            (["--root", root, "--fastcgi", "garbage"], 2, "fastcgi_listen"),
            (["--root", root, "--memcached-servers", "garbage,,:::"], 2, "memcached_servers"),
            (["--root", "/nonexistent/images"], 1, "root"),
            (["--root", root, "--logfile", "/nonexistent/dir/t.log"], 1, "logfile")):
        rc, out, err = run(["config", "--check"] + args)
        expect(rc == code and text in out, "config --check %s: exit %d (want %d) %r" % (
            " ".join(args), rc, code, (out + err)[:200]))


# ------------------------------------------------------------------ exit statuses, ports, sockets

@admin_test("exit 2 with a message naming the setting: --http garbage, ports out of 1..65535, bad memcached servers; exit 1 without a root")
def _(ctx):
    root = deploy_root(ctx)
    for args, what in ((["--http", "garbage"], "http_listen"),
                       (["--http", "127.0.0.1:99999"], "out of range"),
                       (["--http", ":65536"], "out of range"),
                       (["--http", "127.0.0.1:0"], "out of range"),
                       (["--fastcgi", "127.0.0.1:99999"], "out of range"),
                       (["--http", "127.0.0.1:8080", "--memcached-servers", "garbage,,:::"], "memcached_servers"),
                       (["--http", "127.0.0.1:8080", "--no-such-setting", "1"], "unknown option")):
        rc, out, err = run(["serve", "--root", root] + args, timeout=10)
        expect(rc == 2 and what in err, "serve %s: exit %d, %r" % (" ".join(args), rc, err[:200]))
        expect("SUCCESS" not in err, "libmemcached's SUCCESS in an error: %r" % err)
    rc, _, err = run(["serve", "--root", "/nonexistent/images", "--http", "127.0.0.1:8080"], timeout=10)
    expect(rc == 1 and "/nonexistent/images" in err, "missing root: exit %d %r" % (rc, err[:200]))


def _fcgi_daemon(ctx, name, sock, extra=()):
    d = os.path.join(ctx.tmp, "adm-" + name)
    os.makedirs(d, exist_ok=True)
    log = os.path.join(d, "out.log")
    return harness._spawn(name, [TESSERA, "serve", "--root", deploy_root(ctx), "--fastcgi", sock,
                                 "--threads", "2"] + list(extra), log, env=deploy._env()), log


def _connects(sock):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(sock)
        return True
    except OSError:
        return False
    finally:
        s.close()


def _wait(cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


@admin_test("socket: a second serve on a live socket exits 1 and leaves it; a stale one is replaced; SIGTERM and SIGINT remove it and exit 0")
def _(ctx):
    sock = os.path.join(ctx.tmp, "adm-live.sock")
    first, _ = _fcgi_daemon(ctx, "live1", sock)
    try:
        expect(_wait(lambda: _connects(sock)), "the first daemon never listened on %s" % sock)
        rc, _, err = run(["serve", "--root", deploy_root(ctx), "--fastcgi", sock], timeout=15)
        expect(rc == 1 and "in use" in err, "second serve on a live socket: exit %d %r" % (rc, err[:200]))
        expect(first.poll() is None and _connects(sock), "the first daemon lost its socket")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        expect(os.path.exists(sock) and not _connects(sock), "no stale socket after SIGKILL")
        third, log = _fcgi_daemon(ctx, "live3", sock)
        expect(_wait(lambda: _connects(sock)), "a stale socket was not replaced: %s" % harness._tail(log))
        third.send_signal(signal.SIGTERM)
        expect(third.wait(timeout=15) == 0, "SIGTERM: exit %s" % third.returncode)
        expect(not os.path.exists(sock), "the socket is left after SIGTERM")
        fourth, log = _fcgi_daemon(ctx, "live4", sock)
        expect(_wait(lambda: _connects(sock)), "no socket: %s" % harness._tail(log))
        fourth.send_signal(signal.SIGINT)
        expect(fourth.wait(timeout=15) == 0, "SIGINT: exit %s" % fourth.returncode)
        expect(not os.path.exists(sock), "the socket is left after SIGINT")
    finally:
        for p in (first,):
            if p.poll() is None:
                p.kill()


@admin_test("spawn-fcgi: conf/spawn-fcgi.sh logs to LOGFILE (one start line, no setting lines); kill removes the socket")
def _(ctx):
    srv = deploy.start_spawn_script(ctx.tmp, deploy_root(ctx), name="adm-spawn")
    r = srv.get("/iiif/3/pattern/info.json")
    expect_status(r, 200, "info.json through spawn-fcgi")
    with open(srv.daemon_log) as f:
        text = f.read()
    expect(text.count("starting") == 1, "start lines in %s: %r" % (srv.daemon_log, text[-400:]))
    expect("setting " not in text, "setting lines at the default verbosity: %r" % text[:300])
    os.kill(srv.pid, signal.SIGTERM)
    expect(_wait(lambda: srv.procs[0].poll() is not None, 15), "tessera did not stop on SIGTERM")
    expect(not os.path.exists(srv.sock), "the socket %s is left after kill" % srv.sock)
    with open(srv.daemon_log) as f:
        expect("stopped" in f.read(), "no stop line in the log")
    srv.stop()


@admin_test("log: verbosity 3 logs no 4xx and no settings; 4 one line per request; 5 every setting")
def _(ctx):
    for v in (3, 4, 5):
        srv = embedded(ctx, "verb%d" % v, ["--verbosity", str(v)])
        ok = srv.get("/iiif/3/pattern/info.json")
        expect_status(ok, 200, "info.json")
        srv.get("/iiif/3/nosuchimage/info.json")
        time.sleep(0.2)
        with open(srv.logs[0]) as f:
            text = f.read()
        has_404 = re.search(r" 404 GET /iiif/3/nosuchimage/info.json", text) is not None
        has_200 = re.search(r" 200 GET /iiif/3/pattern/info.json [0-9.]+ ms", text) is not None
        settings = len(re.findall(r"setting \w+ = ", text))
        expect(text.count("starting") == 1, "verbosity %d: start lines %r" % (v, text[:300]))
        if v == 3:
            expect(not has_404 and not has_200 and settings == 0, "verbosity 3 logged requests or settings: %r" % text[-500:])
        elif v == 4:
            expect(has_404 and has_200 and settings == 0, "verbosity 4: %r" % text[-500:])
        else:
            expect(has_404 and has_200 and settings >= 30, "verbosity 5: %d setting lines" % settings)


@admin_test("log: under Apache's mod_fcgid the log reaches Apache's main ErrorLog, one start line per process, no setting lines")
def _(ctx):
    a = _deps.get(ctx, "apache")
    expect_status(a.get("/iiif/3/pattern/info.json"), 200, "info.json")
    time.sleep(0.3)
    with open(a.daemon_log) as f:
        text = f.read()
    expect("tessera info: tessera" in text and "starting" in text, "no start line in %s: %r" % (a.daemon_log, text[-300:]))
    expect("setting " not in text, "setting lines in Apache's error log: %r" % text[:300])


@admin_test("cors empty: no CORS header on any answer, OPTIONS included; cache_control empty: no Cache-Control, viewer page included")
def _(ctx):
    srv = embedded(ctx, "nocors", ["--cors", "", "--cache-control", ""])
    for method, path in (("OPTIONS", "/iiif/3/pattern/info.json"), ("GET", "/iiif/3/pattern/info.json"),
                         ("GET", "/iiif/3/nosuch/info.json"), ("GET", "/")):
        r = srv.get(path, method=method, headers={"Origin": "https://v.example",
                                                  "Access-Control-Request-Method": "GET"})
        cors = [k for k, _ in r.header_list if k.lower().startswith("access-control-")]
        expect(not cors, "%s %s: %s" % (method, path, cors))
        if method == "GET" and r.status == 200:
            expect(r.header("Cache-Control") is None, "%s: Cache-Control %r" % (path, r.header("Cache-Control")))


# ------------------------------------------------------------------ the viewer's list, DeepZoom under limits

@admin_test("images.json lists the images the server can serve: sniffed, not by suffix, within max_source_pixels")
def _(ctx):
    from PIL import Image
    root = os.path.join(ctx.tmp, "adm-list-root")
    os.makedirs(os.path.join(root, "deep"), exist_ok=True)
    shutil.copy(os.path.join(ctx.root, "pattern.tif"), os.path.join(root, "big.tif"))
    Image.new("RGB", (640, 480), (10, 200, 10)).save(os.path.join(root, "small.png"))
    Image.new("RGB", (64, 48), (10, 10, 200)).save(os.path.join(root, "deep", "photo.jp2"), "JPEG2000")
    with open(os.path.join(root, "notes.tif"), "w") as f:
        f.write("not an image\n")
    with open(os.path.join(root, "readme.txt"), "w") as f:
        f.write("hello\n")
    srv = deploy.start_embedded(ctx.tmp, root, name="adm-list",
                                extra=["--suffixes", ".tif", "--max-source-pixels", "1000000"], env={})
    try:
        r = srv.get("/images.json")
        expect_status(r, 200, "/images.json")
        ids = json.loads(r.body)
        expect(ids == ["deep%2Fphoto.jp2", "small.png"], "listed %r" % ids)
        for i in ids:
            expect_status(srv.get("/iiif/3/%s/info.json" % i), 200, "info.json of listed %s" % i)
    finally:
        srv.stop()


@admin_test("DeepZoom under max_width below the tile size: the .dzi's TileSize fits, and its tiles are served, not 400")
def _(ctx):
    srv = embedded(ctx, "dzmax", ["--max-width", "200", "--max-height", "200"])
    r = srv.get("/deepzoom/pattern.dzi")
    expect_status(r, 200, ".dzi")
    m1, m2 = re.search(rb'TileSize="(\d+)"', r.body), re.search(rb'Overlap="(\d+)"', r.body)
    expect(m1 and m2, ".dzi %r" % r.body[:200])
    ts, ov = int(m1.group(1)), int(m2.group(1))
    expect(ts + 2 * ov <= 200, "TileSize %d with Overlap %d exceeds max_width 200" % (ts, ov))
    top = 11   # ceil(log2(2000)) = 11
    for c, rr in ((0, 0), (1, 1), (3, 2)):
        t = srv.get("/deepzoom/pattern_files/%d/%d_%d.jpg" % (top, c, rr))
        expect_status(t, 200, "tile %d_%d of the full level" % (c, rr))
