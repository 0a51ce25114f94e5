/*
 * iiif_image.c - the IIIF Image API URL parser (versions 3.0 and 2.1).
 *
 * Takes the path after the "/iiif" prefix and returns a struct
 * ts_iiif_request: the route (base URI, info.json or image), the version,
 * the identifier (raw and percent-decoded once) and, for image requests,
 * the region/size/rotation/quality/format command.  It never opens files,
 * logs or writes responses, so it can be tested and fuzzed exhaustively.
 *
 * The one idea: the route is decided by counting '/'-separated segments
 * before anything is decoded (IIIF Image API 3.0 section 9: the slashes of
 * the URI syntax are never encoded, so a literal '/' in an identifier makes
 * a different path -> 404), and then each parameter is matched against a
 * strict grammar where anything not spelled exactly as the specification
 * allows is a 400.  Values are parsed by hand, without strtod/strtoul, so
 * signs, exponents, hex, spaces, "inf"/"nan" and the locale never sneak in.
 *
 * Numbers (IIIF Image API 3.0 section 4 and 4.7, 2.1 section 4.1):
 *  - pixel values (region x,y,w,h and size w,h) are non-negative integers:
 *    one or more ASCII digits, leading zeros accepted, value <= 2^32-1;
 *  - percentages and rotation are decimals.  3.0 section 4.7 says they MUST
 *    consist only of decimal digits and "." and SHOULD have a leading 0 and
 *    no trailing zeros.  We enforce the MUST and tolerate the SHOULDs:
 *    digits, at most one ".", at least one digit ("10.5", "0.5", ".5",
 *    "5.", "05.50" are accepted; "", ".", "1.2.3", "+1", "1e3" are 400).
 *    Decimals larger than 2^32-1 are 400 as well.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "tessera/arena.h"
#include "tessera/command.h"
#include "tessera/status.h"

#define MAX_SEGMENTS 8   /* more than any IIIF route has: the rest is 404 */
#define DECIMAL_MAX 4294967295.0

/* --------------------------------------------------------------------- */
/* Percent-decoding (IIIF Image API 3.0 section 9, RFC 3986 section 2.1)  */

enum decode_result { DECODE_OK, DECODE_MALFORMED, DECODE_NUL };

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode n bytes of src into dst (room for n+1).  '+' stays '+': in a path
 * it is not a space (that rule belongs to form-encoded query strings). */
static enum decode_result decode_n(const char *src, size_t n, char *dst)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (src[i] != '%') {
			dst[o++] = src[i];
			continue;
		}
		if (i + 2 >= n)   /* fewer than two characters left */
			return DECODE_MALFORMED;
		int hi = hex_value(src[i + 1]), lo = hex_value(src[i + 2]);
		if (hi < 0 || lo < 0)
			return DECODE_MALFORMED;
		if (hi == 0 && lo == 0)
			return DECODE_NUL;
		dst[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	dst[o] = '\0';
	return DECODE_OK;
}

bool ts_percent_decode(const char *src, char *dst)
{
	return decode_n(src, strlen(src), dst) == DECODE_OK;
}

/* --------------------------------------------------------------------- */
/* Numbers                                                               */

/* Parse s[0..n) as a non-negative integer that fits uint32. */
static bool parse_uint(const char *s, size_t n, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > UINT32_MAX)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

/* Parse s[0..n) as a decimal (see the top of the file).  The digits are
 * gathered into an integer mantissa and divided once by a power of ten, so
 * short values such as "41.6" come out exactly as the nearest double. */
static bool parse_decimal(const char *s, size_t n, double *out)
{
	static const double pow10[] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
		1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18
	};
	uint64_t mant = 0;
	int digits = 0, sig = 0, frac = 0;
	bool dot = false;
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (c == '.') {
			if (dot)
				return false;
			dot = true;
			continue;
		}
		if (c < '0' || c > '9')
			return false;
		digits++;
		if (!dot) {
			/* Integer part: more than 10 significant digits is
			 * certainly above 2^32-1. */
			if (mant == 0 && c == '0')
				continue;
			if (++sig > 10)
				return false;
			mant = mant * 10 + (uint64_t)(c - '0');
		} else if (sig < 18 && frac < 18) {
			/* Fraction: keep up to 18 digits; the rest cannot
			 * change a double much (and pow10 has 19 entries). */
			if (mant != 0 || c != '0')
				sig++;
			mant = mant * 10 + (uint64_t)(c - '0');
			frac++;
		}
	}
	if (digits == 0)
		return false;
	double v = (double)mant / pow10[frac];
	if (v > DECIMAL_MAX)
		return false;
	*out = v;
	return true;
}

