/*
 * test_heavy.c - the admission of large renders: how many run at once,
 * how many wait, who is refused at once (503) or for good (403 over the
 * memory budget), waits that run out, memory reservations that keep two
 * renders apart, the deadline each render runs under, renders dropped
 * because their client left (while queued, as they leave the queue, or
 * stopped while running) and never when it stays, and the counters.
 *
 * Jobs are functions that hold until the test releases them, so every
 * state (running, queued, refused) is observed, not timed.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "src/serve/serve.h"
#include "tessera/deadline.h"

struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool open;
	atomic_int inside;          /* jobs running now */
	atomic_int most_inside;     /* the most at once */
	uint64_t deadline_seen;
};

static struct gate g = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0, 0, 0 };

static ts_status held_job(void *arg)
{
	int n = atomic_fetch_add(&g.inside, 1) + 1;

	(void)arg;
	if (n > atomic_load(&g.most_inside))
		atomic_store(&g.most_inside, n);
	pthread_mutex_lock(&g.lock);
	g.deadline_seen = ts_deadline_get();
	while (!g.open)
		pthread_cond_wait(&g.cond, &g.lock);
	pthread_mutex_unlock(&g.lock);
	atomic_fetch_sub(&g.inside, 1);
	return TS_OK;
}

static void gate_reset(void)
{
	g.open = false;
	atomic_store(&g.inside, 0);
	atomic_store(&g.most_inside, 0);
}

static void gate_open(void)
{
	pthread_mutex_lock(&g.lock);
	g.open = true;
	pthread_cond_broadcast(&g.cond);
	pthread_mutex_unlock(&g.lock);
}

struct caller {
	struct ts_heavy *h;
	uint64_t bytes;
	pthread_t t;
	ts_status st;
	struct ts_error err;
	/* for gone(): has its client left, and may its own thread see it? */
	atomic_int left;
	bool only_elsewhere;
	pthread_t self;
	atomic_int runs;
};

static void *call(void *arg)
{
	struct caller *c = arg;

	ts_error_clear(&c->err);
	c->st = ts_heavy_run(c->h, c->bytes, held_job, NULL, NULL, &c->err);
	return NULL;
}

/* The client watch: left, as seen from the caller's thread unless
 * only_elsewhere (then only a heavy thread sees it). */
static bool client_gone(void *arg)
{
	struct caller *c = arg;

	if (c->only_elsewhere && pthread_equal(pthread_self(), c->self))
		return false;
	return atomic_load(&c->left) != 0;
}

static ts_status counted_job(void *arg)
{
	struct caller *c = arg;

	atomic_fetch_add(&c->runs, 1);
	return held_job(NULL);
}

static void *call_watched(void *arg)
{
	struct caller *c = arg;

	c->self = pthread_self();
	ts_error_clear(&c->err);
	c->st = ts_heavy_run(c->h, c->bytes, counted_job, client_gone, c, &c->err);
	return NULL;
}

/* Wait (up to 5 s) until the admission shows running r and queued q. */
static bool settles(struct ts_heavy *h, int r, int q)
{
	struct ts_heavy_stats s;

	for (int i = 0; i < 500; i++) {
		ts_heavy_stats(h, &s);
		if (s.running == r && s.queued == q)
			return true;
		usleep(10000);
	}
	return false;
}

static void two_run_two_wait_and_the_fifth_is_refused_at_once(void)
{
	struct ts_heavy_limits lim = { .running = 2, .queue = 2, .memory = 0,
	                               .wait_seconds = 30, .render_seconds = 5 };
	struct ts_heavy *h = ts_heavy_create(&lim);
	struct caller c[5] = { 0 };
	struct ts_heavy_stats s;

	static const int want[4][2] = { { 1, 0 }, { 2, 0 }, { 2, 1 }, { 2, 2 } };

	gate_reset();
	for (int i = 0; i < 4; i++) {
		c[i].h = h;
		pthread_create(&c[i].t, NULL, call, &c[i]);
		EXPECT(settles(h, want[i][0], want[i][1]));
	}
	c[4].h = h;
	call(&c[4]);
	EXPECT_EQ_INT(c[4].st, TS_EUNAVAILABLE);
	EXPECT(c[4].err.msg[0] != '\0');
	gate_open();
	for (int i = 0; i < 4; i++) {
		pthread_join(c[i].t, NULL);
		EXPECT_EQ_INT(c[i].st, TS_OK);
	}
	EXPECT_EQ_INT(atomic_load(&g.most_inside), 2);
	ts_heavy_stats(h, &s);
	EXPECT_EQ_INT(s.admitted, 4);
	EXPECT_EQ_INT(s.refused, 1);
	EXPECT_EQ_INT(s.running, 0);
	EXPECT_EQ_INT(s.queued, 0);
	ts_heavy_destroy(h);
}

