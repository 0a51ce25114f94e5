"""presentation_v2.py - IIIF Presentation 2.1 structure checks (check_v2).

The 2.1 forms: @context, @id/@type with sc:Manifest, sc:Collection,
sc:Sequence, sc:Canvas, oa:Annotation (motivation sc:painting, on = the
canvas @id), dctypes:Image resources with an Image API 2 service
(@context + profile), label/description/attribution as strings or
{@value, @language}, license and logo URIs, viewingHint per type,
navDate in YYYY-MM-DDThh:mm:ssZ, collections/manifests/members arrays,
and the IXIF mediaSequences the Universal Viewer reads for audio/video.
"""

from presentation_rules import (
    CONTEXT2, IMAGE2_CONTEXT, IMAGE2_PROFILE_RE, MEDIA_TYPE_RE, NAVDATE2_RE, VIEWING_DIRECTIONS, Problem,
    _BCP47, html_problems, is_posint, is_uri, looks_html, navdate_ok, strip_fragment)


# ==========================================================================
# 2.1 structure

VIEWING_HINTS2 = {
    "sc:Collection": {"individuals", "multi-part"},
    "sc:Manifest": {"individuals", "paged", "continuous"},
    "sc:Sequence": {"individuals", "paged", "continuous"},
    "sc:Range": {"individuals", "paged", "continuous", "top"},
    "sc:Canvas": {"non-paged", "facing-pages"},
}
IXIF_ELEMENT_TYPES = ("dctypes:Sound", "dctypes:MovingImage", "foaf:Document", "dctypes:Text",
                      "dctypes:PhysicalObject", "dctypes:Image")


