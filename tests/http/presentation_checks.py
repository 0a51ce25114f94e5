"""presentation_checks.py - IIIF Presentation 3.0 and 2.1 conformance checks.

Pure Python (stdlib only; PIL and ffprobe only for the deep checks that
look at served bytes).  Every check returns a list of Problem(path, msg),
path a JSON path into the document ("$.items[0].items[0].items[0].body"),
so a failing test says exactly where the document breaks which rule.

Two layers:
  * check_v3(doc) / check_v2(doc): what a JSON schema can say (required and
    forbidden properties per type, value forms, enumerations) plus what a
    schema cannot but the document alone can (canvas ids unique, Range and
    start references pointing at canvases of this Manifest, painting
    targets equal to the canvas).  Written from the specs: Presentation 3.0
    §3 (properties), §4 (JSON-LD: arrays §4.3, language maps §4.4, HTML
    §4.5, @context §4.6), §5 (resource structure), Appendix A (property
    and behavior tables); Presentation 2.1 §3-§5 and the IXIF extension
    the Universal Viewer reads for audio and video (mediaSequences).
  * deep_v3(doc, url, fetch, base) / deep_v2(...): what only the network
    can tell, through a fetch callback: every referenced id under `base`
    dereferences with 200, the document's id is the URL it came from, a
    body's format is the Content-Type its URL serves, its width/height are
    the pixels served, a canvas is the size of the info.json of the image
    painted on it, a time-based canvas lasts what ffprobe says the file
    lasts (within 0.1 s), thumbnails are concrete sizes the service lists
    and really answers with.

The one idea: rules are data (tables of allowed and forbidden properties
and behaviors per type) walked by one recursive visitor that knows the
type it expects at each place, so a new rule is one table entry, and the
self-test (test_presentation_checks.py) proves each rule can fail.
"""

import datetime
import io
import json
import re
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections import namedtuple


class Problem(namedtuple("Problem", "path msg")):
    def __str__(self):
        return "%s: %s" % (self.path, self.msg)


CONTEXT3 = "http://iiif.io/api/presentation/3/context.json"
CONTEXT2 = "http://iiif.io/api/presentation/2/context.json"
IMAGE2_CONTEXT = "http://iiif.io/api/image/2/context.json"
IXIF_CONTEXT = "http://wellcomelibrary.org/ld/ixif/0/context.json"

URI_RE = re.compile(r"^https?://[^\s/?#]+[^\s]*$")
# BCP 47 (RFC 5646 §2.1) language tags, written from the ABNF: language
# [-script] [-region] *(-variant) *(-extension) [-privateuse], or privateuse
_BCP47 = re.compile(
    r"^(?:(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4,8})"
    r"(?:-[A-Za-z]{4})?"
    r"(?:-(?:[A-Za-z]{2}|[0-9]{3}))?"
    r"(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*"
    r"(?:-[0-9A-WY-Za-wy-z](?:-[A-Za-z0-9]{2,8})+)*"
    r"(?:-[xX](?:-[A-Za-z0-9]{1,8})+)?"
    r"|[xX](?:-[A-Za-z0-9]{1,8})+)$")
MEDIA_TYPE_RE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*(\s*;.*)?$", re.I)
NAVDATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
NAVDATE2_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

# rights (3.0 §3.1 rights): Creative Commons and RightsStatements.org URIs, http form
_CC_RE = re.compile(r"^http://creativecommons\.org/(?:licenses/(?:by|by-sa|by-nd|by-nc|by-nc-sa|by-nc-nd)"
                    r"/\d\.\d(?:/[a-z]{2}(?:-[a-z]{2})?)?/|publicdomain/(?:zero|mark)/1\.0/)$")
_RS_TERMS = ("InC", "InC-OW-EU", "InC-EDU", "InC-NC", "InC-RUU", "NoC-CR", "NoC-NC", "NoC-OKLR",
             "NoC-US", "CNE", "UND", "NKC")
_RS_RE = re.compile(r"^http://rightsstatements\.org/vocab/(%s)/1\.0/$" % "|".join(
    re.escape(t) for t in _RS_TERMS))

VIEWING_DIRECTIONS = ("left-to-right", "right-to-left", "top-to-bottom", "bottom-to-top")

