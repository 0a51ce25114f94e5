/*
 * probe_cache.c - probe results by file identity (probe_cache.h).
 *
 * An open-addressing table of pointers to entries, sized to twice the
 * bound so probes stay short; a full table is emptied rather than evicted
 * piecemeal (the entries are cheap to recompute, and a site rarely
 * publishes more files than the bound).  The key carries the kind, so an
 * image and a media result for one file never collide.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tessera/hash.h"
#include "tessera/probe_cache.h"

enum probe_kind { PK_IMAGE = 1, PK_MEDIA = 2 };

struct key {
	uint64_t dev, ino, size, sec, nsec, kind;
};

struct entry {
	struct key k;
	union {
		struct ts_source_info image;
		struct ts_media_info media;
	} v;
};

struct ts_probe_cache {
	pthread_mutex_t lock;
	struct entry **slots;
	size_t nslots;      /* power of two */
	size_t n, max;
};

struct ts_probe_cache *ts_probe_cache_create(size_t max_entries)
{
	struct ts_probe_cache *pc = calloc(1, sizeof *pc);
	size_t ns = 16;

	if (!pc)
		return NULL;
	if (max_entries < 8)
		max_entries = 8;
	while (ns < max_entries * 2 && ns < ((size_t)1 << 30))
		ns *= 2;
	pc->slots = calloc(ns, sizeof *pc->slots);
	if (!pc->slots) {
		free(pc);
		return NULL;
	}
	pc->nslots = ns;
	pc->max = max_entries;
	pthread_mutex_init(&pc->lock, NULL);
	return pc;
}

static void clear(struct ts_probe_cache *pc)
{
	for (size_t i = 0; i < pc->nslots; i++) {
		free(pc->slots[i]);
		pc->slots[i] = NULL;
	}
	pc->n = 0;
}

void ts_probe_cache_destroy(struct ts_probe_cache *pc)
{
	if (!pc)
		return;
	clear(pc);
	free(pc->slots);
	pthread_mutex_destroy(&pc->lock);
	free(pc);
}

static void make_key(struct key *k, const struct stat *st, enum probe_kind kind)
{
	memset(k, 0, sizeof *k);
	k->dev = (uint64_t)st->st_dev;
	k->ino = (uint64_t)st->st_ino;
	k->size = (uint64_t)st->st_size;
	k->sec = (uint64_t)st->st_mtim.tv_sec;
	k->nsec = (uint64_t)st->st_mtim.tv_nsec;
	k->kind = kind;
}

/* The slot holding k, or the empty slot where it would go. */
static size_t find(const struct ts_probe_cache *pc, const struct key *k)
{
	size_t i = (size_t)ts_hash_mix(ts_hash_fnv1a(TS_FNV1A_OFFSET, k, sizeof *k)) &
	           (pc->nslots - 1);

	while (pc->slots[i] && memcmp(&pc->slots[i]->k, k, sizeof *k) != 0)
		i = (i + 1) & (pc->nslots - 1);
	return i;
}

static bool get(struct ts_probe_cache *pc, const struct stat *st, enum probe_kind kind,
                void *out, size_t n)
{
	struct key k;
	bool hit;
	size_t i;

	if (!pc)
		return false;
	make_key(&k, st, kind);
	pthread_mutex_lock(&pc->lock);
	i = find(pc, &k);
	hit = pc->slots[i] != NULL;
	if (hit)
		memcpy(out, &pc->slots[i]->v, n);
	pthread_mutex_unlock(&pc->lock);
	return hit;
}

static void put(struct ts_probe_cache *pc, const struct stat *st, enum probe_kind kind,
                const void *v, size_t n)
{
	struct entry *e;
	struct key k;
	size_t i;

	if (!pc)
		return;
	e = calloc(1, sizeof *e);
	if (!e)
		return;
	make_key(&k, st, kind);
	e->k = k;
	memcpy(&e->v, v, n);
	pthread_mutex_lock(&pc->lock);
	if (pc->n >= pc->max)
		clear(pc);
	i = find(pc, &k);
	if (pc->slots[i]) {
		free(pc->slots[i]);
		pc->n--;
	}
	pc->slots[i] = e;
	pc->n++;
	pthread_mutex_unlock(&pc->lock);
}

bool ts_probe_cache_get_image(struct ts_probe_cache *pc, const struct stat *st,
                              struct ts_source_info *out)
{
	return get(pc, st, PK_IMAGE, out, sizeof *out);
}

void ts_probe_cache_put_image(struct ts_probe_cache *pc, const struct stat *st,
                              const struct ts_source_info *info)
{
	struct ts_source_info copy = *info;

	copy.icc = NULL;
	copy.icc_len = 0;
	put(pc, st, PK_IMAGE, &copy, sizeof copy);
}

bool ts_probe_cache_get_media(struct ts_probe_cache *pc, const struct stat *st,
                              struct ts_media_info *out)
{
	return get(pc, st, PK_MEDIA, out, sizeof *out);
}

void ts_probe_cache_put_media(struct ts_probe_cache *pc, const struct stat *st,
                              const struct ts_media_info *info)
{
	put(pc, st, PK_MEDIA, info, sizeof *info);
}
