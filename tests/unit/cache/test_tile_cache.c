/* test_tile_cache.c - the decoded-tile cache keeps what fits, evicts the
 * least recently used, never frees pixels still referenced, and decodes a
 * tile once however many threads ask for it at the same moment. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "check.h"
#include "tessera/tile_cache.h"

/* A fill that makes a w x h gray tile whose bytes all equal `value`,
 * counting its calls; with delay_ms it sleeps first (a slow decode). */
struct filler {
	uint32_t w, h;
	uint8_t value;
	int delay_ms;
	ts_status fail;
	atomic_int calls;
};

static ts_status fill(void *ctx, struct ts_image *out, struct ts_error *err)
{
	struct filler *f = ctx;
	ts_status st;

	atomic_fetch_add(&f->calls, 1);
	if (f->delay_ms) {
		struct timespec ts = { 0, (long)f->delay_ms * 1000000L };
		nanosleep(&ts, NULL);
	}
	if (f->fail)
		return ts_error_set(err, f->fail, "corrupt image data");
	st = ts_image_alloc(out, f->w, f->h, 1, err);
	if (st)
		return st;
	memset(out->pixels, f->value, (size_t)f->w * f->h);
	return TS_OK;
}

static struct ts_tile_key key_of(uint32_t tile, uint32_t reduce)
{
	struct ts_tile_key k = { 8, 1234, 99999, 1700000000, 5, tile, reduce };
	return k;
}

static void a_second_get_is_a_hit_and_does_not_decode_again(void)
{
	struct ts_tile_cache *c = ts_tile_cache_create(1 << 20);
	struct filler f = { .w = 16, .h = 8, .value = 7 };
	struct ts_tile_key k = key_of(3, 1);
	const struct ts_tile *a = NULL, *b = NULL;
	struct ts_tile_cache_stats st;
	struct ts_error err = { 0 };

	EXPECT_EQ_INT(ts_tile_cache_get(c, &k, fill, &f, &a, &err), 0);
	EXPECT_EQ_INT(ts_tile_cache_get(c, &k, fill, &f, &b, &err), 0);
	EXPECT_EQ_INT(atomic_load(&f.calls), 1);
	EXPECT(a && b && a == b);
	if (b) {
		EXPECT_EQ_INT(b->img.width, 16);
		EXPECT_EQ_INT(b->img.height, 8);
		EXPECT_EQ_INT(b->img.pixels[127], 7);
	}
	ts_tile_cache_stats(c, &st);
	EXPECT_EQ_INT(st.hits, 1);
	EXPECT_EQ_INT(st.loads, 1);
	EXPECT_EQ_INT(st.entries, 1);
	EXPECT(st.bytes >= 128);
	ts_tile_cache_release(c, a);
	ts_tile_cache_release(c, b);
	ts_tile_cache_destroy(c);
}

static void keys_differing_in_tile_reduce_or_file_are_different_entries(void)
{
	struct ts_tile_cache *c = ts_tile_cache_create(1 << 20);
	struct filler f = { .w = 4, .h = 4, .value = 1 };
	struct ts_tile_key k[4] = { key_of(0, 0), key_of(1, 0), key_of(0, 1), key_of(0, 0) };
	const struct ts_tile *t;
	struct ts_error err = { 0 };
	int i;

	k[3].mtime_nsec = 6;     /* the same file, modified */
	for (i = 0; i < 4; i++) {
		EXPECT_EQ_INT(ts_tile_cache_get(c, &k[i], fill, &f, &t, &err), 0);
		ts_tile_cache_release(c, t);
	}
	EXPECT_EQ_INT(atomic_load(&f.calls), 4);
	ts_tile_cache_destroy(c);
}

