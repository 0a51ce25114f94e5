"""test_manifest_cli.py - `tessera manifest`, the command-line side of
publishing: printing a Manifest or Collection, and --check.

The printed JSON must be the daemon's answer byte for byte: the embedded
daemon started with --base-url https://images.example.org (the "baseurl"
setup) and the command run with --base set to the same URL on the same
root, for an image folder, a single image, a sound item (AV probes), a
collection and the root, in 3.0 and 2.1.  --check must find nothing in a
clean tree (exit 0, "0 problems") and, in a tree made to be wrong (a sidecar
that is not JSON, a rights that is not a licence URI, a truncated MP4, a
file and a folder symlinked out of the root), report each problem on its own
line naming the path and the field, a summary that counts them, and exit 1.
Bad usage exits 2; a PATH leaving the root is refused.

The one idea: the command is the daemon without HTTP, so the daemon itself
is the oracle - no expected JSON is written here.
"""

import os
import subprocess

from PIL import Image

import harness
import presentation_tree as pt
from common import test, expect, expect_status

BASE = "https://images.example.org"   # the "baseurl" setup's --base-url
_made = {}


def run(args, timeout=60):
    return subprocess.run([harness.TESSERA, "manifest"] + list(args), capture_output=True,
                          timeout=timeout, env=_env())


def _env():
    # the settings must come from the command line only
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TESSERA_") and k not in ("FILESYSTEM_PREFIX", "BASE_URL")}
    return env


def _img(path, w, h, colour=(30, 120, 200)):
    Image.new("RGB", (w, h), colour).save(path, quality=90)


def served_tree(ctx):
    """A small tree inside the daemon's root: returns its root-relative folder."""
    top = "cli-tree"
    if top in _made:
        return top
    base = os.path.join(ctx.root, top)
    os.makedirs(os.path.join(base, "book"), exist_ok=True)
    for n, (w, h) in (("p1", (900, 700)), ("p2", (640, 480)), ("p10", (300, 500))):
        _img(os.path.join(base, "book", n + ".jpg"), w, h)
    _img(os.path.join(base, "map.png"), 1500, 700)
    os.makedirs(os.path.join(base, "talk"), exist_ok=True)
    pt.make_sound(os.path.join(base, "talk", "side-a.ogg"), 1.5, 440)
    _img(os.path.join(base, "talk", "cover.jpg"), 400, 400)
    with open(os.path.join(base, "iiif.json"), "w") as f:
        f.write('{"label": "Command-line tree", "language": "en"}\n')
    _made[top] = True
    return top


def clean_tree(ctx):
    root = os.path.join(ctx.tmp, "cli-clean")
    if root in _made:
        return root
    os.makedirs(os.path.join(root, "letters", "l1"), exist_ok=True)
    os.makedirs(os.path.join(root, "letters", "l2"), exist_ok=True)
    _img(os.path.join(root, "letters", "l1", "p1.jpg"), 300, 200)
    _img(os.path.join(root, "letters", "l1", "p2.jpg"), 300, 200)
    _img(os.path.join(root, "letters", "l2", "p1.png"), 200, 300)
    with open(os.path.join(root, "letters", "metadata.csv"), "w") as f:
        f.write("folder,label,rights\nl1,First letter,http://creativecommons.org/licenses/by/4.0/\n")
    os.makedirs(os.path.join(root, "clip"), exist_ok=True)
    pt.make_video(os.path.join(root, "clip", "clip.mp4"), 1, 160, 120)
    _img(os.path.join(root, "loose.jpg"), 250, 250)
    _made[root] = True
    return root


