/*
 * http_parse.c - the embedded server's strict HTTP/1.1 request-head parser
 * and chunked-body reader (see http_parse.h for what is refused and why).
 *
 * The one idea: find the end of the head first, then read it line by line
 * with a whitelist of bytes for every part (token characters for the
 * method and field names, visible characters for the target, visible
 * characters, space and tab for field values), so that every byte the
 * server acts on has one meaning; anything else is an error status, never
 * a guess.  A single LF is accepted as a line end (RFC 9112 §2.2), a bare
 * CR is not.
 */
#include <string.h>
#include <strings.h>
#include "http_parse.h"

/* tchar, RFC 9110 §5.6.2 */
static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Request-target bytes: visible ASCII (RFC 9112 §3.2).  Bytes over 0x7F
 * are let through as nginx does (they cannot change the framing and the
 * server treats them as an identifier's bytes); NUL, controls, space and
 * DEL are refused. */
static bool is_target_byte(unsigned char c)
{
	return c > 0x20 && c != 0x7f;
}

/* field-value bytes: VCHAR, obs-text, SP, HTAB (RFC 9110 §5.5) */
static bool is_value_byte(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* The end of the line starting at p (the '\n'), or NULL.  *content_end is
 * where the line's content ends (before "\r\n" or "\n"). */
static char *line_end(char *p, char *end, char **content_end)
{
	char *nl = memchr(p, '\n', (size_t)(end - p));

	if (!nl)
		return NULL;
	*content_end = (nl > p && nl[-1] == '\r') ? nl - 1 : nl;
	return nl;
}

static bool token_eq(const char *a, size_t n, const char *b)
{
	return strlen(b) == n && strncasecmp(a, b, n) == 0;
}

/* Connection: a comma-separated list of tokens (RFC 9110 §7.6.1). */
static void read_connection(const char *v, bool *close, bool *keep)
{
	while (*v) {
		size_t n;
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		n = strcspn(v, " \t,");
		if (token_eq(v, n, "close"))
			*close = true;
		else if (token_eq(v, n, "keep-alive"))
			*keep = true;
		v += n;
	}
}

static int read_content_length(const char *v, uint64_t *out)
{
	uint64_t n = 0;

	if (!*v)
		return 400;
	for (; *v; v++) {
		if (*v < '0' || *v > '9')
			return 400;   /* also "5, 5": we take one value only */
		if (n > (UINT64_MAX - 9) / 10)
			return 400;
		n = n * 10 + (uint64_t)(*v - '0');
	}
	*out = n;
	return 0;
}

/* Transfer-Encoding: the last coding must be chunked (RFC 9112 §6.3 item
 * 4, else 400); chunked is the only coding we decode (else 501). */
static int read_transfer_encoding(const char *v)
{
	size_t n = strlen(v), last;

	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == ','))
		n--;
	last = n;
	while (last > 0 && v[last - 1] != ',')
		last--;
	while (v[last] == ' ' || v[last] == '\t')
		last++;
	if (!token_eq(v + last, n - last, "chunked"))
		return 400;
	return token_eq(v, n, "chunked") ? 0 : 501;
}

/* "http://host[:port]/path?q" -> authority and "/path?q" (RFC 9112 §3.2.2:
 * a server must accept the absolute form).  The target is in place, so the
 * path keeps its bytes; the authority is cut with a NUL where the path
 * starts, after moving it one byte left to make room. */
static int reduce_absolute(char *t, struct ts_http_head *h)
{
	char *auth, *path;
	size_t alen;

	if (strncasecmp(t, "http://", 7) == 0)
		auth = t + 7;
	else if (strncasecmp(t, "https://", 8) == 0)
		auth = t + 8;
	else
		return 400;
	path = auth + strcspn(auth, "/?#");
	alen = (size_t)(path - auth);
	if (alen == 0 || memchr(auth, '@', alen))
		return 400;   /* no host, or userinfo (RFC 9110 §4.2.4) */
	if (*path == '#')
		return 400;
	memmove(t, auth, alen);
	t[alen] = '\0';
	h->authority = t;
	if (*path == '/') {
		h->target = path;
	} else {
		/* "http://h?q" or "http://h": the path is "/" (RFC 9112 §3.2.1);
		 * write it over the byte before the query, which held the
		 * authority's last character and now lies past its NUL */
		if (path - 1 <= t + alen)
			return 400;
		path[-1] = '/';
		h->target = path - 1;
	}
	return 0;
}

