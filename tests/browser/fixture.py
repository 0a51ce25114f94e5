"""fixture.py - hand-made IIIF Presentation 3.0 files for the viewer tests.

Until the daemon's own Presentation routes are there, the viewer tests
(mirador.mjs, uv.mjs) read Manifests and Collections written by this file
and served as static files by static_server.py.  They follow the fixed URL
forms of URLS.md and docs/presentation.md section 5 (the parts the viewers
see), for a tree such as tools/sample-collection.py makes:

  {pres}/iiif/3/collection/top                 the root: sub-folders holding media, then loose files
  {pres}/iiif/3/collection/{fid}               a folder whose sub-folders hold media
  {pres}/iiif/3/{item}/manifest                an item folder, or a loose image file
  {pres}/iiif/{fid}/res/{file}                 media bytes (static_server.py answers these from ROOT)
  {image}/iiif/3/{iid}                         Image services: the real daemon's Image API

{pres} is where these files are served, {image} the daemon: the image
bodies, thumbnails and services are read from the daemon's own info.json
(its sizes and tiles), and durations and video sizes from ffprobe, so the
manifests say what the files really are.

write(root, out, pres, image) writes each resource as the file
out + its URL path, the path kept percent-encoded exactly as in the URL
("iiif/3/samples%2Fpages/manifest"); the server maps a request's raw path
to that file name without decoding it.

The one idea: only the rules the viewers exercise are coded here (the
painting priority Model > Video > Sound > Image > PDF, a PDF's rendering,
thumbnails from a sizes entry or the image beside a video, sidecar label,
summary, metadata and items order); anything else in a sidecar is ignored.
"""

import json
import os
import re
import subprocess
import urllib.parse
import urllib.request

CONTEXT3 = "http://iiif.io/api/presentation/3/context.json"

# extension -> (IIIF type, format): presentation.md section 1
TYPES = {
    "mp3": ("Sound", "audio/mpeg"), "m4a": ("Sound", "audio/mp4"), "ogg": ("Sound", "audio/ogg"),
    "oga": ("Sound", "audio/ogg"), "opus": ("Sound", "audio/ogg"), "wav": ("Sound", "audio/wav"),
    "flac": ("Sound", "audio/flac"),
    "mp4": ("Video", "video/mp4"), "m4v": ("Video", "video/mp4"), "webm": ("Video", "video/webm"),
    "ogv": ("Video", "video/ogg"),
    "pdf": ("Text", "application/pdf"),
    "glb": ("Model", "model/gltf-binary"), "gltf": ("Model", "model/gltf+json"),
}
IMAGE_EXT = ("tif", "tiff", "jp2", "jpg", "jpeg", "png")
PRIORITY = ("Model", "Video", "Sound", "Image", "Text")


def kind(name):
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext in IMAGE_EXT:
        return ("Image", "image/jpeg")
    return TYPES.get(ext)


def enc(rel):
    """A root-relative path as an identifier: every byte but RFC 3986
    unreserved percent-encoded, '/' as %2F."""
    return urllib.parse.quote(rel, safe="-._~")


def natural_key(name):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name.lower())]


def lang(s, language="none"):
    if isinstance(s, dict):
        return s
    return {language: [s]}


def visible(names):
    return [n for n in names if not n.startswith((".", "_"))]


