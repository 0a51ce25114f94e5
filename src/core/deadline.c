/*
 * deadline.c - a per-thread render deadline (contract in
 * include/tessera/deadline.h).  One thread-local word: set when a render
 * starts on a thread, read by the loops that do its work; and a
 * thread-local pointer to a stop word another thread may set.
 */
#include <time.h>
#include "tessera/deadline.h"

static _Thread_local uint64_t deadline;
static _Thread_local const atomic_int *stop_word;   /* another thread's "stop" */

uint64_t ts_deadline_now(void)
{
	struct timespec ts;

#ifdef CLOCK_MONOTONIC_COARSE
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
#else
	clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t ts_deadline_after(double seconds)
{
	if (!(seconds > 0))
		return 0;
	if (seconds > 1e6)
		seconds = 1e6;   /* eleven days: "none" in practice, no overflow */
	return ts_deadline_now() + (uint64_t)(seconds * 1e9);
}

uint64_t ts_deadline_get(void)
{
	return deadline;
}

void ts_deadline_set(uint64_t at)
{
	deadline = at;
}

void ts_deadline_set_stop(const atomic_int *stop)
{
	stop_word = stop;
}

const atomic_int *ts_deadline_get_stop(void)
{
	return stop_word;
}

bool ts_deadline_passed(void)
{
	if (stop_word && atomic_load_explicit(stop_word, memory_order_relaxed))
		return true;
	return deadline != 0 && ts_deadline_now() >= deadline;
}

ts_status ts_deadline_check(struct ts_error *err)
{
	if (!ts_deadline_passed())
		return TS_OK;
	return ts_error_set(err, TS_EUNAVAILABLE,
	                    "the image took longer to make than this server allows");
}
