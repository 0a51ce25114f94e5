"""presentation_v3.py - IIIF Presentation 3.0 structure checks (check_v3).

Walks a 3.0 document knowing the type expected at each place: required
and forbidden properties per type (Appendix A), arrays (§4.3), language
maps (§4.4), HTML (§4.5), @context (§4.6), services never mixing id/type
with @id/@type, canvas dimensions (§3.2, §5.3), painting annotations and
their targets, and what a schema cannot say but the document can: canvas
ids unique and fragment-free, Range and start references resolving to
canvases of this Manifest, #t= and #xywh= inside the canvas's extent.
"""

import json
import re

from presentation_rules import (
    ARRAY_PROPS, BEHAVIOR_DISJOINT, BEHAVIOR_TYPES, CONTENT_TYPES, CONTEXT3, FORBIDDEN,
    IMAGE2_PROFILE_RE, IMAGE3_PROFILES, LANG_PROPS, MEDIA_TYPE_RE, VIEWING_DIRECTIONS, Problem, _BCP47,
    html_problems, is_posint, is_posnum, is_uri, looks_html, navdate_ok, rights_ok, strip_fragment)


# ==========================================================================
# 3.0 structure


class _V3:
    def __init__(self):
        self.p = []
        self.canvases = {}        # canvas id -> canvas object
        self.canvas_paths = {}
        self.range_ids = {}
        self.range_refs = []      # (path, canvas uri possibly with fragment)
        self.ann_ids = {}
        self.page_ids = {}

    def err(self, path, msg):
        self.p.append(Problem(path, msg))

    # ---------------------------------------------------------- values
    def lang_map(self, v, path, html=False):
        if not isinstance(v, dict):
            self.err(path, "a language map must be a JSON object of arrays of strings (§4.4), got %s"
                     % type(v).__name__)
            return
        if not v:
            self.err(path, "a language map must have at least one entry")
        for k, vals in v.items():
            if k != "none" and not _BCP47.match(k):
                self.err(path, "language map key %r is neither a BCP 47 tag nor \"none\"" % k)
            if not isinstance(vals, list):
                self.err("%s[%s]" % (path, json.dumps(k)), "language map values must be an array of strings")
                continue
            for i, s in enumerate(vals):
                sp = "%s[%s][%d]" % (path, json.dumps(k), i)
                if not isinstance(s, str):
                    self.err(sp, "language map values must be strings")
                elif looks_html(s):
                    if not html:
                        self.err(sp, "HTML is allowed only in summary and metadata/requiredStatement values (§4.5)")
                    else:
                        for m in html_problems(s):
                            self.err(sp, m)

    def label_value(self, v, path):
        if not isinstance(v, dict):
            self.err(path, "must be a JSON object with label and value")
            return
        for k in ("label", "value"):
            if k not in v:
                self.err(path, "missing %s" % k)
            else:
                self.lang_map(v[k], "%s.%s" % (path, k), html=(k == "value"))

    def id_(self, o, path, required=True, http=True):
        if "id" not in o:
            if "@id" in o:
                self.err(path, "3.0 uses id, not @id (§4.8)")
            elif required:
                self.err(path, "missing id")
            return None
        v = o["id"]
        if not isinstance(v, str):
            self.err(path + ".id", "id must be a string")
            return None
        if http and not is_uri(v):
            self.err(path + ".id", "id %r is not an HTTP(S) URI" % v)
        return v

    def type_(self, o, path, allowed=None):
        if "type" not in o:
            if "@type" in o:
                self.err(path, "3.0 uses type, not @type (§4.8)")
            else:
                self.err(path, "missing type")
            return None
        t = o["type"]
        if not isinstance(t, str):
            self.err(path + ".type", "type must be a string")
            return None
        if allowed and t not in allowed:
            self.err(path + ".type", "type %r, expected %s" % (t, " or ".join(allowed)))
        return t

    def array(self, o, k, path):
        v = o.get(k)
        if v is None:
            return []
        if not isinstance(v, list):
            self.err("%s.%s" % (path, k), "%s must be an array (§4.3)" % k)
            return []
        return v

    def objects(self, o, k, path):
        for i, x in enumerate(self.array(o, k, path)):
            p = "%s.%s[%d]" % (path, k, i)
            if not isinstance(x, dict):
                self.err(p, "must be a JSON object")
                continue
            yield x, p

    # ---------------------------------------------------------- common
    def common(self, o, path, kind):
        """Properties every resource may have, checked for form, and the
        per-type forbidden ones (Appendix A)."""
        forb = FORBIDDEN.get(kind, set())
        for k in o:
            if k in forb:
                self.err("%s.%s" % (path, k), "%s is not allowed on a %s (Appendix A)" % (k, kind))
            elif k.startswith("@") and not (k == "@context" and path == "$"):
                if k == "@context":
                    self.err("%s.%s" % (path, k), "@context only on the top-most resource (§4.6)")
                else:
                    self.err("%s.%s" % (path, k), "%s is not a 3.0 key (§4.8)" % k)
        for k in ARRAY_PROPS:
            if k in o and not isinstance(o[k], list):
                self.err("%s.%s" % (path, k), "%s must be an array (§4.3)" % k)
        for k in LANG_PROPS:
            if k in o:
                self.lang_map(o[k], "%s.%s" % (path, k), html=(k == "summary"))
        for i, m in enumerate(self.array(o, "metadata", path)):
            self.label_value(m, "%s.metadata[%d]" % (path, i))
        if "requiredStatement" in o:
            self.label_value(o["requiredStatement"], path + ".requiredStatement")
        if "rights" in o and not rights_ok(o["rights"]):
            self.err(path + ".rights", "rights %r is not a Creative Commons or RightsStatements.org "
                     "http URI (§3.1 rights)" % (o["rights"],))
        if "navDate" in o and not navdate_ok(o["navDate"]):
            self.err(path + ".navDate", "navDate %r is not an xsd:dateTime with a time zone" % (o["navDate"],))
        if "viewingDirection" in o and o["viewingDirection"] not in VIEWING_DIRECTIONS:
            self.err(path + ".viewingDirection", "viewingDirection %r is not one of %s" % (
                o["viewingDirection"], ", ".join(VIEWING_DIRECTIONS)))
        if "behavior" in o:
            self.behavior(o, path, kind)
        for x, p in self.objects(o, "thumbnail", path):
            self.content(x, p, role="thumbnail")
        for x, p in self.objects(o, "homepage", path):
            self.link(x, p, need_label=True)
        for x, p in self.objects(o, "rendering", path):
            self.link(x, p, need_label=True)
        for x, p in self.objects(o, "seeAlso", path):
            self.link(x, p, need_label=False)
        for x, p in self.objects(o, "partOf", path):
            self.id_(x, p)
            self.type_(x, p)
        for x, p in self.objects(o, "provider", path):
            self.agent(x, p)
        for x, p in self.objects(o, "service", path):
            self.service(x, p)
        for x, p in self.objects(o, "services", path):
            self.service(x, p)
        for x, p in self.objects(o, "annotations", path):
            self.annotation_page(x, p, painting=False)
        for k in ("placeholderCanvas", "accompanyingCanvas"):
            if k in o:
                if not isinstance(o[k], dict):
                    self.err("%s.%s" % (path, k), "must be a JSON object")
                else:
                    c = o[k]
                    if "placeholderCanvas" in c or "accompanyingCanvas" in c:
                        self.err("%s.%s" % (path, k), "a %s must not have placeholderCanvas or accompanyingCanvas" % k)
                    self.canvas(c, "%s.%s" % (path, k), register=False)

    def behavior(self, o, path, kind):
        b = o["behavior"]
        if not isinstance(b, list):
            return
        for i, v in enumerate(b):
            bp = "%s.behavior[%d]" % (path, i)
            if not isinstance(v, str):
                self.err(bp, "behavior values are strings")
            elif v not in BEHAVIOR_TYPES:
                self.err(bp, "behavior %r is not defined by the specification" % v)
            elif kind not in BEHAVIOR_TYPES[v] and not (kind == "content" and v == "hidden"):
                self.err(bp, "behavior %r is not valid on a %s (Appendix A)" % (v, kind))
        for a, c in BEHAVIOR_DISJOINT:
            if a in b and c in b:
                self.err(path + ".behavior", "behaviors %r and %r are disjoint" % (a, c))
        if len(set(x for x in b if isinstance(x, str))) != len(b):
            self.err(path + ".behavior", "a behavior value is repeated")

    def link(self, o, path, need_label):
        self.id_(o, path)
        self.type_(o, path)
        if need_label and "label" not in o:
            self.err(path, "missing label")
        self.content_fields(o, path)
        if "label" in o:
            self.lang_map(o["label"], path + ".label")

    def agent(self, o, path):
        self.id_(o, path, http=False)
        if isinstance(o.get("id"), str) and not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", o["id"]):
            self.err(path + ".id", "an Agent's id must be a URI")
        self.type_(o, path, ("Agent",))
        if "label" not in o:
            self.err(path, "an Agent must have a label")
        else:
            self.lang_map(o["label"], path + ".label")
        for x, p in self.objects(o, "homepage", path):
            self.link(x, p, need_label=True)
        for x, p in self.objects(o, "logo", path):
            self.id_(x, p)
            self.type_(x, p, ("Image",))
            self.content_fields(x, p)
            for s, sp in self.objects(x, "service", p):
                self.service(s, sp)
        for x, p in self.objects(o, "seeAlso", path):
            self.link(x, p, need_label=False)

    def service(self, o, path):
        has = {k: k in o for k in ("id", "@id", "type", "@type")}
        if not (has["id"] or has["@id"]):
            self.err(path, "a service must have id or @id")
        if not (has["type"] or has["@type"]):
            self.err(path, "a service must have type or @type")
        t = o.get("type", o.get("@type"))
        if (has["id"] and has["@type"]) or (has["@id"] and has["type"]) or (has["id"] and has["@id"]):
            self.err(path, "a service mixes id/type with @id/@type")
        if "@context" in o:
            self.err(path + ".@context", "@context should not be inside a service (§3.3 service)")
        if t == "ImageService3":
            if not has["id"] or not has["type"]:
                self.err(path, "ImageService3 uses id and type")
            if o.get("profile") not in IMAGE3_PROFILES:
                self.err(path + ".profile", "ImageService3 profile %r is not level0, level1 or level2" % (o.get("profile"),))
        elif t == "ImageService2":
            if not has["@id"] or not has["@type"]:
                self.err(path, "ImageService2 uses @id and @type")
            prof = o.get("profile")
            first = prof[0] if isinstance(prof, list) and prof else prof
            if not (isinstance(first, str) and IMAGE2_PROFILE_RE.match(first)):
                self.err(path + ".profile", "ImageService2 profile %r is not an Image API 2 level URI" % (prof,))
        sid = o.get("id", o.get("@id"))
        if sid is not None and not is_uri(sid):
            self.err(path, "service id %r is not an HTTP(S) URI" % (sid,))
        if t in ("ImageService3", "ImageService2"):
            for k in ("width", "height"):
                if k in o and not is_posint(o[k]):
                    self.err("%s.%s" % (path, k), "%s must be a positive integer" % k)
            for i, s in enumerate(o.get("sizes", []) if isinstance(o.get("sizes", []), list) else []):
                if not (isinstance(s, dict) and is_posint(s.get("width")) and is_posint(s.get("height"))):
                    self.err("%s.sizes[%d]" % (path, i), "a sizes entry has positive integer width and height")
        for x, p in self.objects(o, "service", path):
            self.service(x, p)

    def content_fields(self, o, path):
        if "format" in o and not (isinstance(o["format"], str) and MEDIA_TYPE_RE.match(o["format"])):
            self.err(path + ".format", "format %r is not a media type" % (o["format"],))
        if "language" in o:
            if not isinstance(o["language"], list):
                self.err(path + ".language", "language must be an array (§4.3)")
            else:
                for i, lg in enumerate(o["language"]):
                    if not (isinstance(lg, str) and _BCP47.match(lg)):
                        self.err("%s.language[%d]" % (path, i), "%r is not a BCP 47 tag" % (lg,))
        hw = [k for k in ("width", "height") if k in o]
        for k in hw:
            if not is_posint(o[k]):
                self.err("%s.%s" % (path, k), "%s must be a positive integer" % k)
        if "duration" in o and not is_posnum(o["duration"]):
            self.err(path + ".duration", "duration must be a positive number")

    def content(self, o, path, role="body"):
        t = self.type_(o, path)
        if t in ("SpecificResource",):
            self.id_(o, path, required=False)
            if "source" not in o:
                self.err(path, "a SpecificResource must have a source")
            return
        if t == "Choice":
            for x, p in self.objects(o, "items", path):
                self.content(x, p, role)
            return
        if t == "TextualBody":
            if not isinstance(o.get("value"), str):
                self.err(path, "a TextualBody has a string value")
            return
        self.id_(o, path)
        if t is not None and t not in CONTENT_TYPES and t not in ("Canvas",):
            self.err(path + ".type", "content type %r is not one of %s" % (t, ", ".join(CONTENT_TYPES)))
        self.common(o, path, "content")
        self.content_fields(o, path)
        hw = [k for k in ("width", "height") if k in o]
        if len(hw) == 1:
            self.err(path, "%s without %s" % (hw[0], "height" if hw[0] == "width" else "width"))
        if t == "Sound" and hw:
            self.err(path, "a Sound has no width or height")
        if t in ("Image",) and "duration" in o:
            self.err(path + ".duration", "an Image has no duration")
        if t == "Image" and isinstance(o.get("id"), str):
            for s in o.get("service", []) if isinstance(o.get("service"), list) else []:
                if isinstance(s, dict) and o["id"] == s.get("id", s.get("@id")):
                    self.err(path + ".id", "an Image's id must not be just its service's URI (§5.7)")

    # ---------------------------------------------------------- types
    def collection(self, o, path):
        self.id_(o, path)
        self.type_(o, path, ("Collection",))
        if "label" not in o:
            self.err(path, "a Collection must have a label")
        self.common(o, path, "Collection")
        if "items" not in o:
            self.err(path, "a Collection must have items")
        for x, p in self.objects(o, "items", path):
            t = self.type_(x, p, ("Collection", "Manifest"))
            self.id_(x, p)
            if "label" not in x:
                self.err(p, "a referenced %s must have a label (§5.1)" % (t or "member"))
            if t == "Manifest":
                if "items" in x:
                    self.err(p, "a Manifest must not be embedded in a Collection (§5.1)")
                self.common(x, p, "Manifest")
            elif t == "Collection":
                if "items" in x:
                    self.collection(x, p)
                else:
                    self.common(x, p, "Collection")

    def manifest(self, o, path):
        self.id_(o, path)
        self.type_(o, path, ("Manifest",))
        if "label" not in o:
            self.err(path, "a Manifest must have a label")
        self.common(o, path, "Manifest")
        items = o.get("items")
        if not isinstance(items, list) or not items:
            self.err(path + (".items" if "items" in o else ""), "a Manifest must have items with at least one Canvas")
        for x, p in self.objects(o, "items", path):
            self.canvas(x, p)
        for x, p in self.objects(o, "structures", path):
            self.range(x, p)
        if "start" in o:
            self.start(o["start"], path + ".start")
        # what a schema cannot say: references resolve inside this Manifest
        for p, ref in self.range_refs:
            if strip_fragment(ref) not in self.canvases:
                self.err(p, "%r is not a Canvas of this Manifest" % ref)

    def start(self, s, path):
        if not isinstance(s, dict):
            self.err(path, "start must be a JSON object")
            return
        t = self.type_(s, path, ("Canvas", "SpecificResource"))
        if t == "Canvas":
            self.id_(s, path)
            if isinstance(s.get("id"), str):
                self.range_refs.append((path + ".id", s["id"]))
        elif t == "SpecificResource":
            src = s.get("source")
            sid = src.get("id") if isinstance(src, dict) else src
            if not isinstance(sid, str):
                self.err(path, "a SpecificResource start needs a source Canvas")
            else:
                self.range_refs.append((path + ".source", sid))

    def canvas(self, o, path, register=True):
        cid = self.id_(o, path)
        self.type_(o, path, ("Canvas",))
        if isinstance(cid, str) and "#" in cid:
            self.err(path + ".id", "a Canvas id must not have a fragment (§5.3)")
        if register and isinstance(cid, str):
            if cid in self.canvases:
                self.err(path + ".id", "Canvas id %r repeats %s" % (cid, self.canvas_paths[cid]))
            else:
                self.canvases[cid] = o
                self.canvas_paths[cid] = path
        self.common(o, path, "Canvas")
        hw = [k for k in ("width", "height") if k in o]
        if len(hw) == 1:
            self.err(path, "a Canvas with %s must also have %s (§3.2)" % (hw[0], "height" if hw[0] == "width" else "width"))
        for k in hw:
            if not is_posint(o[k]):
                self.err("%s.%s" % (path, k), "%s must be a positive integer" % k)
        if "duration" in o and not is_posnum(o["duration"]):
            self.err(path + ".duration", "duration must be a positive number")
        if len(hw) < 2 and "duration" not in o:
            self.err(path, "a Canvas must have height and width, or duration (§5.3)")
        for x, p in self.objects(o, "items", path):
            self.annotation_page(x, p, painting=True, canvas=o)

    def annotation_page(self, o, path, painting, canvas=None):
        pid = self.id_(o, path)
        self.type_(o, path, ("AnnotationPage",))
        if isinstance(pid, str):
            if pid in self.page_ids:
                self.err(path + ".id", "AnnotationPage id repeats %s" % self.page_ids[pid])
            self.page_ids[pid] = path
        self.common(o, path, "AnnotationPage")
        for x, p in self.objects(o, "items", path):
            self.annotation(x, p, painting, canvas)

    def annotation(self, o, path, painting, canvas):
        aid = self.id_(o, path)
        self.type_(o, path, ("Annotation",))
        if isinstance(aid, str):
            if aid in self.ann_ids:
                self.err(path + ".id", "Annotation id repeats %s" % self.ann_ids[aid])
            self.ann_ids[aid] = path
        self.common(o, path, "Annotation")
        mot = o.get("motivation")
        mots = mot if isinstance(mot, list) else [mot]
        if mot is None:
            self.err(path, "missing motivation")
        if painting and "painting" not in mots:
            self.err(path + ".motivation", "annotations in a Canvas's items must have motivation painting (§5.3)")
        if not painting and "painting" in mots:
            self.err(path + ".motivation", "painting annotations belong in items, not annotations (§3.4)")
        if "target" not in o:
            self.err(path, "missing target")
        if "body" not in o and painting:
            self.err(path, "a painting annotation must have a body")
        bodies = o.get("body")
        bodies = bodies if isinstance(bodies, list) else [bodies] if bodies is not None else []
        for i, b in enumerate(bodies):
            bp = path + ".body" + ("[%d]" % i if isinstance(o.get("body"), list) else "")
            if not isinstance(b, dict):
                if not is_uri(b):
                    self.err(bp, "body must be a JSON object or URI")
                continue
            self.content(b, bp)
            if painting and canvas is not None:
                self.body_fits(b, bp, canvas)
        if painting and canvas is not None and isinstance(canvas.get("id"), str):
            tgt = o.get("target")
            tid = tgt.get("source", tgt.get("id")) if isinstance(tgt, dict) else tgt
            if isinstance(tid, dict):
                tid = tid.get("id")
            cid = canvas["id"]
            ok = tid == cid or (isinstance(tid, str) and tid.startswith(cid + "#")
                                 and re.match(r"^(xywh=|t=)", tid[len(cid) + 1:]))
            if not ok:
                self.err(path + ".target", "target %r is not the Canvas %r" % (tid, cid))

    def body_fits(self, b, bp, canvas):
        """§5.3: content with dimensions the Canvas lacks must not be painted on it."""
        t = b.get("type")
        timed = "duration" in canvas
        spatial = "width" in canvas and "height" in canvas
        if t in ("Sound", "Video") and not timed:
            self.err(bp, "a %s painted on a Canvas without duration" % t)
        if t in ("Image", "Video") and not spatial:
            self.err(bp, "a %s painted on a Canvas without width and height" % t)

    def range(self, o, path):
        rid = self.id_(o, path, http=False)
        self.type_(o, path, ("Range",))
        if isinstance(rid, str):
            if not is_uri(rid):
                self.err(path + ".id", "Range id %r should be an HTTP(S) URI" % rid)
            if rid in self.range_ids:
                self.err(path + ".id", "Range id repeats %s" % self.range_ids[rid])
            self.range_ids[rid] = path
        self.common(o, path, "Range")
        items = o.get("items")
        if not isinstance(items, list) or not items:
            self.err(path, "a Range must have items with at least one item (§3.4)")
        if "start" in o:
            self.start(o["start"], path + ".start")
        for x, p in self.objects(o, "items", path):
            t = self.type_(x, p, ("Range", "Canvas", "SpecificResource"))
            if t == "Range":
                self.range(x, p)
            elif t == "Canvas":
                cid = self.id_(x, p)
                if isinstance(cid, str):
                    frag = cid.split("#", 1)[1] if "#" in cid else None
                    if frag is not None and not re.match(
                            r"^(t=\d+(\.\d+)?(,\d+(\.\d+)?)?|xywh=(pixel:)?\d+,\d+,\d+,\d+)(&(t=|xywh=).*)?$", frag):
                        self.err(p + ".id", "fragment %r is neither #t= nor #xywh=" % frag)
                    self.range_refs.append((p + ".id", cid))
                    self.fragment_fits(cid, p + ".id")
            elif t == "SpecificResource":
                src = x.get("source")
                sid = src.get("id") if isinstance(src, dict) else src
                if not isinstance(sid, str):
                    self.err(p, "a SpecificResource in a Range needs a source Canvas")
                else:
                    self.range_refs.append((p + ".source", sid))

    def fragment_fits(self, ref, path):
        """§5.3: selecting a dimension the Canvas does not have is an error;
        content outside the Canvas's extent must not be referenced."""
        if "#" not in ref:
            return
        base, frag = ref.split("#", 1)
        c = self.canvases.get(base)
        if c is None:
            return
        for part in frag.split("&"):
            if part.startswith("t="):
                if not is_posnum(c.get("duration")):
                    self.err(path, "a #t= segment of a Canvas without duration")
                    continue
                try:
                    ts = [float(x) for x in part[2:].split(",") if x != ""]
                except ValueError:
                    self.err(path, "bad #t= %r" % part)
                    continue
                if any(t < 0 or t > c["duration"] + 1e-6 for t in ts) or (len(ts) == 2 and ts[0] >= ts[1]):
                    self.err(path, "#%s is outside the Canvas's duration %s" % (part, c["duration"]))
            elif part.startswith("xywh="):
                if not (is_posint(c.get("width")) and is_posint(c.get("height"))):
                    self.err(path, "a #xywh= region of a Canvas without width and height")
                    continue
                try:
                    x, y, w, h = (int(v) for v in part[5:].replace("pixel:", "").split(","))
                except ValueError:
                    self.err(path, "bad #xywh= %r" % part)
                    continue
                if x < 0 or y < 0 or w <= 0 or h <= 0 or x + w > c["width"] or y + h > c["height"]:
                    self.err(path, "#%s is outside the Canvas's %dx%d" % (part, c["width"], c["height"]))


