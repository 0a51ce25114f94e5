/*
 * pool.h - the open-image cache (src/cache/source_pool.c).
 *
 * Opening a pyramid means parsing its directories (level geometry, tile
 * offsets and byte counts, JPEG tables).  The pool keeps opened sources
 * between requests, keyed by the file's identity (device, inode, size,
 * mtime), so a replaced file is noticed on its next request and an
 * unchanged one is never parsed twice.  A source serves one thread at a
 * time, so the pool hands out idle handles and opens another when all of a
 * file's handles are busy; the number of idle open handles is bounded.
 */
#ifndef TESSERA_POOL_H
#define TESSERA_POOL_H

#include <sys/stat.h>
#include "source.h"
#include "status.h"

struct ts_source_pool;

/* A pool keeping at most max_idle idle open sources in all. */
struct ts_source_pool *ts_source_pool_create(int max_idle, const struct ts_source_limits *lim);
/* Close every idle source. Sources checked out must be released first. */
void ts_source_pool_destroy(struct ts_source_pool *p);

/* Check out an open source for path, whose stat the resolver just took.
 * Returns an idle handle of the same file identity, or opens a new one.
 * The caller owns it until ts_source_pool_release. */
ts_status ts_source_pool_get(struct ts_source_pool *p, const char *path, const struct stat *st,
                             struct ts_source **out, struct ts_error *err);
/* Give a source back (st: the same stat passed to get).  Accepts NULL. */
void ts_source_pool_release(struct ts_source_pool *p, const struct stat *st,
                            struct ts_source *src);

/* Number of sources currently open (idle + checked out). */
int ts_source_pool_open_count(struct ts_source_pool *p);

#endif
