/*
 * tile_cache.c - byte-budgeted LRU of decoded code-stream tiles with
 * single-flight loading (contract in include/tessera/tile_cache.h).
 *
 * Where it sits: a source reader (jp2_read.c) asks for the decoded tile it
 * needs and assembles the requested window from one or more of them; the
 * cache is created by the server and shared by every worker thread.
 *
 * The one idea: an entry enters the table *before* it is decoded, in the
 * state LOADING.  A second thread asking for the same key finds it, takes a
 * reference and sleeps on the condition variable until the loader marks it
 * READY (or FAILED), so a tile is decoded once however many requests want it
 * at the same moment.  Decoding happens outside the lock; the lock only
 * covers hash lookups and list moves, which take microseconds against the
 * milliseconds of a decode, so one mutex is enough for a handful of workers.
 * Entries carry an atomic reference count (the table holds one, every get
 * one more); eviction unlinks an entry and drops the table's reference, and
 * whoever drops the last one frees the pixels.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tessera/hash.h"
#include "tessera/checked.h"
#include "tessera/deadline.h"
#include "tessera/tile_cache.h"
#include "lru_list.h"

#define BUCKETS 4096
/* Recent looks (ts_tile_cache_touch): direct-mapped, a collision forgets
 * the older look, which only costs one more window decode. */
#define TOUCH_SLOTS 8192
#define TOUCH_NS    (30ull * 1000000000ull)   /* a viewer's neighbours come within seconds */

enum state { LOADING, READY, FAILED };

struct entry {
	struct ts_tile pub;          /* first: the public view */
	struct ts_tile_key key;
	uint64_t hash;
	struct entry *hnext;         /* hash chain */
	struct ts_lru_link lru;      /* LRU list (READY entries only), newest at head */
	atomic_int refs;
	enum state state;            /* under the lock */
	bool in_table, in_lru;
	size_t cost;
	ts_status status;            /* FAILED: the loader's status and message */
	char msg[sizeof ((struct ts_error *)0)->msg];
};

struct ts_tile_cache {
	pthread_mutex_t lock;
	pthread_cond_t loaded;       /* broadcast whenever a load finishes */
	struct entry *buckets[BUCKETS];
	struct ts_lru_list lru;
	size_t bytes, budget;        /* bytes: tiles' costs plus reserved */
	size_t reserved;             /* ts_tile_cache_reserve */
	uint64_t entries;
	uint64_t hits, loads, waits, evictions;   /* under the lock */
	struct { uint64_t hash, when; } touches[TOUCH_SLOTS];   /* under the lock */
};

static void admit(struct ts_tile_cache *c, struct entry *e);

static uint64_t hash_key(const struct ts_tile_key *k)
{
	uint64_t v[6] = { k->dev, k->ino, k->size, (uint64_t)k->mtime_sec,
	                  (uint64_t)k->mtime_nsec, (uint64_t)k->tile << 32 | k->reduce };
	uint64_t h = 0x9e3779b97f4a7c15ULL;
	int i;

	/* every input bit reaches every output bit */
	for (i = 0; i < 6; i++)
		h = ts_hash_mix(h ^ v[i]);
	return h;
}

static bool same_key(const struct ts_tile_key *a, const struct ts_tile_key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec &&
	       a->tile == b->tile && a->reduce == b->reduce;
}

struct ts_tile_cache *ts_tile_cache_create(size_t budget)
{
	struct ts_tile_cache *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	c->budget = budget;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->loaded, NULL);
	return c;
}

size_t ts_tile_cache_budget(const struct ts_tile_cache *c)
{
	return c ? c->budget : 0;
}

static void entry_unref(struct entry *e)
{
	if (atomic_fetch_sub(&e->refs, 1) == 1) {
		ts_image_free(&e->pub.img);
		free(e);
	}
}

/* Take e out of the hash table and the LRU list (lock held) and drop the
 * table's reference. */
static void unlink_entry(struct ts_tile_cache *c, struct entry *e)
{
	struct entry **pp = &c->buckets[e->hash % BUCKETS];

	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	if (e->in_lru) {
		ts_lru_list_unlink(&c->lru, &e->lru);
		c->bytes -= e->cost;
		c->entries--;
		e->in_lru = false;
	}
	e->in_table = false;
	entry_unref(e);
}

