/*
 * present_check.c - the value rules shared by iiif.json sidecars and
 * metadata.csv rows (present_check.h): file names, URIs, language tags,
 * navDate, rights and the strings of language maps.
 *
 * The one idea: every check is a pure function of one string that says
 * what was expected, so sidecar.c and csv.c give the same verdict and the
 * same words for the same value, and the unit tests can try each rule on
 * its own.  Spec sections cited are IIIF Presentation API 3.0.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "present_check.h"

static bool why_set(char *why, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool why_set(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;

	if (why && n) {
		va_start(ap, fmt);
		vsnprintf(why, n, fmt, ap);
		va_end(ap);
	}
	return false;
}

bool ts_present_check_utf8(const char *str, size_t len, size_t *bad)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		size_t k, need;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, cp = c & 0x07, min = 0x10000;
		else
			goto bad;
		if (len - i <= need)
			goto bad;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto bad;
		i += need + 1;
	}
	return true;
bad:
	if (bad)
		*bad = i;
	return false;
}

/* C0 controls, DEL, and C1 controls (U+0080-U+009F, bytes C2 80-9F). */
static size_t control_at(const unsigned char *s, size_t i, size_t len)
{
	if (s[i] < 0x20 || s[i] == 0x7f)
		return 1;
	if (s[i] == 0xc2 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)
		return 2;
	return 0;
}

bool ts_present_check_name(const char *s, char *why, size_t n)
{
	size_t len = strlen(s), i;

	if (len == 0)
		return why_set(why, n, "must be a file name, not empty");
	if (len > TS_PRESENT_MAX_NAME)
		return why_set(why, n, "must be a file name of at most %d bytes", TS_PRESENT_MAX_NAME);
	if (s[0] == '.')
		return why_set(why, n, "must be a plain file name in the folder, not starting with '.'");
	for (i = 0; i < len; i++) {
		if (s[i] == '/' || s[i] == '\\')
			return why_set(why, n, "must be a plain file name in the folder, without '/' or '\\'");
		if (control_at((const unsigned char *)s, i, len))
			return why_set(why, n, "must be a file name without control characters");
	}
	return true;
}

bool ts_present_check_uri(const char *s, char *why, size_t n)
{
	size_t len = strlen(s), i, host;

	if (len > TS_PRESENT_MAX_URI)
		return why_set(why, n, "must be an http(s) URI of at most %d bytes", TS_PRESENT_MAX_URI);
	if (strncasecmp(s, "http://", 7) == 0)
		host = 7;
	else if (strncasecmp(s, "https://", 8) == 0)
		host = 8;
	else
		return why_set(why, n, "must be an absolute http:// or https:// URI");
	if (s[host] == '\0' || s[host] == '/' || s[host] == '?' || s[host] == '#')
		return why_set(why, n, "must be an http(s) URI with a host name");
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == ' ' || c == '"' || c == '<' || c == '>' || c == '\\' || c == '`' ||
		    c == '{' || c == '}' || c == '|' || c == '^' ||
		    control_at((const unsigned char *)s, i, len))
			return why_set(why, n, "must be an http(s) URI without spaces, quotes, "
			               "angle brackets or control characters (percent-encode them)");
	}
	return true;
}

