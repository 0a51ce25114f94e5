/*
 * cache.h - the in-process response cache (src/cache/lru.c).
 *
 * A byte-budget LRU of encoded responses (tiles, info.json), shared by all
 * worker threads.  The key space is split over lock stripes so threads
 * rarely contend; each stripe owns budget/stripes bytes and evicts its
 * least recently used entries to stay within it.  Entries are
 * reference-counted: ts_cache_get returns a reference the caller must give
 * back with ts_cache_release, and an entry evicted meanwhile is freed only
 * when its last reference is released, so its bytes never vanish while a
 * response is being copied or written.
 *
 * Keys are built by the server from the file identity (device, inode, size,
 * mtime) and the normalised request, so a replaced file never hits an old
 * entry and equivalent requests share one.
 */
#ifndef TESSERA_CACHE_H
#define TESSERA_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct ts_cache;

struct ts_cache_entry {
	const unsigned char *data;   /* the encoded body */
	size_t len;
	const char *content_type;    /* static string or owned by the entry */
};

struct ts_cache_stats {
	uint64_t hits, misses, insertions, evictions;
	uint64_t bytes, entries, budget;
};

/* A cache holding at most budget bytes (keys and bodies counted); budget 0
 * makes a cache that stores nothing.  NULL on out of memory. */
struct ts_cache *ts_cache_create(size_t budget);
/* Free everything; entries still referenced are freed now too, so call only
 * when no thread uses the cache.  Accepts NULL. */
void ts_cache_destroy(struct ts_cache *c);

/* Look key up.  Returns a new reference (release it!) or NULL on a miss. */
const struct ts_cache_entry *ts_cache_get(struct ts_cache *c, const char *key);
/* Give back a reference from ts_cache_get. Accepts NULL. */
void ts_cache_release(struct ts_cache *c, const struct ts_cache_entry *e);

/* Store a copy of data under key (replacing an older entry).  content_type
 * must be a static string.  Entries larger than a stripe's budget are not
 * stored.  Returns 0, or -1 when not stored. */
int ts_cache_put(struct ts_cache *c, const char *key, const void *data, size_t len,
                 const char *content_type);

void ts_cache_stats(struct ts_cache *c, struct ts_cache_stats *out);

#endif
