"""test_presentation_watch.py - the folder watch behind cached
Presentation answers (src/cache/dir_watch.c, presentation_watch setting).

A cached answer's fingerprint is kept while inotify reports no change in
the folders it was read from; these tests change the disk in every way
that matters between two requests and expect the very next answer to show
it: a page rewritten in place, a page added or removed, a sidecar created,
the parent's metadata.csv created, a member folder added or removed, a
member's new sidecar, a folder on the way to the item renamed and
replaced.  The same changes are checked with the watch switched off
(--presentation-watch false: every request reads the folders), and for the
files a folder watch cannot see change (a hard-linked page rewritten
through its other name outside the root, a symlink's target rewritten), so
the fallback path is exercised too.
"""
import json
import os
import shutil

import harness
import presentation_tree as pt
from common import test, expect, expect_status

_roots = {}


def _root(ctx, name):
    root = os.path.join(ctx.tmp, "watch-" + name)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    return root


def _get(srv, path, want=200):
    r = srv.get(path)
    expect_status(r, want, path)
    return (json.loads(r.body) if want == 200 else None), r


def _bump(path, seconds=2):
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + seconds * 10 ** 9))


def _rewrite(path, w, h, through=None):
    """Rewrite path in place (same inode) as a w x h JPEG, through another
    name of the same file when given, with a later mtime."""
    tmp = (through or path) + ".new.tmp"   # made beside the name written through
    pt.save_pattern(tmp, w, h)
    with open(tmp, "rb") as f:
        data = f.read()
    os.unlink(tmp)
    with open(through or path, "r+b") as f:
        f.write(data)
        f.truncate()
    _bump(through or path)


def _size(m, i=0):
    c = m["items"][i]
    return c.get("width"), c.get("height")


def _labels(col):
    return [sum(it.get("label", {}).values(), []) for it in col.get("items", [])]


def _item_changes(srv, root):
    """An item folder changed in place, added to, given a sidecar, a CSV
    row in its parent, and a page removed: each in the next answer."""
    os.makedirs(os.path.join(root, "shelf", "it"))
    pt.save_pattern(os.path.join(root, "shelf", "it", "p1.jpg"), 300, 200)
    pt.save_pattern(os.path.join(root, "shelf", "it", "p2.jpg"), 200, 300)
    path = "/iiif/3/shelf%2Fit/manifest"
    m1, r1 = _get(srv, path)
    m1b, r1b = _get(srv, path)
    expect(r1b.header("ETag") == r1.header("ETag") and m1b == m1, "an unchanged item answered differently")
    expect(len(m1["items"]) == 2 and _size(m1) == (300, 200), "before: %d canvases, p1 %s" % (len(m1["items"]), _size(m1)))
    _rewrite(os.path.join(root, "shelf", "it", "p1.jpg"), 360, 240)
    m2, r2 = _get(srv, path)
    expect(_size(m2) == (360, 240), "after p1.jpg was rewritten in place at 360x240: %s" % (_size(m2),))
    expect(r2.header("ETag") != r1.header("ETag"), "the ETag did not change with the file")
    pt.save_pattern(os.path.join(root, "shelf", "it", "p3.jpg"), 250, 250)
    m3, _ = _get(srv, path)
    expect(len(m3["items"]) == 3, "after adding p3.jpg: %d canvases" % len(m3["items"]))
    with open(os.path.join(root, "shelf", "it", "iiif.json"), "w") as f:
        json.dump({"label": "Now described"}, f)
    m4, _ = _get(srv, path)
    expect(m4.get("label") == {"none": ["Now described"]}, "after a new iiif.json: label %r" % m4.get("label"))
    with open(os.path.join(root, "shelf", "metadata.csv"), "w") as f:
        f.write("folder,summary\nit,From the spreadsheet\n")
    m5, _ = _get(srv, path)
    expect(m5.get("summary") == {"none": ["From the spreadsheet"]},
           "after the parent's new metadata.csv: summary %r" % m5.get("summary"))
    os.unlink(os.path.join(root, "shelf", "it", "p2.jpg"))
    m6, _ = _get(srv, path)
    expect(len(m6["items"]) == 2, "after removing p2.jpg: %d canvases" % len(m6["items"]))


def _collection_changes(srv, root):
    """Member folders added, described and removed: each in the next
    Collection answer."""
    for sub in ("a", "b"):
        os.makedirs(os.path.join(root, "coll", sub))
        pt.save_pattern(os.path.join(root, "coll", sub, "leaf.jpg"), 400, 300)
    path = "/iiif/3/collection/coll"
    c1, r1 = _get(srv, path)
    c1b, r1b = _get(srv, path)
    expect(r1b.header("ETag") == r1.header("ETag"), "an unchanged collection changed its ETag")
    expect(_labels(c1) == [["a"], ["b"]], "before: members %r" % _labels(c1))
    os.makedirs(os.path.join(root, "coll", "c"))
    pt.save_pattern(os.path.join(root, "coll", "c", "leaf.jpg"), 400, 300)
    c2, _ = _get(srv, path)
    expect(_labels(c2) == [["a"], ["b"], ["c"]], "after adding member c: %r" % _labels(c2))
    with open(os.path.join(root, "coll", "a", "iiif.json"), "w") as f:
        json.dump({"label": "Alpha"}, f)
    c3, _ = _get(srv, path)
    expect(_labels(c3)[0] == ["Alpha"], "after a's new iiif.json: %r" % _labels(c3))
    shutil.rmtree(os.path.join(root, "coll", "b"))
    c4, _ = _get(srv, path)
    expect(_labels(c4) == [["Alpha"], ["c"]], "after removing member b: %r" % _labels(c4))
    # a member that was an empty folder gets its first image
    os.makedirs(os.path.join(root, "coll", "d"))
    c5, _ = _get(srv, path)
    expect(len(c5["items"]) == 2, "an empty folder is no member: %r" % _labels(c5))
    pt.save_pattern(os.path.join(root, "coll", "d", "leaf.jpg"), 400, 300)
    c6, _ = _get(srv, path)
    expect(_labels(c6) == [["Alpha"], ["c"], ["d"]], "after d got an image: %r" % _labels(c6))