void ts_tile_cache_destroy(struct ts_tile_cache *c)
{
	int i;

	if (!c)
		return;
	for (i = 0; i < BUCKETS; i++)
		while (c->buckets[i])
			unlink_entry(c, c->buckets[i]);
	pthread_cond_destroy(&c->loaded);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static struct entry *find(struct ts_tile_cache *c, uint64_t h, const struct ts_tile_key *k)
{
	struct entry *e;

	for (e = c->buckets[h % BUCKETS]; e; e = e->hnext)
		if (e->hash == h && same_key(&e->key, k))
			return e;
	return NULL;
}

/* Wait for a load another thread started (lock held, our reference taken). */
static ts_status join_load(struct ts_tile_cache *c, struct entry *e, const struct ts_tile **out,
                           struct ts_error *err)
{
	ts_status st;
	char msg[sizeof e->msg];

	c->waits++;
	while (e->state == LOADING)
		pthread_cond_wait(&c->loaded, &c->lock);
	if (e->state == READY) {
		pthread_mutex_unlock(&c->lock);
		*out = &e->pub;
		return TS_OK;
	}
	st = e->status;
	memcpy(msg, e->msg, sizeof msg);
	pthread_mutex_unlock(&c->lock);
	entry_unref(e);
	ts_error_set(err, st, "%s", msg);
	ts_error_detail(err, "decoded-tile cache: the load this request waited for failed");
	return st;
}

ts_status ts_tile_cache_get(struct ts_tile_cache *c, const struct ts_tile_key *key,
                            ts_tile_fill_fn fill, void *ctx, const struct ts_tile **out,
                            struct ts_error *err)
{
	struct ts_image img = { 0 };
	struct entry *e;
	uint64_t h = hash_key(key);
	size_t bytes;
	ts_status st;

	*out = NULL;
	pthread_mutex_lock(&c->lock);
	e = find(c, h, key);
	if (e) {
		atomic_fetch_add(&e->refs, 1);
		if (e->state == READY) {
			ts_lru_list_to_head(&c->lru, &e->lru);
			c->hits++;
			pthread_mutex_unlock(&c->lock);
			*out = &e->pub;
			return TS_OK;
		}
		return join_load(c, e, out, err);
	}
	e = calloc(1, sizeof *e);
	if (!e) {
		pthread_mutex_unlock(&c->lock);
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	}
	e->key = *key;
	e->hash = h;
	e->state = LOADING;
	atomic_init(&e->refs, 2);          /* the table's and ours */
	e->hnext = c->buckets[h % BUCKETS];
	c->buckets[h % BUCKETS] = e;
	e->in_table = true;
	c->loads++;
	pthread_mutex_unlock(&c->lock);

	st = fill(ctx, &img, err);

	pthread_mutex_lock(&c->lock);
	if (st) {
		ts_image_free(&img);
		e->state = FAILED;
		e->status = st;
		snprintf(e->msg, sizeof e->msg, "%s", err && err->msg[0] ? err->msg : "cannot decode image");
		unlink_entry(c, e);            /* never cached: the next request tries again */
		pthread_cond_broadcast(&c->loaded);
		pthread_mutex_unlock(&c->lock);
		entry_unref(e);
		return st;
	}
	e->pub.img = img;
	e->state = READY;
	if (!ts_mul_size(img.stride, img.height, &bytes) || !ts_add_size(bytes, sizeof *e, &e->cost) ||
	    e->cost > c->budget) {
		unlink_entry(c, e);            /* too big to keep: this caller and the waiters only */
	} else {
		admit(c, e);
	}
	pthread_cond_broadcast(&c->loaded);
	pthread_mutex_unlock(&c->lock);
	*out = &e->pub;
	return TS_OK;
}

const struct ts_tile *ts_tile_cache_peek(struct ts_tile_cache *c, const struct ts_tile_key *key)
{
	uint64_t h = hash_key(key);
	struct entry *e;

	pthread_mutex_lock(&c->lock);
	e = find(c, h, key);
	if (e && e->state == READY) {
		atomic_fetch_add(&e->refs, 1);
		ts_lru_list_to_head(&c->lru, &e->lru);
		c->hits++;
	} else {
		e = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	return e ? &e->pub : NULL;
}

/* Make room for cost bytes and put e at the head of the LRU (lock held). */
/* In the cache, being loaded, or looked at within TOUCH_NS; under the lock. */
static bool seen_locked(struct ts_tile_cache *c, uint64_t h, const struct ts_tile_key *key,
                        uint64_t now)
{
	size_t i = (size_t)(h % TOUCH_SLOTS);

	return find(c, h, key) != NULL ||
	       (c->touches[i].hash == h && c->touches[i].when && now - c->touches[i].when < TOUCH_NS);
}

bool ts_tile_cache_touch(struct ts_tile_cache *c, const struct ts_tile_key *key)
{
	uint64_t h, now = ts_deadline_now();
	bool warm;
	size_t i;

	if (!c)
		return false;
	h = hash_key(key);
	i = (size_t)(h % TOUCH_SLOTS);
	pthread_mutex_lock(&c->lock);
	warm = seen_locked(c, h, key, now);
	c->touches[i].hash = h;
	c->touches[i].when = now ? now : 1;
	pthread_mutex_unlock(&c->lock);
	return warm;
}

bool ts_tile_cache_seen(struct ts_tile_cache *c, const struct ts_tile_key *key)
{
	uint64_t h;
	bool warm;

	if (!c)
		return false;
	h = hash_key(key);
	pthread_mutex_lock(&c->lock);
	warm = seen_locked(c, h, key, ts_deadline_now());
	pthread_mutex_unlock(&c->lock);
	return warm;
}

static void admit(struct ts_tile_cache *c, struct entry *e)
{
	while (c->bytes + e->cost > c->budget && c->lru.tail) {
		unlink_entry(c, TS_LRU_ENTRY(c->lru.tail, struct entry, lru));
		c->evictions++;
	}
	ts_lru_list_push_head(&c->lru, &e->lru);
	e->in_lru = true;
	c->bytes += e->cost;
	c->entries++;
}

void ts_tile_cache_put(struct ts_tile_cache *c, const struct ts_tile_key *key,
                       struct ts_image *img)
{
	uint64_t h = hash_key(key);
	struct entry *e;
	size_t bytes, cost;

	if (!ts_mul_size(img->stride, img->height, &bytes) ||
	    !ts_add_size(bytes, sizeof *e, &cost) || cost > c->budget ||
	    !(e = calloc(1, sizeof *e))) {
		ts_image_free(img);
		return;
	}
	e->key = *key;
	e->hash = h;
	e->state = READY;
	e->cost = cost;
	atomic_init(&e->refs, 1);          /* the table's */
	pthread_mutex_lock(&c->lock);
	if (find(c, h, key)) {
		pthread_mutex_unlock(&c->lock);
		free(e);
		ts_image_free(img);
		return;
	}
	ts_image_move(&e->pub.img, img);
	e->hnext = c->buckets[h % BUCKETS];
	c->buckets[h % BUCKETS] = e;
	e->in_table = true;
	c->loads++;
	admit(c, e);
	pthread_mutex_unlock(&c->lock);
}

bool ts_tile_cache_reserve(struct ts_tile_cache *c, size_t bytes)
{
	bool ok;

	if (!c)
		return false;
	pthread_mutex_lock(&c->lock);
	ok = bytes <= c->budget / 4 && c->reserved + bytes <= c->budget / 2;
	if (ok) {
		c->reserved += bytes;
		c->bytes += bytes;
		while (c->bytes > c->budget && c->lru.tail) {
			unlink_entry(c, TS_LRU_ENTRY(c->lru.tail, struct entry, lru));
			c->evictions++;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return ok;
}

void ts_tile_cache_unreserve(struct ts_tile_cache *c, size_t bytes)
{
	if (!c || !bytes)
		return;
	pthread_mutex_lock(&c->lock);
	bytes = bytes < c->reserved ? bytes : c->reserved;
	c->reserved -= bytes;
	c->bytes -= bytes;
	pthread_mutex_unlock(&c->lock);
}

void ts_tile_cache_release(struct ts_tile_cache *c, const struct ts_tile *t)
{
	(void)c;
	if (t)
		entry_unref((struct entry *)(void *)t);
}

void ts_tile_cache_stats(struct ts_tile_cache *c, struct ts_tile_cache_stats *out)
{
	memset(out, 0, sizeof *out);
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	out->hits = c->hits;
	out->loads = c->loads;
	out->waits = c->waits;
	out->evictions = c->evictions;
	out->bytes = c->bytes;
	out->entries = c->entries;
	out->budget = c->budget;
	out->reserved = c->reserved;
	pthread_mutex_unlock(&c->lock);
}
