/*
 * load.h - how many CPU-bound renders are running right now
 * (src/core/load.c).
 *
 * Large renders count themselves in and out (src/serve/heavy.c), and the
 * decode stage asks before spreading one render's tiles over extra threads
 * (src/source/tile_pool.c).  Splitting a render only pays while cores sit
 * idle: once every core has a render of its own, the hand-offs and the
 * cache traffic between cores are pure cost (measured on a 2-core machine,
 * full/max of a 4224x3168 JPEG-tiled TIFF: 95 ms of CPU decoded on one
 * thread, 104.5 ms spread over two).
 */
#ifndef TESSERA_LOAD_H
#define TESSERA_LOAD_H

#include <stdbool.h>

/* A CPU-bound render starts or ends on this thread.  Thread-safe. */
void ts_load_enter(void);
void ts_load_leave(void);

/* Renders between enter and leave, now. */
int ts_load_running(void);

/* Online CPUs (read once; at least 1). */
int ts_load_cores(void);

/* True when one more thread of work would find an idle core: fewer
 * renders are running than there are cores. */
bool ts_load_has_idle_core(void);

#endif
