/*
 * pyramid_cache.h - the folder of pyramids made on demand from flat
 * sources (src/cache/pyramid_cache.c), for the server's auto_pyramid.
 *
 * Each pyramid is one file named after its source: a hash of the source's
 * path and the source's identity (device, inode, size, mtime), so
 *   - a source rewritten in place or replaced gets a new name, and the
 *     entry of the same path with the old identity is removed the next time
 *     the path is looked up (invalidation needs no watcher);
 *   - after a restart the folder is scanned and every file is found again
 *     by name, nothing else to read.
 * The folder has a byte budget: past it the least recently used pyramids
 * are removed.  Recency is the file's access time, which a hit sets
 * explicitly (at most once a minute per file) so that the order survives a
 * restart whatever the mount's atime options; the modification time and
 * inode stay, so the pyramid's own identity (ETags, the open-image pool)
 * does not move when it is used.  A conversion that failed leaves an empty
 * marker file of the same name ending in .failed, so that the same source
 * is not converted again (across restarts too) until it changes.
 *
 * Thread-safe (one mutex; lookups are a hash probe).  Paths returned are
 * copies; nothing is borrowed from the cache.
 */
#ifndef TESSERA_PYRAMID_CACHE_H
#define TESSERA_PYRAMID_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include "status.h"

struct ts_pyramid_key {
	uint64_t path_hash;          /* FNV-1a of the source's path */
	uint64_t dev, ino, size;
	int64_t mtime_sec;
	long mtime_nsec;
};

enum ts_pyramid_state {
	TS_PYRAMID_NONE,             /* no pyramid and no failure for this identity */
	TS_PYRAMID_READY,            /* a pyramid file is there */
	TS_PYRAMID_FAILED            /* converting this very source failed before */
};

struct ts_pyramid_cache_stats {
	uint64_t hits, misses, evictions, invalidations;
	uint64_t bytes, entries, failed, budget;
};

struct ts_pyramid_cache;

/* The key of the source at path whose stat is st. */
void ts_pyramid_key_make(const char *path, const struct stat *st, struct ts_pyramid_key *k);

/* Open the cache in dir (created, mode 0750, when missing; its parent must
 * exist), scan it: pyramids and failure markers are taken back, leftover
 * temporary files of conversions whose process is gone are removed, and
 * the least recently used pyramids past budget bytes are removed.  500
 * with a public sentence when dir cannot be made or read. */
ts_status ts_pyramid_cache_open(const char *dir, uint64_t budget,
                                struct ts_pyramid_cache **out, struct ts_error *err);
/* Free the index (the files stay).  Accepts NULL. */
void ts_pyramid_cache_close(struct ts_pyramid_cache *c);

/* What the cache has for k.  READY copies the pyramid's path into path
 * (n bytes) and counts a hit; NONE counts a miss.  Any entry of the same
 * source path with another identity is removed first (the source changed:
 * an invalidation). */
enum ts_pyramid_state ts_pyramid_cache_find(struct ts_pyramid_cache *c,
                                            const struct ts_pyramid_key *k, char *path,
                                            size_t n);

/* The name the pyramid of k is written to (ts_convert_file's out). */
void ts_pyramid_cache_path(const struct ts_pyramid_cache *c, const struct ts_pyramid_key *k,
                           char *path, size_t n);

/* Take the finished pyramid of k (at ts_pyramid_cache_path) into the
 * budget, as the most recently used, and remove the least recently used
 * others past the budget.  A pyramid larger than the whole budget is
 * removed at once and recorded as failed (it would only be made again).
 * 500 when the file is not there. */
ts_status ts_pyramid_cache_add(struct ts_pyramid_cache *c, const struct ts_pyramid_key *k,
                               struct ts_error *err);

/* Record that converting k failed (the marker file persists it). */
void ts_pyramid_cache_fail(struct ts_pyramid_cache *c, const struct ts_pyramid_key *k);

/* Forget k's pyramid and remove its file (it could not be opened). */
void ts_pyramid_cache_drop(struct ts_pyramid_cache *c, const struct ts_pyramid_key *k);

void ts_pyramid_cache_stats(struct ts_pyramid_cache *c, struct ts_pyramid_cache_stats *out);

#endif
