/*
 * mem_trim.h - freed heap memory handed back to the system once the
 * process has gone idle (src/core/mem_trim.c).
 *
 * The daemon keeps large freed blocks in malloc's heaps (main.c raises
 * M_MMAP_THRESHOLD and M_TRIM_THRESHOLD) so that the next decode does not
 * fault its pages in again; a busy server reuses them at once, but an idle
 * one would hold them for ever.  A small thread watches the requests go in
 * and out and calls malloc_trim(0) once no request has run for idle_ms.
 */
#ifndef TESSERA_MEM_TRIM_H
#define TESSERA_MEM_TRIM_H

#include <stddef.h>
#include "status.h"

struct ts_mem_trim;

/* The trimming call: malloc_trim's signature (its result is ignored). */
typedef int (*ts_mem_trim_fn)(size_t pad);

/*
 * Start the watching thread: after a request has ended and idle_ms have
 * passed with none running or ending, call trim(0) once (NULL: malloc_trim);
 * again only after further requests.  idle_ms 0 returns NULL and TS_OK
 * (never trims; every other function accepts NULL).  Fails (NULL, message
 * in err) when the thread cannot start.
 */
struct ts_mem_trim *ts_mem_trim_start(unsigned idle_ms, ts_mem_trim_fn trim,
                                      struct ts_error *err);

/* A request starts / ends (any thread; two atomics and a clock read). */
void ts_mem_trim_enter(struct ts_mem_trim *t);
void ts_mem_trim_leave(struct ts_mem_trim *t);

/* How many times the trim call has been made. */
unsigned long ts_mem_trim_count(const struct ts_mem_trim *t);

/* Stop and join the thread; accepts NULL. */
void ts_mem_trim_stop(struct ts_mem_trim *t);

#endif
