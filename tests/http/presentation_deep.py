"""presentation_deep.py - what only the network can show (deep_v3, deep_v2).

Through a fetch(url, method) callback and under a base URL only: every
referenced id dereferences with 200, a Manifest's id is the URL it came
from, a body's format is the Content-Type its URL serves, image bodies
and thumbnails (3.0 and 2.1) answer 200 with the pixel size they claim
(PIL), a canvas is the size of its image's info.json, thumbnails and
bodies are concrete sizes the service lists (or, when it lists none that
small, the image scaled to 400 / 1024),
and a time-based canvas lasts what ffprobe says its file lasts.
"""

import io
import json
import re
import subprocess
import tempfile

from presentation_rules import Problem, strip_fragment


# ==========================================================================
# deep checks: the network and the bytes

def ffprobe_duration(data):
    """Duration in seconds of media bytes, by ffprobe (format duration)."""
    with tempfile.NamedTemporaryFile(suffix=".media") as f:
        f.write(data)
        f.flush()
        r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                            "-of", "default=nw=1:nk=1", f.name], capture_output=True, timeout=60)
    try:
        return float(r.stdout.decode().strip().splitlines()[0])
    except (ValueError, IndexError):
        return None


def image_size(data):
    from PIL import Image
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return im.size


class Deep:
    """Dereferences through fetch(url, method) -> response with .status,
    .header(name) and .body.  Only URLs under base are fetched (others are
    outside the server and outside the test).  GETs are cached by URL."""

    def __init__(self, fetch, base, probe=ffprobe_duration):
        self.fetch = fetch
        self.base = base.rstrip("/")
        self.probe = probe
        self._get = {}
        self.p = []

    def err(self, path, msg):
        self.p.append(Problem(path, msg))

    def local(self, u):
        return isinstance(u, str) and (u == self.base or u.startswith(self.base + "/"))

    def get(self, u):
        if u not in self._get:
            try:
                self._get[u] = self.fetch(u, "GET")
            except Exception as e:        # a hang or a reset is a problem, not a crash of the checker
                self._get[u] = e
        return self._get[u]

    def ok(self, u, path, what):
        """GET u (fragment dropped) and require 200; returns the response or None."""
        if not self.local(u):
            return None
        r = self.get(strip_fragment(u))
        if isinstance(r, Exception):
            self.err(path, "%s %s: no answer (%s)" % (what, u, r))
            return None
        if r.status != 200:
            self.err(path, "%s %s answers %d, not 200" % (what, u, r.status))
            return None
        return r

    def json_of(self, u, path, what):
        r = self.ok(u, path, what)
        if r is None:
            return None
        try:
            return json.loads(r.body)
        except ValueError as e:
            self.err(path, "%s %s is not JSON (%s)" % (what, u, e))
            return None

    def info(self, service, path):
        sid = service.get("id", service.get("@id"))
        return self.json_of(sid.rstrip("/") + "/info.json", path, "info.json of")

    def served_type(self, u, path):
        """The media type u is served with: HEAD first, GET when HEAD fails."""
        try:
            r = self.fetch(u, "HEAD")
        except Exception:
            r = None
        if r is None or r.status != 200:
            r = self.get(u)
            if isinstance(r, Exception) or r.status != 200:
                return None
        return (r.header("Content-Type") or "").split(";")[0].strip().lower()


def _walk(o, path="$"):
    """Every JSON object in o with its path."""
    if isinstance(o, dict):
        yield o, path
        for k, v in o.items():
            for x in _walk(v, "%s.%s" % (path, k)):
                yield x
    elif isinstance(o, list):
        for i, v in enumerate(o):
            for x in _walk(v, "%s[%d]" % (path, i)):
                yield x


def _image_services(body):
    out = []
    for s in body.get("service", []) if isinstance(body.get("service"), list) else []:
        if isinstance(s, dict) and s.get("type", s.get("@type")) in ("ImageService3", "ImageService2"):
            out.append(s)
    return out


