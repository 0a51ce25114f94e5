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

The checks live in presentation_rules.py (the shared value rules and
tables), presentation_v3.py, presentation_v2.py and presentation_deep.py;
this module gathers them so the tests import one name.

The one idea: rules are data (tables of allowed and forbidden properties
and behaviors per type) walked by one recursive visitor that knows the
type it expects at each place, so a new rule is one table entry, and the
self-test (test_presentation_checks.py) proves each rule can fail.
"""


__all__ = ["CONTEXT2", "CONTEXT3", "IMAGE2_CONTEXT", "IXIF_CONTEXT", "Problem", "format_problems",
           "html_problems", "navdate_ok", "rights_ok", "check_v3", "check_v2", "Deep", "deep_v2", "deep_v3",
           "ffprobe_duration", "image_size"]

from presentation_rules import (  # re-exported: the tests use presentation_checks only
    CONTEXT2, CONTEXT3, IMAGE2_CONTEXT, IXIF_CONTEXT, Problem, format_problems, html_problems,
    navdate_ok, rights_ok)
from presentation_v3 import check_v3
from presentation_v2 import check_v2
from presentation_deep import Deep, deep_v2, deep_v3, ffprobe_duration, image_size
