/*
 * html_check.c - the HTML a sidecar may put in a summary or a metadata or
 * requiredStatement value (IIIF Presentation 3.0 §4.5), checked before it
 * is published.
 *
 * §4.5 tells clients what to strip; we refuse it at the source instead, so
 * what we publish is already what a careful client would keep: well-formed
 * XML wrapped in one element, only the tags a b br i img p small span sub
 * sup, only href on a and src and alt on img, links only to http:, https:
 * and mailto:, and no comments, CDATA, processing instructions or
 * declarations.  The one idea: a single left-to-right pass with a stack of
 * open tags; whatever the pass does not recognise is an error, never
 * skipped, so an unusual construct cannot slip past as text.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "present_check.h"

#define HTML_MAX_DEPTH 32
#define HTML_MAX_NAME  16

static const char *const allowed_tags[] = {
	"a", "b", "br", "i", "img", "p", "small", "span", "sub", "sup",
};

struct html_pass {
	const char *s;
	size_t len, i;
	char *why;
	size_t n;
	char stack[HTML_MAX_DEPTH][HTML_MAX_NAME + 1];
	int depth;
};

static bool fail(struct html_pass *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool fail(struct html_pass *h, const char *fmt, ...)
{
	va_list ap;

	if (h->why && h->n) {
		va_start(ap, fmt);
		vsnprintf(h->why, h->n, fmt, ap);
		va_end(ap);
	}
	return false;
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_space(struct html_pass *h)
{
	while (h->i < h->len && is_space(h->s[h->i]))
		h->i++;
}

/* An XML name of letters and digits (all our tags and attributes are). */
static bool read_name(struct html_pass *h, char *out)
{
	size_t k = 0;

	if (h->i >= h->len || !is_alpha(h->s[h->i]))
		return false;
	while (h->i < h->len && (is_alpha(h->s[h->i]) || (h->s[h->i] >= '0' && h->s[h->i] <= '9') ||
	                         h->s[h->i] == '-' || h->s[h->i] == '_' || h->s[h->i] == ':')) {
		if (k == HTML_MAX_NAME)
			return false;
		out[k++] = h->s[h->i++];
	}
	out[k] = '\0';
	return true;
}

/* An entity reference at h->i ('&'): the five of XML (§4.1 of XML 1.0) or
 * a character reference to a character XML allows. */
static bool read_entity(struct html_pass *h)
{
	static const char *const named[] = { "amp;", "lt;", "gt;", "quot;", "apos;" };
	const char *p = h->s + h->i + 1;
	size_t left = h->len - h->i - 1, k;
	uint32_t cp = 0;

	for (k = 0; k < 5; k++) {
		size_t l = strlen(named[k]);
		if (left >= l && memcmp(p, named[k], l) == 0) {
			h->i += 1 + l;
			return true;
		}
	}
	if (left >= 3 && p[0] == '#') {
		bool hex = p[1] == 'x';
		size_t j = hex ? 2 : 1, start = j;
		while (j < left && j < start + 8) {
			char c = p[j];
			int d = (c >= '0' && c <= '9') ? c - '0'
			      : (hex && c >= 'a' && c <= 'f') ? c - 'a' + 10
			      : (hex && c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
			if (d < 0)
				break;
			cp = cp * (hex ? 16 : 10) + (uint32_t)d;
			j++;
		}
		if (j > start && j < left && p[j] == ';' &&
		    (cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp < 0x7f) ||
		     (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) ||
		     (cp >= 0x10000 && cp <= 0x10ffff))) {
			h->i += 1 + j + 1;
			return true;
		}
		return fail(h, "has a character reference that is not an allowed character");
	}
	return fail(h, "has '&' that is not an XML entity (write &amp; for '&', &#160; for a no-break space)");
}

static bool tag_allowed(const char *name)
{
	size_t k;

	for (k = 0; k < sizeof allowed_tags / sizeof *allowed_tags; k++)
		if (strcmp(allowed_tags[k], name) == 0)
			return true;
	return false;
}

/* One attribute value, quoted; checks its entities and, for links, the
 * scheme (§4.5: clients drop any href not starting http:, https: or mailto:). */
static bool read_attr_value(struct html_pass *h, const char *tag, const char *attr)
{
	char q;
	size_t start;

	if (h->i >= h->len || (h->s[h->i] != '"' && h->s[h->i] != '\''))
		return fail(h, "has an attribute value without quotes in <%s>", tag);
	q = h->s[h->i++];
	start = h->i;
	while (h->i < h->len && h->s[h->i] != q) {
		if (h->s[h->i] == '<')
			return fail(h, "has '<' inside an attribute of <%s>", tag);
		if (h->s[h->i] == '&') {
			if (!read_entity(h))
				return false;
			continue;
		}
		h->i++;
	}
	if (h->i >= h->len)
		return fail(h, "has an unterminated attribute value in <%s>", tag);
	if (strcmp(attr, "href") == 0 || strcmp(attr, "src") == 0) {
		const char *v = h->s + start;
		size_t vl = h->i - start;
		bool ok = (vl >= 5 && strncasecmp(v, "http:", 5) == 0) ||
		          (vl >= 6 && strncasecmp(v, "https:", 6) == 0) ||
		          (attr[0] == 'h' && vl >= 7 && strncasecmp(v, "mailto:", 7) == 0);
		if (!ok)
			return fail(h, "has <%s %s> that is not an %s URL", tag, attr,
			            attr[0] == 'h' ? "http:, https: or mailto:" : "http: or https:");
	}
	h->i++;
	return true;
}

