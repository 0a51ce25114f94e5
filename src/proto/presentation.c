/*
 * presentation.c - the Presentation API URL forms (present_url.h, URLS.md)
 * recognised before the Image API parser sees the path.
 *
 * The one idea: identifiers never hold a raw '/' (folders are written
 * %2F), so the number of segments after the optional version tells the
 * forms apart from the Image API's ({id}, {id}/info.json and the five
 * segments of an image request): two segments ending in "manifest" or
 * starting with "collection", three with a known part name in the middle,
 * four for "page/p{n}/{k}".  A folder literally named "info.json" would be
 * the one ambiguity, so "collection/info.json" stays the Image API's.
 */
#include <string.h>

#include "tessera/command.h"
#include "tessera/present_url.h"

#define MAX_SEGS 6

/* A part name: [A-Za-z0-9_-]+, short. */
static bool plain_name(const char *s, size_t n)
{
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

static bool seg_is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(s, word, n) == 0;
}

static const char *decoded(struct ts_arena *a, const char *s, size_t n)
{
	char *raw = ts_arena_strndup(a, s, n), *out;

	if (!raw)
		return NULL;
	out = ts_arena_alloc(a, n + 1);
	if (!out || !ts_percent_decode(raw, out) || !*out)
		return NULL;
	return out;
}

void ts_present_url_parse(const char *rest, int default_version, struct ts_arena *a,
                          struct ts_present_url *out)
{
	const char *seg[MAX_SEGS];
	size_t len[MAX_SEGS];
	int n = 0, k = 0;
	const char *p;

	memset(out, 0, sizeof *out);
	out->route = TS_PURL_NONE;
	out->version = default_version == 2 ? 2 : 3;
	if (!rest || rest[0] != '/')
		return;
	p = rest + 1;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t l = slash ? (size_t)(slash - p) : strlen(p);

		if (n == MAX_SEGS || l == 0)
			return;   /* too many, or an empty segment: not ours */
		seg[n] = p;
		len[n++] = l;
		if (!slash)
			break;
		p = slash + 1;
	}
	if (n >= 2 && (seg_is(seg[0], len[0], "2") || seg_is(seg[0], len[0], "3"))) {
		out->version = seg[0][0] - '0';
		out->version_in_url = true;
		k = 1;
	}
	n -= k;
	if (n == 2 && seg_is(seg[k], len[k], "collection") &&
	    !seg_is(seg[k + 1], len[k + 1], "info.json")) {
		out->route = TS_PURL_COLLECTION;
		out->raw_id = ts_arena_strndup(a, seg[k + 1], len[k + 1]);
		out->path = seg_is(seg[k + 1], len[k + 1], "top") ? ""
		          : decoded(a, seg[k + 1], len[k + 1]);
	} else if (n == 2 && seg_is(seg[k + 1], len[k + 1], "manifest")) {
		out->route = TS_PURL_MANIFEST;
	} else if (n == 3 && plain_name(seg[k + 2], len[k + 2]) &&
	           (seg_is(seg[k + 1], len[k + 1], "canvas") ||
	            seg_is(seg[k + 1], len[k + 1], "annotation") ||
	            seg_is(seg[k + 1], len[k + 1], "range") ||
	            seg_is(seg[k + 1], len[k + 1], "sequence"))) {
		out->route = TS_PURL_PART;
		out->part_kind = ts_arena_strndup(a, seg[k + 1], len[k + 1]);
		out->part_name = ts_arena_strndup(a, seg[k + 2], len[k + 2]);
	} else if (n == 4 && seg_is(seg[k + 1], len[k + 1], "page") &&
	           plain_name(seg[k + 2], len[k + 2]) && plain_name(seg[k + 3], len[k + 3])) {
		out->route = TS_PURL_PART;
		out->part_kind = "page";
		out->part_name = ts_arena_printf(a, "%.*s/%.*s", (int)len[k + 2], seg[k + 2],
		                                 (int)len[k + 3], seg[k + 3]);
	} else if (n == 1 && k == 1) {
		out->route = TS_PURL_BASE;
	} else if (n == 1 && !seg_is(seg[0], len[0], "collection")) {
		out->route = TS_PURL_BASE;
	} else {
		return;
	}
	if (out->route != TS_PURL_COLLECTION) {
		out->raw_id = ts_arena_strndup(a, seg[k], len[k]);
		out->path = decoded(a, seg[k], len[k]);
	}
	if (!out->path || !out->raw_id ||
	    (out->route == TS_PURL_PART && (!out->part_kind || !out->part_name)))
		out->route = TS_PURL_NONE;
}
