#!/bin/sh
# sample-image.sh DIR - put a tiled pyramidal TIFF at DIR/sample.tif.
#
# First choice: a real photograph from the shared test corpus
# (../shared/corpus/fetch-corpus.sh, which takes it from a Debian package),
# cached in $CORPUS_DIR (default ~/.cache/tessera-corpus).  When that is not
# possible (no shared folder, no network), a test pattern is drawn with
# Python/PIL instead, so the demo always has something to show.  Either way
# vips makes the pyramid: 256x256 JPEG tiles at Q 90, the layout the server
# reads fastest.  Keeps an existing DIR/sample.tif.
set -eu

dir=${1:?usage: sample-image.sh DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
fetch="$top/../shared/corpus/fetch-corpus.sh"
cache=${CORPUS_DIR:-${HOME:-$top/build}/.cache/tessera-corpus}
out="$dir/sample.tif"

say() { printf 'sample-image: %s\n' "$*"; }

mkdir -p "$dir"
if [ -s "$out" ]; then
	say "kept $out"
	exit 0
fi
command -v vips >/dev/null 2>&1 || { say "vips is missing (sh tools/install-deps.sh)"; exit 1; }

pyramid() { # SRC: write $out through a temporary name
	vips tiffsave "$1" "$out.tmp.tif" --tile --pyramid --compression jpeg --Q 90 \
		--tile-width 256 --tile-height 256 && mv "$out.tmp.tif" "$out"
}

# 1. A photograph from the corpus (originals only: no derived files needed).
photo=
if [ -f "$fetch" ]; then
	say "fetching the corpus originals into $cache"
	if CORPUS_BIG=0 CORPUS_NO_DERIVED=1 bash "$fetch" "$cache" >/dev/null 2>&1 ||
	   [ -s "$cache/src/seeding.jpg" ] || [ -s "$cache/src/dragonfly.jpg" ]; then
		# seeding is CC0; dragonfly (CC-BY-SA-4.0, by Bolly) if it is the one there
		for name in seeding dragonfly; do
			if [ -s "$cache/src/$name.jpg" ]; then
				photo="$cache/src/$name.jpg"
				break
			fi
		done
	fi
else
	say "no shared corpus at $fetch"
fi
if [ -n "$photo" ] && pyramid "$photo"; then
	say "made $out from $(basename "$photo") ($(vipsheader "$out" | cut -d: -f2- | cut -d, -f1 | sed 's/^ *//'))"
	exit 0
fi
rm -f "$out.tmp.tif"

# 2. A drawn test pattern: colour gradients, a grid every 256 px with the
# tile numbers, and circles, so zooming and tile placement are easy to see.
say "corpus not available; drawing a test pattern"
png="$dir/.sample-pattern.png"
# Debian's python3 is the one with PIL and numpy (python3-pil, python3-numpy).
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
"$py" - "$png" <<'EOF'
import sys
import numpy as np
from PIL import Image, ImageDraw

W, H, T = 4096, 3072, 256
y, x = np.mgrid[0:H, 0:W].astype(np.float32)
r = 255 * x / W
g = 255 * y / H
b = 128 + 127 * np.sin(np.hypot(x - W / 2, y - H / 2) / 90.0)
img = Image.fromarray(np.dstack([r, g, b]).clip(0, 255).astype(np.uint8), "RGB")
d = ImageDraw.Draw(img)
for gx in range(0, W, T):
    d.line([(gx, 0), (gx, H)], fill=(255, 255, 255), width=1)
for gy in range(0, H, T):
    d.line([(0, gy), (W, gy)], fill=(255, 255, 255), width=1)
for ty in range(H // T):
    for tx in range(W // T):
        d.text((tx * T + 8, ty * T + 8), "%d,%d" % (tx, ty), fill=(0, 0, 0))
for k in range(1, 6):
    rad = k * 280
    d.ellipse([W / 2 - rad, H / 2 - rad, W / 2 + rad, H / 2 + rad],
              outline=(255, 255, 255), width=6)
img.save(sys.argv[1])
EOF
if pyramid "$png"; then
	rm -f "$png"
	say "made $out (4096x3072 test pattern)"
else
	rm -f "$png" "$out.tmp.tif"
	say "could not make $out"
	exit 1
fi