def _concrete_size(u):
    """(w, h) of an Image API URL .../full/{w},{h}/0/default.jpg, else None."""
    m = re.search(r"/full/(\d+),(\d+)/0/default\.(jpg|png|webp)$", u or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def _sizes(info):
    return [(s.get("width"), s.get("height")) for s in info.get("sizes", []) if isinstance(s, dict)]


# URLS.md: bodies and thumbnails are sizes entries of longest side <= 1024
# and <= 400.  An image whose info.json lists no entry that small and that
# the server makes within its decode budget (an unpyramided image lists only
# its full size; a huge one lists only a "max" it cannot decode) gets the
# image scaled to that longest side instead: a size the server makes, not
# the whole picture downloaded for every thumbnail.  So a thumbnail or body
# is a listed size or, when no listed size is at most the side, the image
# scaled (aspect ratio kept to a pixel) to at most it.
THUMB_SIDE = 400
BODY_SIDE = 1024


def _listed_or_scaled(info, size, side):
    sizes = _sizes(info)
    iw, ih = info.get("width"), info.get("height")
    if size in sizes or size == (iw, ih):
        return True
    if any(isinstance(w, int) and isinstance(h, int) and max(w, h) <= side and (w, h) != size
           for w, h in sizes) or max(size) > side:
        return False
    if not (isinstance(iw, int) and isinstance(ih, int) and iw > 0 and ih > 0):
        return False
    # the longest side scaled to `side` (or the image when smaller), the
    # other side within a pixel of the aspect ratio
    if iw >= ih:
        return size[0] == min(side, iw) and abs(size[1] - ih * size[0] / iw) <= 1
    return size[1] == min(side, ih) and abs(size[0] - iw * size[1] / ih) <= 1


def deep_v3(doc, url, fetch, base, probe=ffprobe_duration, media_tol=0.1):
    """Problems only the network can show, for a 3.0 document fetched from url."""
    d = Deep(fetch, base, probe)
    if not isinstance(doc, dict):
        return [Problem("$", "not a JSON object")]
    t = doc.get("type")
    if t in ("Manifest", "Collection") and doc.get("id") != url:
        d.err("$.id", "id %r is not the URL it was fetched from, %r (§3.2 id)" % (doc.get("id"), url))
    if t == "Collection":
        for i, m in enumerate(doc.get("items", []) if isinstance(doc.get("items"), list) else []):
            if isinstance(m, dict):
                mp = "$.items[%d]" % i
                sub = d.json_of(m.get("id"), mp, "member")
                if sub is not None:
                    if sub.get("type") != m.get("type"):
                        d.err(mp, "member %s is a %r, listed as %r" % (m.get("id"), sub.get("type"), m.get("type")))
                    if "label" in sub and sub.get("label") != m.get("label"):
                        d.err(mp + ".label", "member label %r differs from its own %r (a viewer shows one in "
                              "the list, the other once opened)" % (m.get("label"), sub.get("label")))
        _thumbs(d, doc, "$")
        for i, m in enumerate(doc.get("items", []) if isinstance(doc.get("items"), list) else []):
            if isinstance(m, dict):
                _thumbs(d, m, "$.items[%d]" % i)
        return d.p
    # resources to dereference: every referenced one (§1.2: an object
    # without its items must be fetched), and the Canvases with their
    # painting pages and annotations, which the server publishes alone
    for o, p in _walk(doc):
        ot = o.get("type")
        if ot == "Range" and "id" in o:
            d.ok(o["id"], p, "Range")
        if ot not in ("Canvas", "AnnotationPage", "Annotation") or "id" not in o or p == "$" \
                or p.endswith(".start") or ".structures" in p:
            continue
        painting = re.match(r"^\$(\.items\[\d+\])?(\.items\[\d+\]){0,2}$", p) is not None
        referenced = ot == "AnnotationPage" and "items" not in o
        if painting or referenced:
            sub = d.json_of(o["id"], p, ot)
            if sub is not None and isinstance(sub, dict):
                if sub.get("id") != o["id"] or sub.get("type") != ot:
                    d.err(p, "%s %s dereferences to a %r with id %r" % (ot, o["id"], sub.get("type"), sub.get("id")))
                elif "@context" not in sub:
                    d.err(p, "%s %s dereferenced has no @context" % (ot, o["id"]))
    canvases = doc.get("items", []) if t == "Manifest" else [doc] if t == "Canvas" else []
    for ci, c in enumerate(canvases):
        if not isinstance(c, dict):
            continue
        cp = "$.items[%d]" % ci if t == "Manifest" else "$"
        for pi, page in enumerate(c.get("items", []) if isinstance(c.get("items"), list) else []):
            for ai, ann in enumerate(page.get("items", []) if isinstance(page, dict) else []):
                if not isinstance(ann, dict) or not isinstance(ann.get("body"), dict):
                    continue
                bp = "%s.items[%d].items[%d].body" % (cp, pi, ai)
                _body(d, ann["body"], bp, c, cp, media_tol)
        _thumbs(d, c, cp)
        for k in ("seeAlso", "rendering"):
            for i, x in enumerate(c.get(k, []) if isinstance(c.get(k), list) else []):
                if isinstance(x, dict):
                    _linked(d, x, "%s.%s[%d]" % (cp, k, i))
    for i, pr in enumerate(doc.get("provider", []) if isinstance(doc.get("provider"), list) else []):
        for j, lg in enumerate(pr.get("logo", []) if isinstance(pr, dict) and isinstance(pr.get("logo"), list) else []):
            if isinstance(lg, dict):
                _linked(d, lg, "$.provider[%d].logo[%d]" % (i, j))
    if t == "Manifest":
        _thumbs(d, doc, "$")
        for k in ("seeAlso", "rendering"):
            for i, x in enumerate(doc.get(k, []) if isinstance(doc.get(k), list) else []):
                if isinstance(x, dict):
                    _linked(d, x, "$.%s[%d]" % (k, i))
    return _unique(d.p)


def _unique(problems):
    seen = set()
    out = []
    for p in problems:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


def _linked(d, x, path):
    u = x.get("id")
    if not d.local(u):
        return
    if d.ok(u, path, "linked resource") is None:
        return
    fmt = x.get("format")
    if fmt:
        got = d.served_type(u, path)
        if got is not None and got != fmt.lower():
            d.err(path + ".format", "format %r but %s is served as %r" % (fmt, u, got))


def _thumbs(d, o, path):
    for i, th in enumerate(o.get("thumbnail", []) if isinstance(o.get("thumbnail"), list) else []):
        if not isinstance(th, dict):
            continue
        tp = "%s.thumbnail[%d]" % (path, i)
        u = th.get("id")
        if not d.local(u):
            continue
        r = d.ok(u, tp, "thumbnail")
        if r is None:
            continue
        size = _concrete_size(u)
        if th.get("type") == "Image":
            if size is None:
                d.err(tp + ".id", "thumbnail %s is not a concrete {w},{h} size" % u)
            try:
                got = image_size(r.body)
            except Exception as e:
                d.err(tp, "thumbnail %s does not decode (%s)" % (u, e))
                continue
            if size and got != size:
                d.err(tp, "thumbnail %s is %dx%d, its URL asks %dx%d" % (u, got[0], got[1], size[0], size[1]))
            if "width" in th and (th.get("width"), th.get("height")) != got:
                d.err(tp, "thumbnail says %sx%s, %s is %dx%d" % (th.get("width"), th.get("height"), u, got[0], got[1]))
            for s in _image_services(th):
                info = d.info(s, tp)
                if info is not None and size and not _listed_or_scaled(info, size, THUMB_SIDE):
                    d.err(tp + ".id", "thumbnail size %dx%d is neither a sizes entry of %s nor the image "
                          "scaled to at most %d (when no entry that small is listed)"
                          % (size + (s.get("id", s.get("@id")), THUMB_SIDE)))
        fmt = th.get("format")
        if fmt:
            got = (r.header("Content-Type") or "").split(";")[0].strip().lower()
            if got != fmt.lower():
                d.err(tp + ".format", "format %r but %s is served as %r" % (fmt, u, got))


def _body(d, b, bp, canvas, cp, media_tol):
    u = b.get("id")
    if not d.local(u):
        return
    bt = b.get("type")
    fmt = b.get("format")
    if bt == "Image":
        r = d.ok(u, bp, "image body")
        if r is None:
            return
        try:
            got = image_size(r.body)
        except Exception as e:
            d.err(bp, "image body %s does not decode (%s)" % (u, e))
            return
        if "width" in b and (b.get("width"), b.get("height")) != got:
            d.err(bp, "body says %sx%s, %s is %dx%d" % (b.get("width"), b.get("height"), u, got[0], got[1]))
        ctype = (r.header("Content-Type") or "").split(";")[0].strip().lower()
        if fmt and ctype != fmt.lower():
            d.err(bp + ".format", "format %r but %s is served as %r" % (fmt, u, ctype))
        svcs = _image_services(b)
        for si, s in enumerate(svcs):
            info = d.info(s, "%s.service[%d]" % (bp, si))
            if info is None:
                continue
            iw, ih = info.get("width"), info.get("height")
            if (canvas.get("width"), canvas.get("height")) != (iw, ih):
                d.err(cp, "Canvas is %sx%s, the image painted on it is %sx%s (info.json)" % (
                    canvas.get("width"), canvas.get("height"), iw, ih))
            for k in ("width", "height"):
                if k in s and s[k] != info.get(k):
                    d.err("%s.service[%d].%s" % (bp, si, k), "service %s %s, info.json says %s" % (k, s[k], info.get(k)))
            size = _concrete_size(u)
            if size and not _listed_or_scaled(info, size, BODY_SIDE):
                d.err(bp + ".id", "body size %dx%d is neither a sizes entry of the service nor the image "
                      "scaled to at most %d" % (size + (BODY_SIDE,)))
        return
    # media bodies: Content-Type and duration
    r = d.ok(u, bp, "%s body" % bt)
    if r is None:
        return
    ctype = (r.header("Content-Type") or "").split(";")[0].strip().lower()
    if fmt and ctype != fmt.lower():
        d.err(bp + ".format", "format %r but %s is served as %r" % (fmt, u, ctype))
    try:
        h = d.fetch(u, "HEAD")
        hct = (h.header("Content-Type") or "").split(";")[0].strip().lower()
        if h.status != 200:
            d.err(bp, "HEAD %s answers %d" % (u, h.status))
        elif fmt and hct != fmt.lower():
            d.err(bp + ".format", "format %r but HEAD %s says %r" % (fmt, u, hct))
    except Exception as e:
        d.err(bp, "HEAD %s: no answer (%s)" % (u, e))
    if bt in ("Sound", "Video") and d.probe:
        dur = d.probe(r.body)
        if dur is None:
            d.err(bp, "ffprobe cannot read a duration from %s" % u)
        else:
            cd = canvas.get("duration")
            if not isinstance(cd, (int, float)) or abs(cd - dur) > media_tol:
                d.err(cp + ".duration", "Canvas duration %r, the file lasts %.3f s (ffprobe)" % (cd, dur))
            if "duration" in b and isinstance(b["duration"], (int, float)) and abs(b["duration"] - dur) > media_tol:
                d.err(bp + ".duration", "body duration %r, the file lasts %.3f s" % (b["duration"], dur))


def _thumbs2(d, o, path):
    """2.1 §5 thumbnail: one object or a list; each answers 200 at the
    size it claims, a listed or scaled size of its service."""
    th = o.get("thumbnail")
    for i, t in enumerate(th if isinstance(th, list) else [th] if isinstance(th, dict) else []):
        if not isinstance(t, dict):
            continue
        tp = "%s.thumbnail[%d]" % (path, i)
        u = t.get("@id")
        r = d.ok(u, tp, "thumbnail")
        if r is None:
            continue
        try:
            got = image_size(r.body)
        except Exception as e:
            d.err(tp, "thumbnail %s does not decode (%s)" % (u, e))
            continue
        size = _concrete_size(u)
        if size and got != size:
            d.err(tp, "thumbnail %s is %dx%d, its URL asks %dx%d" % (u, got[0], got[1], size[0], size[1]))
        if "width" in t and (t.get("width"), t.get("height")) != got:
            d.err(tp, "thumbnail says %sx%s, %s is %dx%d" % (t.get("width"), t.get("height"), u, got[0], got[1]))
        sv = t.get("service")
        for s2 in (sv if isinstance(sv, list) else [sv] if isinstance(sv, dict) else []):
            if not isinstance(s2, dict) or not s2.get("@id"):
                continue
            info = d.json_of(s2["@id"].rstrip("/") + "/info.json", tp + ".service", "info.json of")
            if info is not None and size and not _listed_or_scaled(info, size, THUMB_SIDE):
                d.err(tp + ".@id", "thumbnail size %dx%d is neither a sizes entry of %s nor the image "
                      "scaled to at most %d" % (size + (s2["@id"], THUMB_SIDE)))


def deep_v2(doc, url, fetch, base):
    """Problems only the network can show, for a 2.1 document fetched from url."""
    d = Deep(fetch, base, None)
    if not isinstance(doc, dict):
        return [Problem("$", "not a JSON object")]
    if doc.get("@type") in ("sc:Manifest", "sc:Collection") and doc.get("@id") != url:
        d.err("$.@id", "@id %r is not the URL it was fetched from, %r" % (doc.get("@id"), url))
    _thumbs2(d, doc, "$")
    if doc.get("@type") == "sc:Collection":
        for k in ("collections", "manifests", "members"):
            for i, m in enumerate(doc.get(k, []) if isinstance(doc.get(k), list) else []):
                if isinstance(m, dict):
                    d.json_of(m.get("@id"), "$.%s[%d]" % (k, i), "member")
                    _thumbs2(d, m, "$.%s[%d]" % (k, i))
        return d.p
    for si, s in enumerate(doc.get("sequences", []) if isinstance(doc.get("sequences"), list) else []):
        for ci, c in enumerate(s.get("canvases", []) if isinstance(s, dict) else []):
            if not isinstance(c, dict):
                continue
            cp = "$.sequences[%d].canvases[%d]" % (si, ci)
            _thumbs2(d, c, cp)
            sub = d.json_of(c.get("@id"), cp, "canvas")
            if sub is not None and sub.get("@id") != c.get("@id"):
                d.err(cp, "canvas %s dereferences to @id %r" % (c.get("@id"), sub.get("@id")))
            for ai, a in enumerate(c.get("images", []) if isinstance(c.get("images"), list) else []):
                r = a.get("resource") if isinstance(a, dict) else None
                if not isinstance(r, dict):
                    continue
                rp = "%s.images[%d].resource" % (cp, ai)
                resp = d.ok(r.get("@id"), rp, "image resource")
                if resp is not None:
                    try:
                        got = image_size(resp.body)
                        if "width" in r and (r.get("width"), r.get("height")) != got:
                            d.err(rp, "resource says %sx%s, it is %dx%d" % (r.get("width"), r.get("height"), got[0], got[1]))
                    except Exception as e:
                        d.err(rp, "image resource does not decode (%s)" % e)
                sv = r.get("service")
                for s2 in (sv if isinstance(sv, list) else [sv] if isinstance(sv, dict) else []):
                    info = d.json_of(s2.get("@id", "").rstrip("/") + "/info.json", rp + ".service", "info.json of")
                    if info is not None and c.get("images") and r.get("@type") == "dctypes:Image" \
                            and a is c["images"][0] and (c.get("width"), c.get("height")) != (info.get("width"), info.get("height")):
                        d.err(cp, "canvas is %sx%s, the image is %sx%s (info.json)" % (
                            c.get("width"), c.get("height"), info.get("width"), info.get("height")))
    for mi, ms in enumerate(doc.get("mediaSequences", []) if isinstance(doc.get("mediaSequences"), list) else []):
        for ei, e in enumerate(ms.get("elements", []) if isinstance(ms, dict) else []):
            if isinstance(e, dict):
                ep = "$.mediaSequences[%d].elements[%d]" % (mi, ei)
                if d.ok(e.get("@id"), ep, "media element") is not None and e.get("format"):
                    got = d.served_type(e["@id"], ep)
                    if got is not None and got != e["format"].lower():
                        d.err(ep + ".format", "format %r but served as %r" % (e["format"], got))
    return d.p
