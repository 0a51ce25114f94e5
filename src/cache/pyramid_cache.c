/*
 * pyramid_cache.c - the folder of on-demand pyramids: names from the
 * source's path hash and identity, a byte budget with least-recently-used
 * removal, recency kept in the files' access times, failure markers
 * (pyramid_cache.h).
 *
 * The one idea: the file name is the whole record.  An entry is found by
 * the hash of its source's path (a chained hash table) and checked against
 * the source's identity; the index in memory is rebuilt from a readdir at
 * start, ordered by access time, and every change to it is a file
 * operation done under the same lock (unlink, a marker's creation).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tessera/log.h"
#include "tessera/pyramid_cache.h"
#include "lru_list.h"

#define NBUCKETS 4096
#define DIR_MAX 4096
#define PATH_BUF (DIR_MAX + 320)   /* the folder, a file name of up to 255 bytes */
#define TOUCH_EVERY_S 60
#define SUFFIX_READY "tif"
#define SUFFIX_FAILED "failed"

struct entry {
	struct ts_pyramid_key key;
	bool failed;
	uint64_t bytes;
	time_t touched;              /* last access time written to the file */
	struct entry *hnext;         /* hash chain */
	struct ts_lru_link lru;      /* LRU list (ready entries only), head = newest */
};

struct ts_pyramid_cache {
	pthread_mutex_t lock;
	char dir[DIR_MAX];
	uint64_t budget, bytes, entries, failed;
	uint64_t hits, misses, evictions, invalidations;
	struct entry *buckets[NBUCKETS];
	struct ts_lru_list lru;
};

void ts_pyramid_key_make(const char *path, const struct stat *st, struct ts_pyramid_key *k)
{
	uint64_t h = 1469598103934665603ull;   /* FNV-1a 64 */

	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		h ^= *p;
		h *= 1099511628211ull;
	}
	memset(k, 0, sizeof *k);
	k->path_hash = h;
	k->dev = (uint64_t)st->st_dev;
	k->ino = (uint64_t)st->st_ino;
	k->size = (uint64_t)st->st_size;
	k->mtime_sec = (int64_t)st->st_mtim.tv_sec;
	k->mtime_nsec = st->st_mtim.tv_nsec;
}

static bool same_identity(const struct ts_pyramid_key *a, const struct ts_pyramid_key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec;
}

static void name_of(const struct ts_pyramid_cache *c, const struct ts_pyramid_key *k,
                    bool failed, char *path, size_t n)
{
	snprintf(path, n, "%s/%016" PRIx64 "-%" PRIx64 "-%" PRIx64 "-%" PRIx64 "-%" PRIx64
	         ".%09ld.%s", c->dir, k->path_hash, k->dev, k->ino, k->size,
	         (uint64_t)k->mtime_sec, k->mtime_nsec, failed ? SUFFIX_FAILED : SUFFIX_READY);
}

/* Parse a file name written by name_of; false for anything else. */
static bool parse_name(const char *name, struct ts_pyramid_key *k, bool *failed)
{
	uint64_t mt;
	long ns;
	int used = 0;

	memset(k, 0, sizeof *k);
	if (sscanf(name, "%16" SCNx64 "-%" SCNx64 "-%" SCNx64 "-%" SCNx64 "-%" SCNx64 ".%9ld.%n",
	           &k->path_hash, &k->dev, &k->ino, &k->size, &mt, &ns, &used) != 6 || used == 0)
		return false;
	k->mtime_sec = (int64_t)mt;
	k->mtime_nsec = ns;
	if (strcmp(name + used, SUFFIX_READY) == 0)
		*failed = false;
	else if (strcmp(name + used, SUFFIX_FAILED) == 0)
		*failed = true;
	else
		return false;
	return true;
}

void ts_pyramid_cache_path(const struct ts_pyramid_cache *c, const struct ts_pyramid_key *k,
                           char *path, size_t n)
{
	name_of(c, k, false, path, n);
}

/* ---- the index (c->lock held) ----------------------------------------- */

static struct entry **bucket(struct ts_pyramid_cache *c, uint64_t path_hash)
{
	return &c->buckets[(path_hash ^ (path_hash >> 29)) % NBUCKETS];
}

static void index_insert(struct ts_pyramid_cache *c, struct entry *e)
{
	struct entry **b = bucket(c, e->key.path_hash);

	e->hnext = *b;
	*b = e;
	if (e->failed) {
		c->failed++;
	} else {
		ts_lru_list_push_head(&c->lru, &e->lru);
		c->bytes += e->bytes;
		c->entries++;
	}
}

