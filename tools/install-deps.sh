#!/bin/sh
# install-deps.sh - install what Tessera needs to build and test, on Debian 12.
#
# Idempotent: a package already installed is skipped (dpkg-query), apt-get
# update runs once and only when something is missing, and the viewer's npm
# packages are installed only when one of them is missing (so an older
# checkout that has only OpenSeadragon gets Mirador too).  Run as
# root (or with sudo available).  Prints what it did.
#
#   sh tools/install-deps.sh
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)

# Build: compiler, autoconf for ./configure, and the -dev libraries that
# configure probes with pkg-config.
BUILD_PKGS="build-essential gcc make autoconf pkg-config libtiff-dev
libturbojpeg0-dev libjpeg62-turbo-dev libpng-dev libwebp-dev libjansson-dev
libfcgi-dev libzstd-dev libopenjp2-7-dev libmemcached-dev zlib1g-dev libgif-dev
g++ libopenjph-dev"
# (g++ and libopenjph-dev: the HTJ2K output of `tessera convert --htj2k`,
# src/convert/ojph_shim.cpp; optional, configure leaves it out without them.)

# Tests: nginx and spawn-fcgi for the FastCGI tests, vips and opj_compress to
# make test images, memcached for the shared-cache tests, Python with
# PIL/numpy for the HTTP tests, curl, and node with npm for the viewer's
# OpenSeadragon.
TEST_PKGS="nginx-light spawn-fcgi libvips-tools libopenjp2-tools python3
python3-pil python3-numpy libtiff-tools curl nodejs npm ca-certificates memcached
chromium ffmpeg poppler-utils apache2 libapache2-mod-fcgid openjph-tools"
# (openjph-tools: ojph_compress makes HTJ2K test files in
# tests/http/test_htj2k.py independently of our own converter.)
# (poppler-utils: pdftoppm renders the pdf answers in tests/http/test_formats.py.
# apache2 and libapache2-mod-fcgid: tests/http/test_deployments.py runs a
# private Apache with the shipped conf/apache-fcgid.conf.)
# (chromium: Debian's browser, driven headless by the browser tests in
# tests/browser through playwright-core.  ffmpeg: tests/unit/probe makes
# small MP3/Ogg/FLAC/WAV/MP4/WebM/Ogv files with it at test time and checks
# our probe against its ffprobe, and tools/sample-collection.py makes the
# demo's sample sound and video with it.  apache2 and libapache2-mod-fcgid:
# tests/http/test_deployments.py runs conf/apache-fcgid.conf in a private
# Apache on a 127.0.0.1 port; the system's Apache service is never used,
# and installing the package may leave it enabled: `systemctl disable --now
# apache2` if port 80 is not meant for it.)

# Grok (optional): windows of untiled HTJ2K files, src/source/jp2_grok.c
# (bench/J2K_DECODERS.md); without it configure builds OpenJPEG only.
# ojph_compress (openjph-tools) also makes tests/unit/source/test_jp2_htj2k.c's files.
BUILD_PKGS="$BUILD_PKGS libgrokj2k1-dev"

say() { printf 'install-deps: %s\n' "$*"; }

if [ "$(id -u)" = 0 ]; then
	SUDO=
elif command -v sudo >/dev/null 2>&1; then
	SUDO=sudo
else
	say "must run as root (or with sudo) to install packages"
	SUDO=none
fi

installed() {
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# A requirement is met by the package itself or by an equivalent that is
# already there: another nginx flavour, or node/npm installed from
# elsewhere (Debian's npm package would conflict with a node that bundles
# its own npm).
satisfied() {
	installed "$1" && return 0
	case $1 in
	nginx-light)
		for alt in nginx-core nginx-full nginx-extras; do
			installed "$alt" && return 0
		done ;;
	nodejs) command -v node >/dev/null 2>&1 && return 0 ;;
	npm) command -v npm >/dev/null 2>&1 && return 0 ;;
	esac
	return 1
}

missing=
for p in $BUILD_PKGS $TEST_PKGS; do
	satisfied "$p" || missing="$missing $p"
done

if [ -z "$missing" ]; then
	say "all Debian packages already installed"
else
	if [ "$SUDO" = none ]; then
		say "missing:$missing"
		exit 1
	fi
	say "apt-get update"
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
	say "apt-get install:$missing"
	# shellcheck disable=SC2086 # the list is meant to split
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends $missing
fi

# The viewer pages' OpenSeadragon and Mirador come from npm (no CDN at run
# time).  npm ci installs Mirador's whole dependency tree although only its
# self-contained browser bundle (mirador/dist/mirador.min.js) is served.
if [ -d "$top/viewer/node_modules/openseadragon" ] &&
   [ -f "$top/viewer/node_modules/mirador/dist/mirador.min.js" ]; then
	say "viewer/node_modules already present"
else
	if [ -f "$top/viewer/package-lock.json" ]; then
		say "npm ci --prefix viewer"
		npm ci --prefix "$top/viewer" --no-audit --no-fund --ignore-scripts
	else
		say "npm install --prefix viewer"
		npm install --prefix "$top/viewer" --no-audit --no-fund
	fi
fi
# The browser tests' playwright-core (it drives /usr/bin/chromium; it does
# not download a browser of its own), the Universal Viewer and pdfjs-dist.
if [ -d "$top/tests/browser/node_modules/playwright-core" ] &&
   [ -d "$top/tests/browser/node_modules/universalviewer/dist" ] &&
   [ -d "$top/tests/browser/node_modules/pdfjs-dist/build" ]; then
	say "tests/browser/node_modules already present"
else
	# --ignore-scripts: only prebuilt files are used (UV's dist/, pdfjs-dist's
	# build/); UV's build tools (esbuild) and pdfjs-dist's optional native
	# canvas would otherwise run install scripts that fetch binaries.
	say "npm ci --prefix tests/browser"
	npm ci --prefix "$top/tests/browser" --no-audit --no-fund --ignore-scripts
fi
say "done"
