/*
 * byte_range.c - the Range and If-Range request headers (RFC 9110 §14.1.1,
 * §14.2, §13.1.5), parsed against a file of known size.
 *
 * Sits between the front ends, which hand us the raw header values, and
 * serve/media.c, which sends the bytes.  The one idea: a Range header is
 * first checked as a whole against the grammar (any fault and it is ignored,
 * which §14.2 allows, so the answer is the whole file) and only then
 * measured against the size: zero satisfiable ranges is 416, one is 206,
 * more than one is the whole file again.  Numbers are read as decimal
 * strings of any length, so "first > last" is judged exactly even past 64
 * bits, and every value past the end of the file is clamped, never added.
 */
#include <string.h>
#include <strings.h>

#include "tessera/byte_range.h"

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A decimal number as written: its digits (leading zeros skipped) and its
 * value, saturated at UINT64_MAX when it does not fit. */
struct number {
	const char *digits;
	size_t n;
	uint64_t value;
};

/* Read 1*DIGIT at *p; false when there is no digit. */
static bool read_number(const char **p, struct number *out)
{
	const char *s = *p;
	uint64_t v = 0;
	bool big = false;

	if (!is_digit(*s))
		return false;
	while (*s == '0' && is_digit(s[1]))
		s++;
	out->digits = s;
	for (; is_digit(*s); s++) {
		unsigned d = (unsigned)(*s - '0');

		if (!big && v > (UINT64_MAX - d) / 10)
			big = true;
		else if (!big)
			v = v * 10 + d;
	}
	out->n = (size_t)(s - out->digits);
	out->value = big ? UINT64_MAX : v;
	*p = s;
	return true;
}

/* a <= b, exactly, whatever their length. */
static bool number_le(const struct number *a, const struct number *b)
{
	if (a->n != b->n)
		return a->n < b->n;
	return memcmp(a->digits, b->digits, a->n) <= 0;
}

/* One range-spec at *p (§14.1.1).  Returns false on bad syntax; otherwise
 * *sat says whether it overlaps a file of size bytes, and *r is that
 * overlap when it does. */
static bool read_spec(const char **p, uint64_t size, bool *sat, struct ts_byte_range *r)
{
	struct number first, last;
	const char *s = *p;

	*sat = false;
	if (*s == '-') {
		/* suffix-range: the last n bytes; "-0" is valid but empty. */
		s++;
		if (!read_number(&s, &last))
			return false;
		if (size > 0 && last.value > 0) {
			r->length = last.value < size ? last.value : size;
			r->first = size - r->length;
			*sat = true;
		}
		*p = s;
		return true;
	}
	if (!read_number(&s, &first) || *s != '-')
		return false;
	s++;
	if (is_digit(*s)) {
		if (!read_number(&s, &last) || !number_le(&first, &last))
			return false;   /* last-pos below first-pos: invalid (§14.1.1) */
	} else {
		last.value = UINT64_MAX;   /* "a-": to the end */
	}
	if (first.value < size) {
		uint64_t end = last.value < size - 1 ? last.value : size - 1;

		r->first = first.value;
		r->length = end - first.value + 1;
		*sat = true;
	}
	*p = s;
	return true;
}

enum ts_range_answer ts_byte_range_parse(const char *value, uint64_t size,
                                         struct ts_byte_range *out)
{
	struct ts_byte_range r, one = { 0, 0 };
	const char *p = value;
	unsigned long specs = 0, satisfiable = 0;

	if (!p)
		return TS_RANGE_WHOLE;
	while (is_ows(*p))
		p++;
	/* range-unit is case-insensitive (§14.1); "=" follows it directly. */
	if (strncasecmp(p, "bytes", 5) != 0 || p[5] != '=')
		return TS_RANGE_WHOLE;
	p += 6;
	for (;;) {
		bool sat;

		while (is_ows(*p))
			p++;
		if (*p == ',') {         /* an empty list element (§5.6.1) */
			p++;
			continue;
		}
		if (*p == '\0')
			break;
		if (!read_spec(&p, size, &sat, &r))
			return TS_RANGE_WHOLE;
		specs++;
		if (sat && satisfiable++ == 0)
			one = r;
		while (is_ows(*p))
			p++;
		if (*p != ',' && *p != '\0')
			return TS_RANGE_WHOLE;
	}
	if (specs == 0)              /* "bytes=" with no range: 1#range-spec */
		return TS_RANGE_WHOLE;
	if (satisfiable == 0)
		return TS_RANGE_UNSATISFIABLE;
	if (satisfiable > 1)
		return TS_RANGE_WHOLE;
	*out = one;
	return TS_RANGE_PART;
}

/* IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT" (§5.6.7), exactly. */
static bool parse_imf_fixdate(const char *s, size_t n, time_t *out)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	static const int digit_at[] = { 5, 6, 12, 13, 14, 15, 17, 18, 20, 21, 23, 24 };
	struct tm tm;
	int i, mon = -1;
	bool day_ok = false;

	/* "Www, DD Mmm YYYY HH:MM:SS GMT": 29 characters, fixed positions. */
	if (n != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
	    s[16] != ' ' || s[19] != ':' || s[22] != ':' || s[25] != ' ' ||
	    memcmp(s + 26, "GMT", 3) != 0)
		return false;
	for (i = 0; i < 7; i++)
		day_ok |= memcmp(s, days[i], 3) == 0;
	for (i = 0; i < 12; i++)
		if (memcmp(s + 8, months[i], 3) == 0)
			mon = i;
	for (i = 0; i < 12; i++)
		if (!is_digit(s[digit_at[i]]))
			return false;
	if (!day_ok || mon < 0)
		return false;
	memset(&tm, 0, sizeof tm);
#define D2(k) ((s[k] - '0') * 10 + (s[k + 1] - '0'))
	tm.tm_mday = D2(5);
	tm.tm_mon = mon;
	tm.tm_year = D2(12) * 100 + D2(14) - 1900;
	tm.tm_hour = D2(17);
	tm.tm_min = D2(20);
	tm.tm_sec = D2(23);
#undef D2
	if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return false;
	*out = timegm(&tm);
	return true;
}

bool ts_byte_range_is_simple(const char *value)
{
	const char *p = value;
	size_t n;

	if (!p || strncmp(p, "bytes=", 6) != 0)
		return false;
	p += 6;
	for (int part = 0; part < 2; part++) {
		for (n = 0; is_digit(p[n]); n++)
			;
		if (n > 18 || (part == 0 && *p != '-' && n == 0))
			return false;
		p += n;
		if (part == 0) {
			if (*p != '-')
				return false;
			if (n == 0 && !is_digit(p[1]))
				return false;   /* "-" alone */
			p++;
		}
	}
	return *p == '\0';
}

/* The two obsolete HTTP-date forms recipients must still accept (§5.6.7):
 * RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" and asctime
 * "Sun Nov  6 08:49:37 1994". */
static bool parse_obsolete_date(const char *s, size_t n, time_t *out)
{
	char buf[64];
	struct tm tm;
	const char *end;

	if (n >= sizeof buf)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(&tm, 0, sizeof tm);
	end = strptime(buf, "%A, %d-%b-%y %H:%M:%S GMT", &tm);
	if (!end || *end) {
		memset(&tm, 0, sizeof tm);
		end = strptime(buf, "%a %b %e %H:%M:%S %Y", &tm);
		if (!end || *end)
			return false;
	}
	*out = timegm(&tm);
	return *out != (time_t)-1;
}

bool ts_byte_range_if_range(const char *value, const char *etag, time_t last_modified)
{
	const char *p = value, *end;
	time_t t;

	if (!value)
		return true;
	while (is_ows(*p))
		p++;
	end = p + strlen(p);
	while (end > p && is_ows(end[-1]))
		end--;
	if (*p == '"') {
		/* Strong comparison (§8.8.3.2): both strong, same characters. */
		size_t n = (size_t)(end - p);
		return etag && etag[0] == '"' && strlen(etag) == n && memcmp(p, etag, n) == 0;
	}
	if (end - p >= 2 && p[0] == 'W' && p[1] == '/')
		return false;   /* a weak tag never matches for If-Range */
	if (!parse_imf_fixdate(p, (size_t)(end - p), &t) &&
	    !parse_obsolete_date(p, (size_t)(end - p), &t))
		return false;
	return t == last_modified;
}
