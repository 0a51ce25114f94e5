"""test_convert.py - `tessera convert`: images of every kind Tessera reads
turned into pyramidal tiled TIFFs, then opened by libtiff (tiffinfo),
vips and Tessera itself.

Each input is made here with PIL or vips from one smooth synthetic picture
(gradients and a few flat blocks, so JPEG error stays small): gray JPEG,
progressive JPEG, CMYK JPEG, EXIF orientations 1-8, RGBA PNG, palette
PNG, striped and tiled TIFF, 16-bit TIFF.  Every output is checked three
ways: tiffinfo reads every directory, vips opens it with the right page
count, and the daemon (embedded) serves it - info.json's tiles are the
converted tile size, and every tile at every scale factor matches the
displayed source reduced by PIL (Image.reduce(2), level after level) within
JPEG tolerance.  Then the
failures: a truncated input, a lying header (refused before allocating,
small RSS), --memory too small, bad usage; then -o DIR (several files,
up-to-date outputs skipped), --progress=json, and the RSS of a large
conversion (bounded proportionally to the 300 MB target at 30000 px).

The one idea: the daemon is the reader that matters, so it is the oracle
for the geometry, and PIL's resize of the displayed picture for pixels.
"""

import glob
import json
import math
import os
import resource
import shutil
import struct
import subprocess
import time

import numpy as np
from PIL import Image, ImageOps

import harness
import images
from common import test, expect, expect_status, get_image

TOL_MEAN = 3.0       # mean |difference| per sample, JPEG q85 of a smooth picture
TILE = 128
_made = {}


def tessera(*args, timeout=120):
    return subprocess.run([harness.TESSERA, "convert"] + [str(a) for a in args],
                          capture_output=True, timeout=timeout)


