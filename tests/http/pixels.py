"""pixels.py - decode an image response and compare it with the pattern.

The idea: walk a grid of sample points over the returned image and map each
one back through the IIIF pipeline in reverse (rotation, then mirroring,
then scaling, then the region offset) to a point of the full-resolution
source.  Points that land within a margin of a block edge are skipped
(resampling and JPEG blur edges); every other point must have its block's
colour within a tolerance.  This checks region, size, mirroring and the
90/180/270 rotations with one function, and says where a mismatch is.
"""

import io
import math

import numpy as np
from PIL import Image

from images import BLOCK

# Per-channel tolerance: JPEG output at block centres is within a few levels;
# lossless output of lossless sources is exact but for resampling rounding.
TOL_JPEG = 12
TOL_LOSSLESS = 2
TOL_WEBP = 16
TOL_MIXED = 48   # inside a codec block that straddles two colours


class Mismatch(AssertionError):
    pass


def decode(body):
    im = Image.open(io.BytesIO(body))
    im.load()
    return im


def decode_pdf(body, dpi=72):
    """Render page 1 of a PDF with poppler's pdftoppm (poppler-utils) at dpi
    and return it as a PIL image whose .format is "PDF"."""
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        src = d + "/in.pdf"
        with open(src, "wb") as f:
            f.write(body)
        r = subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-singlefile", src, d + "/out"],
                           capture_output=True, timeout=60)
        if r.returncode != 0:
            raise ValueError("pdftoppm failed: %s" % r.stderr.decode(errors="replace")[-300:])
        im = Image.open(d + "/out.png")
        im.load()
    im.format = "PDF"
    return im


def rgb_array(im):
    if im.mode == "I;16" or im.mode.startswith("I;16"):
        a = np.asarray(im, dtype=np.float64) / 257.0
        a = np.rint(a).astype(np.int32)
        return np.stack([a, a, a], axis=-1)
    if im.mode in ("1", "L", "LA", "P", "RGBA", "CMYK", "YCbCr", "I", "F"):
        im = im.convert("RGB")
    elif im.mode != "RGB":
        im = im.convert("RGB")
    return np.asarray(im, dtype=np.int32)


def alpha_array(im):
    if im.mode in ("RGBA", "LA"):
        return np.asarray(im.getchannel("A"), dtype=np.int32)
    if im.mode == "P" and "transparency" in im.info:
        return np.asarray(im.convert("RGBA").getchannel("A"), dtype=np.int32)
    return None


def _inverse(cx, cy, region, out_size, rotation, mirror):
    """Map final-image coordinates (floats) back to source coordinates."""
    ow, oh = out_size
    rx, ry, rw, rh = region
    rot = int(rotation) % 360
    # undo the clockwise rotation: (x, y) of the pre-rotation image, size ow x oh
    if rot == 0:
        x, y = cx, cy
    elif rot == 90:
        x, y = cy, oh - cx
    elif rot == 180:
        x, y = ow - cx, oh - cy
    elif rot == 270:
        x, y = ow - cy, cx
    else:
        raise ValueError("only multiples of 90 can be mapped")
    if mirror:
        x = ow - x
    return rx + x * (rw / ow), ry + y * (rh / oh)


