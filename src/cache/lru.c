/*
 * lru.c - byte-budget LRU of encoded responses, lock-striped and
 * reference-counted (contract in include/tessera/cache.h).
 *
 * Each stripe is an open hash table (chained) plus a doubly linked LRU
 * list, under its own mutex.  An entry carries a reference count: the table
 * holds one reference, every ts_cache_get adds one.  Eviction unlinks the
 * entry from table and list and drops the table's reference; whoever drops
 * the last reference frees it.  So the copy a worker makes of a cached body
 * happens outside the lock and is never cut short by an eviction.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "tessera/cache.h"
#include "tessera/checked.h"
#include "tessera/hash.h"
#include "lru_list.h"

#define STRIPES 16
#define BUCKETS 4096            /* per stripe; chains stay short at typical sizes */

struct entry {
	struct ts_cache_entry pub;   /* first: the public view */
	struct entry *hnext;         /* hash chain */
	struct ts_lru_link lru;      /* LRU list, most recent at head */
	atomic_int refs;
	uint64_t hash;
	size_t cost;
	char *key;
};

struct stripe {
	pthread_mutex_t lock;
	struct entry *buckets[BUCKETS];
	struct ts_lru_list lru;
	size_t bytes, budget;
	uint64_t entries;
};

struct ts_cache {
	struct stripe stripes[STRIPES];
	size_t budget;
	atomic_uint_fast64_t hits, misses, insertions, evictions;
};

static uint64_t hash_key(const char *s)
{
	/* FNV-1a mixes the low bits well but not the high ones we take the
	 * stripe from: finish with the avalanche. */
	return ts_hash_mix(ts_hash_fnv1a(TS_FNV1A_OFFSET, s, strlen(s)));
}

struct ts_cache *ts_cache_create(size_t budget)
{
	struct ts_cache *c = calloc(1, sizeof *c);
	int i;

	if (!c)
		return NULL;
	c->budget = budget;
	for (i = 0; i < STRIPES; i++) {
		pthread_mutex_init(&c->stripes[i].lock, NULL);
		c->stripes[i].budget = budget / STRIPES;
	}
	return c;
}

static void entry_unref(struct entry *e)
{
	if (atomic_fetch_sub(&e->refs, 1) == 1) {
		free((void *)e->pub.data);
		free(e->key);
		free(e);
	}
}

/* Unlink e from its stripe (lock held) and drop the table's reference. */
static void stripe_remove(struct stripe *s, struct entry *e)
{
	struct entry **pp = &s->buckets[e->hash % BUCKETS];

	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	ts_lru_list_unlink(&s->lru, &e->lru);
	s->bytes -= e->cost;
	s->entries--;
	entry_unref(e);
}

void ts_cache_destroy(struct ts_cache *c)
{
	int i;

	if (!c)
		return;
	for (i = 0; i < STRIPES; i++) {
		struct stripe *s = &c->stripes[i];
		while (s->lru.head)
			stripe_remove(s, TS_LRU_ENTRY(s->lru.head, struct entry, lru));
		pthread_mutex_destroy(&s->lock);
	}
	free(c);
}

static struct entry *stripe_find(struct stripe *s, uint64_t h, const char *key)
{
	struct entry *e;

	for (e = s->buckets[h % BUCKETS]; e; e = e->hnext)
		if (e->hash == h && strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

const struct ts_cache_entry *ts_cache_get(struct ts_cache *c, const char *key)
{
	uint64_t h;
	struct stripe *s;
	struct entry *e;

	if (!c || c->budget == 0)
		return NULL;
	h = hash_key(key);
	s = &c->stripes[(h >> 48) % STRIPES];
	pthread_mutex_lock(&s->lock);
	e = stripe_find(s, h, key);
	if (e) {
		atomic_fetch_add(&e->refs, 1);
		ts_lru_list_to_head(&s->lru, &e->lru);
	}
	pthread_mutex_unlock(&s->lock);
	atomic_fetch_add(e ? &c->hits : &c->misses, 1);
	return e ? &e->pub : NULL;
}

void ts_cache_release(struct ts_cache *c, const struct ts_cache_entry *pub)
{
	(void)c;
	if (pub)
		entry_unref((struct entry *)(void *)pub);
}

int ts_cache_put(struct ts_cache *c, const char *key, const void *data, size_t len,
                 const char *content_type)
{
	struct entry *e, *old;
	struct stripe *s;
	size_t klen, cost;
	uint64_t h;

	if (!c || c->budget == 0)
		return -1;
	klen = strlen(key);
	if (!ts_add_size(len, klen + sizeof *e, &cost))
		return -1;
	h = hash_key(key);
	s = &c->stripes[(h >> 48) % STRIPES];
	if (cost > s->budget)
		return -1;
	e = calloc(1, sizeof *e);
	if (!e)
		return -1;
	e->key = malloc(klen + 1);
	e->pub.data = malloc(len ? len : 1);
	if (!e->key || !e->pub.data) {
		free(e->key);
		free((void *)e->pub.data);
		free(e);
		return -1;
	}
	memcpy(e->key, key, klen + 1);
	memcpy((void *)e->pub.data, data, len);
	e->pub.len = len;
	e->pub.content_type = content_type;
	e->hash = h;
	e->cost = cost;
	atomic_init(&e->refs, 1);

	pthread_mutex_lock(&s->lock);
	old = stripe_find(s, h, key);
	if (old)
		stripe_remove(s, old);
	while (s->bytes + cost > s->budget && s->lru.tail) {
		stripe_remove(s, TS_LRU_ENTRY(s->lru.tail, struct entry, lru));
		atomic_fetch_add(&c->evictions, 1);
	}
	e->hnext = s->buckets[h % BUCKETS];
	s->buckets[h % BUCKETS] = e;
	ts_lru_list_push_head(&s->lru, &e->lru);
	s->bytes += cost;
	s->entries++;
	pthread_mutex_unlock(&s->lock);
	atomic_fetch_add(&c->insertions, 1);
	return 0;
}

void ts_cache_stats(struct ts_cache *c, struct ts_cache_stats *out)
{
	int i;

	memset(out, 0, sizeof *out);
	if (!c)
		return;
	out->hits = atomic_load(&c->hits);
	out->misses = atomic_load(&c->misses);
	out->insertions = atomic_load(&c->insertions);
	out->evictions = atomic_load(&c->evictions);
	out->budget = c->budget;
	for (i = 0; i < STRIPES; i++) {
		pthread_mutex_lock(&c->stripes[i].lock);
		out->bytes += c->stripes[i].bytes;
		out->entries += c->stripes[i].entries;
		pthread_mutex_unlock(&c->stripes[i].lock);
	}
}