static void the_budget_is_kept_and_the_least_recently_used_goes_first(void)
{
	/* Tiles of 1000 bytes (plus bookkeeping) in a 4500-byte cache: 3 fit. */
	struct ts_tile_cache *c = ts_tile_cache_create(4500);
	struct filler f = { .w = 100, .h = 10, .value = 2 };
	struct ts_tile_key k0 = key_of(0, 0), k;
	const struct ts_tile *t;
	struct ts_tile_cache_stats st;
	struct ts_error err = { 0 };
	uint32_t i;

	for (i = 0; i < 3; i++) {
		k = key_of(i, 0);
		EXPECT_EQ_INT(ts_tile_cache_get(c, &k, fill, &f, &t, &err), 0);
		ts_tile_cache_release(c, t);
	}
	/* Touch tile 0 so tile 1 becomes the oldest, then add tile 3. */
	EXPECT_EQ_INT(ts_tile_cache_get(c, &k0, fill, &f, &t, &err), 0);
	ts_tile_cache_release(c, t);
	k = key_of(3, 0);
	EXPECT_EQ_INT(ts_tile_cache_get(c, &k, fill, &f, &t, &err), 0);
	ts_tile_cache_release(c, t);
	ts_tile_cache_stats(c, &st);
	EXPECT(st.bytes <= 4500);
	EXPECT_EQ_INT(st.entries, 3);
	EXPECT_EQ_INT(st.evictions, 1);
	EXPECT_EQ_INT(atomic_load(&f.calls), 4);
	/* 0 survived, 1 was evicted (decoding it again is a fifth call). */
	EXPECT_EQ_INT(ts_tile_cache_get(c, &k0, fill, &f, &t, &err), 0);
	ts_tile_cache_release(c, t);
	EXPECT_EQ_INT(atomic_load(&f.calls), 4);
	k = key_of(1, 0);
	EXPECT_EQ_INT(ts_tile_cache_get(c, &k, fill, &f, &t, &err), 0);
	ts_tile_cache_release(c, t);
	EXPECT_EQ_INT(atomic_load(&f.calls), 5);
	ts_tile_cache_destroy(c);
}

static void an_evicted_tile_still_referenced_keeps_its_pixels(void)
{
	/* Room for one tile only: getting a second evicts the first while we
	 * still hold it; ASan would catch a read of freed pixels. */
	struct ts_tile_cache *c = ts_tile_cache_create(1500);
	struct filler f1 = { .w = 100, .h = 10, .value = 11 };
	struct filler f2 = { .w = 100, .h = 10, .value = 22 };
	struct ts_tile_key k1 = key_of(1, 0), k2 = key_of(2, 0);
	const struct ts_tile *a = NULL, *b = NULL;
	struct ts_tile_cache_stats st;
	struct ts_error err = { 0 };
	int i, ok = 1;

	EXPECT_EQ_INT(ts_tile_cache_get(c, &k1, fill, &f1, &a, &err), 0);
	EXPECT_EQ_INT(ts_tile_cache_get(c, &k2, fill, &f2, &b, &err), 0);
	ts_tile_cache_stats(c, &st);
	EXPECT_EQ_INT(st.evictions, 1);
	EXPECT_EQ_INT(st.entries, 1);
	for (i = 0; a && i < 1000; i++)
		ok &= a->img.pixels[i] == 11;
	EXPECT(ok);
	ts_tile_cache_release(c, a);
	ts_tile_cache_release(c, b);
	ts_tile_cache_destroy(c);
}

static void a_tile_larger_than_the_budget_is_returned_but_not_kept(void)
{
	struct ts_tile_cache *c = ts_tile_cache_create(100);
	struct filler f = { .w = 50, .h = 50, .value = 3 };
	struct ts_tile_key k = key_of(0, 0);
	const struct ts_tile *t = NULL;
	struct ts_tile_cache_stats st;
	struct ts_error err = { 0 };

	EXPECT_EQ_INT(ts_tile_cache_get(c, &k, fill, &f, &t, &err), 0);
	EXPECT(t && t->img.pixels[2499] == 3);
	ts_tile_cache_release(c, t);
	ts_tile_cache_stats(c, &st);
	EXPECT_EQ_INT(st.entries, 0);
	EXPECT_EQ_INT(st.bytes, 0);
	EXPECT_EQ_INT(ts_tile_cache_get(c, &k, fill, &f, &t, &err), 0);
	ts_tile_cache_release(c, t);
	EXPECT_EQ_INT(atomic_load(&f.calls), 2);
	ts_tile_cache_destroy(c);
}

