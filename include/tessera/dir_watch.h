/*
 * dir_watch.h - small results computed from folders (a Presentation
 * answer's fingerprint and date), kept for as long as the kernel reports
 * no change in any folder they were computed from (src/cache/dir_watch.c).
 *
 * The fingerprint of a 10,000-member collection is a readdir and 20,000
 * stats; with this cache an unchanged answer costs one non-blocking read
 * of the inotify queue and a table lookup.  The rule that keeps "a change
 * on disk shows in the very next answer" true: every folder a result
 * depends on is watched BEFORE it is read, and the queue is drained at the
 * start of every lookup under the cache's lock; any event at all (or a
 * queue overflow) empties the whole table and drops every watch, so what
 * was cached before a change is never answered after it.
 *
 * Where inotify cannot see every change, nothing is cached and callers
 * compute as before: inotify unavailable or disabled, the watch limit
 * reached, a root on a network file system (changes made by other hosts
 * raise no event), and results the caller marks unwatchable (a symlink's
 * target or a hard-linked file can change through a name outside the
 * watched folders).
 *
 * Process-wide, shared by the worker threads (one mutex).
 */
#ifndef TESSERA_DIR_WATCH_H
#define TESSERA_DIR_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct ts_dir_watch;

/* What is kept per key. */
struct ts_dir_stamp {
	uint64_t fingerprint;
	time_t mtime;
};

/* One computation on its way into the cache (ts_dir_watch_begin). */
struct ts_dir_ticket {
	uint64_t epoch;   /* the table's generation when the computation began */
	bool ok;          /* every folder it read is watched */
	/* The last folder watched itself (name NULL), and once a sub-folder
	 * of it is watched, its absolute path (ts_dir_watch_add) */
	bool dir_known, path_known;
	dev_t dir_dev;
	ino_t dir_ino;
	char dir_path[PATH_MAX];
};

/* A cache watching at most max_watches folders and keeping at most
 * max_entries results; root_fd (borrowed, only looked at) is the tree's
 * root, refused when it lies on a network file system.  enabled false, or
 * inotify unavailable: a cache that never hits.  NULL on out of memory. */
struct ts_dir_watch *ts_dir_watch_create(int root_fd, bool enabled, size_t max_watches,
                                         size_t max_entries);
/* Accepts NULL. */
void ts_dir_watch_destroy(struct ts_dir_watch *w);
/* Whether results can be cached at all (inotify is working). */
bool ts_dir_watch_active(struct ts_dir_watch *w);

/* Drain the pending events (any one empties the table), then look key up:
 * true and *out on a hit. */
bool ts_dir_watch_get(struct ts_dir_watch *w, const char *key, struct ts_dir_stamp *out);

/* Start a computation: drains the events and notes the generation. */
void ts_dir_watch_begin(struct ts_dir_watch *w, struct ts_dir_ticket *t);
/* Watch, for the computation and before reading it, the folder open as
 * dir_fd (borrowed), or with name the folder name inside it (a symlink
 * there is not followed): its entries created, deleted, moved, written or
 * changed in their attributes, and the folder itself deleted or moved.
 * dir_fd < 0 marks the computation unwatchable; so does a failed watch
 * (limit reached, no such folder).  Sub-folders (name) of the folder last
 * watched itself are reached by its absolute path, read once: a cheaper
 * lookup than the descriptor's /proc link, and safe since that folder's
 * own watch (and its parents', when they are watched on the way down)
 * reports a move that would leave the path stale. */
void ts_dir_watch_add(struct ts_dir_watch *w, struct ts_dir_ticket *t, int dir_fd,
                      const char *name);
/* Keep value under key if the computation is still valid: every watch
 * held and no event arrived since ts_dir_watch_begin. */
void ts_dir_watch_put(struct ts_dir_watch *w, const struct ts_dir_ticket *t, const char *key,
                      const struct ts_dir_stamp *value);

#endif