# Appendix A, "Behavior Values": the types each value is valid on
BEHAVIOR_TYPES = {
    "auto-advance": {"Collection", "Manifest", "Canvas", "Range"},
    "no-auto-advance": {"Collection", "Manifest", "Canvas", "Range"},
    "repeat": {"Collection", "Manifest"},
    "no-repeat": {"Collection", "Manifest"},
    "unordered": {"Collection", "Manifest", "Range"},
    "individuals": {"Collection", "Manifest", "Range"},
    "continuous": {"Collection", "Manifest", "Range"},
    "paged": {"Collection", "Manifest", "Range"},
    "facing-pages": {"Canvas"},
    "non-paged": {"Canvas"},
    "multi-part": {"Collection"},
    "together": {"Collection"},
    "sequence": {"Range"},
    "thumbnail-nav": {"Range"},
    "no-nav": {"Range"},
    "hidden": {"AnnotationCollection", "AnnotationPage", "Annotation", "SpecificResource", "Choice"},
}
# §3.2 behavior: "Disjoint with ..."
BEHAVIOR_DISJOINT = [
    ("auto-advance", "no-auto-advance"), ("repeat", "no-repeat"),
    ("unordered", "individuals"), ("unordered", "continuous"), ("unordered", "paged"),
    ("individuals", "continuous"), ("individuals", "paged"), ("continuous", "paged"),
    ("paged", "facing-pages"), ("paged", "non-paged"), ("facing-pages", "non-paged"),
    ("multi-part", "together"), ("sequence", "thumbnail-nav"), ("sequence", "no-nav"),
    ("thumbnail-nav", "no-nav"),
]

# Appendix A: properties NOT allowed per type (anything else defined or
# an extension is allowed; '@' keys other than the top @context are not)
_ALL_FORBIDDEN_ON_STRUCT = {"format", "profile", "language", "timeMode"}
FORBIDDEN = {
    "Collection": _ALL_FORBIDDEN_ON_STRUCT | {"height", "width", "duration", "start", "supplementary",
                                               "structures", "motivation", "body", "target"},
    "Manifest": _ALL_FORBIDDEN_ON_STRUCT | {"height", "width", "duration", "supplementary",
                                             "motivation", "body", "target"},
    "Canvas": _ALL_FORBIDDEN_ON_STRUCT | {"viewingDirection", "start", "supplementary", "services",
                                           "structures", "motivation", "body", "target"},
    "Range": _ALL_FORBIDDEN_ON_STRUCT | {"height", "width", "duration", "services", "structures",
                                          "motivation", "body", "target"},
    "AnnotationPage": _ALL_FORBIDDEN_ON_STRUCT | {"navDate", "height", "width", "duration",
                                                   "viewingDirection", "start", "supplementary",
                                                   "services", "structures", "annotations",
                                                   "placeholderCanvas", "accompanyingCanvas"},
    "Annotation": {"navDate", "format", "profile", "language", "height", "width", "duration",
                   "viewingDirection", "start", "supplementary", "services", "items", "structures",
                   "annotations", "placeholderCanvas", "accompanyingCanvas"},
    "content": {"navDate", "viewingDirection", "start", "supplementary", "services", "items",
                "structures", "placeholderCanvas", "accompanyingCanvas", "timeMode"},
}
CONTENT_TYPES = ("Image", "Sound", "Video", "Text", "Model", "Dataset")
ARRAY_PROPS = ("metadata", "thumbnail", "homepage", "seeAlso", "rendering", "service", "services",
               "provider", "partOf", "items", "structures", "annotations", "behavior", "logo",
               "language")
LANG_PROPS = ("label", "summary")
HTML_TAGS = {"a", "b", "br", "i", "img", "p", "small", "span", "sub", "sup"}
HTML_ATTRS = {"a": {"href"}, "img": {"src", "alt"}}

IMAGE3_PROFILES = ("level0", "level1", "level2")
IMAGE2_PROFILE_RE = re.compile(r"^http://iiif\.io/api/image/2/level[012]\.json$")


def is_uri(v):
    return isinstance(v, str) and bool(URI_RE.match(v))


def is_posint(v):
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