static void a_wait_that_runs_out_is_refused_and_leaves_the_queue(void)
{
	struct ts_heavy_limits lim = { .running = 1, .queue = 1, .memory = 0,
	                               .wait_seconds = 0.3, .render_seconds = 5 };
	struct ts_heavy *h = ts_heavy_create(&lim);
	struct caller first = { .h = h }, second = { .h = h };
	struct ts_heavy_stats s;

	gate_reset();
	pthread_create(&first.t, NULL, call, &first);
	EXPECT(settles(h, 1, 0));
	call(&second);     /* waits 0.3 s behind the held one, then gives up */
	EXPECT_EQ_INT(second.st, TS_EUNAVAILABLE);
	ts_heavy_stats(h, &s);
	EXPECT_EQ_INT(s.queued, 0);
	EXPECT_EQ_INT(s.refused, 1);
	gate_open();
	pthread_join(first.t, NULL);
	EXPECT_EQ_INT(first.st, TS_OK);
	ts_heavy_destroy(h);
}

static void renders_whose_memory_does_not_fit_together_run_one_after_the_other(void)
{
	struct ts_heavy_limits lim = { .running = 2, .queue = 2, .memory = 100,
	                               .wait_seconds = 30, .render_seconds = 5 };
	struct ts_heavy *h = ts_heavy_create(&lim);
	struct caller a = { .h = h, .bytes = 60 }, b = { .h = h, .bytes = 60 };
	struct ts_heavy_stats s;

	gate_reset();
	pthread_create(&a.t, NULL, call, &a);
	EXPECT(settles(h, 1, 0));
	pthread_create(&b.t, NULL, call, &b);
	/* a thread is free, but 60 + 60 > 100: b waits */
	EXPECT(settles(h, 1, 1));
	ts_heavy_stats(h, &s);
	EXPECT_EQ_INT(s.reserved, 60);
	EXPECT_EQ_INT(s.memory, 100);
	gate_open();
	pthread_join(a.t, NULL);
	pthread_join(b.t, NULL);
	EXPECT_EQ_INT(a.st, TS_OK);
	EXPECT_EQ_INT(b.st, TS_OK);
	EXPECT_EQ_INT(atomic_load(&g.most_inside), 1);
	ts_heavy_stats(h, &s);
	EXPECT_EQ_INT(s.reserved, 0);
	ts_heavy_destroy(h);
}

static void a_render_larger_than_the_whole_budget_is_forbidden(void)
{
	struct ts_heavy_limits lim = { .running = 1, .queue = 1, .memory = 100,
	                               .wait_seconds = 1, .render_seconds = 5 };
	struct ts_heavy *h = ts_heavy_create(&lim);
	struct caller c = { .h = h, .bytes = 101 };

	gate_reset();
	gate_open();
	call(&c);
	EXPECT_EQ_INT(c.st, TS_EFORBIDDEN);
	c.bytes = 100;
	call(&c);
	EXPECT_EQ_INT(c.st, TS_OK);
	ts_heavy_destroy(h);
}

static ts_status late_job(void *arg)
{
	(void)arg;
	/* Works until its deadline says stop, as the decode loops do. */
	while (!ts_deadline_passed())
		usleep(1000);
	return ts_deadline_check(NULL);
}

static void each_render_runs_under_its_deadline_and_is_counted_when_stopped(void)
{
	struct ts_heavy_limits lim = { .running = 1, .queue = 0, .memory = 0,
	                               .wait_seconds = 1, .render_seconds = 0.2 };
	struct ts_heavy *h = ts_heavy_create(&lim);
	struct ts_heavy_stats s;
	struct ts_error err;
	uint64_t t0 = ts_deadline_now();
	ts_status st;

	ts_error_clear(&err);
	st = ts_heavy_run(h, 0, late_job, NULL, NULL, &err);
	EXPECT_EQ_INT(st, TS_EUNAVAILABLE);
	EXPECT(ts_deadline_now() - t0 >= 150000000u);   /* ran to its deadline... */
	EXPECT(ts_deadline_now() - t0 < 3000000000u);   /* ...and no longer */
	ts_heavy_stats(h, &s);
	EXPECT_EQ_INT(s.timed_out, 1);
	/* the next one runs as usual, with a fresh deadline */
	gate_reset();
	gate_open();
	st = ts_heavy_run(h, 0, held_job, NULL, NULL, &err);
	EXPECT_EQ_INT(st, TS_OK);
	EXPECT(g.deadline_seen != 0);
	EXPECT_EQ_INT(ts_deadline_get(), 0);   /* the caller's thread is untouched */
	ts_heavy_destroy(h);
}

