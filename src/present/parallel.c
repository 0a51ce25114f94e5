/*
 * parallel.c - one loop over many independent items on the machine's
 * cores (parallel.h): the stats of a 10,000-entry folder's listing and its
 * members' sidecars, which the kernel serves in parallel.
 *
 * The one idea: the items are handed out in chunks from one shared
 * counter, so a thread slowed down by a loaded machine simply takes fewer,
 * and the caller's own thread works too instead of waiting.  The caller
 * may also hand the items over as it prepares them (ts_pm_ready: a folder
 * watched entry by entry), so the helpers stat what is watched while it
 * watches the rest.
 */
#include <unistd.h>

#include "parallel.h"

#define CHUNK 128

static void *work(void *p)
{
	struct ts_pm_loop *l = p;

	for (;;) {
		size_t from, to;

		pthread_mutex_lock(&l->lock);
		while (l->next < l->n &&
		       l->ready < (l->n - l->next < l->chunk ? l->n : l->next + l->chunk))
			pthread_cond_wait(&l->more, &l->lock);
		from = l->next;
		to = l->n - from < l->chunk ? l->n : from + l->chunk;
		l->next = to;
		pthread_mutex_unlock(&l->lock);
		if (from >= l->n)
			return NULL;
		l->fn(l->arg, from, to);
	}
}

void ts_pm_begin(struct ts_pm_loop *l, size_t n, size_t ready, size_t min_parallel,
                 size_t chunk, void (*fn)(void *arg, size_t from, size_t to), void *arg)
{
	long cpus;

	l->n = n;
	l->next = 0;
	l->ready = ready;
	l->chunk = chunk ? chunk : CHUNK;
	l->fn = fn;
	l->arg = arg;
	l->threads = 1;
	/* sysconf is asked only for a big loop: it reads a file in /sys each
	 * time, and every member folder of a collection is a loop of one */
	if (n < min_parallel || n <= l->chunk || (cpus = sysconf(_SC_NPROCESSORS_ONLN)) < 2)
		return;
	l->threads = cpus > TS_PM_MAX_THREADS ? TS_PM_MAX_THREADS : (int)cpus;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->more, NULL);
	for (int t = 1; t < l->threads; t++)
		l->started[t] = pthread_create(&l->tid[t], NULL, work, l) == 0;
}

void ts_pm_ready(struct ts_pm_loop *l, size_t upto)
{
	if (l->threads < 2)
		return;
	pthread_mutex_lock(&l->lock);
	if (upto > l->ready) {
		l->ready = upto;
		pthread_cond_broadcast(&l->more);
	}
	pthread_mutex_unlock(&l->lock);
}

void ts_pm_end(struct ts_pm_loop *l)
{
	if (l->threads < 2) {
		for (size_t from = 0; from < l->n; from += l->chunk)
			l->fn(l->arg, from, l->n - from < l->chunk ? l->n : from + l->chunk);
		return;
	}
	ts_pm_ready(l, l->n);
	work(l);
	for (int t = 1; t < l->threads; t++)
		if (l->started[t])
			pthread_join(l->tid[t], NULL);
	pthread_cond_destroy(&l->more);
	pthread_mutex_destroy(&l->lock);
}

void ts_pm_parallel(size_t n, size_t min_parallel,
                    void (*fn)(void *arg, size_t from, size_t to), void *arg)
{
	struct ts_pm_loop l;

	ts_pm_begin(&l, n, n, min_parallel, 0, fn, arg);
	ts_pm_end(&l);
}
