/*
 * deadline.c - a per-thread render deadline (contract in
 * include/tessera/deadline.h).  One thread-local word: set when a render
 * starts on a thread, read by the loops that do its work.
 */
#include <time.h>
#include "tessera/deadline.h"

static _Thread_local uint64_t deadline;

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

bool ts_deadline_passed(void)
{
	return deadline != 0 && ts_deadline_now() >= deadline;
}

ts_status ts_deadline_check(struct ts_error *err)
{
	if (!ts_deadline_passed())
		return TS_OK;
	return ts_error_set(err, TS_EUNAVAILABLE,
	                    "the image took longer to make than this server allows");
}
