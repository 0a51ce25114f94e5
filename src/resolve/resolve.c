/*
 * resolve.c - from an identifier to a file under the image root, and the
 * list of images for the viewer page.
 *
 * Sits between the protocol parsers and the sources: the identifier has
 * been percent-decoded once ("a%2Fb" became "a/b", a sub-folder); we find
 * the file it names, trying the configured suffixes after the identifier as
 * given.
 *
 * The one idea that keeps files outside the root out of reach: we never
 * trust the spelling of a path, only where it really leads.  The identifier
 * is first checked for the obvious tricks (absolute, "..", ".", empty
 * components, backslashes, control characters), then every candidate is
 * opened (O_PATH: no data, no permission to read needed) relative to the
 * root with openat2(RESOLVE_BENEATH), so the kernel refuses any walk,
 * symlinks included, that would leave the root.  A symlink inside the root
 * that points outside is therefore refused; one that stays inside is
 * followed, and the path handed on is root + "/" + identifier.  That is one
 * open, one fstat and one close per candidate where realpath() read every
 * component as a link (four readlinks for root/file).  What openat2 does
 * not find (a missing file, an absolute symlink, which RESOLVE_BENEATH
 * refuses even when it points inside) goes through realpath(), which must
 * land on the canonical root or below "root/"; so does everything on
 * kernels without openat2 (before 5.6) or behind a seccomp filter that
 * refuses it.  The root is held open from start-up: after replacing the
 * root directory itself, restart the daemon.
 * Every refusal looks exactly like a missing file: 404 "image not found",
 * with the details (never shown to clients) in the log.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <jansson.h>
#if defined(__linux__) && defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define HAVE_OPENAT2_H 1
#endif
#endif

#include "tessera/buf.h"
#include "tessera/checked.h"
#include "tessera/resolve.h"

#define MAX_SUFFIXES   16
#define LIST_MAX_DEPTH 8
#define LIST_MAX       2000

struct ts_resolver {
	char root[PATH_MAX];      /* canonical, no trailing slash unless "/" */
	int root_fd;              /* O_PATH descriptor of root, or -1 */
	bool beneath;             /* openat2(RESOLVE_BENEATH) works here */
	size_t rootlen;
	int nsuffixes;
	char *suffixes[MAX_SUFFIXES];
};

static const char not_found[] = "image not found";

/* Split ".tif, .tiff,.jp2" into trimmed, non-empty entries. */
static bool parse_suffixes(struct ts_resolver *r, const char *list)
{
	const char *s = list ? list : "";

	while (*s) {
		const char *end;
		size_t n;

		while (*s == ',' || *s == ' ' || *s == '\t')
			s++;
		end = s;
		while (*end && *end != ',')
			end++;
		n = (size_t)(end - s);
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n) {
			if (r->nsuffixes == MAX_SUFFIXES)
				return false;
			r->suffixes[r->nsuffixes] = strndup(s, n);
			if (!r->suffixes[r->nsuffixes])
				return false;
			r->nsuffixes++;
		}
		s = end;
	}
	return true;
}

/* open rel beneath dirfd without following it out: an O_PATH descriptor,
 * or -1 with errno (EXDEV when the walk would leave, ENOSYS without
 * openat2). */
