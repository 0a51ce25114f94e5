#!/usr/bin/env python3
"""sample-collection.py ROOT [--model] - write a small sample collection.

Puts beside whatever ROOT already holds a folder ROOT/samples/ that the
IIIF Presentation routes publish as a Collection of five items (the layout
of docs/presentation.md section 1):

  samples/iiif.json                 the collection's sidecar: label, summary, metadata
  samples/pages/                    two images -> one Manifest of two Image canvases
      iiif.json page-1.tif page-2.tif
  samples/tone/tone.mp3             a 3 s 440 Hz tone (MP3)  -> a Sound canvas
  samples/clip/clip.mp4 clip.jpg    a 4 s 320x240 test card (H.264 + AAC) -> a Video
                                    canvas; clip.jpg (its first frame) is its thumbnail
  samples/document/document.pdf     a one-page PDF -> a Text canvas and a rendering
  samples/model/triangle.glb        (--model) one triangle, glTF 2.0 binary -> a Model canvas

Images are drawn with PIL and made pyramidal tiled TIFFs by vips, as
tools/sample-image.sh does (a plain JPEG when vips is missing); sound and
video come from ffmpeg's lavfi sources (skipped, with a message, without
ffmpeg); the PDF and the GLB are written byte by byte here, so nothing
needs the network.  Every codec chosen plays in Debian 12's Chromium and in
the other common browsers (MP3, H.264/AAC in MP4).

The one idea: idempotent and quick.  A file that is already there is kept,
and every file is written under a temporary name and renamed, so a run
that is interrupted never leaves a half-written file to be kept next time.
"""

import json
import os
import shutil
import struct
import subprocess
import sys

TONE_S, CLIP_S = 3, 4


def say(msg):
    print("sample-collection: %s" % msg)


