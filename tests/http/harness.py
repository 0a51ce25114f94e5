"""harness.py - processes and HTTP for the HTTP test suite.

Starts the real daemon (embedded HTTP mode, or FastCGI behind a private
nginx, or under spawn-fcgi) on 127.0.0.1 with free ports, everything under
one temporary directory, and talks to it with a raw-socket HTTP/1.1 client
so that tests can send exactly the bytes they mean (hostile paths, odd
headers) and see exactly the bytes that come back.

The one idea: every process is started in its own session (process group),
remembered in a module-level list, and killed by group in stop_all(), which
run.py calls from try/finally and atexit; nothing the suite starts outlives
it, and check_no_leaks() proves that afterwards.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TESSERA = os.environ.get("TESSERA_BIN", os.path.join(REPO, "tessera"))
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SPAWN_FCGI = shutil.which("spawn-fcgi") or "/usr/bin/spawn-fcgi"
NGINX_CONF_SNIPPET = os.path.join(REPO, "conf", "nginx-tessera.conf")

REQUEST_TIMEOUT = 10.0

_started = []   # (name, Popen) of every process group we started


class SetupError(Exception):
    """A server could not be started; the tests that need it fail."""


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --------------------------------------------------------------------------
# HTTP client

class Response:
    def __init__(self, status, reason, headers, body, elapsed, complete):
        self.status = status
        self.reason = reason
        self.header_list = headers          # [(name, value)] in order
        self.body = body
        self.elapsed = elapsed
        self.complete = complete            # the connection ended cleanly

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.header_list:
            if k.lower() == name:
                return v
        return default

    def headers_all(self, name):
        name = name.lower()
        return [v for k, v in self.header_list if k.lower() == name]

    @property
    def media_type(self):
        ct = self.header("Content-Type") or ""
        return ct.split(";")[0].strip().lower()

    def __repr__(self):
        return "<%d %s, %d bytes>" % (self.status, self.media_type, len(self.body))


def _read_all(sock, deadline):
    chunks = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return b"".join(chunks), False
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            return b"".join(chunks), False
        except ConnectionResetError:
            return b"".join(chunks), False
        if not data:
            return b"".join(chunks), True
        chunks.append(data)


def _dechunk(data):
    out = bytearray()
    pos = 0
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            raise ValueError("truncated chunked body")
        n = int(data[pos:eol].split(b";")[0], 16)
        pos = eol + 2
        if n == 0:
            return bytes(out)
        out += data[pos:pos + n]
        pos += n + 2


def request(port, path, method="GET", headers=None, host="127.0.0.1", raw_path=False,
            body=b"", timeout=REQUEST_TIMEOUT):
    """One request on a fresh connection (Connection: close).  path is sent
    as given (str encoded as latin-1, or bytes).  Returns a Response; raises
    on connect failure or timeout."""
    if isinstance(path, str):
        path = path.encode("latin-1")
    hdrs = [("Host", "127.0.0.1:%d" % port), ("Connection", "close"),
            ("User-Agent", "tessera-http-tests")]
    for k, v in (headers or {}).items() if isinstance(headers, dict) else (headers or []):
        hdrs = [(a, b) for (a, b) in hdrs if a.lower() != k.lower()] + [(k, v)]
    if body or method in ("POST", "PUT"):
        hdrs.append(("Content-Length", str(len(body))))
    req = method.encode() + b" " + path + b" HTTP/1.1\r\n"
    for k, v in hdrs:
        req += k.encode("latin-1") + b": " + (v.encode("latin-1") if isinstance(v, str) else v) + b"\r\n"
    req += b"\r\n" + body
    t0 = time.monotonic()
    deadline = t0 + timeout
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        sock.sendall(req)
        data, eof = _read_all(sock, deadline)
    finally:
        sock.close()
    elapsed = time.monotonic() - t0
    end = data.find(b"\r\n\r\n")
    if end < 0:
        raise IOError("no complete response header within %.0f s (got %d bytes)" % (timeout, len(data)))
    head = data[:end].decode("latin-1").split("\r\n")
    rest = data[end + 4:]
    m = re.match(r"HTTP/1\.[01] (\d{3}) ?(.*)", head[0])
    if not m:
        raise IOError("bad status line %r" % head[0])
    status = int(m.group(1))
    hl = []
    for line in head[1:]:
        k, _, v = line.partition(":")
        hl.append((k.strip(), v.strip()))
    r = Response(status, m.group(2), hl, rest, elapsed, eof)
    te = (r.header("Transfer-Encoding") or "").lower()
    if "chunked" in te and method != "HEAD":
        r.body = _dechunk(rest)
    return r


# --------------------------------------------------------------------------
# processes

def _spawn(name, argv, logpath, cwd=None, stdin=None, env=None):
    log = open(logpath, "ab")
    p = subprocess.Popen(argv, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                         stdout=log, stderr=subprocess.STDOUT, cwd=cwd,
                         start_new_session=True, env=env)
    log.close()
    _started.append((name, p))
    return p


def _stop(p, grace=3.0):
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    # the group may still hold children (nginx workers) even after the leader
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        p.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass


def stop_all():
    while _started:
        name, p = _started.pop()
        _stop(p)


def started_groups():
    return [p.pid for _, p in _started]


def processes_in_groups(pgids):
    """Processes still alive whose process group is one of pgids."""
    left = []
    want = set(pgids)
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
            fields = st[st.rfind(")") + 2:].split()
            state, pgrp = fields[0], int(fields[2])
            if pgrp in want and state != "Z":
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    left.append((int(d), f.read().replace(b"\0", b" ").decode(errors="replace")))
        except (OSError, IndexError, ValueError):
            continue
    return left


def processes_mentioning(text):
    """Processes whose command line mentions text (our temp dir)."""
    left = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmd:
            left.append((int(d), cmd))
    return left


def _tail(path, n=15):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode(errors="replace").splitlines()
        return " | ".join(lines[-n:])
    except OSError:
        return "(no log)"


class Server:
    """A running front door: .port answers HTTP.  .procs are its processes."""

    def __init__(self, name, port, procs, logs, root):
        self.name = name
        self.port = port
        self.procs = procs
        self.logs = logs
        self.root = root

    def get(self, path, **kw):
        return request(self.port, path, **kw)

    def alive(self):
        return all(p.poll() is None for p in self.procs)

    def daemon_alive(self):
        return self.procs[0].poll() is None

    def stop(self):
        for p in self.procs:
            _stop(p)
            for i, (_, q) in enumerate(_started):
                if q is p:
                    del _started[i]
                    break

    def log_tail(self):
        return "; ".join("%s: %s" % (os.path.basename(l), _tail(l)) for l in self.logs)


def _wait_http(port, procs, logs, probe="/iiif/3/pattern/info.json", timeout=15.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                raise SetupError("process exited with %s before answering: %s" % (
                    p.returncode, "; ".join(_tail(l) for l in logs)))
        try:
            request(port, probe, timeout=3)
            return
        except (OSError, IOError) as e:
            last = e
        time.sleep(0.1)
    raise SetupError("no HTTP answer on port %d within %.0f s (%s): %s" % (
        port, timeout, last, "; ".join(_tail(l) for l in logs)))


def _wait_path(path, procs, logs, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return
        for p in procs:
            if p.poll() is not None:
                raise SetupError("process exited with %s before creating %s: %s" % (
                    p.returncode, os.path.basename(path), "; ".join(_tail(l) for l in logs)))
        time.sleep(0.05)
    raise SetupError("%s did not appear within %.0f s: %s" % (
        os.path.basename(path), timeout, "; ".join(_tail(l) for l in logs)))


def start_embedded(tmp, name, root, extra=()):
    """./tessera serve --root ROOT --http 127.0.0.1:PORT [extra...]"""
    if not os.access(TESSERA, os.X_OK):
        raise SetupError("%s is not built" % TESSERA)
    d = os.path.join(tmp, "srv-" + name)
    os.makedirs(d, exist_ok=True)
    port = free_port()
    log = os.path.join(d, "tessera.log")
    argv = [TESSERA, "serve", "--root", root, "--http", "127.0.0.1:%d" % port,
            "--threads", "2"] + list(extra)
    p = _spawn(name, argv, os.path.join(d, "stdout.log"))
    logs = [os.path.join(d, "stdout.log")]
    try:
        _wait_http(port, [p], logs)
    except SetupError:
        _stop(p)
        raise
    return Server(name, port, [p], logs, root)


# -------------------------- nginx

DEFAULT_SERVER_BLOCK = """
server {
    listen 127.0.0.1:8080;
    server_name localhost;
    location /iiif/ {
        include fastcgi_params;
        fastcgi_pass unix:/run/tessera/tessera.sock;
    }
}
"""


def nginx_server_block():
    """The server block of conf/nginx-tessera.conf if a colleague has written
    it (tokens substituted later), else our own equivalent.  Returns
    (text, source)."""
    try:
        with open(NGINX_CONF_SNIPPET) as f:
            text = f.read()
        if "listen 127.0.0.1:8080;" in text and "unix:/run/tessera/tessera.sock" in text:
            return text, "conf/nginx-tessera.conf"
    except OSError:
        pass
    return DEFAULT_SERVER_BLOCK, "built-in block"


NGINX_MEDIA_ALIAS = "alias /var/lib/tessera/images/;"


def write_nginx_conf(d, port, sock, root=None):
    block, source = nginx_server_block()
    block = block.replace("listen 127.0.0.1:8080;", "listen 127.0.0.1:%d;" % port)
    if root:
        # the internal location for X-Accel-Redirect serves the test root
        block = block.replace(NGINX_MEDIA_ALIAS,
                              "alias %s/;" % os.path.realpath(root).rstrip("/"))
    block = block.replace("unix:/run/tessera/tessera.sock", "unix:" + sock)
    # logs named by absolute path in the snippet go to our directory instead
    block = re.sub(r"/var/log/nginx/", os.path.join(d, "logs") + "/", block)
    for f in ("fastcgi_params", "fastcgi.conf", "mime.types"):
        if os.path.exists("/etc/nginx/" + f):
            shutil.copy("/etc/nginx/" + f, os.path.join(d, f))
    os.makedirs(os.path.join(d, "logs"), exist_ok=True)
    for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        os.makedirs(os.path.join(d, "temp", t), exist_ok=True)
    conf = """
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
    include mime.types;
    default_type application/octet-stream;
    access_log {d}/logs/access.log;
    client_body_temp_path {d}/temp/client_body;
    proxy_temp_path {d}/temp/proxy;
    fastcgi_temp_path {d}/temp/fastcgi;
    uwsgi_temp_path {d}/temp/uwsgi;
    scgi_temp_path {d}/temp/scgi;
{block}
}}
""".format(d=d, block=block)
    path = os.path.join(d, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    return path, source


def _start_nginx(d, port, sock, procs, logs, root=None):
    conf, source = write_nginx_conf(d, port, sock, root)
    t = subprocess.run([NGINX, "-t", "-c", conf, "-p", d + "/"], capture_output=True, timeout=20)
    if t.returncode != 0:
        raise SetupError("nginx -t failed for %s: %s" % (source, t.stderr.decode(errors="replace")[-600:]))
    nlog = os.path.join(d, "nginx-stdout.log")
    n = _spawn("nginx", [NGINX, "-c", conf, "-p", d + "/", "-g", "daemon off;"], nlog)
    procs.append(n)
    logs += [nlog, os.path.join(d, "logs", "error.log")]
    return source


def start_nginx_fastcgi(tmp, name, root, extra=()):
    """tessera serve --fastcgi SOCK behind a private nginx."""
    if not os.access(TESSERA, os.X_OK):
        raise SetupError("%s is not built" % TESSERA)
    if not os.access(NGINX, os.X_OK):
        raise SetupError("nginx is not installed")
    d = os.path.join(tmp, "srv-" + name)
    os.makedirs(d, exist_ok=True)
    sock = os.path.join(d, "tessera.sock")
    tlog = os.path.join(d, "tessera.log")
    dout = os.path.join(d, "tessera-stdout.log")
    argv = [TESSERA, "serve", "--root", root, "--fastcgi", sock, "--threads", "2",
            "--logfile", tlog] + list(extra)
    p = _spawn(name, argv, dout)
    procs, logs = [p], [dout, tlog]
    try:
        _wait_path(sock, procs, logs)
        port = free_port()
        source = _start_nginx(d, port, sock, procs, logs, root)
        _wait_http(port, procs, logs)
    except BaseException:
        for q in procs:
            _stop(q)
        raise
    s = Server(name, port, procs, logs, root)
    s.conf_source = source
    return s


def start_spawn_fcgi(tmp, name, root):
    """spawn-fcgi -s SOCK -n -- tessera serve --root ROOT (listen socket on
    stdin), behind a private nginx."""
    if not os.access(SPAWN_FCGI, os.X_OK):
        raise SetupError("spawn-fcgi is not installed")
    if not os.access(TESSERA, os.X_OK):
        raise SetupError("%s is not built" % TESSERA)
    d = os.path.join(tmp, "srv-" + name)
    os.makedirs(d, exist_ok=True)
    sock = os.path.join(d, "spawn.sock")
    out = os.path.join(d, "spawn-stdout.log")
    p = _spawn(name, [SPAWN_FCGI, "-s", sock, "-M", "0666", "-n", "--", TESSERA, "serve", "--root", root], out)
    procs, logs = [p], [out]
    try:
        _wait_path(sock, procs, logs)
        port = free_port()
        _start_nginx(d, port, sock, procs, logs, root)
        _wait_http(port, procs, logs)
    except BaseException:
        for q in procs:
            _stop(q)
        raise
    return Server(name, port, procs, logs, root)
