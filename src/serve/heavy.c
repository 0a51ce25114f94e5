/*
 * heavy.c - admission of large renders: a few run at once, on low-priority
 * threads, within a memory budget; a bounded queue waits a bounded time;
 * the rest are refused at once.
 *
 * A viewer's tile costs a fraction of a millisecond; a 3000-pixel region or
 * a rotated full/max costs seconds and tens of megabytes.  Left alone, a
 * burst of big renders takes every worker and all the memory, and tiles
 * wait behind them until the web server gives up (504).  So a render whose
 * cost estimate is large (image.c) is admitted here:
 *
 *   - it runs on one of `running` threads at nice 19, so tiles on the
 *     normal-priority workers preempt it instead of queueing behind it
 *     (setpriority on a thread id is per-thread on Linux);
 *   - it starts only when its memory estimate fits in what the running
 *     renders have not reserved (`memory`); one that could never fit is
 *     refused with 403, like any request over a configured limit;
 *   - while it cannot start it waits in a FIFO queue of at most `queue`
 *     renders, for at most `wait_seconds`; a full queue or a wait that
 *     runs out is 503 (the caller adds Retry-After);
 *   - it runs under a deadline of `render_seconds` from its start
 *     (tessera/deadline.h), set on the thread that runs it;
 *   - while it waits, when it leaves the queue and while it runs, its
 *     client is looked at (the caller's gone(), front/conn_watch.c): a
 *     waiting render whose client has left is dropped with 499 and its
 *     place goes to the next; a running one is stopped at its next
 *     deadline check (ts_deadline_set_stop) and its memory freed.
 *
 * The one idea: the worker that received the request only waits here; a
 * waiter and the queue are the only state, both under one mutex, and the
 * queue order is the start order (a small render never overtakes a large
 * one at the head, so a large one cannot starve).  The workers left over
 * (threads - running - queue) are always free for cheap requests.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "serve.h"
#include "tessera/deadline.h"
#include "tessera/load.h"
#include "tessera/log.h"

#define HEAVY_NICE 19

struct job {
	ts_status (*fn)(void *arg);
	bool (*gone)(void *arg);    /* has its client left? NULL = never asked */
	void *arg;
	struct ts_error *err;       /* the waiting request's */
	uint64_t bytes;        /* memory reserved while it runs */
	ts_status result;
	bool started, done;
	/* Set by the waiter when the client leaves a running render: the
	 * render's deadline checks see it (ts_deadline_set_stop) and it ends. */
	atomic_int stop;
	struct job *next;
};

struct ts_heavy {
	struct ts_heavy_limits lim;
	pthread_mutex_t lock;
	pthread_cond_t work, done;
	struct job *head, *tail;     /* waiting, in arrival order */
	pthread_t *threads;
	int nthreads;
	bool stopping;
	/* under lock */
	int running, queued;
	uint64_t reserved;
	uint64_t admitted, refused, timed_out, abandoned;
};

/* Under lock: may the head of the queue start now? */
static bool head_fits(const struct ts_heavy *h)
{
	if (!h->head)
		return false;
	if (h->lim.memory == 0)
		return true;
	/* With nothing running it always fits: run() refused anything over
	 * the whole budget before queueing it. */
	return h->running == 0 || h->head->bytes <= h->lim.memory - h->reserved;
}

