#!/usr/bin/python3
"""j2k_decoders_md.py - the output of bench/j2k_decoders.sh as Markdown
tables for bench/J2K_DECODERS.md: one table per file and thread count, a row
per case, a column per decoder; each cell "CPU ms (ratio to OpenJPEG's CPU)
/ wall ms", marked "WRONG" when the decoder's pixels differ from the
reference (whole level decoded by OpenJPEG, cropped) by more than 2.

Usage: python3 bench/j2k_decoders_md.py RUN.txt [RUN2.txt...]
Later files override earlier ones for the same (file, case, threads,
decoder)."""
import sys

ORDER = ["openjpeg", "openjpeg-tiles", "openjpeg-reuse", "grok", "grok-reuse", "openjph"]


def main(paths):
    rows = {}       # (file, threads) -> case -> decoder -> cell
    cases = {}      # (file, threads) -> [case...]
    for path in paths:
        for line in open(path):
            if line.startswith("#") or not line.strip():
                continue
            f = line.split()
            if len(f) < 5:
                continue
            name, case, th, dec = f[0], f[1], f[2], f[3]
            key = (name, th)
            cases.setdefault(key, [])
            if case not in cases[key]:
                cases[key].append(case)
            if f[4] == "n/a":
                cell = "n/a"
            else:
                wall, cpu, _, rcpu, _, diff = f[4:10]
                cell = "%s (%s) / %s" % (cpu, rcpu, wall)
                if int(diff) > 2:
                    cell += " WRONG"
            rows.setdefault(key, {}).setdefault(case, {})[dec] = cell
    for key in rows:
        name, th = key
        decs = [d for d in ORDER if any(d in rows[key][c] for c in rows[key])]
        print("\n**%s, %s thread%s** (CPU ms (ratio) / wall ms)\n" %
              (name, th[1:], "" if th == "t1" else "s"))
        print("| case | " + " | ".join(decs) + " |")
        print("|---|" + "---|" * len(decs))
        for case in cases[key]:
            r = rows[key][case]
            print("| %s | %s |" % (case, " | ".join(r.get(d, "") for d in decs)))


if __name__ == "__main__":
    main(sys.argv[1:])
