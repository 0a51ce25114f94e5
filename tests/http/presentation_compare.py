"""presentation_compare.py - a Manifest against the facts its tree measured.

compare_manifest3 / compare_manifest2 take a presentation_tree.Tree, the
server's base URL, one ManifestExp and the JSON the server gave, and
return the differences as sentences: canvas count and order, ids, body
types, sizes after EXIF orientation, ffprobe durations (0.1 s), labels,
image services, media URLs and formats, thumbnails, seeAlso, renderings,
behavior, navDate (the same instant in 3.0, UTC in 2.1), rights, start,
CSV metadata, the sidecar's provider/homepage/requiredStatement, Ranges.

The one idea: where presentation.md leaves a choice open (the language
key of a default label, %2B or + in a URL), both answers are accepted;
where it is explicit, the comparison is exact.
"""

import os
import urllib.parse

import presentation_tree as pt

DURATION_TOL = 0.1


def same_url(a, b):
    """Equal once percent-decoded: %2B and + (a sub-delim the URL forms
    may keep or encode) name the same file here."""
    if not isinstance(a, str) or not isinstance(b, str):
        return a == b
    return urllib.parse.unquote(a) == urllib.parse.unquote(b)


def strings(lm):
    if isinstance(lm, dict):
        return sorted(s for v in lm.values() if isinstance(v, list) for s in v)
    if isinstance(lm, str):
        return [lm]
    if isinstance(lm, list):
        return sorted(x if isinstance(x, str) else x.get("@value", "") for x in lm)
    return []


def label_matches(expected, got, is_file=False):
    """Same strings; a tagged expectation must keep its tag (the sidecar
    said so); an untagged one may carry the language the design leaves
    open.  A single-file Manifest may drop the extension."""
    gs = strings(got)
    es = strings(expected)
    if is_file and len(es) == 1 and gs == [os.path.splitext(es[0])[0]]:
        return True
    if gs != es:
        return False
    if isinstance(got, dict):
        for k, v in expected.items():
            if k != "none" and got.get(k) != v:
                return False
    return True


def instant(v):
    """An xsd:dateTime with a zone as an aware datetime (None if it is not one)."""
    import datetime
    if not isinstance(v, str):
        return None
    try:
        return datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        return None


def utc_z(v):
    import datetime
    return instant(v).astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def first_body(canvas):
    try:
        return canvas["items"][0]["items"][0]["body"]
    except (KeyError, IndexError, TypeError):
        return None


def _norm_frag(frag):
    out = []
    for part in frag.split("&"):
        k, _, v = part.partition("=")
        if k == "t":
            out.append("t=" + ",".join("%g" % float(x) for x in v.split(",") if x))
        else:
            out.append(k + "=" + v)
    return "&".join(out)


def range_tree(r, canvas_index):
    """A Range as (label, [children]) with canvas refs as their index
    (plus '#fragment'), to compare with the tree's expectations."""
    kids = []
    for x in r.get("items", []):
        t = x.get("type")
        if t == "Range":
            kids.append(range_tree(x, canvas_index))
            continue
        if t == "SpecificResource":
            src = x.get("source")
            ref = src.get("id") if isinstance(src, dict) else src
            sel = x.get("selector", {})
            if isinstance(sel, dict) and sel.get("value"):
                ref = "%s#%s" % (ref, sel["value"])
        else:
            ref = x.get("id", "")
        cid, _, frag = ref.partition("#")
        idx = canvas_index.get(cid, cid)
        kids.append("%s#%s" % (idx, _norm_frag(frag)) if frag else idx)
    lab = strings(r.get("label"))
    return (lab[0] if lab else None, kids)


def _norm_expected_ranges(ranges):
    out = []
    for x in ranges:
        if isinstance(x, tuple):
            out.append((x[0], _norm_expected_ranges(x[1])))
        elif isinstance(x, str) and "#" in x:
            i, _, frag = x.partition("#")
            out.append("%s#%s" % (int(i), _norm_frag(frag)))
        else:
            out.append(x)
    return out


