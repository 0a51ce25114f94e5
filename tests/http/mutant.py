"""mutant.py - the damaged HTJ2K files test_jp2_ojph.c's mutation loop found
crashing OpenJPH 0.9.0, made again byte for byte as test fixtures.

The base file is that test's: a 701x493 RGB pattern (pat()), coded by
ojph_compress with the same options, a TLM marker segment and a COM added
after SIZ (add_tlm()); mutant `it` of seed `seed` is mutate()'s, with the same
linear congruential generator.  Everything here mirrors
tests/unit/source/test_jp2_ojph.c; keep the two in step.
"""

import os
import subprocess

W, H = 701, 493
OJPH_COMPRESS = "/usr/bin/ojph_compress"
OPTS = ["-qstep", "0.01", "-num_decomps", "3", "-block_size", "{32,32}",
        "-tile_size", "{256,256}", "-prog_order", "RPCL", "-precincts", "{64,64}"]


def _pat(c, x, y):
    if c == 0:
        v = x * 200 // (W - 1)
    elif c == 1:
        v = y * 200 // (H - 1)
    else:
        v = 200 - (x + y) * 200 // (W + H - 2)
    return v + (40 if ((x // 8) ^ (y // 8)) & 1 else 0) + (x * 7 + y * 13) % 11


def _ppm():
    out = bytearray(b"P6\n%d %d\n255\n" % (W, H))
    for y in range(H):
        row = bytearray(3 * W)
        for x in range(W):
            for c in range(3):
                row[3 * x + c] = _pat(c, x, y)
        out += row
    return bytes(out)


def _add_tlm(b):
    siz_end = 4 + (b[4] << 8 | b[5])
    pos = siz_end
    while pos + 4 < len(b) and not (b[pos] == 0xFF and b[pos + 1] == 0x90):
        pos += 2 + (b[pos + 2] << 8 | b[pos + 3])
    ent = bytearray()
    m = 0
    while pos + 12 <= len(b) and b[pos] == 0xFF and b[pos + 1] == 0x90 and m < 512:
        psot = int.from_bytes(b[pos + 6:pos + 10], "big")
        ent += b[pos + 4:pos + 6] + b[pos + 6:pos + 10]
        m += 1
        if psot == 0:
            break
        pos += psot
    seg = bytes([0xFF, 0x55]) + (4 + 6 * m).to_bytes(2, "big") + b"\x00\x60" + bytes(ent)
    return b[:siz_end] + seg + b"\xFF\x64\x00\x08\x00\x01test" + b[siz_end:]


class _Rnd:
    def __init__(self, state):
        self.s = state & 0xFFFFFFFF

    def __call__(self):
        self.s = (self.s * 1103515245 + 12345) & 0xFFFFFFFF
        return self.s >> 8


def mutate(orig, seed, it):
    rnd = _Rnd(seed * 1000003 + it)
    b = bytearray(orig)
    n = len(b)
    kind = it % 4
    if kind == 0:
        k, count = 0, None
        while True:
            count = 1 + rnd() % 8
            if k >= count:
                break
            v = 1 + rnd() % 255          # GCC evaluates the right side first
            b[rnd() % n] ^= v
            k += 1
    elif kind == 1:
        k = 0
        while k < 1 + rnd() % 3:
            v = rnd() & 0xFF              # likewise
            b[rnd() % (n if n < 400 else 400)] = v
            k += 1
    elif kind == 2:
        return bytes(b[:50 + rnd() % (n - 50)])
    else:
        at = 8 + 4 * (rnd() % 8)
        v = int.from_bytes(b[at:at + 4], "big")
        v = (v + (rnd() % 64) - 32) if rnd() % 2 else v ^ (1 << (rnd() % 32))
        b[at:at + 4] = (v & 0xFFFFFFFF).to_bytes(4, "big")
    return bytes(b)


def base_file(work):
    """The unmutated base code-stream (bytes), made in directory work."""
    ppm = os.path.join(work, "mut-in.ppm")
    j2c = os.path.join(work, "mut.j2c")
    with open(ppm, "wb") as f:
        f.write(_ppm())
    p = subprocess.run([OJPH_COMPRESS, "-i", ppm, "-o", j2c] + OPTS, capture_output=True,
                       timeout=120)
    if p.returncode != 0:
        raise AssertionError("ojph_compress failed: %s" % p.stderr[-300:])
    with open(j2c, "rb") as f:
        return _add_tlm(f.read())


def available():
    return os.access(OJPH_COMPRESS, os.X_OK)
