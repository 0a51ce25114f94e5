"""presentation_tree.py - the folder trees the Presentation tests publish.

build(root) writes a clean tree with every case presentation.md names and
returns a Tree: what each folder must become (collections and their
members in order, manifests with their canvases: type, size after EXIF
orientation, duration measured by ffprobe, labels, renderings, seeAlso,
thumbnails, ranges), so the tests compare the server's JSON with facts
measured here, not with numbers typed into the tests.

    ROOT/                         top Collection (iiif.json: label)
      documents/report/report.pdf       PDF-only item -> one Text canvas
      golden/g1.png g2.png iiif.json    fully deterministic item (golden file)
      letters/                          Collection with metadata.csv
        metadata.csv                    UTF-8, quoted commas, Title@fr, a|b values
        1871-04-02/                     item: p1.jpg p2.jpg (EXIF 6) p10.jpg,
          p1.xml (ALTO), letter.pdf,    a full iiif.json (items order, structures
          _logo.png, .hidden.jpg        with nested Ranges and #xywh=)
        1871-05-01/                     item: p1.png p2.png p10.png (natural order)
      models/vase/vase.glb              Model item (a tiny valid GLB written here)
      named/été 1871/page 1.jpg page+2.jpg   names to percent-encode (UTF-8, space, plus)
      recordings/
        interview/side-a.ogg side-b.mp3 + iiif.json (a #t= Range)   Sound item
        clip/clip.mp4 clip.webm clip.jpg clip.vtt                   Video item
      single/only.jpg                   a folder holding one image
      loose.jpg loose.mp3               loose files in the root

build_hostile(root) writes the trees meant to hurt, each in its own folder
so one refusal never hides another: bad JSON, bad UTF-8, a rights that is
not a URI, an items entry with "..", a folder and a file symlinked out of
the root, a 100,000-entry folder (hard links to one tiny JPEG), truncated
MP4 / Ogg / WebM, and a WebM whose header claims 10^18 seconds.

The one idea: the tree is made by code from known inputs and then measured
(PIL for pixel sizes after orientation, ffprobe for durations); the
expectations are those measurements.
"""

import json
import os
import shutil
import struct
import subprocess
import zlib

import numpy as np
from PIL import Image

import images

FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
FFPROBE = shutil.which("ffprobe") or "/usr/bin/ffprobe"

BIG_ENTRIES = 100000


def pct(path):
    """A root-relative path as a URL identifier: '/' as %2F, RFC 3986
    unreserved bytes and the sub-delims the image list keeps (!$&'()*+,;=:)
    kept, every other byte percent-encoded.  Tests compare URLs decoded
    (same_url), so either spelling of a sub-delim is accepted."""
    out = []
    for b in path.encode("utf-8"):
        c = chr(b)
        if c.isalnum() and b < 128 or c in "-._~!$&'()*+,;=:":
            out.append(c)
        else:
            out.append("%%%02X" % b)
    return "".join(out)


class CanvasExp:
    def __init__(self, file, kind, label, width=None, height=None, duration=None,
                 thumbnail=False, see_also=(), fmt=None):
        self.file = file              # root-relative path of the painted file
        self.kind = kind              # Image, Sound, Video, Text, Model
        self.label = label            # expected language map
        self.width = width
        self.height = height
        self.duration = duration      # ffprobe's, seconds
        self.thumbnail = thumbnail    # a thumbnail must be present
        self.see_also = list(see_also)  # root-relative files expected in seeAlso
        self.format = fmt

    def __repr__(self):
        return "<%s %s %sx%s %ss>" % (self.kind, self.file, self.width, self.height, self.duration)


class ManifestExp:
    def __init__(self, item, folder, label, canvases, rendering=(), behavior=None, nav_date=None,
                 rights=None, ranges=None, metadata=None, summary=None, start=None, extra=None):
        self.item = item              # the {item} identifier in URLs
        self.folder = folder          # root-relative folder of the files (fid for res URLs)
        self.label = label
        self.canvases = canvases
        self.rendering = list(rendering)
        self.behavior = behavior
        self.nav_date = nav_date
        self.rights = rights
        self.ranges = ranges          # nested [(label, [children])] or canvas refs, or None
        self.metadata = metadata or {}  # header text -> expected value language map
        self.summary = summary
        self.start = start            # index of the start canvas
        self.extra = extra or {}      # sidecar facts: provider, homepage, requiredStatement...