def _renamed_path(srv, root):
    """A folder on the way to the item renamed and another put in its place."""
    os.makedirs(os.path.join(root, "x", "item"))
    for n in ("p1", "p2"):
        pt.save_pattern(os.path.join(root, "x", "item", n + ".jpg"), 300, 200)
    path = "/iiif/3/x%2Fitem/manifest"
    m1, _ = _get(srv, path)
    _get(srv, path)
    expect(len(m1["items"]) == 2, "before: %d canvases" % len(m1["items"]))
    os.rename(os.path.join(root, "x"), os.path.join(root, "x-old"))
    os.makedirs(os.path.join(root, "y", "item"))
    pt.save_pattern(os.path.join(root, "y", "item", "only.jpg"), 300, 200)
    _get(srv, path, 404)
    os.rename(os.path.join(root, "y"), os.path.join(root, "x"))
    m2, _ = _get(srv, path)
    expect(len(m2["items"]) == 1, "after x was replaced: %d canvases" % len(m2["items"]))


def _linked_files(ctx, srv, root, name):
    """Files that change through a name no watched folder holds."""
    outside = os.path.join(ctx.tmp, "watch-outside-" + name)
    shutil.rmtree(outside, ignore_errors=True)
    os.makedirs(outside)
    os.makedirs(os.path.join(root, "hl"))
    pt.save_pattern(os.path.join(outside, "page.jpg"), 300, 200)
    os.link(os.path.join(outside, "page.jpg"), os.path.join(root, "hl", "p1.jpg"))
    path = "/iiif/3/hl/manifest"
    m1, _ = _get(srv, path)
    _get(srv, path)
    expect(_size(m1) == (300, 200), "hard link before: %s" % (_size(m1),))
    _rewrite(os.path.join(root, "hl", "p1.jpg"), 320, 160, through=os.path.join(outside, "page.jpg"))
    m2, _ = _get(srv, path)
    expect(_size(m2) == (320, 160), "a hard-linked page rewritten through its other name: %s" % (_size(m2),))
    # a symlink to a file elsewhere in the root (a '_' folder: not published)
    os.makedirs(os.path.join(root, "_store"))
    os.makedirs(os.path.join(root, "sl"))
    pt.save_pattern(os.path.join(root, "_store", "t.jpg"), 300, 200)
    os.symlink(os.path.join(root, "_store", "t.jpg"), os.path.join(root, "sl", "p1.jpg"))
    path = "/iiif/3/sl/manifest"
    m3, _ = _get(srv, path)
    _get(srv, path)
    expect(_size(m3) == (300, 200), "symlink before: %s" % (_size(m3),))
    _rewrite(os.path.join(root, "_store", "t.jpg"), 280, 210)
    m4, _ = _get(srv, path)
    expect(_size(m4) == (280, 210), "a symlinked page's target rewritten: %s" % (_size(m4),))


def _daemon(ctx, setup, name, root, extra):
    if setup == "nginx":
        return harness.start_nginx_fastcgi(ctx.tmp, name, root, extra)
    return harness.start_embedded(ctx.tmp, name, root, extra)


for _setup, _extra, _tag in (("embedded", [], "watched"), ("nginx", [], "watched, nginx"),
                             ("embedded", ["--presentation-watch", "false"], "watch off")):
    def _register(setup=_setup, extra=_extra, tag=_tag):
        key = tag.replace(", ", "-").replace(" ", "-")

        @test("presentation watch (%s): an item rewritten in place, added to, given a sidecar and a CSV row, "
              "a page removed: each in the next answer" % tag, server=None)
        def _(ctx, srv_unused):
            root = _root(ctx, key + "-item")
            srv = _daemon(ctx, setup, "watch-%s-item" % key, root, extra)
            _item_changes(srv, root)

        @test("presentation watch (%s): a collection's member added, described, removed, filled: "
              "each in the next answer" % tag, server=None)
        def _(ctx, srv_unused):
            root = _root(ctx, key + "-coll")
            srv = _daemon(ctx, setup, "watch-%s-coll" % key, root, extra)
            _collection_changes(srv, root)

        @test("presentation watch (%s): a folder on the way to the item renamed and replaced" % tag, server=None)
        def _(ctx, srv_unused):
            root = _root(ctx, key + "-ren")
            srv = _daemon(ctx, setup, "watch-%s-ren" % key, root, extra)
            _renamed_path(srv, root)

        @test("presentation watch (%s): a hard-linked page rewritten through its other name, a symlink's "
              "target rewritten: in the next answer (such folders are never kept)" % tag, server=None)
        def _(ctx, srv_unused):
            root = _root(ctx, key + "-links")
            srv = _daemon(ctx, setup, "watch-%s-links" % key, root, extra)
            _linked_files(ctx, srv, root, key)
    _register()
