"""test_install.py - ./configure --prefix, make install and the systemd unit,
as the README tells an administrator to use them.

make install runs into a temporary DESTDIR (or PREFIX), never into the
system; the list of installed files is compared with the one README.md
prints; the installed program serves its installed viewer from any working
directory; the installed unit (its ExecStart naming the installed program)
and the drop-in its comments suggest pass `systemd-analyze verify`.
"""

import os
import re
import shutil
import subprocess
import time

import deploy
import harness
from common import TESTS, Skip, expect, expect_status

REPO = harness.REPO
README = os.path.join(REPO, "README.md")
_cache = {}


def install_test(name):
    def deco(fn):
        TESTS.append((name, None, lambda ctx, _srv: fn(ctx)))
        return fn
    return deco


def make_install(ctx, name, *args):
    """make install ARGS into tmp/inst-NAME; returns that directory."""
    if name in _cache:
        return _cache[name]
    d = os.path.join(ctx.tmp, "inst-" + name)
    shutil.rmtree(d, ignore_errors=True)
    argv = ["make", "-s", "-C", REPO, "install"] + [a.replace("@D", d) for a in args]
    env = deploy._env()
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "DESTDIR", "PREFIX"):
        env.pop(k, None)   # not the jobserver or directories of an outer make check
    p = subprocess.run(argv, capture_output=True, timeout=300, env=env)
    expect(p.returncode == 0, "%s: exit %d: %s" % (" ".join(argv), p.returncode,
                                                  p.stderr.decode(errors="replace")[-500:]))
    _cache[name] = d
    return d


def readme_list():
    """[(path, is_dir)] from the block after 'make install' ... 'installs exactly these'."""
    with open(README) as f:
        text = f.read()
    m = re.search(r"installs exactly these.*?\n```\n(.*?)```", text, re.S)
    expect(m, "README.md has no list of the files make install installs")
    out = []
    for line in m.group(1).splitlines():
        if line.strip():
            p = line.split()[0]
            out.append((p.rstrip("/"), p.endswith("/")))
    return out


def files_under(d):
    got = set()
    for top, _dirs, files in os.walk(d):
        for f in files:
            got.add("/" + os.path.relpath(os.path.join(top, f), d))
    return got


@install_test("install: make install DESTDIR= installs exactly the files README.md lists, the templates naming the installed paths")
def _(ctx):
    d = make_install(ctx, "stage", "DESTDIR=@D")
    got = files_under(d)
    listed = readme_list()
    for path, is_dir in listed:
        if is_dir:
            expect(any(g.startswith(path + "/") for g in got), "README lists %s/ but it is empty or missing" % path)
        else:
            expect(path in got, "README lists %s but make install did not install it" % path)
    extra = [g for g in got if not any(g == p or (isdir and g.startswith(p + "/")) for p, isdir in listed)]
    expect(not extra, "installed but not in README's list: %s" % sorted(extra)[:5])
    for f in ("tessera.service", "spawn-fcgi.sh", "apache-fcgid.conf"):
        with open(os.path.join(d, "usr/local/share/tessera/conf", f)) as fh:
            expect("/usr/local/bin/tessera" in fh.read(), "%s does not name /usr/local/bin/tessera" % f)
    for page in ("index.html", "mirador.html", "viewer.js"):
        expect(os.path.exists(os.path.join(d, "usr/local/share/tessera/viewer", page)), "viewer %s not installed" % page)


@install_test("install: PREFIX=/opt/tt moves the program, man pages, viewer and the paths in the templates; /etc stays")
def _(ctx):
    d = make_install(ctx, "opt", "DESTDIR=@D", "PREFIX=/opt/tt")
    for f in ("opt/tt/bin/tessera", "opt/tt/share/man/man8/tessera.8", "opt/tt/share/tessera/viewer/index.html",
              "opt/tt/share/tessera/conf/tessera.service", "etc/tessera/tessera.conf"):
        expect(os.path.exists(os.path.join(d, f)), "%s not installed" % f)
    with open(os.path.join(d, "opt/tt/share/tessera/conf/tessera.service")) as fh:
        unit = fh.read()
    expect("ExecStart=/opt/tt/bin/tessera serve --config /etc/tessera/tessera.conf" in unit,
           "the unit's ExecStart: %r" % re.findall(r"ExecStart=.*", unit))
    with open(os.path.join(d, "opt/tt/share/tessera/conf/apache-fcgid.conf")) as fh:
        expect("Define TESSERA_BIN /opt/tt/bin/tessera" in fh.read(), "apache-fcgid.conf's TESSERA_BIN")