def compare_manifest3(t, base, exp, m):
    """Differences between a 3.0 Manifest and the tree's facts."""
    errs = []
    is_file = "." in exp.item.rsplit("%2F", 1)[-1]
    if not label_matches(exp.label, m.get("label"), is_file):
        errs.append("label %r, expected %r" % (m.get("label"), exp.label))
    items = m.get("items") or []
    if len(items) != len(exp.canvases):
        errs.append("%d canvases, expected %d (%s)" % (len(items), len(exp.canvases),
                                                     ", ".join(c.file for c in exp.canvases)))
    index = {}
    for i, (c, ce) in enumerate(zip(items, exp.canvases)):
        w = "canvas p%d (%s)" % (i + 1, ce.file)
        want_id = "%s/iiif/3/%s/canvas/p%d" % (base, exp.item, i + 1)
        if not same_url(c.get("id"), want_id):
            errs.append("%s: id %r, expected %r" % (w, c.get("id"), want_id))
        index[c.get("id")] = i
        b = first_body(c)
        if not isinstance(b, dict):
            errs.append("%s: no painting body" % w)
            continue
        if b.get("type") != ce.kind:
            errs.append("%s: body type %r, expected %r" % (w, b.get("type"), ce.kind))
        if not label_matches(ce.label, c.get("label")):
            errs.append("%s: label %r, expected %r" % (w, c.get("label"), ce.label))
        if ce.kind == "Image":
            if (c.get("width"), c.get("height")) != (ce.width, ce.height):
                errs.append("%s: %sx%s, the image is %dx%d after orientation" % (
                    w, c.get("width"), c.get("height"), ce.width, ce.height))
            svc = [s for s in b.get("service", []) if isinstance(s, dict) and s.get("type") == "ImageService3"]
            want = "%s/iiif/3/%s" % (base, pt.pct(ce.file))
            if not svc or not same_url(svc[0].get("id"), want):
                errs.append("%s: ImageService3 %r, expected %r" % (w, svc[0].get("id") if svc else None, want))
            if not [s for s in b.get("service", []) if isinstance(s, dict) and s.get("@type") == "ImageService2"]:
                errs.append("%s: no ImageService2 beside the ImageService3 (presentation.md §5)" % w)
            if b.get("format") != "image/jpeg":
                errs.append("%s: image body format %r, expected image/jpeg" % (w, b.get("format")))
        else:
            want = t.res(base, ce.file)
            if not same_url(b.get("id"), want):
                errs.append("%s: body id %r, expected %r" % (w, b.get("id"), want))
            if ce.format and b.get("format") != ce.format:
                errs.append("%s: format %r, expected %r" % (w, b.get("format"), ce.format))
        if ce.kind in ("Sound", "Video"):
            d = c.get("duration")
            if not isinstance(d, (int, float)) or abs(d - ce.duration) > DURATION_TOL:
                errs.append("%s: duration %r, ffprobe says %.3f" % (w, d, ce.duration))
        if ce.kind == "Sound" and ("width" in c or "height" in c):
            errs.append("%s: a Sound canvas has only a duration" % w)
        if ce.kind == "Video" and (c.get("width"), c.get("height")) != (ce.width, ce.height):
            errs.append("%s: %sx%s, the video is %dx%d" % (w, c.get("width"), c.get("height"), ce.width, ce.height))
        if ce.thumbnail and not c.get("thumbnail"):
            errs.append("%s: no thumbnail (presentation.md §5: every canvas with a picture)" % w)
        sa = [urllib.parse.unquote(x.get("id", "")) for x in c.get("seeAlso", []) if isinstance(x, dict)]
        for f in ce.see_also:
            if urllib.parse.unquote(t.res(base, f)) not in sa:
                errs.append("%s: seeAlso %r lacks %s" % (w, sa, t.res(base, f)))
    if any(c.thumbnail for c in exp.canvases) and not m.get("thumbnail"):
        errs.append("no Manifest thumbnail though a canvas has a picture")
    rend = [urllib.parse.unquote(x.get("id", "")) for x in m.get("rendering", []) if isinstance(x, dict)]
    for f in exp.rendering:
        if urllib.parse.unquote(t.res(base, f)) not in rend:
            errs.append("rendering %r lacks %s" % (rend, t.res(base, f)))
    if exp.behavior is not None and m.get("behavior") != exp.behavior:
        errs.append("behavior %r, expected %r" % (m.get("behavior"), exp.behavior))
    if exp.nav_date is not None and instant(m.get("navDate")) != instant(exp.nav_date):
        errs.append("navDate %r, expected the instant %r" % (m.get("navDate"), exp.nav_date))
    x = exp.extra
    if "provider" in x:
        pr = m.get("provider") or [{}]
        if x["provider"] not in strings(pr[0].get("label")):
            errs.append("provider %r, expected the label %r" % (pr, x["provider"]))
        logo = (pr[0].get("logo") or [{}])[0].get("id", "")
        folder, _, name = x.get("provider_logo", "/").rpartition("/")
        ul = urllib.parse.unquote(logo)
        if "provider_logo" in x and not (folder in ul and name in ul):
            errs.append("provider logo %r is not %s" % (logo, x["provider_logo"]))
    if "homepage" in x and x["homepage"] not in [h.get("id") for h in m.get("homepage", []) if isinstance(h, dict)]:
        errs.append("homepage %r lacks %s" % (m.get("homepage"), x["homepage"]))
    if "requiredStatement" in x:
        rs = m.get("requiredStatement") or {}
        if strings(rs.get("label")) != [x["requiredStatement"][0]] or strings(rs.get("value")) != [x["requiredStatement"][1]]:
            errs.append("requiredStatement %r, expected %r" % (rs, x["requiredStatement"]))
    if "thumbnail_file" in x:
        th = (m.get("thumbnail") or [{}])[0].get("id", "")
        if urllib.parse.unquote(th).find("/iiif/3/" + x["thumbnail_file"] + "/") < 0:
            errs.append("Manifest thumbnail %r is not from %s" % (th, x["thumbnail_file"]))
    if "viewingDirection" in x and m.get("viewingDirection") != x["viewingDirection"]:
        errs.append("viewingDirection %r, expected %r" % (m.get("viewingDirection"), x["viewingDirection"]))
    for sa in x.get("seeAlso", []):
        if sa not in [e.get("id") for e in m.get("seeAlso", []) if isinstance(e, dict)]:
            errs.append("seeAlso %r lacks %s" % (m.get("seeAlso"), sa))
    if m.get("rights") != exp.rights:
        errs.append("rights %r, expected %r" % (m.get("rights"), exp.rights))
    if exp.summary and not m.get("summary"):
        errs.append("no summary")
    if exp.start is not None:
        want = "%s/iiif/3/%s/canvas/p%d" % (base, exp.item, exp.start + 1)
        if not same_url((m.get("start") or {}).get("id"), want):
            errs.append("start %r, expected %s" % (m.get("start"), want))
    for header, value in exp.metadata.items():
        hit = [e for e in m.get("metadata", []) if isinstance(e, dict) and header in strings(e.get("label"))]
        if not hit:
            errs.append("no metadata entry labelled %r (have %r)" % (
                header, [strings(e.get("label")) for e in m.get("metadata", []) if isinstance(e, dict)]))
        elif not label_matches(value, hit[0].get("value")):
            errs.append("metadata %r = %r, expected %r" % (header, hit[0].get("value"), value))
    if exp.ranges is not None:
        got = [range_tree(r, index) for r in m.get("structures", []) if isinstance(r, dict)]
        want = _norm_expected_ranges(exp.ranges)
        if got != want:
            errs.append("structures %r, expected %r" % (got, want))
    return errs


