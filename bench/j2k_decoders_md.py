#!/usr/bin/python3
"""j2k_decoders_md.py - the output of bench/j2k_decoders.sh as Markdown
tables for bench/J2K_DECODERS.md: one table per file and thread count, a row
per case, a column per decoder; each cell "CPU ms (ratio to OpenJPEG's CPU)
/ wall ms", marked "WRONG" when the decoder's pixels differ from the
reference (whole level decoded by OpenJPEG, cropped) by more than 2.

Usage: python3 bench/j2k_decoders_md.py RUN.txt [RUN2.txt...]
       python3 bench/j2k_decoders_md.py --summary NAME RUN.txt [RUN2.txt...]
         (one table, 1 thread, files whose name contains NAME)
Later files override earlier ones for the same (file, case, threads,
decoder)."""
import sys

ORDER = ["openjpeg", "openjpeg-tiles", "openjpeg-reuse", "grok", "grok-reuse", "openjph"]


def rss(paths):
    """The peak-RSS lines as one table: file and case by decoder."""
    peaks, decs = {}, []
    for path in paths:
        for line in open(path):
            f = line.split()
            if len(f) > 5 and f[4] == "peak":
                peaks.setdefault((f[0], f[1]), {})[f[3]] = f[5]
                if f[3] not in decs:
                    decs.append(f[3])
    if not peaks:
        return
    decs = [d for d in ORDER if d in decs]
    print("\n**Peak RSS of one decode, MiB above the process's own** (a child per decoder and case)\n")
    print("| file | case | " + " | ".join(decs) + " |")
    print("|---|---|" + "---|" * len(decs))
    for (name, case), r in peaks.items():
        print("| %s | %s | %s |" % (name, case, " | ".join(r.get(d, "") for d in decs)))


def summary(paths, want):
    """One compact table: files whose name contains `want`, 1 thread; the
    OpenJPEG CPU ms, then every other decoder's CPU ratio to it."""
    cells, names, cases = {}, [], []
    for path in paths:
        for line in open(path):
            f = line.split()
            if line.startswith("#") or len(f) < 5 or f[4] == "peak" or f[2] != "t1":
                continue
            if want not in f[0] or f[1] == "hdr":
                continue
            if f[0] not in names:
                names.append(f[0])
            if f[1] not in cases:
                cases.append(f[1])
            if f[4] == "n/a":
                cell = "n/a"
            elif f[3] == "openjpeg":
                cell = f[5] + " ms"
            else:
                cell = "x" + f[7]
            if f[4] != "n/a" and int(f[9]) > 2:
                cell += " WRONG"
            cells[(f[0], f[1], f[3])] = cell
    decs = [d for d in ORDER if any(k[2] == d for k in cells)]
    print("| file | case | " + " | ".join(decs) + " |")
    print("|---|---|" + "---|" * len(decs))
    for name in names:
        for case in cases:
            if not any((name, case, d) in cells for d in decs):
                continue
            print("| %s | %s | %s |" % (name, case,
                  " | ".join(cells.get((name, case, d), "") for d in decs)))


def main(paths):
    rows = {}       # (file, threads) -> case -> decoder -> cell
    cases = {}      # (file, threads) -> [case...]
    for path in paths:
        for line in open(path):
            if line.startswith("#") or not line.strip():
                continue
            f = line.split()
            if len(f) < 5 or f[4] == "peak":
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
    if len(sys.argv) > 2 and sys.argv[1] == "--summary":
        summary(sys.argv[3:], sys.argv[2])
    else:
        main(sys.argv[1:])
        rss(sys.argv[1:])
