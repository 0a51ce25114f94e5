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
[ -n "$up" ] || { up=0; uf=1; }
echo "$((up + hp)) passed, $((uf + hf)) failed"
[ $((uf + hf)) = 0 ]
