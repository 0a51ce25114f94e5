/*
 * common.c - helpers every protocol's handler uses: headers, the public
 * base URL, opening an image through the pool, validators and conditional
 * requests, and the response cache.
 *
 * Validators come from the file's identity (device, inode, size, mtime) and
 * the normalised request, never from the bytes, so a 304 costs no decoding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "serve.h"
#include "tessera/conn_watch.h"
#include "tessera/hash.h"

/* An empty value adds no header: an empty setting (cache_control = "")
 * means none, never "Cache-Control: ". */
void ts_serve_header(struct request *r, const char *name, const char *value)
{
	if (value && *value)
		ts_response_header(r->resp, name, value);
}

bool ts_serve_set_body(struct request *r, const void *data, size_t n)
{
	ts_buf_clear(&r->resp->body);
	return ts_buf_append(&r->resp->body, data, n);
}

void ts_serve_http_date(time_t t, char *out, size_t n)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

bool ts_serve_host_is_sane(const char *h)
{
	if (!h || !*h || strlen(h) > 255)
		return false;
	for (; *h; h++) {
		unsigned char c = (unsigned char)*h;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_'))
			return false;
	}
	return true;
}

/* The host part of "name", "name:port" or "[v6]:port", as (start, length). */
static size_t host_name_len(const char *h)
{
	const char *colon;

	if (h[0] == '[') {
		const char *end = strchr(h, ']');
		return end ? (size_t)(end - h) + 1 : strlen(h);
	}
	colon = strchr(h, ':');
	return colon ? (size_t)(colon - h) : strlen(h);
}

/*
 * Whether host is one of allowed_hosts (comma-separated, spaces allowed;
 * "" = any): an entry with a port matches that host:port only, an entry
 * without one matches the name on any port.  Case-insensitive (RFC 9110
 * §4.2.3: the host is).  *first gets the first entry, for the fallback.
 */
bool ts_serve_host_allowed(const char *list, const char *host, const char **first,
                           size_t *first_len)
{
	const char *p = list;
	bool any = true;

	*first = NULL;
	*first_len = 0;
	while (p && *p) {
		size_t n;
		const char *e;

		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		e = p + strcspn(p, ",");
		n = (size_t)(e - p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n > 0) {
			bool with_port = memchr(p, ':', n) && !(p[0] == '[' && p[n - 1] == ']');
			size_t hn = host ? (with_port ? strlen(host) : host_name_len(host)) : 0;

			if (!*first) {
				*first = p;
				*first_len = n;
			}
			any = false;
			if (host && hn == n && strncasecmp(host, p, n) == 0)
				return true;
		}
		p = e;
	}
	return any;
}

/*
 * The public URL prefix in front of the request path: the configured
 * base_url, or scheme://host from the request.  X-Forwarded-* only count
 * when trust_forwarded is on; a Host that is not a plain host[:port] is
 * ignored, so no header can break the JSON or the Location (field notes),
 * and one that allowed_hosts does not list is replaced by its first entry,
 * so no client can put a host of its choosing into ids others are served.
 */
const char *ts_serve_public_base(struct request *r)
{
	const struct ts_settings *s = r->srv->settings;
	const char *scheme = r->http->scheme ? r->http->scheme : "http";
	const char *host = r->http->host, *first;
	size_t first_len;

	if (s->base_url && *s->base_url)
		return s->base_url;
	if (s->trust_forwarded) {
		const char *fh = r->http->x_forwarded_host;
		const char *fp = r->http->x_forwarded_proto;
		if (fh && *fh) {
			const char *comma = strchr(fh, ',');
			char *one = ts_arena_strndup(r->arena, fh, comma ? (size_t)(comma - fh) : strlen(fh));
			if (one && ts_serve_host_is_sane(one))
				host = one;
		}
		if (fp && (strcmp(fp, "https") == 0 || strcmp(fp, "http") == 0))
			scheme = fp;
	}
	if (!ts_serve_host_is_sane(host))
		host = NULL;
	if (!ts_serve_host_allowed(s->allowed_hosts, host, &first, &first_len))
		host = ts_arena_strndup(r->arena, first, first_len);
	if (!host || !ts_serve_host_is_sane(host))
		host = "localhost";
	return ts_arena_printf(r->arena, "%s://%s", scheme, host);
}

/* Vary for an answer whose body holds ids: `vary`, plus the headers
 * ts_serve_public_base read when base_url does not fix the ids (RFC 9110
 * §12.5.5), so no shared cache hands one Host's ids to another. */
const char *ts_serve_vary_ids(struct request *r, const char *vary)
{
	const struct ts_settings *s = r->srv->settings;

	if (s->base_url && *s->base_url)
		return vary;
	return ts_arena_printf(r->arena, "%s, Host%s", vary,
	                       s->trust_forwarded ? ", X-Forwarded-Host, X-Forwarded-Proto" : "");
}

/* A strong ETag: the file's identity (device, inode, size, mtime) and what
 * was asked of it, so a replaced file or another rendering never shares a
 * tag. */
const char *ts_serve_etag(struct request *r, const struct file_id *f, const char *what)
{
	uint64_t h = TS_FNV1A_OFFSET;
	uint64_t parts[5] = {
		(uint64_t)f->st.st_dev, (uint64_t)f->st.st_ino, (uint64_t)f->st.st_size,
		(uint64_t)f->st.st_mtim.tv_sec, (uint64_t)f->st.st_mtim.tv_nsec
	};

	h = ts_hash_fnv1a(h, parts, sizeof parts);
	h = ts_hash_fnv1a(h, what, strlen(what));
	return ts_arena_printf(r->arena, "\"%016llx\"", (unsigned long long)h);
}

