/*
 * tile_cache.h - the decoded-tile cache (src/cache/tile_cache.c).
 *
 * Viewers ask for every 256-pixel tile of a region within a second, and
 * with JPEG 2000 each of those requests would otherwise decode its own
 * window of the same code-stream tile again.  This cache keeps whole decoded
 * code-stream tiles (8-bit interleaved pixels, struct ts_image) in a
 * byte-budgeted LRU shared by all worker threads, so a code-stream tile is
 * decoded once per reduce factor and then only copied from.
 *
 * Keys are the file's identity (device, inode, size, mtime: a replaced file
 * never hits an old entry), the code-stream tile index and the reduce
 * factor.  Entries are reference-counted: ts_tile_cache_get returns a
 * reference that the caller gives back with ts_tile_cache_release, and an
 * entry evicted meanwhile is freed only when its last reference goes, so
 * pixels are never freed while being copied.  Loads are "single flight":
 * when two threads ask for the same missing tile at once, one decodes it and
 * the other waits for that result instead of decoding it again.
 */
#ifndef TESSERA_TILE_CACHE_H
#define TESSERA_TILE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "image.h"
#include "status.h"

struct ts_tile_cache;

struct ts_tile_key {
	uint64_t dev, ino, size;       /* the file's identity (fstat) */
	int64_t mtime_sec, mtime_nsec;
	uint32_t tile;                 /* code-stream tile index */
	uint32_t reduce;               /* resolution reduce factor (level) */
};

/* A cached decoded tile; read-only while referenced. */
struct ts_tile {
	struct ts_image img;
};

/* Decode the tile for key into *out (a new image the cache takes over on
 * success; on failure out is left empty and err filled). */
typedef ts_status (*ts_tile_fill_fn)(void *ctx, struct ts_image *out, struct ts_error *err);

struct ts_tile_cache_stats {
	uint64_t hits;       /* found decoded */
	uint64_t loads;      /* decoded by the caller (misses) */
	uint64_t waits;      /* joined a load already under way (single flight) */
	uint64_t evictions;
	uint64_t bytes, entries, budget;
	uint64_t reserved;   /* of bytes, held by ts_tile_cache_reserve */
};

/* A cache keeping at most budget bytes of pixels (plus bookkeeping).  With
 * budget 0 nothing is kept, but ts_tile_cache_get still works (it decodes
 * every time).  NULL on out of memory. */
struct ts_tile_cache *ts_tile_cache_create(size_t budget);
/* Free everything.  Call only when no thread uses the cache and every
 * reference has been released.  Accepts NULL. */
void ts_tile_cache_destroy(struct ts_tile_cache *c);

/* The budget in bytes given at creation (0 for NULL). */
size_t ts_tile_cache_budget(const struct ts_tile_cache *c);

/*
 * The decoded tile for key: from the cache, or decoded now by fill(ctx)
 * (outside the cache's lock), or, when another thread is already decoding
 * it, that thread's result after waiting for it.  On success *out is a new
 * reference (ts_tile_cache_release it).  A failed load is not cached; the
 * callers waiting on it get the same status and public message.  A tile
 * larger than the budget is returned but not kept.
 */
ts_status ts_tile_cache_get(struct ts_tile_cache *c, const struct ts_tile_key *key,
                            ts_tile_fill_fn fill, void *ctx, const struct ts_tile **out,
                            struct ts_error *err);
/* The decoded tile for key if it is in the cache and ready: a new
 * reference (release it), else NULL.  Never decodes or waits. */
const struct ts_tile *ts_tile_cache_peek(struct ts_tile_cache *c, const struct ts_tile_key *key);

/* Store a tile decoded by the caller (several tiles decoded in one go).
 * Takes ownership of img's pixels (img is left empty) whether or not it is
 * kept: an entry already present or being loaded for key wins, and a tile
 * larger than the budget is freed. */
void ts_tile_cache_put(struct ts_tile_cache *c, const struct ts_tile_key *key,
                       struct ts_image *img);

/*
 * Note that a window of key's tile is wanted now.  true when the tile is
 * worth decoding whole: it is in the cache or being loaded, or key was
 * noted before within the last 30 seconds (a viewer is walking it and its
 * neighbours will come next); false on a first look, when decoding just the
 * window is cheaper.  NULL cache: false.
 */
bool ts_tile_cache_touch(struct ts_tile_cache *c, const struct ts_tile_key *key);

/* What ts_tile_cache_touch would answer for key, without noting a look:
 * for asking about a tile's neighbours.  NULL cache: false. */
bool ts_tile_cache_seen(struct ts_tile_cache *c, const struct ts_tile_key *key);

/*
 * Count bytes held elsewhere for the same purpose (a JPEG 2000 codec kept
 * between requests, jp2_opj.c) against the budget: tiles are evicted to
 * make room.  Refused (false) when bytes pass a quarter of the budget or
 * all reservations would pass half of it, so tiles keep at least half.
 * Give the bytes back with ts_tile_cache_unreserve.  NULL cache: false.
 */
bool ts_tile_cache_reserve(struct ts_tile_cache *c, size_t bytes);
void ts_tile_cache_unreserve(struct ts_tile_cache *c, size_t bytes);

/* Give back a reference from ts_tile_cache_get or _peek.  Accepts NULL. */
void ts_tile_cache_release(struct ts_tile_cache *c, const struct ts_tile *t);

void ts_tile_cache_stats(struct ts_tile_cache *c, struct ts_tile_cache_stats *out);

#endif
