/*
 * deadline.h - the time by which the render running on this thread must
 * end (src/core/deadline.c).
 *
 * A render is decoded, shaped and encoded through many layers (source/,
 * pipe/, encode/), several of them calling libraries that know nothing of
 * requests.  Rather than thread a deadline argument through every one of
 * them, the render's entry point sets the deadline of the thread it runs
 * on, and the long loops (per tile, strip, band of rows) ask whether it
 * has passed.  The decode stage's helper threads take the deadline of the
 * batch they work on (source/tile_pool.c), so it follows the work.  A loop
 * that finds it passed fails with ts_deadline_check's 503 and leaves
 * through its fail: path, freeing what it holds, like any other failure.
 *
 * Another thread may also end the render early through a stop word it
 * owns (ts_deadline_set_stop): a large render whose client went away
 * (serve/heavy.c) stops at the next check as if its deadline had passed.
 *
 * The clock is CLOCK_MONOTONIC_COARSE (a few milliseconds of resolution,
 * read without a system call): cheap enough to ask once per tile or per
 * few rows.
 */
#ifndef TESSERA_DEADLINE_H
#define TESSERA_DEADLINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "status.h"

/* Now, in nanoseconds of the monotonic clock. */
uint64_t ts_deadline_now(void);

/* The moment `seconds` from now (ns); 0 when seconds <= 0 (no deadline). */
uint64_t ts_deadline_after(double seconds);

/* This thread's deadline (ns of ts_deadline_now), 0 = none. */
uint64_t ts_deadline_get(void);

/* Set (or with 0 clear) this thread's deadline.  The caller that sets one
 * clears it (or restores the previous value) when its render ends. */
void ts_deadline_set(uint64_t at);

/* Also end this thread's render once *stop is nonzero (set by another
 * thread); NULL = the deadline only.  Borrowed: the caller that sets it
 * clears it (or restores the previous one) before stop goes away. */
void ts_deadline_set_stop(const atomic_int *stop);
const atomic_int *ts_deadline_get_stop(void);

/* True when this thread has a deadline and it has passed, or its stop
 * word is set. */
bool ts_deadline_passed(void);

/* TS_OK while the deadline holds; once it has passed (or stop is set),
 * 503 with the public sentence "the image took longer to make than this
 * server allows" (the thread that set stop replaces it with its own). */
ts_status ts_deadline_check(struct ts_error *err);

#endif
