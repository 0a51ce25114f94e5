/*
 * tile_pool.c - a small, persistent set of worker threads that decode the
 * tiles of one large region in parallel (contract in tile_pool.h).
 *
 * The workers are started once, on first use, and live as long as the
 * process; requests never create threads.  A batch is queued with a
 * counter of the next unclaimed item; every thread (the workers, and the
 * caller who queued it) claims items one at a time under one mutex.  The
 * one idea that keeps it safe: the caller claims items of its own batch
 * until none are left, then waits only for the items other threads have
 * already started.  So a batch finishes in the time of its own work even
 * when the workers are busy elsewhere; no request waits on another.
 * Claiming costs one mutex round trip per item, nothing next to a tile
 * decode (about a millisecond).
 */
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>
#include "tessera/deadline.h"
#include "tessera/load.h"
#include "tile_pool.h"

/* Two cores is the common case; past eight, the copy-out and encode of
 * one request dominate and more threads only contend. */
#define MAX_THREADS 8

struct batch {
	struct batch *next;         /* in the queue while items are unclaimed */
	ts_tile_pool_fn *fn;
	void *ctx;
	size_t n;
	size_t next_item;           /* first unclaimed item */
	size_t finished;            /* items whose fn returned */
	uint64_t deadline;          /* the caller's render deadline (deadline.h) */
	const atomic_int *stop;     /* and its stop word */
	pthread_cond_t done;        /* finished reached n */
};

static struct {
	pthread_once_t once;
	pthread_mutex_t lock;
	pthread_cond_t work;        /* the queue became non-empty */
	struct batch *queue;        /* FIFO of batches with unclaimed items */
	int nworkers;
} pool = {
	.once = PTHREAD_ONCE_INIT,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
};

/* Under pool.lock: take the next item of b; unqueue b when it was the last. */
static size_t claim(struct batch *b)
{
	size_t i = b->next_item++;
	struct batch **pp;

	if (b->next_item == b->n) {
		for (pp = &pool.queue; *pp; pp = &(*pp)->next) {
			if (*pp == b) {
				*pp = b->next;
				break;
			}
		}
		b->next = NULL;
	}
	return i;
}

/* Under pool.lock: item of b finished.  After the last one b may vanish
 * (its caller returns), so nothing touches b after this. */
static void finish(struct batch *b)
{
	if (++b->finished == b->n)
		pthread_cond_signal(&b->done);
}

static void *worker(void *arg)
{
	struct batch *b;
	size_t i;

	(void)arg;
	/* Only large regions use the pool: let tile requests preempt it. */
	setpriority(PRIO_PROCESS, (id_t)gettid(), 19);
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		while (!pool.queue)
			pthread_cond_wait(&pool.work, &pool.lock);
		b = pool.queue;
		i = claim(b);
		pthread_mutex_unlock(&pool.lock);
		/* The item works under its render's deadline, not ours. */
		ts_deadline_set(b->deadline);
		ts_deadline_set_stop(b->stop);
		b->fn(b->ctx, i);
		ts_deadline_set(0);
		ts_deadline_set_stop(NULL);
		pthread_mutex_lock(&pool.lock);
		finish(b);
	}
	return NULL;
}

static void start_workers(void)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t t;
	long ncpu = ts_load_cores();
	int want, i;

	if (ncpu < 1)
		ncpu = 1;
	if (ncpu > MAX_THREADS)
		ncpu = MAX_THREADS;
	want = (int)ncpu - 1;       /* the caller is the other thread */
	if (want < 1)
		want = 1;
	if (pthread_attr_init(&attr) != 0)
		return;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Signals belong to the daemon's main loop, never to a worker. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < want; i++) {
		if (pthread_create(&t, &attr, worker, NULL) != 0)
			break;
		pool.nworkers++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
}

int ts_tile_pool_threads(void)
{
	pthread_once(&pool.once, start_workers);
	return pool.nworkers + 1;
}

void ts_tile_pool_run(size_t n, ts_tile_pool_fn *fn, void *ctx, bool parallel)
{
	struct batch b = { 0 };
	struct batch **pp;
	size_t i;

	/* Splitting pays only while a core is idle (tessera/load.h): with
	 * every core busy on a render of its own, workers would just add
	 * hand-offs and cache traffic. */
	if (parallel && !ts_load_has_idle_core())
		parallel = false;
	if (parallel && n >= 2)
		pthread_once(&pool.once, start_workers);
	if (!parallel || n < 2 || pool.nworkers == 0 || pthread_cond_init(&b.done, NULL) != 0) {
		for (i = 0; i < n; i++)
			fn(ctx, i);
		return;
	}
	b.fn = fn;
	b.ctx = ctx;
	b.n = n;
	b.deadline = ts_deadline_get();
	b.stop = ts_deadline_get_stop();
	pthread_mutex_lock(&pool.lock);
	for (pp = &pool.queue; *pp; pp = &(*pp)->next)
		;
	*pp = &b;
	pthread_cond_broadcast(&pool.work);
	while (b.next_item < b.n) {
		i = claim(&b);
		pthread_mutex_unlock(&pool.lock);
		fn(ctx, i);
		pthread_mutex_lock(&pool.lock);
		b.finished++;
	}
	/* Only items already running elsewhere remain: bounded waiting. */
	while (b.finished < b.n)
		pthread_cond_wait(&b.done, &pool.lock);
	pthread_mutex_unlock(&pool.lock);
	pthread_cond_destroy(&b.done);
}
