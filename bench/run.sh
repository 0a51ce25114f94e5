#!/bin/sh
# bench/run.sh - Tessera against Debian's iipsrv (and nginx serving static
# tiles) behind one nginx, on the real-photograph corpus: TIFF pyramids
# (run.py), then JPEG 2000 (jp2.py).  Installs what it
# needs (as root), builds the corpus once, prints a table of medians and
# ratios.  Never part of `make check`: timings are not tests.
#   BENCH_DURATION=10  seconds per wrk run     BENCH_RUNS=3  runs per figure
#   BENCH_BIG=1        include the 30000x20000 image (slow to build)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
need=""
for p in wrk iipimage-server memcached nginx-light spawn-fcgi libvips-tools python3; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need="$need $p"
done
if [ -n "$need" ]; then
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $need
fi
[ -x "$top/tessera" ] || make -C "$top"
/usr/bin/python3 "$top/bench/run.py" "$@"
# JPEG 2000 against iipsrv's OpenJPEG path (same corpus, same nginx setup)
/usr/bin/python3 "$top/bench/jp2.py"