class Writer:
    def __init__(self, root, out, pres, image):
        self.root, self.out = root, out
        self.pres, self.image = pres.rstrip("/"), image.rstrip("/")
        self._info = {}

    # ------------------------------------------------------------ measuring

    def info(self, rel):
        if rel not in self._info:
            url = "%s/iiif/3/%s/info.json" % (self.image, enc(rel))
            with urllib.request.urlopen(url, timeout=30) as r:
                self._info[rel] = json.loads(r.read())
        return self._info[rel]

    def probe(self, rel):
        out = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                              "format=duration:stream=codec_type,width,height", "-of", "json",
                              os.path.join(self.root, rel)], capture_output=True, check=True, timeout=30)
        j = json.loads(out.stdout)
        v = [s for s in j.get("streams", []) if s.get("codec_type") == "video"]
        return (round(float(j["format"]["duration"]), 3),
                v[0]["width"] if v else None, v[0]["height"] if v else None)

    # ------------------------------------------------------------- pictures

    def service3(self, rel, full=True):
        inf = self.info(rel)
        s = {"id": inf["id"], "type": "ImageService3", "profile": "level2"}
        if full:
            s.update({"width": inf["width"], "height": inf["height"]})
            for k in ("sizes", "tiles"):
                if k in inf:
                    s[k] = inf[k]
        return s

    def picture(self, rel, limit):
        """A concrete size from info.json's sizes: the largest whose longest
        side is <= limit, else the smallest."""
        inf = self.info(rel)
        sizes = sorted(inf.get("sizes") or [{"width": inf["width"], "height": inf["height"]}],
                       key=lambda s: s["width"])
        fit = [s for s in sizes if max(s["width"], s["height"]) <= limit]
        s = fit[-1] if fit else sizes[0]
        return {"id": "%s/full/%d,%d/0/default.jpg" % (inf["id"], s["width"], s["height"]),
                "type": "Image", "format": "image/jpeg", "width": s["width"], "height": s["height"]}

    def thumbnail(self, rel):
        t = self.picture(rel, 400)
        t["service"] = [self.service3(rel, full=False)]
        return [t]

    # ----------------------------------------------------------------- items

    def res_url(self, folder, name):
        return "%s/iiif/%s/res/%s" % (self.pres, enc(folder) if folder else "top", enc(name))

    def sidecar(self, folder):
        p = os.path.join(self.root, folder, "iiif.json")
        if os.path.isfile(p):
            with open(p, encoding="utf-8") as f:
                return json.load(f)
        return {}

    def media_files(self, folder):
        d = os.path.join(self.root, folder)
        return sorted((n for n in visible(os.listdir(d))
                       if os.path.isfile(os.path.join(d, n)) and kind(n)), key=natural_key)

    def holds_media(self, folder):
        d = os.path.join(self.root, folder)
        for n in visible(os.listdir(d)):
            p = os.path.join(d, n)
            if os.path.isdir(p) and self.holds_media(os.path.join(folder, n)) or os.path.isfile(p) and kind(n):
                return True
        return False

    def sub_folders(self, folder):
        d = os.path.join(self.root, folder)
        return sorted((n for n in visible(os.listdir(d))
                       if os.path.isdir(os.path.join(d, n)) and self.holds_media(os.path.join(folder, n))),
                      key=natural_key)

    def is_collection(self, folder):
        return folder == "" or bool(self.sub_folders(folder)) or self.sidecar(folder).get("type") == "Collection"

    def manifest(self, folder, only=None):
        """The Manifest of an item folder, or of the single file `only` in it."""
        sc = {} if only else self.sidecar(folder)
        language = sc.get("language", "none")
        files = [only] if only else self.media_files(folder)
        item = enc(os.path.join(folder, only) if only else folder)
        base = "%s/iiif/3/%s" % (self.pres, item)
        painted = next(t for t in PRIORITY if any(kind(f)[0] == t for f in files))
        order = []
        for e in sc.get("items", []):
            f = e if isinstance(e, str) else e["file"]
            if f in files and kind(f)[0] == painted:
                order.append((f, {} if isinstance(e, str) else e))
        order += [(f, {}) for f in files if kind(f)[0] == painted and f not in [o for o, _ in order]]
        canvases, rendering, first_picture = [], [], None
        for n, (f, extra) in enumerate(order, 1):
            rel = os.path.join(folder, f)
            t, fmt = kind(f)
            cid = "%s/canvas/p%d" % (base, n)
            cv = {"id": cid, "type": "Canvas",
                  "label": lang(extra.get("label", os.path.splitext(f)[0]), language)}
            thumb_rel = None
            if t == "Image":
                inf = self.info(rel)
                cv["height"], cv["width"] = inf["height"], inf["width"]
                body = self.picture(rel, 1024)
                body["service"] = [self.service3(rel),
                                   {"@id": "%s/iiif/2/%s" % (self.image, enc(rel)), "@type": "ImageService2",
                                    "profile": "http://iiif.io/api/image/2/level2.json"}]
                thumb_rel = rel
            else:
                body = {"id": self.res_url(folder, f), "type": t, "format": fmt}
                if t in ("Sound", "Video"):
                    dur, w, h = self.probe(rel)
                    if t == "Video":
                        cv["height"], cv["width"] = h, w
                        body.update({"height": h, "width": w})
                    cv["duration"] = body["duration"] = dur
                stem = os.path.splitext(f)[0]
                beside = [g for g in self.media_files(folder)
                          if os.path.splitext(g)[0] == stem and kind(g)[0] == "Image"]
                thumb_rel = os.path.join(folder, beside[0]) if beside else None
                if t == "Text":
                    rendering.append({"id": body["id"], "type": "Text",
                                      "label": lang(extra.get("label", f), language), "format": fmt})
            if thumb_rel:
                cv["thumbnail"] = self.thumbnail(thumb_rel)
                first_picture = first_picture or thumb_rel
            cv["items"] = [{"id": "%s/page/p%d/1" % (base, n), "type": "AnnotationPage", "items": [
                {"id": "%s/annotation/p%d-image" % (base, n), "type": "Annotation",
                 "motivation": "painting", "body": body, "target": cid}]}]
            canvases.append(cv)
        for f in files:   # what is not painted: PDFs become renderings
            if kind(f)[0] == "Text" and painted != "Text":
                rendering.append({"id": self.res_url(folder, f), "type": "Text",
                                  "label": lang(f, language), "format": "application/pdf"})
        m = {"@context": CONTEXT3, "id": base + "/manifest", "type": "Manifest",
             "label": lang(sc.get("label", only or os.path.basename(folder) or "top"), language)}
        if sc.get("metadata"):
            m["metadata"] = [{"label": lang(e["label"], language), "value": lang(e["value"], language)}
                             for e in sc["metadata"]]
        if sc.get("summary"):
            m["summary"] = lang(sc["summary"], language)
        if first_picture:
            m["thumbnail"] = self.thumbnail(first_picture)
        m["items"] = canvases
        if rendering:
            m["rendering"] = rendering
        self.put("iiif/3/%s/manifest" % item, m)
        member = {"id": m["id"], "type": "Manifest", "label": m["label"]}
        if first_picture:
            member["thumbnail"] = m["thumbnail"]
        return member

    def collection(self, folder):
        sc = self.sidecar(folder)
        language = sc.get("language", "none")
        cid = "%s/iiif/3/collection/%s" % (self.pres, enc(folder) if folder else "top")
        members = {}
        for n in self.sub_folders(folder):
            sub = os.path.join(folder, n)
            members[n] = self.collection(sub) if self.is_collection(sub) else self.manifest(sub)
        loose = [(n, self.manifest(folder, only=n)) for n in self.media_files(folder)]
        named = [n for n in sc.get("items", []) if n in members]
        items = [members[n] for n in named] + [members[n] for n in members if n not in named]
        items += [m for _, m in loose]
        c = {"@context": CONTEXT3, "id": cid, "type": "Collection",
             "label": lang(sc.get("label", os.path.basename(folder) or "top"), language)}
        if sc.get("summary"):
            c["summary"] = lang(sc["summary"], language)
        if sc.get("metadata"):
            c["metadata"] = [{"label": lang(e["label"], language), "value": lang(e["value"], language)}
                             for e in sc["metadata"]]
        thumbs = [m["thumbnail"] for m in items if "thumbnail" in m]
        if thumbs:
            c["thumbnail"] = thumbs[0]
        c["items"] = items
        self.put("iiif/3/collection/%s" % (enc(folder) if folder else "top"), c)
        member = {"id": cid, "type": "Collection", "label": c["label"]}
        if thumbs:
            member["thumbnail"] = thumbs[0]
        return member

    def put(self, path, obj):
        p = os.path.join(self.out, path)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=1, ensure_ascii=False)


def write(root, out, pres, image):
    """Write the whole tree's Collections and Manifests under out."""
    Writer(root, out, pres, image).collection("")