def is_posnum(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 and v == v and v != float("inf")


def rights_ok(v):
    return isinstance(v, str) and bool(_CC_RE.match(v) or _RS_RE.match(v))


def navdate_ok(v):
    if not isinstance(v, str):
        return False
    m = NAVDATE_RE.match(v)
    if not m:
        return False
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    try:
        datetime.datetime(y, mo, d, h, mi, s)
    except ValueError:
        return False
    return True


def html_problems(s):
    """Why the HTML string s breaks 3.0 §4.5 (empty list when it is fine).
    Only called for strings whose first character is '<' and last '>'."""
    out = []
    for bad, what in (("<!--", "an XML comment"), ("<![CDATA[", "a CDATA section"), ("<?", "a processing instruction")):
        if bad in s:
            out.append("HTML holds %s" % what)
    try:
        root = ET.fromstring(s)
    except ET.ParseError as e:
        return out + ["HTML is not well-formed XML wrapped in one element (%s)" % e]
    for el in root.iter():
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag not in HTML_TAGS:
            out.append("HTML tag <%s> is not one of %s" % (tag, ", ".join(sorted(HTML_TAGS))))
        for a, val in el.attrib.items():
            if a not in HTML_ATTRS.get(tag, ()):
                out.append("HTML attribute %s on <%s> is not allowed" % (a, tag))
            elif a == "href" and not re.match(r"^(https?:|mailto:)", val):
                out.append("HTML href %r does not start with http:, https: or mailto:" % val)
    return out


def looks_html(s):
    return isinstance(s, str) and len(s) >= 2 and s[0] == "<" and s[-1] == ">"


def strip_fragment(u):
    return u.split("#", 1)[0] if isinstance(u, str) else u


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


# ==========================================================================
# deep checks: the network and the bytes

def ffprobe_duration(data):
    """Duration in seconds of media bytes, by ffprobe (format duration)."""
    with tempfile.NamedTemporaryFile(suffix=".media") as f:
        f.write(data)
        f.flush()
        r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                            "-of", "default=nw=1:nk=1", f.name], capture_output=True, timeout=60)
    try:
        return float(r.stdout.decode().strip().splitlines()[0])
    except (ValueError, IndexError):
        return None


def image_size(data):
    from PIL import Image
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return im.size


class Deep:
    """Dereferences through fetch(url, method) -> response with .status,
    .header(name) and .body.  Only URLs under base are fetched (others are
    outside the server and outside the test).  GETs are cached by URL."""

    def __init__(self, fetch, base, probe=ffprobe_duration):
        self.fetch = fetch
        self.base = base.rstrip("/")
        self.probe = probe
        self._get = {}
        self.p = []

    def err(self, path, msg):
        self.p.append(Problem(path, msg))

    def local(self, u):
        return isinstance(u, str) and (u == self.base or u.startswith(self.base + "/"))

    def get(self, u):
        if u not in self._get:
            try:
                self._get[u] = self.fetch(u, "GET")
            except Exception as e:        # a hang or a reset is a problem, not a crash of the checker
                self._get[u] = e
        return self._get[u]

    def ok(self, u, path, what):
        """GET u (fragment dropped) and require 200; returns the response or None."""
        if not self.local(u):
            return None
        r = self.get(strip_fragment(u))
        if isinstance(r, Exception):
            self.err(path, "%s %s: no answer (%s)" % (what, u, r))
            return None
        if r.status != 200:
            self.err(path, "%s %s answers %d, not 200" % (what, u, r.status))
            return None
        return r

    def json_of(self, u, path, what):
        r = self.ok(u, path, what)
        if r is None:
            return None
        try:
            return json.loads(r.body)
        except ValueError as e:
            self.err(path, "%s %s is not JSON (%s)" % (what, u, e))
            return None

    def info(self, service, path):
        sid = service.get("id", service.get("@id"))
        return self.json_of(sid.rstrip("/") + "/info.json", path, "info.json of")

    def served_type(self, u, path):
        """The media type u is served with: HEAD first, GET when HEAD fails."""
        try:
            r = self.fetch(u, "HEAD")
        except Exception:
            r = None
        if r is None or r.status != 200:
            r = self.get(u)
            if isinstance(r, Exception) or r.status != 200:
                return None
        return (r.header("Content-Type") or "").split(";")[0].strip().lower()


def _walk(o, path="$"):
    """Every JSON object in o with its path."""
    if isinstance(o, dict):
        yield o, path
        for k, v in o.items():
            for x in _walk(v, "%s.%s" % (path, k)):
                yield x
    elif isinstance(o, list):
        for i, v in enumerate(o):
            for x in _walk(v, "%s[%d]" % (path, i)):
                yield x


def _image_services(body):
    out = []
    for s in body.get("service", []) if isinstance(body.get("service"), list) else []:
        if isinstance(s, dict) and s.get("type", s.get("@type")) in ("ImageService3", "ImageService2"):
            out.append(s)
    return out