static int parse_request_line(char *p, char *end, struct ts_http_head *h)
{
	char *sp1 = memchr(p, ' ', (size_t)(end - p)), *sp2, *v;
	size_t vlen;

	if (!sp1 || sp1 == p || sp1 - p > 32)
		return 400;
	for (char *q = p; q < sp1; q++)
		if (!is_tchar((unsigned char)*q))
			return 400;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
	if (!sp2) {
		/* no version: either a target with a space (or no version at all,
		 * HTTP/0.9) - both refused; a long one is 414 */
		return end - sp1 - 1 > TS_HTTP_MAX_TARGET ? 414 : 400;
	}
	if (sp2 == sp1 + 1)
		return 400;
	if (sp2 - sp1 - 1 > TS_HTTP_MAX_TARGET)
		return 414;
	for (char *q = sp1 + 1; q < sp2; q++)
		if (!is_target_byte((unsigned char)*q))
			return 400;
	v = sp2 + 1;
	vlen = (size_t)(end - v);
	if (vlen != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
	    v[7] < '0' || v[7] > '9')
		return 400;
	if (v[5] != '1')
		return 505;
	h->minor = v[7] == '0' ? 0 : 1;   /* a later 1.x is read as 1.1 (RFC 9110 §2.5) */
	*sp1 = '\0';
	*sp2 = '\0';
	h->method = p;
	h->target = sp1 + 1;
	if (h->target[0] == '/')
		return 0;
	if (strcmp(h->target, "*") == 0)
		return strcmp(h->method, "OPTIONS") == 0 ? 0 : 400;
	return reduce_absolute(sp1 + 1, h);
}

/* Host: uri-host [":" port] (RFC 9110 §7.2); empty is allowed. */
static bool host_ok(const char *v)
{
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      strchr("-._~!$&'()*+,;=:[]%", c)))
			return false;
	}
	return true;
}

static int parse_field(char *p, char *end, struct ts_http_head *h)
{
	char *colon = memchr(p, ':', (size_t)(end - p)), *v, *ve;

	if (*p == ' ' || *p == '\t')
		return 400;   /* obs-fold (RFC 9112 §5.2) */
	if (!colon || colon == p)
		return 400;
	for (char *q = p; q < colon; q++)
		if (!is_tchar((unsigned char)*q))
			return 400;   /* includes whitespace before the colon (§5.1) */
	v = colon + 1;
	ve = end;
	for (char *q = v; q < ve; q++)
		if (!is_value_byte((unsigned char)*q))
			return 400;
	while (v < ve && (*v == ' ' || *v == '\t'))
		v++;
	while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
		ve--;
	if (h->nfields == TS_HTTP_MAX_FIELDS)
		return 431;
	*colon = '\0';
	*ve = '\0';
	h->fields[h->nfields].name = p;
	h->fields[h->nfields].value = v;
	h->nfields++;
	return 0;
}

/* Framing and Host, once every field is in (RFC 9112 §3.2, §6). */
static int check_fields(struct ts_http_head *h)
{
	int nlength = 0, ncoding = 0, nhost = 0, rc;
	bool close = false, keep = false;

	for (int i = 0; i < h->nfields; i++) {
		const char *n = h->fields[i].name, *v = h->fields[i].value;
		if (strcasecmp(n, "Host") == 0) {
			if (++nhost > 1 || !host_ok(v))
				return 400;
			h->host = v;
		} else if (strcasecmp(n, "Content-Length") == 0) {
			if (++nlength > 1 || (rc = read_content_length(v, &h->content_length)) != 0)
				return 400;
			h->has_length = true;
		} else if (strcasecmp(n, "Transfer-Encoding") == 0) {
			if (++ncoding > 1)
				return 400;
			if ((rc = read_transfer_encoding(v)) != 0)
				return rc;
			h->chunked = true;
		} else if (strcasecmp(n, "Connection") == 0) {
			read_connection(v, &close, &keep);
		}
	}
	if (h->has_length && h->chunked)
		return 400;   /* §6.1: a request with both must be refused and closed */
	if (h->chunked && h->minor == 0)
		return 400;   /* §6.1: HTTP/1.0 has no chunked coding */
	if (h->minor == 1 && nhost == 0)
		return 400;   /* §3.2 */
	if (h->authority)
		h->host = h->authority;   /* §3.2.2: the target's authority wins over Host */
	h->keep_alive = h->minor == 1 ? !close : (keep && !close);
	return 0;
}

