"""images.py - the test images, made at run time (never committed).

Every image is a pattern of BLOCK x BLOCK blocks; block (bx, by) has a colour
computed from (bx, by) alone, so the expected colour of any source pixel is
known without storing the image.  Colours come from the 27 corners of a
0/128/255 cube and neighbouring blocks (up to three blocks away in any
direction) always differ, so a region, tile or rotation that lands in the
wrong place is caught, and JPEG error (a few levels) can never turn one
colour into another (they are at least 127 apart in some channel).

PNGs are drawn with numpy + PIL and converted to pyramidal TIFFs with the
vips command line, in every layout the daemon should read: JPEG, deflate,
LZW, uncompressed, WebP-in-TIFF, SubIFD pyramids, BigTIFF, non-square tiles,
8-bit gray, RGBA with a transparent area, 16-bit RGB and an untiled striped
single-level file.  Hostile files (a corrupt tile, a TIFF declaring
100000 x 100000 pixels with no data) are written here too.
"""

import os
import shutil
import struct
import subprocess

import numpy as np
from PIL import Image

BLOCK = 100
LEVELS = np.array([0, 128, 255], dtype=np.int32)
GRAY_LEVELS = np.array([0, 64, 128, 192, 255], dtype=np.int32)
VIPS = shutil.which("vips") or "/usr/bin/vips"


