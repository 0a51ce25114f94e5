#!/usr/bin/python3
"""bench/profile_j2k.py - where the CPU of a JPEG 2000 first walk goes.

Runs one first walk (bench/jp2.py's: every 256 tile of every level of
BENCH_WALK_IMAGES, once, by BENCH_WALK_CONNS clients behind one nginx, on a
server started afresh) with `perf record` attached to the server's
processes and to nginx's workers, then sorts every sample into the parts
bench/PROFILE_J2K.md reports: OpenJPEG's entropy decoding (t1), inverse
wavelet (dwt), colour transform (mct), the rest of its tile work, its
allocation and page faults, thread hand-offs, our copy/convert to 8 bits,
the resampler, the JPEG encoder, FastCGI, nginx and the kernel.

OpenJPEG must have symbols: Debian's libopenjp2.so.7 is stripped, so run
with LD_LIBRARY_PATH pointing at the same version rebuilt with -g (see
bench/PROFILE_J2K.md: the rebuilt .text is the same size as Debian's and
the same code).  Samples are cpu-clock (a VM has no hardware counters),
call graphs by DWARF unwinding, so a sample in libc or the kernel is put
down to the library or function that called it.

Environment: PROF_WALK (walk-iiif | walk-dz | walk-zoomify; default
walk-iiif), PROF_SYSTEM (tessera | iipsrv), PROF_FORMAT (part1: the corpus
files; htj2k / htj2k-lossless / part1-conv: bench/htj2k.py's converted
files), PROF_FREQ (sampling Hz, 400), PROF_OUT (directory to keep perf.data
and the table; default a temporary one, removed), BENCH_TESSERA,
BENCH_WALK_IMAGES, BENCH_WALK_CONNS, BENCH_CORPUS.
"""
import collections
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import jp2  # noqa: E402
import htj2k  # noqa: E402

base = jp2.base
PERF = shutil.which("perf") or "/usr/bin/perf"

# OpenJPEG source file -> part (from the symbol's DWARF file, nm -l).
OPJ_PARTS = {
    "t1.c": "opj t1 (entropy decoding)", "mqc.c": "opj t1 (entropy decoding)",
    "ht_dec.c": "opj t1 (entropy decoding)",
    "dwt.c": "opj dwt (inverse wavelet)",
    "mct.c": "opj mct (colour transform)",
    "tcd.c": "opj tcd (tile set-up, DC shift, copy out)",
    "thread.c": "thread hand-offs",
    "opj_malloc.c": "allocation + page faults",
    "sparse_array.c": "allocation + page faults",
}
OPJ_OTHER = "opj t2/headers/stream"


