/*
 * heavy.c - large renders run on low-priority threads.
 *
 * A viewer's tile costs a fraction of a millisecond; a 3000-pixel region or
 * a full/max costs hundreds.  When both share the cores at equal priority,
 * every tile waits behind slices of the big renders.  So a render that
 * reads many pixels is handed to one of a few threads running at nice 19
 * (one per core: they may use every idle cycle), and the worker that
 * received the request waits for it.  Tile requests, on normal-priority
 * workers, then preempt the big renders instead of queueing behind them.
 * (setpriority on a thread id is per-thread on Linux.)  Each running job
 * is counted (tessera/load.h), so the decode stage splits a render over
 * more threads only while a core is idle.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "serve.h"
#include "tessera/load.h"
#include "tessera/log.h"

#define HEAVY_NICE 19

struct job {
	ts_status (*fn)(void *arg);
	void *arg;
	ts_status result;
	bool done;
	struct job *next;
};

struct ts_heavy {
	pthread_mutex_t lock;
	pthread_cond_t work, done;
	struct job *head, *tail;
	pthread_t *threads;
	int nthreads;
	bool stopping;
};

static void *heavy_thread(void *arg)
{
	struct ts_heavy *h = arg;
	struct job *j;

	if (setpriority(PRIO_PROCESS, (id_t)gettid(), HEAVY_NICE) != 0)
		ts_log(TS_LOG_WARN, "heavy renders: cannot lower thread priority");
	pthread_mutex_lock(&h->lock);
	for (;;) {
		while (!h->head && !h->stopping)
			pthread_cond_wait(&h->work, &h->lock);
		if (!h->head)
			break;
		j = h->head;
		h->head = j->next;
		if (!h->head)
			h->tail = NULL;
		pthread_mutex_unlock(&h->lock);
		ts_load_enter();
		j->result = j->fn(j->arg);
		ts_load_leave();
		pthread_mutex_lock(&h->lock);
		j->done = true;
		pthread_cond_broadcast(&h->done);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

struct ts_heavy *ts_heavy_create(int nthreads)
{
	struct ts_heavy *h = calloc(1, sizeof *h);
	int i;

	if (!h)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->work, NULL);
	pthread_cond_init(&h->done, NULL);
	h->threads = calloc((size_t)(nthreads > 0 ? nthreads : 1), sizeof *h->threads);
	if (!h->threads) {
		ts_heavy_destroy(h);
		return NULL;
	}
	for (i = 0; i < nthreads; i++) {
		if (pthread_create(&h->threads[i], NULL, heavy_thread, h) != 0)
			break;
		h->nthreads++;
	}
	return h;
}

void ts_heavy_destroy(struct ts_heavy *h)
{
	int i;

	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->stopping = true;
	pthread_cond_broadcast(&h->work);
	pthread_mutex_unlock(&h->lock);
	for (i = 0; i < h->nthreads; i++)
		pthread_join(h->threads[i], NULL);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->work);
	pthread_cond_destroy(&h->done);
	free(h->threads);
	free(h);
}

ts_status ts_heavy_run(struct ts_heavy *h, ts_status (*fn)(void *arg), void *arg)
{
	struct job j = { .fn = fn, .arg = arg };

	if (!h || h->nthreads == 0)
		return fn(arg);   /* no pool: run here, at the worker's priority */
	pthread_mutex_lock(&h->lock);
	if (h->tail)
		h->tail->next = &j;
	else
		h->head = &j;
	h->tail = &j;
	pthread_cond_signal(&h->work);
	while (!j.done)
		pthread_cond_wait(&h->done, &h->lock);
	pthread_mutex_unlock(&h->lock);
	return j.result;
}