def picture(w, h):
    """The smooth test picture, RGB uint8."""
    ys, xs = np.indices((h, w)).astype(np.float64)
    a = np.empty((h, w, 3), np.uint8)
    a[:, :, 0] = (xs * 255 / max(w - 1, 1)).astype(np.uint8)
    a[:, :, 1] = (ys * 255 / max(h - 1, 1)).astype(np.uint8)
    a[:, :, 2] = (128 + 100 * np.sin(xs / 97.0) * np.cos(ys / 61.0)).astype(np.uint8)
    a[h // 5:h // 5 + 60, w // 7:w // 7 + 90] = (20, 200, 90)
    return a


def work(ctx):
    d = os.path.join(ctx.tmp, "convert-in")
    os.makedirs(d, exist_ok=True)
    return d


def inputs(ctx):
    """name -> (input path, displayed PIL image in its mode: L, RGB, RGBA)."""
    if "inputs" in _made:
        return _made["inputs"]
    d = work(ctx)
    pic = picture(701, 467)
    rgb = Image.fromarray(pic)
    out = {}

    def keep(name, path, disp):
        out[name] = (path, disp)

    p = os.path.join(d, "gray.jpg")
    rgb.convert("L").save(p, quality=95)
    keep("gray_jpeg", p, Image.open(p).convert("L"))
    p = os.path.join(d, "progressive.jpg")
    rgb.save(p, quality=95, progressive=True)
    keep("progressive_jpeg", p, Image.open(p).convert("RGB"))
    p = os.path.join(d, "cmyk.jpg")
    rgb.convert("CMYK").save(p, quality=95)
    keep("cmyk_jpeg", p, Image.open(p).convert("RGB"))
    for o in range(1, 9):
        p = os.path.join(d, "orient%d.jpg" % o)
        rgb.save(p, quality=95, exif=images.exif_orientation(o))
        keep("exif%d" % o, p, ImageOps.exif_transpose(Image.open(p)).convert("RGB"))
    a = np.dstack([pic, (np.indices((467, 701))[1] * 255 // 700).astype(np.uint8)])
    p = os.path.join(d, "rgba.png")
    Image.fromarray(a, "RGBA").save(p)
    keep("rgba_png", p, Image.open(p).convert("RGBA"))
    p = os.path.join(d, "palette.png")
    rgb.quantize(64, dither=Image.Dither.NONE).save(p)
    keep("palette_png", p, Image.open(p).convert("RGB"))
    p = os.path.join(d, "striped.tif")
    rgb.save(p)   # PIL writes strips, uncompressed
    keep("striped_tiff", p, rgb)
    p = os.path.join(d, "tiled.tif")
    images.vips("tiffsave", os.path.join(d, "rgba.png") + "[0]", p, "--tile",
                "--tile-width", "64", "--tile-height", "64", "--compression", "lzw")
    keep("tiled_tiff", p, Image.open(os.path.join(d, "rgba.png")).convert("RGBA"))
    p = os.path.join(d, "rgb16.tif")
    src = os.path.join(d, "striped.tif")
    images.vips("linear", src, os.path.join(d, "rgb16.v"), "257", "0")
    images.vips("cast", os.path.join(d, "rgb16.v"), p, "ushort")
    keep("rgb16_tiff", p, rgb)
    _made["inputs"] = out
    return out


def convert_into_root(ctx, name, extra=()):
    """Convert input `name` to ROOT/cv_NAME.tif once; returns (ident, displayed)."""
    key = ("out", name, tuple(extra))
    if key in _made:
        return _made[key]
    path, disp = inputs(ctx)[name]
    ident = "cv_%s%s" % (name, "".join(e.strip("-")[:3] for e in extra))
    out = os.path.join(ctx.root, ident + ".tif")
    r = tessera("--tile", TILE, "--quiet", *extra, path, out)
    expect(r.returncode == 0, "convert %s: exit %d: %s" % (name, r.returncode,
                                                           r.stderr.decode()[-300:]))
    _made[key] = (ident, disp)
    return _made[key]


def tiff_pages(path):
    r = subprocess.run(["tiffinfo", path], capture_output=True, timeout=60)
    expect(r.returncode == 0, "tiffinfo %s: %s" % (path, r.stderr.decode()[-300:]))
    return r.stdout.decode().count("=== TIFF directory")


def level_sizes(w, h, tile):
    s = [(w, h)]
    while w > tile or h > tile:
        w, h = (w + 1) // 2, (h + 1) // 2
        s.append((w, h))
    return s


def compare(got, ref, what, tol=TOL_MEAN):
    g = np.asarray(got).astype(np.float64)
    r = np.asarray(ref).astype(np.float64)
    if g.ndim == 3 and g.shape[2] == 4 and r.shape == g.shape:
        # colour under transparency is invisible: compare premultiplied
        g[:, :, :3] *= g[:, :, 3:] / 255.0
        r[:, :, :3] *= r[:, :, 3:] / 255.0
    expect(g.shape == r.shape, "%s: shape %s, expected %s" % (what, g.shape, r.shape))
    d = np.abs(g - r).mean()
    expect(d <= tol, "%s: mean difference %.2f > %.1f" % (what, d, tol))


def check_served(srv, ident, disp, alpha=False, tol=TOL_MEAN):
    """info.json is our pyramid; every tile at every scale factor matches."""
    r = srv.get("/iiif/3/%s/info.json" % ident)
    expect_status(r, 200, "info.json of " + ident)
    info = json.loads(r.body)
    W, H = disp.size
    expect((info["width"], info["height"]) == (W, H),
           "%s: info.json %sx%s, expected %sx%s" % (ident, info["width"], info["height"], W, H))
    tiles = info["tiles"][0]
    expect(tiles["width"] == TILE, "%s: tiles %r, expected the converted %d" % (ident, tiles, TILE))
    levels = level_sizes(W, H, TILE)
    expect(len(tiles["scaleFactors"]) >= len(levels),
           "%s: scale factors %r for %d levels" % (ident, tiles["scaleFactors"], len(levels)))
    mode = "RGBA" if alpha else disp.mode
    fmt = "png"   # lossless answers: the error measured is the conversion's
    ref = disp
    for k, (lw, lh) in enumerate(levels):
        sf = 1 << k
        if k:   # PIL's 2x2 box reduction, a partial edge block averaged alone
            ref = ref.reduce(2)
        expect(ref.size == (lw, lh), "level %d: PIL made %r" % (k, ref.size))
        for ty in range(0, lh, TILE):
            for tx in range(0, lw, TILE):
                x, y = tx * sf, ty * sf
                rw, rh = min(TILE * sf, W - x), min(TILE * sf, H - y)
                ow, oh = min(TILE, lw - tx), min(TILE, lh - ty)
                path = "/iiif/3/%s/%d,%d,%d,%d/%d,%d/0/default.%s" % (ident, x, y, rw, rh, ow, oh,
                                                                      fmt)
                im, _ = get_image(srv, path)
                compare(im.convert(mode), ref.crop((tx, ty, tx + ow, ty + oh)).convert(mode),
                        "%s level %d tile %d,%d" % (ident, k, tx, ty), tol)


CASES = ["gray_jpeg", "progressive_jpeg", "cmyk_jpeg", "palette_png", "striped_tiff",
         "rgb16_tiff"] + ["exif%d" % o for o in range(1, 9)]


@test("convert: gray, progressive, CMYK, palette PNG, striped and 16-bit TIFF, EXIF 1-8 to "
      "pyramidal JPEG TIFF, read by tiffinfo, vips and the daemon at every level",
      server="embedded")
def _(ctx, srv):
    for name in CASES:
        ident, disp = convert_into_root(ctx, name)
        out = os.path.join(ctx.root, ident + ".tif")
        n = tiff_pages(out)
        expect(n == len(level_sizes(disp.size[0], disp.size[1], TILE)),
               "%s: %d directories" % (name, n))
        r = subprocess.run(["vipsheader", "-f", "n-pages", out], capture_output=True, timeout=60)
        expect(r.returncode == 0 and int(r.stdout) == n, "vips %s: %r" % (name, r.stdout))
        # a posterized palette picture is all edges: JPEG's error is larger
        check_served(srv, ident, disp, tol=6.0 if name == "palette_png" else TOL_MEAN)


@test("convert: RGBA and tiled TIFF with deflate keep alpha; zstd and webp tiles are read back",
      server="embedded")
def _(ctx, srv):
    for name in ("rgba_png", "tiled_tiff"):
        ident, disp = convert_into_root(ctx, name, ("--compression", "deflate"))
        check_served(srv, ident, disp, alpha=True)
    for comp, word in (("zstd", "ZSTD"), ("webp", "WEBP")):
        ident, disp = convert_into_root(ctx, "striped_tiff", ("--compression", comp))
        out = os.path.join(ctx.root, ident + ".tif")
        r = subprocess.run(["tiffinfo", out], capture_output=True, timeout=60)
        expect(word.lower() in r.stdout.decode().lower(),
               "%s: tiffinfo says %r" % (comp, r.stdout.decode()[:300]))
        check_served(srv, ident, disp)


@test("convert: --subifds and --444 give files the daemon and vips read the same",
      server="embedded")
def _(ctx, srv):
    ident, disp = convert_into_root(ctx, "striped_tiff", ("--subifds",))
    out = os.path.join(ctx.root, ident + ".tif")
    expect(tiff_pages(out) == 1, "SubIFDs: one top-level directory")
    r = subprocess.run(["tiffdump", out], capture_output=True, timeout=60)
    expect(b"SubIFD" in r.stdout or b"330 (0x14a)" in r.stdout, "no SubIFD tag in tiffdump")
    images.vips("copy", out + "[subifd=1]", os.path.join(ctx.tmp, "sub1.v"))
    check_served(srv, ident, disp)
    ident, disp = convert_into_root(ctx, "striped_tiff", ("--444",))
    r = subprocess.run(["tiffinfo", os.path.join(ctx.root, ident + ".tif")], capture_output=True)
    expect(b"YCbCr Subsampling: 1, 1" in r.stdout, "4:4:4 subsampling not written")
    check_served(srv, ident, disp)


@test("convert: the ICC profile and the resolution are kept on every level", server=None)
def _(ctx, srv_unused):
    from PIL import ImageCms
    d = work(ctx)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    p = os.path.join(d, "icc.jpg")
    Image.fromarray(picture(600, 400)).save(p, quality=90, icc_profile=icc, dpi=(300, 300))
    out = os.path.join(ctx.tmp, "icc.tif")
    r = tessera("--quiet", "--tile", TILE, p, out)
    expect(r.returncode == 0, "exit %d %r" % (r.returncode, r.stderr))
    info = subprocess.run(["tiffinfo", out], capture_output=True).stdout.decode()
    expect(info.count("ICC Profile: <present>, %d bytes" % len(icc)) == 4,
           "ICC on 4 levels: %r" % info[:600])
    expect("Resolution: 300, 300 pixels/inch" in info and "Resolution: 75, 75 pixels/inch" in info,
           "resolution: %r" % info[:600])
    im = Image.open(out)
    expect(im.info.get("icc_profile") == icc, "PIL reads another profile")


@test("convert: a truncated input fails with a clear error, exit 1, and leaves no file",
      server=None)
def _(ctx, srv_unused):
    d = work(ctx)
    path, _ = inputs(ctx)["progressive_jpeg"]
    for src, cut in ((path, "trunc_prog.jpg"), (inputs(ctx)["gray_jpeg"][0], "trunc_gray.jpg")):
        data = open(src, "rb").read()
        open(os.path.join(d, cut), "wb").write(data[:len(data) // 2])
        outdir = os.path.join(ctx.tmp, "trunc-out-" + cut)
        os.makedirs(outdir, exist_ok=True)
        r = tessera("--quiet", os.path.join(d, cut), os.path.join(outdir, "t.tif"))
        expect(r.returncode == 1, "%s: exit %d" % (cut, r.returncode))
        expect(b"truncated" in r.stderr or b"corrupt" in r.stderr, "stderr: %r" % r.stderr)
        expect(os.listdir(outdir) == [], "%s: left %r" % (cut, os.listdir(outdir)))


def lying_jpeg(src, dst, w, h):
    """A copy of src whose SOF declares w x h."""
    data = bytearray(open(src, "rb").read())
    i = 2
    while i < len(data):
        marker = data[i + 1]
        seglen = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            data[i + 5:i + 9] = struct.pack(">HH", h, w)
            break
        i += 2 + seglen
    open(dst, "wb").write(bytes(data))


def rss_of(argv, timeout=120):
    """Run argv; (CompletedProcess, peak RSS of that child in MB)."""
    r = subprocess.run(["/usr/bin/time", "-f", "MAXRSS %M"] + argv, capture_output=True,
                       timeout=timeout)
    kb = 0
    for line in r.stderr.decode(errors="replace").splitlines():
        if line.startswith("MAXRSS "):
            kb = int(line.split()[1])
    return r, kb / 1024.0


@test("convert: a lying header is refused before allocating; without a limit it fails in "
      "bounded memory", server=None)
def _(ctx, srv_unused):
    d = work(ctx)
    src = inputs(ctx)["gray_jpeg"][0]
    liar = os.path.join(d, "liar.jpg")
    lying_jpeg(src, liar, 60000, 60000)
    out = os.path.join(ctx.tmp, "liar.tif")
    r, mb = rss_of([harness.TESSERA, "convert", "--quiet", "--max-pixels", "100000000", liar, out])
    expect(r.returncode == 1 and b"too large" in r.stderr, "exit %d %r" % (r.returncode, r.stderr))
    expect(mb < 30, "refusal took %.0f MB" % mb)
    r, mb = rss_of([harness.TESSERA, "convert", "--quiet", liar, out])
    expect(r.returncode == 1, "no limit: exit %d %r" % (r.returncode, r.stderr))
    expect(mb < 300, "no limit: %.0f MB" % mb)
    expect(not os.path.exists(out), "output left")
    # a progressive liar's coefficients would be 60000^2: over --memory, refused
    prog = os.path.join(d, "liar_prog.jpg")
    lying_jpeg(inputs(ctx)["progressive_jpeg"][0], prog, 60000, 60000)
    r, mb = rss_of([harness.TESSERA, "convert", "--quiet", "--memory", "500", prog, out])
    expect(r.returncode == 1 and b"memory" in r.stderr, "progressive: %r" % r.stderr)
    expect(mb < 30, "progressive refusal took %.0f MB" % mb)


@test("convert: --memory bounds the working set (refused when too small, RSS under it "
      "otherwise)", server=None)
def _(ctx, srv_unused):
    d = work(ctx)
    big = os.path.join(d, "mem.jpg")
    if not os.path.exists(big):
        images.vips("gaussnoise", os.path.join(d, "mem.v"), 6000, 4000, "--mean", 128,
                    "--sigma", 20)
        images.vips("jpegsave", os.path.join(d, "mem.v"), big, "--Q", 85)
    out = os.path.join(ctx.tmp, "mem.tif")
    r = tessera("--quiet", "--memory", "4", big, out)
    expect(r.returncode == 1 and b"memory" in r.stderr, "4 MB: exit %d %r" % (r.returncode,
                                                                           r.stderr))
    expect(not os.path.exists(out), "output left after refusal")
    r, mb = rss_of([harness.TESSERA, "convert", "--quiet", "--memory", "64", big, out])
    expect(r.returncode == 0, "64 MB: exit %d %r" % (r.returncode, r.stderr))
    expect(mb <= 64, "--memory 64: peak RSS %.0f MB" % mb)


@test("convert: a large conversion stays within the 300 MB target scaled to its width",
      server=None)
def _(ctx, srv_unused):
    d = work(ctx)
    w, h = 12000, 8000
    big = os.path.join(d, "large.jpg")
    if not os.path.exists(big):
        images.vips("gaussnoise", os.path.join(d, "large.v"), w, h, "--mean", 128, "--sigma", 30)
        images.vips("jpegsave", os.path.join(d, "large.v"), big, "--Q", 80)
        os.unlink(os.path.join(d, "large.v"))
    out = os.path.join(ctx.tmp, "large.tif")
    t0 = time.monotonic()
    r, mb = rss_of([harness.TESSERA, "convert", "--quiet", big, out], timeout=300)
    expect(r.returncode == 0, "exit %d %r" % (r.returncode, r.stderr))
    # memory grows with the width only: 300 MB at 30000 px wide
    bound = 300.0 * w / 30000
    expect(mb < bound, "peak RSS %.0f MB > %.0f MB (%.1f s)" % (mb, bound, time.monotonic() - t0))
    os.unlink(out)


@test("convert: IN... -o DIR converts several files and skips outputs newer than their input",
      server=None)
def _(ctx, srv_unused):
    ins = [inputs(ctx)[n][0] for n in ("gray_jpeg", "palette_png", "striped_tiff")]
    outdir = os.path.join(ctx.tmp, "many")
    os.makedirs(outdir, exist_ok=True)
    r = tessera("--quiet", "--jobs", 2, *ins, "-o", outdir)
    expect(r.returncode == 0, "exit %d %r" % (r.returncode, r.stderr))
    names = sorted(os.listdir(outdir))
    expect(names == ["gray.tif", "palette.tif", "striped.tif"], "made %r" % names)
    before = {n: os.stat(os.path.join(outdir, n)).st_mtime_ns for n in names}
    r = tessera("--progress=json", *ins, "-o", outdir)
    lines = [json.loads(l) for l in r.stdout.decode().splitlines()]
    expect(r.returncode == 0 and len(lines) == 3 and all(l["step"] == "skipped" for l in lines),
           "second run: %r" % lines)
    after = {n: os.stat(os.path.join(outdir, n)).st_mtime_ns for n in names}
    expect(before == after, "up-to-date outputs were rewritten")
    os.utime(ins[0])   # the input changes: its output is made again
    r = tessera("--quiet", *ins, "-o", outdir)
    expect(os.stat(os.path.join(outdir, "gray.tif")).st_mtime_ns > before["gray.tif"],
           "changed input not converted again")


@test("convert: --progress=json prints one JSON line per step ending with done", server=None)
def _(ctx, srv_unused):
    path = inputs(ctx)["striped_tiff"][0]
    out = os.path.join(ctx.tmp, "progress.tif")
    r = tessera("--progress=json", path, out)
    expect(r.returncode == 0, "exit %d" % r.returncode)
    lines = [json.loads(l) for l in r.stdout.decode().splitlines()]
    steps = [l["step"] for l in lines]
    expect(steps[0] == "read" and steps[-1] == "done" and "write" in steps, "steps %r" % steps)
    expect(lines[-1]["rows_done"] == lines[-1]["rows_total"] == 467, "last %r" % lines[-1])


@test("convert: bad usage exits 2 with a message; --help exits 0", server=None)
def _(ctx, srv_unused):
    path = inputs(ctx)["striped_tiff"][0]
    for args in (("--bogus", path, "x.tif"), (path,), (path, "x.unknown"),
                 ("--tile", "100", path, "x.tif"), ("--quality", "0", path, "x.tif"),
                 ("--compression", "lzma", path, "x.tif"), (path, path, "x.tif")):
        r = tessera(*args)
        expect(r.returncode == 2 and r.stderr, "%r: exit %d %r" % (args, r.returncode, r.stderr))
    r = tessera("--help")
    expect(r.returncode == 0 and b"--compression" in r.stdout, "--help: %r" % r.stdout[:100])
    r = tessera(os.path.join(ctx.tmp, "missing.jpg"), os.path.join(ctx.tmp, "m.tif"))
    expect(r.returncode == 1 and b"not found" in r.stderr, "missing input: %r" % r.stderr)
    r = tessera("--format", "dzi", path, os.path.join(ctx.tmp, "x.dzi"))
    expect(r.returncode == 1 and b"not built" in r.stderr or r.returncode == 0,
           "unbuilt kind: exit %d %r" % (r.returncode, r.stderr))