static void a_zero_budget_cache_decodes_every_time(void)
{
	struct ts_tile_cache *c = ts_tile_cache_create(0);
	struct filler f = { .w = 2, .h = 2, .value = 9 };
	struct ts_tile_key k = key_of(0, 0);
	const struct ts_tile *t = NULL;
	struct ts_error err = { 0 };

	EXPECT_EQ_INT(ts_tile_cache_budget(c), 0);
	EXPECT_EQ_INT(ts_tile_cache_get(c, &k, fill, &f, &t, &err), 0);
	EXPECT(t && t->img.pixels[0] == 9);
	ts_tile_cache_release(c, t);
	EXPECT_EQ_INT(ts_tile_cache_get(c, &k, fill, &f, &t, &err), 0);
	ts_tile_cache_release(c, t);
	EXPECT_EQ_INT(atomic_load(&f.calls), 2);
	ts_tile_cache_destroy(c);
}

static void a_failed_decode_is_reported_and_not_cached(void)
{
	struct ts_tile_cache *c = ts_tile_cache_create(1 << 20);
	struct filler f = { .w = 2, .h = 2, .value = 9, .fail = 500 };
	struct ts_tile_key k = key_of(0, 0);
	const struct ts_tile *t = NULL;
	struct ts_error err = { 0 };

	EXPECT_EQ_INT(ts_tile_cache_get(c, &k, fill, &f, &t, &err), 500);
	EXPECT(t == NULL);
	EXPECT_EQ_STR(err.msg, "corrupt image data");
	f.fail = 0;
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_tile_cache_get(c, &k, fill, &f, &t, &err), 0);
	ts_tile_cache_release(c, t);
	EXPECT_EQ_INT(atomic_load(&f.calls), 2);
	ts_tile_cache_destroy(c);
}

static void peek_finds_only_ready_tiles_and_put_keeps_the_first(void)
{
	struct ts_tile_cache *c = ts_tile_cache_create(1 << 20);
	struct filler f = { .w = 4, .h = 4, .value = 77 };
	struct ts_tile_key k = key_of(9, 3);
	struct ts_image img = { 0 };
	const struct ts_tile *t;
	struct ts_error err = { 0 };

	EXPECT(ts_tile_cache_peek(c, &k) == NULL);
	EXPECT_EQ_INT(ts_image_alloc(&img, 4, 4, 1, &err), 0);
	memset(img.pixels, 5, 16);
	ts_tile_cache_put(c, &k, &img);
	EXPECT(img.pixels == NULL);          /* taken over */
	t = ts_tile_cache_peek(c, &k);
	EXPECT(t && t->img.pixels[15] == 5);
	ts_tile_cache_release(c, t);
	/* A second put of the same key is dropped (and freed: ASan checks). */
	EXPECT_EQ_INT(ts_image_alloc(&img, 4, 4, 1, &err), 0);
	memset(img.pixels, 6, 16);
	ts_tile_cache_put(c, &k, &img);
	EXPECT(img.pixels == NULL);
	/* get finds the put tile without decoding. */
	EXPECT_EQ_INT(ts_tile_cache_get(c, &k, fill, &f, &t, &err), 0);
	EXPECT(t && t->img.pixels[0] == 5);
	ts_tile_cache_release(c, t);
	EXPECT_EQ_INT(atomic_load(&f.calls), 0);
	ts_tile_cache_destroy(c);
}