bool ts_present_check_lang(const char *s, char *why, size_t n)
{
	size_t len = strlen(s), i = 0, sub = 0, first = 1;

	if (strcmp(s, "none") == 0)
		return true;
	if (len == 0 || len > TS_PRESENT_MAX_LANG)
		goto bad;
	/* RFC 5646 §2.1: a primary language subtag of 2-3 letters (ISO 639)
	 * or 5-8 (registered); 4 is reserved, which also keeps "None" from
	 * passing for "none"; "i"/"x" forms are not for publishing.  Then
	 * subtags of 1-8 alphanumerics separated by hyphens. */
	while (i <= len) {
		char c = s[i];
		if (c == '-' || c == '\0') {
			if (sub == 0 || sub > 8 || (first && (sub < 2 || sub == 4)))
				goto bad;
			first = 0, sub = 0;
			i++;
			continue;
		}
		if (first ? !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		          : !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			goto bad;
		sub++, i++;
	}
	return true;
bad:
	return why_set(why, n, "must be \"none\" or a BCP 47 language tag such as en, fr, en-GB or zh-Hant");
}

/* Parses exactly `digits` decimal digits at *p. */
static bool digits_at(const char **p, int digits, int *out)
{
	int v = 0, k;

	for (k = 0; k < digits; k++) {
		if ((*p)[k] < '0' || (*p)[k] > '9')
			return false;
		v = v * 10 + ((*p)[k] - '0');
	}
	*p += digits;
	*out = v;
	return true;
}

static bool expect_char(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

bool ts_present_check_date(const char *s, char *why, size_t n)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	const char *p = s;
	int y, mo, d, h, mi, sec, th, tm, dim;
	bool leap;

	/* XML Schema 1.1 Part 2 §3.3.7 dateTime; Presentation 3.0 §3.1 navDate
	 * requires the time zone.  Years are four digits here: enough for
	 * anything a collection holds, and no sign or expanded years to get
	 * wrong. */
	if (strlen(s) > 64)
		goto shape;
	if (!digits_at(&p, 4, &y) || !expect_char(&p, '-') || !digits_at(&p, 2, &mo) ||
	    !expect_char(&p, '-') || !digits_at(&p, 2, &d) || !expect_char(&p, 'T') ||
	    !digits_at(&p, 2, &h) || !expect_char(&p, ':') || !digits_at(&p, 2, &mi) ||
	    !expect_char(&p, ':') || !digits_at(&p, 2, &sec))
		goto shape;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			goto shape;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == '\0')
		return why_set(why, n, "must have a time zone, Z or +hh:mm (e.g. 1871-04-02T00:00:00Z)");
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		p++;
		if (!digits_at(&p, 2, &th) || !expect_char(&p, ':') || !digits_at(&p, 2, &tm))
			goto shape;
		if (th > 14 || tm > 59 || (th == 14 && tm != 0))
			return why_set(why, n, "must have a time zone offset between -14:00 and +14:00");
	} else {
		goto shape;
	}
	if (*p != '\0')
		goto shape;
	if (y == 0)
		return why_set(why, n, "must have a year from 0001 to 9999");
	if (mo < 1 || mo > 12)
		return why_set(why, n, "must have a month from 01 to 12");
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	dim = mdays[mo - 1] + (mo == 2 && leap);
	if (d < 1 || d > dim)
		return why_set(why, n, "must have a day that exists in that month (%04d-%02d has %d)",
		               y, mo, dim);
	/* 24:00:00 is the end of a day in XML Schema; anything else past 23:59:59 is not a time. */
	if (h == 24 && !(mi == 0 && sec == 0 && (strchr(s, '.') == NULL)))
		return why_set(why, n, "must have a time from 00:00:00 to 23:59:59");
	if (h > 24 || mi > 59 || sec > 59)
		return why_set(why, n, "must have a time from 00:00:00 to 23:59:59");
	return true;
shape:
	return why_set(why, n, "must be an xsd:dateTime with a time zone, like 1871-04-02T00:00:00Z");
}

/* RightsStatements.org statements, version 1.0 (rightsstatements.org/page/1.0/). */
static const char *const rs_codes[] = {
	"InC", "InC-OW-EU", "InC-EDU", "InC-NC", "InC-RUU",
	"NoC-CR", "NoC-NC", "NoC-OKLR", "NoC-US", "CNE", "UND", "NKC",
};

/* Creative Commons licence codes and versions (creativecommons.org/licenses/). */
static const char *const cc_codes[] = { "by", "by-sa", "by-nd", "by-nc", "by-nc-sa", "by-nc-nd" };
static const char *const cc_versions[] = { "1.0", "2.0", "2.5", "3.0", "4.0" };

static bool in_list(const char *s, size_t len, const char *const *list, size_t nlist)
{
	size_t i;

	for (i = 0; i < nlist; i++)
		if (strlen(list[i]) == len && memcmp(list[i], s, len) == 0)
			return true;
	return false;
}

/* The path after the host ("licenses/by/4.0/"), with its final '/'. */
static bool rights_path_ok(bool cc, const char *p)
{
	const char *seg[5];
	size_t segl[5], nseg = 0;
	const char *q = p;

	while (*q && nseg < 5) {
		const char *e = strchr(q, '/');
		if (!e || e == q)
			return false;
		seg[nseg] = q, segl[nseg] = (size_t)(e - q), nseg++;
		q = e + 1;
	}
	if (*q)
		return false;
	if (!cc)
		return nseg == 3 && segl[0] == 5 && memcmp(seg[0], "vocab", 5) == 0 &&
		       in_list(seg[1], segl[1], rs_codes, sizeof rs_codes / sizeof *rs_codes) &&
		       segl[2] == 3 && memcmp(seg[2], "1.0", 3) == 0;
	if (nseg == 3 && segl[0] == 12 && memcmp(seg[0], "publicdomain", 12) == 0)
		return ((segl[1] == 4 && memcmp(seg[1], "zero", 4) == 0) ||
		        (segl[1] == 4 && memcmp(seg[1], "mark", 4) == 0)) &&
		       segl[2] == 3 && memcmp(seg[2], "1.0", 3) == 0;
	if ((nseg == 3 || nseg == 4) && segl[0] == 8 && memcmp(seg[0], "licenses", 8) == 0) {
		size_t k;
		if (!in_list(seg[1], segl[1], cc_codes, sizeof cc_codes / sizeof *cc_codes) ||
		    !in_list(seg[2], segl[2], cc_versions, sizeof cc_versions / sizeof *cc_versions))
			return false;
		/* An optional jurisdiction port ("de", "igo") of letters. */
		if (nseg == 4) {
			if (segl[3] < 2 || segl[3] > 5)
				return false;
			for (k = 0; k < segl[3]; k++)
				if (seg[3][k] < 'a' || seg[3][k] > 'z')
					return false;
		}
		return true;
	}
	return false;
}

