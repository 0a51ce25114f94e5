/*
 * test_mem_trim.c - the idle trimmer: off at 0, never before a request nor
 * while one runs, once after the last one ends and the idle time passes,
 * not while requests keep coming, and with the real malloc_trim, freed
 * heap pages of a thread's arena leave the resident set.
 *
 * Timing: the "not yet" checks use idle times far above any scheduling
 * stall; the "done" checks poll for seconds.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "tessera/mem_trim.h"

static atomic_int calls;

static int count_trim(size_t pad)
{
	(void)pad;
	atomic_fetch_add(&calls, 1);
	return 1;
}

/* Waits up to 5 s for the trimmer to have trimmed n times. */
static bool wait_trims(struct ts_mem_trim *t, unsigned long n)
{
	for (int i = 0; i < 500 && ts_mem_trim_count(t) < n; i++)
		usleep(10000);
	return ts_mem_trim_count(t) >= n;
}

static void zero_idle_time_never_trims(void)
{
	struct ts_error err;
	struct ts_mem_trim *t;

	ts_error_clear(&err);
	t = ts_mem_trim_start(0, count_trim, &err);
	EXPECT(t == NULL);
	EXPECT_EQ_INT(err.status, TS_OK);
	ts_mem_trim_enter(t);   /* NULL is accepted everywhere */
	ts_mem_trim_leave(t);
	EXPECT_EQ_INT(ts_mem_trim_count(t), 0);
	ts_mem_trim_stop(t);
}

static void nothing_is_trimmed_before_the_first_request(void)
{
	struct ts_error err;
	struct ts_mem_trim *t;

	atomic_store(&calls, 0);
	t = ts_mem_trim_start(20, count_trim, &err);
	EXPECT(t != NULL);
	usleep(200000);
	EXPECT_EQ_INT(atomic_load(&calls), 0);
	ts_mem_trim_stop(t);
}

static void nothing_is_trimmed_while_a_request_runs(void)
{
	struct ts_error err;
	struct ts_mem_trim *t;

	atomic_store(&calls, 0);
	t = ts_mem_trim_start(20, count_trim, &err);
	ts_mem_trim_enter(t);
	ts_mem_trim_enter(t);
	ts_mem_trim_leave(t);   /* one ended, one still runs */
	usleep(300000);
	EXPECT_EQ_INT(atomic_load(&calls), 0);
	ts_mem_trim_leave(t);
	EXPECT(wait_trims(t, 1));
	ts_mem_trim_stop(t);
}

static void one_trim_follows_the_idle_time_after_the_last_request(void)
{
	struct ts_error err;
	struct ts_mem_trim *t;

	atomic_store(&calls, 0);
	t = ts_mem_trim_start(600, count_trim, &err);
	ts_mem_trim_enter(t);
	ts_mem_trim_leave(t);
	usleep(100000);
	EXPECT_EQ_INT(ts_mem_trim_count(t), 0);   /* not before idle_ms */
	EXPECT(wait_trims(t, 1));
	usleep(1500000);
	EXPECT_EQ_INT(ts_mem_trim_count(t), 1);   /* once per idle period */
	EXPECT_EQ_INT(atomic_load(&calls), 1);
	ts_mem_trim_enter(t);                     /* a new burst, a new trim */
	ts_mem_trim_leave(t);
	EXPECT(wait_trims(t, 2));
	ts_mem_trim_stop(t);
}

static void requests_that_keep_coming_hold_the_trim_back(void)
{
	struct ts_error err;
	struct ts_mem_trim *t;

	atomic_store(&calls, 0);
	t = ts_mem_trim_start(1000, count_trim, &err);
	for (int i = 0; i < 30; i++) {   /* 1.5 s of a request every 50 ms */
		ts_mem_trim_enter(t);
		ts_mem_trim_leave(t);
		usleep(50000);
	}
	EXPECT_EQ_INT(ts_mem_trim_count(t), 0);
	EXPECT(wait_trims(t, 1));
	ts_mem_trim_stop(t);
}

static long resident_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, pages = 0;

	if (!f)
		return -1;
	if (fscanf(f, "%lu %lu", &size, &pages) != 2)
		pages = 0;
	fclose(f);
	return (long)(pages * (unsigned long)sysconf(_SC_PAGESIZE) / 1024);
}

#define BLOCKS 64
#define BLOCK (1 << 20)

/* Like a decode on a worker thread: its own arena, blocks touched and
 * freed, all but the last (so the heap's top cannot simply shrink). */
static void *alloc_and_free(void *arg)
{
	char *b[BLOCKS];

	(void)arg;
	for (int i = 0; i < BLOCKS; i++) {
		b[i] = malloc(BLOCK);
		if (b[i])
			memset(b[i], 1, BLOCK);
	}
	for (int i = 0; i < BLOCKS - 1; i++)
		free(b[i]);
	return b[BLOCKS - 1];
}

static void malloc_trim_gives_back_the_freed_pages_of_a_threads_arena(void)
{
	struct ts_error err;
	struct ts_mem_trim *t;
	pthread_t tid;
	void *last = NULL;
	long before, after;

	/* The daemon's settings (main.c): freed memory stays in the heaps. */
	mallopt(M_MMAP_THRESHOLD, 512 << 20);
	mallopt(M_TRIM_THRESHOLD, 1024 << 20);
	pthread_create(&tid, NULL, alloc_and_free, NULL);
	pthread_join(tid, &last);
	before = resident_kb();
	t = ts_mem_trim_start(20, NULL, &err);
	EXPECT(t != NULL);
	ts_mem_trim_enter(t);
	ts_mem_trim_leave(t);
	EXPECT(wait_trims(t, 1));
	after = resident_kb();
	printf("    resident %ld kB before the trim, %ld kB after\n", before, after);
	EXPECT(before - after > (BLOCKS / 2) * (BLOCK / 1024));
	ts_mem_trim_stop(t);
	free(last);
}

int main(void)
{
	RUN(zero_idle_time_never_trims);
	RUN(nothing_is_trimmed_before_the_first_request);
	RUN(nothing_is_trimmed_while_a_request_runs);
	RUN(one_trim_follows_the_idle_time_after_the_last_request);
	RUN(requests_that_keep_coming_hold_the_trim_back);
	RUN(malloc_trim_gives_back_the_freed_pages_of_a_threads_arena);
	return CHECK_DONE();
}
