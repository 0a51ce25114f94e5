/*
 * tile_pool.h - the decode stage's shared worker threads (tile_pool.c),
 * private to src/source/.
 *
 * A batch is n independent pieces of work (tiles to decompress).  The
 * calling thread works on its own batch too, so a batch always finishes
 * even when every worker is busy with other requests' batches: workers
 * only speed it up, never hold it up.  A worker runs an item under the
 * caller's render deadline (tessera/deadline.h), so fn may ask
 * ts_deadline_passed() wherever it runs.
 */
#ifndef TESSERA_TILE_POOL_H
#define TESSERA_TILE_POOL_H

#include <stdbool.h>
#include <stddef.h>

/* One piece of work: item i of the batch.  Runs on any thread, so it may
 * touch only what item i owns (and read shared, unchanging data). */
typedef void ts_tile_pool_fn(void *ctx, size_t i);

/*
 * Run fn(ctx, i) once for every i < n and return when all calls have
 * returned.  With parallel false (or no workers) everything runs on the
 * caller, in order.  The workers are started on first use: the number of
 * online CPUs, capped at 8, minus one for the caller (at least one).  If
 * they cannot be started, the caller does all the work.  Borrows ctx.
 */
void ts_tile_pool_run(size_t n, ts_tile_pool_fn *fn, void *ctx, bool parallel);

/* Threads that can work on one batch (workers + the caller); starts the
 * workers if needed.  For tests and logs. */
int ts_tile_pool_threads(void);

#endif
