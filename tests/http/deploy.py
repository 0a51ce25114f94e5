"""deploy.py - start Tessera in each deployment the README and conf/ describe.

  apache         a private Apache 2.4 with mod_fcgid (Debian's apache2 and
                 libapache2-mod-fcgid), conf/apache-fcgid.conf Included in
                 a virtual host like Debian's default one ...
  apache-vhost   ... and in a name-based virtual host of one's own, on the
                 same Apache (reached with Host: tessera.test)
  apache-proxy-fcgi  the mod_proxy_fcgi alternative that file documents (its
                 commented lines), in front of `tessera serve --fastcgi HOST:PORT`
  spawn-fcgi     conf/spawn-fcgi.sh itself (spawn-fcgi, a Unix socket, the
                 log file) behind a private nginx with conf/nginx-tessera.conf
  nginx-fastcgi  `tessera serve --fastcgi SOCK` behind the same nginx conf
  embedded       `tessera serve --http 127.0.0.1:PORT`

The one idea: the shipped files are used as they are.  The Apache config
written here only loads modules, names private paths and Includes
conf/apache-fcgid.conf inside its <VirtualHost>s (the binary and config
paths are the Apache variables that file documents); spawn-fcgi is started
by conf/spawn-fcgi.sh with its documented variables; nginx uses
conf/nginx-tessera.conf through harness.py.  Settings reach each daemon the
way its deployment passes them (FcgidInitialEnv, the environment of
spawn-fcgi or of the process), with iipsrv's names.  Apache runs with its
own ServerRoot on a free 127.0.0.1 port, never the system's service.
"""

import os
import shutil
import signal
import subprocess
import time

import harness

REPO = harness.REPO
APACHE = shutil.which("apache2") or "/usr/sbin/apache2"
APACHE_MODULES = "/usr/lib/apache2/modules"
APACHE_CONF = os.path.join(REPO, "conf", "apache-fcgid.conf")
SPAWN_SCRIPT = os.path.join(REPO, "conf", "spawn-fcgi.sh")
VHOST_NAME = "tessera.test"

# The modules Debian 12 enables in a fresh apache2 install that matter here
# (mod_deflate and mod_filter included: their default filters are the ones
# that broke ETags), plus mod_fcgid.
APACHE_LOAD = ["mpm_event", "authz_core", "authz_host", "authn_core", "alias", "mime",
               "filter", "deflate", "env", "setenvif", "dir", "fcgid"]

# The settings every deployment is given, with iipsrv's names.
ENV = {"MAX_CVT": "3000", "JPEG_QUALITY": "63"}

DEPLOYMENTS = ("apache", "apache-vhost", "apache-proxy-fcgi", "spawn-fcgi", "nginx-fastcgi",
               "embedded")


class HostServer(harness.Server):
    """A Server reached with a given Host header (a name-based vhost)."""

    def __init__(self, name, port, procs, logs, root, host):
        harness.Server.__init__(self, name, port, procs, logs, root)
        self.host = host

    def get(self, path, **kw):
        hdrs = kw.pop("headers", None) or {}
        hdrs = dict(hdrs)
        hdrs.setdefault("Host", self.host)
        return harness.request(self.port, path, headers=hdrs, **kw)


class PidProcess:
    """A daemon we did not fork ourselves (spawn-fcgi's child), by pid; it
    leads its own session, so harness._stop can kill it by group."""

    def __init__(self, pid):
        self.pid = pid
        self.returncode = None

    def poll(self):
        try:
            with open("/proc/%d/stat" % self.pid) as f:
                st = f.read()
            if st[st.rfind(")") + 2:].split()[0] == "Z":
                self.returncode = 0
                return 0
            return None
        except OSError:
            self.returncode = 0
            return 0

    def wait(self, timeout=None):
        deadline = time.monotonic() + (timeout or 0)
        while self.poll() is None:
            if timeout is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("pid %d" % self.pid, timeout)
            time.sleep(0.05)
        return self.returncode


def _env(extra=None):
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("TESSERA_") or k in ("MAX_CVT", "JPEG_QUALITY", "LOGFILE",
                                             "VERBOSITY", "FILESYSTEM_PREFIX"):
            del env[k]
    env.update(extra or {})
    return env


def _dir(tmp, name):
    d = os.path.join(tmp, "dep-" + name)
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    return d


def _write_conf(d, root, extra=""):
    path = os.path.join(d, "tessera.conf")
    with open(path, "w") as f:
        f.write("# written by tests/http/deploy.py\nroot = %s\n%s" % (root, extra))
    os.chmod(path, 0o644)
    return path


# ------------------------------------------------------------------ Apache

