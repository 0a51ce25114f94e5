"""test_presentation_checks.py - the Presentation checker is itself tested.

No daemon: hand-written documents (a paged book with structures and
thumbnails, an audio/video item, a collection; in 3.0 and in 2.1 with
IXIF mediaSequences) written from the spec's prose, not copied from its
examples, must pass presentation_checks with no problem; then each rule is
broken once, on a fresh copy, and the checker must report a problem at the
exact JSON path of the break.  The deep checks run against a fake server
(a dict of URL -> response, with real JPEGs made by PIL) and must catch a
wrong id, a 404, a wrong format, a wrong pixel size, a canvas not the size
of its info.json, a thumbnail of an unlisted size and a wrong duration.

The one idea: a checker that cannot fail proves nothing, so every rule has
a case here that makes it fail, and the case names the path it expects.

Run alone: /usr/bin/python3 tests/http/test_presentation_checks.py
"""

import copy
import io
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import presentation_checks as pc  # noqa: E402
from common import test, expect  # noqa: E402

B = "https://iiif.test/iiif/3/"
B2 = "https://iiif.test/iiif/2/"
IMG = "https://iiif.test/iiif/3/book%2Fp1.jpg"


def image_service3(ident, w, h):
    return {"id": "https://iiif.test/iiif/3/" + ident, "type": "ImageService3", "profile": "level2",
            "width": w, "height": h, "sizes": [{"width": w // 4, "height": h // 4}]}


def image_service2(ident, w, h):
    return {"@id": "https://iiif.test/iiif/2/" + ident, "@type": "ImageService2",
            "profile": "http://iiif.io/api/image/2/level2.json"}


def image_canvas(item, n, ident, w, h, label):
    cid = "%s%s/canvas/p%d" % (B, item, n)
    thumb = "https://iiif.test/iiif/3/%s/full/%d,%d/0/default.jpg" % (ident, w // 4, h // 4)
    return {
        "id": cid, "type": "Canvas", "label": {"en": [label]}, "height": h, "width": w,
        "thumbnail": [{"id": thumb, "type": "Image", "format": "image/jpeg", "width": w // 4, "height": h // 4,
                       "service": [image_service3(ident, w, h)]}],
        "seeAlso": [{"id": "https://iiif.test/iiif/%s/res/p%d.xml" % (item, n), "type": "Dataset",
                     "format": "application/xml", "profile": "http://www.loc.gov/standards/alto/"}],
        "items": [{
            "id": "%s%s/page/p%d/1" % (B, item, n), "type": "AnnotationPage",
            "items": [{
                "id": "%s%s/annotation/p%d-image" % (B, item, n), "type": "Annotation",
                "motivation": "painting",
                "body": {"id": "https://iiif.test/iiif/3/%s/full/%d,%d/0/default.jpg" % (ident, w // 4, h // 4),
                         "type": "Image", "format": "image/jpeg", "width": w // 4, "height": h // 4,
                         "service": [image_service3(ident, w, h), image_service2(ident, w, h)]},
                "target": cid}]}]}


def book3():
    item = "letters%2Fbook"
    m = {
        "@context": pc.CONTEXT3,
        "id": B + item + "/manifest",
        "type": "Manifest",
        "label": {"en": ["A letter in three leaves"], "fr": ["Une lettre en trois feuillets"]},
        "summary": {"en": ["<p>Ink on paper, <b>three</b> leaves. <a href=\"https://example.org/x\">More</a><br/></p>"]},
        "metadata": [
            {"label": {"en": ["Writer"]}, "value": {"none": ["A. Writer"]}},
            {"label": {"en": ["Note"]}, "value": {"en": ["<span>one <i>stain</i> <img src=\"https://example.org/s.png\" alt=\"stain\"/></span>"]}},
        ],
        "rights": "http://creativecommons.org/licenses/by-sa/4.0/",
        "requiredStatement": {"label": {"en": ["Attribution"]}, "value": {"en": ["Example Archive"]}},
        "provider": [{"id": "https://example.org/about", "type": "Agent", "label": {"en": ["Example Archive"]},
                      "homepage": [{"id": "https://example.org/", "type": "Text", "label": {"en": ["Home"]},
                                    "format": "text/html"}],
                      "logo": [{"id": "https://example.org/logo.png", "type": "Image", "format": "image/png"}]}],
        "homepage": [{"id": "https://example.org/items/1", "type": "Text", "label": {"none": ["Item 1"]},
                      "format": "text/html", "language": ["en"]}],
        "navDate": "1871-04-02T00:00:00Z",
        "behavior": ["paged"],
        "viewingDirection": "left-to-right",
        "thumbnail": [{"id": "https://iiif.test/iiif/3/book%2Fp1.jpg/full/150,200/0/default.jpg",
                       "type": "Image", "format": "image/jpeg"}],
        "rendering": [{"id": "https://iiif.test/iiif/letters%2Fbook/res/letter.pdf", "type": "Text",
                       "label": {"en": ["PDF"]}, "format": "application/pdf"}],
        "seeAlso": [{"id": "https://example.org/marc/1.xml", "type": "Dataset", "format": "application/marcxml+xml",
                     "profile": "http://www.loc.gov/MARC21/slim"}],
        "partOf": [{"id": B + "collection/letters", "type": "Collection"}],
        "start": {"id": B + item + "/canvas/p2", "type": "Canvas"},
        "items": [image_canvas(item, 1, "book%2Fp1.jpg", 600, 800, "Recto"),
                  image_canvas(item, 2, "book%2Fp2.jpg", 800, 600, "Verso"),
                  image_canvas(item, 3, "book%2Fp3.jpg", 600, 800, "Envelope")],
        "structures": [{
            "id": B + item + "/range/r1", "type": "Range", "label": {"en": ["Contents"]},
            "items": [
                {"id": B + item + "/range/r2", "type": "Range", "label": {"en": ["Letter"]},
                 "items": [{"id": B + item + "/canvas/p1", "type": "Canvas"},
                           {"id": B + item + "/canvas/p2", "type": "Canvas"}]},
                {"id": B + item + "/range/seal", "type": "Range", "label": {"en": ["The seal"]},
                 "items": [{"id": B + item + "/canvas/p3#xywh=100,100,200,200", "type": "Canvas"}]},
            ]}],
    }
    return m


def av3():
    item = "recordings%2Finterview"
    s = B + item + "/canvas/p1"
    v = B + item + "/canvas/p2"
    return {
        "@context": pc.CONTEXT3,
        "id": B + item + "/manifest", "type": "Manifest",
        "label": {"none": ["interview"]},
        "behavior": ["auto-advance"],
        "items": [
            {"id": s, "type": "Canvas", "label": {"none": ["side-a"]}, "duration": 12.5,
             "items": [{"id": B + item + "/page/p1/1", "type": "AnnotationPage",
                        "items": [{"id": B + item + "/annotation/p1-image", "type": "Annotation",
                                   "motivation": "painting",
                                   "body": {"id": "https://iiif.test/iiif/recordings%2Finterview/res/side-a.ogg",
                                            "type": "Sound", "format": "audio/ogg", "duration": 12.5},
                                   "target": s}]}]},
            {"id": v, "type": "Canvas", "label": {"none": ["clip"]}, "duration": 4.0, "width": 320, "height": 240,
             "thumbnail": [{"id": "https://iiif.test/iiif/3/recordings%2Finterview%2Fclip.jpg/full/80,60/0/default.jpg",
                            "type": "Image", "format": "image/jpeg", "width": 80, "height": 60}],
             "items": [{"id": B + item + "/page/p2/1", "type": "AnnotationPage",
                        "items": [{"id": B + item + "/annotation/p2-image", "type": "Annotation",
                                   "motivation": "painting",
                                   "body": {"id": "https://iiif.test/iiif/recordings%2Finterview/res/clip.mp4",
                                            "type": "Video", "format": "video/mp4", "duration": 4.0,
                                            "width": 320, "height": 240},
                                   "target": v}]}],
             "annotations": [{"id": B + item + "/captions/p2", "type": "AnnotationPage",
                              "items": [{"id": B + item + "/annotation/p2-vtt", "type": "Annotation",
                                         "motivation": "supplementing",
                                         "body": {"id": "https://iiif.test/iiif/recordings%2Finterview/res/clip.vtt",
                                                  "type": "Text", "format": "text/vtt", "language": ["en"]},
                                         "target": v}]}]},
        ],
        "structures": [{"id": B + item + "/range/r1", "type": "Range", "label": {"en": ["First minute"]},
                        "items": [{"id": s + "#t=0,10", "type": "Canvas"},
                                  {"type": "SpecificResource", "source": v,
                                   "selector": {"type": "FragmentSelector", "value": "t=1,2"}}]}],
    }


def collection3():
    return {
        "@context": pc.CONTEXT3,
        "id": B + "collection/top", "type": "Collection",
        "label": {"none": ["top"]},
        "summary": {"en": ["Everything under the root."]},
        "behavior": ["multi-part"],
        "items": [
            {"id": B + "collection/letters", "type": "Collection", "label": {"none": ["letters"]}},
            {"id": B + "letters%2Fbook/manifest", "type": "Manifest", "label": {"en": ["A letter"]},
             "navDate": "1871-04-02T00:00:00+01:00",
             "thumbnail": [{"id": "https://iiif.test/iiif/3/book%2Fp1.jpg/full/150,200/0/default.jpg",
                            "type": "Image", "format": "image/jpeg", "width": 150, "height": 200}]},
        ],
    }


def book2():
    item = "letters%2Fbook"
    cid = B2 + item + "/canvas/p1"
    return {
        "@context": pc.CONTEXT2,
        "@id": B2 + item + "/manifest", "@type": "sc:Manifest",
        "label": "A letter",
        "description": [{"@value": "<p>Ink, <b>three</b> leaves</p>", "@language": "en"}],
        "metadata": [{"label": "Writer", "value": "A. Writer"}],
        "attribution": "Example Archive",
        "license": "http://creativecommons.org/licenses/by/4.0/",
        "logo": {"@id": "https://example.org/logo.png"},
        "navDate": "1871-04-02T00:00:00Z",
        "viewingHint": "paged", "viewingDirection": "left-to-right",
        "rendering": [{"@id": "https://iiif.test/iiif/letters%2Fbook/res/letter.pdf", "label": "PDF",
                       "format": "application/pdf"}],
        "thumbnail": {"@id": "https://iiif.test/iiif/3/book%2Fp1.jpg/full/150,200/0/default.jpg"},
        "sequences": [{
            "@id": B2 + item + "/sequence/normal", "@type": "sc:Sequence", "startCanvas": cid,
            "canvases": [{
                "@id": cid, "@type": "sc:Canvas", "label": "Recto", "height": 800, "width": 600,
                "images": [{"@id": B2 + item + "/annotation/p1-image", "@type": "oa:Annotation",
                            "motivation": "sc:painting", "on": cid,
                            "resource": {"@id": "https://iiif.test/iiif/2/book%2Fp1.jpg/full/150,200/0/default.jpg",
                                         "@type": "dctypes:Image", "format": "image/jpeg",
                                         "height": 200, "width": 150,
                                         "service": {"@context": pc.IMAGE2_CONTEXT,
                                                     "@id": "https://iiif.test/iiif/2/book%2Fp1.jpg",
                                                     "profile": "http://iiif.io/api/image/2/level2.json"}}}]}]}],
        "structures": [{"@id": B2 + item + "/range/r1", "@type": "sc:Range", "label": "Contents",
                        "viewingHint": "top", "canvases": [cid]}],
    }


def av2():
    item = "recordings%2Finterview"
    cid = B2 + item + "/canvas/p1"
    return {
        "@context": [pc.CONTEXT2, pc.IXIF_CONTEXT],
        "@id": B2 + item + "/manifest", "@type": "sc:Manifest", "label": "interview",
        "mediaSequences": [{"@id": B2 + item + "/xsequence/0", "@type": "ixif:MediaSequence",
                            "label": "media",
                            "elements": [{"@id": "https://iiif.test/iiif/recordings%2Finterview/res/clip.mp4",
                                          "@type": "dctypes:MovingImage", "format": "video/mp4",
                                          "label": "clip"}]}],
        "sequences": [{"@type": "sc:Sequence", "canvases": [{
            "@id": cid, "@type": "sc:Canvas", "label": "clip", "width": 640, "height": 360,
            "rendering": {"@id": "https://iiif.test/iiif/recordings%2Finterview/res/clip.mp4",
                          "label": "clip", "format": "video/mp4"}}]}],
    }


def collection2():
    return {
        "@context": pc.CONTEXT2, "@id": B2 + "collection/top", "@type": "sc:Collection", "label": "top",
        "viewingHint": "multi-part",
        "collections": [{"@id": B2 + "collection/letters", "@type": "sc:Collection", "label": "letters"}],
        "manifests": [{"@id": B2 + "letters%2Fbook/manifest", "@type": "sc:Manifest", "label": "A letter"}],
        "members": [{"@id": B2 + "collection/letters", "@type": "sc:Collection", "label": "letters"},
                    {"@id": B2 + "letters%2Fbook/manifest", "@type": "sc:Manifest", "label": "A letter"}],
    }


VALID = {"book3": (book3, pc.check_v3), "av3": (av3, pc.check_v3), "collection3": (collection3, pc.check_v3),
         "book2": (book2, pc.check_v2), "av2": (av2, pc.check_v2), "collection2": (collection2, pc.check_v2)}


def _valid(name):
    @test("presentation checker: the hand-written %s passes with no problem" % name, server=None)
    def _(ctx, srv):
        make, check = VALID[name]
        probs = check(make())
        expect(not probs, "valid %s reported: %s" % (name, pc.format_problems(probs)))


for _n in VALID:
    _valid(_n)


# ---------------------------------------------------------------- breaks
# (document, rule, mutation, path that must be reported, word in the message)

def _c(m, i=0):
    return m["items"][i]


def _ann(m, i=0):
    return m["items"][i]["items"][0]["items"][0]


def _set(o, k, v):
    o[k] = v


def _del(o, k):
    del o[k]


BREAKS3 = [
    ("book3", "Manifest without label", lambda m: _del(m, "label"), "$", "label"),
    ("book3", "Manifest without items", lambda m: _del(m, "items"), "$", "items"),
    ("book3", "Manifest with empty items", lambda m: _set(m, "items", []), "$.items", "at least one"),
    ("book3", "Manifest without type", lambda m: _del(m, "type"), "$", "missing type"),
    ("book3", "Manifest with @id instead of id", lambda m: m.update({"@id": m.pop("id")}), "$", "@id"),
    ("book3", "@context not first", lambda m: m.update({"@context": m.pop("@context")}), "$.@context", "first"),
    ("book3", "missing @context", lambda m: _del(m, "@context"), "$", "@context"),
    ("book3", "wrong @context", lambda m: _set(m, "@context", pc.CONTEXT2), "$.@context", "context"),
    ("book3", "@context inside a Canvas", lambda m: _c(m).update({"@context": pc.CONTEXT3}), "$.items[0].@context", "top-most"),
    ("book3", "id not HTTP(S)", lambda m: _set(m, "id", "urn:x:1"), "$.id", "HTTP"),
    ("book3", "label a plain string", lambda m: _set(m, "label", "A letter"), "$.label", "language map"),
    ("book3", "label values not an array", lambda m: _set(m, "label", {"en": "A letter"}), '$.label["en"]', "array"),
    ("book3", "label key not BCP 47", lambda m: _set(m, "label", {"english!": ["x"]}), "$.label", "BCP 47"),
    ("book3", "HTML in a label", lambda m: _set(m, "label", {"en": ["<b>x</b>"]}), '$.label["en"][0]', "HTML"),
    ("book3", "summary HTML with a script tag", lambda m: _set(m, "summary", {"en": ["<p><script>x</script></p>"]}),
     '$.summary["en"][0]', "script"),
    ("book3", "summary HTML not well formed", lambda m: _set(m, "summary", {"en": ["<p>x</b>"]}), '$.summary["en"][0]', "well-formed"),
    ("book3", "summary HTML with an onclick", lambda m: _set(m, "summary", {"en": ["<p onclick=\"x()\">x</p>"]}),
     '$.summary["en"][0]', "onclick"),
    ("book3", "summary HTML javascript: href", lambda m: _set(m, "summary", {"en": ["<a href=\"javascript:x()\">x</a>"]}),
     '$.summary["en"][0]', "href"),
    ("book3", "metadata not an array", lambda m: _set(m, "metadata", {"label": {"en": ["a"]}, "value": {"en": ["b"]}}),
     "$.metadata", "array"),
    ("book3", "metadata entry without value", lambda m: _del(m["metadata"][0], "value"), "$.metadata[0]", "value"),
    ("book3", "requiredStatement value a string", lambda m: _set(m["requiredStatement"], "value", "Example"),
     "$.requiredStatement.value", "language map"),
    ("book3", "rights not a URI", lambda m: _set(m, "rights", "All rights reserved"), "$.rights", "rights"),
    ("book3", "rights in https form", lambda m: _set(m, "rights", "https://creativecommons.org/licenses/by/4.0/"),
     "$.rights", "http"),
    ("book3", "rights from another site", lambda m: _set(m, "rights", "http://example.org/license"), "$.rights", "Creative"),
    ("book3", "navDate without time zone", lambda m: _set(m, "navDate", "1871-04-02T00:00:00"), "$.navDate", "navDate"),
    ("book3", "navDate a date only", lambda m: _set(m, "navDate", "1871-04-02"), "$.navDate", "navDate"),
    ("book3", "navDate an impossible day", lambda m: _set(m, "navDate", "1871-02-30T00:00:00Z"), "$.navDate", "navDate"),
    ("book3", "behavior a string", lambda m: _set(m, "behavior", "paged"), "$.behavior", "array"),
    ("book3", "behavior disjoint values", lambda m: _set(m, "behavior", ["paged", "individuals"]), "$.behavior", "disjoint"),
    ("book3", "behavior not valid on a Manifest", lambda m: _set(m, "behavior", ["multi-part"]), "$.behavior[0]", "not valid"),
    ("book3", "behavior not valid on a Canvas", lambda m: _c(m).update({"behavior": ["paged"]}), "$.items[0].behavior[0]", "not valid"),
    ("book3", "behavior unknown", lambda m: _set(m, "behavior", ["sideways"]), "$.behavior[0]", "not defined"),
    ("book3", "viewingDirection unknown", lambda m: _set(m, "viewingDirection", "diagonal"), "$.viewingDirection", "viewingDirection"),
    ("book3", "viewingDirection on a Canvas", lambda m: _c(m).update({"viewingDirection": "left-to-right"}),
     "$.items[0].viewingDirection", "not allowed"),
    ("book3", "thumbnail an object, not an array", lambda m: _set(m, "thumbnail", m["thumbnail"][0]), "$.thumbnail", "array"),
    ("book3", "thumbnail without type", lambda m: _del(m["thumbnail"][0], "type"), "$.thumbnail[0]", "type"),
    ("book3", "homepage without label", lambda m: _del(m["homepage"][0], "label"), "$.homepage[0]", "label"),
    ("book3", "rendering without label", lambda m: _del(m["rendering"][0], "label"), "$.rendering[0]", "label"),
    ("book3", "seeAlso without id", lambda m: _del(m["seeAlso"][0], "id"), "$.seeAlso[0]", "id"),
    ("book3", "provider not an Agent", lambda m: _set(m["provider"][0], "type", "Organization"), "$.provider[0].type", "Agent"),
    ("book3", "provider without label", lambda m: _del(m["provider"][0], "label"), "$.provider[0]", "label"),
    ("book3", "provider logo not an Image", lambda m: _set(m["provider"][0]["logo"][0], "type", "Text"),
     "$.provider[0].logo[0].type", "Image"),
    ("book3", "start not a canvas of the Manifest", lambda m: _set(m["start"], "id", B + "letters%2Fbook/canvas/p9"),
     "$.start.id", "not a Canvas"),
    ("book3", "start a string", lambda m: _set(m, "start", B + "letters%2Fbook/canvas/p2"), "$.start", "object"),
    ("book3", "format on a Manifest", lambda m: _set(m, "format", "application/json"), "$.format", "not allowed"),
    ("book3", "Canvas width without height", lambda m: _del(_c(m), "height"), "$.items[0]", "height"),
    ("book3", "Canvas width zero", lambda m: _set(_c(m), "width", 0), "$.items[0].width", "positive integer"),
    ("book3", "Canvas height a float", lambda m: _set(_c(m), "height", 800.5), "$.items[0].height", "positive integer"),
    ("book3", "Canvas with neither size nor duration", lambda m: (_del(_c(m), "height"), _del(_c(m), "width")),
     "$.items[0]", "height and width, or duration"),
    ("book3", "Canvas duration negative", lambda m: _set(_c(m), "duration", -1.0), "$.items[0].duration", "positive"),
    ("book3", "Canvas id with a fragment", lambda m: _set(_c(m), "id", _c(m)["id"] + "#x"), "$.items[0].id", "fragment"),
    ("book3", "Canvas ids repeated", lambda m: _set(_c(m, 1), "id", _c(m)["id"]), "$.items[1].id", "repeats"),
    ("book3", "Canvas in items typed Page", lambda m: _set(_c(m), "type", "Page"), "$.items[0].type", "Canvas"),
    ("book3", "AnnotationPage without id", lambda m: _del(_c(m)["items"][0], "id"), "$.items[0].items[0]", "id"),
    ("book3", "AnnotationPage items not an array", lambda m: _set(_c(m)["items"][0], "items", _ann(m)),
     "$.items[0].items[0].items", "array"),
    ("book3", "painting annotation with motivation commenting", lambda m: _set(_ann(m), "motivation", "commenting"),
     "$.items[0].items[0].items[0].motivation", "painting"),
    ("book3", "painting annotation targets another canvas", lambda m: _set(_ann(m), "target", _c(m, 1)["id"]),
     "$.items[0].items[0].items[0].target", "not the Canvas"),
    ("book3", "painting annotation without target", lambda m: _del(_ann(m), "target"), "$.items[0].items[0].items[0]", "target"),
    ("book3", "Annotation with a duration", lambda m: _set(_ann(m), "duration", 1.0),
     "$.items[0].items[0].items[0].duration", "not allowed"),
    ("book3", "image body type unknown", lambda m: _set(_ann(m)["body"], "type", "Picture"),
     "$.items[0].items[0].items[0].body.type", "content type"),
    ("book3", "image body without id", lambda m: _del(_ann(m)["body"], "id"), "$.items[0].items[0].items[0].body", "id"),
    ("book3", "image body id is the service", lambda m: _set(_ann(m)["body"], "id", _ann(m)["body"]["service"][0]["id"]),
     "$.items[0].items[0].items[0].body.id", "service"),
    ("book3", "image body format not a media type", lambda m: _set(_ann(m)["body"], "format", "jpeg"),
     "$.items[0].items[0].items[0].body.format", "media type"),
    ("book3", "image body width without height", lambda m: _del(_ann(m)["body"], "height"),
     "$.items[0].items[0].items[0].body", "without"),
    ("book3", "service not an array", lambda m: _set(_ann(m)["body"], "service", _ann(m)["body"]["service"][0]),
     "$.items[0].items[0].items[0].body.service", "array"),
    ("book3", "ImageService3 with @id", lambda m: _ann(m)["body"]["service"][0].update({"@id": _ann(m)["body"]["service"][0].pop("id")}),
     "$.items[0].items[0].items[0].body.service[0]", "ImageService3 uses id"),
    ("book3", "ImageService3 mixing id and @type",
     lambda m: _ann(m)["body"]["service"][0].update({"@type": _ann(m)["body"]["service"][0].pop("type")}),
     "$.items[0].items[0].items[0].body.service[0]", "mixes"),
    ("book3", "ImageService3 bad profile", lambda m: _set(_ann(m)["body"]["service"][0], "profile", "level3"),
     "$.items[0].items[0].items[0].body.service[0].profile", "level"),
    ("book3", "ImageService2 with id", lambda m: _ann(m)["body"]["service"][1].update({"id": _ann(m)["body"]["service"][1].pop("@id")}),
     "$.items[0].items[0].items[0].body.service[1]", "ImageService2 uses @id"),
    ("book3", "ImageService2 with a 3.0 profile", lambda m: _set(_ann(m)["body"]["service"][1], "profile", "level2"),
     "$.items[0].items[0].items[0].body.service[1].profile", "Image API 2"),
    ("book3", "ImageService2 with @context inside", lambda m: _set(_ann(m)["body"]["service"][1], "@context", pc.IMAGE2_CONTEXT),
     "$.items[0].items[0].items[0].body.service[1].@context", "@context"),
    ("book3", "a service sizes entry without height", lambda m: _set(_ann(m)["body"]["service"][0], "sizes", [{"width": 10}]),
     "$.items[0].items[0].items[0].body.service[0].sizes[0]", "sizes"),
    ("book3", "Range without items", lambda m: _del(m["structures"][0], "items"), "$.structures[0]", "items"),
    ("book3", "Range item typed Manifest", lambda m: _set(m["structures"][0]["items"][0], "type", "Manifest"),
     "$.structures[0].items[0].type", "Range"),
    ("book3", "Range refers to a canvas that is not in the Manifest",
     lambda m: _set(m["structures"][0]["items"][0]["items"][0], "id", B + "letters%2Fbook/canvas/p7"),
     "$.structures[0].items[0].items[0].id", "not a Canvas"),
    ("book3", "Range #xywh= outside the Canvas",
     lambda m: _set(m["structures"][0]["items"][1]["items"][0], "id", B + "letters%2Fbook/canvas/p3#xywh=500,700,200,200"),
     "$.structures[0].items[1].items[0].id", "outside"),
    ("book3", "Range #t= on an image Canvas",
     lambda m: _set(m["structures"][0]["items"][1]["items"][0], "id", B + "letters%2Fbook/canvas/p3#t=0,5"),
     "$.structures[0].items[1].items[0].id", "without duration"),
    ("book3", "Range ids repeated", lambda m: _set(m["structures"][0]["items"][1], "id", m["structures"][0]["items"][0]["id"]),
     "$.structures[0].items[1].id", "repeats"),
    ("book3", "Range with behavior together", lambda m: _set(m["structures"][0], "behavior", ["together"]),
     "$.structures[0].behavior[0]", "not valid"),
    ("book3", "structures not an array", lambda m: _set(m, "structures", m["structures"][0]), "$.structures", "array"),
    ("av3", "Sound canvas without duration", lambda m: _del(_c(m), "duration"), "$.items[0].items[0].items[0].body", "without duration"),
    ("av3", "Video on a canvas without size", lambda m: (_del(_c(m, 1), "width"), _del(_c(m, 1), "height")),
     "$.items[1].items[0].items[0].body", "without width and height"),
    ("av3", "Sound body with a width", lambda m: _ann(m)["body"].update({"width": 10, "height": 10}),
     "$.items[0].items[0].items[0].body", "Sound has no width"),
    ("av3", "body duration zero", lambda m: _set(_ann(m)["body"], "duration", 0), "$.items[0].items[0].items[0].body.duration", "positive"),
    ("av3", "duration a string", lambda m: _set(_c(m), "duration", "12.5"), "$.items[0].duration", "positive"),
    ("av3", "supplementing annotation in items", lambda m: _set(_ann(m), "motivation", "supplementing"),
     "$.items[0].items[0].items[0].motivation", "painting"),
    ("av3", "painting annotation in annotations", lambda m: _set(_c(m, 1)["annotations"][0]["items"][0], "motivation", "painting"),
     "$.items[1].annotations[0].items[0].motivation", "annotations"),
    ("av3", "language not an array", lambda m: _set(_c(m, 1)["annotations"][0]["items"][0]["body"], "language", "en"),
     "$.items[1].annotations[0].items[0].body.language", "array"),
    ("av3", "Range #t= past the canvas's duration", lambda m: _set(m["structures"][0]["items"][0], "id", _c(m)["id"] + "#t=0,99"),
     "$.structures[0].items[0].id", "outside"),
    ("av3", "Range #t= with a bad fragment", lambda m: _set(m["structures"][0]["items"][0], "id", _c(m)["id"] + "#page=2"),
     "$.structures[0].items[0].id", "fragment"),
    ("av3", "behavior auto-advance with no-auto-advance", lambda m: _set(m, "behavior", ["auto-advance", "no-auto-advance"]),
     "$.behavior", "disjoint"),
    ("collection3", "Collection without label", lambda m: _del(m, "label"), "$", "label"),
    ("collection3", "Collection without items", lambda m: _del(m, "items"), "$", "items"),
    ("collection3", "member without label", lambda m: _del(m["items"][1], "label"), "$.items[1]", "label"),
    ("collection3", "member typed Canvas", lambda m: _set(m["items"][0], "type", "Canvas"), "$.items[0].type", "Collection or Manifest"),
    ("collection3", "Manifest embedded in a Collection", lambda m: _set(m["items"][1], "items", []), "$.items[1]", "embedded"),
    ("collection3", "Collection with behavior paged and together", lambda m: _set(m, "behavior", ["multi-part", "together"]),
     "$.behavior", "disjoint"),
    ("collection3", "Collection with start", lambda m: _set(m, "start", {"id": B + "x/canvas/p1", "type": "Canvas"}),
     "$.start", "not allowed"),
    ("collection3", "member navDate with an hour offset out of form", lambda m: _set(m["items"][1], "navDate", "1871-04-02T00:00:00+0100"),
     "$.items[1].navDate", "navDate"),
    ("collection3", "@graph at the top", lambda m: _set(m, "@graph", []), "$.@graph", "@graph"),
]

BREAKS2 = [
    ("book2", "wrong @context", lambda m: _set(m, "@context", pc.CONTEXT3), "$.@context", "context"),
    ("book2", "id instead of @id", lambda m: m.update({"id": m.pop("@id")}), "$", "@id"),
    ("book2", "@type Manifest (3.0 spelling)", lambda m: _set(m, "@type", "Manifest"), "$.@type", "sc:Manifest"),
    ("book2", "no label", lambda m: _del(m, "label"), "$", "label"),
    ("book2", "no sequences", lambda m: _del(m, "sequences"), "$", "sequences"),
    ("book2", "first sequence without canvases", lambda m: _del(m["sequences"][0], "canvases"), "$.sequences[0]", "canvases"),
    ("book2", "canvas without height", lambda m: _del(m["sequences"][0]["canvases"][0], "height"),
     "$.sequences[0].canvases[0]", "height"),
    ("book2", "canvas without label", lambda m: _del(m["sequences"][0]["canvases"][0], "label"),
     "$.sequences[0].canvases[0]", "label"),
    ("book2", "canvas @type Canvas", lambda m: _set(m["sequences"][0]["canvases"][0], "@type", "Canvas"),
     "$.sequences[0].canvases[0].@type", "sc:Canvas"),
    ("book2", "image annotation motivation painting (3.0 spelling)",
     lambda m: _set(m["sequences"][0]["canvases"][0]["images"][0], "motivation", "painting"),
     "$.sequences[0].canvases[0].images[0].motivation", "sc:painting"),
    ("book2", "image annotation on another canvas",
     lambda m: _set(m["sequences"][0]["canvases"][0]["images"][0], "on", B2 + "x/canvas/p9"),
     "$.sequences[0].canvases[0].images[0].on", "not the canvas"),
    ("book2", "image resource @type Image", lambda m: _set(m["sequences"][0]["canvases"][0]["images"][0]["resource"], "@type", "Image"),
     "$.sequences[0].canvases[0].images[0].resource.@type", "dctypes:Image"),
    ("book2", "image service without @context",
     lambda m: _del(m["sequences"][0]["canvases"][0]["images"][0]["resource"]["service"], "@context"),
     "$.sequences[0].canvases[0].images[0].resource.service.@context", "context"),
    ("book2", "image service without profile",
     lambda m: _set(m["sequences"][0]["canvases"][0]["images"][0]["resource"]["service"], "profile", "level2"),
     "$.sequences[0].canvases[0].images[0].resource.service.profile", "level"),
    ("book2", "viewingHint unknown", lambda m: _set(m, "viewingHint", "two-up"), "$.viewingHint", "not valid"),
    ("book2", "viewingHint multi-part on a manifest", lambda m: _set(m, "viewingHint", "multi-part"), "$.viewingHint", "not valid"),
    ("book2", "navDate with an offset", lambda m: _set(m, "navDate", "1871-04-02T00:00:00+01:00"), "$.navDate", "navDate"),
    ("book2", "license not a URI", lambda m: _set(m, "license", "CC BY"), "$.license", "license"),
    ("book2", "label with HTML", lambda m: _set(m, "label", "<b>x</b>"), "$.label", "HTML"),
    ("book2", "description with bad HTML", lambda m: _set(m, "description", "<p><iframe/></p>"), "$.description", "iframe"),
    ("book2", "language value without @value", lambda m: _set(m, "description", {"@language": "en"}), "$.description", "@value"),
    ("book2", "metadata entry without value", lambda m: _set(m, "metadata", [{"label": "x"}]), "$.metadata[0]", "value"),
    ("book2", "rendering without format", lambda m: _del(m["rendering"][0], "format"), "$.rendering[0]", "format"),
    ("book2", "range canvas not in the manifest", lambda m: _set(m["structures"][0], "canvases", [B2 + "x/canvas/p5"]),
     "$.structures[0].canvases[0]", "not a canvas"),
    ("book2", "startCanvas not in the sequence", lambda m: _set(m["sequences"][0], "startCanvas", B2 + "x/canvas/p5"),
     "$.sequences[0].startCanvas", "startCanvas"),
    ("book2", "canvas @id repeated", lambda m: m["sequences"][0]["canvases"].append(copy.deepcopy(m["sequences"][0]["canvases"][0])),
     "$.sequences[0].canvases[1].@id", "repeats"),
    ("av2", "mediaSequences element without format", lambda m: _del(m["mediaSequences"][0]["elements"][0], "format"),
     "$.mediaSequences[0].elements[0]", "format"),
    ("av2", "mediaSequences wrong @type", lambda m: _set(m["mediaSequences"][0], "@type", "sc:Sequence"),
     "$.mediaSequences[0].@type", "ixif:MediaSequence"),
    ("av2", "mediaSequences element with an unknown @type", lambda m: _set(m["mediaSequences"][0]["elements"][0], "@type", "Video"),
     "$.mediaSequences[0].elements[0].@type", "dctypes"),
    ("av2", "mediaSequences not an array", lambda m: _set(m, "mediaSequences", m["mediaSequences"][0]), "$.mediaSequences", "array"),
    ("collection2", "manifests not an array", lambda m: _set(m, "manifests", m["manifests"][0]), "$.manifests", "array"),
    ("collection2", "member without label", lambda m: _del(m["members"][1], "label"), "$.members[1]", "label"),
    ("collection2", "member @type sc:Canvas", lambda m: _set(m["members"][0], "@type", "sc:Canvas"), "$.members[0].@type", "sc:"),
    ("collection2", "viewingHint paged on a collection", lambda m: _set(m, "viewingHint", "paged"), "$.viewingHint", "not valid"),
    ("collection2", "manifest embedded with sequences", lambda m: _set(m["manifests"][0], "sequences", []), "$.manifests[0]", "embedded"),
]


def _break(doc, rule, mutate, path, word, check):
    @test("presentation checker: %s rejects %s (at %s)" % (doc, rule, path), server=None)
    def _(ctx, srv):
        m = VALID[doc][0]()
        mutate(m)
        probs = check(m)
        hit = [p for p in probs if p.path == path and word.lower() in p.msg.lower()]
        expect(hit, "no problem at %s mentioning %r; got: %s" % (path, word, pc.format_problems(probs) or "none"))


for _b in BREAKS3:
    _break(*_b, check=pc.check_v3)
for _b in BREAKS2:
    _break(*_b, check=pc.check_v2)


@test("presentation checker: each 3.0 rule table has at least one break case", server=None)
def _(ctx, srv):
    rules = " ".join(b[1] for b in BREAKS3).lower()
    for word in ("label", "items", "@context", "rights", "navdate", "behavior", "viewingdirection", "thumbnail",
                 "homepage", "rendering", "seealso", "provider", "start", "width", "duration", "fragment",
                 "motivation", "target", "imageservice3", "imageservice2", "range", "html", "language", "format"):
        expect(word in rules, "no break case exercises %r" % word)


# ---------------------------------------------------------------- deep checks

class FakeResponse:
    def __init__(self, status, ctype, body):
        self.status = status
        self.body = body
        self._ctype = ctype

    def header(self, name, default=None):
        return self._ctype if name.lower() == "content-type" else default


def _jpeg(w, h):
    from PIL import Image
    b = io.BytesIO()
    Image.new("RGB", (w, h), (200, 100, 50)).save(b, "JPEG")
    return b.getvalue()


class FakeServer:
    """URL -> (status, Content-Type, body); a manifest is served from its own id."""

    def __init__(self, doc, version=3):
        import json
        self.routes = {}
        self.calls = []
        key = "id" if version == 3 else "@id"
        self.routes[doc[key]] = (200, "application/ld+json", json.dumps(doc).encode())

    def add(self, url, status=200, ctype="application/json", body=b"{}"):
        self.routes[url] = (status, ctype, body)

    def fetch(self, url, method="GET"):
        self.calls.append((method, url))
        st, ct, body = self.routes.get(url, (404, "text/plain", b"not found"))
        return FakeResponse(st, ct, b"" if method == "HEAD" else body)


def _serve_book(m):
    """A fake server that answers everything book3() references, truthfully."""
    import json
    s = FakeServer(m)
    for c in m["items"]:
        s.add(c["id"], body=json.dumps(dict(c, **{"@context": pc.CONTEXT3})).encode())
        page = c["items"][0]
        s.add(page["id"], body=json.dumps(dict(page, **{"@context": pc.CONTEXT3})).encode())
        ann = page["items"][0]
        s.add(ann["id"], body=json.dumps(dict(ann, **{"@context": pc.CONTEXT3})).encode())
        body = ann["body"]
        s.add(body["id"], ctype="image/jpeg", body=_jpeg(body["width"], body["height"]))
        svc = body["service"][0]
        info = {"id": svc["id"], "type": "ImageService3", "width": c["width"], "height": c["height"],
                "sizes": svc["sizes"]}
        s.add(svc["id"] + "/info.json", body=json.dumps(info).encode())
        s.add(body["service"][1]["@id"] + "/info.json", body=json.dumps(
            {"@id": body["service"][1]["@id"], "width": c["width"], "height": c["height"], "sizes": svc["sizes"]}).encode())
        th = c["thumbnail"][0]
        s.add(th["id"], ctype="image/jpeg", body=_jpeg(th["width"], th["height"]))
        s.add(c["seeAlso"][0]["id"], ctype="application/xml", body=b"<alto/>")
    s.add(m["thumbnail"][0]["id"], ctype="image/jpeg", body=_jpeg(150, 200))
    s.add(m["rendering"][0]["id"], ctype="application/pdf", body=b"%PDF-1.4\n")
    for r in m["structures"]:
        s.add(r["id"])
        for x in r["items"]:
            if x.get("type") == "Range":
                s.add(x["id"])
    return s


def _deep(m, s):
    return pc.deep_v3(m, m["id"], s.fetch, "https://iiif.test", probe=lambda data: 12.5)


@test("presentation checker (deep): a book answered truthfully passes", server=None)
def _(ctx, srv):
    m = book3()
    probs = _deep(m, _serve_book(m))
    expect(not probs, "truthful server reported: %s" % pc.format_problems(probs))


DEEP_BREAKS = [
    ("the manifest id is not its URL", lambda m, s: s.routes.__setitem__(
        m["id"] + "x", s.routes[m["id"]]), lambda m: m["id"] + "x", "$.id", "fetched from"),
    ("a canvas answers 404", lambda m, s: s.routes.pop(m["items"][1]["id"]), None, "$.items[1]", "404"),
    ("an annotation answers 500", lambda m, s: s.add(m["items"][0]["items"][0]["items"][0]["id"], 500),
     None, "$.items[0].items[0].items[0]", "500"),
    ("a canvas dereferences without @context", lambda m, s: s.add(
        m["items"][0]["id"], body=__import__("json").dumps(m["items"][0]).encode()), None, "$.items[0]", "@context"),
    ("an info.json is missing", lambda m, s: s.routes.pop(m["items"][2]["items"][0]["items"][0]["body"]["service"][0]["id"] + "/info.json"),
     None, "$.items[2].items[0].items[0].body.service[0]", "404"),
    ("a body is served as PNG but says JPEG", lambda m, s: s.add(
        m["items"][0]["items"][0]["items"][0]["body"]["id"], ctype="image/png", body=_jpeg(150, 200)),
     None, "$.items[0].items[0].items[0].body.format", "served as"),
    ("a body's pixels are not its width/height", lambda m, s: s.add(
        m["items"][0]["items"][0]["items"][0]["body"]["id"], ctype="image/jpeg", body=_jpeg(151, 200)),
     None, "$.items[0].items[0].items[0].body", "151"),
    ("a canvas is not the size of its image's info.json", lambda m, s: s.add(
        m["items"][1]["items"][0]["items"][0]["body"]["service"][0]["id"] + "/info.json",
        body=b'{"width": 801, "height": 600, "sizes": [{"width": 200, "height": 150}]}'),
     None, "$.items[1]", "info.json"),
    ("a thumbnail size is not a sizes entry", lambda m, s: s.add(
        m["items"][0]["thumbnail"][0]["service"][0]["id"] + "/info.json",
        body=b'{"width": 600, "height": 800, "sizes": [{"width": 300, "height": 400}]}'),
     None, "$.items[0].thumbnail[0].id", "sizes"),
    ("a thumbnail is not the size its URL asks", lambda m, s: s.add(
        m["items"][2]["thumbnail"][0]["id"], ctype="image/jpeg", body=_jpeg(100, 100)),
     None, "$.items[2].thumbnail[0]", "asks"),
    ("a rendering answers 404", lambda m, s: s.routes.pop(m["rendering"][0]["id"]), None, "$.rendering[0]", "404"),
    ("a seeAlso is served with another type", lambda m, s: s.add(m["items"][0]["seeAlso"][0]["id"], ctype="text/plain", body=b"x"),
     None, "$.items[0].seeAlso[0].format", "served as"),
    ("a range answers 404", lambda m, s: s.routes.pop(m["structures"][0]["items"][0]["id"]), None,
     "$.structures[0].items[0]", "404"),
]


def _deep_break(rule, mutate, url_of, path, word):
    @test("presentation checker (deep): catches %s (at %s)" % (rule, path), server=None)
    def _(ctx, srv):
        m = book3()
        s = _serve_book(m)
        mutate(m, s)
        url = url_of(m) if url_of else m["id"]
        probs = pc.deep_v3(m, url, s.fetch, "https://iiif.test", probe=lambda data: 12.5)
        hit = [p for p in probs if p.path == path and word.lower() in p.msg.lower()]
        expect(hit, "no problem at %s mentioning %r; got: %s" % (path, word, pc.format_problems(probs) or "none"))


for _d in DEEP_BREAKS:
    _deep_break(*_d)


@test("presentation checker (deep): a media body's type, HEAD and duration are checked", server=None)
def _(ctx, srv):
    m = av3()
    s = FakeServer(m)
    import json
    for c in m["items"]:
        s.add(c["id"], body=json.dumps(dict(c, **{"@context": pc.CONTEXT3})).encode())
        for page in c["items"]:
            s.add(page["id"], body=json.dumps(dict(page, **{"@context": pc.CONTEXT3})).encode())
            for a in page["items"]:
                s.add(a["id"], body=json.dumps(dict(a, **{"@context": pc.CONTEXT3})).encode())
        for page in c.get("annotations", []):
            s.add(page["id"], body=json.dumps(dict(page, **{"@context": pc.CONTEXT3})).encode())
            for a in page["items"]:
                s.add(a["id"], body=json.dumps(dict(a, **{"@context": pc.CONTEXT3})).encode())
    s.add(m["items"][0]["items"][0]["items"][0]["body"]["id"], ctype="audio/ogg", body=b"OggS")
    s.add(m["items"][1]["items"][0]["items"][0]["body"]["id"], ctype="video/mp4", body=b"mp4")
    s.add(m["items"][1]["thumbnail"][0]["id"], ctype="image/jpeg", body=_jpeg(80, 60))
    s.add(m["structures"][0]["id"])
    durations = {b"OggS": 12.5, b"mp4": 4.0}
    probs = pc.deep_v3(m, m["id"], s.fetch, "https://iiif.test", probe=lambda d: durations.get(d))
    expect(not probs, "truthful AV server reported: %s" % pc.format_problems(probs))
    durations[b"mp4"] = 4.3
    probs = pc.deep_v3(m, m["id"], s.fetch, "https://iiif.test", probe=lambda d: durations.get(d))
    expect([p for p in probs if p.path == "$.items[1].duration"], "a 0.3 s longer file passed: %s" % pc.format_problems(probs))
    durations[b"mp4"] = 4.0
    s.add(m["items"][0]["items"][0]["items"][0]["body"]["id"], ctype="audio/webm", body=b"OggS")
    probs = pc.deep_v3(m, m["id"], s.fetch, "https://iiif.test", probe=lambda d: durations.get(d))
    expect([p for p in probs if p.path == "$.items[0].items[0].items[0].body.format"],
           "audio/webm served for audio/ogg passed: %s" % pc.format_problems(probs))


@test("presentation checker (deep): 2.1 canvases, image resources and media elements are dereferenced", server=None)
def _(ctx, srv):
    import json
    m = book2()
    s = FakeServer(m, version=2)
    c = m["sequences"][0]["canvases"][0]
    s.add(c["@id"], body=json.dumps(c).encode())
    r = c["images"][0]["resource"]
    s.add(r["@id"], ctype="image/jpeg", body=_jpeg(150, 200))
    s.add(r["service"]["@id"] + "/info.json", body=b'{"width": 600, "height": 800}')
    s.add(m["thumbnail"]["@id"], ctype="image/jpeg", body=_jpeg(150, 200))
    probs = pc.deep_v2(m, m["@id"], s.fetch, "https://iiif.test")
    expect(not probs, "truthful 2.1 server reported: %s" % pc.format_problems(probs))
    # 2.1 thumbnails are fetched too: one answered at another size is caught
    s.add(m["thumbnail"]["@id"], ctype="image/jpeg", body=_jpeg(100, 200))
    probs = pc.deep_v2(m, m["@id"], s.fetch, "https://iiif.test")
    expect([p for p in probs if p.path == "$.thumbnail[0]" and "asks" in p.msg],
           "a 2.1 thumbnail of the wrong size passed: %s" % pc.format_problems(probs))
    s.add(m["thumbnail"]["@id"], ctype="image/jpeg", body=_jpeg(150, 200))
    s.add(r["service"]["@id"] + "/info.json", body=b'{"width": 601, "height": 800}')
    probs = pc.deep_v2(m, m["@id"], s.fetch, "https://iiif.test")
    expect([p for p in probs if p.path == "$.sequences[0].canvases[0]"], "a wrong canvas size passed")
    probs = pc.deep_v2(m, m["@id"] + "/", s.fetch, "https://iiif.test")
    expect([p for p in probs if p.path == "$.@id"], "a wrong @id passed")


def main():
    import common
    passed = failed = 0
    for name, server, fn in common.TESTS:
        if server is not None:
            continue
        try:
            fn(None, None)
            passed += 1
            print("ok   %s" % name)
        except AssertionError as e:
            failed += 1
            print("FAIL %s: %s" % (name, e))
        except Exception as e:
            failed += 1
            print("FAIL %s: %s: %s" % (name, type(e).__name__, e))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