@install_test("install: ./configure --prefix=DIR is honoured (config.mk), other directories only when given")
def _(ctx):
    d = os.path.join(ctx.tmp, "configure-prefix")
    os.makedirs(d, exist_ok=True)
    p = subprocess.run(["sh", os.path.join(REPO, "configure"), "--prefix=/opt/tt", "--mandir=/usr/share/man"],
                       cwd=d, capture_output=True, timeout=120, env=deploy._env())
    expect(p.returncode == 0, "configure: %s" % p.stderr.decode(errors="replace")[-300:])
    with open(os.path.join(d, "config.mk")) as f:
        mk = f.read()
    expect(re.search(r"^PREFIX = /opt/tt$", mk, re.M), "config.mk: %r" % mk[-200:])
    expect(re.search(r"^MANDIR = /usr/share/man$", mk, re.M), "config.mk lacks the given mandir")
    expect(not re.search(r"^(BINDIR|DATADIR|SYSCONFDIR) =", mk, re.M), "config.mk fixes directories not given")
    expect(b"/opt/tt" in p.stdout, "configure's summary does not say where it installs")


@install_test("install: the installed program finds its installed viewer from any working directory, and warns when it is missing")
def _(ctx):
    d = make_install(ctx, "stage", "DESTDIR=@D")
    prog = os.path.join(d, "usr/local/bin/tessera")
    root = deploy.DEPS.make_root(ctx)
    port = harness.free_port()
    out = os.path.join(ctx.tmp, "inst-viewer.log")
    p = harness._spawn("installed", [prog, "serve", "--root", root, "--http", "127.0.0.1:%d" % port],
                       out, cwd="/", env=deploy._env())
    try:
        harness._wait_http(port, [p], [out], probe="/health")
        r = harness.request(port, "/")
        expect_status(r, 200, "GET / of the installed program (cwd /)")
        expect(r.media_type == "text/html" and b"<html" in r.body.lower(), "not the viewer page")
    finally:
        harness._stop(p)
    moved = os.path.join(d, "usr/local/share/tessera/viewer")
    os.rename(moved, moved + ".away")
    try:
        port = harness.free_port()
        out2 = os.path.join(ctx.tmp, "inst-noviewer.log")
        p = harness._spawn("installed2", [prog, "serve", "--root", root, "--http", "127.0.0.1:%d" % port],
                           out2, cwd=REPO, env=deploy._env())
        try:
            harness._wait_http(port, [p], [out2], probe="/health")
            expect_status(harness.request(port, "/"), 404, "GET / with the viewer missing")
            time.sleep(0.1)
            with open(out2) as f:
                expect("viewer_dir" in f.read(), "no warning about the missing viewer")
        finally:
            harness._stop(p)
    finally:
        os.rename(moved + ".away", moved)


def _dropin_from_unit(unit_text):
    """The drop-in the unit's comments suggest ("#     [Service]" ... )."""
    lines, on = [], False
    for line in unit_text.splitlines():
        if line.startswith("#     [Service]"):
            on = True
        if on:
            if not line.startswith("#     "):
                break
            lines.append(line[6:])
    return "\n".join(lines) + "\n"


@install_test("systemd: the installed unit and the drop-in its comments suggest pass systemd-analyze verify; exit 2 is not restarted")
def _(ctx):
    sa = shutil.which("systemd-analyze")
    if not sa:
        raise Skip("systemd-analyze is not installed (package systemd)")
    d = make_install(ctx, "prefix", "PREFIX=@D/p", "SYSCONFDIR=@D/p/etc")
    unit = os.path.join(d, "p/share/tessera/conf/tessera.service")
    with open(unit) as f:
        text = f.read()
    for want in ("RestartPreventExitStatus=2", "LogsDirectory=tessera", "WorkingDirectory=",
                 "ExecStart=%s/p/bin/tessera serve --config %s/p/etc/tessera/tessera.conf" % (d, d)):
        expect(want in text, "the unit lacks %r" % want)
    p = subprocess.run([sa, "verify", "--man=no", unit], capture_output=True, timeout=60)
    msg = (p.stdout + p.stderr).decode(errors="replace").strip()
    expect(p.returncode == 0 and not msg, "systemd-analyze verify: exit %d: %s" % (p.returncode, msg[:500]))
    dropin = _dropin_from_unit(text)
    expect("BindReadOnlyPaths=" in dropin, "no drop-in found in the unit's comments: %r" % dropin)
    os.makedirs(unit + ".d", exist_ok=True)
    with open(os.path.join(unit + ".d", "override.conf"), "w") as f:
        f.write(dropin)
    p = subprocess.run([sa, "verify", "--man=no", unit], capture_output=True, timeout=60)
    msg = (p.stdout + p.stderr).decode(errors="replace").strip()
    expect(p.returncode == 0 and not msg, "with the documented drop-in: exit %d: %s" % (p.returncode, msg[:500]))
    # what RestartPreventExitStatus=2 relies on: a bad setting is exit 2
    bad = os.path.join(d, "bad.conf")
    with open(bad, "w") as f:
        f.write("root = /tmp\njpeg_quality = high\n")
    r = subprocess.run([os.path.join(d, "p/bin/tessera"), "serve", "--config", bad, "--fastcgi",
                        os.path.join(d, "t.sock")], capture_output=True, timeout=20, env=deploy._env())
    expect(r.returncode == 2, "a bad setting exits %d, not 2" % r.returncode)
