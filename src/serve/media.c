/*
 * media.c - the published media files themselves: /iiif/{item}/res/{file}
 * (presentation.md §4), audio, video, PDF, models, captions, ALTO and images
 * as downloads, with Range, If-Range, HEAD, validators and 304.
 *
 * {item} is a root-relative folder written as Image API identifiers are
 * ("/" as %2F, decoded once), or "top" for the root itself; {file} is one
 * plain name in it.  Only names whose extension is in the publishing table
 * (probe/media_type.c) are served, with that table's media type, so the
 * Content-Type always equals the `format` the Manifests publish.  The path
 * is confined to the root by the resolver, exactly as images are.
 *
 * The one idea: the bytes never pass through memory.  The answer carries
 * the open file and the range to send (struct ts_response's file body): the
 * embedded server sends it with sendfile, the FastCGI front end in bounded
 * chunks; behind nginx with media_accel_location set, the answer is only
 * headers and an X-Accel-Redirect to an internal location, and nginx sends
 * the file (Range and sendfile included) itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "serve.h"
#include "tessera/byte_range.h"
#include "tessera/checked.h"
#include "tessera/media.h"

static const char not_found[] = "file not found";

bool ts_serve_is_media(const char *rest)
{
	const char *item_end, *file;

	if (!rest || rest[0] != '/')
		return false;
	item_end = strchr(rest + 1, '/');
	if (!item_end || item_end == rest + 1 || strncmp(item_end, "/res/", 5) != 0)
		return false;
	file = item_end + 5;
	return *file && !strchr(file, '/') && strcmp(file, "info.json") != 0 &&
	       strchr(file, '.') != NULL;
}

/* Every component of a decoded folder path is a plain, visible name: no
 * "" (a leading, doubled or trailing '/'), and nothing starting with '.'
 * (".", "..", and dot folders, which publishing ignores). */
static bool folder_ok(const char *item)
{
	const char *p = item;

	for (;;) {
		if (*p == '/' || *p == '\0' || *p == '.')
			return false;
		p = strchr(p, '/');
		if (!p)
			return true;
		p++;
	}
}

/* A file name is one component, not hidden. */
static bool file_ok(const char *name)
{
	return name[0] && name[0] != '.' && !strchr(name, '/');
}

/* Decode one raw URL segment once into the arena. */
static ts_status decode_segment(struct request *r, const char *raw, size_t n, char **out)
{
	char *copy = ts_arena_strndup(r->arena, raw, n), *dec = ts_arena_alloc(r->arena, n + 1);

	if (!copy || !dec)
		return ts_error_set(&r->err, TS_EINTERNAL, "out of memory");
	if (!ts_percent_decode(copy, dec))
		return ts_error_set(&r->err, TS_ENOTFOUND, not_found);
	*out = dec;
	return TS_OK;
}

/* The root-relative path "item/file" (or "file" for the item "top"). */
static ts_status media_rel_path(struct request *r, const char *rest, const char **rel,
                                const char **name)
{
	const char *item_end = strchr(rest + 1, '/');
	const char *file_raw = item_end + 5;
	char *item, *file;
	ts_status st;

	st = decode_segment(r, rest + 1, (size_t)(item_end - rest - 1), &item);
	if (st == TS_OK)
		st = decode_segment(r, file_raw, strlen(file_raw), &file);
	if (st)
		return st;
	if (!file_ok(file) || (strcmp(item, "top") != 0 && !folder_ok(item))) {
		ts_error_detail(&r->err, "media path refused (hidden, empty or leaving the root)");
		return ts_error_set(&r->err, TS_ENOTFOUND, not_found);
	}
	*name = file;
	*rel = strcmp(item, "top") == 0 ? file : ts_arena_printf(r->arena, "%s/%s", item, file);
	if (!*rel)
		return ts_error_set(&r->err, TS_EINTERNAL, "out of memory");
	return TS_OK;
}

/* X-Accel-Redirect value: location + "/" + the path below the root, every
 * byte but unreserved ones and '/' percent-encoded.  nginx decodes it once
 * (ngx_http_parse_unsafe_uri) and refuses ".." in it; encoding '?' keeps it
 * from being split off as arguments, '%' from being decoded twice. */
static const char *accel_target(struct request *r, const char *location, const char *path)
{
	const char *root = ts_resolver_root(r->srv->resolver);
	size_t rootlen = strlen(root), len, cap, o = 0;
	const char *rel;
	char *out;

	/* The resolved path is root + "/" + the path below it. */
	if (strcmp(root, "/") == 0)
		rootlen = 0;
	if (strncmp(path, root, rootlen) != 0 || path[rootlen] != '/')
		return NULL;
	rel = path + rootlen + 1;
	len = strlen(rel);
	if (!ts_mul_size(len, 3, &cap) || !ts_add_size(cap, strlen(location) + 2, &cap))
		return NULL;
	out = ts_arena_alloc(r->arena, cap);
	if (!out)
		return NULL;
	o = (size_t)snprintf(out, cap, "%s/", location);
	ts_encode_path_into(out + o, rel, TS_ENCODE_KEEP_URI_PATH);
	return out;
}

/* Open the resolved file and check it is the one the resolver confined:
 * a name swapped for a symlink in between leads to another inode.
 * O_NONBLOCK so that a FIFO swapped in cannot hang the open; it is cleared
 * again (MHD and pread want a blocking descriptor). */
