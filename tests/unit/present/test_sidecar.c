/*
 * test_sidecar.c - iiif.json sidecars (presentation.md §2): the example of
 * the design note parses into every field, each rule of the format refuses
 * what breaks it with a message that starts with the field's path, and
 * inputs the fuzzer found stay fixed.
 *
 * JSON is written with single quotes (parse_q turns them into double
 * quotes) so the documents stay readable.
 */
#include <math.h>
#include <stdlib.h>
#include "check.h"
#include "tessera/sidecar.h"
#include "tessera/status.h"

static struct ts_sidecar sc;
static struct ts_error err;

static ts_status parse_scope(const char *text, size_t len, enum ts_sidecar_scope scope)
{
	ts_status st;

	ts_sidecar_free(&sc);
	ts_error_clear(&err);
	st = ts_sidecar_parse(text, len, scope, &sc, &err);
	if (st != TS_OK) {
		/* A failure always explains itself, in one printable line. */
		const char *p;
		EXPECT_EQ_INT(err.status, st);
		EXPECT(err.msg[0] != '\0');
		for (p = err.msg; *p; p++)
			EXPECT((unsigned char)*p >= 0x20 && *p != 0x7f);
	}
	return st;
}

/* Parses text with every ' turned into ", in the given scope. */
static ts_status parse_qs(const char *text, enum ts_sidecar_scope scope)
{
	char *buf = strdup(text), *p;
	ts_status st;

	for (p = buf; *p; p++)
		if (*p == '\'')
			*p = '"';
	st = parse_scope(buf, strlen(buf), scope);
	free(buf);
	return st;
}

static ts_status parse_q(const char *text)
{
	return parse_qs(text, TS_SIDECAR_ITEM);
}

static const char *dump(const json_t *v)
{
	static char buf[4096];
	char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;

	snprintf(buf, sizeof buf, "%s", s ? s : "(null)");
	free(s);
	return buf;
}

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The document is refused (400) and the message starts with `path: `. */
#define EXPECT_REFUSED_AT(doc, path) do { \
	EXPECT_EQ_INT(parse_q(doc), 400); \
	if (!starts_with(err.msg, path ": ")) { \
		printf("    %s:%d: message \"%s\" does not start with \"%s: \"\n", \
		       __FILE__, __LINE__, err.msg, path); \
		check_current_failed = 1; \
	} } while (0)

#define EXPECT_MSG_HAS(needle) do { \
	if (!strstr(err.msg, needle)) { \
		printf("    %s:%d: message \"%s\" lacks \"%s\"\n", __FILE__, __LINE__, err.msg, needle); \
		check_current_failed = 1; \
	} } while (0)

/* ---- the design note's example ----------------------------------------- */

static const char *example =
	"{\n"
	"  'label': 'Letter of 2 April 1871',\n"
	"  'summary': 'Two leaves, ink on paper.',\n"
	"  'language': 'en',\n"
	"  'metadata': [\n"
	"    { 'label': 'Creator', 'value': 'A. Writer' },\n"
	"    { 'label': { 'en': ['Date'], 'fr': ['Date'] }, 'value': { 'none': ['1871-04-02'] } }\n"
	"  ],\n"
	"  'rights': 'http://creativecommons.org/licenses/by/4.0/',\n"
	"  'requiredStatement': { 'label': 'Attribution', 'value': 'Example Archive' },\n"
	"  'provider': { 'id': 'https://example.org/about', 'label': 'Example Archive',\n"
	"                'homepage': 'https://example.org/', 'logo': '_logo.png' },\n"
	"  'homepage': 'https://example.org/items/1871-04-02',\n"
	"  'navDate': '1871-04-02T00:00:00Z',\n"
	"  'behavior': ['paged'],\n"
	"  'viewingDirection': 'left-to-right',\n"
	"  'thumbnail': 'p001.tif',\n"
	"  'start': 'p002.tif',\n"
	"  'items': [\n"
	"    { 'file': 'p001.tif', 'label': 'Recto' },\n"
	"    { 'file': 'p002.tif', 'label': 'Verso', 'metadata': [{ 'label': 'Note', 'value': 'stain' }] },\n"
	"    { 'file': 'side-a.ogg', 'label': 'Side A', 'duration': 1985.024 },\n"
	"    { 'file': 'clip.webm', 'duration': 4.0, 'width': 320, 'height': 240, 'thumbnail': 'clip.jpg' }\n"
	"  ],\n"
	"  'exclude': ['notes.txt'],\n"
	"  'rendering': [{ 'file': 'letter.pdf', 'label': 'PDF version' }],\n"
	"  'seeAlso': [{ 'id': 'https://example.org/marc/123.xml', 'format': 'application/marcxml+xml',\n"
	"                'profile': 'http://www.loc.gov/MARC21/slim' }],\n"
	"  'structures': [\n"
	"    { 'label': 'Contents', 'items': [\n"
	"        { 'label': 'Letter', 'items': ['p001.tif', 'p002.tif'] },\n"
	"        { 'label': 'Interview, first minutes', 'items': [{ 'file': 'side-a.ogg', 't': [0, 120] }] } ] }\n"
	"  ]\n"
	"}\n";