/* seen answers what touch would, without noting a look itself. */
static void seen_tells_a_looked_at_or_cached_tile_without_noting_one(void)
{
	struct ts_tile_cache *c = ts_tile_cache_create(1 << 20);
	struct ts_tile_key k = key_of(3, 0), k2 = key_of(4, 0);
	struct ts_image img = { 0 };
	struct ts_error err = { 0 };

	EXPECT(!ts_tile_cache_seen(c, &k));
	EXPECT(!ts_tile_cache_seen(c, &k));      /* asking twice is no look */
	EXPECT(!ts_tile_cache_touch(c, &k));     /* a first look */
	EXPECT(ts_tile_cache_seen(c, &k));
	EXPECT(!ts_tile_cache_seen(c, &k2));
	EXPECT_EQ_INT(ts_image_alloc(&img, 4, 4, 1, &err), 0);
	ts_tile_cache_put(c, &k2, &img);
	EXPECT(ts_tile_cache_seen(c, &k2));      /* cached */
	EXPECT(!ts_tile_cache_seen(NULL, &k));
	ts_tile_cache_destroy(c);
}

/* ---- single flight ---- */

struct racer {
	struct ts_tile_cache *c;
	struct filler *f;
	struct ts_tile_key key;
	ts_status status;
	uint8_t seen;
	char msg[256];
};

static void *race(void *arg)
{
	struct racer *r = arg;
	const struct ts_tile *t = NULL;
	struct ts_error err = { 0 };

	r->status = ts_tile_cache_get(r->c, &r->key, fill, r->f, &t, &err);
	if (t)
		r->seen = t->img.pixels[0];
	snprintf(r->msg, sizeof r->msg, "%s", err.msg);
	ts_tile_cache_release(r->c, t);
	return NULL;
}

static void threads_asking_for_one_missing_tile_at_once_decode_it_once(void)
{
	struct ts_tile_cache *c = ts_tile_cache_create(1 << 20);
	struct filler f = { .w = 64, .h = 64, .value = 42, .delay_ms = 100 };
	struct racer r[6];
	pthread_t th[6];
	struct ts_tile_cache_stats st;
	int i;

	for (i = 0; i < 6; i++) {
		r[i] = (struct racer){ .c = c, .f = &f, .key = key_of(5, 2) };
		pthread_create(&th[i], NULL, race, &r[i]);
	}
	for (i = 0; i < 6; i++)
		pthread_join(th[i], NULL);
	EXPECT_EQ_INT(atomic_load(&f.calls), 1);
	for (i = 0; i < 6; i++) {
		EXPECT_EQ_INT(r[i].status, 0);
		EXPECT_EQ_INT(r[i].seen, 42);
	}
	ts_tile_cache_stats(c, &st);
	EXPECT_EQ_INT(st.loads, 1);
	/* The others either joined the load (waits) or came after it (hits). */
	EXPECT_EQ_INT(st.waits + st.hits, 5);
	EXPECT(st.waits >= 1);
	ts_tile_cache_destroy(c);
}

static void threads_waiting_on_a_failed_decode_all_get_its_error(void)
{
	struct ts_tile_cache *c = ts_tile_cache_create(1 << 20);
	struct filler f = { .w = 8, .h = 8, .delay_ms = 100, .fail = 500 };
	struct racer r[4];
	pthread_t th[4];
	int i;

	for (i = 0; i < 4; i++) {
		r[i] = (struct racer){ .c = c, .f = &f, .key = key_of(1, 1) };
		pthread_create(&th[i], NULL, race, &r[i]);
	}
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	/* Those that joined the failing load got its error; any that came
	 * after it tried again (and failed again): never a 200. */
	for (i = 0; i < 4; i++) {
		EXPECT_EQ_INT(r[i].status, 500);
		EXPECT_EQ_STR(r[i].msg, "corrupt image data");
	}
	EXPECT(atomic_load(&f.calls) >= 1 && atomic_load(&f.calls) < 4);
	ts_tile_cache_destroy(c);
}

