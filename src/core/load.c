/*
 * load.c - a process-wide count of running CPU-bound renders (contract in
 * include/tessera/load.h).  One relaxed atomic: the answer is a hint for
 * scheduling, read at the start of a batch, so a momentarily stale value
 * costs at most one batch run on fewer threads than it could have used.
 */
#include <stdatomic.h>
#include <unistd.h>
#include "tessera/load.h"

static atomic_int running;
static atomic_int cores;

void ts_load_enter(void)
{
	atomic_fetch_add_explicit(&running, 1, memory_order_relaxed);
}

void ts_load_leave(void)
{
	atomic_fetch_sub_explicit(&running, 1, memory_order_relaxed);
}

int ts_load_running(void)
{
	return atomic_load_explicit(&running, memory_order_relaxed);
}

int ts_load_cores(void)
{
	int n = atomic_load_explicit(&cores, memory_order_relaxed);

	if (n == 0) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);

		n = c < 1 ? 1 : c > 1024 ? 1024 : (int)c;
		atomic_store_explicit(&cores, n, memory_order_relaxed);
	}
	return n;
}

bool ts_load_has_idle_core(void)
{
	return ts_load_running() < ts_load_cores();
}