static void the_example_of_the_design_note_parses_into_every_field(void)
{
	EXPECT_EQ_INT(parse_q(example), 0);
	EXPECT(!sc.is_collection);
	EXPECT_EQ_STR(sc.language, "en");
	EXPECT_EQ_STR(dump(sc.label), "{\"en\":[\"Letter of 2 April 1871\"]}");
	EXPECT_EQ_STR(dump(sc.summary), "{\"en\":[\"Two leaves, ink on paper.\"]}");
	EXPECT_EQ_STR(dump(sc.metadata),
	              "[{\"label\":{\"en\":[\"Creator\"]},\"value\":{\"en\":[\"A. Writer\"]}},"
	              "{\"label\":{\"en\":[\"Date\"],\"fr\":[\"Date\"]},\"value\":{\"none\":[\"1871-04-02\"]}}]");
	EXPECT_EQ_STR(sc.rights, "http://creativecommons.org/licenses/by/4.0/");
	EXPECT(sc.warning == NULL);
	EXPECT_EQ_STR(dump(sc.required_statement),
	              "{\"label\":{\"en\":[\"Attribution\"]},\"value\":{\"en\":[\"Example Archive\"]}}");
	EXPECT(sc.provider != NULL);
	if (sc.provider) {
		EXPECT_EQ_STR(sc.provider->id, "https://example.org/about");
		EXPECT_EQ_STR(dump(sc.provider->label), "{\"en\":[\"Example Archive\"]}");
		EXPECT_EQ_STR(sc.provider->homepage, "https://example.org/");
		EXPECT_EQ_STR(sc.provider->logo, "_logo.png");
	}
	EXPECT_EQ_STR(sc.homepage, "https://example.org/items/1871-04-02");
	EXPECT_EQ_STR(sc.nav_date, "1871-04-02T00:00:00Z");
	EXPECT_EQ_INT(sc.nbehavior, 1);
	EXPECT_EQ_STR(sc.behavior[0], "paged");
	EXPECT_EQ_STR(sc.viewing_direction, "left-to-right");
	EXPECT_EQ_STR(sc.thumbnail, "p001.tif");
	EXPECT_EQ_STR(sc.start, "p002.tif");
	EXPECT_EQ_INT(sc.nitems, 4);
	if (sc.nitems == 4) {
		EXPECT_EQ_STR(sc.items[0].file, "p001.tif");
		EXPECT_EQ_STR(dump(sc.items[0].label), "{\"en\":[\"Recto\"]}");
		EXPECT_EQ_STR(dump(sc.items[1].metadata),
		              "[{\"label\":{\"en\":[\"Note\"]},\"value\":{\"en\":[\"stain\"]}}]");
		EXPECT_EQ_STR(sc.items[2].file, "side-a.ogg");
		EXPECT(sc.items[2].duration == 1985.024);
		EXPECT_EQ_STR(sc.items[3].file, "clip.webm");
		EXPECT(sc.items[3].duration == 4.0);
		EXPECT_EQ_INT(sc.items[3].width, 320);
		EXPECT_EQ_INT(sc.items[3].height, 240);
		EXPECT_EQ_STR(sc.items[3].thumbnail, "clip.jpg");
		EXPECT(sc.items[3].label == NULL);
	}
	EXPECT_EQ_INT(sc.nexclude, 1);
	EXPECT_EQ_STR(sc.exclude[0], "notes.txt");
	EXPECT_EQ_INT(sc.nrendering, 1);
	EXPECT_EQ_STR(sc.rendering[0].file, "letter.pdf");
	EXPECT_EQ_STR(dump(sc.rendering[0].label), "{\"en\":[\"PDF version\"]}");
	EXPECT_EQ_STR(dump(sc.see_also),
	              "[{\"id\":\"https://example.org/marc/123.xml\",\"type\":\"Dataset\","
	              "\"format\":\"application/marcxml+xml\",\"profile\":\"http://www.loc.gov/MARC21/slim\"}]");
	EXPECT_EQ_INT(sc.nstructures, 1);
	if (sc.nstructures == 1 && sc.structures[0].nitems == 2) {
		struct ts_sidecar_range *top = &sc.structures[0], *letter, *interview;
		EXPECT_EQ_STR(top->id, "r1");
		EXPECT_EQ_STR(dump(top->label), "{\"en\":[\"Contents\"]}");
		letter = top->items[0].range;
		interview = top->items[1].range;
		EXPECT(letter && interview);
		if (letter && interview) {
			EXPECT_EQ_STR(letter->id, "r2");
			EXPECT_EQ_INT(letter->nitems, 2);
			EXPECT_EQ_STR(letter->items[1].file, "p002.tif");
			EXPECT(!letter->items[1].has_t && !letter->items[1].has_xywh);
			EXPECT_EQ_STR(interview->id, "r3");
			EXPECT_EQ_STR(interview->items[0].file, "side-a.ogg");
			EXPECT(interview->items[0].has_t);
			EXPECT(interview->items[0].t[0] == 0 && interview->items[0].t[1] == 120);
		}
	}
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	if (!f)
		return NULL;
	buf = malloc(1 << 20);
	*len = buf ? fread(buf, 1, 1 << 20, f) : 0;
	fclose(f);
	return buf;
}

/* tests/fuzz/corpus/sidecar/example.json is the note's block byte for byte. */
static void the_example_as_the_note_writes_it_parses_and_so_do_the_fuzz_seeds(void)
{
	static const char *const seeds[] = { "example.json", "collection.json", "html.json",
	                                     "ranges.json", "rights.json" };
	char path[128];
	size_t i, len;

	for (i = 0; i < sizeof seeds / sizeof *seeds; i++) {
		char *text;
		snprintf(path, sizeof path, "tests/fuzz/corpus/sidecar/%s", seeds[i]);
		if (!(text = read_file(path, &len))) {
			printf("    skipped: %s not found (run from the top of the tree)\n", path);
			return;
		}
		EXPECT_EQ_INT(parse_scope(text, len, TS_SIDECAR_ITEM), 0);
		if (i == 0) {
			EXPECT_EQ_INT(sc.nitems, 4);
			EXPECT_EQ_INT(sc.nstructures, 1);
			EXPECT_EQ_STR(sc.provider ? sc.provider->logo : NULL, "_logo.png");
		}
		free(text);
	}
}

static void an_empty_object_is_a_sidecar_in_language_none(void)
{
	EXPECT_EQ_INT(parse_q("{}"), 0);
	EXPECT_EQ_STR(sc.language, "none");
	EXPECT(sc.label == NULL && sc.items == NULL && sc.nitems == 0);
	EXPECT_EQ_INT(parse_q("{'label': 'Letter'}"), 0);
	EXPECT_EQ_STR(dump(sc.label), "{\"none\":[\"Letter\"]}");
}

static void a_full_language_map_passes_through_unchanged(void)
{
	EXPECT_EQ_INT(parse_q("{'language': 'fr', 'label': {'en-GB': ['Letter', 'Missive'], 'zh-Hant': ['x'], "
	                      "'none': ['L']}}"), 0);
	EXPECT_EQ_STR(dump(sc.label), "{\"en-GB\":[\"Letter\",\"Missive\"],\"zh-Hant\":[\"x\"],\"none\":[\"L\"]}");
}

static void version_1_and_type_manifest_are_accepted(void)
{
	EXPECT_EQ_INT(parse_q("{'version': 1, 'type': 'Manifest'}"), 0);
	EXPECT(!sc.is_collection);
}

static void type_collection_makes_a_collection_sidecar(void)
{
	EXPECT_EQ_INT(parse_q("{'type': 'Collection', 'items': ['b', 'a'], 'behavior': ['multi-part']}"), 0);
	EXPECT(sc.is_collection);
	EXPECT_EQ_INT(sc.nitems, 2);
	EXPECT_EQ_STR(sc.items[0].file, "b");
	/* ...so collection rules apply to it. */
	EXPECT_REFUSED_AT("{'type': 'Collection', 'start': 'a'}", "start");
}