def check_v3(doc, expect_type=None):
    """Structural problems of a Presentation 3.0 document (any top type:
    Collection, Manifest, Canvas, Range, AnnotationPage, Annotation)."""
    v = _V3()
    if not isinstance(doc, dict):
        return [Problem("$", "the document must be a JSON object")]
    ctx = doc.get("@context")
    keys = list(doc.keys())
    if ctx is None:
        v.err("$", "the top-most resource must have @context (§4.6)")
    else:
        if keys[0] != "@context":
            v.err("$.@context", "@context should be the first key (§4.6)")
        ok = ctx == CONTEXT3 or (isinstance(ctx, list) and ctx and ctx[-1] == CONTEXT3
                                  and ctx.count(CONTEXT3) == 1)
        if not ok:
            v.err("$.@context", "@context must be %s or an array ending with it" % CONTEXT3)
    if "@graph" in doc:
        v.err("$.@graph", "@graph must not be used (§4.6)")
    t = doc.get("type")
    if expect_type and t != expect_type:
        v.err("$.type", "type %r, expected %s" % (t, expect_type))
    if t == "Collection":
        v.collection(doc, "$")
    elif t == "Manifest":
        v.manifest(doc, "$")
    elif t == "Canvas":
        v.canvas(doc, "$")
    elif t == "Range":
        v.range(doc, "$")
        v.range_refs = []     # a lone Range cannot check its canvases
    elif t == "AnnotationPage":
        v.annotation_page(doc, "$", painting=True)
    elif t == "Annotation":
        v.annotation(doc, "$", painting=True, canvas=None)
    else:
        v.type_(doc, "$", ("Collection", "Manifest", "Canvas", "Range", "AnnotationPage", "Annotation"))
    return v.p