/* Split s[0..n) at commas into exactly count fields; false otherwise. */
static bool split_commas(const char *s, size_t n, int count,
                         const char **field, size_t *len)
{
	int k = 0;
	size_t start = 0, i;

	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == ',') {
			if (k == count)
				return false;
			field[k] = s + start;
			len[k] = i - start;
			k++;
			start = i + 1;
		}
	}
	return k == count;
}

static bool equals(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(s, word, n) == 0;
}

/* --------------------------------------------------------------------- */
/* Parameters                                                            */

/* IIIF Image API 3.0 section 4.1 / 2.1 section 4.1. */
static bool parse_region(const char *s, size_t n, struct ts_region *r)
{
	const char *f[4];
	size_t l[4];
	int i;

	memset(r, 0, sizeof *r);
	if (equals(s, n, "full")) {
		r->kind = TS_REGION_FULL;
		return true;
	}
	if (equals(s, n, "square")) {
		r->kind = TS_REGION_SQUARE;
		return true;
	}
	if (n >= 4 && memcmp(s, "pct:", 4) == 0) {
		double v[4];
		if (!split_commas(s + 4, n - 4, 4, f, l))
			return false;
		for (i = 0; i < 4; i++)
			if (!parse_decimal(f[i], l[i], &v[i]))
				return false;
		/* "If the requested region's height or width is zero ...
		 * the server SHOULD return a 400" (3.0 section 4.1). */
		if (v[2] <= 0 || v[3] <= 0)
			return false;
		r->kind = TS_REGION_PCT;
		r->x = v[0], r->y = v[1], r->w = v[2], r->h = v[3];
		return true;
	}
	uint32_t u[4];
	if (!split_commas(s, n, 4, f, l))
		return false;
	for (i = 0; i < 4; i++)
		if (!parse_uint(f[i], l[i], &u[i]))
			return false;
	if (u[2] == 0 || u[3] == 0)
		return false;
	r->kind = TS_REGION_PIXELS;
	r->x = u[0], r->y = u[1], r->w = u[2], r->h = u[3];
	return true;
}

/* IIIF Image API 3.0 section 4.2 / 2.1 section 4.2.  "^" exists only in
 * 3.0; "full" only in 2.1 (3.0 replaced it by "max").  Zero sizes are 400
 * ("the pixel dimensions of the scaled region MUST NOT be less than 1
 * pixel", 3.0 section 4.2; 2.1 section 4.2 likewise). */
static bool parse_size(const char *s, size_t n, int version, struct ts_size *z)
{
	const char *f[2];
	size_t l[2];

	memset(z, 0, sizeof *z);
	if (n > 0 && s[0] == '^') {
		if (version != 3)
			return false;
		z->upscale = true;
		s++, n--;
	}
	if (equals(s, n, "max")) {
		z->kind = TS_SIZE_MAX;
		return true;
	}
	if (equals(s, n, "full")) {
		if (version != 2 || z->upscale)
			return false;
		z->kind = TS_SIZE_FULL;
		return true;
	}
	if (n >= 4 && memcmp(s, "pct:", 4) == 0) {
		if (!parse_decimal(s + 4, n - 4, &z->pct) || z->pct <= 0)
			return false;
		z->kind = TS_SIZE_PCT;
		return true;
	}
	bool fit = false;
	if (n > 0 && s[0] == '!') {
		fit = true;
		s++, n--;
	}
	if (!split_commas(s, n, 2, f, l))
		return false;
	if (fit || (l[0] > 0 && l[1] > 0)) {
		if (!parse_uint(f[0], l[0], &z->w) || !parse_uint(f[1], l[1], &z->h))
			return false;
		if (z->w == 0 || z->h == 0)
			return false;
		z->kind = fit ? TS_SIZE_FIT : TS_SIZE_WH;
		return true;
	}
	if (l[0] > 0) {
		if (!parse_uint(f[0], l[0], &z->w) || z->w == 0)
			return false;
		z->kind = TS_SIZE_W;
		return true;
	}
	if (l[1] > 0) {
		if (!parse_uint(f[1], l[1], &z->h) || z->h == 0)
			return false;
		z->kind = TS_SIZE_H;
		return true;
	}
	return false;   /* "," */
}

/* IIIF Image API 3.0 section 4.3 / 2.1 section 4.3: "n" or "!n", any
 * decimal from 0 to 360 inclusive. */