static void a_collection_sidecar_takes_only_its_keys(void)
{
	EXPECT_EQ_INT(parse_qs("{'label': 'Letters', 'summary': 'All of them', 'metadata': [], "
	                       "'rights': 'http://rightsstatements.org/vocab/InC/1.0/', "
	                       "'requiredStatement': {'label': 'a', 'value': 'b'}, "
	                       "'provider': {'id': 'https://example.org/', 'label': 'X'}, "
	                       "'navDate': '1871-01-01T00:00:00+01:00', 'behavior': ['together'], "
	                       "'thumbnail': '1871-04-02', 'items': ['1871-04-02'], 'language': 'en', "
	                       "'type': 'Collection', 'version': 1}", TS_SIDECAR_COLLECTION), 0);
	EXPECT(sc.is_collection);
	EXPECT_EQ_STR(sc.thumbnail, "1871-04-02");
	EXPECT_EQ_INT(parse_qs("{'structures': []}", TS_SIDECAR_COLLECTION), 400);
	EXPECT(starts_with(err.msg, "structures: "));
	EXPECT_EQ_INT(parse_qs("{'homepage': 'https://example.org/'}", TS_SIDECAR_COLLECTION), 400);
	EXPECT(starts_with(err.msg, "homepage: "));
	EXPECT_EQ_INT(parse_qs("{'items': [{'file': 'a'}]}", TS_SIDECAR_COLLECTION), 400);
	EXPECT(starts_with(err.msg, "items[0]: "));
	EXPECT_EQ_INT(parse_qs("{'type': 'Manifest'}", TS_SIDECAR_COLLECTION), 400);
	EXPECT(starts_with(err.msg, "type: "));
	EXPECT_EQ_INT(parse_qs("{'behavior': ['paged']}", TS_SIDECAR_COLLECTION), 0);
}

/* ---- JSON and encoding ------------------------------------------------------ */

static void invalid_json_is_refused_with_its_line_and_column(void)
{
	EXPECT_EQ_INT(parse_q("{\n  'label': 'x',\n  'summary' 'y'\n}"), 400);
	EXPECT(starts_with(err.msg, "invalid JSON at line 3, column "));
	EXPECT_EQ_INT(parse_q(""), 400);
	EXPECT(starts_with(err.msg, "invalid JSON at line "));
	EXPECT_EQ_INT(parse_q("{'label': 'a', 'label': 'b'}"), 400);
	EXPECT(starts_with(err.msg, "invalid JSON at line 1"));
	EXPECT_EQ_INT(parse_q("{'label': 'a\\u0000b'}"), 400);
	EXPECT(starts_with(err.msg, "invalid JSON at line 1"));
}

static void invalid_utf8_is_refused_with_its_position(void)
{
	const char doc[] = "{\n\"label\": \"caf\xe9\"}";
	EXPECT_EQ_INT(parse_scope(doc, sizeof doc - 1, TS_SIDECAR_ITEM), 400);
	EXPECT_EQ_STR(err.msg, "invalid UTF-8 at line 2, column 14 (byte 15): save the file as UTF-8");
	const char overlong[] = "{\"label\": \"\xc0\xaf\"}";
	EXPECT_EQ_INT(parse_scope(overlong, sizeof overlong - 1, TS_SIDECAR_ITEM), 400);
	EXPECT(starts_with(err.msg, "invalid UTF-8 at line 1"));
	const char surrogate[] = "{\"label\": \"\xed\xa0\x80\"}";
	EXPECT_EQ_INT(parse_scope(surrogate, sizeof surrogate - 1, TS_SIDECAR_ITEM), 400);
}

static void a_byte_order_mark_is_skipped(void)
{
	const char doc[] = "\xef\xbb\xbf{\"label\": \"x\"}";
	EXPECT_EQ_INT(parse_scope(doc, sizeof doc - 1, TS_SIDECAR_ITEM), 0);
	EXPECT_EQ_STR(dump(sc.label), "{\"none\":[\"x\"]}");
}

static void the_top_level_must_be_an_object(void)
{
	EXPECT_EQ_INT(parse_q("['label']"), 400);
	EXPECT_EQ_STR(err.msg, "the sidecar must be a JSON object {...}, not an array");
}

static void a_sidecar_over_4_mb_is_refused(void)
{
	size_t n = (4u << 20) + 1;
	char *big = malloc(n);
	memset(big, ' ', n);
	big[0] = '{', big[n - 1] = '}';
	EXPECT_EQ_INT(parse_scope(big, n, TS_SIDECAR_ITEM), 400);
	EXPECT_MSG_HAS("larger than 4 MB");
	free(big);
}

static void unknown_keys_are_errors_at_every_level(void)
{
	EXPECT_REFUSED_AT("{'lable': 'x'}", "lable");
	EXPECT_REFUSED_AT("{'items': ['a', {'file': 'b', 'durations': 3}]}", "items[1].durations");
	EXPECT_REFUSED_AT("{'metadata': [{'label': 'a', 'value': 'b', 'lang': 'en'}]}", "metadata[0].lang");
	EXPECT_REFUSED_AT("{'provider': {'id': 'https://a.org/', 'label': 'x', 'type': 'Agent'}}", "provider.type");
	EXPECT_REFUSED_AT("{'seeAlso': [{'id': 'https://a.org/x', 'kind': 'y'}]}", "seeAlso[0].kind");
	EXPECT_REFUSED_AT("{'rendering': [{'file': 'a.pdf', 'duration': 3}]}", "rendering[0].duration");
	EXPECT_REFUSED_AT("{'structures': [{'label': 'a', 'items': ['x'], 'behavior': ['no-nav']}]}",
	                  "structures[0].behavior");
	EXPECT_REFUSED_AT("{'structures': [{'label': 'a', 'items': [{'file': 'x', 'T': [0, 1]}]}]}",
	                  "structures[0].items[0].T");
}