int ts_http_head_parse(char *buf, size_t len, bool full, struct ts_http_head *h)
{
	char *p = buf, *end = buf + len, *head_end = NULL, *nl, *ce;
	int rc;

	memset(h, 0, sizeof *h);
	/* §2.2: empty lines before the request line are ignored */
	while (p < end && (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')))
		p += *p == '\n' ? 1 : 2;
	/* the head ends at the first empty line */
	for (char *q = p; q < end && (nl = memchr(q, '\n', (size_t)(end - q))) != NULL; q = nl + 1) {
		char *next = nl + 1;
		if (next < end && *next == '\n') {
			head_end = next + 1;
			break;
		}
		if (next + 1 < end && next[0] == '\r' && next[1] == '\n') {
			head_end = next + 2;
			break;
		}
	}
	if (!head_end) {
		/* a request line longer than any allowed target: 414 at once */
		nl = memchr(p, '\n', (size_t)(end - p));
		if ((size_t)((nl ? nl : end) - p) > TS_HTTP_MAX_TARGET + 48)
			return 414;
		return full ? (nl ? 431 : 414) : -1;
	}
	h->head_len = (size_t)(head_end - buf);
	ce = NULL;
	nl = line_end(p, head_end, &ce);
	if (!nl || (rc = parse_request_line(p, ce, h)) != 0)
		return nl ? rc : 400;
	for (p = nl + 1; p < head_end; p = nl + 1) {
		nl = line_end(p, head_end, &ce);
		if (!nl || ce == p)
			break;   /* the empty line */
		if ((rc = parse_field(p, ce, h)) != 0)
			return rc;
	}
	return check_fields(h);
}

const char *ts_http_head_field(const struct ts_http_head *h, const char *name)
{
	for (int i = 0; i < h->nfields; i++)
		if (strcasecmp(h->fields[i].name, name) == 0)
			return h->fields[i].value;
	return NULL;
}

/* chunked = *chunk last-chunk trailer-section CRLF (RFC 9112 §7.1) */
enum { CH_SIZE, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_TRAILER,
       CH_TRAILER_LINE, CH_TRAILER_LF, CH_END_LF };

#define CHUNK_LINE_MAX 4096

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ts_http_chunked_feed(struct ts_http_chunked *c, const char *p, size_t n, size_t *used)
{
	size_t i = 0;

	while (i < n) {
		unsigned char b = (unsigned char)p[i];
		switch (c->state) {
		case CH_SIZE: {
			int d = hex_value(b);
			if (d >= 0) {
				if (c->digits == 15)
					goto bad;   /* 2^60: more than anyone sends, and no overflow */
				c->left = c->left * 16 + (uint64_t)d;
				c->digits++;
				i++;
				break;
			}
			if (c->digits == 0)
				goto bad;
			c->state = CH_EXT;
			c->line = 0;
			break;
		}
		case CH_EXT:   /* chunk-ext (or BWS before it): skipped, bounded */
			if (c->line == 0 && b != ';' && b != ' ' && b != '\t' && b != '\r' &&
			    b != '\n') {
				goto bad;   /* "5x": not a size */
			} else if (b == '\r') {
				c->state = CH_SIZE_LF;
			} else if (b == '\n') {
				goto size_done;
			} else if (!is_value_byte(b) || ++c->line > CHUNK_LINE_MAX) {
				goto bad;
			}
			i++;
			break;
		case CH_SIZE_LF:
			if (b != '\n')
				goto bad;
		size_done:
			i++;
			c->digits = 0;
			c->state = c->left == 0 ? CH_TRAILER : CH_DATA;
			break;
		case CH_DATA: {
			size_t take = n - i;
			if ((uint64_t)take > c->left)
				take = (size_t)c->left;
			c->left -= take;
			i += take;
			if (c->left == 0)
				c->state = CH_DATA_CR;
			break;
		}
		case CH_DATA_CR:
			if (b == '\n') {
				c->state = CH_SIZE;
			} else if (b == '\r') {
				c->state = CH_DATA_LF;
			} else {
				goto bad;
			}
			i++;
			break;
		case CH_DATA_LF:
			if (b != '\n')
				goto bad;
			c->state = CH_SIZE;
			i++;
			break;
		case CH_TRAILER:   /* at the start of a trailer line, or the end */
			i++;
			if (b == '\n') {
				*used = i;
				return 1;
			}
			if (b == '\r') {
				c->state = CH_END_LF;
			} else if (b == ' ' || b == '\t' || !is_value_byte(b)) {
				goto bad;   /* obs-fold or a control byte */
			} else {
				c->state = CH_TRAILER_LINE;
				c->line = 1;
			}
			break;
		case CH_END_LF:
			if (b != '\n')
				goto bad;
			*used = i + 1;
			return 1;
		case CH_TRAILER_LINE:
			if (b == '\r') {
				c->state = CH_TRAILER_LF;
			} else if (b == '\n') {
				c->state = CH_TRAILER;
			} else if (!is_value_byte(b) || ++c->line > CHUNK_LINE_MAX) {
				goto bad;
			}
			i++;
			break;
		case CH_TRAILER_LF:
			if (b != '\n')
				goto bad;
			c->state = CH_TRAILER;
			i++;
			break;
		default:
			goto bad;
		}
	}
	*used = i;
	return 0;
bad:
	*used = i;
	return 400;
}