/* Take e out of the index, remove its file, free it. */
static void index_remove(struct ts_pyramid_cache *c, struct entry *e)
{
	struct entry **p = bucket(c, e->key.path_hash);
	char path[PATH_BUF];

	while (*p && *p != e)
		p = &(*p)->hnext;
	if (*p)
		*p = e->hnext;
	if (e->failed) {
		c->failed--;
	} else {
		ts_lru_list_unlink(&c->lru, &e->lru);
		c->bytes -= e->bytes;
		c->entries--;
	}
	name_of(c, &e->key, e->failed, path, sizeof path);
	if (unlink(path) != 0 && errno != ENOENT)
		ts_log(TS_LOG_WARN, "pyramid cache: cannot remove %s: %s", path, strerror(errno));
	free(e);
}

/* Remove the least recently used pyramids past the budget, never keep. */
static void evict(struct ts_pyramid_cache *c, const struct entry *keep)
{
	while (c->bytes > c->budget && c->lru.tail) {
		struct entry *oldest = TS_LRU_ENTRY(c->lru.tail, struct entry, lru);

		if (oldest == keep)
			break;
		c->evictions++;
		index_remove(c, oldest);
	}
}

/* ---- scan -------------------------------------------------------------- */

/* A conversion's temporary file (convert.c: ".NAME.tmp-PID-N") whose
 * process is gone. */
