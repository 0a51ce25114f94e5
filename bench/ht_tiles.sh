#!/bin/sh
# ht_tiles.sh - build and run bench/ht_tiles.c: whole tiles of tiled HTJ2K
# files, OpenJPEG against OpenJPH on the cut one-tile code-stream
# (src/source/jp2_ojph_tile.c), per level, with a pixel comparison.
#
# Not part of make.  Needs a built tree (./configure && make: it links
# build/libtessera.a and uses ./tessera convert), ojph_compress
# (openjph-tools) and vips.  Files are made once under $OUT (default
# build/bench-ht) from the corpus's source JPEGs:
#   NAME-ll.jph, NAME-q85.jph    tessera convert --htj2k --tile 1024 (what the
#                                server meets: RPCL, 256 precincts, TLM),
#                                lossless and quality 85
#   NAME-ojph.j2c                ojph_compress 1024 tiles, 256 precincts, 9/7
#   NAME-noprec.j2c              the same without precincts, reversible
#   NAME-odd.j2c                 300x200 tiles, image offset (37,11), tile
#                                offset (5,3), 9/7: edge tiles of odd sizes
#   NAME-grey.j2c                one component, 512 tiles, reversible
# Environment: BENCH_CORPUS (default /work/main/build/corpus), HT_IMAGES
# (default "dragonfly kleiber"), HT_ROUNDS (5), HT_LEVELS (0,1,2,3),
# HT_THREADS (OpenJPEG threads, default 0 = none), HT_ALL=1 every tile
# (default: tile (1,1) only for the timing files, every tile for the others).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
corpus=${BENCH_CORPUS:-/work/main/build/corpus}
out=${OUT:-$root/build/bench-ht}
images=${HT_IMAGES:-dragonfly kleiber}
mkdir -p "$out"

bin=$out/ht_tiles
gcc -O2 -g -std=gnu11 -Wall -Wextra -Wshadow -I"$root/include" -I"$root" \
	$(pkg-config --cflags libopenjp2) -DJP2_THREADS="${HT_THREADS:-0}" \
	-c "$root/src/source/jp2_opj.c" -o "$out/jp2_opj.o"
gcc -O2 -g -std=gnu11 -Wall -Wextra -Wshadow -I"$root/include" -I"$root" \
	-c "$here/ht_tiles.c" -o "$out/ht_tiles.o"
gcc -o "$bin" "$out/ht_tiles.o" "$out/jp2_opj.o" "$root/build/libtessera.a" \
	$(sed -n 's/^TS_LIBS *= *//p' "$root/config.mk")

timing=""
checks=""
for n in $images; do
	src=$corpus/src/$n.jpg
	[ -s "$out/$n.ppm" ] || vips copy "$src" "$out/$n.ppm"
	[ -s "$out/$n.pgm" ] || vips colourspace "$src" "$out/$n.pgm" b-w
	[ -s "$out/$n-ll.jph" ] ||
		"$root/tessera" convert --quiet --tile 1024 --htj2k --lossless "$corpus/images/$n.jp2" "$out/$n-ll.jph"
	[ -s "$out/$n-q85.jph" ] ||
		"$root/tessera" convert --quiet --tile 1024 --htj2k --quality 85 "$corpus/images/$n.jp2" "$out/$n-q85.jph"
	[ -s "$out/$n-ojph.j2c" ] ||
		ojph_compress -i "$out/$n.ppm" -o "$out/$n-ojph.j2c" -num_decomps 5 \
			-prog_order RPCL -block_size '{64,64}' -precincts '{256,256}' \
			-tile_size '{1024,1024}' -qstep 0.0045 >/dev/null
	[ -s "$out/$n-noprec.j2c" ] ||
		ojph_compress -i "$out/$n.ppm" -o "$out/$n-noprec.j2c" -num_decomps 5 \
			-block_size '{64,64}' -tile_size '{1024,1024}' -reversible true >/dev/null
	[ -s "$out/$n-odd.j2c" ] ||
		ojph_compress -i "$out/$n.ppm" -o "$out/$n-odd.j2c" -num_decomps 4 \
			-block_size '{32,32}' -precincts '{64,64}' -tile_size '{300,200}' \
			-image_offset '{37,11}' -tile_offset '{5,3}' -qstep 0.01 >/dev/null
	[ -s "$out/$n-grey.j2c" ] ||
		ojph_compress -i "$out/$n.pgm" -o "$out/$n-grey.j2c" -num_decomps 5 \
			-block_size '{64,64}' -tile_size '{512,512}' -reversible true >/dev/null
	timing="$timing $out/$n-ll.jph $out/$n-q85.jph $out/$n-ojph.j2c"
	checks="$checks $out/$n-noprec.j2c $out/$n-odd.j2c $out/$n-grey.j2c"
done

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'); load average: $(cut -d' ' -f1-3 /proc/loadavg); OpenJPEG threads ${HT_THREADS:-0}"
if [ "${HT_ALL:-0}" = 1 ]; then
	"$bin" -n "${HT_ROUNDS:-5}" -l "${HT_LEVELS:-0,1,2,3}" $timing
else
	"$bin" -c -n "${HT_ROUNDS:-5}" -l "${HT_LEVELS:-0,1,2,3}" $timing
fi
"$bin" -n 1 -l "${HT_LEVELS:-0,1,2,3}" $checks
echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg)"