static void *heavy_thread(void *arg)
{
	struct ts_heavy *h = arg;
	struct job *j;
	bool late, stopped;

	if (setpriority(PRIO_PROCESS, (id_t)gettid(), HEAVY_NICE) != 0)
		ts_log(TS_LOG_WARN, "heavy renders: cannot lower thread priority");
	pthread_mutex_lock(&h->lock);
	for (;;) {
		while (!h->stopping && !head_fits(h))
			pthread_cond_wait(&h->work, &h->lock);
		if (h->stopping)
			break;
		j = h->head;
		h->head = j->next;
		if (!h->head)
			h->tail = NULL;
		h->queued--;
		/* Its client may have left since its waiter last looked: then
		 * the render is not started, and the next one may take the
		 * thread at once. */
		if (j->gone && j->gone(j->arg)) {
			h->abandoned++;
			j->result = ts_error_set(j->err, TS_ECLIENTGONE, "the client went away");
			j->started = j->done = true;
			pthread_cond_broadcast(&h->done);
			continue;
		}
		h->running++;
		h->reserved += j->bytes;
		h->admitted++;
		j->started = true;
		/* Its waiter stops counting the wait; another thread may take
		 * the next head if it fits beside this one. */
		pthread_cond_broadcast(&h->done);
		if (head_fits(h))
			pthread_cond_signal(&h->work);
		pthread_mutex_unlock(&h->lock);

		ts_deadline_set(ts_deadline_after(h->lim.render_seconds));
		ts_deadline_set_stop(&j->stop);
		ts_load_enter();
		j->result = j->fn(j->arg);
		ts_load_leave();
		stopped = atomic_load(&j->stop) != 0;
		late = !stopped && j->result == TS_EUNAVAILABLE && ts_deadline_passed();
		ts_deadline_set(0);
		ts_deadline_set_stop(NULL);

		pthread_mutex_lock(&h->lock);
		if (late)
			h->timed_out++;
		if (stopped) {
			/* its client left while it ran: whatever it made, nobody
			 * reads it (the render's own error gives way) */
			h->abandoned++;
			ts_error_clear(j->err);
			j->result = ts_error_set(j->err, TS_ECLIENTGONE, "the client went away");
		}
		h->running--;
		h->reserved -= j->bytes;
		j->done = true;
		pthread_cond_broadcast(&h->done);
		pthread_cond_broadcast(&h->work);   /* the memory freed may fit the head */
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

struct ts_heavy *ts_heavy_create(const struct ts_heavy_limits *lim)
{
	struct ts_heavy *h = calloc(1, sizeof *h);
	pthread_condattr_t ca;
	int i, n;

	if (!h)
		return NULL;
	h->lim = *lim;
	if (h->lim.running < 1)
		h->lim.running = 1;
	if (h->lim.queue < 0)
		h->lim.queue = 0;
	n = h->lim.running;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->work, NULL);
	/* Waiters time out on the monotonic clock, immune to clock changes. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->done, &ca);
	pthread_condattr_destroy(&ca);
	h->threads = calloc((size_t)n, sizeof *h->threads);
	if (!h->threads) {
		ts_heavy_destroy(h);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (pthread_create(&h->threads[i], NULL, heavy_thread, h) != 0)
			break;
		h->nthreads++;
	}
	if (h->nthreads == 0) {
		ts_heavy_destroy(h);
		return NULL;
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

/* Under lock: take j out of the queue (it has not started). */
static void unqueue(struct ts_heavy *h, struct job *j)
{
	struct job **pp, *prev = NULL;

	for (pp = &h->head; *pp; prev = *pp, pp = &(*pp)->next) {
		if (*pp != j)
			continue;
		*pp = j->next;
		if (h->tail == j)
			h->tail = prev;
		h->queued--;
		return;
	}
}

/* The earlier of `until` (NULL: none) and HEAVY_WATCH_MS from now
 * (monotonic). */
static struct timespec next_look(const struct timespec *until)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_nsec += HEAVY_WATCH_MS * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	if (until && (t.tv_sec > until->tv_sec ||
	              (t.tv_sec == until->tv_sec && t.tv_nsec > until->tv_nsec)))
		return *until;
	return t;
}

static bool passed(const struct timespec *until)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec > until->tv_sec || (t.tv_sec == until->tv_sec && t.tv_nsec >= until->tv_nsec);
}

