/*
 * catalogue.c - one folder of the image root, read once, as the
 * Presentation builder sees it (present.h, presentation.md §1).
 *
 * The tree is the catalogue: a folder's entries are its sub-folders and
 * its published files (by the file-type table of media.h), in natural,
 * case-insensitive order so that p2 comes before p10.  The sidecars
 * (iiif.json, metadata.csv, a hand-made manifest.json) are read here too,
 * bounded, so the rest of the builder never touches the file system except
 * through the probes.
 *
 * The one idea for confinement: every access starts from the root's
 * descriptor and walks down with openat(O_NOFOLLOW), one name at a time,
 * refusing ".", "..", and names starting with '.' or '_'; a symlink is
 * never entered as a folder, and is kept as a file only when its target
 * (realpath) lies inside the root - the resolver's rule for images.
 *
 * The fingerprint hashes every entry's name, identity, size and mtime (a
 * folder's mtime alone misses a file rewritten in place) and the sidecars'
 * bytes, so a cached Manifest is valid exactly while it is unchanged.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tessera/checked.h"
#include "tessera/hash.h"
#include "tessera/present.h"

#include "parallel.h"

/* Folders nest at most this deep when asking whether they hold media. */
#define HOLDS_MEDIA_DEPTH 8

static bool name_ignored(const char *name)
{
	/* presentation.md §1: names starting with '.' or '_' are ignored
	 * (this also covers "." and ".."). */
	return name[0] == '.' || name[0] == '_' || name[0] == '\0';
}

