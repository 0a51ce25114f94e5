#!/bin/sh
# Runs every unit-test binary given as an argument and totals their
# "N passed, N failed" lines.  Last line: the total.
passed=0; failed=0
for t in "$@"; do
	out=$("$t" 2>&1); rc=$?
	line=$(printf '%s\n' "$out" | tail -n 1)
	p=$(printf '%s' "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1/p')
	f=$(printf '%s' "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\2/p')
	if [ -z "$p" ]; then
		printf '%s\n' "$out"; echo "CRASH $t (exit $rc)"; failed=$((failed + 1)); continue
	fi
	if [ "$f" != 0 ] || [ $rc != 0 ]; then printf '%s\n' "$out" | grep -v '^ok '; fi
	echo "unit $(basename "$t"): $line"
	passed=$((passed + p)); failed=$((failed + f))
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