static void many_threads_on_many_tiles_stay_within_budget(void)
{
	/* Stress: 8 threads x 400 gets over 40 keys in a cache that holds ~10. */
	enum { T = 8, N = 400 };
	struct ts_tile_cache *c = ts_tile_cache_create(10 * (1100));
	struct filler f = { .w = 100, .h = 10, .value = 5 };
	struct racer r[T];
	pthread_t th[T];
	struct ts_tile_cache_stats st;
	int i, j, bad = 0;

	for (j = 0; j < N / 40; j++) {
		for (i = 0; i < T; i++) {
			r[i] = (struct racer){ .c = c, .f = &f,
			                       .key = key_of((uint32_t)((i * 7 + j * 13) % 40), 0) };
			pthread_create(&th[i], NULL, race, &r[i]);
		}
		for (i = 0; i < T; i++) {
			pthread_join(th[i], NULL);
			bad += r[i].status != 0 || r[i].seen != 5;
		}
	}
	EXPECT_EQ_INT(bad, 0);
	ts_tile_cache_stats(c, &st);
	EXPECT(st.bytes <= 11000);
	EXPECT(st.entries <= 10);
	ts_tile_cache_destroy(c);
}

/* Reservations (a kept JPEG 2000 codec) count against the budget: tiles
 * are evicted to make room, one may take a quarter and all half. */
static void reservations_share_the_budget_with_tiles(void)
{
	struct ts_tile_cache *c = ts_tile_cache_create(1 << 20);
	struct filler f = { 256, 256, 1, 0, 0, 0 };
	struct ts_tile_cache_stats st;
	struct ts_error err = { 0 };
	const struct ts_tile *t;
	uint32_t i;

	for (i = 0; i < 15; i++) {   /* 15 x 64 KB of tiles: almost full */
		struct ts_tile_key k = key_of(i, 0);
		EXPECT_EQ_INT(ts_tile_cache_get(c, &k, fill, &f, &t, &err), 0);
		ts_tile_cache_release(c, t);
	}
	EXPECT(!ts_tile_cache_reserve(c, (1 << 18) + 1));     /* past a quarter */
	EXPECT(ts_tile_cache_reserve(c, 1 << 18));
	ts_tile_cache_stats(c, &st);
	EXPECT_EQ_INT(st.reserved, 1 << 18);
	EXPECT(st.bytes <= 1 << 20);
	EXPECT(st.evictions >= 3);
	EXPECT(ts_tile_cache_reserve(c, 1 << 18));
	EXPECT(!ts_tile_cache_reserve(c, 1));                 /* past half in all */
	ts_tile_cache_unreserve(c, 1 << 18);
	ts_tile_cache_unreserve(c, 1 << 18);
	ts_tile_cache_stats(c, &st);
	EXPECT_EQ_INT(st.reserved, 0);
	EXPECT(!ts_tile_cache_reserve(NULL, 1));
	ts_tile_cache_destroy(c);
}

int main(void)
{
	RUN(a_second_get_is_a_hit_and_does_not_decode_again);
	RUN(keys_differing_in_tile_reduce_or_file_are_different_entries);
	RUN(the_budget_is_kept_and_the_least_recently_used_goes_first);
	RUN(an_evicted_tile_still_referenced_keeps_its_pixels);
	RUN(a_tile_larger_than_the_budget_is_returned_but_not_kept);
	RUN(a_zero_budget_cache_decodes_every_time);
	RUN(a_failed_decode_is_reported_and_not_cached);
	RUN(peek_finds_only_ready_tiles_and_put_keeps_the_first);
	RUN(seen_tells_a_looked_at_or_cached_tile_without_noting_one);
	RUN(threads_asking_for_one_missing_tile_at_once_decode_it_once);
	RUN(threads_waiting_on_a_failed_decode_all_get_its_error);
	RUN(many_threads_on_many_tiles_stay_within_budget);
	RUN(reservations_share_the_budget_with_tiles);
	return CHECK_DONE();
}
