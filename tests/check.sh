#!/bin/sh
# make check: unit tests, then the HTTP tests (real daemon behind nginx and in
# embedded HTTP mode, browser tests).  Prints the grand total last.
top=$(cd "$(dirname "$0")/.." && pwd)
log=$(mktemp)
sh "$top/tests/run-unit.sh" "$@" | tee "$log"
up=$(tail -n 1 "$log" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1/p')
uf=$(tail -n 1 "$log" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\2/p')
hp=0; hf=0
if [ -f "$top/tests/http/run.py" ]; then
	/usr/bin/python3 "$top/tests/http/run.py" | tee "$log"
	hp=$(tail -n 1 "$log" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1/p')
	hf=$(tail -n 1 "$log" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\2/p')
	[ -n "$hp" ] || { hp=0; hf=1; echo "http tests did not finish"; }
fi
rm -f "$log"
# The documents generated from the settings table must match it.
dp=0; df=0
if sh "$top/tools/gen-docs.sh" --check; then
	echo "ok   conf/tessera.conf and the man pages match the settings table"; dp=1
else
	echo "FAIL conf/tessera.conf or a man page is out of date (sh tools/gen-docs.sh)"; df=1
fi
[ -n "$up" ] || { up=0; uf=1; }
echo "$((up + hp + dp)) passed, $((uf + hf + df)) failed"
[ $((uf + hf + df)) = 0 ]