static bool parse_rotation(const char *s, size_t n, struct ts_rotation *rot)
{
	memset(rot, 0, sizeof *rot);
	if (n > 0 && s[0] == '!') {
		rot->mirror = true;
		s++, n--;
	}
	return parse_decimal(s, n, &rot->degrees) && rot->degrees <= 360.0;
}

/* IIIF Image API 3.0 section 4.4 / 2.1 section 4.4. */
static bool parse_quality(const char *s, size_t n, enum ts_quality *q)
{
	static const struct { const char *name; enum ts_quality q; } t[] = {
		{ "default", TS_QUALITY_DEFAULT }, { "color", TS_QUALITY_COLOR },
		{ "gray", TS_QUALITY_GRAY }, { "bitonal", TS_QUALITY_BITONAL },
	};
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		if (equals(s, n, t[i].name)) {
			*q = t[i].q;
			return true;
		}
	return false;
}

/* --------------------------------------------------------------------- */
/* Formats and qualities: names (IIIF Image API 3.0 section 4.5)         */

static const struct {
	const char *ext, *mime;
} formats[] = {
	[TS_FORMAT_JPG]  = { "jpg",  "image/jpeg" },
	[TS_FORMAT_PNG]  = { "png",  "image/png" },
	[TS_FORMAT_WEBP] = { "webp", "image/webp" },
	[TS_FORMAT_TIF]  = { "tif",  "image/tiff" },
	[TS_FORMAT_GIF]  = { "gif",  "image/gif" },
	[TS_FORMAT_JP2]  = { "jp2",  "image/jp2" },
	[TS_FORMAT_PDF]  = { "pdf",  "application/pdf" },
};
#define NFORMATS (sizeof formats / sizeof formats[0])

bool ts_format_from_ext(const char *ext, enum ts_format *out)
{
	size_t i;

	if (!ext)
		return false;
	for (i = 0; i < NFORMATS; i++)
		if (strcmp(ext, formats[i].ext) == 0) {
			*out = (enum ts_format)i;
			return true;
		}
	return false;
}

const char *ts_format_ext(enum ts_format f)
{
	return (unsigned)f < NFORMATS ? formats[f].ext : "";
}

const char *ts_format_mime(enum ts_format f)
{
	return (unsigned)f < NFORMATS ? formats[f].mime : "application/octet-stream";
}

const char *ts_quality_name(enum ts_quality q)
{
	switch (q) {
	case TS_QUALITY_DEFAULT: return "default";
	case TS_QUALITY_COLOR:   return "color";
	case TS_QUALITY_GRAY:    return "gray";
	case TS_QUALITY_BITONAL: return "bitonal";
	}
	return "";
}


/* --------------------------------------------------------------------- */
/* The route                                                             */

/* Decode one parameter segment into the arena.  3.0 section 9: encoding
 * characters other than the to-encode set "introduces no ambiguity", so a
 * client may send "%21300,300" for "!300,300"; we decode once and then
 * apply the strict grammar.  Any decoding problem is a malformed
 * parameter: 400. */
static ts_status decode_param(struct ts_arena *a, const char *s, size_t n,
                              const char *what, char **out, struct ts_error *err)
{
	char *d = ts_arena_alloc(a, n + 1);

	if (!d)
		return ts_error_set(err, TS_EINTERNAL, "Out of memory while parsing the request");
	if (decode_n(s, n, d) != DECODE_OK)
		return ts_error_set(err, TS_EBADREQUEST, "Malformed percent-encoding in the %s parameter", what);
	*out = d;
	return TS_OK;
}

static ts_status parse_image(struct ts_arena *a, const char *const *seg,
                             const size_t *len, int version,
                             struct ts_image_cmd *cmd, struct ts_error *err)
{
	const char *sec = version == 2 ? "2.1" : "3.0";
	char *p[4];
	ts_status st;
	size_t i;