class _V2:
    def __init__(self):
        self.p = []
        self.canvas_ids = {}

    def err(self, path, msg):
        self.p.append(Problem(path, msg))

    def id_(self, o, path):
        if "@id" not in o:
            self.err(path, "2.1 resources have @id" + (" (not id)" if "id" in o else ""))
            return None
        if not is_uri(o["@id"]):
            self.err(path + ".@id", "@id %r is not an HTTP(S) URI" % (o["@id"],))
        return o["@id"]

    def type_(self, o, path, allowed):
        t = o.get("@type")
        if t is None:
            self.err(path, "missing @type" + (" (2.1 uses @type, not type)" if "type" in o else ""))
        elif t not in allowed:
            self.err(path + ".@type", "@type %r, expected %s" % (t, " or ".join(allowed)))
        return t

    def text(self, v, path, html):
        """2.1 §4.3: a string, {@value, @language}, or an array of those."""
        vals = v if isinstance(v, list) else [v]
        if isinstance(v, list) and not v:
            self.err(path, "an empty array")
        for i, x in enumerate(vals):
            xp = path + ("[%d]" % i if isinstance(v, list) else "")
            if isinstance(x, dict):
                if not isinstance(x.get("@value"), str):
                    self.err(xp, "a language-tagged value needs a string @value")
                    continue
                lg = x.get("@language")
                if lg is not None and not (isinstance(lg, str) and _BCP47.match(lg)):
                    self.err(xp + ".@language", "%r is not an RFC 5646 tag" % (lg,))
                s = x["@value"]
            elif isinstance(x, str):
                s = x
            else:
                self.err(xp, "must be a string or {@value, @language}")
                continue
            if looks_html(s):
                if not html:
                    self.err(xp, "HTML is allowed only in description, attribution and metadata (2.1 §4.4)")
                else:
                    for m in html_problems(s):
                        self.err(xp, m)

    def uris(self, v, path, what):
        vals = v if isinstance(v, list) else [v]
        for i, x in enumerate(vals):
            xp = path + ("[%d]" % i if isinstance(v, list) else "")
            u = x.get("@id") if isinstance(x, dict) else x
            if not is_uri(u):
                self.err(xp, "%s must be a URI or an object with an @id URI" % what)

    def descriptive(self, o, path, kind):
        for k in o:
            if k == "@context" and path != "$":
                self.err(path + ".@context", "@context only on the top-most resource")
            if k in ("id", "type"):
                self.err("%s.%s" % (path, k), "%s is 3.0; 2.1 uses @%s" % (k, k))
        if "label" in o:
            self.text(o["label"], path + ".label", html=False)
        for k in ("description", "attribution"):
            if k in o:
                self.text(o[k], "%s.%s" % (path, k), html=True)
        if "metadata" in o:
            if not isinstance(o["metadata"], list):
                self.err(path + ".metadata", "metadata must be an array of {label, value}")
            else:
                for i, m in enumerate(o["metadata"]):
                    mp = "%s.metadata[%d]" % (path, i)
                    if not isinstance(m, dict) or "label" not in m or "value" not in m:
                        self.err(mp, "a metadata entry has label and value")
                        continue
                    self.text(m["label"], mp + ".label", html=False)
                    self.text(m["value"], mp + ".value", html=True)
        if "license" in o:
            self.uris(o["license"], path + ".license", "license")
        if "logo" in o:
            self.uris(o["logo"], path + ".logo", "logo")
        for k in ("related", "rendering", "seeAlso", "within"):
            if k in o:
                self.uris(o[k], "%s.%s" % (path, k), k)
        if "rendering" in o:
            vals = o["rendering"] if isinstance(o["rendering"], list) else [o["rendering"]]
            for i, r in enumerate(vals):
                rp = path + ".rendering" + ("[%d]" % i if isinstance(o["rendering"], list) else "")
                if not isinstance(r, dict) or "label" not in r or "format" not in r:
                    self.err(rp, "a rendering must have a label and a format (2.1 §3.4)")
        if "thumbnail" in o:
            self.uris(o["thumbnail"], path + ".thumbnail", "thumbnail")
        if "navDate" in o:
            if kind not in ("sc:Collection", "sc:Manifest"):
                self.err(path + ".navDate", "navDate only on collections and manifests (2.1 §3.3)")
            elif not (isinstance(o["navDate"], str) and NAVDATE2_RE.match(o["navDate"])
                      and navdate_ok(o["navDate"])):
                self.err(path + ".navDate", "navDate %r is not YYYY-MM-DDThh:mm:ssZ" % (o["navDate"],))
        if "viewingDirection" in o:
            if kind not in ("sc:Manifest", "sc:Sequence", "sc:Range"):
                self.err(path + ".viewingDirection", "viewingDirection is not allowed on %s" % kind)
            elif o["viewingDirection"] not in VIEWING_DIRECTIONS:
                self.err(path + ".viewingDirection", "viewingDirection %r is not one of %s" % (
                    o["viewingDirection"], ", ".join(VIEWING_DIRECTIONS)))
        if "viewingHint" in o:
            vh = o["viewingHint"]
            for i, h in enumerate(vh if isinstance(vh, list) else [vh]):
                hp = path + ".viewingHint" + ("[%d]" % i if isinstance(vh, list) else "")
                if not isinstance(h, str):
                    self.err(hp, "viewingHint values are strings")
                elif h not in VIEWING_HINTS2.get(kind, set()) and not is_uri(h):
                    self.err(hp, "viewingHint %r is not valid on %s (2.1 §3.3)" % (h, kind))
        if "service" in o:
            sv = o["service"]
            for i, s in enumerate(sv if isinstance(sv, list) else [sv]):
                self.service(s, path + ".service" + ("[%d]" % i if isinstance(sv, list) else ""))
        for k in ("height", "width"):
            if k in o and kind not in ("sc:Canvas", "dctypes:Image", "content"):
                self.err("%s.%s" % (path, k), "%s is not allowed on %s" % (k, kind))

    def service(self, s, path):
        if not isinstance(s, dict):
            if not is_uri(s):
                self.err(path, "a service is an object or a URI")
            return
        if "id" in s or "type" in s:
            self.err(path, "a 2.1 service uses @id (and @context/profile), not id/type")
        if not is_uri(s.get("@id")):
            self.err(path, "a service needs an @id URI")
        ctx = s.get("@context")
        prof = s.get("profile")
        first = prof[0] if isinstance(prof, list) and prof else prof
        if ctx == IMAGE2_CONTEXT or (isinstance(first, str) and "iiif.io/api/image/2" in first):
            if ctx != IMAGE2_CONTEXT:
                self.err(path + ".@context", "an Image API 2 service has @context %s" % IMAGE2_CONTEXT)
            if not (isinstance(first, str) and IMAGE2_PROFILE_RE.match(first)):
                self.err(path + ".profile", "profile %r is not an Image API 2 level URI" % (prof,))

    def collection(self, o, path):
        self.id_(o, path)
        self.type_(o, path, ("sc:Collection",))
        if "label" not in o:
            self.err(path, "a collection must have a label")
        self.descriptive(o, path, "sc:Collection")
        for k, types in (("collections", ("sc:Collection",)), ("manifests", ("sc:Manifest",)),
                         ("members", ("sc:Collection", "sc:Manifest"))):
            if k not in o:
                continue
            if not isinstance(o[k], list):
                self.err("%s.%s" % (path, k), "%s must be an array" % k)
                continue
            for i, m in enumerate(o[k]):
                mp = "%s.%s[%d]" % (path, k, i)
                if not isinstance(m, dict):
                    self.err(mp, "must be an object with @id, @type and label")
                    continue
                self.id_(m, mp)
                self.type_(m, mp, types)
                if "label" not in m:
                    self.err(mp, "a member must have a label")
                self.descriptive(m, mp, m.get("@type"))
                if m.get("@type") == "sc:Manifest" and "sequences" in m:
                    self.err(mp, "a manifest is referenced, not embedded, in a collection")

    def manifest(self, o, path):
        self.id_(o, path)
        self.type_(o, path, ("sc:Manifest",))
        if "label" not in o:
            self.err(path, "a manifest must have a label")
        self.descriptive(o, path, "sc:Manifest")
        seqs = o.get("sequences")
        if not isinstance(seqs, list) or not seqs:
            self.err(path, "a manifest must have sequences with at least one sequence")
            seqs = []
        for i, s in enumerate(seqs):
            sp = "%s.sequences[%d]" % (path, i)
            if not isinstance(s, dict):
                self.err(sp, "a sequence is an object")
                continue
            self.type_(s, sp, ("sc:Sequence",))
            if "@id" in s:
                self.id_(s, sp)
            self.descriptive(s, sp, "sc:Sequence")
            cs = s.get("canvases")
            if i == 0 and (not isinstance(cs, list) or not cs):
                self.err(sp, "the first sequence must embed canvases, at least one")
                continue
            for j, c in enumerate(cs or []):
                self.canvas(c, "%s.canvases[%d]" % (sp, j))
            if "startCanvas" in s:
                sc = s["startCanvas"]
                sc = sc.get("@id") if isinstance(sc, dict) else sc
                if sc not in self.canvas_ids:
                    self.err(sp + ".startCanvas", "startCanvas %r is not a canvas of the sequence" % (sc,))
        if "structures" in o:
            if not isinstance(o["structures"], list):
                self.err(path + ".structures", "structures must be an array")
            else:
                for i, r in enumerate(o["structures"]):
                    self.range(r, "%s.structures[%d]" % (path, i))
        if "mediaSequences" in o:
            self.media_sequences(o["mediaSequences"], path + ".mediaSequences")

    def canvas(self, c, path):
        if not isinstance(c, dict):
            self.err(path, "a canvas is an object")
            return
        cid = self.id_(c, path)
        self.type_(c, path, ("sc:Canvas",))
        if isinstance(cid, str):
            if "#" in cid:
                self.err(path + ".@id", "a canvas @id has no fragment")
            if cid in self.canvas_ids:
                self.err(path + ".@id", "canvas @id repeats %s" % self.canvas_ids[cid])
            self.canvas_ids[cid] = path
        if "label" not in c:
            self.err(path, "a canvas must have a label (2.1 §5.3)")
        for k in ("height", "width"):
            if k not in c:
                self.err(path, "a canvas must have %s (2.1 §3.2)" % k)
            elif not is_posint(c[k]):
                self.err("%s.%s" % (path, k), "%s must be a positive integer" % k)
        self.descriptive(c, path, "sc:Canvas")
        imgs = c.get("images", [])
        if not isinstance(imgs, list):
            self.err(path + ".images", "images must be an array")
            imgs = []
        for i, a in enumerate(imgs):
            ap = "%s.images[%d]" % (path, i)
            if not isinstance(a, dict):
                self.err(ap, "an image annotation is an object")
                continue
            if "@id" in a:
                self.id_(a, ap)
            self.type_(a, ap, ("oa:Annotation",))
            if a.get("motivation") != "sc:painting":
                self.err(ap + ".motivation", "image annotations have motivation sc:painting")
            if a.get("on") != cid:
                self.err(ap + ".on", "on %r is not the canvas @id %r" % (a.get("on"), cid))
            r = a.get("resource")
            if not isinstance(r, dict):
                self.err(ap, "an image annotation has a resource object")
                continue
            rp = ap + ".resource"
            t = self.type_(r, rp, ("dctypes:Image", "oa:Choice", "oa:SpecificResource"))
            if t == "dctypes:Image":
                self.id_(r, rp)
                if "format" in r and not (isinstance(r["format"], str) and MEDIA_TYPE_RE.match(r["format"])):
                    self.err(rp + ".format", "format %r is not a media type" % (r["format"],))
                for k in ("height", "width"):
                    if k in r and not is_posint(r[k]):
                        self.err("%s.%s" % (rp, k), "%s must be a positive integer" % k)
                self.descriptive(r, rp, "dctypes:Image")

    def range(self, r, path):
        if not isinstance(r, dict):
            self.err(path, "a range is an object")
            return
        self.id_(r, path)
        self.type_(r, path, ("sc:Range",))
        if "label" not in r:
            self.err(path, "a range must have a label")
        self.descriptive(r, path, "sc:Range")
        for k in ("canvases", "ranges", "members"):
            if k in r and not isinstance(r[k], list):
                self.err("%s.%s" % (path, k), "%s must be an array" % k)
        for i, c in enumerate(r.get("canvases", []) if isinstance(r.get("canvases"), list) else []):
            if not isinstance(c, str) or strip_fragment(c) not in self.canvas_ids:
                self.err("%s.canvases[%d]" % (path, i), "%r is not a canvas of this manifest" % (c,))
        for i, m in enumerate(r.get("members", []) if isinstance(r.get("members"), list) else []):
            mp = "%s.members[%d]" % (path, i)
            if not isinstance(m, dict):
                self.err(mp, "a member is an object with @id and @type")
                continue
            t = self.type_(m, mp, ("sc:Canvas", "sc:Range"))
            if t == "sc:Canvas" and strip_fragment(m.get("@id")) not in self.canvas_ids:
                self.err(mp, "%r is not a canvas of this manifest" % (m.get("@id"),))

    def media_sequences(self, ms, path):
        """IXIF (the UV's 2.x extension for AV): mediaSequences, each an
        ixif:MediaSequence whose elements are the media files."""
        if not isinstance(ms, list) or not ms:
            self.err(path, "mediaSequences must be a non-empty array")
            return
        for i, s in enumerate(ms):
            sp = "%s[%d]" % (path, i)
            if not isinstance(s, dict):
                self.err(sp, "a media sequence is an object")
                continue
            self.id_(s, sp)
            self.type_(s, sp, ("ixif:MediaSequence",))
            els = s.get("elements")
            if not isinstance(els, list) or not els:
                self.err(sp, "a media sequence has elements, at least one")
                continue
            for j, e in enumerate(els):
                ep = "%s.elements[%d]" % (sp, j)
                if not isinstance(e, dict):
                    self.err(ep, "an element is an object")
                    continue
                self.id_(e, ep)
                self.type_(e, ep, IXIF_ELEMENT_TYPES)
                if not (isinstance(e.get("format"), str) and MEDIA_TYPE_RE.match(e["format"])):
                    self.err(ep, "an element has a media type in format")
                if "label" in e:
                    self.text(e["label"], ep + ".label", html=False)


