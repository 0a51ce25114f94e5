/*
 * test_tile_pool.c - the decode workers (src/source/tile_pool.c): every item
 * of a batch runs exactly once, batches from many request threads at once
 * all finish, a sequential batch runs in order on the caller, and so does
 * a parallel one while every core already runs a render (tessera/load.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "check.h"
#include "src/source/tile_pool.h"
#include "tessera/deadline.h"
#include "tessera/load.h"

#define ITEMS 37

struct counts {
	atomic_int hits[ITEMS];
	atomic_int other_thread;    /* items run off the caller's thread */
	pthread_t caller;
	size_t order[ITEMS];
	atomic_size_t next;
};

static void count_item(void *ctx, size_t i)
{
	struct counts *c = ctx;

	atomic_fetch_add(&c->hits[i], 1);
	if (!pthread_equal(pthread_self(), c->caller))
		atomic_fetch_add(&c->other_thread, 1);
	c->order[atomic_fetch_add(&c->next, 1)] = i;
}

static int run_batch(struct counts *c, bool parallel)
{
	size_t i;
	int bad = 0;

	memset(c, 0, sizeof *c);
	c->caller = pthread_self();
	ts_tile_pool_run(ITEMS, count_item, c, parallel);
	for (i = 0; i < ITEMS; i++)
		if (atomic_load(&c->hits[i]) != 1)
			bad++;
	return bad;
}

static void every_item_of_a_batch_runs_exactly_once(void)
{
	struct counts c;

	EXPECT_EQ_INT(run_batch(&c, true), 0);
	EXPECT(ts_tile_pool_threads() >= 2);
}

static void a_sequential_batch_runs_in_order_on_the_caller(void)
{
	struct counts c;
	size_t i;

	EXPECT_EQ_INT(run_batch(&c, false), 0);
	EXPECT_EQ_INT(atomic_load(&c.other_thread), 0);
	for (i = 0; i < ITEMS; i++)
		EXPECT_EQ_INT(c.order[i], i);
}

static void a_parallel_batch_stays_on_the_caller_when_every_core_is_busy(void)
{
	struct counts c;
	int cores = ts_load_cores(), i;

	EXPECT(ts_load_has_idle_core());
	for (i = 0; i < cores; i++)
		ts_load_enter();
	EXPECT_EQ_INT(ts_load_running(), cores);
	EXPECT(!ts_load_has_idle_core());
	EXPECT_EQ_INT(run_batch(&c, true), 0);
	EXPECT_EQ_INT(atomic_load(&c.other_thread), 0);
	for (i = 0; i < ITEMS; i++)
		EXPECT_EQ_INT(c.order[i], i);
	for (i = 0; i < cores; i++)
		ts_load_leave();
	EXPECT_EQ_INT(ts_load_running(), 0);
	EXPECT(ts_load_has_idle_core());
}

static void *many_batches(void *arg)
{
	struct counts c;
	int k, bad = 0;

	(void)arg;
	for (k = 0; k < 200; k++)
		bad += run_batch(&c, true);
	return (void *)(long)bad;
}

static void batches_from_many_request_threads_all_finish(void)
{
	pthread_t t[6];
	void *ret;
	long bad = 0;
	int i;

	for (i = 0; i < 6; i++)
		EXPECT_EQ_INT(pthread_create(&t[i], NULL, many_batches, NULL), 0);
	for (i = 0; i < 6; i++) {
		pthread_join(t[i], &ret);
		bad += (long)ret;
	}
	EXPECT_EQ_INT(bad, 0);
}

static void empty_and_single_item_batches_are_fine(void)
{
	struct counts c;

	memset(&c, 0, sizeof c);
	c.caller = pthread_self();
	ts_tile_pool_run(0, count_item, &c, true);
	EXPECT_EQ_INT(atomic_load(&c.next), 0);
	ts_tile_pool_run(1, count_item, &c, true);
	EXPECT_EQ_INT(atomic_load(&c.hits[0]), 1);
	EXPECT_EQ_INT(atomic_load(&c.other_thread), 0);
}

struct seen_deadlines {
	uint64_t want;
	const atomic_int *stop;
	atomic_int wrong, elsewhere;
	pthread_t caller;
};

static void deadline_item(void *ctx, size_t i)
{
	struct seen_deadlines *d = ctx;
	struct timespec ts = { 0, 2000000 };

	(void)i;
	nanosleep(&ts, NULL);   /* long enough for a worker to claim some items */
	if (ts_deadline_get() != d->want || ts_deadline_get_stop() != d->stop)
		atomic_fetch_add(&d->wrong, 1);
	if (!pthread_equal(pthread_self(), d->caller))
		atomic_fetch_add(&d->elsewhere, 1);
}

static void every_item_runs_under_the_callers_render_deadline_and_stop_word(void)
{
	struct seen_deadlines d = { 0 };

	static atomic_int stop;

	d.want = ts_deadline_after(60);
	d.stop = &stop;
	d.caller = pthread_self();
	ts_deadline_set(d.want);
	ts_deadline_set_stop(&stop);
	ts_tile_pool_run(ITEMS, deadline_item, &d, true);
	ts_deadline_set(0);
	ts_deadline_set_stop(NULL);
	EXPECT_EQ_INT(atomic_load(&d.wrong), 0);
	/* (on a machine with one core every item runs on the caller) */
	if (ts_tile_pool_threads() > 1)
		EXPECT(atomic_load(&d.elsewhere) > 0);
}

int main(void)
{
	RUN(every_item_of_a_batch_runs_exactly_once);
	RUN(a_sequential_batch_runs_in_order_on_the_caller);
	RUN(a_parallel_batch_stays_on_the_caller_when_every_core_is_busy);
	RUN(batches_from_many_request_threads_all_finish);
	RUN(empty_and_single_item_batches_are_fine);
	RUN(every_item_runs_under_the_callers_render_deadline_and_stop_word);
	return CHECK_DONE();
}