static ts_status open_same(struct request *r, struct file_id *f, int *fd_out)
{
	struct stat st;
	int fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0) {
		ts_error_detail(&r->err, "open %s: %s", f->path, strerror(errno));
		return ts_error_set(&r->err, errno == ENOENT ? TS_ENOTFOUND : TS_EINTERNAL,
		                    errno == ENOENT ? not_found : "cannot open the file");
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_dev != f->st.st_dev ||
	    st.st_ino != f->st.st_ino) {
		close(fd);
		ts_error_detail(&r->err, "%s changed between resolving and opening", f->path);
		return ts_error_set(&r->err, TS_ENOTFOUND, not_found);
	}
	if (fcntl(fd, F_SETFL, 0) != 0) {
		close(fd);
		ts_error_detail(&r->err, "fcntl %s: %s", f->path, strerror(errno));
		return ts_error_set(&r->err, TS_EINTERNAL, "cannot open the file");
	}
	f->st = st;   /* size and mtime as now: the validators describe what is sent */
	*fd_out = fd;
	return TS_OK;
}

/* RFC 9110 §15.5.17: 416 names the current length; not stored by caches. */
static void unsatisfiable(struct request *r, uint64_t size)
{
	struct ts_response *resp = r->resp;

	resp->status = 416;
	resp->nheaders = 0;
	resp->content_type = "text/plain; charset=utf-8";
	ts_buf_clear(&resp->body);
	ts_buf_append_str(&resp->body, "416 Range Not Satisfiable\n");
	ts_serve_header(r, "Content-Range",
	                ts_arena_printf(r->arena, "bytes */%" PRIu64, size));
	ts_serve_header(r, "Accept-Ranges", "bytes");
	ts_serve_header(r, "Cache-Control", "no-store");
}

ts_status ts_serve_media(struct request *r, const char *rest)
{
	const struct ts_http_request *h = r->http;
	const struct ts_media_type *type;
	const char *rel = NULL, *name = NULL, *etag, *accel;
	struct ts_byte_range part;
	enum ts_range_answer ans = TS_RANGE_WHOLE;
	bool get = strcmp(h->method, "GET") == 0, ranged = false;
	struct file_id f;
	uint64_t size;
	int fd = -1;
	ts_status st;

	r->route = R_IIIF_MEDIA;
	st = media_rel_path(r, rest, &rel, &name);
	if (st)
		return st;
	type = ts_media_type_of(name);
	if (!type) {
		ts_error_detail(&r->err, "media: %s is not a published type", name);
		return ts_error_set(&r->err, TS_ENOTFOUND, not_found);
	}
	st = ts_resolve_exact(r->srv->resolver, rel, f.path, sizeof f.path, &f.st, &r->err);
	if (st) {
		/* the resolver says "image"; keep its detail for the log */
		snprintf(r->err.msg, sizeof r->err.msg, "%s", not_found);
		return st;
	}
	st = open_same(r, &f, &fd);
	if (st)
		return st;
	etag = ts_serve_etag(r, &f, "media");
	if (!etag)
		goto oom;
	if (ts_serve_conditional(r, &f, etag)) {
		close(fd);
		return TS_OK;   /* 304 */
	}
	r->resp->content_type = type->mime;
	size = (uint64_t)f.st.st_size;
	/* Range is defined for GET only (RFC 9110 §14.2); HEAD gets the 200
	 * headers.  A failed If-Range means the whole file (§13.1.5). */
	if (h->range && get && ts_byte_range_if_range(h->if_range, etag, f.st.st_mtim.tv_sec)) {
		ranged = true;
		ans = ts_byte_range_parse(h->range, size, &part);
	}
	if (ans == TS_RANGE_UNSATISFIABLE) {
		close(fd);
		unsatisfiable(r, size);
		return TS_OK;
	}
	accel = h->accel_location && *h->accel_location ? h->accel_location : NULL;
	if (accel && get &&
	    (!ranged || (ans == TS_RANGE_PART && ts_byte_range_is_simple(h->range)))) {
		/* nginx sends the file and evaluates Range and If-Range again,
		 * against the same file and the ETag the shipped conf copies from
		 * ours, so on these it reaches the same answer.  What it could
		 * judge differently we keep: 416 (above), HEAD, and any Range not
		 * in the plain single form (nginx rejects some we ignore or
		 * accept, e.g. 20-digit positions), sent below. */
		const char *target = accel_target(r, accel, f.path);

		close(fd);
		if (!target) {
			ts_error_detail(&r->err, "X-Accel-Redirect for %s: not below the root, or no memory",
			                f.path);
			return ts_error_set(&r->err, TS_EINTERNAL, "cannot hand the file to the web server");
		}
		r->resp->status = 200;
		ts_serve_header(r, "X-Accel-Redirect", target);
		return TS_OK;
	}
	ts_serve_header(r, "Accept-Ranges", "bytes");
	if (ans == TS_RANGE_PART) {
		r->resp->status = 206;
		ts_serve_header(r, "Content-Range",
		                ts_arena_printf(r->arena, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64,
		                                part.first, part.first + part.length - 1, size));
		ts_response_set_file(r->resp, fd, part.first, part.length);
		return TS_OK;
	}
	r->resp->status = 200;
	ts_response_set_file(r->resp, fd, 0, size);
	return TS_OK;
oom:
	if (fd >= 0)
		close(fd);
	return ts_error_set(&r->err, TS_EINTERNAL, "out of memory");
}