static void a_strange_key_is_quoted_short_and_printable(void)
{
	EXPECT_EQ_INT(parse_q("{'a\\u0001b': 1}"), 400);
	EXPECT(starts_with(err.msg, "[\"a?b\"]: unknown key"));
	EXPECT_EQ_INT(parse_q("{'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa': 1}"), 400);
	EXPECT(starts_with(err.msg, "[\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"]: unknown key"));
}

static void only_version_1_is_read(void)
{
	EXPECT_REFUSED_AT("{'version': 2}", "version");
	EXPECT_REFUSED_AT("{'version': '1'}", "version");
	EXPECT_REFUSED_AT("{'type': 'Canvas'}", "type");
}

/* ---- language maps ------------------------------------------------------------ */

static void language_maps_are_checked(void)
{
	EXPECT_REFUSED_AT("{'language': 'english!'}", "language");
	EXPECT_REFUSED_AT("{'language': 5}", "language");
	EXPECT_REFUSED_AT("{'label': ''}", "label");
	EXPECT_REFUSED_AT("{'label': {}}", "label");
	EXPECT_REFUSED_AT("{'label': {'en_GB': ['x']}}", "label.en_GB");
	EXPECT_REFUSED_AT("{'label': {'e': ['x']}}", "label.e");
	EXPECT_REFUSED_AT("{'label': {'en': 'x'}}", "label.en");
	EXPECT_REFUSED_AT("{'label': {'en': []}}", "label.en");
	EXPECT_REFUSED_AT("{'label': {'en': ['a', 3]}}", "label.en[1]");
	EXPECT_REFUSED_AT("{'label': {'en': ['a', '']}}", "label.en[1]");
	EXPECT_REFUSED_AT("{'label': null}", "label");
	EXPECT_MSG_HAS("not null");
	EXPECT_REFUSED_AT("{'label': ['a']}", "label");
	EXPECT_REFUSED_AT("{'summary': 'bell\\u0007'}", "summary");
	EXPECT_EQ_INT(parse_q("{'summary': 'two\\nlines\\twith a tab'}"), 0);
}

static void html_is_refused_in_labels(void)
{
	EXPECT_REFUSED_AT("{'label': '<b>Letter</b>'}", "label");
	EXPECT_MSG_HAS("plain text");
	EXPECT_REFUSED_AT("{'items': [{'file': 'a', 'label': {'en': ['x <i>y</i>']}}]}", "items[0].label.en[0]");
	EXPECT_REFUSED_AT("{'metadata': [{'label': '<p>x</p>', 'value': 'y'}]}", "metadata[0].label");
	/* A lone '<' is text. */
	EXPECT_EQ_INT(parse_q("{'label': 'a < b'}"), 0);
}

static void allowed_html_passes_in_summary_and_values(void)
{
	EXPECT_EQ_INT(parse_q("{'summary': '<p>Short <b>summary</b> of <i>the</i> <small>x</small><sub>1</sub>"
	                      "<sup>2</sup><br/><span>y</span> &amp; &#233; &#x20AC;</p>'}"), 0);
	EXPECT_EQ_INT(parse_q("{'metadata': [{'label': 'Source', 'value': "
	                      "'<span>From: <a href=\\'https://example.org/db/1.html\\'>Some</a></span>'}]}"), 0);
	EXPECT_EQ_INT(parse_q("{'requiredStatement': {'label': 'x', 'value': "
	                      "'<p><img src=\\'https://example.org/logo.png\\' alt=\\'Logo\\'/> "
	                      "<a href=\\'mailto:a@example.org\\'>mail</a></p>'}}"), 0);
	EXPECT_EQ_INT(parse_q("{'summary': '<br/>'}"), 0);
}

static void html_is_limited_to_what_the_spec_lets_clients_keep(void)
{
	EXPECT_REFUSED_AT("{'summary': '<p><script>alert(1)</script></p>'}", "summary");
	EXPECT_MSG_HAS("<script>");
	EXPECT_REFUSED_AT("{'summary': '<script>alert(1)</script>'}", "summary");
	EXPECT_REFUSED_AT("{'summary': '<p><a href=\\'javascript:alert(1)\\'>x</a></p>'}", "summary");
	EXPECT_REFUSED_AT("{'summary': '<p><a href=\\'JaVaScRiPt:x\\'>x</a></p>'}", "summary");
	EXPECT_REFUSED_AT("{'summary': '<p><a href=\\'&#106;avascript:x\\'>x</a></p>'}", "summary");
	EXPECT_REFUSED_AT("{'summary': '<p onclick=\\'x()\\'>x</p>'}", "summary");
	EXPECT_REFUSED_AT("{'summary': '<p><img src=\\'https://a.org/x.png\\' onerror=\\'x()\\'/></p>'}", "summary");
	EXPECT_REFUSED_AT("{'summary': '<p><a title=\\'x\\'>x</a></p>'}", "summary");
	EXPECT_REFUSED_AT("{'summary': '<p><img src=\\'data:image/png;base64,AAAA\\'/></p>'}", "summary");
	EXPECT_REFUSED_AT("{'summary': '<p><!-- note -->x</p>'}", "summary");
	EXPECT_REFUSED_AT("{'summary': '<p><![CDATA[x]]></p>'}", "summary");
	EXPECT_REFUSED_AT("{'summary': '<?xml version=\\'1.0\\'?><p>x</p>'}", "summary");
	EXPECT_REFUSED_AT("{'summary': '<!DOCTYPE html><p>x</p>'}", "summary");
	EXPECT_REFUSED_AT("{'summary': '<p>one</p><p>two</p>'}", "summary");
	EXPECT_MSG_HAS("single element");
	EXPECT_REFUSED_AT("{'summary': '<p>never closed'}", "summary");
	EXPECT_REFUSED_AT("{'summary': '<p>never <b>closed</p>'}", "summary");
	EXPECT_REFUSED_AT("{'summary': '<p>line<br>break</p>'}", "summary");
	EXPECT_MSG_HAS("<br/>");
	EXPECT_REFUSED_AT("{'summary': '<p>a&nbsp;b</p>'}", "summary");
	EXPECT_REFUSED_AT("{'summary': '<p>a & b</p>'}", "summary");
	EXPECT_REFUSED_AT("{'summary': '<p>a &#0; b</p>'}", "summary");
	EXPECT_REFUSED_AT("{'summary': '<p>a < b</p>'}", "summary");
	EXPECT_REFUSED_AT("{'summary': '<p a=b>x</p>'}", "summary");
	EXPECT_REFUSED_AT("{'summary': '<p><a href=\\'http://a\\' href=\\'http://b\\'>x</a></p>'}", "summary");
	EXPECT_REFUSED_AT("{'summary': '<P>x</p>'}", "summary");
	EXPECT_REFUSED_AT("{'summary': 'text then <b>bold</b>'}", "summary");
	EXPECT_REFUSED_AT("{'metadata': [{'label': 'a', 'value': {'en': ['ok', '<div>x</div>']}}]}",
	                  "metadata[0].value.en[1]");
	EXPECT_REFUSED_AT("{'items': [{'file': 'a', 'summary': '<p><style>x</style></p>'}]}", "items[0].summary");
}

static void html_nesting_is_bounded(void)
{
	char doc[1024] = "{'summary': '";
	int i;
	for (i = 0; i < 40; i++)
		strcat(doc, "<b>");
	strcat(doc, "x");
	for (i = 0; i < 40; i++)
		strcat(doc, "</b>");
	strcat(doc, "'}");
	EXPECT_REFUSED_AT(doc, "summary");
	EXPECT_MSG_HAS("deeper");
}

static void metadata_and_required_statement_are_label_value_pairs(void)
{
	EXPECT_REFUSED_AT("{'metadata': {'label': 'a', 'value': 'b'}}", "metadata");
	EXPECT_REFUSED_AT("{'metadata': [{'label': 'a'}]}", "metadata[0]");
	EXPECT_REFUSED_AT("{'metadata': [{'label': 'a', 'value': 'b'}, 'c']}", "metadata[1]");
	EXPECT_REFUSED_AT("{'metadata': [{'label': 'a', 'value': {'en': [1]}}]}", "metadata[0].value.en[0]");
	EXPECT_REFUSED_AT("{'requiredStatement': 'Example Archive'}", "requiredStatement");
	EXPECT_REFUSED_AT("{'requiredStatement': {'value': 'x'}}", "requiredStatement");
}

/* ---- rights, navDate, behavior, viewingDirection -------------------------------- */

static void rights_take_cc_and_rightsstatements_uris(void)
{
	EXPECT_EQ_INT(parse_q("{'rights': 'http://creativecommons.org/publicdomain/zero/1.0/'}"), 0);
	EXPECT_EQ_INT(parse_q("{'rights': 'http://creativecommons.org/publicdomain/mark/1.0/'}"), 0);
	EXPECT_EQ_INT(parse_q("{'rights': 'http://creativecommons.org/licenses/by-nc-sa/3.0/de/'}"), 0);
	EXPECT_EQ_INT(parse_q("{'rights': 'http://rightsstatements.org/vocab/NoC-US/1.0/'}"), 0);
	EXPECT_EQ_STR(sc.rights, "http://rightsstatements.org/vocab/NoC-US/1.0/");
	EXPECT(sc.warning == NULL);
}

static void https_rights_are_rewritten_to_http_with_a_warning(void)
{
	EXPECT_EQ_INT(parse_q("{'rights': 'https://creativecommons.org/licenses/by/4.0/'}"), 0);
	EXPECT_EQ_STR(sc.rights, "http://creativecommons.org/licenses/by/4.0/");
	EXPECT(sc.warning != NULL && strstr(sc.warning, "rights") && strstr(sc.warning, "http://creativecommons"));
	EXPECT_EQ_INT(parse_q("{'rights': 'http://rightsstatements.org/vocab/InC/1.0'}"), 0);
	EXPECT_EQ_STR(sc.rights, "http://rightsstatements.org/vocab/InC/1.0/");
	EXPECT(sc.warning != NULL);
}

static void other_rights_are_refused_pointing_to_required_statement(void)
{
	EXPECT_REFUSED_AT("{'rights': 'All rights reserved'}", "rights");
	EXPECT_MSG_HAS("requiredStatement");
	EXPECT_REFUSED_AT("{'rights': 'https://example.org/license'}", "rights");
	EXPECT_REFUSED_AT("{'rights': 'http://creativecommons.org/licenses/by/5.0/'}", "rights");
	EXPECT_REFUSED_AT("{'rights': 'http://creativecommons.org/licenses/'}", "rights");
	EXPECT_REFUSED_AT("{'rights': 'http://rightsstatements.org/vocab/InC/2.0/'}", "rights");
	EXPECT_REFUSED_AT("{'rights': 'http://rightsstatements.org/page/InC/1.0/'}", "rights");
	EXPECT_REFUSED_AT("{'rights': 'http://creativecommons.org//licenses/by/4.0/'}", "rights");
	EXPECT_REFUSED_AT("{'rights': ['http://creativecommons.org/licenses/by/4.0/']}", "rights");
}

static void nav_date_needs_a_time_zone_and_a_real_date(void)
{
	EXPECT_EQ_INT(parse_q("{'navDate': '2000-02-29T23:59:59.5-05:30'}"), 0);
	EXPECT_EQ_STR(sc.nav_date, "2000-02-29T23:59:59.5-05:30");
	EXPECT_EQ_INT(parse_q("{'navDate': '1871-04-02T24:00:00Z'}"), 0);
	EXPECT_REFUSED_AT("{'navDate': '1871-04-02T00:00:00'}", "navDate");
	EXPECT_MSG_HAS("time zone");
	EXPECT_REFUSED_AT("{'navDate': '1871-04-02'}", "navDate");
	EXPECT_REFUSED_AT("{'navDate': '1900-02-29T00:00:00Z'}", "navDate");
	EXPECT_REFUSED_AT("{'navDate': '1871-02-30T00:00:00Z'}", "navDate");
	EXPECT_REFUSED_AT("{'navDate': '1871-13-02T00:00:00Z'}", "navDate");
	EXPECT_REFUSED_AT("{'navDate': '1871-04-02T25:00:00Z'}", "navDate");
	EXPECT_REFUSED_AT("{'navDate': '1871-04-02T10:60:00Z'}", "navDate");
	EXPECT_REFUSED_AT("{'navDate': '1871-04-02T00:00:00+15:00'}", "navDate");
	EXPECT_REFUSED_AT("{'navDate': '1871-04-02T00:00:00+0100'}", "navDate");
	EXPECT_REFUSED_AT("{'navDate': '0000-01-01T00:00:00Z'}", "navDate");
	EXPECT_REFUSED_AT("{'navDate': 1871}", "navDate");
}

static void behaviors_follow_the_spec_table(void)
{
	EXPECT_EQ_INT(parse_q("{'behavior': ['auto-advance', 'repeat', 'individuals']}"), 0);
	EXPECT_EQ_INT(sc.nbehavior, 3);
	EXPECT_EQ_STR(sc.behavior[2], "individuals");
	EXPECT_REFUSED_AT("{'behavior': ['paged', 'continuous']}", "behavior[1]");
	EXPECT_MSG_HAS("disjoint");
	EXPECT_REFUSED_AT("{'behavior': ['unordered', 'paged']}", "behavior[1]");
	EXPECT_REFUSED_AT("{'behavior': ['individuals', 'unordered']}", "behavior[1]");
	EXPECT_REFUSED_AT("{'behavior': ['auto-advance', 'no-auto-advance']}", "behavior[1]");
	EXPECT_REFUSED_AT("{'behavior': ['no-repeat', 'paged', 'repeat']}", "behavior[2]");
	EXPECT_REFUSED_AT("{'behavior': ['paged', 'paged']}", "behavior[1]");
	EXPECT_REFUSED_AT("{'behavior': ['together']}", "behavior[0]");
	EXPECT_MSG_HAS("only on Collections");
	EXPECT_REFUSED_AT("{'behavior': ['facing-pages']}", "behavior[0]");
	EXPECT_REFUSED_AT("{'behavior': ['no-nav']}", "behavior[0]");
	EXPECT_REFUSED_AT("{'behavior': ['hidden']}", "behavior[0]");
	EXPECT_REFUSED_AT("{'behavior': ['Paged']}", "behavior[0]");
	EXPECT_REFUSED_AT("{'behavior': 'paged'}", "behavior");
	EXPECT_EQ_INT(parse_qs("{'behavior': ['multi-part', 'together']}", TS_SIDECAR_COLLECTION), 400);
	EXPECT(starts_with(err.msg, "behavior[1]: "));
}

static void viewing_direction_is_one_of_four(void)
{
	EXPECT_EQ_INT(parse_q("{'viewingDirection': 'right-to-left'}"), 0);
	EXPECT_EQ_STR(sc.viewing_direction, "right-to-left");
	EXPECT_REFUSED_AT("{'viewingDirection': 'rtl'}", "viewingDirection");
}

/* ---- file names ------------------------------------------------------------------ */

static void file_names_are_plain_names_in_the_folder(void)
{
	EXPECT_REFUSED_AT("{'items': ['../secret.tif']}", "items[0]");
	EXPECT_REFUSED_AT("{'items': ['sub/p1.tif']}", "items[0]");
	EXPECT_REFUSED_AT("{'items': ['a', '..']}", "items[1]");
	EXPECT_REFUSED_AT("{'items': ['.']}", "items[0]");
	EXPECT_REFUSED_AT("{'items': ['.hidden.tif']}", "items[0]");
	EXPECT_REFUSED_AT("{'items': ['']}", "items[0]");
	EXPECT_REFUSED_AT("{'items': ['a\\\\b']}", "items[0]");
	EXPECT_REFUSED_AT("{'items': ['a\\nb']}", "items[0]");
	EXPECT_REFUSED_AT("{'items': [{'file': '/etc/passwd'}]}", "items[0].file");
	EXPECT_REFUSED_AT("{'items': [{'file': 'a', 'thumbnail': '../b.jpg'}]}", "items[0].thumbnail");
	EXPECT_REFUSED_AT("{'thumbnail': 'x/y.jpg'}", "thumbnail");
	EXPECT_REFUSED_AT("{'start': '..'}", "start");
	EXPECT_REFUSED_AT("{'exclude': ['ok.txt', '../x']}", "exclude[1]");
	EXPECT_REFUSED_AT("{'rendering': [{'file': '.git'}]}", "rendering[0].file");
	EXPECT_REFUSED_AT("{'structures': [{'label': 'a', 'items': ['p1.tif', 'x/p2.tif']}]}",
	                  "structures[0].items[1]");
	EXPECT_REFUSED_AT("{'provider': {'id': 'https://a.org/', 'label': 'x', 'logo': '../logo.png'}}",
	                  "provider.logo");
	EXPECT_REFUSED_AT("{'items': [7]}", "items[0]");
}

static void a_long_bad_value_is_quoted_short(void)
{
	char doc[600];
	snprintf(doc, sizeof doc, "{'items': ['%s/x']}",
	         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	EXPECT_REFUSED_AT(doc, "items[0]");
	EXPECT_MSG_HAS("\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"");
	EXPECT(strlen(err.msg) < 200);
}

/* ---- items ------------------------------------------------------------------------- */

static void items_take_bare_names_and_objects(void)
{
	EXPECT_EQ_INT(parse_q("{'items': ['p2.tif', {'file': 'p1.tif', 'summary': '<p>a</p>', "
	                      "'width': 2147483648, 'height': 1}]}"), 0);
	EXPECT_EQ_INT(sc.nitems, 2);
	EXPECT_EQ_STR(sc.items[0].file, "p2.tif");
	EXPECT(sc.items[0].label == NULL && sc.items[0].duration == 0 && sc.items[0].width == 0);
	EXPECT_EQ_INT(sc.items[1].width, 2147483648u);
	EXPECT_EQ_STR(dump(sc.items[1].summary), "{\"none\":[\"<p>a</p>\"]}");
}

static void item_numbers_are_checked(void)
{
	EXPECT_REFUSED_AT("{'items': [{'file': 'a', 'duration': 0}]}", "items[0].duration");
	EXPECT_REFUSED_AT("{'items': ['x', 'y', {'file': 'a', 'duration': -1}]}", "items[2].duration");
	EXPECT_REFUSED_AT("{'items': [{'file': 'a', 'duration': 1e9}]}", "items[0].duration");
	EXPECT_REFUSED_AT("{'items': [{'file': 'a', 'duration': '3'}]}", "items[0].duration");
	EXPECT_EQ_INT(parse_q("{'items': [{'file': 'a', 'duration': 100000000}]}"), 0);
	EXPECT_REFUSED_AT("{'items': [{'file': 'a', 'width': 0, 'height': 1}]}", "items[0].width");
	EXPECT_REFUSED_AT("{'items': [{'file': 'a', 'width': 1, 'height': 2147483649}]}", "items[0].height");
	EXPECT_REFUSED_AT("{'items': [{'file': 'a', 'width': 1.5, 'height': 1}]}", "items[0].width");
	EXPECT_REFUSED_AT("{'items': [{'file': 'a', 'width': 320}]}", "items[0]");
	EXPECT_MSG_HAS("together");
	EXPECT_REFUSED_AT("{'items': [{'label': 'no file'}]}", "items[0]");
}

static void a_file_listed_twice_is_refused(void)
{
	EXPECT_REFUSED_AT("{'items': ['a', 'b', {'file': 'a'}]}", "items[2]");
	EXPECT_MSG_HAS("also items[0]");
	EXPECT_REFUSED_AT("{'exclude': ['x', 'x']}", "exclude[1]");
	EXPECT_REFUSED_AT("{'rendering': ['a.pdf', {'file': 'a.pdf'}]}", "rendering[1]");
}

static void contradictions_with_exclude_are_refused(void)
{
	EXPECT_REFUSED_AT("{'items': ['a', 'b'], 'exclude': ['b']}", "exclude[0]");
	EXPECT_MSG_HAS("items[1]");
	EXPECT_REFUSED_AT("{'start': 'b', 'exclude': ['b']}", "start");
	EXPECT_REFUSED_AT("{'thumbnail': 'b', 'exclude': ['b']}", "thumbnail");
}

/* ---- structures ----------------------------------------------------------------------- */

static void range_ids_are_generated_depth_first_unless_given(void)
{
	EXPECT_EQ_INT(parse_q("{'structures': ["
	                      "{'label': 'A', 'items': [{'label': 'A1', 'items': ['x']}, "
	                      "                         {'label': 'A2', 'id': 'chapter-2', 'items': ['y']}]}, "
	                      "{'label': 'B', 'items': [{'label': 'B1', 'items': ['z']}]}]}"), 0);
	EXPECT_EQ_INT(sc.nstructures, 2);
	if (sc.nstructures == 2) {
		EXPECT_EQ_STR(sc.structures[0].id, "r1");
		EXPECT_EQ_STR(sc.structures[0].items[0].range->id, "r2");
		EXPECT_EQ_STR(sc.structures[0].items[1].range->id, "chapter-2");
		EXPECT_EQ_STR(sc.structures[1].id, "r4");
		EXPECT_EQ_STR(sc.structures[1].items[0].range->id, "r5");
	}
}

static void range_references_take_t_and_xywh(void)
{
	EXPECT_EQ_INT(parse_q("{'structures': [{'label': 'a', 'items': ["
	                      "{'file': 's.ogg', 't': [1.5, 2]}, {'file': 'p.tif', 'xywh': [0, 10, 100, 200]}, "
	                      "{'file': 'q.tif'}]}]}"), 0);
	if (sc.nstructures == 1 && sc.structures[0].nitems == 3) {
		struct ts_sidecar_range_item *it = sc.structures[0].items;
		EXPECT(it[0].has_t && it[0].t[0] == 1.5 && it[0].t[1] == 2);
		EXPECT(it[1].has_xywh && !it[1].has_t);
		EXPECT_EQ_INT(it[1].xywh[1], 10);
		EXPECT_EQ_INT(it[1].xywh[3], 200);
		EXPECT(!it[2].has_t && !it[2].has_xywh && it[2].range == NULL);
		EXPECT_EQ_STR(it[2].file, "q.tif");
	} else {
		EXPECT(0);
	}
}

static void ranges_are_checked(void)
{
	EXPECT_REFUSED_AT("{'structures': [{'items': ['a']}]}", "structures[0]");
	EXPECT_REFUSED_AT("{'structures': [{'label': 'x'}]}", "structures[0]");
	EXPECT_REFUSED_AT("{'structures': [{'label': 'x', 'items': []}]}", "structures[0].items");
	EXPECT_REFUSED_AT("{'structures': {'label': 'x', 'items': ['a']}}", "structures");
	EXPECT_REFUSED_AT("{'structures': [{'label': 'x', 'items': ['a', {'file': 's', 't': [120, 0]}]}]}",
	                  "structures[0].items[1].t");
	EXPECT_REFUSED_AT("{'structures': [{'label': 'x', 'items': [{'file': 's', 't': [-1, 3]}]}]}",
	                  "structures[0].items[0].t");
	EXPECT_REFUSED_AT("{'structures': [{'label': 'x', 'items': [{'file': 's', 't': [0]}]}]}",
	                  "structures[0].items[0].t");
	EXPECT_REFUSED_AT("{'structures': [{'label': 'x', 'items': [{'file': 'p', 'xywh': [0, 0, 0, 5]}]}]}",
	                  "structures[0].items[0].xywh");
	EXPECT_REFUSED_AT("{'structures': [{'label': 'x', 'items': [{'file': 'p', 'xywh': [-1, 0, 1, 5]}]}]}",
	                  "structures[0].items[0].xywh");
	EXPECT_REFUSED_AT("{'structures': [{'label': 'x', 'items': [{'file': 'p', 't': [0, 1], "
	                  "'xywh': [0, 0, 1, 1]}]}]}", "structures[0].items[0]");
	EXPECT_REFUSED_AT("{'structures': [{'label': 'x', 'items': [3]}]}", "structures[0].items[0]");
	EXPECT_REFUSED_AT("{'structures': [{'label': 'x', 'items': [{'label': 'y', 'items': [{'file': '..'}]}]}]}",
	                  "structures[0].items[0].items[0].file");
}

static void explicit_range_ids_are_checked(void)
{
	EXPECT_REFUSED_AT("{'structures': [{'label': 'x', 'id': 'a b', 'items': ['a']}]}", "structures[0].id");
	EXPECT_REFUSED_AT("{'structures': [{'label': 'x', 'id': '', 'items': ['a']}]}", "structures[0].id");
	EXPECT_REFUSED_AT("{'structures': [{'label': 'x', 'id': 'r7', 'items': ['a']}]}", "structures[0].id");
	EXPECT_MSG_HAS("r<n>");
	EXPECT_REFUSED_AT("{'structures': [{'label': 'x', 'id': 'c1', 'items': ['a']}, "
	                  "{'label': 'y', 'items': [{'label': 'z', 'id': 'c1', 'items': ['b']}]}]}",
	                  "structures[1].items[0].id");
	EXPECT_EQ_INT(parse_q("{'structures': [{'label': 'x', 'id': 'r', 'items': ['a']}, "
	                      "{'label': 'y', 'id': 'r1a', 'items': ['a']}]}"), 0);
}

static void range_nesting_and_count_are_bounded(void)
{
	char *doc = malloc(64 * 40 + 64);
	int i;

	strcpy(doc, "{'structures': [");
	for (i = 0; i < 33; i++)
		strcat(doc, "{'label': 'x', 'items': [");
	strcat(doc, "'a'");
	for (i = 0; i < 33; i++)
		strcat(doc, "]}");
	strcat(doc, "]}");
	EXPECT_EQ_INT(parse_q(doc), 400);
	EXPECT_MSG_HAS("deeper than 32");
	EXPECT(starts_with(err.msg, "structures[0].items[0].items[0]"));
	/* 32 deep is fine. */
	strcpy(doc, "{'structures': [");
	for (i = 0; i < 32; i++)
		strcat(doc, "{'label': 'x', 'items': [");
	strcat(doc, "'a'");
	for (i = 0; i < 32; i++)
		strcat(doc, "]}");
	strcat(doc, "]}");
	EXPECT_EQ_INT(parse_q(doc), 0);
	free(doc);

	size_t n = 10001, k;
	const char *one = "{'label':'x','items':['a']},";
	char *many = malloc(n * strlen(one) + 64), *p = many;
	p += sprintf(p, "{'structures': [");
	for (k = 0; k < n; k++)
		p += sprintf(p, "%s", one);
	p[-1] = ']', *p++ = '}', *p = '\0';
	EXPECT_EQ_INT(parse_q(many), 400);
	EXPECT(starts_with(err.msg, "structures: "));
	/* ...and 10,000 Ranges nested one level are also the limit. */
	p = many;
	p += sprintf(p, "{'structures': [{'label':'top','items':[");
	for (k = 0; k < 10000; k++)
		p += sprintf(p, "%s", one);
	p[-1] = ']', *p++ = '}', *p++ = ']', *p++ = '}', *p = '\0';
	EXPECT_EQ_INT(parse_q(many), 400);
	EXPECT(starts_with(err.msg, "structures[0].items[9999]: "));
	free(many);
}

/* ---- provider, homepage, seeAlso -------------------------------------------------------- */

static void provider_needs_an_id_and_a_label(void)
{
	EXPECT_EQ_INT(parse_q("{'provider': {'id': 'https://a.org/', 'label': {'en': ['A']}, "
	                      "'logo': 'https://a.org/logo.png'}}"), 0);
	EXPECT_EQ_STR(sc.provider->logo, "https://a.org/logo.png");
	EXPECT(sc.provider->homepage == NULL);
	EXPECT_REFUSED_AT("{'provider': {'label': 'x'}}", "provider");
	EXPECT_REFUSED_AT("{'provider': {'id': 'https://a.org/'}}", "provider");
	EXPECT_REFUSED_AT("{'provider': {'id': 'example.org', 'label': 'x'}}", "provider.id");
	EXPECT_REFUSED_AT("{'provider': {'id': 'https://a.org/', 'label': 'x', 'homepage': 'ftp://a.org/'}}",
	                  "provider.homepage");
	EXPECT_REFUSED_AT("{'provider': [{'id': 'https://a.org/', 'label': 'x'}]}", "provider");
}

static void homepage_is_an_http_uri(void)
{
	EXPECT_EQ_INT(parse_q("{'homepage': 'http://example.org/a?b=c#d'}"), 0);
	EXPECT_REFUSED_AT("{'homepage': 'javascript:alert(1)'}", "homepage");
	EXPECT_REFUSED_AT("{'homepage': 'https://'}", "homepage");
	EXPECT_REFUSED_AT("{'homepage': 'https://example.org/a b'}", "homepage");
	EXPECT_REFUSED_AT("{'homepage': 'https://example.org/\\'><script>'}", "homepage");
}

static void see_also_keeps_external_objects_with_a_default_type(void)
{
	EXPECT_EQ_INT(parse_q("{'language': 'de', 'seeAlso': [{'profile': 'https://p.org/', 'label': 'MARC', "
	                      "'type': 'Text', 'id': 'https://a.org/x'}]}"), 0);
	EXPECT_EQ_STR(dump(sc.see_also), "[{\"id\":\"https://a.org/x\",\"type\":\"Text\","
	              "\"label\":{\"de\":[\"MARC\"]},\"profile\":\"https://p.org/\"}]");
	EXPECT_REFUSED_AT("{'seeAlso': [{'format': 'text/xml'}]}", "seeAlso[0]");
	EXPECT_REFUSED_AT("{'seeAlso': [{'id': 'file:///etc/passwd'}]}", "seeAlso[0].id");
	EXPECT_REFUSED_AT("{'seeAlso': [{'id': 'https://a.org/', 'format': 'xml'}]}", "seeAlso[0].format");
	EXPECT_REFUSED_AT("{'seeAlso': [{'id': 'https://a.org/', 'type': 'Data set'}]}", "seeAlso[0].type");
	EXPECT_REFUSED_AT("{'seeAlso': {'id': 'https://a.org/'}}", "seeAlso");
}

/* ---- freeing ---------------------------------------------------------------------------------- */

static void free_accepts_null_and_an_empty_struct(void)
{
	struct ts_sidecar empty;
	memset(&empty, 0, sizeof empty);
	ts_sidecar_free(NULL);
	ts_sidecar_free(&empty);
	ts_sidecar_free(&empty);
	/* A failed parse leaves *out empty. */
	EXPECT_EQ_INT(parse_q("{'label': 'x', 'items': ['a', 'b/c']}"), 400);
	EXPECT(sc.label == NULL && sc.items == NULL && sc.nitems == 0 && sc.language == NULL);
}

/* Every array of the format is checked the same way first: an array, not
 * too long, the message naming what was expected. */
static void arrays_say_what_they_must_be_and_how_long(void)
{
	char many[512];
	size_t n;

	EXPECT_EQ_INT(parse_q("{'items': 'p001.tif'}"), TS_EBADREQUEST);
	EXPECT(strstr(err.msg, "items: must be an array, not a string") != NULL);
	EXPECT_EQ_INT(parse_q("{'exclude': {}}"), TS_EBADREQUEST);
	EXPECT(strstr(err.msg, "exclude: must be an array of file names, not an object") != NULL);
	EXPECT_EQ_INT(parse_q("{'behavior': 'paged'}"), TS_EBADREQUEST);
	EXPECT(strstr(err.msg, "must be an array of strings such as [\"paged\"], not a string") !=
	       NULL);
	n = (size_t)snprintf(many, sizeof many, "{'behavior': [");
	for (int i = 0; i < 17; i++)
		n += (size_t)snprintf(many + n, sizeof many - n, "%s'paged'", i ? ", " : "");
	snprintf(many + n, sizeof many - n, "]}");
	EXPECT_EQ_INT(parse_q(many), TS_EBADREQUEST);
	EXPECT(strstr(err.msg, "behavior: has more than 16 values") != NULL);
	EXPECT_EQ_INT(parse_q("{'metadata': 3}"), TS_EBADREQUEST);
	EXPECT(strstr(err.msg, "metadata: must be an array of {label, value} objects, not a number") !=
	       NULL);
}

int main(void)
{
	RUN(the_example_of_the_design_note_parses_into_every_field);
	RUN(the_example_as_the_note_writes_it_parses_and_so_do_the_fuzz_seeds);
	RUN(an_empty_object_is_a_sidecar_in_language_none);
	RUN(a_full_language_map_passes_through_unchanged);
	RUN(version_1_and_type_manifest_are_accepted);
	RUN(type_collection_makes_a_collection_sidecar);
	RUN(a_collection_sidecar_takes_only_its_keys);
	RUN(invalid_json_is_refused_with_its_line_and_column);
	RUN(invalid_utf8_is_refused_with_its_position);
	RUN(a_byte_order_mark_is_skipped);
	RUN(the_top_level_must_be_an_object);
	RUN(a_sidecar_over_4_mb_is_refused);
	RUN(unknown_keys_are_errors_at_every_level);
	RUN(a_strange_key_is_quoted_short_and_printable);
	RUN(only_version_1_is_read);
	RUN(language_maps_are_checked);
	RUN(html_is_refused_in_labels);
	RUN(allowed_html_passes_in_summary_and_values);
	RUN(html_is_limited_to_what_the_spec_lets_clients_keep);
	RUN(html_nesting_is_bounded);
	RUN(metadata_and_required_statement_are_label_value_pairs);
	RUN(rights_take_cc_and_rightsstatements_uris);
	RUN(https_rights_are_rewritten_to_http_with_a_warning);
	RUN(other_rights_are_refused_pointing_to_required_statement);
	RUN(nav_date_needs_a_time_zone_and_a_real_date);
	RUN(behaviors_follow_the_spec_table);
	RUN(viewing_direction_is_one_of_four);
	RUN(file_names_are_plain_names_in_the_folder);
	RUN(a_long_bad_value_is_quoted_short);
	RUN(items_take_bare_names_and_objects);
	RUN(item_numbers_are_checked);
	RUN(a_file_listed_twice_is_refused);
	RUN(contradictions_with_exclude_are_refused);
	RUN(range_ids_are_generated_depth_first_unless_given);
	RUN(range_references_take_t_and_xywh);
	RUN(ranges_are_checked);
	RUN(explicit_range_ids_are_checked);
	RUN(range_nesting_and_count_are_bounded);
	RUN(provider_needs_an_id_and_a_label);
	RUN(homepage_is_an_http_uri);
	RUN(see_also_keeps_external_objects_with_a_default_type);
	RUN(free_accepts_null_and_an_empty_struct);
	RUN(arrays_say_what_they_must_be_and_how_long);
	ts_sidecar_free(&sc);
	return CHECK_DONE();
}
