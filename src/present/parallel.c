/*
 * parallel.c - one loop over many independent items on the machine's
 * cores (parallel.h): the stats of a 10,000-entry folder's listing and its
 * members' sidecars, which the kernel serves in parallel.
 *
 * The one idea: the items are handed out in chunks from one shared
 * counter, so a thread slowed down by a loaded machine simply takes fewer,
 * and the caller's own thread works too instead of waiting.
 */
#include <pthread.h>
#include <stdbool.h>
#include <unistd.h>

#include "parallel.h"

#define MAX_THREADS 4
#define CHUNK 128

struct loop {
	size_t n;
	size_t next;   /* the next item handed out (atomic) */
	void (*fn)(void *arg, size_t from, size_t to);
	void *arg;
};

static void *work(void *p)
{
	struct loop *l = p;

	for (;;) {
		size_t from = __atomic_fetch_add(&l->next, CHUNK, __ATOMIC_RELAXED);

		if (from >= l->n)
			return NULL;
		l->fn(l->arg, from, l->n - from < CHUNK ? l->n : from + CHUNK);
	}
}

void ts_pm_parallel(size_t n, size_t min_parallel,
                    void (*fn)(void *arg, size_t from, size_t to), void *arg)
{
	struct loop l = { n, 0, fn, arg };
	pthread_t tid[MAX_THREADS];
	bool started[MAX_THREADS];
	long cpus;
	int threads;

	/* asked only for a big loop: sysconf reads a file in /sys each time,
	 * and every member folder of a collection is a loop of one */
	if (n < min_parallel || n <= CHUNK || (cpus = sysconf(_SC_NPROCESSORS_ONLN)) < 2) {
		if (n)
			fn(arg, 0, n);
		return;
	}
	threads = cpus > MAX_THREADS ? MAX_THREADS : (int)cpus;
	for (int t = 1; t < threads; t++)
		started[t] = pthread_create(&tid[t], NULL, work, &l) == 0;
	work(&l);
	for (int t = 1; t < threads; t++)
		if (started[t])
			pthread_join(tid[t], NULL);
}