	memset(cmd, 0, sizeof *cmd);
	cmd->version = version;
	for (i = 0; i < 4; i++) {
		static const char *names[] = { "region", "size", "rotation", "quality" };
		st = decode_param(a, seg[i], len[i], names[i], &p[i], err);
		if (st)
			return st;
	}
	if (!parse_region(p[0], strlen(p[0]), &cmd->region))
		return ts_error_set(err, TS_EBADREQUEST,
			"Invalid region: expected full, square, x,y,w,h or pct:x,y,w,h with w,h > 0 "
			"(IIIF Image API %s section 4.1)", sec);
	if (!parse_size(p[1], strlen(p[1]), version, &cmd->size))
		return ts_error_set(err, TS_EBADREQUEST, version == 2 ?
			"Invalid size: expected full, max, w,, ,h, pct:n, w,h or !w,h "
			"(IIIF Image API 2.1 section 4.2)" :
			"Invalid size: expected max, w,, ,h, pct:n, w,h or !w,h, optionally "
			"prefixed by ^ (IIIF Image API 3.0 section 4.2)");
	if (!parse_rotation(p[2], strlen(p[2]), &cmd->rotation))
		return ts_error_set(err, TS_EBADREQUEST,
			"Invalid rotation: expected n or !n with 0 <= n <= 360 "
			"(IIIF Image API %s section 4.3)", sec);

	/* "{quality}.{format}": the format is everything after the first dot. */
	const char *dot = strchr(p[3], '.');
	if (!dot)
		return ts_error_set(err, TS_EBADREQUEST,
			"Missing format: expected {quality}.{format} (IIIF Image API %s section 4.5)", sec);
	if (!parse_quality(p[3], (size_t)(dot - p[3]), &cmd->quality))
		return ts_error_set(err, TS_EBADREQUEST,
			"Invalid quality: expected default, color, gray or bitonal "
			"(IIIF Image API %s section 4.4)", sec);
	/* Every format of section 4.5 is valid here; whether this build writes
	 * it is the server's question (501 there, 3.0 section 7.3). */
	if (!ts_format_from_ext(dot + 1, &cmd->format))
		return ts_error_set(err, TS_EBADREQUEST,
			"Invalid format: expected jpg, png, webp, tif, gif, jp2 or pdf "
			"(IIIF Image API %s section 4.5)", sec);
	return TS_OK;
}

ts_status ts_iiif_parse(const char *path, int default_version, struct ts_arena *a,
                        struct ts_iiif_request *out, struct ts_error *err)
{
	const char *seg[MAX_SEGMENTS];
	size_t len[MAX_SEGMENTS];
	int nseg = 0, first = 0;
	const char *p;

	memset(out, 0, sizeof *out);
	if (!path || path[0] != '/')
		return ts_error_set(err, TS_ENOTFOUND, "Not a IIIF URL");

	/* Split at every '/'.  An empty segment ("//", a trailing "/") is
	 * no IIIF route. */
	p = path + 1;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || nseg == MAX_SEGMENTS)
			return ts_error_set(err, TS_ENOTFOUND, "Not a IIIF URL");
		seg[nseg] = p;
		len[nseg] = n;
		nseg++;
		if (!slash)
			break;
		p = slash + 1;
	}

	/* "2" or "3" followed by more segments selects the version. */
	if (nseg > 1 && len[0] == 1 && (seg[0][0] == '2' || seg[0][0] == '3')) {
		out->version = seg[0][0] - '0';
		out->version_in_url = true;
		first = 1;
	} else {
		out->version = default_version == 2 ? 2 : 3;
	}

	int m = nseg - first;
	const char *const *rest = seg + first;
	const size_t *rlen = len + first;
	if (m == 1)
		out->route = TS_IIIF_BASE;
	else if (m == 2 && equals(rest[1], rlen[1], "info.json"))
		out->route = TS_IIIF_INFO;
	else if (m == 5)
		out->route = TS_IIIF_IMAGE;
	else
		return ts_error_set(err, TS_ENOTFOUND, "Not a IIIF URL");

	/* The identifier: kept as sent (for info.json "id") and decoded once
	 * (3.0 section 9). */
	char *raw = ts_arena_strndup(a, rest[0], rlen[0]);
	char *id = ts_arena_alloc(a, rlen[0] + 1);
	if (!raw || !id)
		return ts_error_set(err, TS_EINTERNAL, "Out of memory while parsing the request");
	switch (decode_n(rest[0], rlen[0], id)) {
	case DECODE_OK:
		break;
	case DECODE_NUL:
		/* No file can be named with a NUL: an unknown identifier. */
		return ts_error_set(err, TS_ENOTFOUND, "Unknown identifier");
	case DECODE_MALFORMED:
		return ts_error_set(err, TS_EBADREQUEST, "Malformed percent-encoding in the identifier");
	}
	out->identifier_raw = raw;
	out->identifier = id;

	if (out->route != TS_IIIF_IMAGE)
		return TS_OK;
	return parse_image(a, rest + 1, rlen + 1, out->version, &out->cmd, err);
}
