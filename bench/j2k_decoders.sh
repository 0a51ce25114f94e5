#!/bin/sh
# j2k_decoders.sh - build and run bench/j2k_decoders.c: OpenJPEG 2.5, Grok 10
# and OpenJPH (HTJ2K) decoding the windows an image server asks for, on the
# corpus's JPEG 2000 files and on untiled and HTJ2K versions made here.
#
# Not part of `make` or `make check`.  Installs what it needs (as root, with
# apt-get, idempotently), makes the test files once under $OUT (default
# build/bench-j2k), then runs the bench single-threaded and with 2 threads.
#
# Environment:
#   BENCH_CORPUS   corpus root (default /work/main/build/corpus); read only
#   J2K_IMAGES     corpus image names to use (default "dragonfly kleiber")
#   J2K_ROUNDS     rounds per case (default 21), J2K_BUDGET seconds per case (6)
#   J2K_THREADS    thread counts to run (default "1 2")
#   J2K_CASES      comma list of cases (default all), J2K_DECODERS likewise
#   J2K_RSS=1      also report peak RSS per decoder and case
# Usage: sh bench/j2k_decoders.sh
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
corpus=${BENCH_CORPUS:-/work/main/build/corpus}
out=${OUT:-$root/build/bench-j2k}
images=${J2K_IMAGES:-dragonfly kleiber}
mkdir -p "$out"

# 1. what it needs
need=""
for p in libopenjp2-7-dev libopenjp2-tools libgrokj2k1-dev grokj2k-tools \
         libopenjph-dev openjph-tools libvips-tools pkg-config g++; do
	dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
done
if [ -n "$need" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "j2k_decoders.sh: needs$need (run as root to install)" >&2
		exit 1
	fi
	n=0
	until apt-get install -y $need; do
		n=$((n + 1)); [ $n -lt 5 ] || exit 1
		sleep 15   # another install holds the dpkg lock
	done
fi

# 2. the program (OpenJPH's .pc of Debian 0.9.0 is empty: plain -lopenjph)
bin=$out/j2k_decoders
if [ ! -x "$bin" ] || [ "$here/j2k_decoders.c" -nt "$bin" ] ||
   [ "$here/j2k_decoders_ojph.cpp" -nt "$bin" ]; then
	g++ -O2 -g -Wall -Wextra -c "$here/j2k_decoders_ojph.cpp" -o "$out/ojph.o"
	gcc -O2 -g -std=gnu11 -Wall -Wextra -Wshadow -DHAVE_GROK -DHAVE_OJPH \
		$(pkg-config --cflags libopenjp2 libgrokj2k) \
		-c "$here/j2k_decoders.c" -o "$out/main.o"
	g++ -o "$bin" "$out/main.o" "$out/ojph.o" \
		$(pkg-config --libs libopenjp2 libgrokj2k) -lopenjph
fi

# 3. the files: corpus Part 1 (tiled 1024, RPCL, precincts 256, 64x64
# blocks, TLM, PLT, 9/7 at 10:1), and made here from the corpus's source
# JPEGs: the same untiled; HTJ2K tiled and untiled with OpenJPH (qstep
# 0.0045, about the corpus's byte count; OpenJPH 0.9 writes neither TLM nor
# PLT), and HTJ2K tiled with Grok (-M 64, its default quantisation, PLT).
files=""
for n in $images; do
	src=$corpus/src/$n.jpg
	files="$files $corpus/images/$n.jp2"
	[ -s "$out/$n.ppm" ] || vips copy "$src" "$out/$n.ppm"
	[ -s "$out/${n}_untiled.jp2" ] ||
		opj_compress -i "$out/$n.ppm" -o "$out/${n}_untiled.jp2" -p RPCL \
			-c '[256,256]' -b 64,64 -TLM -PLT -r 10 -I -n 6 >/dev/null
	[ -s "$out/${n}_ht.j2c" ] ||
		ojph_compress -i "$out/$n.ppm" -o "$out/${n}_ht.j2c" -num_decomps 5 \
			-prog_order RPCL -block_size '{64,64}' -precincts '{256,256}' \
			-tile_size '{1024,1024}' -qstep 0.0045 >/dev/null
	[ -s "$out/${n}_ht_untiled.j2c" ] ||
		ojph_compress -i "$out/$n.ppm" -o "$out/${n}_ht_untiled.j2c" -num_decomps 5 \
			-prog_order RPCL -block_size '{64,64}' -precincts '{256,256}' \
			-qstep 0.0045 >/dev/null
	[ -s "$out/${n}_grkht.jp2" ] ||
		grk_compress -i "$out/$n.ppm" -o "$out/${n}_grkht.jp2" -t 1024,1024 -p RPCL \
			-c '[256,256]' -b 64,64 -L -I -M 64 -n 6 -H 1 >/dev/null
	files="$files $out/${n}_untiled.jp2 $out/${n}_ht.j2c $out/${n}_ht_untiled.j2c $out/${n}_grkht.jp2"
done

# 4. the runs
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'); load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"
set -- ${J2K_CASES:+-c "$J2K_CASES"} ${J2K_DECODERS:+-d "$J2K_DECODERS"} \
	-n "${J2K_ROUNDS:-21}" -b "${J2K_BUDGET:-6}"
for t in ${J2K_THREADS:-1 2}; do
	"$bin" -t "$t" "$@" $files
	echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg)"
done
if [ "${J2K_RSS:-0}" = 1 ]; then
	"$bin" -r -t 1 ${J2K_CASES:+-c "$J2K_CASES"} $files
fi