static void a_queued_render_whose_client_leaves_is_dropped_at_once_and_frees_its_place(void)
{
	struct ts_heavy_limits lim = { .running = 1, .queue = 1, .memory = 0,
	                               .wait_seconds = 30, .render_seconds = 5 };
	struct ts_heavy *h = ts_heavy_create(&lim);
	struct caller first = { .h = h }, second = { .h = h }, third = { .h = h };
	struct ts_heavy_stats s;
	uint64_t t0;

	gate_reset();
	pthread_create(&first.t, NULL, call, &first);
	EXPECT(settles(h, 1, 0));
	pthread_create(&second.t, NULL, call_watched, &second);
	EXPECT(settles(h, 1, 1));
	t0 = ts_deadline_now();
	atomic_store(&second.left, 1);
	pthread_join(second.t, NULL);
	EXPECT_EQ_INT(second.st, TS_ECLIENTGONE);
	EXPECT(second.err.msg[0] != '\0');
	EXPECT(ts_deadline_now() - t0 < 2000000000u);   /* within a look or two (100 ms) */
	ts_heavy_stats(h, &s);
	EXPECT_EQ_INT(s.queued, 0);
	EXPECT_EQ_INT(s.abandoned, 1);
	EXPECT_EQ_INT(s.refused, 0);
	/* its place is free: the next one queues instead of being refused */
	pthread_create(&third.t, NULL, call_watched, &third);
	EXPECT(settles(h, 1, 1));
	gate_open();
	pthread_join(first.t, NULL);
	pthread_join(third.t, NULL);
	EXPECT_EQ_INT(first.st, TS_OK);
	EXPECT_EQ_INT(third.st, TS_OK);
	EXPECT_EQ_INT(atomic_load(&second.runs), 0);
	EXPECT_EQ_INT(atomic_load(&third.runs), 1);
	ts_heavy_destroy(h);
}

static void a_render_whose_client_left_is_not_started_when_it_leaves_the_queue(void)
{
	struct ts_heavy_limits lim = { .running = 1, .queue = 1, .memory = 0,
	                               .wait_seconds = 30, .render_seconds = 5 };
	struct ts_heavy *h = ts_heavy_create(&lim);
	struct caller first = { .h = h }, second = { .h = h, .only_elsewhere = true };
	struct ts_heavy_stats s;

	gate_reset();
	pthread_create(&first.t, NULL, call, &first);
	EXPECT(settles(h, 1, 0));
	pthread_create(&second.t, NULL, call_watched, &second);
	EXPECT(settles(h, 1, 1));
	/* its waiter does not see it leave; the heavy thread taking it does */
	atomic_store(&second.left, 1);
	usleep(300000);
	ts_heavy_stats(h, &s);
	EXPECT_EQ_INT(s.queued, 1);
	gate_open();
	pthread_join(first.t, NULL);
	pthread_join(second.t, NULL);
	EXPECT_EQ_INT(first.st, TS_OK);
	EXPECT_EQ_INT(second.st, TS_ECLIENTGONE);
	EXPECT_EQ_INT(atomic_load(&second.runs), 0);
	ts_heavy_stats(h, &s);
	EXPECT_EQ_INT(s.abandoned, 1);
	EXPECT_EQ_INT(s.admitted, 1);
	EXPECT_EQ_INT(s.running, 0);
	EXPECT_EQ_INT(s.reserved, 0);
	ts_heavy_destroy(h);
}

static ts_status until_stopped_job(void *arg)
{
	struct caller *c = arg;

	atomic_fetch_add(&c->runs, 1);
	while (!ts_deadline_passed())
		usleep(1000);
	return ts_deadline_check(NULL);
}

static void *call_until_stopped(void *arg)
{
	struct caller *c = arg;

	c->self = pthread_self();
	ts_error_clear(&c->err);
	c->st = ts_heavy_run(c->h, c->bytes, until_stopped_job, client_gone, c, &c->err);
	return NULL;
}