ts_status ts_heavy_run(struct ts_heavy *h, uint64_t bytes, ts_status (*fn)(void *arg),
                       bool (*gone)(void *arg), void *arg, struct ts_error *err)
{
	struct job j = { .fn = fn, .gone = gone, .arg = arg, .err = err, .bytes = bytes };
	struct timespec until;
	uint64_t wait_ns;

	if (h->lim.memory && bytes > h->lim.memory)
		return ts_error_set(err, TS_EFORBIDDEN, "the image would need more memory than "
		                    "this server gives one request");
	clock_gettime(CLOCK_MONOTONIC, &until);
	wait_ns = (uint64_t)(h->lim.wait_seconds * 1e9);
	until.tv_sec += (time_t)(wait_ns / 1000000000u);
	until.tv_nsec += (long)(wait_ns % 1000000000u);
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&h->lock);
	/* The queue counts those that cannot start at once: a render that
	 * finds a free thread and room in the budget never waits.  Renders
	 * admitted a moment ago sit in the list until a (low-priority) thread
	 * takes them, so a thread is free for this one while fewer are listed
	 * than threads idle; counting any listed render as waiting refused a
	 * second render with a thread free for it, on a loaded machine. */
	if (h->stopping || (h->queued >= h->lim.queue &&
	                    (h->running >= h->nthreads || h->queued >= h->nthreads - h->running ||
	                     (h->lim.memory && h->running > 0 &&
	                      bytes > h->lim.memory - h->reserved)))) {
		h->refused++;
		pthread_mutex_unlock(&h->lock);
		return ts_error_set(err, TS_EUNAVAILABLE, "the server is busy making other large "
		                    "images; try again shortly");
	}
	if (h->tail)
		h->tail->next = &j;
	else
		h->head = &j;
	h->tail = &j;
	h->queued++;
	pthread_cond_signal(&h->work);
	/* Waiting, it looks at its client every HEAVY_WATCH_MS: a queue full
	 * of renders whose clients have left (a viewer that panned away, wrk
	 * stopped) would refuse the next real ones 503. */
	while (!j.started) {
		struct timespec look = next_look(&until);

		pthread_cond_timedwait(&h->done, &h->lock, &look);
		if (j.started)
			break;
		if (gone && gone(arg)) {
			unqueue(h, &j);
			h->abandoned++;
			pthread_cond_broadcast(&h->work);
			pthread_mutex_unlock(&h->lock);
			return ts_error_set(err, TS_ECLIENTGONE, "the client went away");
		}
		if (passed(&until)) {
			unqueue(h, &j);
			h->refused++;
			/* The head may have changed: let a thread look again. */
			pthread_cond_broadcast(&h->work);
			pthread_mutex_unlock(&h->lock);
			return ts_error_set(err, TS_EUNAVAILABLE, "the server is busy making other "
			                    "large images; try again shortly");
		}
	}
	/* Started: it ends within its deadline, so this wait is bounded; and
	 * sooner if its client leaves (the render stops at its next check). */
	while (!j.done) {
		struct timespec look = next_look(NULL);

		pthread_cond_timedwait(&h->done, &h->lock, &look);
		if (!j.done && gone && !atomic_load(&j.stop) && gone(arg))
			atomic_store(&j.stop, 1);
	}
	pthread_mutex_unlock(&h->lock);
	return j.result;
}

void ts_heavy_limits_from(const struct ts_settings *s, struct ts_heavy_limits *out)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int workers = ts_settings_worker_threads(s), want;

	memset(out, 0, sizeof *out);
	/* Running and queued renders each hold a worker: at least two
	 * workers are always left for cheap requests. */
	want = s->max_heavy_renders > 0 ? s->max_heavy_renders :
	       cpus > 0 ? (int)(cpus < 16 ? cpus : 16) : 1;
	out->running = want;
	if (out->running > workers - 2)
		out->running = workers > 3 ? workers - 2 : 1;
	out->queue = s->max_heavy_queue;
	if (out->queue > workers - 2 - out->running)
		out->queue = workers - 2 - out->running > 0 ? workers - 2 - out->running : 0;
	if (out->running != want || out->queue != s->max_heavy_queue)
		ts_log(TS_LOG_WARN, "large renders: %d at once and %d waiting (%d and %d asked), so "
		       "that %d worker threads keep two for cheap requests (one render may "
		       "always run)", out->running, out->queue, want, s->max_heavy_queue, workers);
	out->memory = s->max_render_memory_mb << 20;
	/* Twice a render's time: a queued render may wait for the one ahead
	 * of it to run to its deadline and still start. */
	out->wait_seconds = s->max_render_seconds > 0 ? 2.0 * s->max_render_seconds : 3600;
	out->render_seconds = s->max_render_seconds;
}

void ts_heavy_stats(struct ts_heavy *h, struct ts_heavy_stats *out)
{
	pthread_mutex_lock(&h->lock);
	out->running = h->running;
	out->queued = h->queued;
	out->reserved = h->reserved;
	out->admitted = h->admitted;
	out->refused = h->refused;
	out->timed_out = h->timed_out;
	out->abandoned = h->abandoned;
	pthread_mutex_unlock(&h->lock);
	out->memory = h->lim.memory;
}