class CollectionExp:
    def __init__(self, fid, label, members):
        self.fid = fid                # "top" or the folder's identifier
        self.label = label
        self.members = members        # [(type, identifier)] in order


class Tree:
    def __init__(self, root):
        self.root = root
        self.manifests = {}           # item -> ManifestExp
        self.collections = {}         # fid -> CollectionExp

    def res(self, base, rel):
        """The media URL of a root-relative file."""
        folder, _, name = rel.rpartition("/")
        return "%s/iiif/%s/res/%s" % (base, pct(folder) if folder else "top", pct(name))


# --------------------------------------------------------------------------
# file makers

def _run(argv):
    r = subprocess.run(argv, capture_output=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(argv[:3]), r.stderr.decode(errors="replace")[-400:]))
    return r


def ffprobe(path):
    """(duration s, width, height) from ffprobe's format and first video stream."""
    r = _run([FFPROBE, "-v", "error", "-show_entries", "format=duration:stream=codec_type,width,height",
              "-of", "json", path])
    info = json.loads(r.stdout)
    dur = float(info["format"]["duration"])
    w = h = None
    for s in info.get("streams", []):
        if s.get("codec_type") == "video":
            w, h = s.get("width"), s.get("height")
            break
    return dur, w, h


def make_sound(path, seconds, freq):
    ext = path.rsplit(".", 1)[1]
    codec = {"ogg": ["-c:a", "libvorbis"], "mp3": ["-c:a", "libmp3lame", "-b:a", "64k"],
             "wav": ["-c:a", "pcm_s16le"]}[ext]
    _run([FFMPEG, "-y", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=%d:duration=%s:sample_rate=44100" % (freq, seconds)]
         + codec + [path])


def make_video(path, seconds, w, h):
    ext = path.rsplit(".", 1)[1]
    codec = {"mp4": ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "ultrafast"],
             "webm": ["-c:v", "libvpx", "-b:v", "200k", "-deadline", "realtime"]}[ext]
    _run([FFMPEG, "-y", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=%dx%d:rate=25:duration=%s" % (w, h, seconds)]
         + codec + [path])


def save_pattern(path, w, h, fmt="JPEG", orientation=1):
    """A block-pattern image whose *displayed* size is w x h (stored
    rotated for EXIF orientation 6/8).  Returns the displayed size."""
    disp = images.Pattern(w, h).array()
    stored = images.stored_for_orientation(disp, orientation) if orientation != 1 else disp
    im = Image.fromarray(stored)
    if fmt == "JPEG":
        kw = dict(quality=90)
        if orientation != 1:
            kw["exif"] = images.exif_orientation(orientation)
        im.save(path, "JPEG", **kw)
    else:
        im.save(path, fmt)
    with Image.open(path) as chk:
        sw, sh = chk.size
        o = chk.getexif().get(0x0112, 1)
    return (sh, sw) if o in (5, 6, 7, 8) else (sw, sh)


def write_png_stored(path, w, h, seed):
    """A PNG written byte for byte here (zlib stored blocks, no compressor
    involved), so the file is identical on every machine."""
    rows = bytearray()
    for y in range(h):
        rows.append(0)
        for x in range(w):
            rows += bytes(((x * 7 + seed * 40) & 255, (y * 5 + seed * 80) & 255, ((x ^ y) * 3) & 255))
    raw = bytes(rows)
    # stored deflate blocks (RFC 1951 §3.2.4): at most 65535 bytes each
    blocks = bytearray()
    for i in range(0, len(raw), 65535):
        chunk = raw[i:i + 65535]
        final = 1 if i + 65535 >= len(raw) else 0
        blocks += bytes([final]) + struct.pack("<HH", len(chunk), len(chunk) ^ 0xFFFF) + chunk
    z = b"\x78\x01" + bytes(blocks) + struct.pack(">I", zlib.adler32(raw) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(images.png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)))
        f.write(images.png_chunk(b"IDAT", z))
        f.write(images.png_chunk(b"IEND", b""))
    return w, h


