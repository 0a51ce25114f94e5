#!/bin/sh
# gen-docs.sh [--check] - regenerate the documents that come from the one
# settings table: conf/tessera.conf (`tessera config`, with an example root)
# and the SETTINGS section of man/tessera.conf.5 (`tessera man-settings`).
# With --check, change nothing and fail when either is out of date.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin="$top/tessera"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$bin" config | sed 's|^#root = ""$|root = /var/lib/tessera/images|' > "$tmp/tessera.conf"
"$bin" man-settings > "$tmp/settings.roff"
# keep everything before ".SH SETTINGS" and from the next ".SH" on
for page in tessera.conf.5 tessera.8; do
	awk -v gen="$tmp/settings.roff" '
		/^\.SH SETTINGS/ { print; while ((getline l < gen) > 0) print l; skip = 1; next }
		skip && /^\.SH / { skip = 0 }
		!skip { print }' "$top/man/$page" > "$tmp/$page"
done

if [ "${1:-}" = --check ]; then
	ok=0
	cmp -s "$tmp/tessera.conf" "$top/conf/tessera.conf" || { echo "conf/tessera.conf is out of date: sh tools/gen-docs.sh"; ok=1; }
	for page in tessera.conf.5 tessera.8; do
		cmp -s "$tmp/$page" "$top/man/$page" || { echo "man/$page is out of date: sh tools/gen-docs.sh"; ok=1; }
	done
	exit $ok
fi
cp "$tmp/tessera.conf" "$top/conf/tessera.conf"
cp "$tmp/tessera.conf.5" "$top/man/tessera.conf.5"
cp "$tmp/tessera.8" "$top/man/tessera.8"
echo "gen-docs: wrote conf/tessera.conf, man/tessera.conf.5 and man/tessera.8"
