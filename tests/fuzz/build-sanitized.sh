#!/bin/sh
# build-sanitized.sh - build the daemon with a sanitizer into its own binary.
#
# Usage: sh tests/fuzz/build-sanitized.sh [asan|tsan] [OUT]
#   asan (default): -fsanitize=address,undefined -> /tmp/tessera-asan
#   tsan:           -fsanitize=thread            -> /tmp/tessera-tsan
#
# Compiles every src/**/*.c (and src/**/*.cpp with OpenJPH) straight from the tree with the flags configure
# wrote into config.mk, objects under a private directory (so ./tessera and
# build/ are never touched), in parallel, and links one binary.  The fuzzer
# (tests/fuzz/http_fuzz.py) and the HTTP suite take it through TESSERA_BIN.
set -e
cd "$(dirname "$0")/../.."
kind=${1:-asan}
case $kind in
    asan) san="-fsanitize=address,undefined" ;;
    tsan) san="-fsanitize=thread" ;;
    *) echo "usage: $0 [asan|tsan] [OUT]" >&2; exit 2 ;;
esac
out=${2:-/tmp/tessera-$kind}
objdir=${TMPDIR:-/tmp}/tessera-$kind-obj
mk() { sed -n "s/^$1 *= *//p" config.mk; }
cflags="-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer $san -Iinclude -I. $(mk TS_CFLAGS)"
libs="$(mk TS_LIBS)"
mkdir -p "$objdir"
find src -name '*.c' | sort | while read -r f; do
    o="$objdir/$(echo "$f" | tr / _).o"
    echo "$f $o"
done > "$objdir/list"
# shellcheck disable=SC2086
xargs -P "$(nproc)" -L 1 sh -c 'gcc '"$cflags"' -c -o "$1" "$0"' < "$objdir/list"
# The C++ shims (OpenJPH: src/convert/ojph_shim.cpp, src/source/jp2_ojph.cpp),
# when configure found OpenJPH (TS_CXX_SOURCES = yes).
: > "$objdir/cxxlist"
if [ "$(mk TS_CXX_SOURCES)" = yes ]; then
    find src -name '*.cpp' | sort | while read -r f; do
        o="$objdir/$(echo "$f" | tr / _).o"
        # shellcheck disable=SC2086
        g++ -std=c++17 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer $san -Iinclude -I. \
            $(mk TS_CFLAGS) -c -o "$o" "$f"
        echo "$o" >> "$objdir/cxxlist"
    done
fi
# shellcheck disable=SC2086
g++ $san -o "$out" $(cut -d' ' -f2 "$objdir/list") $(cat "$objdir/cxxlist") $libs
echo "built $out"