class Pattern:
    """Expected pixels of a pattern image.  mode 'rgb' or 'gray'; alpha_blocks
    is a (bx0, by0, bx1, by1) block rectangle (exclusive end) that is fully
    transparent in RGBA images."""

    def __init__(self, width, height, mode="rgb", alpha_blocks=None):
        self.width = width
        self.height = height
        self.mode = mode
        self.alpha_blocks = alpha_blocks

    def colour(self, bx, by):
        """Expected RGB for block indices (numpy int arrays or ints): array [..., 3]."""
        bx = np.asarray(bx, dtype=np.int64)
        by = np.asarray(by, dtype=np.int64)
        if self.mode == "gray":
            g = GRAY_LEVELS[(2 * bx + 3 * by) % 5]
            return np.stack([g, g, g], axis=-1)
        idx = (7 * bx + 13 * by) % 27
        return np.stack([LEVELS[idx % 3], LEVELS[(idx // 3) % 3], LEVELS[idx // 9]], axis=-1)

    def transparent(self, bx, by):
        bx = np.asarray(bx)
        by = np.asarray(by)
        if not self.alpha_blocks:
            return np.zeros(bx.shape, dtype=bool)
        x0, y0, x1, y1 = self.alpha_blocks
        return (bx >= x0) & (bx < x1) & (by >= y0) & (by < y1)

    def array(self):
        ys, xs = np.indices((self.height, self.width))
        rgb = self.colour(xs // BLOCK, ys // BLOCK).astype(np.uint8)
        if self.mode == "gray":
            return rgb[:, :, 0]
        if self.alpha_blocks:
            a = np.where(self.transparent(xs // BLOCK, ys // BLOCK), 0, 255).astype(np.uint8)
            return np.dstack([rgb, a])
        return rgb

    def save_png(self, path):
        Image.fromarray(self.array()).save(path)


def vips(*args):
    r = subprocess.run([VIPS] + [str(a) for a in args], capture_output=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError("vips %s failed: %s" % (" ".join(map(str, args)),
                                                   r.stderr.decode(errors="replace")[-400:]))


PYR = ["--tile", "--pyramid", "--tile-width", "256", "--tile-height", "256"]
JPEG = ["--compression", "jpeg", "--Q", "95"]


class Variant:
    """One image file under the root: its identifier, its pattern, whether
    the stored pixels are lossy, and the tile size the file uses."""

    def __init__(self, ident, pattern, lossy, tile=(256, 256), pyramid=True, note=""):
        self.ident = ident
        self.pattern = pattern
        self.lossy = lossy
        self.tile = tile
        self.pyramid = pyramid
        self.note = note


def make_all(tmp, root):
    """Write every test image under root.  Returns (variants, extras) where
    variants maps a short name to a Variant and extras names special files."""
    work = os.path.join(tmp, "work")
    os.makedirs(work, exist_ok=True)
    os.makedirs(root, exist_ok=True)

    main = Pattern(2000, 1500)
    odd = Pattern(1001, 751)
    gray = Pattern(2000, 1500, mode="gray")
    rgba = Pattern(1200, 900, alpha_blocks=(2, 2, 5, 5))

    pngs = {}
    for name, pat in (("main", main), ("odd", odd), ("gray", gray), ("rgba", rgba)):
        p = os.path.join(work, name + ".png")
        pat.save_png(p)
        pngs[name] = p

    def tif(ident):
        return os.path.join(root, ident + ".tif")

    variants = {}

    def add(name, ident, png, pat, args, lossy, tile=(256, 256), pyramid=True):
        vips("tiffsave", png, tif(ident), *args)
        variants[name] = Variant(ident, pat, lossy, tile, pyramid)

    add("jpeg", "pattern", pngs["main"], main, PYR + JPEG, True)
    add("odd", "odd", pngs["odd"], odd, PYR + JPEG, True)
    add("deflate", "v-deflate", pngs["main"], main, PYR + ["--compression", "deflate"], False)
    add("lzw", "v-lzw", pngs["main"], main, PYR + ["--compression", "lzw"], False)
    add("none", "v-none", pngs["main"], main, PYR + ["--compression", "none"], False)
    try:
        add("webp", "v-webp", pngs["main"], main, PYR + ["--compression", "webp", "--Q", "95"], True)
    except RuntimeError:
        pass   # vips without WebP: the variant is simply absent (reported as skipped)
    add("subifd", "v-subifd", pngs["main"], main, PYR + JPEG + ["--subifd"], True)
    add("bigtiff", "v-bigtiff", pngs["main"], main, PYR + JPEG + ["--bigtiff"], True)
    add("tile128", "v-tile128", pngs["main"], main,
        ["--tile", "--pyramid", "--tile-width", "256", "--tile-height", "128"] + JPEG, True,
        tile=(256, 128))
    add("gray", "v-gray", pngs["gray"], gray, PYR + JPEG, True)
    add("rgba", "v-rgba", pngs["rgba"], rgba, PYR + ["--compression", "deflate"], False)
    # 16-bit RGB: every 8-bit value v becomes v * 257 (so 255 -> 65535)
    v16 = os.path.join(work, "main16.v")
    vips("linear", pngs["main"], os.path.join(work, "lin.v"), 257, 0)
    vips("cast", os.path.join(work, "lin.v"), os.path.join(work, "cast.v"), "ushort")
    vips("copy", os.path.join(work, "cast.v"), v16, "--interpretation", "rgb16")
    add("rgb16", "v-rgb16", v16, main, PYR + ["--compression", "deflate"], False)
    add("striped", "v-striped", pngs["main"], main, ["--compression", "deflate"], False,
        tile=None, pyramid=False)

    extras = {}
    # an image in a sub-folder, reached as sub%2Fdir%2Fx
    os.makedirs(os.path.join(root, "sub", "dir"), exist_ok=True)
    shutil.copy(tif("pattern"), os.path.join(root, "sub", "dir", "x.tif"))
    extras["sub"] = "sub%2Fdir%2Fx"
    # a file name with a space and a plus: "+" in a path is not a space
    shutil.copy(tif("odd"), os.path.join(root, "a b+c.tif"))
    extras["spaced"] = "a%20b+c"
    # a file the tests replace while the daemon runs
    shutil.copy(tif("pattern"), tif("swap"))
    extras["swap"] = "swap"

    # bait for traversal: a valid image just outside the root, and a symlink to it
    outside = os.path.join(os.path.dirname(root.rstrip("/")), "outside.tif")
    shutil.copy(tif("pattern"), outside)
    os.symlink(outside, tif("escape"))
    extras["symlink"] = "escape"

    extras["corrupt"] = make_corrupt(tif("pattern"), tif("corrupt"))
    extras["huge"] = "huge"
    write_huge_tiff(tif("huge"), 100000, 100000)
    return variants, extras


def tiff_tiles(path):
    """(tile offsets, byte counts, tile w, tile h, width, height) of IFD 0."""
    with Image.open(path) as im:
        tags = im.tag_v2
        return (list(tags[324]), list(tags[325]), tags[322], tags[323], im.size[0], im.size[1])


def make_corrupt(src, dst):
    """Copy src and overwrite, with garbage, every byte of one tile in the
    middle of the full-resolution level (which lies in the middle of the
    file).  Returns the tile's (x, y, w, h) in full-resolution pixels."""
    shutil.copy(src, dst)
    offs, counts, tw, th, w, h = tiff_tiles(src)
    across = (w + tw - 1) // tw
    tx, ty = across // 2, ((h + th - 1) // th) // 2
    i = ty * across + tx
    with open(dst, "r+b") as f:
        f.seek(offs[i])
        f.write(bytes((0xA5 ^ (k * 31)) & 0xFF for k in range(counts[i])))
    return (tx * tw, ty * th, tw, th)


def write_huge_tiff(path, width, height):
    """A little-endian TIFF declaring width x height RGB, uncompressed, one
    strip per row, whose strip offsets all point past the end of the file."""
    n = height
    entries = []
    # (tag, type, count, value-or-offset placeholder)
    header = 8
    nent = 11
    ifd_size = 2 + nent * 12 + 4
    bps_off = header + ifd_size
    offs_off = bps_off + 6
    counts_off = offs_off + 4 * n
    end = counts_off + 4 * n
    SHORT, LONG = 3, 4
    entries = [
        (256, LONG, 1, width),
        (257, LONG, 1, height),
        (258, SHORT, 3, bps_off),
        (259, SHORT, 1, 1),
        (262, SHORT, 1, 2),
        (273, LONG, n, offs_off),
        (277, SHORT, 1, 3),
        (278, LONG, 1, 1),
        (279, LONG, n, counts_off),
        (284, SHORT, 1, 1),
        (296, SHORT, 1, 1),
    ]
    assert len(entries) == nent
    out = bytearray(b"II*\0" + struct.pack("<I", header))
    out += struct.pack("<H", nent)
    for tag, typ, count, val in entries:
        if typ == SHORT and count == 1:
            out += struct.pack("<HHIHH", tag, typ, count, val, 0)
        else:
            out += struct.pack("<HHII", tag, typ, count, val)
    out += struct.pack("<I", 0)
    out += struct.pack("<HHH", 8, 8, 8)
    row = width * 3
    past = end + 1000
    out += struct.pack("<%dI" % n, *([past] * n))
    out += struct.pack("<%dI" % n, *([row] * n))
    assert len(out) == end
    with open(path, "wb") as f:
        f.write(out)


# --------------------------------------------------------------------------
# JPEG 2000 and plain (JPEG/PNG) sources: made on demand by test_jp2.py and
# test_plain.py (new functions only; the ones above are shared).

OPJ_COMPRESS = shutil.which("opj_compress") or "/usr/bin/opj_compress"


def write_pnm(path, arr, maxval=255):
    """Write a binary PGM (2-D arr) or PPM (H x W x 3 arr) with the given
    maxval; samples over 255 are written as 16-bit big-endian (Netpbm)."""
    a = np.asarray(arr)
    magic = b"P5" if a.ndim == 2 else b"P6"
    h, w = a.shape[:2]
    data = a.astype(">u2" if maxval > 255 else np.uint8).tobytes()
    with open(path, "wb") as f:
        f.write(b"%s\n%d %d\n%d\n" % (magic, w, h, maxval))
        f.write(data)


def opj_start(src, dst, args=()):
    """Start opj_compress -i src -o dst [args]; returns the Popen (so that
    several files can be encoded at once).  Finish it with opj_wait."""
    return subprocess.Popen([OPJ_COMPRESS, "-i", src, "-o", dst] + [str(a) for a in args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def opj_wait(p, dst):
    out, _ = p.communicate(timeout=120)
    if p.returncode != 0 or not os.path.exists(dst):
        raise RuntimeError("opj_compress -> %s failed: %s" % (
            os.path.basename(dst), out.decode(errors="replace")[-400:]))


def j2k_markers(data):
    """Offset of the codestream (SOC) in a JP2 or J2K file's bytes, the SIZ
    segment's offset, and the offset of the first SOT marker."""
    soc = data.find(b"\xff\x4f\xff\x51")
    if soc < 0:
        raise ValueError("no SOC/SIZ")
    pos = soc + 2
    while True:
        marker, length = struct.unpack(">HH", data[pos:pos + 4])
        if marker == 0xFF90:
            return soc, soc + 2, pos
        pos += 2 + length


def patch_siz(src, dst, width=None, height=None, tile_w=None, tile_h=None):
    """Copy a JP2/J2K file, overwriting the SIZ fields given: Xsiz/Ysiz
    (the image is at offset 0, so they are its size) and XTsiz/YTsiz."""
    with open(src, "rb") as f:
        data = bytearray(f.read())
    _, siz, _ = j2k_markers(data)
    # SIZ: marker(2) Lsiz(2) Rsiz(2) Xsiz Ysiz XOsiz YOsiz XTsiz YTsiz ...
    for val, off in ((width, 6), (height, 10), (tile_w, 22), (tile_h, 26)):
        if val is not None:
            struct.pack_into(">I", data, siz + off, val)
    with open(dst, "wb") as f:
        f.write(data)


def garbage_after_main_header(src, dst, nbytes=20000, seed=5):
    """Keep a JP2/J2K file up to its first SOT (the whole main header) and
    replace the rest with random bytes; a JP2's codestream box is made to
    run to the end of the file (length 0)."""
    with open(src, "rb") as f:
        data = bytearray(f.read())
    soc, _, sot = j2k_markers(data)
    out = data[:sot]
    if soc >= 8 and out[soc - 4:soc] == b"jp2c":
        struct.pack_into(">I", out, soc - 8, 0)
    rnd = np.random.RandomState(seed).randint(0, 256, nbytes).astype(np.uint8).tobytes()
    with open(dst, "wb") as f:
        f.write(bytes(out) + rnd)


def _open_jp2c(data):
    """Make a JP2's codestream box run to the end of the file (length 0),
    so a cut or padded codestream reaches the decoder."""
    soc = data.find(b"\xff\x4f\xff\x51")
    if soc >= 8 and data[soc - 4:soc] == b"jp2c":
        struct.pack_into(">I", data, soc - 8, 0)


def truncate_copy(src, dst, fraction=0.5, open_box=False):
    """Copy the first fraction of src; with open_box the JP2 codestream box
    is made to run to the end of the file, so only the codestream is short."""
    with open(src, "rb") as f:
        data = bytearray(f.read())
    data = data[:int(len(data) * fraction)]
    if open_box:
        _open_jp2c(data)
    with open(dst, "wb") as f:
        f.write(data)


def garbage_in_tile_data(src, dst, nbytes=20000, seed=7):
    """Keep a JP2/J2K file up to its first SOT marker segment and SOD, with
    Psot = 0 (the tile-part runs to the end), then random bytes: an intact
    main and tile-part header over garbage packets."""
    with open(src, "rb") as f:
        data = bytearray(f.read())
    _, _, sot = j2k_markers(data)
    lsot = struct.unpack(">H", data[sot + 2:sot + 4])[0]
    sod = sot + 2 + lsot
    assert data[sod:sod + 2] == b"\xff\x93"
    out = data[:sod + 2]
    struct.pack_into(">I", out, sot + 6, 0)
    _open_jp2c(out)
    rnd = np.random.RandomState(seed).randint(0, 256, nbytes).astype(np.uint8).tobytes()
    with open(dst, "wb") as f:
        f.write(bytes(out) + rnd)


def png_chunk(kind, payload):
    import zlib
    return (struct.pack(">I", len(payload)) + kind + payload +
            struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))


def write_png16(path, arr):
    """A non-interlaced 16-bit PNG (gray 2-D, or RGB/RGBA H x W x 3/4 uint16)."""
    import zlib
    a = np.asarray(arr, dtype=np.uint16)
    h, w = a.shape[:2]
    nch = 1 if a.ndim == 2 else a.shape[2]
    ctype = {1: 0, 2: 4, 3: 2, 4: 6}[nch]
    rows = a.reshape(h, w * nch).astype(">u2").tobytes()
    stride = w * nch * 2
    raw = b"".join(b"\0" + rows[i * stride:(i + 1) * stride] for i in range(h))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, ctype, 0, 0, 0)))
        f.write(png_chunk(b"IDAT", zlib.compress(raw, 6)))
        f.write(png_chunk(b"IEND", b""))


def patch_png_size(src, dst, width, height):
    """Copy a PNG declaring width x height in IHDR (its CRC fixed)."""
    with open(src, "rb") as f:
        data = bytearray(f.read())
    assert data[12:16] == b"IHDR"
    struct.pack_into(">II", data, 16, width, height)
    import zlib
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    with open(dst, "wb") as f:
        f.write(data)


def exif_orientation(value):
    """EXIF bytes (for PIL's save(exif=...)) holding only Orientation."""
    ex = Image.Exif()
    ex[0x0112] = value
    return ex.tobytes()


def stored_for_orientation(displayed, orientation):
    """The stored pixel array that a viewer shows as `displayed` after
    applying EXIF orientation 1, 3, 6 or 8 (6: rotate 90 clockwise to
    display, so it is stored rotated 90 counter-clockwise)."""
    k = {1: 0, 3: 2, 6: 1, 8: -1}[orientation]
    return np.ascontiguousarray(np.rot90(displayed, k=k))


def truncate_at_tile_part(src, dst, fraction=0.5):
    """Copy a JP2/J2K file cut cleanly at the first tile-part boundary past
    fraction of its length (an interrupted copy that looks well formed:
    every tile-part left is whole, the rest are simply absent), with an EOC
    and a JP2 codestream box that runs to the end."""
    with open(src, "rb") as f:
        data = bytearray(f.read())
    _, _, pos = j2k_markers(data)
    while pos < len(data) * fraction:
        psot = struct.unpack(">I", data[pos + 6:pos + 10])[0]
        if struct.unpack(">H", data[pos:pos + 2])[0] != 0xFF90 or psot == 0:
            raise ValueError("cannot walk the tile-parts of %s" % src)
        pos += psot
    out = data[:pos] + b"\xff\xd9"
    _open_jp2c(out)
    with open(dst, "wb") as f:
        f.write(out)