bool ts_present_check_rights(const char *s, char *out, size_t outn, bool *rewritten,
                             char *why, size_t n)
{
	const char *rest;
	size_t restlen;
	bool cc;
	int w;

	*rewritten = false;
	if (strncmp(s, "http://", 7) == 0)
		rest = s + 7;
	else if (strncmp(s, "https://", 8) == 0)
		rest = s + 8, *rewritten = true;
	else
		goto bad;
	if (strncmp(rest, "creativecommons.org/", 20) == 0)
		cc = true, rest += 20;
	else if (strncmp(rest, "rightsstatements.org/", 21) == 0)
		cc = false, rest += 21;
	else
		goto bad;
	restlen = strlen(rest);
	if (restlen == 0 || restlen > 64)
		goto bad;
	w = snprintf(out, outn, "http://%s/%s%s", cc ? "creativecommons.org" : "rightsstatements.org",
	             rest, rest[restlen - 1] == '/' ? "" : "/");
	if (w < 0 || (size_t)w >= outn)
		goto bad;
	if (rest[restlen - 1] != '/')
		*rewritten = true;
	if (!rights_path_ok(cc, strchr(out + 7, '/') + 1))
		goto bad;
	return true;
bad:
	*rewritten = false;
	return why_set(why, n, "must be a Creative Commons or RightsStatements.org URI such as "
	               "http://creativecommons.org/licenses/by/4.0/; put other rights text in requiredStatement");
}

bool ts_present_check_text(const char *s, size_t len, bool html, char *why, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i;

	if (len == 0)
		return why_set(why, n, "must not be an empty string");
	if (len > TS_PRESENT_MAX_TEXT)
		return why_set(why, n, "must be at most %d bytes", TS_PRESENT_MAX_TEXT);
	for (i = 0; i < len; i++) {
		if (u[i] == '\t' || u[i] == '\n' || u[i] == '\r')
			continue;
		if (u[i] == 0)
			return why_set(why, n, "must not contain a NUL character");
		if (control_at(u, i, len))
			return why_set(why, n, "must not contain control characters (only tab and newline)");
	}
	/* §4.5: a value is HTML when it starts with '<' and ends with '>'. */
	if (html && s[0] == '<' && s[len - 1] == '>')
		return ts_present_check_html(s, len, why, n);
	/* Markup anywhere else would be shown as text by a careful client and
	 * run by a careless one: refuse it rather than guess. */
	for (i = 0; i + 1 < len; i++) {
		unsigned char c = u[i + 1];
		if (u[i] == '<' && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		                    c == '/' || c == '!' || c == '?'))
			return html ? why_set(why, n, "has markup but is not HTML: HTML must be the whole "
			                      "value, one element such as <p>...</p>")
			            : why_set(why, n, "must be plain text (HTML is allowed only in summary "
			                      "and metadata or requiredStatement values)");
	}
	return true;
}

const char *ts_present_quote(const char *s, char *buf, size_t n)
{
	size_t i = 0, o = 0, chars = 0;

	if (n < 8) {
		if (n)
			buf[0] = '\0';
		return buf;
	}
	while (s[i] && chars < 40 && o + 8 < n) {
		unsigned char c = (unsigned char)s[i];
		size_t clen = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
		size_t k;

		for (k = 1; k < clen; k++)
			if (((unsigned char)s[i + k] & 0xc0) != 0x80)
				break;
		if (k < clen || c < 0x20 || c == 0x7f || c == '"' || (c >= 0x80 && c < 0xc2) || c > 0xf4) {
			buf[o++] = '?';
			i++;
		} else {
			memcpy(buf + o, s + i, clen);
			o += clen, i += clen;
		}
		chars++;
	}
	if (s[i]) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

json_t *ts_present_langmap(const char *lang, const char *s)
{
	json_t *map = json_object(), *arr = json_array(), *str = json_string(s);

	if (!map || !arr || !str) {
		json_decref(map), json_decref(arr), json_decref(str);
		return NULL;
	}
	/* The _new setters take the reference even when they fail. */
	if (json_array_append_new(arr, str) != 0) {
		json_decref(map), json_decref(arr);
		return NULL;
	}
	if (json_object_set_new(map, lang, arr) != 0) {
		json_decref(map);
		return NULL;
	}
	return map;
}
