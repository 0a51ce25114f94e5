/*
 * parallel.h - one loop over many independent items on the machine's
 * cores (parallel.c), for the cold work of big folders.
 */
#ifndef TESSERA_PRESENT_PARALLEL_H
#define TESSERA_PRESENT_PARALLEL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#define TS_PM_MAX_THREADS 4

/* A loop under way (ts_pm_begin .. ts_pm_end); the caller's, on its stack. */
struct ts_pm_loop {
	size_t n;
	size_t next;             /* the next item handed out, under lock */
	size_t ready;            /* items below this may be handed out, under lock */
	size_t chunk;            /* items handed out at a time */
	void (*fn)(void *arg, size_t from, size_t to);
	void *arg;
	int threads;             /* 1: no helper, ts_pm_end does it all */
	pthread_mutex_t lock;
	pthread_cond_t more;
	pthread_t tid[TS_PM_MAX_THREADS];
	bool started[TS_PM_MAX_THREADS];
};

/* Start calling fn(arg, from, to) over [0, n), chunk items at a time
 * (0: 128; from is always a multiple of chunk), on helper threads (up to the cores, 4 at most, counting the
 * caller's) when n >= min_parallel; items at or beyond ready wait for
 * ts_pm_ready.  fn must only touch what its items own. */
void ts_pm_begin(struct ts_pm_loop *l, size_t n, size_t ready, size_t min_parallel,
                 size_t chunk, void (*fn)(void *arg, size_t from, size_t to), void *arg);
/* Let items below upto be handed out (the caller has prepared them). */
void ts_pm_ready(struct ts_pm_loop *l, size_t upto);
/* Release every item, work on them on the caller's thread too, and return
 * when all are done.  A helper that could not be started leaves its share
 * to the others. */
void ts_pm_end(struct ts_pm_loop *l);

/* ts_pm_begin with every item ready, then ts_pm_end. */
void ts_pm_parallel(size_t n, size_t min_parallel,
                    void (*fn)(void *arg, size_t from, size_t to), void *arg);

#endif