static bool stale_temp(const char *name)
{
	const char *t = strstr(name, ".tmp-");
	long pid;

	if (name[0] != '.' || !t)
		return false;
	pid = strtol(t + 5, NULL, 10);
	return pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static int by_atime(const void *a, const void *b)
{
	const struct entry *x = *(struct entry *const *)a, *y = *(struct entry *const *)b;

	return x->touched < y->touched ? -1 : x->touched > y->touched;
}

static ts_status scan(struct ts_pyramid_cache *c, struct ts_error *err)
{
	struct entry **found = NULL, *e;
	size_t n = 0, cap = 0;
	struct dirent *d;
	DIR *dir = opendir(c->dir);

	if (!dir) {
		ts_error_set(err, TS_EINTERNAL, "cannot read pyramid_cache_dir");
		ts_error_detail(err, "opendir %s: %s", c->dir, strerror(errno));
		return TS_EINTERNAL;
	}
	while ((d = readdir(dir))) {
		struct ts_pyramid_key k;
		struct stat st;
		char path[PATH_BUF];
		bool failed;

		snprintf(path, sizeof path, "%s/%s", c->dir, d->d_name);
		if (stale_temp(d->d_name)) {
			unlink(path);
			continue;
		}
		if (!parse_name(d->d_name, &k, &failed) || stat(path, &st) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			size_t nc = cap ? 2 * cap : 64;
			struct entry **g = realloc(found, nc * sizeof *g);
			if (!g)
				break;
			found = g;
			cap = nc;
		}
		e = calloc(1, sizeof *e);
		if (!e)
			break;
		e->key = k;
		e->failed = failed;
		e->bytes = failed ? 0 : (uint64_t)st.st_size;
		e->touched = st.st_atim.tv_sec;
		found[n++] = e;
	}
	closedir(dir);
	/* Oldest first, so the newest ends at the head of the list. */
	if (n)
		qsort(found, n, sizeof *found, by_atime);
	for (size_t i = 0; i < n; i++)
		index_insert(c, found[i]);
	free(found);
	evict(c, NULL);
	return TS_OK;
}

ts_status ts_pyramid_cache_open(const char *dir, uint64_t budget,
                                struct ts_pyramid_cache **out, struct ts_error *err)
{
	struct ts_pyramid_cache *c;
	size_t len;

	*out = NULL;
	if (!dir || !*dir || (len = strlen(dir)) >= sizeof c->dir - 100)
		return ts_error_set(err, TS_EINTERNAL, "pyramid_cache_dir is empty or too long");
	c = calloc(1, sizeof *c);
	if (!c)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	memcpy(c->dir, dir, len + 1);
	while (len > 1 && c->dir[len - 1] == '/')
		c->dir[--len] = '\0';
	c->budget = budget;
	pthread_mutex_init(&c->lock, NULL);
	if (mkdir(c->dir, 0750) != 0 && errno != EEXIST) {
		ts_error_set(err, TS_EINTERNAL, "cannot create pyramid_cache_dir");
		ts_error_detail(err, "mkdir %s: %s", c->dir, strerror(errno));
		ts_pyramid_cache_close(c);
		return TS_EINTERNAL;
	}
	if (scan(c, err) != TS_OK) {
		ts_pyramid_cache_close(c);
		return TS_EINTERNAL;
	}
	*out = c;
	return TS_OK;
}

void ts_pyramid_cache_close(struct ts_pyramid_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < NBUCKETS; i++)
		for (struct entry *e = c->buckets[i], *next; e; e = next) {
			next = e->hnext;
			free(e);
		}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* ---- lookups and changes ---------------------------------------------- */

/* The entry of k's identity; entries of k's path with another identity
 * are removed on the way (the source changed). */
static struct entry *find_locked(struct ts_pyramid_cache *c, const struct ts_pyramid_key *k)
{
	struct entry *e = *bucket(c, k->path_hash), *next, *hit = NULL;

	for (; e; e = next) {
		next = e->hnext;
		if (e->key.path_hash != k->path_hash)
			continue;
		if (same_identity(&e->key, k)) {
			hit = e;
		} else {
			c->invalidations++;
			index_remove(c, e);
		}
	}
	return hit;
}

enum ts_pyramid_state ts_pyramid_cache_find(struct ts_pyramid_cache *c,
                                            const struct ts_pyramid_key *k, char *path,
                                            size_t n)
{
	enum ts_pyramid_state st = TS_PYRAMID_NONE;
	struct entry *e;
	bool touch = false;
	time_t now = time(NULL);

	pthread_mutex_lock(&c->lock);
	e = find_locked(c, k);
	if (e && e->failed) {
		st = TS_PYRAMID_FAILED;
	} else if (e) {
		st = TS_PYRAMID_READY;
		c->hits++;
		ts_lru_list_to_head(&c->lru, &e->lru);
		if (now - e->touched >= TOUCH_EVERY_S) {
			e->touched = now;
			touch = true;
		}
	} else {
		c->misses++;
	}
	pthread_mutex_unlock(&c->lock);
	if (st == TS_PYRAMID_READY) {
		name_of(c, k, false, path, n);
		if (touch) {
			/* Recency for the next start: the access time only. */
			struct timespec ts[2] = { { 0, UTIME_NOW }, { 0, UTIME_OMIT } };
			utimensat(AT_FDCWD, path, ts, 0);
		}
	}
	return st;
}

ts_status ts_pyramid_cache_add(struct ts_pyramid_cache *c, const struct ts_pyramid_key *k,
                               struct ts_error *err)
{
	char path[PATH_BUF];
	struct stat st;
	struct entry *e, *old;
	bool too_big;

	name_of(c, k, false, path, sizeof path);
	if (stat(path, &st) != 0) {
		ts_error_set(err, TS_EINTERNAL, "the converted pyramid is missing");
		ts_error_detail(err, "stat %s: %s", path, strerror(errno));
		return TS_EINTERNAL;
	}
	e = calloc(1, sizeof *e);
	if (!e)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	e->key = *k;
	e->bytes = (uint64_t)st.st_size;
	e->touched = time(NULL);
	pthread_mutex_lock(&c->lock);
	/* Drops older identities of the same path, then this identity's
	 * marker or a pyramid made twice. */
	old = find_locked(c, k);
	if (old)
		index_remove(c, old);
	too_big = e->bytes > c->budget;
	index_insert(c, e);
	if (too_big) {
		index_remove(c, e);
		c->evictions++;
	} else {
		evict(c, e);
	}
	pthread_mutex_unlock(&c->lock);
	if (too_big) {
		ts_pyramid_cache_fail(c, k);
		ts_error_set(err, TS_EFORBIDDEN, "the pyramid is larger than pyramid_cache_bytes");
		return TS_EFORBIDDEN;
	}
	return TS_OK;
}

void ts_pyramid_cache_fail(struct ts_pyramid_cache *c, const struct ts_pyramid_key *k)
{
	char path[PATH_BUF];
	struct entry *e = calloc(1, sizeof *e), *old;
	int fd;

	if (!e)
		return;
	e->key = *k;
	e->failed = true;
	name_of(c, k, true, path, sizeof path);
	pthread_mutex_lock(&c->lock);
	old = find_locked(c, k);
	if (old)
		index_remove(c, old);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd >= 0)
		close(fd);
	index_insert(c, e);
	pthread_mutex_unlock(&c->lock);
}

void ts_pyramid_cache_drop(struct ts_pyramid_cache *c, const struct ts_pyramid_key *k)
{
	struct entry *e;

	pthread_mutex_lock(&c->lock);
	e = find_locked(c, k);
	if (e)
		index_remove(c, e);
	pthread_mutex_unlock(&c->lock);
}

void ts_pyramid_cache_stats(struct ts_pyramid_cache *c, struct ts_pyramid_cache_stats *out)
{
	memset(out, 0, sizeof *out);
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	out->hits = c->hits;
	out->misses = c->misses;
	out->evictions = c->evictions;
	out->invalidations = c->invalidations;
	out->bytes = c->bytes;
	out->entries = c->entries;
	out->failed = c->failed;
	out->budget = c->budget;
	pthread_mutex_unlock(&c->lock);
}