def write_pdf(path, title="Tessera test"):
    """A minimal one-page PDF 1.4 with a correct xref table."""
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        None,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    text = ("BT /F1 12 Tf 20 50 Td (%s) Tj ET" % title).encode("latin-1")
    objs[3] = b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream"
    out = bytearray(b"%PDF-1.4\n")
    offs = []
    for i, o in enumerate(objs):
        offs.append(len(out))
        out += b"%d 0 obj\n" % (i + 1) + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offs:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    with open(path, "wb") as f:
        f.write(out)


def write_glb(path):
    """A tiny valid binary glTF 2.0: one triangle (glTF 2.0 spec §4.4:
    12-byte header, a JSON chunk padded with spaces, a BIN chunk padded
    with zeros, every chunk 4-byte aligned)."""
    verts = struct.pack("<9f", 0, 0, 0, 1, 0, 0, 0, 1, 0)
    gltf = {
        "asset": {"version": "2.0", "generator": "tessera tests"},
        "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
        "buffers": [{"byteLength": len(verts)}],
        "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": len(verts), "target": 34962}],
        "accessors": [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3",
                       "min": [0, 0, 0], "max": [1, 1, 0]}],
    }
    js = json.dumps(gltf, separators=(",", ":")).encode()
    js += b" " * (-len(js) % 4)
    binp = verts + b"\0" * (-len(verts) % 4)
    total = 12 + 8 + len(js) + 8 + len(binp)
    with open(path, "wb") as f:
        f.write(struct.pack("<4sII", b"glTF", 2, total))
        f.write(struct.pack("<I4s", len(js), b"JSON") + js)
        f.write(struct.pack("<I4s", len(binp), b"BIN\0") + binp)


ALTO = """<?xml version="1.0" encoding="UTF-8"?>
<alto xmlns="http://www.loc.gov/standards/alto/ns-v4#">
  <Layout><Page ID="p1" WIDTH="600" HEIGHT="400" PHYSICAL_IMG_NR="1">
    <PrintSpace><TextBlock ID="b1"><TextLine><String CONTENT="Dear" HPOS="10" VPOS="10" WIDTH="60" HEIGHT="20"/></TextLine></TextBlock></PrintSpace>
  </Page></Layout>
</alto>
"""

VTT = "WEBVTT\n\n00:00.000 --> 00:01.000\nA test pattern.\n"


def _none(s):
    return {"none": [s]}


# --------------------------------------------------------------------------
# the clean tree