def bad_tree(ctx):
    """A tree with one problem of each kind; returns (root, expected) where
    expected maps each problem's path to the field its line must name."""
    root = os.path.join(ctx.tmp, "cli-bad", "root")
    expected = {
        "bad-json/iiif.json": "JSON",
        "bad-rights/iiif.json": "rights",
        "trunc/clip.mp4": "duration",
        "links/out.jpg": "symlink",
        "escape": "symlink",
    }
    if root in _made:
        return root, expected
    outside = os.path.join(ctx.tmp, "cli-bad", "outside")
    os.makedirs(outside, exist_ok=True)
    _img(os.path.join(outside, "secret.jpg"), 100, 100)
    for d in ("good", "bad-json", "bad-rights", "trunc", "links"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    _img(os.path.join(root, "good", "p1.jpg"), 200, 150)
    _img(os.path.join(root, "bad-json", "p1.jpg"), 200, 150)
    with open(os.path.join(root, "bad-json", "iiif.json"), "w") as f:
        f.write('{"label": "unterminated", "items": [\n')
    _img(os.path.join(root, "bad-rights", "p1.jpg"), 200, 150)
    with open(os.path.join(root, "bad-rights", "iiif.json"), "w") as f:
        f.write('{"label": "Bad rights", "rights": "All rights reserved"}\n')
    full = os.path.join(ctx.tmp, "cli-bad", "full.mp4")
    pt.make_video(full, 2, 160, 120)
    pt.truncate(full, os.path.join(root, "trunc", "clip.mp4"))
    _img(os.path.join(root, "links", "inside.jpg"), 100, 80)
    os.symlink(os.path.join(outside, "secret.jpg"), os.path.join(root, "links", "out.jpg"))
    os.symlink(outside, os.path.join(root, "escape"))
    _made[root] = True
    return root, expected


def daemon_path(rel, version, collection):
    if collection:
        return "/iiif/%d/collection/%s" % (version, pt.pct(rel) if rel else "top")
    return "/iiif/%d/%s/manifest" % (version, pt.pct(rel))


@test("manifest CLI: prints the daemon's bytes for a folder, an image, a sound item, a collection "
      "and the root, in 3.0 and 2.1", server="baseurl")
def _(ctx, srv):
    top = served_tree(ctx)
    cases = [(top + "/book", False), (top + "/map.png", False), (top + "/talk", False),
             (top, True), ("", True)]
    errs = []
    for rel, coll in cases:
        for v in (3, 2):
            path = daemon_path(rel, v, coll)
            r = srv.get(path)
            expect_status(r, 200, "GET " + path)
            p = run(["--root", ctx.root, "--base", BASE, "--version", str(v), rel or "."])
            if p.returncode != 0:
                errs.append("%s v%d: exit %d: %s" % (rel or ".", v, p.returncode,
                                                     p.stderr.decode(errors="replace").strip()))
            elif p.stdout != r.body:
                at = next((i for i, (a, b) in enumerate(zip(p.stdout, r.body)) if a != b),
                          min(len(p.stdout), len(r.body)))
                errs.append("%s v%d: the command's %d bytes differ from the daemon's %d at byte %d: %r vs %r"
                            % (rel or ".", v, len(p.stdout), len(r.body), at,
                               p.stdout[max(0, at - 40):at + 40], r.body[max(0, at - 40):at + 40]))
    # an absolute PATH inside the root names the same item
    p = run(["--root", ctx.root, "--base", BASE, os.path.join(ctx.root, top, "book") + "/"])
    r = srv.get(daemon_path(top + "/book", 3, False))
    if p.returncode != 0 or p.stdout != r.body:
        errs.append("absolute PATH: exit %d, %s" % (p.returncode, "same bytes" if p.stdout == r.body else "other bytes"))
    expect(not errs, "; ".join(errs))


@test("manifest CLI: --check on a clean tree finds no problem and exits 0", server=None)
def _(ctx, srv_unused):
    root = clean_tree(ctx)
    p = run(["--check", "--root", root])
    out = p.stdout.decode(errors="replace").strip().splitlines()
    expect(p.returncode == 0, "exit %d; output %r; stderr %r" % (p.returncode, out, p.stderr[-300:]))
    expect(out and out[-1] == "4 items, 2 collections, 0 problems",
           "summary %r (items l1, l2, clip, loose.jpg; collections root, letters)" % (out[-1:] or ""))
    expect(len(out) == 1, "lines besides the summary: %r" % out[:-1])
    # PATH narrows the walk
    p = run(["--check", "--root", root, "letters"])
    expect(p.returncode == 0 and p.stdout.decode().strip() == "2 items, 1 collections, 0 problems",
           "--check letters: exit %d, %r" % (p.returncode, p.stdout[-200:]))
    # a setting given as for serve, two words: every image of letters is now too large
    p = run(["--check", "--root", root, "--max-source-pixels", "1000", "letters"])
    out = p.stdout.decode(errors="replace").strip().splitlines()
    want = ["letters/l1/p1.jpg", "letters/l1/p2.jpg", "letters/l2/p1.png"]
    got = sorted(l.split(":")[0] for l in out[:-1] if "max_source_pixels" in l and ": image: " in l)
    expect(p.returncode == 1 and got == want and out[-1] == "2 items, 1 collections, 3 problems",
           "--max-source-pixels 1000: exit %d, %r" % (p.returncode, out))


@test("manifest CLI: --check reports each problem of a bad tree (path and field) and exits 1",
      server=None)
def _(ctx, srv_unused):
    root, expected = bad_tree(ctx)
    p = run(["--check", "--root", root])
    lines = p.stdout.decode(errors="replace").strip().splitlines()
    expect(p.returncode == 1, "exit %d, expected 1; output %r" % (p.returncode, lines))
    problems, summary = lines[:-1], lines[-1] if lines else ""
    errs = []
    for path, field in sorted(expected.items()):
        mine = [l for l in problems if l.startswith(path + ":")]
        if len(mine) != 1:
            errs.append("%d lines for %s (expected 1)" % (len(mine), path))
        elif field not in mine[0].split(":", 2)[1] + ":" + mine[0].split(":", 2)[2][:40]:
            errs.append("%s: the line does not name %s: %r" % (path, field, mine[0]))
    strays = [l for l in problems if not any(l.startswith(p + ":") for p in expected)]
    if strays:
        errs.append("unexpected problems: %r" % strays)
    if summary != "%d items, 1 collections, %d problems" % (5, len(expected)):
        errs.append("summary %r (items good, bad-json, bad-rights, trunc, links)" % summary)
    expect(not errs, "; ".join(errs))
    # one item of the tree: its own problems only
    p = run(["--check", "--root", root, "trunc"])
    out = p.stdout.decode(errors="replace").strip().splitlines()
    expect(p.returncode == 1 and len(out) == 2 and out[0].startswith("trunc/clip.mp4: duration:")
           and out[1] == "1 items, 0 collections, 1 problems", "--check trunc: exit %d, %r" % (p.returncode, out))


@test("manifest CLI: an item with a bad sidecar is one line on stderr naming the item and field, "
      "exit 1; nothing on stdout", server=None)
def _(ctx, srv_unused):
    root, _ = bad_tree(ctx)
    p = run(["--root", root, "--base", BASE, "bad-rights"])
    err = p.stderr.decode(errors="replace").strip().splitlines()
    expect(p.returncode == 1, "exit %d, expected 1" % p.returncode)
    expect(len(err) == 1 and "bad-rights/iiif.json: rights:" in err[0], "stderr %r" % err)
    expect(p.stdout == b"", "stdout %r" % p.stdout[:100])
    p = run(["--root", root, "--base", BASE, "good/nothing-here"])
    expect(p.returncode == 1 and b"good/nothing-here" in p.stderr, "a missing PATH: exit %d, %r"
           % (p.returncode, p.stderr))


@test("manifest CLI: bad usage exits 2, and a PATH leaving the root is refused", server=None)
def _(ctx, srv_unused):
    root = clean_tree(ctx)
    cases = [
        ([], "no PATH"),
        (["--root", root, "--base", BASE], "no PATH"),
        (["--root", root, "letters/l1"], "no --base"),
        (["--root", root, "--base", BASE, "--version", "4", "letters/l1"], "version 4"),
        (["--root", root, "--base", BASE, "--frobnicate=1", "letters/l1"], "an unknown option"),
        (["--root", root, "--base", BASE, "letters/l1", "letters/l2"], "two PATHs"),
        (["--root", os.path.join(root, "no-such-dir"), "--check"], "a root that does not exist"),
        (["--root", root, "--base"], "--base without a value"),
        (["--root", root, "--base", BASE, "../cli-bad/root/good"], "a PATH going up out of the root"),
        (["--root", root, "--base", BASE, "letters/../../x"], "a PATH going up out of the root"),
        (["--root", root, "--base", BASE, os.path.dirname(root)], "an absolute PATH above the root"),
        (["--root", root, "--check", "/etc"], "an absolute PATH elsewhere"),
    ]
    errs = []
    for args, what in cases:
        p = run(args)
        if p.returncode != 2:
            errs.append("%s: exit %d, expected 2 (%r)" % (what, p.returncode, p.stderr[-200:]))
        elif not p.stderr.strip():
            errs.append("%s: nothing said on stderr" % what)
        elif ("PATH going up" in what or "absolute" in what) and b"outside the root" not in p.stderr:
            errs.append("%s: stderr does not say it is outside the root: %r" % (what, p.stderr[-200:]))
        if p.stdout.strip():
            errs.append("%s: wrote to stdout: %r" % (what, p.stdout[:80]))
    p = run(["--help"])
    if p.returncode != 0 or b"tessera manifest --check" not in p.stdout:
        errs.append("--help: exit %d" % p.returncode)
    expect(not errs, "; ".join(errs))