def fresh(path):
    """True when path must be (re)made; makes its folder."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return not (os.path.isfile(path) and os.path.getsize(path) > 0)


def tmp_name(path):
    d, base = os.path.split(path)
    stem, ext = os.path.splitext(base)
    return os.path.join(d, ".%s.tmp%s" % (stem, ext))   # hidden: never published


def write_bytes(path, data):
    tmp = tmp_name(path)
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def write_json(path, obj):
    if fresh(path):
        write_bytes(path, (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


# -------------------------------------------------------------------- images

def draw_page(n, w=1600, h=1200):
    from PIL import Image, ImageDraw
    hue = [(200, 90, 60), (60, 120, 200)][(n - 1) % 2]
    img = Image.new("RGB", (w, h), (245, 240, 225))
    d = ImageDraw.Draw(img)
    for y in range(0, h, 40):
        d.line([(80, y), (w - 80, y)], fill=(215, 210, 195), width=2)
    d.rectangle([80, 80, w - 80, h - 80], outline=hue, width=12)
    for k in range(6):
        r = 60 + 70 * k
        d.ellipse([w / 2 - r, h / 2 - r, w / 2 + r, h / 2 + r], outline=hue, width=8)
    # a big page number drawn with rectangles, readable at any zoom
    x0, y0, s = 140, 140, 36
    for i in range(n):
        d.rectangle([x0 + i * 2 * s, y0, x0 + i * 2 * s + s, y0 + 5 * s], fill=hue)
    return img


def make_image(path, n):
    if not fresh(path):
        return
    img = draw_page(n)
    png = tmp_name(path) + ".png"
    img.save(png)
    try:
        if shutil.which("vips"):
            tmp = tmp_name(path)
            subprocess.run(["vips", "tiffsave", png, tmp, "--tile", "--pyramid", "--compression", "jpeg",
                            "--Q", "90", "--tile-width", "256", "--tile-height", "256"], check=True)
            os.replace(tmp, path)
        else:
            raise FileNotFoundError("vips")
    except (OSError, subprocess.CalledProcessError) as e:
        # the server reads plain JPEG too; keep the .tif name out of it
        jpg = os.path.splitext(path)[0] + ".jpg"
        say("vips failed (%s); writing %s instead" % (e, jpg))
        img.save(tmp_name(jpg), "JPEG", quality=90)
        os.replace(tmp_name(jpg), jpg)
    finally:
        if os.path.exists(png):
            os.remove(png)
    say("made " + path)


# ---------------------------------------------------------------- sound, video

def ffmpeg(path, args):
    if not fresh(path):
        return True
    if not shutil.which("ffmpeg"):
        say("ffmpeg is missing: no %s (apt-get install ffmpeg)" % path)
        return False
    tmp = tmp_name(path)
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y"] + args + [tmp], check=True)
    os.replace(tmp, path)
    say("made " + path)
    return True


def make_tone(path):
    ffmpeg(path, ["-f", "lavfi", "-i", "sine=frequency=440:duration=%d" % TONE_S,
                  "-c:a", "libmp3lame", "-b:a", "64k"])


def make_clip(path, thumb):
    ok = ffmpeg(path, ["-f", "lavfi", "-i", "testsrc=duration=%d:size=320x240:rate=25" % CLIP_S,
                       "-f", "lavfi", "-i", "sine=frequency=660:duration=%d" % CLIP_S,
                       "-c:v", "libx264", "-pix_fmt", "yuv420p", "-profile:v", "baseline",
                       "-c:a", "aac", "-b:a", "64k", "-shortest", "-movflags", "+faststart", "-f", "mp4"])
    if ok:
        ffmpeg(thumb, ["-i", path, "-frames:v", "1", "-q:v", "3", "-f", "image2"])


# ----------------------------------------------------------------------- PDF

def pdf_bytes(text):
    """A one-page PDF 1.4 (A6 portrait) showing text in Helvetica, with a
    correct cross-reference table (ISO 32000-1 section 7.5)."""
    content = ("BT /F1 18 Tf 36 330 Td (%s) Tj ET\n"
               "0.2 0.4 0.8 RG 4 w 24 24 249.7 371.5 re S\n" % text).encode("latin-1")
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 297.7 419.5] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"endstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def make_pdf(path):
    if fresh(path):
        write_bytes(path, pdf_bytes("Tessera sample document"))
        say("made " + path)


# ----------------------------------------------------------------------- GLB

def glb_bytes():
    """One red, double-sided triangle as glTF 2.0 binary (the glTF 2.0
    specification, "Binary glTF Layout"): a 12-byte header, a JSON chunk
    padded with spaces, a BIN chunk padded with zeros, all 4-byte aligned."""
    pos = struct.pack("<9f", 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    gltf = {
        "asset": {"version": "2.0", "generator": "tessera tools/sample-collection.py"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "material": 0}]}],
        "materials": [{"pbrMetallicRoughness": {"baseColorFactor": [0.8, 0.1, 0.1, 1.0],
                                                "metallicFactor": 0.0}, "doubleSided": True}],
        "accessors": [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3",
                       "min": [0.0, 0.0, 0.0], "max": [1.0, 1.0, 0.0]}],
        "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": len(pos), "target": 34962}],
        "buffers": [{"byteLength": len(pos)}],
    }
    js = json.dumps(gltf, separators=(",", ":")).encode("utf-8")
    js += b" " * (-len(js) % 4)
    binc = pos + b"\0" * (-len(pos) % 4)
    total = 12 + 8 + len(js) + 8 + len(binc)
    return (struct.pack("<4sII", b"glTF", 2, total) +
            struct.pack("<I4s", len(js), b"JSON") + js +
            struct.pack("<I4s", len(binc), b"BIN\0") + binc)


def make_glb(path):
    if fresh(path):
        write_bytes(path, glb_bytes())
        say("made " + path)


# ---------------------------------------------------------------------- tree

def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    if len(args) != 1 or any(a not in ("--model",) for a in argv[1:] if a.startswith("--")):
        print("usage: sample-collection.py ROOT [--model]", file=sys.stderr)
        return 2
    s = os.path.join(args[0], "samples")
    write_json(os.path.join(s, "iiif.json"), {
        "label": "Sample collection",
        "summary": "Made by tools/sample-collection.py: two pages, a tone, a test card and a PDF.",
        "language": "en",
        "metadata": [{"label": "Made with", "value": "PIL, vips and ffmpeg"},
                     {"label": "Rights", "value": "Public domain (generated)"}],
        "items": ["pages", "tone", "clip", "document"] + (["model"] if "--model" in argv[1:] else []),
    })
    write_json(os.path.join(s, "pages", "iiif.json"), {
        "label": "Two pages",
        "summary": "Two drawn pages, one or two bars in the top-left corner.",
        "language": "en",
        "metadata": [{"label": "Pages", "value": "2"}, {"label": "Date", "value": "2026"}],
        "items": [{"file": "page-1.tif", "label": "Page 1"}, {"file": "page-2.tif", "label": "Page 2"}],
    })
    write_json(os.path.join(s, "tone", "iiif.json"), {"label": "A 440 Hz tone", "language": "en"})
    write_json(os.path.join(s, "clip", "iiif.json"), {"label": "Test card", "language": "en"})
    write_json(os.path.join(s, "document", "iiif.json"), {"label": "A one-page PDF", "language": "en"})
    make_image(os.path.join(s, "pages", "page-1.tif"), 1)
    make_image(os.path.join(s, "pages", "page-2.tif"), 2)
    make_tone(os.path.join(s, "tone", "tone.mp3"))
    make_clip(os.path.join(s, "clip", "clip.mp4"), os.path.join(s, "clip", "clip.jpg"))
    make_pdf(os.path.join(s, "document", "document.pdf"))
    if "--model" in argv[1:]:
        write_json(os.path.join(s, "model", "iiif.json"), {"label": "A triangle", "language": "en"})
        make_glb(os.path.join(s, "model", "triangle.glb"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