/* A start tag at h->i ('<' then a letter). */
static bool read_start_tag(struct html_pass *h)
{
	char name[HTML_MAX_NAME + 1], attr[HTML_MAX_NAME + 1];
	char seen[3][HTML_MAX_NAME + 1];
	int nseen = 0, k;
	bool is_a, is_img;

	h->i++;
	if (!read_name(h, name))
		return fail(h, "has a malformed tag");
	if (!tag_allowed(name))
		return fail(h, "has <%s>: only a, b, br, i, img, p, small, span, sub and sup are allowed",
		            name);
	is_a = strcmp(name, "a") == 0, is_img = strcmp(name, "img") == 0;
	for (;;) {
		size_t before = h->i;
		skip_space(h);
		if (h->i >= h->len)
			return fail(h, "has an unterminated <%s> tag", name);
		if (h->s[h->i] == '>' || (h->s[h->i] == '/' && h->i + 1 < h->len && h->s[h->i + 1] == '>'))
			break;
		if (h->i == before)
			return fail(h, "has a malformed <%s> tag", name);
		if (!read_name(h, attr))
			return fail(h, "has a malformed attribute in <%s>", name);
		if (!((is_a && strcmp(attr, "href") == 0) ||
		      (is_img && (strcmp(attr, "src") == 0 || strcmp(attr, "alt") == 0))))
			return fail(h, "has attribute %s on <%s>: only href on a, src and alt on img are allowed",
			            attr, name);
		for (k = 0; k < nseen; k++)
			if (strcmp(seen[k], attr) == 0)
				return fail(h, "has attribute %s twice on <%s>", attr, name);
		if (nseen < 3)
			memcpy(seen[nseen++], attr, sizeof attr);
		skip_space(h);
		if (h->i >= h->len || h->s[h->i] != '=')
			return fail(h, "has attribute %s without a value on <%s>", attr, name);
		h->i++;
		skip_space(h);
		if (!read_attr_value(h, name, attr))
			return false;
	}
	if (h->s[h->i] == '/') {
		h->i += 2;
		return true;
	}
	h->i++;
	if (strcmp(name, "br") == 0 || strcmp(name, "img") == 0)
		return fail(h, "has <%s> that does not close itself: write <%s/> (the HTML must be XML)",
		            name, name);
	if (h->depth == HTML_MAX_DEPTH)
		return fail(h, "nests tags deeper than %d", HTML_MAX_DEPTH);
	memcpy(h->stack[h->depth++], name, sizeof name);
	return true;
}

static bool read_end_tag(struct html_pass *h)
{
	char name[HTML_MAX_NAME + 1];

	h->i += 2;
	if (!read_name(h, name))
		return fail(h, "has a malformed end tag");
	skip_space(h);
	if (h->i >= h->len || h->s[h->i] != '>')
		return fail(h, "has a malformed </%s> tag", name);
	h->i++;
	if (h->depth == 0 || strcmp(h->stack[h->depth - 1], name) != 0)
		return h->depth ? fail(h, "has </%s> where </%s> was expected", name, h->stack[h->depth - 1])
		                : fail(h, "has </%s> that closes nothing", name);
	h->depth--;
	return true;
}

bool ts_present_check_html(const char *s, size_t len, char *why, size_t n)
{
	struct html_pass h;

	memset(&h, 0, sizeof h);
	h.s = s, h.len = len, h.why = why, h.n = n;
	if (len == 0 || s[0] != '<')
		return fail(&h, "must start with '<' to be HTML");
	while (h.i < len) {
		char c = s[h.i];
		/* §4.5: the value must be one element; after the root closes,
		 * nothing may follow. */
		if (h.i > 0 && h.depth == 0)
			return fail(&h, "must be a single element (wrap it all in one <p> or <span>)");
		if (c == '<') {
			const char *p = s + h.i;
			size_t left = len - h.i;
			if (left >= 4 && memcmp(p, "<!--", 4) == 0)
				return fail(&h, "must not contain HTML comments");
			if (left >= 9 && memcmp(p, "<![CDATA[", 9) == 0)
				return fail(&h, "must not contain CDATA sections");
			if (left >= 2 && p[1] == '!')
				return fail(&h, "must not contain declarations such as <!DOCTYPE>");
			if (left >= 2 && p[1] == '?')
				return fail(&h, "must not contain processing instructions");
			if (left >= 2 && p[1] == '/') {
				if (!read_end_tag(&h))
					return false;
				continue;
			}
			if (left >= 2 && is_alpha(p[1])) {
				if (!read_start_tag(&h))
					return false;
				continue;
			}
			return fail(&h, "has '<' that starts no tag (write &lt;)");
		}
		if (c == '&') {
			if (!read_entity(&h))
				return false;
			continue;
		}
		if (h.i == 0)
			return fail(&h, "must start with a tag");
		h.i++;
	}
	if (h.depth > 0)
		return fail(&h, "has <%s> that is never closed", h.stack[h.depth - 1]);
	return true;
}