def compare_manifest2(t, base, exp, m):
    errs = []
    is_file = "." in exp.item.rsplit("%2F", 1)[-1]
    lab = m.get("label")
    if not label_matches(exp.label, lab if isinstance(lab, (list, dict)) else [lab], is_file) \
            and not label_matches(exp.label, {"none": strings(lab)}, is_file):
        errs.append("label %r, expected %r" % (lab, exp.label))
    seqs = m.get("sequences") or [{}]
    canv = seqs[0].get("canvases") or []
    if len(canv) != len(exp.canvases):
        errs.append("%d canvases, expected %d" % (len(canv), len(exp.canvases)))
    kinds = set(c.kind for c in exp.canvases)
    for i, (c, ce) in enumerate(zip(canv, exp.canvases)):
        w = "canvas %d (%s)" % (i + 1, ce.file)
        want_id = "%s/iiif/2/%s/canvas/p%d" % (base, exp.item, i + 1)
        if not same_url(c.get("@id"), want_id):
            errs.append("%s: @id %r, expected %r" % (w, c.get("@id"), want_id))
        if ce.kind == "Image":
            if (c.get("width"), c.get("height")) != (ce.width, ce.height):
                errs.append("%s: %sx%s, expected %dx%d" % (w, c.get("width"), c.get("height"), ce.width, ce.height))
            try:
                svc = c["images"][0]["resource"]["service"]
                svc = svc[0] if isinstance(svc, list) else svc
                if not same_url(svc.get("@id"), "%s/iiif/2/%s" % (base, pt.pct(ce.file))):
                    errs.append("%s: image service %r" % (w, svc.get("@id")))
            except (KeyError, IndexError, TypeError, AttributeError):
                errs.append("%s: no images[0].resource.service" % w)
        elif ce.kind in ("Sound", "Video", "Model"):
            rend = c.get("rendering")
            rend = rend if isinstance(rend, list) else [rend] if rend else []
            ids = [urllib.parse.unquote(x.get("@id", "") if isinstance(x, dict) else x) for x in rend]
            if urllib.parse.unquote(t.res(base, ce.file)) not in ids:
                errs.append("%s: the placeholder canvas's rendering %r lacks the file" % (w, ids))
    if kinds & {"Sound", "Video", "Model"}:
        els = [urllib.parse.unquote(e.get("@id", "")) for s in m.get("mediaSequences", []) if isinstance(s, dict)
               for e in s.get("elements", []) if isinstance(e, dict)]
        for ce in exp.canvases:
            if urllib.parse.unquote(t.res(base, ce.file)) not in els:
                errs.append("mediaSequences elements %r lack %s" % (els, t.res(base, ce.file)))
    if exp.nav_date is not None and m.get("navDate") != utc_z(exp.nav_date):
        errs.append("navDate %r, expected %r (2.1 gives it in UTC)" % (m.get("navDate"), utc_z(exp.nav_date)))
    if exp.rights is not None:
        lic = m.get("license")
        if exp.rights not in (lic if isinstance(lic, list) else [lic]):
            errs.append("license %r, expected %r" % (lic, exp.rights))
    return errs