/* Compare the digit runs a[0..na) and b[0..nb) as numbers of any length. */
static int digits_cmp(const char *a, size_t na, const char *b, size_t nb)
{
	while (na > 1 && *a == '0') {
		a++;
		na--;
	}
	while (nb > 1 && *b == '0') {
		b++;
		nb--;
	}
	if (na != nb)
		return na < nb ? -1 : 1;
	for (size_t i = 0; i < na; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return 0;
}

int ts_catalogue_natcmp(const char *a, const char *b)
{
	const char *pa = a, *pb = b;

	while (*pa && *pb) {
		if (isdigit((unsigned char)*pa) && isdigit((unsigned char)*pb)) {
			size_t na = 0, nb = 0;
			int c;

			while (isdigit((unsigned char)pa[na]))
				na++;
			while (isdigit((unsigned char)pb[nb]))
				nb++;
			c = digits_cmp(pa, na, pb, nb);
			if (c)
				return c;
			pa += na;
			pb += nb;
			continue;
		}
		int ca = tolower((unsigned char)*pa), cb = tolower((unsigned char)*pb);
		if (ca != cb)
			return ca < cb ? -1 : 1;
		pa++;
		pb++;
	}
	if (*pa || *pb)
		return *pa ? 1 : -1;
	return strcmp(a, b);   /* "p01" vs "p1", "A" vs "a": still a total order */
}

int ts_catalogue_paint_rank(enum ts_media_kind k)
{
	switch (k) {
	case TS_MEDIA_MODEL: return 5;
	case TS_MEDIA_VIDEO: return 4;
	case TS_MEDIA_SOUND: return 3;
	case TS_MEDIA_IMAGE: return 2;
	case TS_MEDIA_TEXT:  return 1;
	default:             return 0;
	}
}

int ts_catalogue_open_dir(int root_fd, const char *rel)
{
	int fd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	const char *p = rel;

	while (fd >= 0 && *p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		char name[NAME_MAX + 1];
		int next;

		if (n == 0 || n > NAME_MAX) {
			close(fd);
			errno = ENOENT;
			return -1;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		if (name_ignored(name)) {
			close(fd);
			errno = ENOENT;
			return -1;
		}
		next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
		p += n;
		if (*p == '/')
			p++;
		if (*p == '\0' && slash)   /* a trailing '/' is an empty name */
			break;
	}
	if (fd >= 0 && *rel && rel[strlen(rel) - 1] == '/') {
		close(fd);
		errno = ENOENT;
		return -1;
	}
	return fd;
}

/* Whether the symlink rel/name leads to somewhere inside the root; *st gets
 * its target's stat. */
static bool link_inside(const char *root_path, const char *rel, const char *name,
                        struct stat *st)
{
	char path[PATH_MAX], real[PATH_MAX];
	size_t rl = strlen(root_path);
	int n;

	n = snprintf(path, sizeof path, "%s/%s%s%s", root_path, rel, *rel ? "/" : "", name);
	if (n < 0 || (size_t)n >= sizeof path || !realpath(path, real))
		return false;
	if (strncmp(real, root_path, rl) != 0 || real[rl] != '/')
		return false;
	return stat(real, st) == 0;
}

/* The stat of entry name of folder dfd under the confinement rule: false
 * when it is to be left out.  *linked (when not NULL) tells a symlink. */
static bool entry_stat(int dfd, const char *root_path, const char *rel, const char *name,
                       struct stat *st, bool *linked)
{
	if (fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) != 0)
		return false;
	if (linked)
		*linked = S_ISLNK(st->st_mode);
	if (S_ISLNK(st->st_mode)) {
		/* a link is followed to a file only, never into a folder */
		if (!link_inside(root_path, rel, name, st) || !S_ISREG(st->st_mode))
			return false;
	}
	return S_ISREG(st->st_mode) || S_ISDIR(st->st_mode);
}

/* Read the regular file name of dfd (no symlink) whole, at most max bytes,
 * NUL-terminated.  500 when larger or unreadable. */
static ts_status read_small(int dfd, const char *rel, const char *name, size_t max,
                            char **out, size_t *len, struct stat *st, struct ts_error *err)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	size_t got = 0, cap;
	char *buf = NULL;

	if (fd < 0 || fstat(fd, st) != 0 || !S_ISREG(st->st_mode))
		goto unreadable;
	if ((uint64_t)st->st_size > max) {
		close(fd);
		return ts_error_set(err, TS_EINTERNAL, "%s%s%s: larger than %zu bytes", rel,
		                    *rel ? "/" : "", name, max);
	}
	cap = (size_t)st->st_size + 1;
	buf = malloc(cap);
	if (!buf)
		goto unreadable;
	while (got < cap - 1) {
		ssize_t r = read(fd, buf + got, cap - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto unreadable;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	close(fd);
	*out = buf;
	*len = got;
	return TS_OK;
unreadable:
	free(buf);
	if (fd >= 0)
		close(fd);
	ts_error_set(err, TS_EINTERNAL, "%s%s%s: cannot be read", rel, *rel ? "/" : "", name);
	ts_error_detail(err, "%s", strerror(errno));
	return TS_EINTERNAL;
}

/* A folder's entries straight from getdents64 (glibc's fdopendir adds an
 * fstat and two fcntls to every folder, and a collection reads one folder
 * per member): the descriptor stays the caller's. */
struct dir_reader {
	int fd;
	size_t pos, len;
	bool end;
	_Alignas(8) char buf[16384];   /* dirent64 records are 8-aligned */
};

static const struct dirent64 *dir_next(struct dir_reader *d)
{
	const struct dirent64 *de;

	if (d->pos >= d->len) {
		ssize_t n;

		if (d->end)
			return NULL;
		do {
			n = getdents64(d->fd, d->buf, sizeof d->buf);
		} while (n < 0 && errno == EINTR);
		if (n <= 0) {
			d->end = true;   /* the end, or an error: stop listing */
			return NULL;
		}
		d->pos = 0;
		d->len = (size_t)n;
	}
	de = (const struct dirent64 *)(const void *)(d->buf + d->pos);
	if (de->d_reclen == 0 || de->d_reclen > d->len - d->pos) {
		d->end = true;
		d->pos = d->len;
		return NULL;
	}
	d->pos += de->d_reclen;
	return de;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct ts_catalogue_entry *x = a, *y = b;
	return ts_catalogue_natcmp(x->name, y->name);
}

static uint64_t hash_stat(uint64_t h, const char *name, const struct stat *st)
{
	uint64_t parts[6] = {
		(uint64_t)st->st_dev, (uint64_t)st->st_ino, (uint64_t)st->st_size,
		(uint64_t)st->st_mtim.tv_sec, (uint64_t)st->st_mtim.tv_nsec, (uint64_t)st->st_mode
	};

	h = ts_hash_fnv1a(h, name, strlen(name) + 1);
	return ts_hash_fnv1a(h, parts, sizeof parts);
}

void ts_catalogue_free(struct ts_catalogue *c)
{
	if (!c)
		return;
	free(c->entries);
	free(c->names);
	free(c->rel);
	free(c->sidecar);
	free(c->csv);
	free(c->manifest);
	memset(c, 0, sizeof *c);
}

static char *dup_bytes(const char *p, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, p, n);
		d[n] = '\0';
	}
	return d;
}