def build(root):
    os.makedirs(root, exist_ok=True)
    t = Tree(root)

    def p(*parts):
        path = os.path.join(root, *parts)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return path

    def wjson(path, obj):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, indent=1)

    # ---- root sidecar
    wjson(p("iiif.json"), {"label": "Tessera test root", "language": "en"})

    # ---- letters/1871-04-02: three JPEGs, one EXIF-rotated, ALTO, PDF, full sidecar
    L1 = "letters/1871-04-02"
    s1 = save_pattern(p(L1, "p1.jpg"), 600, 400)
    s2 = save_pattern(p(L1, "p2.jpg"), 300, 450, orientation=6)   # stored 450x300
    s10 = save_pattern(p(L1, "p10.jpg"), 500, 500)
    with open(p(L1, "p1.xml"), "w") as f:
        f.write(ALTO)
    write_pdf(p(L1, "letter.pdf"), "Letter of 2 April 1871")
    save_pattern(p(L1, "_logo.png"), 120, 100, fmt="PNG")
    save_pattern(p(L1, ".hidden.jpg"), 100, 100)
    with open(p(L1, "notes.txt"), "w") as f:
        f.write("not published\n")
    wjson(p(L1, "iiif.json"), {
        "label": "Letter of 2 April 1871",
        "summary": "<p>Two leaves and an envelope, <b>ink</b> on paper.</p>",
        "language": "en",
        "metadata": [
            {"label": "Creator", "value": "A. Writer"},
            {"label": {"en": ["Date"], "fr": ["Date"]}, "value": {"none": ["1871-04-02"]}},
        ],
        "rights": "http://creativecommons.org/licenses/by/4.0/",
        "requiredStatement": {"label": "Attribution", "value": "Example Archive"},
        "provider": {"id": "https://example.org/about", "label": "Example Archive",
                     "homepage": "https://example.org/", "logo": "_logo.png"},
        "homepage": "https://example.org/items/1871-04-02",
        "navDate": "1871-04-02T00:00:00Z",
        "behavior": ["paged"],
        "viewingDirection": "left-to-right",
        "thumbnail": "p1.jpg",
        "start": "p2.jpg",
        "items": [{"file": "p1.jpg", "label": "Recto"},
                  {"file": "p2.jpg", "label": "Verso", "metadata": [{"label": "Note", "value": "stain"}]},
                  "p10.jpg"],
        "exclude": ["notes.txt"],
        "rendering": [{"file": "letter.pdf", "label": "PDF version"}],
        "seeAlso": [{"id": "https://example.org/marc/123.xml", "format": "application/marcxml+xml",
                     "profile": "http://www.loc.gov/MARC21/slim"}],
        "structures": [
            {"label": "Contents", "items": [
                {"label": "Letter", "items": ["p1.jpg", "p2.jpg"]},
                {"label": "The seal", "id": "seal", "items": [{"file": "p10.jpg", "xywh": [100, 100, 200, 150]}]}]}],
    })
    t.manifests[pct(L1)] = ManifestExp(
        pct(L1), L1, {"en": ["Letter of 2 April 1871"]},
        [CanvasExp(L1 + "/p1.jpg", "Image", {"en": ["Recto"]}, *s1, thumbnail=True, see_also=[L1 + "/p1.xml"]),
         CanvasExp(L1 + "/p2.jpg", "Image", {"en": ["Verso"]}, *s2, thumbnail=True),
         CanvasExp(L1 + "/p10.jpg", "Image", {"none": ["p10"]}, *s10, thumbnail=True)],
        rendering=[L1 + "/letter.pdf"], behavior=["paged"], nav_date="1871-04-02T00:00:00Z",
        rights="http://creativecommons.org/licenses/by/4.0/",
        ranges=[("Contents", [("Letter", [0, 1]), ("The seal", ["2#xywh=100,100,200,150"])])],
        metadata={"Creator": {"en": ["A. Writer"]}}, summary=True, start=1,
        extra={"provider": "Example Archive", "provider_logo": L1 + "/_logo.png",
               "homepage": "https://example.org/items/1871-04-02",
               "requiredStatement": ("Attribution", "Example Archive"),
               "thumbnail_file": L1 + "/p1.jpg", "viewingDirection": "left-to-right",
               "seeAlso": ["https://example.org/marc/123.xml"]})
    # the canvas label of p10 has no sidecar label: the file's name without
    # extension, in the sidecar's language? presentation.md says a canvas
    # label defaults to the file name; it is not a translation, so "none"
    # is what we expect, and the test accepts "en" too (see label_matches).

    # ---- letters/1871-05-01: PNGs in natural order, labels from metadata.csv
    L2 = "letters/1871-05-01"
    sizes2 = {}
    for name, (w, h) in (("p10.png", (320, 240)), ("p2.png", (240, 320)), ("p1.png", (300, 300))):
        sizes2[name] = save_pattern(p(L2, name), w, h, fmt="PNG")
    t.manifests[pct(L2)] = ManifestExp(
        pct(L2), L2, {"none": ["Letter of 1 May 1871, unsent"]},
        [CanvasExp(L2 + "/" + n, "Image", {"none": [n[:-4]]}, *sizes2[n], thumbnail=True)
         for n in ("p1.png", "p2.png", "p10.png")],
        metadata={"Title": {"fr": ["Lettre du 1er mai 1871"]},
                  "Subject": {"none": ["letters", "family"]},
                  "Note": {"none": ["Ink, on paper; \"draft\""]}})
    with open(p("letters", "metadata.csv"), "w", encoding="utf-8", newline="") as f:
        f.write('folder,label,Title@fr,Subject,Note,rights\r\n')
        f.write('1871-04-02,"Overridden by the sidecar",Lettre du 2 avril 1871,letters,"Ink, on paper",'
                'http://rightsstatements.org/vocab/InC/1.0/\r\n')
        f.write('1871-05-01,"Letter of 1 May 1871, unsent",Lettre du 1er mai 1871,letters|family,'
                '"Ink, on paper; ""draft""",\r\n')
    t.collections[pct("letters")] = CollectionExp(pct("letters"), {"none": ["letters"]},
                                                  [("Manifest", pct(L1)), ("Manifest", pct(L2))])

    # ---- recordings/interview: two sound files, a #t= Range
    R1 = "recordings/interview"
    make_sound(p(R1, "side-a.ogg"), 3.0, 440)
    make_sound(p(R1, "side-b.mp3"), 2.0, 660)
    da = ffprobe(p(R1, "side-a.ogg"))[0]
    db = ffprobe(p(R1, "side-b.mp3"))[0]
    wjson(p(R1, "iiif.json"), {
        "label": "Interview", "language": "en",
        "behavior": ["auto-advance"],
        "navDate": "1990-06-01T12:00:00+02:00",
        "items": [{"file": "side-a.ogg", "label": "Side A"}, {"file": "side-b.mp3", "label": "Side B"}],
        "structures": [{"label": "Interview, first second", "items": [{"file": "side-a.ogg", "t": [0, 1]}]}],
    })
    t.manifests[pct(R1)] = ManifestExp(
        pct(R1), R1, {"en": ["Interview"]},
        [CanvasExp(R1 + "/side-a.ogg", "Sound", {"en": ["Side A"]}, duration=da, fmt="audio/ogg"),
         CanvasExp(R1 + "/side-b.mp3", "Sound", {"en": ["Side B"]}, duration=db, fmt="audio/mpeg")],
        behavior=["auto-advance"], ranges=[("Interview, first second", ["0#t=0,1"])],
        nav_date="1990-06-01T12:00:00+02:00")

    # ---- recordings/clip: MP4 + WebM, a same-basename JPEG thumbnail, captions
    R2 = "recordings/clip"
    make_video(p(R2, "clip.mp4"), 2, 320, 240)
    make_video(p(R2, "clip.webm"), 2, 320, 240)
    save_pattern(p(R2, "clip.jpg"), 320, 240)
    with open(p(R2, "clip.vtt"), "w") as f:
        f.write(VTT)
    canv = []
    for n, fmt in (("clip.mp4", "video/mp4"), ("clip.webm", "video/webm")):
        d, w, h = ffprobe(p(R2, n))
        canv.append(CanvasExp(R2 + "/" + n, "Video", {"none": ["clip"]}, w, h, d, thumbnail=True, fmt=fmt))
    t.manifests[pct(R2)] = ManifestExp(pct(R2), R2, {"none": ["clip"]}, canv)
    t.collections[pct("recordings")] = CollectionExp(pct("recordings"), {"none": ["recordings"]},
                                                     [("Manifest", pct(R2)), ("Manifest", pct(R1))])

    # ---- documents/report: a PDF-only item
    D = "documents/report"
    write_pdf(p(D, "report.pdf"), "Annual report")
    t.manifests[pct(D)] = ManifestExp(pct(D), D, {"none": ["report"]},
                                      [CanvasExp(D + "/report.pdf", "Text", {"none": ["report"]},
                                                 fmt="application/pdf")],
                                      rendering=[D + "/report.pdf"])
    t.collections[pct("documents")] = CollectionExp(pct("documents"), {"none": ["documents"]},
                                                    [("Manifest", pct(D))])

    # ---- models/vase: a GLB model
    M = "models/vase"
    write_glb(p(M, "vase.glb"))
    t.manifests[pct(M)] = ManifestExp(pct(M), M, {"none": ["vase"]},
                                      [CanvasExp(M + "/vase.glb", "Model", {"none": ["vase"]},
                                                 fmt="model/gltf-binary")])
    t.collections[pct("models")] = CollectionExp(pct("models"), {"none": ["models"]}, [("Manifest", pct(M))])

    # ---- golden: byte-for-byte deterministic files (tests/http/golden/)
    G = "golden"
    g1 = write_png_stored(p(G, "g1.png"), 64, 48, 1)
    g2 = write_png_stored(p(G, "g2.png"), 48, 64, 2)
    wjson(p(G, "iiif.json"), {"label": "Golden", "language": "en", "summary": "Two stored PNGs.",
                              "rights": "http://rightsstatements.org/vocab/NoC-US/1.0/",
                              "navDate": "2000-01-01T00:00:00Z"})
    t.manifests[pct(G)] = ManifestExp(pct(G), G, {"en": ["Golden"]},
                                      [CanvasExp(G + "/g1.png", "Image", {"none": ["g1"]}, *g1, thumbnail=True),
                                       CanvasExp(G + "/g2.png", "Image", {"none": ["g2"]}, *g2, thumbnail=True)],
                                      rights="http://rightsstatements.org/vocab/NoC-US/1.0/",
                                      nav_date="2000-01-01T00:00:00Z")

    # ---- named/été 1871: names that must be percent-encoded (UTF-8, a space, a plus)
    N = "named/\u00e9t\u00e9 1871"
    n1 = save_pattern(p(N, "page 1.jpg"), 320, 200)
    n2 = save_pattern(p(N, "page+2.jpg"), 200, 320)
    t.manifests[pct(N)] = ManifestExp(pct(N), N, {"none": ["\u00e9t\u00e9 1871"]},
                                      [CanvasExp(N + "/page 1.jpg", "Image", {"none": ["page 1"]}, *n1, thumbnail=True),
                                       CanvasExp(N + "/page+2.jpg", "Image", {"none": ["page+2"]}, *n2, thumbnail=True)])
    t.collections[pct("named")] = CollectionExp(pct("named"), {"none": ["named"]}, [("Manifest", pct(N))])

    # ---- single/only.jpg: a folder holding one image (and that image's own Manifest)
    S = "single"
    ss = save_pattern(p(S, "only.jpg"), 400, 300)
    t.manifests[pct(S)] = ManifestExp(pct(S), S, {"none": ["single"]},
                                      [CanvasExp(S + "/only.jpg", "Image", {"none": ["only"]}, *ss, thumbnail=True)])
    t.manifests[pct(S + "/only.jpg")] = ManifestExp(
        pct(S + "/only.jpg"), S, {"none": ["only.jpg"]},
        [CanvasExp(S + "/only.jpg", "Image", {"none": ["only"]}, *ss, thumbnail=True)])

    # ---- loose files in the root
    sl = save_pattern(p("loose.jpg"), 350, 250)
    make_sound(p("loose.mp3"), 1.5, 880)
    dl = ffprobe(p("loose.mp3"))[0]
    t.manifests["loose.jpg"] = ManifestExp("loose.jpg", "", {"none": ["loose.jpg"]},
                                           [CanvasExp("loose.jpg", "Image", {"none": ["loose"]}, *sl, thumbnail=True)])
    t.manifests["loose.mp3"] = ManifestExp("loose.mp3", "", {"none": ["loose.mp3"]},
                                           [CanvasExp("loose.mp3", "Sound", {"none": ["loose"]}, duration=dl,
                                                      fmt="audio/mpeg")])

    # every image file is also its own one-canvas Manifest
    for item in (L1, L2):
        for c in t.manifests[pct(item)].canvases:
            name = c.file.rsplit("/", 1)[1]
            t.manifests.setdefault(pct(c.file), ManifestExp(
                pct(c.file), item, {"none": [name]},
                [CanvasExp(c.file, "Image", {"none": [name.rsplit(".", 1)[0]]}, c.width, c.height, thumbnail=True)]))

    t.collections["top"] = CollectionExp("top", {"en": ["Tessera test root"]}, [
        ("Collection", pct("documents")), ("Manifest", pct(G)), ("Collection", pct("letters")),
        ("Collection", pct("models")), ("Collection", pct("named")), ("Collection", pct("recordings")),
        ("Manifest", pct(S)),
        ("Manifest", "loose.jpg"), ("Manifest", "loose.mp3")])
    return t


