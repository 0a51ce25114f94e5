/*
 * source_pool.c - keeps opened sources between requests (include/tessera/pool.h).
 *
 * One mutex guards a small table of file records, each with a stack of idle
 * handles; the work under the lock is a short scan and a pointer move, while
 * opening a file (the expensive part) happens outside it.  When the number
 * of idle handles exceeds the bound, the least recently used record gives
 * its handles up.  A record whose file changed is simply never matched
 * again (its identity differs) and ages out the same way.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "tessera/pool.h"

#define IDLE_PER_FILE 8

struct record {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct ts_source *idle[IDLE_PER_FILE];
	int nidle;
	unsigned long last_use;
	bool used;
};

struct ts_source_pool {
	pthread_mutex_t lock;
	struct ts_source_limits limits;
	struct record *records;
	int nrecords;
	int max_idle, idle_total, open_total;
	unsigned long clock;
};

struct ts_source_pool *ts_source_pool_create(int max_idle, const struct ts_source_limits *lim)
{
	struct ts_source_pool *p = calloc(1, sizeof *p);

	if (!p)
		return NULL;
	if (max_idle < 1)
		max_idle = 1;
	p->nrecords = max_idle;  /* never more records than idle handles */
	p->records = calloc((size_t)p->nrecords, sizeof *p->records);
	if (!p->records) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	p->limits = *lim;
	p->max_idle = max_idle;
	return p;
}

void ts_source_pool_destroy(struct ts_source_pool *p)
{
	int i, j;

	if (!p)
		return;
	for (i = 0; i < p->nrecords; i++)
		for (j = 0; j < p->records[i].nidle; j++)
			ts_source_close(p->records[i].idle[j]);
	pthread_mutex_destroy(&p->lock);
	free(p->records);
	free(p);
}

static bool same_file(const struct record *r, const struct stat *st)
{
	return r->used && r->dev == st->st_dev && r->ino == st->st_ino &&
	       r->size == st->st_size && r->mtime.tv_sec == st->st_mtim.tv_sec &&
	       r->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static struct record *find(struct ts_source_pool *p, const struct stat *st)
{
	int i;

	for (i = 0; i < p->nrecords; i++)
		if (same_file(&p->records[i], st))
			return &p->records[i];
	return NULL;
}

ts_status ts_source_pool_get(struct ts_source_pool *p, const char *path, const struct stat *st,
                             struct ts_source **out, struct ts_error *err)
{
	struct record *r;
	ts_status status;

	*out = NULL;
	pthread_mutex_lock(&p->lock);
	r = find(p, st);
	if (r && r->nidle > 0) {
		*out = r->idle[--r->nidle];
		p->idle_total--;
		r->last_use = ++p->clock;
	}
	pthread_mutex_unlock(&p->lock);
	if (*out)
		return TS_OK;
	status = ts_source_open_as(path, st, &p->limits, out, err);
	if (status == TS_OK) {
		pthread_mutex_lock(&p->lock);
		p->open_total++;
		pthread_mutex_unlock(&p->lock);
	}
	return status;
}

/* Free the least recently used record (lock held; with need_handles, only
 * one that holds idle handles); its handles are returned for closing
 * outside the lock. */
static int evict_lru(struct ts_source_pool *p, struct record *keep, bool need_handles,
                     struct ts_source **victims)
{
	struct record *lru = NULL;
	int i, n;

	for (i = 0; i < p->nrecords; i++) {
		struct record *r = &p->records[i];
		if (r == keep || !r->used || (need_handles && r->nidle == 0))
			continue;
		if (!lru || r->last_use < lru->last_use)
			lru = r;
	}
	if (!lru)
		return 0;
	n = lru->nidle;
	memcpy(victims, lru->idle, (size_t)n * sizeof *victims);
	lru->nidle = 0;
	lru->used = false;
	p->idle_total -= n;
	p->open_total -= n;
	return n;
}

void ts_source_pool_release(struct ts_source_pool *p, const struct stat *st,
                            struct ts_source *src)
{
	struct ts_source *victims[IDLE_PER_FILE + 1];
	struct record *r;
	int i, nv = 0;

	if (!src)
		return;
	pthread_mutex_lock(&p->lock);
	r = find(p, st);
	if (!r) {
		/* a free slot, or the least recently used one */
		struct record *slot = NULL;
		for (i = 0; i < p->nrecords && !slot; i++)
			if (!p->records[i].used)
				slot = &p->records[i];
		if (!slot) {
			nv = evict_lru(p, NULL, false, victims);
			for (i = 0; i < p->nrecords && !slot; i++)
				if (!p->records[i].used)
					slot = &p->records[i];
		}
		if (slot) {
			memset(slot, 0, sizeof *slot);
			slot->used = true;
			slot->dev = st->st_dev;
			slot->ino = st->st_ino;
			slot->size = st->st_size;
			slot->mtime = st->st_mtim;
		}
		r = slot;
	}
	if (r && r->nidle < IDLE_PER_FILE) {
		r->idle[r->nidle++] = src;
		r->last_use = ++p->clock;
		p->idle_total++;
		src = NULL;
		if (p->idle_total > p->max_idle && nv == 0)
			nv = evict_lru(p, r, true, victims);
	}
	if (src)
		p->open_total--;
	pthread_mutex_unlock(&p->lock);
	ts_source_close(src);
	for (i = 0; i < nv; i++)
		ts_source_close(victims[i]);
}

int ts_source_pool_open_count(struct ts_source_pool *p)
{
	int n;

	pthread_mutex_lock(&p->lock);
	n = p->open_total;
	pthread_mutex_unlock(&p->lock);
	return n;
}
