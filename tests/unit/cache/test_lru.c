/* test_lru.c - the response cache keeps what fits, evicts the least recently
 * used, and never frees bytes still referenced. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "check.h"
#include "tessera/cache.h"

static void a_stored_entry_comes_back_byte_for_byte(void)
{
	struct ts_cache *c = ts_cache_create(1 << 20);
	const struct ts_cache_entry *e;

	EXPECT_EQ_INT(ts_cache_put(c, "k1", "hello", 5, "text/plain"), 0);
	e = ts_cache_get(c, "k1");
	EXPECT(e != NULL);
	if (e) {
		EXPECT_EQ_INT(e->len, 5);
		EXPECT(memcmp(e->data, "hello", 5) == 0);
		EXPECT_EQ_STR(e->content_type, "text/plain");
	}
	ts_cache_release(c, e);
	EXPECT(ts_cache_get(c, "k2") == NULL);
	ts_cache_destroy(c);
}

static void a_zero_budget_cache_stores_nothing(void)
{
	struct ts_cache *c = ts_cache_create(0);

	EXPECT_EQ_INT(ts_cache_put(c, "k", "x", 1, "a/b"), -1);
	EXPECT(ts_cache_get(c, "k") == NULL);
	ts_cache_destroy(c);
}

static void the_byte_budget_is_never_exceeded_and_old_entries_go_first(void)
{
	/* 16 stripes x 8 KiB: 200 entries of 1 KiB cannot all stay */
	struct ts_cache *c = ts_cache_create(16 * 8192);
	struct ts_cache_stats st;
	char key[32], body[1024] = { 0 };
	int i, recent_hits = 0;

	for (i = 0; i < 200; i++) {
		snprintf(key, sizeof key, "key-%d", i);
		ts_cache_put(c, key, body, sizeof body, "x/y");
	}
	ts_cache_stats(c, &st);
	EXPECT(st.bytes <= 16 * 8192);
	EXPECT(st.evictions > 0);
	EXPECT_EQ_INT(st.insertions, 200);
	/* the most recent entry of each stripe survives */
	for (i = 190; i < 200; i++) {
		const struct ts_cache_entry *e;
		snprintf(key, sizeof key, "key-%d", i);
		e = ts_cache_get(c, key);
		recent_hits += e != NULL;
		ts_cache_release(c, e);
	}
	EXPECT(recent_hits >= 8);
	EXPECT(ts_cache_get(c, "key-0") == NULL);
	ts_cache_destroy(c);
}

static void an_evicted_entry_stays_readable_while_referenced(void)
{
	struct ts_cache *c = ts_cache_create(16 * 4096);
	const struct ts_cache_entry *e;
	char key[32], body[3000];
	int i;

	memset(body, 'A', sizeof body);
	ts_cache_put(c, "held", body, sizeof body, "x/y");
	e = ts_cache_get(c, "held");
	EXPECT(e != NULL);
	memset(body, 'B', sizeof body);
	for (i = 0; i < 100; i++) {      /* push "held" out of its stripe */
		snprintf(key, sizeof key, "other-%d", i);
		ts_cache_put(c, key, body, sizeof body, "x/y");
	}
	EXPECT(ts_cache_get(c, "held") == NULL);
	if (e) {
		EXPECT_EQ_INT(e->len, 3000);
		EXPECT(e->data[0] == 'A' && e->data[2999] == 'A');  /* ASan catches a use after free */
	}
	ts_cache_release(c, e);
	ts_cache_destroy(c);
}

static void putting_the_same_key_replaces_the_entry(void)
{
	struct ts_cache *c = ts_cache_create(1 << 20);
	const struct ts_cache_entry *e;
	struct ts_cache_stats st;

	ts_cache_put(c, "k", "one", 3, "a/b");
	ts_cache_put(c, "k", "second", 6, "a/b");
	e = ts_cache_get(c, "k");
	EXPECT(e && e->len == 6 && memcmp(e->data, "second", 6) == 0);
	ts_cache_release(c, e);
	ts_cache_stats(c, &st);
	EXPECT_EQ_INT(st.entries, 1);
	ts_cache_destroy(c);
}

static struct ts_cache *shared;

static void *hammer(void *arg)
{
	char key[32], body[512];
	int i, t = (int)(long)arg;

	memset(body, t, sizeof body);
	for (i = 0; i < 20000; i++) {
		const struct ts_cache_entry *e;
		snprintf(key, sizeof key, "k%d", (i * 7 + t) % 300);
		e = ts_cache_get(shared, key);
		if (e) {
			/* every body is uniform: a torn or freed one would not be */
			if (e->len != sizeof body || e->data[0] != e->data[sizeof body - 1])
				abort();
			ts_cache_release(shared, e);
		} else {
			ts_cache_put(shared, key, body, sizeof body, "x/y");
		}
	}
	return NULL;
}

static void four_threads_sharing_the_cache_see_only_whole_entries(void)
{
	pthread_t th[4];
	struct ts_cache_stats st;
	long i;

	shared = ts_cache_create(16 * 8192);
	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, hammer, (void *)(i + 1));
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	ts_cache_stats(shared, &st);
	EXPECT(st.hits > 0 && st.misses > 0);
	EXPECT(st.bytes <= 16 * 8192);
	ts_cache_destroy(shared);
}

int main(void)
{
	RUN(a_stored_entry_comes_back_byte_for_byte);
	RUN(a_zero_budget_cache_stores_nothing);
	RUN(the_byte_budget_is_never_exceeded_and_old_entries_go_first);
	RUN(an_evicted_entry_stays_readable_while_referenced);
	RUN(putting_the_same_key_replaces_the_entry);
	RUN(four_threads_sharing_the_cache_see_only_whole_entries);
	return CHECK_DONE();
}