def write_apache_conf(d, port, conf_path, root_user):
    """The private httpd.conf: Debian's default modules, a default vhost and
    a vhost of one's own, each Including conf/apache-fcgid.conf."""
    for sub in ("logs", "run", "fcgid", "htdocs"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    lines = ["# written by tests/http/deploy.py",
             "ServerRoot %s" % d,
             "ServerName 127.0.0.1",
             "Listen 127.0.0.1:%d" % port,
             "PidFile %s/run/apache2.pid" % d,
             "DefaultRuntimeDir %s/run" % d,
             "ErrorLog %s/logs/error.log" % d,
             "LogLevel warn",
             "TypesConfig /etc/mime.types"]
    for m in APACHE_LOAD:
        lines.append("LoadModule %s_module %s/mod_%s.so" % (m, APACHE_MODULES, m))
    if root_user:
        lines += ["User www-data", "Group www-data"]
    # Debian's own module configs, as a fresh install has them enabled
    for m in ("deflate", "fcgid", "mime"):
        p = "/etc/apache2/mods-available/%s.conf" % m
        if os.path.exists(p):
            lines.append("Include %s" % p)
    # as Debian's apache2.conf: nothing on disk is served unless granted
    lines += ["<Directory />", "    Options FollowSymLinks", "    AllowOverride None",
              "    Require all denied", "</Directory>"]
    lines += ["FcgidIPCDir %s/fcgid" % d,
              "FcgidProcessTableFile %s/fcgid/shm" % d,
              "Define TESSERA_BIN %s" % harness.TESSERA,
              "Define TESSERA_CONFIG %s" % conf_path]
    env = "".join("    FcgidInitialEnv %s %s\n" % kv for kv in sorted(ENV.items()))
    # the first vhost of a port is its default, like Debian's 000-default.conf
    lines.append("""
<VirtualHost *:{port}>
    DocumentRoot {d}/htdocs
    ErrorLog {d}/logs/default-error.log
    Include {conf}
{env}</VirtualHost>

<VirtualHost *:{port}>
    ServerName {vhost}
    DocumentRoot {d}/htdocs
    ErrorLog {d}/logs/vhost-error.log
    Include {conf}
{env}</VirtualHost>
""".format(port=port, d=d, conf=APACHE_CONF, vhost=VHOST_NAME, env=env))
    path = os.path.join(d, "apache2.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return path


def start_apache(tmp, root):
    """Returns (default-vhost Server, own-vhost Server) on one private Apache."""
    if not os.access(APACHE, os.X_OK) or not os.path.exists(
            os.path.join(APACHE_MODULES, "mod_fcgid.so")):
        raise harness.SetupError("apache2 and libapache2-mod-fcgid are not installed "
                                 "(sh tools/install-deps.sh)")
    d = _dir(tmp, "apache")
    conf = _write_conf(d, root)
    port = harness.free_port()
    root_user = os.geteuid() == 0
    path = write_apache_conf(d, port, conf, root_user)
    if root_user:
        shutil.chown(os.path.join(d, "fcgid"), "www-data", "www-data")
    t = subprocess.run([APACHE, "-t", "-f", path], capture_output=True, timeout=30, env=_env())
    if t.returncode != 0:
        raise harness.SetupError("apache2 -t failed: %s" % t.stderr.decode(errors="replace")[-800:])
    out = os.path.join(d, "apache-stdout.log")
    p = harness._spawn("apache2", [APACHE, "-f", path, "-DFOREGROUND"], out, env=_env())
    logs = [out, os.path.join(d, "logs", "error.log"), os.path.join(d, "logs", "default-error.log"),
            os.path.join(d, "logs", "vhost-error.log")]
    try:
        harness._wait_http(port, [p], logs, probe="/health", timeout=30)
    except BaseException:
        harness._stop(p)
        raise
    a = harness.Server("apache", port, [p], logs, root)
    b = HostServer("apache-vhost", port, [p], logs, root, VHOST_NAME)
    a.dir = b.dir = d
    # mod_fcgid gives its processes the main server's error log
    a.daemon_log = b.daemon_log = os.path.join(d, "logs", "error.log")
    return a, b


def proxy_fcgi_block(port):
    """The mod_proxy_fcgi lines conf/apache-fcgid.conf documents (the
    commented block after "inside the <VirtualHost>:"), for a tessera on
    127.0.0.1:port."""
    with open(APACHE_CONF) as f:
        text = f.read()
    out, on = [], False
    for line in text.splitlines():
        if on:
            if not line.startswith("#     "):
                break
            out.append(line[6:].replace("127.0.0.1:9000", "127.0.0.1:%d" % port))
        elif "instead of this file, inside the <VirtualHost>:" in line:
            on = True
    if not any(l.startswith("ProxyPassMatch") for l in out):
        raise harness.SetupError("conf/apache-fcgid.conf documents no mod_proxy_fcgi block")
    return "\n".join("    " + l for l in out) + "\n"


def start_apache_proxy(tmp, root, name="apache-proxy-fcgi"):
    """tessera serve --fastcgi 127.0.0.1:PORT behind a private Apache with
    mod_proxy_fcgi, configured with the lines apache-fcgid.conf documents."""
    if not os.path.exists(os.path.join(APACHE_MODULES, "mod_proxy_fcgi.so")):
        raise harness.SetupError("apache2 is not installed (sh tools/install-deps.sh)")
    d = _dir(tmp, name)
    fport, port = harness.free_port(), harness.free_port()
    out = os.path.join(d, "tessera-stdout.log")
    p = harness._spawn(name, [harness.TESSERA, "serve", "--root", root, "--fastcgi",
                              "127.0.0.1:%d" % fport], out, env=_env(ENV))
    procs, logs = [p], [out]
    try:
        for sub in ("logs", "run"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        mods = ["mpm_event", "authz_core", "mime", "filter", "deflate", "env", "setenvif",
                "proxy", "proxy_fcgi"]
        lines = ["ServerRoot %s" % d, "ServerName 127.0.0.1", "Listen 127.0.0.1:%d" % port,
                 "PidFile %s/run/apache2.pid" % d, "DefaultRuntimeDir %s/run" % d,
                 "ErrorLog %s/logs/error.log" % d, "LogLevel warn"]
        lines += ["LoadModule %s_module %s/mod_%s.so" % (m, APACHE_MODULES, m) for m in mods]
        lines.append("TypesConfig /etc/mime.types")
        if os.geteuid() == 0:
            lines += ["User www-data", "Group www-data"]
        for m in ("deflate", "mime"):
            if os.path.exists("/etc/apache2/mods-available/%s.conf" % m):
                lines.append("Include /etc/apache2/mods-available/%s.conf" % m)
        lines.append("<VirtualHost *:%d>\n%s</VirtualHost>\n" % (port, proxy_fcgi_block(fport)))
        conf = os.path.join(d, "apache2.conf")
        with open(conf, "w") as f:
            f.write("\n".join(lines))
        t = subprocess.run([APACHE, "-t", "-f", conf], capture_output=True, timeout=30, env=_env())
        if t.returncode != 0:
            raise harness.SetupError("apache2 -t failed: %s" % t.stderr.decode(errors="replace")[-800:])
        aout = os.path.join(d, "apache-stdout.log")
        procs.append(harness._spawn("apache2-proxy", [APACHE, "-f", conf, "-DFOREGROUND"], aout,
                                    env=_env()))
        logs += [aout, os.path.join(d, "logs", "error.log")]
        harness._wait_http(port, procs, logs, probe="/health", timeout=30)
    except BaseException:
        for q in procs:
            harness._stop(q)
        raise
    s = harness.Server(name, port, procs, logs, root)
    s.dir, s.daemon_log = d, out
    return s


def stop_apache(srv):
    """SIGTERM to Apache; it stops its mod_fcgid processes."""
    for p in srv.procs:
        harness._stop(p)


# ------------------------------------------------------------------ spawn-fcgi

def start_spawn_script(tmp, root, name="spawn-fcgi"):
    """conf/spawn-fcgi.sh with its documented variables, behind nginx."""
    if not os.access(harness.SPAWN_FCGI, os.X_OK):
        raise harness.SetupError("spawn-fcgi is not installed")
    d = _dir(tmp, name)
    conf = _write_conf(d, root)
    run = os.path.join(d, "run")
    logfile = os.path.join(d, "log", "tessera.log")
    env = _env(dict(ENV, TESSERA_BIN=harness.TESSERA, TESSERA_CONFIG=conf,
                    TESSERA_RUN_DIR=run, LOGFILE=logfile,
                    PATH=os.environ.get("PATH", "/usr/bin:/bin") + ":/usr/bin:/usr/sbin"))
    out = os.path.join(d, "script.log")
    with open(out, "ab") as f:
        t = subprocess.run(["sh", SPAWN_SCRIPT], stdout=f, stderr=subprocess.STDOUT,
                           env=env, timeout=30, stdin=subprocess.DEVNULL)
    sock, pidfile = os.path.join(run, "tessera.sock"), os.path.join(run, "tessera.pid")
    if t.returncode != 0 or not os.path.exists(pidfile):
        raise harness.SetupError("conf/spawn-fcgi.sh exited %d: %s" % (t.returncode, harness._tail(out)))
    with open(pidfile) as f:
        pid = int(f.read().strip())
    proc = PidProcess(pid)
    harness._started.append((name, proc))
    procs, logs = [proc], [out, logfile]
    try:
        harness._wait_path(sock, procs, logs)
        port = harness.free_port()
        harness._start_nginx(d, port, sock, procs, logs, root)
        harness._wait_http(port, procs, logs, probe="/health")
    except BaseException:
        for q in procs:
            harness._stop(q)
        raise
    s = harness.Server(name, port, procs, logs, root)
    s.dir, s.sock, s.daemon_log, s.pid = d, sock, logfile, pid
    return s


# ------------------------------------------------------------------ tessera's own listeners

def start_nginx_fastcgi(tmp, root, name="nginx-fastcgi", extra=(), env=None):
    d = _dir(tmp, name)
    sock = os.path.join(d, "tessera.sock")
    logfile = os.path.join(d, "tessera.log")
    out = os.path.join(d, "tessera-stdout.log")
    argv = [harness.TESSERA, "serve", "--root", root, "--fastcgi", sock,
            "--logfile", logfile] + list(extra)
    p = harness._spawn(name, argv, out, env=_env(ENV if env is None else env))
    procs, logs = [p], [out, logfile]
    try:
        harness._wait_path(sock, procs, logs)
        port = harness.free_port()
        harness._start_nginx(d, port, sock, procs, logs, root)
        harness._wait_http(port, procs, logs, probe="/health")
    except BaseException:
        for q in procs:
            harness._stop(q)
        raise
    s = harness.Server(name, port, procs, logs, root)
    s.dir, s.sock, s.daemon_log = d, sock, logfile
    return s


def start_embedded(tmp, root, name="embedded", extra=(), env=None):
    d = _dir(tmp, name)
    port = harness.free_port()
    out = os.path.join(d, "tessera-stdout.log")
    argv = [harness.TESSERA, "serve", "--root", root, "--http", "127.0.0.1:%d" % port] + list(extra)
    p = harness._spawn(name, argv, out, env=_env(ENV if env is None else env))
    try:
        harness._wait_http(port, [p], [out], probe="/health")
    except BaseException:
        harness._stop(p)
        raise
    s = harness.Server(name, port, [p], [out], root)
    s.dir, s.daemon_log = d, out
    return s


class Deployments:
    """Each deployment started once, on first use; a failed start is
    remembered so that every check of that deployment fails with it."""

    def __init__(self):
        self.servers = {}
        self.errors = {}
        self.root = None

    def make_root(self, ctx):
        """A small root: the suite's pattern image at the top and in
        sub/dir/, and a folder `letters` (a Manifest) with a page and a PDF."""
        if self.root:
            return self.root
        root = os.path.join(ctx.tmp, "deploy-root")
        os.makedirs(os.path.join(root, "sub", "dir"), exist_ok=True)
        os.makedirs(os.path.join(root, "letters"), exist_ok=True)
        src = os.path.join(ctx.root, "pattern.tif")
        shutil.copy(src, os.path.join(root, "pattern.tif"))
        shutil.copy(src, os.path.join(root, "sub", "dir", "x.tif"))
        from PIL import Image
        Image.new("RGB", (640, 480), (200, 40, 40)).save(os.path.join(root, "letters", "p1.png"))
        with open(os.path.join(root, "letters", "letter.pdf"), "wb") as f:
            f.write(pdf_bytes())
        self.root = root
        return root

    def get(self, ctx, name):
        if name in self.errors:
            raise harness.SetupError(self.errors[name])
        if name not in self.servers:
            root = self.make_root(ctx)
            try:
                if name in ("apache", "apache-vhost"):
                    a, b = start_apache(ctx.tmp, root)
                    self.servers["apache"], self.servers["apache-vhost"] = a, b
                elif name == "apache-proxy-fcgi":
                    self.servers[name] = start_apache_proxy(ctx.tmp, root)
                elif name == "spawn-fcgi":
                    self.servers[name] = start_spawn_script(ctx.tmp, root)
                elif name == "nginx-fastcgi":
                    self.servers[name] = start_nginx_fastcgi(ctx.tmp, root)
                else:
                    self.servers[name] = start_embedded(ctx.tmp, root)
            except harness.SetupError as e:
                self.errors[name] = "%s setup failed: %s" % (name, e)
                if name.startswith("apache"):
                    self.errors["apache"] = self.errors["apache-vhost"] = self.errors[name]
                raise harness.SetupError(self.errors[name])
        return self.servers[name]


# The one set of deployments of a run: test_deployments.py, test_admin.py and
# test_install.py share it (one private Apache per run, one root).
DEPS = Deployments()


def pdf_bytes():
    """300 KB that start like a PDF: more than one 256 KB FastCGI piece."""
    body = b"%PDF-1.4\n% tessera deployment test\n"
    filler = bytes((i * 7 + 3) % 251 for i in range(300 * 1024))
    return body + filler + b"\n%%EOF\n"


def kill_quietly(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
