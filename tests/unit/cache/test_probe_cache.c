/*
 * test_probe_cache.c - probe results kept per file identity: a hit for the
 * same identity, a miss once size or mtime change, images and media kept
 * apart, and a bounded table that empties and refills.
 */
#include <string.h>

#include "check.h"
#include "tessera/probe_cache.h"

static struct stat id(ino_t ino, off_t size, time_t mtime)
{
	struct stat st;

	memset(&st, 0, sizeof st);
	st.st_dev = 7;
	st.st_ino = ino;
	st.st_size = size;
	st.st_mtim.tv_sec = mtime;
	return st;
}

static void a_result_is_found_by_the_same_identity_only(void)
{
	struct ts_probe_cache *pc = ts_probe_cache_create(16);
	struct ts_source_info in, out;
	struct stat a = id(1, 100, 5), b = id(1, 101, 5), c = id(1, 100, 6);

	memset(&in, 0, sizeof in);
	in.width = 640;
	in.height = 480;
	in.nlevels = 1;
	in.icc = (const unsigned char *)"not kept";
	in.icc_len = 8;
	ts_probe_cache_put_image(pc, &a, &in);
	EXPECT(ts_probe_cache_get_image(pc, &a, &out));
	EXPECT_EQ_INT(out.width, 640);
	EXPECT(out.icc == NULL && out.icc_len == 0);
	EXPECT(!ts_probe_cache_get_image(pc, &b, &out));   /* rewritten: another size */
	EXPECT(!ts_probe_cache_get_image(pc, &c, &out));   /* touched: another mtime */
	ts_probe_cache_destroy(pc);
}

static void images_and_media_do_not_share_entries(void)
{
	struct ts_probe_cache *pc = ts_probe_cache_create(16);
	struct ts_media_info m = { 12.5, 0, 0, false, true }, mo;
	struct ts_source_info io;
	struct stat a = id(2, 10, 1);

	ts_probe_cache_put_media(pc, &a, &m);
	EXPECT(!ts_probe_cache_get_image(pc, &a, &io));
	EXPECT(ts_probe_cache_get_media(pc, &a, &mo));
	EXPECT(mo.duration == 12.5);
	ts_probe_cache_destroy(pc);
}

static void a_full_cache_empties_and_keeps_working(void)
{
	struct ts_probe_cache *pc = ts_probe_cache_create(8);
	struct ts_media_info m = { 1.0, 0, 0, false, true }, mo;
	int hits = 0;

	for (int i = 0; i < 100; i++) {
		struct stat s = id((ino_t)(i + 10), 1, 1);
		ts_probe_cache_put_media(pc, &s, &m);
	}
	for (int i = 0; i < 100; i++) {
		struct stat s = id((ino_t)(i + 10), 1, 1);
		hits += ts_probe_cache_get_media(pc, &s, &mo);
	}
	EXPECT(hits >= 1 && hits <= 8);
	{
		struct stat last = id(109, 1, 1);
		EXPECT(ts_probe_cache_get_media(pc, &last, &mo));
	}
	ts_probe_cache_destroy(pc);
	ts_probe_cache_destroy(NULL);
}

int main(void)
{
	RUN(a_result_is_found_by_the_same_identity_only);
	RUN(images_and_media_do_not_share_entries);
	RUN(a_full_cache_empties_and_keeps_working);
	return CHECK_DONE();
}