bool ts_catalogue_copy(const struct ts_catalogue *from, struct ts_catalogue *out)
{
	size_t bytes;

	*out = *from;
	out->entries = NULL;
	out->names = NULL;
	out->n = 0;
	out->rel = strdup(from->rel);
	out->sidecar = from->sidecar ? dup_bytes(from->sidecar, from->sidecar_len) : NULL;
	out->csv = from->csv ? dup_bytes(from->csv, from->csv_len) : NULL;
	out->manifest = from->manifest ? dup_bytes(from->manifest, from->manifest_len) : NULL;
	if (!out->rel || (from->sidecar && !out->sidecar) || (from->csv && !out->csv) ||
	    (from->manifest && !out->manifest) ||
	    !ts_mul_size(from->n ? from->n : 1, sizeof *out->entries, &bytes) ||
	    !(out->entries = malloc(bytes)) ||
	    !(out->names = malloc(from->names_len ? from->names_len : 1)))
		goto fail;
	/* two blocks, whatever the number of entries */
	if (from->n) {
		memcpy(out->names, from->names, from->names_len);
		memcpy(out->entries, from->entries, from->n * sizeof *out->entries);
	}
	for (; out->n < from->n; out->n++)
		out->entries[out->n].name = out->names + (from->entries[out->n].name - from->names);
	return true;
fail:
	ts_catalogue_free(out);
	return false;
}

/* An entry between the listing and its stat (scan_fd). */
struct slot {
	size_t name;             /* its name's offset in the names block */
	unsigned char d_type;    /* as the listing says */
	bool keep, linked;       /* entry_stat's answer */
};

/* The entries' stats, [from, to) of them: each thread writes only its own. */
struct stats {
	int dfd;
	const char *root_path, *rel, *names;
	struct ts_catalogue_entry *v;
	struct slot *slots;
	bool sub_sidecars;
};

/* A folder's entries are stat'ed on several threads from this many on. */
#define PARALLEL_STATS 512

