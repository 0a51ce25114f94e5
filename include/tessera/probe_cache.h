/*
 * probe_cache.h - what probing a file found, kept per file identity
 * (src/cache/probe_cache.c), for the Presentation builder: an image's
 * geometry (struct ts_source_info, as info.json uses it) or a sound or
 * video's duration and size (struct ts_media_info).
 *
 * Keyed by (device, inode, size, mtime), so a file rewritten or replaced is
 * probed again and an unchanged one never twice: a 2,000-page book is
 * measured once, and after one page changes only that page is re-read.
 * Process-wide, shared by the worker threads (one mutex: entries are small
 * and lookups short); bounded: when full it is emptied and refills.
 */
#ifndef TESSERA_PROBE_CACHE_H
#define TESSERA_PROBE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "media.h"
#include "source.h"

struct ts_probe_cache;

/* A cache of at most max_entries results; NULL on out of memory. */
struct ts_probe_cache *ts_probe_cache_create(size_t max_entries);
/* Accepts NULL. */
void ts_probe_cache_destroy(struct ts_probe_cache *pc);

/* Copy the cached image geometry of the file st identifies into *out (its
 * icc is NULL); false on a miss. */
bool ts_probe_cache_get_image(struct ts_probe_cache *pc, const struct stat *st,
                              struct ts_source_info *out);
/* Remember info (copied, icc dropped) for st. */
void ts_probe_cache_put_image(struct ts_probe_cache *pc, const struct stat *st,
                              const struct ts_source_info *info);
bool ts_probe_cache_get_media(struct ts_probe_cache *pc, const struct stat *st,
                              struct ts_media_info *out);
void ts_probe_cache_put_media(struct ts_probe_cache *pc, const struct stat *st,
                              const struct ts_media_info *info);

#endif