# --------------------------------------------------------------------------
# the hostile tree

class Hostile:
    def __init__(self, root):
        self.root = root
        self.sidecars = {}     # item -> field the error must name
        self.outside = []      # identifiers that point out of the root
        self.media = {}        # item -> why it is hostile
        self.big = None        # item of the 100,000-entry folder


def truncate(src, dst, fraction=0.5):
    with open(src, "rb") as f:
        data = f.read()
    with open(dst, "wb") as f:
        f.write(data[:int(len(data) * fraction)])


def patch_webm_duration(src, dst, seconds):
    """Copy a WebM whose Segment Info Duration (EBML id 0x4489, a float in
    TimecodeScale units, 1 ms by default) claims `seconds`."""
    with open(src, "rb") as f:
        data = bytearray(f.read())
    i = data.find(b"\x44\x89")
    if i < 0:
        raise ValueError("no Duration element in %s" % src)
    size = data[i + 2]
    if size == 0x88:
        struct.pack_into(">d", data, i + 3, seconds * 1000.0)
    elif size == 0x84:
        struct.pack_into(">f", data, i + 3, seconds * 1000.0)
    else:
        raise ValueError("unexpected Duration size byte 0x%02x" % size)
    with open(dst, "wb") as f:
        f.write(data)


def build_hostile(root, work):
    os.makedirs(root, exist_ok=True)
    os.makedirs(work, exist_ok=True)
    h = Hostile(root)

    def d(name):
        path = os.path.join(root, name)
        os.makedirs(path, exist_ok=True)
        save_pattern(os.path.join(path, "a.jpg"), 200, 150)
        return path

    with open(os.path.join(d("bad-json"), "iiif.json"), "w") as f:
        f.write('{"label": "unterminated", "items": [\n')
    h.sidecars["bad-json"] = "iiif.json"
    with open(os.path.join(d("bad-utf8"), "iiif.json"), "wb") as f:
        f.write(b'{"label": "caf\xe9 \xff\xfe"}\n')
    h.sidecars["bad-utf8"] = "UTF-8"
    with open(os.path.join(d("bad-rights"), "iiif.json"), "w") as f:
        json.dump({"label": "bad rights", "rights": "All rights reserved"}, f)
    h.sidecars["bad-rights"] = "rights"
    with open(os.path.join(d("dotdot"), "iiif.json"), "w") as f:
        json.dump({"label": "dot dot", "items": ["../bad-json/a.jpg", "a.jpg"]}, f)
    h.sidecars["dotdot"] = "items"

    # out of the root: a folder symlink and a file symlink
    outside = os.path.join(os.path.dirname(root.rstrip("/")), "outside-pres")
    os.makedirs(outside, exist_ok=True)
    save_pattern(os.path.join(outside, "secret.jpg"), 120, 90)
    make_sound(os.path.join(outside, "secret.mp3"), 1.0, 300)
    os.symlink(outside, os.path.join(root, "escape"))
    os.makedirs(os.path.join(root, "links"), exist_ok=True)
    save_pattern(os.path.join(root, "links", "inside.jpg"), 100, 80)
    os.symlink(os.path.join(outside, "secret.jpg"), os.path.join(root, "links", "out.jpg"))
    os.symlink(os.path.join(outside, "secret.mp3"), os.path.join(root, "links", "out.mp3"))
    h.outside = ["escape", pct("escape/secret.jpg"), pct("links/out.jpg"), pct("links/out.mp3")]
    h.outside_res = ["/iiif/escape/res/secret.mp3", "/iiif/links/res/out.mp3", "/iiif/links/res/out.jpg",
                     "/iiif/top/res/..%2Foutside-pres%2Fsecret.mp3", "/iiif/links/res/..%2F..%2Foutside-pres%2Fsecret.mp3",
                     "/iiif/top/res/%2Fetc%2Fpasswd", "/iiif/links/res/..", "/iiif/..%2F..%2Fetc/res/passwd"]

    # a 100,000-entry folder: hard links to one tiny JPEG (fast to make)
    big = os.path.join(root, "big")
    os.makedirs(big, exist_ok=True)
    tiny = os.path.join(work, "tiny.jpg")
    Image.fromarray(np.full((8, 8, 3), 128, np.uint8)).save(tiny, "JPEG")
    # a file system allows some 65000 links to one inode: a fresh copy every 50000
    for i in range(BIG_ENTRIES):
        dst = os.path.join(big, "f%06d.jpg" % i)
        if i % 50000 == 0:
            first = dst
            shutil.copy(tiny, first)
        else:
            os.link(first, dst)
    h.big = "big"

    # truncated and lying media, each its own item
    mp4 = os.path.join(work, "full.mp4")
    webm = os.path.join(work, "full.webm")
    ogg = os.path.join(work, "full.ogg")
    make_video(mp4, 3, 160, 120)
    make_video(webm, 3, 160, 120)
    make_sound(ogg, 3.0, 500)
    for name, src, ext in (("trunc-mp4", mp4, "mp4"), ("trunc-webm", webm, "webm"), ("trunc-ogg", ogg, "ogg")):
        os.makedirs(os.path.join(root, name), exist_ok=True)
        truncate(src, os.path.join(root, name, "media." + ext))
        h.media[name] = "truncated " + ext
    os.makedirs(os.path.join(root, "liar"), exist_ok=True)
    patch_webm_duration(webm, os.path.join(root, "liar", "media.webm"), 1e18)
    h.media["liar"] = "a WebM claiming 10^18 s"
    return h