def _concrete_size(u):
    """(w, h) of an Image API URL .../full/{w},{h}/0/default.jpg, else None."""
    m = re.search(r"/full/(\d+),(\d+)/0/default\.(jpg|png|webp)$", u or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def _sizes(info):
    return [(s.get("width"), s.get("height")) for s in info.get("sizes", []) if isinstance(s, dict)]


def deep_v3(doc, url, fetch, base, probe=ffprobe_duration, media_tol=0.1):
    """Problems only the network can show, for a 3.0 document fetched from url."""
    d = Deep(fetch, base, probe)
    if not isinstance(doc, dict):
        return [Problem("$", "not a JSON object")]
    t = doc.get("type")
    if t in ("Manifest", "Collection") and doc.get("id") != url:
        d.err("$.id", "id %r is not the URL it was fetched from, %r (§3.2 id)" % (doc.get("id"), url))
    if t == "Collection":
        for i, m in enumerate(doc.get("items", []) if isinstance(doc.get("items"), list) else []):
            if isinstance(m, dict):
                mp = "$.items[%d]" % i
                sub = d.json_of(m.get("id"), mp, "member")
                if sub is not None:
                    if sub.get("type") != m.get("type"):
                        d.err(mp, "member %s is a %r, listed as %r" % (m.get("id"), sub.get("type"), m.get("type")))
                    if "label" in sub and sub.get("label") != m.get("label"):
                        d.err(mp + ".label", "member label %r differs from its own %r (a viewer shows one in "
                              "the list, the other once opened)" % (m.get("label"), sub.get("label")))
        _thumbs(d, doc, "$")
        for i, m in enumerate(doc.get("items", []) if isinstance(doc.get("items"), list) else []):
            if isinstance(m, dict):
                _thumbs(d, m, "$.items[%d]" % i)
        return d.p
    # resources to dereference: every referenced one (§1.2: an object
    # without its items must be fetched), and the Canvases with their
    # painting pages and annotations, which the server publishes alone
    for o, p in _walk(doc):
        ot = o.get("type")
        if ot == "Range" and "id" in o:
            d.ok(o["id"], p, "Range")
        if ot not in ("Canvas", "AnnotationPage", "Annotation") or "id" not in o or p == "$" \
                or p.endswith(".start") or ".structures" in p:
            continue
        painting = re.match(r"^\$(\.items\[\d+\])?(\.items\[\d+\]){0,2}$", p) is not None
        referenced = ot == "AnnotationPage" and "items" not in o
        if painting or referenced:
            sub = d.json_of(o["id"], p, ot)
            if sub is not None and isinstance(sub, dict):
                if sub.get("id") != o["id"] or sub.get("type") != ot:
                    d.err(p, "%s %s dereferences to a %r with id %r" % (ot, o["id"], sub.get("type"), sub.get("id")))
                elif "@context" not in sub:
                    d.err(p, "%s %s dereferenced has no @context" % (ot, o["id"]))
    canvases = doc.get("items", []) if t == "Manifest" else [doc] if t == "Canvas" else []
    for ci, c in enumerate(canvases):
        if not isinstance(c, dict):
            continue
        cp = "$.items[%d]" % ci if t == "Manifest" else "$"
        for pi, page in enumerate(c.get("items", []) if isinstance(c.get("items"), list) else []):
            for ai, ann in enumerate(page.get("items", []) if isinstance(page, dict) else []):
                if not isinstance(ann, dict) or not isinstance(ann.get("body"), dict):
                    continue
                bp = "%s.items[%d].items[%d].body" % (cp, pi, ai)
                _body(d, ann["body"], bp, c, cp, media_tol)
        _thumbs(d, c, cp)
        for k in ("seeAlso", "rendering"):
            for i, x in enumerate(c.get(k, []) if isinstance(c.get(k), list) else []):
                if isinstance(x, dict):
                    _linked(d, x, "%s.%s[%d]" % (cp, k, i))
    for i, pr in enumerate(doc.get("provider", []) if isinstance(doc.get("provider"), list) else []):
        for j, lg in enumerate(pr.get("logo", []) if isinstance(pr, dict) and isinstance(pr.get("logo"), list) else []):
            if isinstance(lg, dict):
                _linked(d, lg, "$.provider[%d].logo[%d]" % (i, j))
    if t == "Manifest":
        _thumbs(d, doc, "$")
        for k in ("seeAlso", "rendering"):
            for i, x in enumerate(doc.get(k, []) if isinstance(doc.get(k), list) else []):
                if isinstance(x, dict):
                    _linked(d, x, "$.%s[%d]" % (k, i))
    return _unique(d.p)


def _unique(problems):
    seen = set()
    out = []
    for p in problems:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


def _linked(d, x, path):
    u = x.get("id")
    if not d.local(u):
        return
    if d.ok(u, path, "linked resource") is None:
        return
    fmt = x.get("format")
    if fmt:
        got = d.served_type(u, path)
        if got is not None and got != fmt.lower():
            d.err(path + ".format", "format %r but %s is served as %r" % (fmt, u, got))


def _thumbs(d, o, path):
    for i, th in enumerate(o.get("thumbnail", []) if isinstance(o.get("thumbnail"), list) else []):
        if not isinstance(th, dict):
            continue
        tp = "%s.thumbnail[%d]" % (path, i)
        u = th.get("id")
        if not d.local(u):
            continue
        r = d.ok(u, tp, "thumbnail")
        if r is None:
            continue
        size = _concrete_size(u)
        if th.get("type") == "Image":
            if size is None:
                d.err(tp + ".id", "thumbnail %s is not a concrete {w},{h} size" % u)
            try:
                got = image_size(r.body)
            except Exception as e:
                d.err(tp, "thumbnail %s does not decode (%s)" % (u, e))
                continue
            if size and got != size:
                d.err(tp, "thumbnail %s is %dx%d, its URL asks %dx%d" % (u, got[0], got[1], size[0], size[1]))
            if "width" in th and (th.get("width"), th.get("height")) != got:
                d.err(tp, "thumbnail says %sx%s, %s is %dx%d" % (th.get("width"), th.get("height"), u, got[0], got[1]))
            for s in _image_services(th):
                info = d.info(s, tp)
                if info is not None and size and size not in _sizes(info) \
                        and size != (info.get("width"), info.get("height")):
                    d.err(tp + ".id", "thumbnail size %dx%d is not a sizes entry of %s" % (size + (s.get("id", s.get("@id")),)))
        fmt = th.get("format")
        if fmt:
            got = (r.header("Content-Type") or "").split(";")[0].strip().lower()
            if got != fmt.lower():
                d.err(tp + ".format", "format %r but %s is served as %r" % (fmt, u, got))


def _body(d, b, bp, canvas, cp, media_tol):
    u = b.get("id")
    if not d.local(u):
        return
    bt = b.get("type")
    fmt = b.get("format")
    if bt == "Image":
        r = d.ok(u, bp, "image body")
        if r is None:
            return
        try:
            got = image_size(r.body)
        except Exception as e:
            d.err(bp, "image body %s does not decode (%s)" % (u, e))
            return
        if "width" in b and (b.get("width"), b.get("height")) != got:
            d.err(bp, "body says %sx%s, %s is %dx%d" % (b.get("width"), b.get("height"), u, got[0], got[1]))
        ctype = (r.header("Content-Type") or "").split(";")[0].strip().lower()
        if fmt and ctype != fmt.lower():
            d.err(bp + ".format", "format %r but %s is served as %r" % (fmt, u, ctype))
        svcs = _image_services(b)
        for si, s in enumerate(svcs):
            info = d.info(s, "%s.service[%d]" % (bp, si))
            if info is None:
                continue
            iw, ih = info.get("width"), info.get("height")
            if (canvas.get("width"), canvas.get("height")) != (iw, ih):
                d.err(cp, "Canvas is %sx%s, the image painted on it is %sx%s (info.json)" % (
                    canvas.get("width"), canvas.get("height"), iw, ih))
            for k in ("width", "height"):
                if k in s and s[k] != info.get(k):
                    d.err("%s.service[%d].%s" % (bp, si, k), "service %s %s, info.json says %s" % (k, s[k], info.get(k)))
            size = _concrete_size(u)
            if size and size not in _sizes(info) and size != (iw, ih):
                d.err(bp + ".id", "body size %dx%d is not a sizes entry of the service" % size)
        return
    # media bodies: Content-Type and duration
    r = d.ok(u, bp, "%s body" % bt)
    if r is None:
        return
    ctype = (r.header("Content-Type") or "").split(";")[0].strip().lower()
    if fmt and ctype != fmt.lower():
        d.err(bp + ".format", "format %r but %s is served as %r" % (fmt, u, ctype))
    try:
        h = d.fetch(u, "HEAD")
        hct = (h.header("Content-Type") or "").split(";")[0].strip().lower()
        if h.status != 200:
            d.err(bp, "HEAD %s answers %d" % (u, h.status))
        elif fmt and hct != fmt.lower():
            d.err(bp + ".format", "format %r but HEAD %s says %r" % (fmt, u, hct))
    except Exception as e:
        d.err(bp, "HEAD %s: no answer (%s)" % (u, e))
    if bt in ("Sound", "Video") and d.probe:
        dur = d.probe(r.body)
        if dur is None:
            d.err(bp, "ffprobe cannot read a duration from %s" % u)
        else:
            cd = canvas.get("duration")
            if not isinstance(cd, (int, float)) or abs(cd - dur) > media_tol:
                d.err(cp + ".duration", "Canvas duration %r, the file lasts %.3f s (ffprobe)" % (cd, dur))
            if "duration" in b and isinstance(b["duration"], (int, float)) and abs(b["duration"] - dur) > media_tol:
                d.err(bp + ".duration", "body duration %r, the file lasts %.3f s" % (b["duration"], dur))


def deep_v2(doc, url, fetch, base):
    """Problems only the network can show, for a 2.1 document fetched from url."""
    d = Deep(fetch, base, None)
    if not isinstance(doc, dict):
        return [Problem("$", "not a JSON object")]
    if doc.get("@type") in ("sc:Manifest", "sc:Collection") and doc.get("@id") != url:
        d.err("$.@id", "@id %r is not the URL it was fetched from, %r" % (doc.get("@id"), url))
    if doc.get("@type") == "sc:Collection":
        for k in ("collections", "manifests", "members"):
            for i, m in enumerate(doc.get(k, []) if isinstance(doc.get(k), list) else []):
                if isinstance(m, dict):
                    d.json_of(m.get("@id"), "$.%s[%d]" % (k, i), "member")
        return d.p
    for si, s in enumerate(doc.get("sequences", []) if isinstance(doc.get("sequences"), list) else []):
        for ci, c in enumerate(s.get("canvases", []) if isinstance(s, dict) else []):
            if not isinstance(c, dict):
                continue
            cp = "$.sequences[%d].canvases[%d]" % (si, ci)
            sub = d.json_of(c.get("@id"), cp, "canvas")
            if sub is not None and sub.get("@id") != c.get("@id"):
                d.err(cp, "canvas %s dereferences to @id %r" % (c.get("@id"), sub.get("@id")))
            for ai, a in enumerate(c.get("images", []) if isinstance(c.get("images"), list) else []):
                r = a.get("resource") if isinstance(a, dict) else None
                if not isinstance(r, dict):
                    continue
                rp = "%s.images[%d].resource" % (cp, ai)
                resp = d.ok(r.get("@id"), rp, "image resource")
                if resp is not None:
                    try:
                        got = image_size(resp.body)
                        if "width" in r and (r.get("width"), r.get("height")) != got:
                            d.err(rp, "resource says %sx%s, it is %dx%d" % (r.get("width"), r.get("height"), got[0], got[1]))
                    except Exception as e:
                        d.err(rp, "image resource does not decode (%s)" % e)
                sv = r.get("service")
                for s2 in (sv if isinstance(sv, list) else [sv] if isinstance(sv, dict) else []):
                    info = d.json_of(s2.get("@id", "").rstrip("/") + "/info.json", rp + ".service", "info.json of")
                    if info is not None and c.get("images") and r.get("@type") == "dctypes:Image" \
                            and a is c["images"][0] and (c.get("width"), c.get("height")) != (info.get("width"), info.get("height")):
                        d.err(cp, "canvas is %sx%s, the image is %sx%s (info.json)" % (
                            c.get("width"), c.get("height"), info.get("width"), info.get("height")))
    for mi, ms in enumerate(doc.get("mediaSequences", []) if isinstance(doc.get("mediaSequences"), list) else []):
        for ei, e in enumerate(ms.get("elements", []) if isinstance(ms, dict) else []):
            if isinstance(e, dict):
                ep = "$.mediaSequences[%d].elements[%d]" % (mi, ei)
                if d.ok(e.get("@id"), ep, "media element") is not None and e.get("format"):
                    got = d.served_type(e["@id"], ep)
                    if got is not None and got != e["format"].lower():
                        d.err(ep + ".format", "format %r but served as %r" % (e["format"], got))
    return d.p


def format_problems(problems, limit=12):
    s = "; ".join(str(p) for p in problems[:limit])
    if len(problems) > limit:
        s += "; ... (%d problems in all)" % len(problems)
    return s