def source_points(final_w, final_h, region, out_size, rotation=0, mirror=False, step=None):
    """Sample points of the final image and where they come from in the source.
    region = (rx, ry, rw, rh) in full-resolution pixels; out_size = (ow, oh),
    the size after scaling and before rotation.  Returns (X, Y, SX, SY) as
    numpy arrays: integer output pixel coordinates and float source ones."""
    if step is None:
        step = max(1, min(final_w, final_h) // 48)
    xs = np.arange(step // 2, final_w, step)
    ys = np.arange(step // 2, final_h, step)
    X, Y = np.meshgrid(xs, ys)
    X = X.ravel()
    Y = Y.ravel()
    sx, sy = _inverse(X + 0.5, Y + 0.5, region, out_size, rotation, mirror)
    return X, Y, sx, sy


def coding_unit(im):
    """Size in pixels of the lossy codec's colour block (JPEG MCU: 8 for
    4:4:4, 16 for 4:2:0; WebP macroblock 16), 0 for lossless formats."""
    if im.format == "JPEG":
        try:
            from PIL import JpegImagePlugin
            samp = JpegImagePlugin.get_sampling(im)
        except Exception:
            samp = 2
        return 8 if samp in (0, -1) else 16
    if im.format == "WEBP":
        return 16
    if im.format == "PDF":
        return 16   # the page is the answer's JPEG (4:2:0 below quality 90)
    return 0


def _unit_clean(X, Y, unit, region, out_size, rotation, mirror, pad_src):
    """True where the codec block holding output pixel (X, Y), grown by two
    pixels (chroma upsampling reads neighbours), maps inside one pattern
    block: there lossy codecs reproduce a flat colour almost exactly."""
    x0 = (X // unit) * unit - 2.0
    y0 = (Y // unit) * unit - 2.0
    x1 = x0 + unit + 4.0
    y1 = y0 + unit + 4.0
    xs, ys = [], []
    for cx, cy in ((x0, y0), (x1, y0), (x0, y1), (x1, y1)):
        sx, sy = _inverse(cx, cy, region, out_size, rotation, mirror)
        xs.append(sx)
        ys.append(sy)
    sx0 = np.minimum.reduce(xs) - pad_src
    sx1 = np.maximum.reduce(xs) + pad_src
    sy0 = np.minimum.reduce(ys) - pad_src
    sy1 = np.maximum.reduce(ys) + pad_src
    return ((np.floor(sx0 / BLOCK) == np.floor(sx1 / BLOCK)) &
            (np.floor(sy0 / BLOCK) == np.floor(sy1 / BLOCK)))


def check_pattern(im, pattern, region, out_size, rotation=0, mirror=False, tol=TOL_JPEG,
                  margin_out=5, check_alpha=False, what=""):
    """Raise Mismatch unless image im shows pattern's region scaled to
    out_size, mirrored and rotated as given.  Returns the points checked.

    Points within margin_out output pixels (resampling blur) of a block
    edge are skipped.  With a lossy output format, points whose codec block
    (JPEG MCU, WebP macroblock) lies inside one pattern block must be within
    tol; the others, where the codec mixes two colours, within TOL_MIXED,
    which is still under half the 127-level spacing of the palette, so no
    colour can pass for another."""
    rot = int(rotation) % 360
    fw, fh = im.size
    ow, oh = out_size
    if rot in (90, 270):
        if (fw, fh) != (oh, ow):
            raise Mismatch("%ssize %dx%d, expected %dx%d" % (what, fw, fh, oh, ow))
    elif (fw, fh) != (ow, oh):
        raise Mismatch("%ssize %dx%d, expected %dx%d" % (what, fw, fh, ow, oh))
    px = rgb_array(im)
    alpha = alpha_array(im)
    X, Y, sx, sy = source_points(fw, fh, region, out_size, rot, mirror)
    rx, ry, rw, rh = region
    scale = max(rw / ow, rh / oh)
    if BLOCK / scale < 8:
        return 0    # blocks under 8 output pixels are all edge: only the size is checked
    # skip the resampling blur near block edges, but keep at least the middle fifth
    margin = min(margin_out * scale + 1.5, 0.4 * BLOCK)
    bx = np.floor(sx / BLOCK).astype(np.int64)
    by = np.floor(sy / BLOCK).astype(np.int64)
    dx = np.minimum(sx - bx * BLOCK, (bx + 1) * BLOCK - sx)
    dy = np.minimum(sy - by * BLOCK, (by + 1) * BLOCK - sy)
    inside = (sx >= 0) & (sy >= 0) & (sx < pattern.width) & (sy < pattern.height)
    keep = inside & (dx >= margin) & (dy >= margin)
    transparent = pattern.transparent(bx, by)
    if not check_alpha or alpha is None:
        # transparent blocks may be composited on anything when alpha is dropped
        keep &= ~transparent
    if keep.sum() < 4:
        raise Mismatch("%sfewer than 4 sample points are away from block edges (test bug?)" % what)
    unit = coding_unit(im)
    if unit:
        clean = _unit_clean(X, Y, unit, region, out_size, rot, mirror, 2 * scale + 1.0)
    else:
        clean = np.ones(X.shape, dtype=bool)
    X, Y, bx, by, transparent, clean = X[keep], Y[keep], bx[keep], by[keep], transparent[keep], clean[keep]
    limit = np.where(clean, tol, max(tol, TOL_MIXED))
    expected = pattern.colour(bx, by)
    got = px[Y, X]
    diff = np.abs(got - expected).max(axis=1)
    if check_alpha and alpha is not None:
        a = alpha[Y, X]
        bad_alpha = np.where(transparent, a != 0, a < 250)
        colour_bad = (diff > limit) & ~transparent
        bad = colour_bad | bad_alpha
    else:
        bad = diff > limit
    if bad.any():
        idx = np.nonzero(bad)[0]
        first = idx[0]
        msg = "%s%d of %d sample points differ; first at (%d,%d): expected %s got %s (tolerance %d)" % (
            what, len(idx), len(X), X[first], Y[first], tuple(int(v) for v in expected[first]),
            tuple(int(v) for v in got[first]), limit[first])
        if check_alpha and alpha is not None:
            msg += " alpha %d (transparent=%s)" % (alpha[Y[first], X[first]], bool(transparent[first]))
        raise Mismatch(msg)
    return len(X)


def check_gray(im, pattern, region, out_size, tol=TOL_JPEG):
    """Gray quality: R == G == B everywhere (or a one-channel image) and the
    value is the luminance of the expected colour (ITU-R BT.601 or BT.709
    weights: the spec does not say which)."""
    if im.mode not in ("L", "LA", "I;16", "1"):
        px = rgb_array(im)
        spread = (px.max(axis=2) - px.min(axis=2)).max()
        if spread > 3:
            raise Mismatch("gray image has colour: channels differ by up to %d" % spread)
    px = rgb_array(im)
    fw, fh = im.size
    X, Y, sx, sy = source_points(fw, fh, region, out_size)
    scale = max(region[2] / out_size[0], region[3] / out_size[1])
    margin = 5 * scale + 1.5
    bx = np.floor(sx / BLOCK).astype(np.int64)
    by = np.floor(sy / BLOCK).astype(np.int64)
    dx = np.minimum(sx - bx * BLOCK, (bx + 1) * BLOCK - sx)
    dy = np.minimum(sy - by * BLOCK, (by + 1) * BLOCK - sy)
    keep = (dx >= margin) & (dy >= margin)
    X, Y, bx, by = X[keep], Y[keep], bx[keep], by[keep]
    c = pattern.colour(bx, by).astype(np.float64)
    l601 = c @ np.array([0.299, 0.587, 0.114])
    l709 = c @ np.array([0.2126, 0.7152, 0.0722])
    got = px[Y, X, 0]
    ok = (np.abs(got - l601) <= tol) | (np.abs(got - l709) <= tol)
    if not ok.all():
        i = np.nonzero(~ok)[0][0]
        raise Mismatch("%d of %d points are not the luminance; first at (%d,%d): colour %s, "
                       "expected %.0f (601) or %.0f (709), got %d" % (
                           (~ok).sum(), len(ok), X[i], Y[i], tuple(int(v) for v in c[i]),
                           l601[i], l709[i], got[i]))
    return len(X)


def rotated_box(w, h, degrees):
    t = math.radians(degrees)
    c, s = abs(math.cos(t)), abs(math.sin(t))
    return (w * c + h * s, w * s + h * c)
