"""presentation_rules.py - the value rules both Presentation versions share.

Problem (a JSON path and a message), the URI, BCP 47, media type, navDate
and rights patterns, the behavior and viewingDirection tables of
Presentation 3.0 §3.2 and Appendix A, and the §4.5 HTML check.  Pure
Python, stdlib only; presentation_v3.py, presentation_v2.py and
presentation_deep.py build on it, presentation_checks.py gathers them.

The one idea: every rule that is a table in the spec is a table here.
"""

import datetime
import re
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


def format_problems(problems, limit=12):
    s = "; ".join(str(p) for p in problems[:limit])
    if len(problems) > limit:
        s += "; ... (%d problems in all)" % len(problems)
    return s
