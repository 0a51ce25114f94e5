"""static_server.py - a small static HTTP server for the viewer tests.

Serves, on 127.0.0.1 in a background thread of the calling process:
  /uv/...                 the Universal Viewer's dist/ (tests/browser/node_modules)
  /iiif/{fid}/res/{file}  media files of the image root (fixture mode only)
  /iiif/...               the hand-made Presentation files of fixture.py (fixture mode only)
with CORS on every answer, the media types of presentation.md section 1,
and byte ranges as the daemon's media route gives them (RFC 9110 section
14: one range -> 206 with Content-Range, unsatisfiable -> 416, HEAD, Accept-
Ranges): Chromium always asks media with "Range: bytes=0-", and Python's
http.server does not do ranges.

The one idea: a request's raw path (still percent-encoded) names the file
under a mount, so fixture files can be named exactly as their URLs are;
only /res/ paths are decoded, and every path is confined to its mount
(realpath under the mount's realpath).
"""

import email.utils
import http.server
import os
import re
import threading
import urllib.parse

TYPES = {
    ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8", ".json": "application/json", ".map": "application/json",
    ".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".gif": "image/gif",
    ".ico": "image/x-icon", ".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf",
    ".wasm": "application/wasm", ".txt": "text/plain",
    ".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".ogg": "audio/ogg", ".oga": "audio/ogg",
    ".opus": "audio/ogg", ".wav": "audio/wav", ".flac": "audio/flac", ".mp4": "video/mp4",
    ".m4v": "video/mp4", ".webm": "video/webm", ".ogv": "video/ogg", ".pdf": "application/pdf",
    ".glb": "model/gltf-binary", ".gltf": "model/gltf+json", ".vtt": "text/vtt",
    ".tif": "image/tiff", ".tiff": "image/tiff",
}
PRESENTATION3 = 'application/ld+json;profile="http://iiif.io/api/presentation/3/context.json"'


def confined(base, rel):
    """base/rel if its realpath stays under base's, else None."""
    if "\0" in rel:
        return None
    b = os.path.realpath(base)
    p = os.path.realpath(os.path.join(b, rel.lstrip("/")))
    return p if p.startswith(b + os.sep) and os.path.isfile(p) else None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tessera-test-static"

    def log_message(self, fmt, *args):
        self.server.log.append("%s %s" % (self.command, self.path))

    def do_OPTIONS(self):
        self.send_response(204)
        self.cors()
        self.send_header("Access-Control-Allow-Headers", "Range, Content-Type")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self):
        self.answer(head=True)

    def do_GET(self):
        self.answer(head=False)

    def cors(self):
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Expose-Headers", "Content-Range, Content-Length, Accept-Ranges")

    def fail(self, code, text):
        body = (text + "\n").encode()
        self.send_response(code)
        self.cors()
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def resolve(self):
        """(file, Content-Type) for the request, or None."""
        raw = self.path.split("?", 1)[0].split("#", 1)[0]
        s = self.server
        if raw.startswith("/uv/") and s.uv_dir:
            p = confined(s.uv_dir, raw[4:])
            return p and (p, TYPES.get(os.path.splitext(p)[1].lower(), "application/octet-stream"))
        m = re.match(r"^/iiif/([^/]+)/res/([^/]+)$", raw)
        if m and s.media_root:
            fid, name = urllib.parse.unquote(m.group(1)), urllib.parse.unquote(m.group(2))
            if "/" in name or name.startswith(".") or any(seg.startswith((".", "_")) for seg in fid.split("/")):
                return None
            folder = "" if fid == "top" else fid
            p = confined(s.media_root, os.path.join(folder, name))
            return p and (p, TYPES.get(os.path.splitext(p)[1].lower(), "application/octet-stream"))
        if raw.startswith("/iiif/") and s.json_dir:
            p = confined(s.json_dir, raw[1:])
            return p and (p, PRESENTATION3)
        return None

    def answer(self, head):
        found = self.resolve()
        if not found:
            return self.fail(404, "not found")
        path, ctype = found
        size = os.path.getsize(path)
        start, end, code = 0, size - 1, 200
        rng = self.headers.get("Range")
        if rng and not head:
            m = re.match(r"^bytes=(\d*)-(\d*)$", rng.strip())
            if not m or (m.group(1) == "" and m.group(2) == ""):
                pass   # not one simple range: ignore it, send the whole file (RFC 9110 §14.2)
            else:
                if m.group(1) == "":
                    n = int(m.group(2))
                    start = max(0, size - n)
                else:
                    start = int(m.group(1))
                    end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
                if start >= size or start > end:
                    self.send_response(416)
                    self.cors()
                    self.send_header("Content-Range", "bytes */%d" % size)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                code = 206
        self.send_response(code)
        self.cors()
        self.send_header("Content-Type", ctype)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Last-Modified", email.utils.formatdate(os.path.getmtime(path), usegmt=True))
        if code == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        if head:
            return
        with open(path, "rb") as f:
            f.seek(start)
            left = end - start + 1
            try:
                while left > 0:
                    chunk = f.read(min(left, 1 << 16))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    left -= len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass   # the browser stopped reading (it often does for media)


class StaticServer:
    """start() -> base URL; stop().  json_dir / media_root None to not
    serve Presentation files (real routes: the daemon answers those)."""

    def __init__(self, uv_dir=None, json_dir=None, media_root=None):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.uv_dir, self.httpd.json_dir, self.httpd.media_root = uv_dir, json_dir, media_root
        self.httpd.log = []
        self.thread = None

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.httpd.server_address[1]

    @property
    def log(self):
        return self.httpd.log

    def start(self):
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self.base

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