def symbol_files(path):
    """{symbol: source file basename} from nm -l (needs debug info)."""
    out = {}
    try:
        text = subprocess.run(["nm", "-l", "--defined-only", path], capture_output=True,
                              text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return out
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 4 and ":" in parts[3]:
            out[parts[2]] = os.path.basename(parts[3].rsplit(":", 1)[0])
    return out


def tessera_part(sym, files):
    f = files.get(sym, "")
    if f.startswith("jp2_") or f in ("tile_cache.c", "tile_pool.c") or sym in ("copy_rect",):
        return "ours: JP2 glue, copy/convert to 8 bits"
    if f.startswith("scale") or f in ("rotate.c", "colour.c"):
        return "ours: resampler"
    if f.startswith("jpeg_") or f in ("encode.c",):
        return "ours: JPEG encoder glue"
    if f in ("fastcgi.c", "fcgi_gate.c", "workers.c", "http.c", "http_parse.c"):
        return "FastCGI (ours + libfcgi)"
    return "ours: other (" + (f or sym) + ")"


class Classifier:
    def __init__(self, tessera):
        self.tfiles = symbol_files(tessera)
        self.tname = os.path.basename(tessera)
        self.ofiles = {}

    def frame_part(self, sym, dso):
        """The part a frame belongs to, or None for libc/kernel/unknown."""
        d = os.path.basename(dso)
        if d.startswith("libopenjp2"):
            if not self.ofiles:
                self.ofiles = symbol_files(dso) or {"": ""}
            f = self.ofiles.get(sym, "")
            if sym.startswith("opj_t1_") or sym.startswith("opj_mqc"):
                return OPJ_PARTS["t1.c"]
            return OPJ_PARTS.get(f, OPJ_OTHER)
        if d.startswith("libjpeg") or d.startswith("libturbojpeg"):
            return "JPEG encoder (libjpeg-turbo)"
        if d.startswith("libfcgi"):
            return "FastCGI (ours + libfcgi)"
        if d == self.tname:
            return tessera_part(sym, self.tfiles)
        if d.startswith("iipsrv"):
            return "iipsrv's own code"
        if d == "nginx":
            return "nginx"
        if d.startswith("libgrok") or d.startswith("libopenjph"):
            return "other decoder (" + d + ")"
        return None

    def classify(self, comm, frames):
        """frames: [(sym, dso)] leaf first."""
        if comm == "nginx":
            return "nginx"
        leaf_sym, leaf_dso = frames[0] if frames else ("", "")
        part = self.frame_part(leaf_sym, leaf_dso)
        if part:
            return part
        kernel = "kernel" in leaf_dso or leaf_dso.startswith("[")
        syms = [s for s, _ in frames]
        owner = None
        for s, d in frames[1:]:
            owner = self.frame_part(s, d)
            if owner:
                break
        if kernel:
            who = owner or "?"
            if who.startswith("allocation") or who.startswith("thread"):
                who = "opj " + who
            if any(s in ("asm_exc_page_fault", "exc_page_fault") for s in syms):
                return "allocation + page faults" if who.startswith("opj") \
                    else "kernel: page faults (" + who + ")"
            call = next((s[len("__x64_sys_"):] for s in syms if s.startswith("__x64_sys_")),
                        None)
            if call in ("futex", "sched_yield", "clone", "clone3", "exit", "set_robust_list",
                        "rseq", "madvise") and who.startswith("opj"):
                return "thread hand-offs"
            if call in ("futex", "sched_yield"):
                return "thread hand-offs"
            if call in ("mmap", "munmap", "brk", "mprotect", "madvise", "mremap"):
                return "allocation + page faults" if who.startswith("opj") \
                    else "kernel: mmap/munmap (" + who + ")"
            if call in ("pread64", "read", "openat", "close", "newfstat", "newfstatat",
                        "fstat", "lseek", "statx"):
                return "kernel: file reads, open, stat (" + who + ")"
            if call:
                return "kernel: syscall " + call + " (" + who + ")"
            return "kernel: other (" + who + ")"
        if re.match(r"(_int_|__libc_|malloc|free|calloc|realloc|cfree|sysmalloc|"
                    r"__memset|memset|unlink_chunk|malloc_consolidate|tcache|_int_free)",
                    leaf_sym):
            if leaf_sym.startswith("__memset") or leaf_sym.startswith("memset"):
                if owner and owner.startswith("opj"):
                    return "allocation + page faults"
                return (owner or "libc") + " (memset)"
            return "allocation + page faults" if owner and owner.startswith("opj") \
                else (owner or "libc") + " (malloc)"
        if leaf_dso.endswith("libm.so.6") and owner:
            return owner
        if "pthread" in leaf_sym or "futex" in leaf_sym or "lll_lock" in leaf_sym:
            return "thread hand-offs"
        if leaf_sym.startswith("__memmove") or leaf_sym.startswith("__memcpy"):
            return (owner or "libc") + " (memcpy)"
        return (owner or "other") + " [" + os.path.basename(leaf_dso) + " " + leaf_sym + "]"


def parse_script(text, cls):
    """perf script output -> Counter of parts, Counter of leaf symbols."""
    parts, leaves = collections.Counter(), collections.Counter()
    for block in text.split("\n\n"):
        lines = [ln for ln in block.splitlines() if ln.strip()]
        if not lines:
            continue
        comm = lines[0].split()[0]
        frames = []
        for ln in lines[1:]:
            m = re.match(r"\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$", ln)
            if m:
                sym = re.sub(r"\+0x[0-9a-f]+$", "", m.group(1))
                frames.append((sym, m.group(2)))
        if not frames:
            continue
        parts[cls.classify(comm, frames)] += 1
        leaves[(os.path.basename(frames[0][1]), frames[0][0])] += 1
    return parts, leaves


COARSE = [
    ("opj t1", "OpenJPEG t1 (entropy decoding)"),
    ("opj dwt", "OpenJPEG dwt (inverse wavelet)"),
    ("opj mct", "OpenJPEG mct (colour transform)"),
    ("opj tcd", "OpenJPEG tcd (tile set-up, DC shift, copy out)"),
    ("opj t2", "OpenJPEG t2, headers, stream"),
    ("allocation", "OpenJPEG allocation + page faults"),
    ("kernel: mmap/munmap (opj", "OpenJPEG allocation + page faults"),
    ("thread", "thread hand-offs"),
    ("iipsrv", "iipsrv's own code"),
    ("ours: JP2", "ours: copy/convert to 8 bits, tile cache"),
    ("kernel: page faults (ours: JP2", "ours: copy/convert to 8 bits, tile cache"),
    ("ours: resampler", "ours: resampler"),
    ("JPEG encoder", "JPEG encoder (libjpeg-turbo + glue)"),
    ("ours: JPEG", "JPEG encoder (libjpeg-turbo + glue)"),
    ("FastCGI", "FastCGI (ours + libfcgi)"),
    ("nginx", "nginx"),
    ("kernel: file reads", "kernel: file reads (pread from page cache)"),
    ("kernel", "kernel: other (sockets, scheduling, other faults)"),
]


def coarse(part):
    for prefix, name in COARSE:
        if part.startswith(prefix):
            return name
    return "other"


def table(parts, leaves, title, out):
    n = sum(parts.values()) or 1
    big = collections.Counter()
    for k, v in parts.items():
        big[coarse(k)] += v
    lines = [f"### {title}", "", f"{n} samples", "", "| part | % |", "|---|---:|"]
    for k, v in big.most_common():
        lines.append(f"| {k} | {100.0 * v / n:.1f} |")
    lines += ["", "In detail:", "", "| part | % |", "|---|---:|"]
    for k, v in parts.most_common():
        lines.append(f"| {k} | {100.0 * v / n:.1f} |")
    lines += ["", "Top leaf functions:", "", "| dso | function | % |", "|---|---|---:|"]
    for (d, s), v in leaves.most_common(25):
        lines.append(f"| {d} | {s} | {100.0 * v / n:.1f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if out:
        with open(os.path.join(out, title.replace(" ", "_").replace("/", "-") + ".md"), "w") as f:
            f.write(text)


def main():
    walk = os.environ.get("PROF_WALK", "walk-iiif")
    system = os.environ.get("PROF_SYSTEM", "tessera")
    fmt = os.environ.get("PROF_FORMAT", "part1")
    freq = os.environ.get("PROF_FREQ", "400")
    keep = os.environ.get("PROF_OUT")
    work = tempfile.mkdtemp(prefix="tessera-prof-j2k-")
    os.chmod(work, 0o755)
    out = keep or work
    os.makedirs(out, exist_ok=True)
    src = jp2.images_dir()
    if fmt == "part1":
        images = src
    else:
        images = os.path.join(work, "images")
        os.makedirs(images)
        made = htj2k.make_images(src, images, jp2.WALK_IMAGES, fmt == "htj2k-lossless")
    port = base.free_port()
    srv = jp2.Servers(work, images)
    perf = None
    try:
        with open(f"{work}/nginx.conf", "w") as f:
            f.write(jp2.NGINX_CONF.format(w=work, port=port))
        nginx = base.start(["/usr/sbin/nginx", "-c", f"{work}/nginx.conf", "-p", work, "-g",
                            "daemon off;"])
        srv.start(128)
        if fmt == "part1":
            urls = jp2.walk_urls(images, walk, system, port)
        else:
            urls = htj2k.walk_urls(made, "htj2k" if fmt.startswith("htj2k") else "part1",
                                   walk, port)
        time.sleep(0.5)
        pids = srv.pids(system) + base.children_of(nginx.pid)
        data = os.path.join(out, f"perf-{walk}-{system}-{fmt}.data")
        perf = subprocess.Popen([PERF, "record", "-q", "-F", freq, "-e", "cpu-clock",
                                 "--call-graph", "dwarf,16384", "-o", data,
                                 "-p", ",".join(map(str, pids))],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        with open("/proc/loadavg") as f:
            load0 = f.read().split()[:3]
        r = jp2.first_walk(srv, system, port, urls)
        with open("/proc/loadavg") as f:
            load1 = f.read().split()[:3]
        perf.send_signal(signal.SIGINT)
        perf.wait(timeout=120)
        perf = None
        base.log(f"{walk} {system} {fmt}: {r['req']} tiles, {r['rps']:.1f} tiles/s, "
                 f"cpu {r['cpu_ms']:.2f} ms/tile (under perf), p50 {r['p50']:.1f} ms, "
                 f"errors {r['errors']}; load average {' '.join(load0)} -> {' '.join(load1)}")
        script = subprocess.run([PERF, "script", "-i", data, "--no-inline", "-F",
                                 "comm,tid,ip,sym,dso"], capture_output=True, text=True).stdout
        cls = Classifier(jp2.TESSERA)
        parts, leaves = parse_script(script, cls)
        table(parts, leaves, f"{walk} {system} {fmt}", keep)
    finally:
        if perf:
            perf.send_signal(signal.SIGINT)
            perf.wait(timeout=60)
        srv.stop()
        for p in list(base.procs):
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        base.procs.clear()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