static void stat_range(void *arg, size_t from, size_t to)
{
	const struct stats *j = arg;

	for (size_t i = from; i < to; i++) {
		struct slot *sl = &j->slots[i];

		struct ts_catalogue_entry *e = &j->v[i];
		char sub[NAME_MAX + 16];
		struct stat st;

		sl->linked = false;
		sl->keep = entry_stat(j->dfd, j->root_path, j->rel, j->names + sl->name, &e->st,
		                      &sl->linked);
		e->has_sidecar = false;
		if (!sl->keep || !j->sub_sidecars || !S_ISDIR(e->st.st_mode) ||
		    (size_t)snprintf(sub, sizeof sub, "%s/iiif.json", j->names + sl->name) >= sizeof sub ||
		    fstatat(j->dfd, sub, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		e->has_sidecar = true;
		e->sidecar_id[0] = (uint64_t)st.st_ino;
		e->sidecar_id[1] = (uint64_t)st.st_size;
		e->sidecar_id[2] = (uint64_t)st.st_mtim.tv_sec;
		e->sidecar_id[3] = (uint64_t)st.st_mtim.tv_nsec;
	}
}

/* Grow *p (of *cap items of size each, n used) to take one more; while
 * *p is still the caller's small array (on its stack), into a new block. */
static bool grow(void **p, size_t *cap, size_t n, size_t size, const void *small)
{
	size_t ncap, bytes;
	void *q;

	if (n < *cap)
		return true;
	ncap = *cap * 2;
	if (!ts_mul_size(ncap, size, &bytes))
		return false;
	q = *p == small ? malloc(bytes) : realloc(*p, bytes);
	if (!q)
		return false;
	if (*p == small)
		memcpy(q, small, n * size);
	*p = q;
	*cap = ncap;
	return true;
}

/* A copy of the first n bytes of small in a block of its own. */
static void *unsmall(const void *small, size_t n)
{
	void *q = malloc(n ? n : 1);

	if (q && n)
		memcpy(q, small, n);
	return q;
}

/* Entries a folder's listing holds on the stack before it needs the heap:
 * most folders are a collection member's few files, and blocks grown and
 * freed for each of 10,000 members among their lasting allocations were
 * fresh pages every time. */
#define SMALL_ENTRIES 8
#define SMALL_NAMES 512

/* Read the folder open as dfd (root-relative rel), taking dfd: list it
 * (names only, and the sidecars read), then watch what may be a
 * sub-folder, then stat the entries and, when asked, the sub-folders'
 * sidecars (on several threads when there are many, as they are watched:
 * a 10,000-member collection is 20,000 fstatat the kernel serves in
 * parallel), then keep, sort and hash them. */
static ts_status scan_fd(int dfd, const char *root_path, const char *rel,
                         const struct ts_catalogue_opts *opts, struct ts_catalogue *out,
                         struct ts_error *err)
{
	void (*watch)(void *, int, const char *) = opts ? opts->watch : NULL;
	const struct dirent64 *de;
	struct dir_reader dr, *d = &dr;   /* on the stack: no fresh 16 KB per member */
	struct ts_catalogue_entry v_small[SMALL_ENTRIES], *v = v_small;
	struct slot s_small[SMALL_ENTRIES], *slots = s_small;
	char n_small[SMALL_NAMES], *names = n_small;
	size_t n = 0, cap = SMALL_ENTRIES, scap = SMALL_ENTRIES, nlen = 0, ncap = SMALL_NAMES;
	size_t kept = 0;
	uint64_t h = TS_FNV1A_OFFSET;
	ts_status st = TS_OK;

	memset(out, 0, sizeof *out);
	out->rel = strdup(rel);
	if (!out->rel) {
		if (dfd >= 0)
			close(dfd);
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	}
	if (dfd < 0) {
		st = ts_error_set(err, TS_ENOTFOUND, "not found");
		goto fail;
	}
	d->fd = dfd;
	d->pos = d->len = 0;
	d->end = false;
	h = ts_hash_fnv1a(h, rel, strlen(rel) + 1);
	while ((de = dir_next(d)) != NULL) {
		const char *name = de->d_name;
		const struct ts_media_type *type;
		size_t len;

		if (name_ignored(name))
			continue;
		if (strcmp(name, "iiif.json") == 0 || strcmp(name, "metadata.csv") == 0 ||
		    strcmp(name, "manifest.json") == 0) {
			char **buf = name[0] == 'i' ? &out->sidecar
			           : name[0] == 'm' && name[1] == 'e' ? &out->csv : &out->manifest;
			size_t *blen = name[0] == 'i' ? &out->sidecar_len
			             : name[0] == 'm' && name[1] == 'e' ? &out->csv_len : &out->manifest_len;
			size_t max = buf == &out->csv ? TS_CATALOGUE_MAX_CSV : TS_CATALOGUE_MAX_SIDECAR;
			struct stat sb;

			st = read_small(dfd, rel, name, max, buf, blen, &sb, err);
			if (st)
				goto fail;
			h = hash_stat(h, name, &sb);
			h = ts_hash_fnv1a(h, *buf, *blen);
			if (sb.st_mtim.tv_sec > out->mtime)
				out->mtime = sb.st_mtim.tv_sec;
			continue;
		}
		/* a plain file of no published type is left out unlooked at */
		type = de->d_type == DT_DIR ? NULL : ts_media_type_of(name);
		if (de->d_type == DT_REG && !type)
			continue;
		/* twice the limit listed at most: links that lead nowhere drop
		 * out below, the limit is on what is kept */
		if (n >= 2 * (size_t)TS_CATALOGUE_MAX_ENTRIES)
			goto too_many;
		len = strlen(name) + 1;
		if (!grow((void **)&v, &cap, n, sizeof *v, v_small) ||
		    !grow((void **)&slots, &scap, n, sizeof *slots, s_small))
			goto oom;
		while (ncap - nlen < len)
			if (!grow((void **)&names, &ncap, ncap, 1, n_small))   /* full: grow */
				goto oom;
		memcpy(names + nlen, name, len);
		v[n].name = NULL;   /* names moves while it grows: set below */
		v[n].type = type;
		slots[n].name = nlen;
		slots[n].d_type = de->d_type;
		nlen += len;
		n++;
	}
	/* watched before they are looked at (dir_watch.h): the helpers stat
	 * what is watched while this thread watches the rest */
	{
		struct stats j = { dfd, root_path, rel, names, v, slots, opts && opts->sub_sidecars };
		struct ts_pm_loop loop;

		ts_pm_begin(&loop, n, watch ? 0 : n, PARALLEL_STATS, 0, stat_range, &j);
		for (size_t i = 0; watch && i < n; i++) {
			if (slots[i].d_type == DT_DIR || slots[i].d_type == DT_UNKNOWN)
				watch(opts->watch_arg, dfd, names + slots[i].name);
			if ((i + 1) % 64 == 0)
				ts_pm_ready(&loop, i + 1);
		}
		ts_pm_end(&loop);
	}
	close(dfd);
	dfd = -1;
	if (names == n_small && !(names = unsmall(n_small, nlen)))
		goto oom;
	for (size_t i = 0; i < n; i++) {
		struct ts_catalogue_entry *e = &v[i];

		if (!slots[i].keep)
			continue;
		/* a file also reachable by another name changes without an event
		 * in this folder (dir_watch.h) */
		if (slots[i].linked || (S_ISREG(e->st.st_mode) && e->st.st_nlink > 1))
			out->unwatchable = true;
		e->is_dir = S_ISDIR(e->st.st_mode);
		if (e->is_dir)
			e->type = NULL;
		else if (!e->type)
			continue;
		e->name = names + slots[i].name;
		v[kept++] = *e;
	}
	if (slots != s_small)
		free(slots);
	slots = s_small;
	if (kept > TS_CATALOGUE_MAX_ENTRIES)
		goto too_many;
	if (v == v_small && !(v = unsmall(v_small, kept * sizeof *v)))
		goto oom;
	out->entries = v;
	out->n = kept;
	out->names = names;
	out->names_len = nlen;
	out->sub_sidecars = opts && opts->sub_sidecars;
	v = v_small;
	names = n_small;
	if (out->n > 1)
		qsort(out->entries, out->n, sizeof *out->entries, entry_cmp);
	/* hashed in sorted order: readdir's order is not stable across copies */
	for (size_t i = 0; i < out->n; i++) {
		h = hash_stat(h, out->entries[i].name, &out->entries[i].st);
		if (out->entries[i].st.st_mtim.tv_sec > out->mtime)
			out->mtime = out->entries[i].st.st_mtim.tv_sec;
	}
	out->fingerprint = ts_hash_mix(h);
	return TS_OK;
too_many:
	st = ts_error_set(err, TS_EINTERNAL, "folder %s holds more than %d entries",
	                  *rel ? rel : "(root)", TS_CATALOGUE_MAX_ENTRIES);
	goto fail;
oom:
	st = ts_error_set(err, TS_EINTERNAL, "out of memory");
fail:
	if (dfd >= 0)
		close(dfd);
	if (v != v_small)
		free(v);
	if (slots != s_small)
		free(slots);
	if (names != n_small)
		free(names);
	ts_catalogue_free(out);
	return st;
}

ts_status ts_catalogue_scan(int root_fd, const char *root_path, const char *rel,
                            struct ts_catalogue *out, struct ts_error *err)
{
	return scan_fd(ts_catalogue_open_dir(root_fd, rel), root_path, rel, NULL, out, err);
}

ts_status ts_catalogue_scan_with(int root_fd, const char *root_path, const char *rel,
                                 const struct ts_catalogue_opts *opts, struct ts_catalogue *out,
                                 struct ts_error *err)
{
	return scan_fd(ts_catalogue_open_dir(root_fd, rel), root_path, rel, opts, out, err);
}

ts_status ts_catalogue_scan_in(int dir_fd, const char *root_path, const char *rel,
                               const char *name, struct ts_catalogue *out,
                               struct ts_error *err)
{
	char *sub;
	ts_status st;
	int fd = -1;

	if (!name_ignored(name) && !strchr(name, '/'))
		fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	sub = malloc(strlen(rel) + strlen(name) + 2);
	if (!sub) {
		if (fd >= 0)
			close(fd);
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	}
	sprintf(sub, "%s%s%s", rel, *rel ? "/" : "", name);
	st = scan_fd(fd, root_path, sub, NULL, out, err);
	free(sub);
	return st;
}

static bool holds_media_at(int dfd, const char *root_path, const char *rel, int depth)
{
	struct dirent *de;
	bool found = false;
	DIR *d = fdopendir(dfd);
	char **subs = NULL;
	size_t nsubs = 0, cap = 0;

	if (!d) {
		close(dfd);
		return false;
	}
	while (!found && (de = readdir(d)) != NULL) {
		const struct ts_media_type *t;
		struct stat sb;

		if (name_ignored(de->d_name))
			continue;
		if (de->d_type == DT_DIR) {
			/* folders are looked into after the files, which decide faster */
			if (depth > 0 && nsubs < 4096) {
				if (nsubs == cap) {
					char **n2 = realloc(subs, (cap ? cap * 2 : 16) * sizeof *subs);
					if (!n2)
						break;
					subs = n2;
					cap = cap ? cap * 2 : 16;
				}
				subs[nsubs] = strdup(de->d_name);
				if (subs[nsubs])
					nsubs++;
			}
			continue;
		}
		t = ts_media_type_of(de->d_name);
		if (!t || ts_catalogue_paint_rank(t->kind) == 0)
			continue;
		if (de->d_type == DT_REG) {
			found = true;
		} else if (de->d_type == DT_LNK || de->d_type == DT_UNKNOWN) {
			found = entry_stat(dirfd(d), root_path, rel, de->d_name, &sb, NULL) &&
			        S_ISREG(sb.st_mode);
		}
	}
	for (size_t i = 0; i < nsubs; i++) {
		if (!found) {
			int sub = openat(dirfd(d), subs[i],
			                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				char *srel = malloc(strlen(rel) + strlen(subs[i]) + 2);
				if (srel) {
					sprintf(srel, "%s%s%s", rel, *rel ? "/" : "", subs[i]);
					found = holds_media_at(sub, root_path, srel, depth - 1);
					free(srel);
				} else {
					close(sub);
				}
			}
		}
		free(subs[i]);
	}
	free(subs);
	closedir(d);
	return found;
}

bool ts_catalogue_holds_media(int root_fd, const char *root_path, const char *rel)
{
	int dfd = ts_catalogue_open_dir(root_fd, rel);

	if (dfd < 0)
		return false;
	return holds_media_at(dfd, root_path, rel, HOLDS_MEDIA_DEPTH);
}

ts_status ts_catalogue_read_file(int root_fd, const char *folder, const char *name, size_t max,
                                 char **out, size_t *len, struct stat *st, struct ts_error *err)
{
	int dfd = ts_catalogue_open_dir(root_fd, folder);
	ts_status s;

	*out = NULL;
	*len = 0;
	memset(st, 0, sizeof *st);
	if (dfd < 0)
		return ts_error_set(err, TS_ENOTFOUND, "not found");
	if (fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st->st_mode)) {
		close(dfd);
		memset(st, 0, sizeof *st);
		return ts_error_set(err, TS_ENOTFOUND, "not found");
	}
	s = read_small(dfd, folder, name, max, out, len, st, err);
	close(dfd);
	return s;
}