def check_v2(doc, expect_type=None):
    """Structural problems of a Presentation 2.1 document (sc:Manifest,
    sc:Collection, sc:Canvas, sc:Range, sc:Sequence, oa:Annotation)."""
    v = _V2()
    if not isinstance(doc, dict):
        return [Problem("$", "the document must be a JSON object")]
    ctx = doc.get("@context")
    if ctx != CONTEXT2 and not (isinstance(ctx, list) and CONTEXT2 in ctx):
        v.err("$.@context", "@context must be %s" % CONTEXT2)
    t = doc.get("@type")
    if expect_type and t != expect_type:
        v.err("$.@type", "@type %r, expected %s" % (t, expect_type))
    if t == "sc:Manifest":
        v.manifest(doc, "$")
    elif t == "sc:Collection":
        v.collection(doc, "$")
    elif t == "sc:Canvas":
        v.canvas(doc, "$")
    elif t == "sc:Sequence":
        v.descriptive(doc, "$", "sc:Sequence")
        for j, c in enumerate(doc.get("canvases", [])):
            v.canvas(c, "$.canvases[%d]" % j)
    elif t == "sc:Range":
        v.id_(doc, "$")
        v.descriptive(doc, "$", "sc:Range")
    elif t == "oa:Annotation":
        v.id_(doc, "$")
        if doc.get("motivation") != "sc:painting":
            v.err("$.motivation", "image annotations have motivation sc:painting")
    else:
        v.type_(doc, "$", ("sc:Manifest", "sc:Collection", "sc:Canvas", "sc:Sequence", "sc:Range",
                           "oa:Annotation"))
    return v.p
