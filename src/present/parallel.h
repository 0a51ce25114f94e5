/*
 * parallel.h - one loop over many independent items on the machine's
 * cores (parallel.c), for the cold work of big folders.
 */
#ifndef TESSERA_PRESENT_PARALLEL_H
#define TESSERA_PRESENT_PARALLEL_H

#include <stddef.h>

/* Call fn(arg, from, to) over [0, n) in chunks, on up to 4 threads (the
 * cores) including the caller's when n >= min_parallel, else once on the
 * caller's.  fn must only touch what its items own.  Returns when every
 * item is done; a thread that cannot be started leaves its share to the
 * others. */
void ts_pm_parallel(size_t n, size_t min_parallel,
                    void (*fn)(void *arg, size_t from, size_t to), void *arg);

#endif