/* RFC 9110 §13.1.2: If-None-Match uses weak comparison. */
bool ts_serve_etag_matches(const char *inm, const char *etag)
{
	const char *p = inm;
	size_t elen = strlen(etag);

	while (p && *p) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (*p == '*')
			return true;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, etag, elen) == 0)
			return true;
		p = strchr(p, ',');
	}
	return false;
}

/* If-Modified-Since (RFC 9110 §13.1.3): only an IMF-fixdate (§5.6.7, the
 * one senders use) counts; "not modified since" means mtime <= the given
 * date, not equality. */
bool ts_serve_not_modified_since(const char *ims, time_t mtime)
{
	struct tm tm;
	const char *end;
	time_t since;

	if (!ims || !*ims)
		return false;
	memset(&tm, 0, sizeof tm);
	end = strptime(ims, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end || *end)
		return false;
	since = timegm(&tm);
	return since != (time_t)-1 && mtime <= since;
}

/* Validators and conditional GET.  Returns true when a 304 was produced. */
bool ts_serve_conditional(struct request *r, const struct file_id *f, const char *etag)
{
	const struct ts_http_request *h = r->http;
	char *lm = ts_arena_alloc(r->arena, 40);
	bool not_modified = false;

	if (lm)
		ts_serve_http_date(f->st.st_mtim.tv_sec, lm, 40);
	ts_serve_header(r, "ETag", etag);
	ts_serve_header(r, "Last-Modified", lm);
	ts_serve_header(r, "Cache-Control", r->srv->settings->cache_control);
	/* RFC 9110 §13.2.2: If-None-Match wins; If-Modified-Since only without it. */
	if (h->if_none_match && *h->if_none_match)
		not_modified = ts_serve_etag_matches(h->if_none_match, etag);
	else
		not_modified = ts_serve_not_modified_since(h->if_modified_since, f->st.st_mtim.tv_sec);
	if (not_modified) {
		r->resp->status = 304;
		r->resp->content_type = NULL;
		ts_buf_clear(&r->resp->body);
	}
	return not_modified;
}

ts_status ts_serve_open(struct request *r, const char *identifier, struct file_id *f,
                        struct ts_source **src)
{
	ts_status st;

	st = ts_resolve(r->srv->resolver, identifier, f->path, sizeof f->path, &f->st, &r->err);
	if (st)
		return st;
	/* On-demand pyramids: a flat source's pyramid once made, else the
	 * source (and its conversion queued); auto_pyramid.c. */
	if (r->srv->pyramids)
		return ts_auto_pyramid_open(r->srv->pyramids, r->srv->pool, f, src, &r->err);
	return ts_source_pool_get(r->srv->pool, f->path, &f->st, src, &r->err);
}

void ts_serve_close(struct request *r, const struct file_id *f, struct ts_source *src)
{
	ts_source_pool_release(r->srv->pool, &f->st, src);
}

/* Cache key: the file identity, then what was asked of it. */
const char *ts_serve_cache_key(struct request *r, const struct file_id *f, const char *what)
{
	return ts_arena_printf(r->arena, "%llu:%llu:%lld:%lld.%09ld|%s",
	                       (unsigned long long)f->st.st_dev, (unsigned long long)f->st.st_ino,
	                       (long long)f->st.st_size, (long long)f->st.st_mtim.tv_sec,
	                       f->st.st_mtim.tv_nsec, what);
}

/* Serve from the response cache when the entry exists. */
bool ts_serve_client_gone(struct request *r)
{
	if (!ts_conn_gone(&r->http->conn))
		return false;
	ts_error_set(&r->err, TS_ECLIENTGONE, "the client went away");
	return true;
}

bool ts_serve_from_cache(struct request *r, const char *key)
{
	const struct ts_cache_entry *e = ts_cache_get(r->srv->cache, key);
	const char *type;
	char ct[128];
	bool ok;

	if (e) {
		/* The copy happens outside the cache's lock; our reference keeps
		 * the bytes alive even if the entry is evicted meanwhile. */
		ok = ts_serve_set_body(r, e->data, e->len);
		if (ok) {
			r->resp->status = 200;
			r->resp->content_type = e->content_type;
			r->resp->outcome = "hit";
		}
		ts_cache_release(r->srv->cache, e);
		return ok;
	}
	/* Second tier: another instance may have made it. */
	ts_buf_clear(&r->resp->body);
	if (!ts_remote_cache_get(r->srv->remote, key, &r->resp->body, ct, sizeof ct))
		return false;
	type = ts_remote_cache_intern_type(ct);
	if (!type) {
		ts_buf_clear(&r->resp->body);
		return false;
	}
	r->resp->status = 200;
	r->resp->content_type = type;
	r->resp->outcome = "memcached";
	ts_cache_put(r->srv->cache, key, r->resp->body.data, r->resp->body.len, type);
	return true;
}

void ts_serve_cache_put(struct request *r, const char *key)
{
	if (!r->resp->outcome)
		r->resp->outcome = "render";   /* made for this request */
	ts_cache_put(r->srv->cache, key, r->resp->body.data, r->resp->body.len,
	             r->resp->content_type);
	ts_remote_cache_put(r->srv->remote, key, r->resp->body.data, r->resp->body.len,
	                    r->resp->content_type, 0);
}
