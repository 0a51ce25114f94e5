#!/bin/sh
# demo.sh - from a fresh Debian 12 checkout to a running Tessera with its
# viewer pages: installs the dependencies, configures and builds, makes a
# sample pyramidal TIFF and, beside it, a small sample collection (two
# pages, a sound, a video and a PDF: tools/sample-collection.py), and serves
# them over the embedded HTTP server.  Both steps keep what is already made.
#
#   sh tools/demo.sh            # then open http://127.0.0.1:8080/
#                               # (Mirador: http://127.0.0.1:8080/viewer/mirador.html)
#   PORT=9000 sh tools/demo.sh
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
port=${PORT:-8080}

sh tools/install-deps.sh
if [ ! -f config.mk ] || [ -n "$(find configure -newer config.mk)" ]; then
	./configure
fi
make
sh tools/sample-image.sh build/demo-images
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3   # Debian's, with PIL
"$py" tools/sample-collection.py build/demo-images

echo "Tessera is serving http://127.0.0.1:$port/ (viewer page); press Ctrl-C to stop"
# Flat images of 4 megapixels or more dropped into build/demo-images get a
# pyramid made on demand (tessera(8), "Pyramids made on demand").
exec ./tessera serve --root build/demo-images --http "127.0.0.1:$port" --viewer-dir viewer \
	--auto-pyramid-min-pixels 4000000 --pyramid-cache-dir build/demo-pyramids