static void a_running_render_whose_client_leaves_is_stopped(void)
{
	struct ts_heavy_limits lim = { .running = 1, .queue = 0, .memory = 100,
	                               .wait_seconds = 60, .render_seconds = 30 };
	struct ts_heavy *h = ts_heavy_create(&lim);
	struct caller c = { .h = h, .bytes = 40 };
	struct ts_heavy_stats s;
	uint64_t t0;

	pthread_create(&c.t, NULL, call_until_stopped, &c);
	EXPECT(settles(h, 1, 0));
	usleep(150000);                /* it runs, its client still there */
	ts_heavy_stats(h, &s);
	EXPECT_EQ_INT(s.running, 1);
	t0 = ts_deadline_now();
	atomic_store(&c.left, 1);
	pthread_join(c.t, NULL);
	EXPECT(ts_deadline_now() - t0 < 2000000000u);   /* not its 30 s deadline */
	EXPECT_EQ_INT(c.st, TS_ECLIENTGONE);
	EXPECT(strstr(c.err.msg, "client") != NULL);     /* not "took longer" */
	ts_heavy_stats(h, &s);
	EXPECT_EQ_INT(s.abandoned, 1);
	EXPECT_EQ_INT(s.timed_out, 0);
	EXPECT_EQ_INT(s.running, 0);
	EXPECT_EQ_INT(s.reserved, 0);
	ts_heavy_destroy(h);
}

static void a_client_that_stays_is_never_dropped(void)
{
	struct ts_heavy_limits lim = { .running = 1, .queue = 1, .memory = 0,
	                               .wait_seconds = 30, .render_seconds = 5 };
	struct ts_heavy *h = ts_heavy_create(&lim);
	struct caller first = { .h = h }, second = { .h = h };
	struct ts_heavy_stats s;

	gate_reset();
	pthread_create(&first.t, NULL, call, &first);
	EXPECT(settles(h, 1, 0));
	pthread_create(&second.t, NULL, call_watched, &second);
	EXPECT(settles(h, 1, 1));
	usleep(350000);    /* several looks at its client */
	gate_open();
	pthread_join(first.t, NULL);
	pthread_join(second.t, NULL);
	EXPECT_EQ_INT(second.st, TS_OK);
	EXPECT_EQ_INT(atomic_load(&second.runs), 1);
	ts_heavy_stats(h, &s);
	EXPECT_EQ_INT(s.abandoned, 0);
	ts_heavy_destroy(h);
}

static void the_limits_leave_two_workers_free_for_cheap_requests(void)
{
	struct ts_settings s;
	struct ts_heavy_limits lim;

	ts_settings_defaults(&s);
	s.threads = 8;
	s.max_heavy_renders = 2;
	s.max_heavy_queue = 4;
	s.max_render_seconds = 10;
	s.max_render_memory_mb = 400;
	ts_heavy_limits_from(&s, &lim);
	EXPECT_EQ_INT(lim.running, 2);
	EXPECT_EQ_INT(lim.queue, 4);
	EXPECT_EQ_INT(lim.memory, 400ull << 20);
	EXPECT(lim.render_seconds == 10 && lim.wait_seconds == 20);
	s.max_heavy_queue = 100;
	ts_heavy_limits_from(&s, &lim);
	EXPECT_EQ_INT(lim.queue, 4);          /* 8 workers - 2 running - 2 free */
	s.threads = 2;
	ts_heavy_limits_from(&s, &lim);
	EXPECT_EQ_INT(lim.running, 1);        /* always one */
	EXPECT_EQ_INT(lim.queue, 0);
	s.max_render_seconds = 0;
	ts_heavy_limits_from(&s, &lim);
	EXPECT(lim.render_seconds == 0 && lim.wait_seconds >= 3600);
	ts_settings_free(&s);
}

int main(void)
{
	RUN(two_run_two_wait_and_the_fifth_is_refused_at_once);
	RUN(a_wait_that_runs_out_is_refused_and_leaves_the_queue);
	RUN(a_queued_render_whose_client_leaves_is_dropped_at_once_and_frees_its_place);
	RUN(a_render_whose_client_left_is_not_started_when_it_leaves_the_queue);
	RUN(a_running_render_whose_client_leaves_is_stopped);
	RUN(a_client_that_stays_is_never_dropped);
	RUN(renders_whose_memory_does_not_fit_together_run_one_after_the_other);
	RUN(a_render_larger_than_the_whole_budget_is_forbidden);
	RUN(each_render_runs_under_its_deadline_and_is_counted_when_stopped);
	RUN(the_limits_leave_two_workers_free_for_cheap_requests);
	return CHECK_DONE();
}