static int open_beneath(int dirfd, const char *rel)
{
#if defined(HAVE_OPENAT2_H) && defined(SYS_openat2)
	struct open_how how;

	memset(&how, 0, sizeof how);
	how.flags = O_PATH | O_CLOEXEC;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	return (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
#else
	(void)dirfd;
	(void)rel;
	errno = ENOSYS;
	return -1;
#endif
}

/* Whether openat2 is there and allowed (kernel 5.6+, no seccomp veto). */
static bool probe_openat2(int root_fd)
{
	int fd = open_beneath(root_fd, ".");

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

struct ts_resolver *ts_resolver_create(const char *root, const char *suffixes,
                                       struct ts_error *err)
{
	struct ts_resolver *r = NULL;
	struct stat st;
	char *real = NULL;

	if (!root || !root[0]) {
		ts_error_set(err, TS_EINTERNAL, "no image root configured");
		goto fail;
	}
	real = realpath(root, NULL);
	if (!real || stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
		ts_error_set(err, TS_EINTERNAL, "the image root is not a directory");
		ts_error_detail(err, "image root %s: %s", root,
		                real ? "not a directory" : strerror(errno));
		goto fail;
	}
	if (strlen(real) >= sizeof r->root) {
		ts_error_set(err, TS_EINTERNAL, "the image root path is too long");
		goto fail;
	}
	r = calloc(1, sizeof *r);
	if (!r) {
		ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto fail;
	}
	r->root_fd = -1;
	strcpy(r->root, real);
	r->rootlen = strlen(r->root);
	r->root_fd = open(r->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	r->beneath = r->root_fd >= 0 && probe_openat2(r->root_fd);
	if (!parse_suffixes(r, suffixes)) {
		ts_error_set(err, TS_EINTERNAL, "too many or invalid suffixes (at most %d)",
		             MAX_SUFFIXES);
		goto fail;
	}
	free(real);
	return r;
fail:
	free(real);
	ts_resolver_destroy(r);
	return NULL;
}

void ts_resolver_destroy(struct ts_resolver *r)
{
	int i;

	if (!r)
		return;
	for (i = 0; i < r->nsuffixes; i++)
		free(r->suffixes[i]);
	if (r->root_fd >= 0)
		close(r->root_fd);
	free(r);
}

const char *ts_resolver_root(const struct ts_resolver *r)
{
	return r->root;
}

/* True when every component is a plain name: not "", ".", "..", and no
 * backslash or control character anywhere. */
static bool identifier_ok(const char *id)
{
	const char *p = id, *start = id;

	if (!id[0] || id[0] == '/')
		return false;
	for (;; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '/' || c == '\0') {
			size_t n = (size_t)(p - start);

			if (n == 0 || (n == 1 && start[0] == '.') ||
			    (n == 2 && start[0] == '.' && start[1] == '.'))
				return false;
			if (c == '\0')
				return true;
			start = p + 1;
		} else if (c < 0x20 || c == 0x7f || c == '\\') {
			return false;
		}
	}
}

/* A canonical path is inside when it is the root or below root + "/". */
static bool inside_root(const struct ts_resolver *r, const char *real)
{
	if (r->rootlen == 1)   /* root is "/" */
		return real[0] == '/';
	return strncmp(real, r->root, r->rootlen) == 0 &&
	       (real[r->rootlen] == '/' || real[r->rootlen] == '\0');
}

/* Try root/id+suffix.  0 when it is a regular file inside the root. */
static int try_candidate(const struct ts_resolver *r, const char *id, const char *suffix,
                         char *path, size_t n, struct stat *st)
{
	char cand[PATH_MAX], real[PATH_MAX];
	int len;

	len = snprintf(cand, sizeof cand, "%s/%s%s", r->rootlen == 1 ? "" : r->root, id,
	               suffix);
	if (len < 0 || (size_t)len >= sizeof cand)
		return -1;
	if (r->beneath) {
		/* The part after "root/" is the identifier and suffix. */
		int fd = open_beneath(r->root_fd, cand + (r->rootlen == 1 ? 1 : r->rootlen + 1));
		bool regular;

		if (fd >= 0) {
			regular = fstat(fd, st) == 0 && S_ISREG(st->st_mode);
			close(fd);
			if (!regular || (size_t)len >= n)
				return -1;
			memcpy(path, cand, (size_t)len + 1);
			return 0;
		}
		/* Refused or missing: realpath decides below.  RESOLVE_BENEATH
		 * also refuses an absolute symlink whose target is inside the
		 * root, which realpath follows; a miss costs both, a hit one. */
	}
	if (!realpath(cand, real))
		return -1;
	if (!inside_root(r, real))
		return -2;
	if (stat(real, st) != 0 || !S_ISREG(st->st_mode))
		return -1;
	if (strlen(real) >= n)
		return -1;
	strcpy(path, real);
	return 0;
}

/* ts_resolve, trying the configured suffixes only when with_suffixes. */
static ts_status resolve(const struct ts_resolver *r, const char *identifier, bool with_suffixes,
                         char *path, size_t n, struct stat *st, struct ts_error *err)
{
	struct stat tmp;
	bool escaped = false;
	int i, rc, nsuffixes = with_suffixes ? r->nsuffixes : 0;

	if (!st)
		st = &tmp;
	if (!identifier || !path || n == 0) {
		ts_error_detail(err, "resolve: invalid arguments");
		return ts_error_set(err, TS_ENOTFOUND, not_found);
	}
	if (!identifier_ok(identifier) || strlen(identifier) >= PATH_MAX) {
		ts_error_detail(err, "identifier refused (leaves the root or malformed)");
		return ts_error_set(err, TS_ENOTFOUND, not_found);
	}
	for (i = -1; i < nsuffixes; i++) {
		rc = try_candidate(r, identifier, i < 0 ? "" : r->suffixes[i], path, n, st);
		if (rc == 0)
			return TS_OK;
		if (rc == -2)
			escaped = true;
	}
	path[0] = '\0';
	ts_error_detail(err, "%s under %s",
	                escaped ? "symlink leads outside the root" : "no such file", r->root);
	return ts_error_set(err, TS_ENOTFOUND, not_found);
}

ts_status ts_resolve(const struct ts_resolver *r, const char *identifier, char *path,
                     size_t n, struct stat *st, struct ts_error *err)
{
	if (!r) {
		ts_error_detail(err, "resolve: invalid arguments");
		return ts_error_set(err, TS_ENOTFOUND, not_found);
	}
	return resolve(r, identifier, true, path, n, st, err);
}

ts_status ts_resolve_exact(const struct ts_resolver *r, const char *rel, char *path, size_t n,
                           struct stat *st, struct ts_error *err)
{
	if (!r) {
		ts_error_detail(err, "resolve: invalid arguments");
		return ts_error_set(err, TS_ENOTFOUND, not_found);
	}
	return resolve(r, rel, false, path, n, st, err);
}

int ts_resolve_open(const struct ts_resolver *r, const char *rel)
{
#if defined(HAVE_OPENAT2_H) && defined(SYS_openat2)
	struct open_how how;

	if (!r || !r->beneath) {
		errno = ENOSYS;
		return -1;
	}
	if (!rel || !identifier_ok(rel) || strlen(rel) >= PATH_MAX) {
		errno = ENOENT;
		return -1;
	}
	memset(&how, 0, sizeof how);
	/* O_NONBLOCK, O_NOCTTY: a FIFO or terminal swapped in for the file
	 * neither blocks the open nor becomes ours */
	how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	return (int)syscall(SYS_openat2, r->root_fd, rel, &how, sizeof how);
#else
	(void)r;
	(void)rel;
	errno = ENOSYS;
	return -1;
#endif
}

/* ---- listing ---------------------------------------------------------- */

struct list_state {
	const struct ts_resolver *r;
	char **ids;
	size_t n, cap;
	bool full;
	bool oom;
	ts_resolver_keep_fn keep;   /* NULL: by suffix */
	void *keep_arg;
};

static bool name_listed(const struct ts_resolver *r, const char *name)
{
	static const char *const builtin[] = { ".jpg", ".jpeg", ".png" };
	size_t len = strlen(name), i;

	for (i = 0; i < (size_t)r->nsuffixes + 3; i++) {
		const char *suf = i < (size_t)r->nsuffixes ? r->suffixes[i]
		                                           : builtin[i - r->nsuffixes];
		size_t sl = strlen(suf);

		if (sl < len && strcasecmp(name + len - sl, suf) == 0)
			return true;
	}
	return false;
}

static void list_add(struct list_state *ls, const char *rel)
{
	char *id;

	if (ls->n == ls->cap) {
		size_t cap = ls->cap ? ls->cap * 2 : 64;
		char **ids = realloc(ls->ids, cap * sizeof *ids);

		if (!ids) {
			ls->oom = true;
			return;
		}
		ls->ids = ids;
		ls->cap = cap;
	}
	id = ts_encode_path(rel, TS_ENCODE_KEEP_IMAGE_ID);
	if (!id) {
		ls->oom = true;
		return;
	}
	ls->ids[ls->n++] = id;
	if (ls->n >= LIST_MAX)
		ls->full = true;
}

/* Walk dir (absolute path abs, relative path rel, "" at the root).
 * Symlinks are followed only to files inside the root: a symlinked
 * directory is never entered, which also rules out loops. */
static void list_dir(struct list_state *ls, const char *abs, const char *rel, int depth)
{
	DIR *d = opendir(abs);
	struct dirent *de;

	if (!d)
		return;
	while (!ls->full && !ls->oom && (de = readdir(d)) != NULL) {
		char child_abs[PATH_MAX], child_rel[PATH_MAX], real[PATH_MAX];
		struct stat lst, st;
		int a, b;

		if (de->d_name[0] == '.')
			continue;   /* ".", "..", and dotfiles */
		if (!identifier_ok(de->d_name))
			continue;   /* control characters or backslash: unreachable */
		a = snprintf(child_abs, sizeof child_abs, "%s/%s", abs, de->d_name);
		b = snprintf(child_rel, sizeof child_rel, "%s%s%s", rel, rel[0] ? "/" : "",
		             de->d_name);
		if (a < 0 || b < 0 || (size_t)a >= sizeof child_abs ||
		    (size_t)b >= sizeof child_rel)
			continue;
		if (lstat(child_abs, &lst) != 0)
			continue;
		if (S_ISDIR(lst.st_mode)) {
			if (depth + 1 < LIST_MAX_DEPTH)
				list_dir(ls, child_abs, child_rel, depth + 1);
			continue;
		}
		if (S_ISLNK(lst.st_mode)) {
			if (!realpath(child_abs, real) || !inside_root(ls->r, real))
				continue;
			if (stat(real, &st) != 0 || !S_ISREG(st.st_mode))
				continue;
		} else if (!S_ISREG(lst.st_mode)) {
			continue;
		}
		if (ls->keep ? ls->keep(ls->keep_arg, child_rel, S_ISLNK(lst.st_mode) ? &st : &lst)
		             : name_listed(ls->r, de->d_name))
			list_add(ls, child_rel);
	}
	closedir(d);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static ts_status list_oom(const struct ts_resolver *r, struct ts_error *err)
{
	ts_error_detail(err, "listing %s: out of memory", r->root);
	return ts_error_set(err, TS_EINTERNAL, "cannot list images");
}

ts_status ts_resolver_list(const struct ts_resolver *r, struct ts_buf *out_json,
                           struct ts_error *err)
{
	return ts_resolver_list_kept(r, NULL, NULL, out_json, err);
}

ts_status ts_resolver_list_kept(const struct ts_resolver *r, ts_resolver_keep_fn keep,
                                void *keep_arg, struct ts_buf *out_json, struct ts_error *err)
{
	struct list_state ls = { r, NULL, 0, 0, false, false, keep, keep_arg };
	json_t *arr = NULL;
	char *text = NULL;
	ts_status st = TS_OK;
	size_t i;

	list_dir(&ls, r->root, "", 0);
	arr = json_array();
	if (ls.oom || !arr) {
		st = list_oom(r, err);
		goto fail;
	}
	qsort(ls.ids, ls.n, sizeof *ls.ids, cmp_str);
	for (i = 0; i < ls.n; i++) {
		if (json_array_append_new(arr, json_string(ls.ids[i])) != 0) {
			st = list_oom(r, err);
			goto fail;
		}
	}
	text = json_dumps(arr, JSON_INDENT(1));
	if (!text || !ts_buf_append_str(out_json, text) || !ts_buf_append_str(out_json, "\n")) {
		st = list_oom(r, err);
		goto fail;
	}
fail:
	free(text);
	json_decref(arr);
	for (i = 0; i < ls.n; i++)
		free(ls.ids[i]);
	free(ls.ids);
	return st;
}
