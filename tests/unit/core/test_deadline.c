/*
 * test_deadline.c - the per-thread render deadline: none by default, set
 * and passed, the 503 it turns into, that it belongs to one thread, and
 * the stop word another thread sets to end a render early.
 */
#include <pthread.h>
#include <unistd.h>
#include "check.h"
#include "tessera/deadline.h"

static void no_deadline_never_passes(void)
{
	struct ts_error err;

	ts_error_clear(&err);
	ts_deadline_set(0);
	EXPECT(!ts_deadline_passed());
	EXPECT_EQ_INT(ts_deadline_check(&err), TS_OK);
	EXPECT_EQ_INT(ts_deadline_after(0), 0);
	EXPECT_EQ_INT(ts_deadline_after(-1), 0);
}

static void a_passed_deadline_is_a_503_with_a_public_sentence(void)
{
	struct ts_error err;

	ts_error_clear(&err);
	ts_deadline_set(ts_deadline_after(0.05));
	EXPECT(!ts_deadline_passed());
	usleep(80000);
	EXPECT(ts_deadline_passed());
	EXPECT_EQ_INT(ts_deadline_check(&err), TS_EUNAVAILABLE);
	EXPECT_EQ_INT(err.status, TS_EUNAVAILABLE);
	EXPECT(strstr(err.msg, "longer") != NULL);
	ts_deadline_set(0);
}

static void *other_thread(void *arg)
{
	*(uint64_t *)arg = ts_deadline_get();
	return NULL;
}

static void the_deadline_belongs_to_its_thread(void)
{
	pthread_t t;
	uint64_t seen = 1;

	ts_deadline_set(ts_deadline_after(10));
	pthread_create(&t, NULL, other_thread, &seen);
	pthread_join(t, NULL);
	EXPECT_EQ_INT(seen, 0);
	EXPECT(ts_deadline_get() != 0);
	ts_deadline_set(0);
}

static void another_threads_stop_word_ends_the_render_early(void)
{
	static atomic_int stop;
	struct ts_error err;

	ts_error_clear(&err);
	ts_deadline_set(ts_deadline_after(60));
	ts_deadline_set_stop(&stop);
	EXPECT(!ts_deadline_passed());
	atomic_store(&stop, 1);        /* the client went away (serve/heavy.c) */
	EXPECT(ts_deadline_passed());
	EXPECT_EQ_INT(ts_deadline_check(&err), TS_EUNAVAILABLE);
	ts_deadline_set_stop(NULL);
	EXPECT(!ts_deadline_passed());
	ts_deadline_set(0);
	ts_deadline_set_stop(&stop);   /* a stop word alone, no deadline */
	EXPECT(ts_deadline_passed());
	ts_deadline_set_stop(NULL);
	EXPECT(ts_deadline_get_stop() == NULL);
}

int main(void)
{
	RUN(no_deadline_never_passes);
	RUN(a_passed_deadline_is_a_503_with_a_public_sentence);
	RUN(the_deadline_belongs_to_its_thread);
	RUN(another_threads_stop_word_ends_the_render_early);
	return CHECK_DONE();
}
