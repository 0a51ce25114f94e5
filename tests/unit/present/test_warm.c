/* test_warm.c - a folder's images measured on several threads before a
 * cold build (src/present/warm.c). */
#include <pthread.h>
#include <stdatomic.h>

#include "../check.h"
#include "present_fixture.h"

static atomic_int probes;
static atomic_int seen[200];
static pthread_t first_thread;
static atomic_int other_threads;

static ts_status counting_probe(void *arg, const char *rel, const struct stat *st,
                                struct ts_source_info *out, struct ts_error *err)
{
	int n = 0;

	(void)arg;
	(void)st;
	(void)err;
	if (sscanf(rel, "book/p%d.jpg", &n) == 1 && n >= 0 && n < 200)
		atomic_fetch_add(&seen[n], 1);
	atomic_fetch_add(&probes, 1);
	if (!pthread_equal(pthread_self(), first_thread))
		atomic_fetch_add(&other_threads, 1);
	memset(out, 0, sizeof *out);
	out->width = out->height = 10;
	return TS_OK;
}

static void reset_counts(void)
{
	atomic_store(&probes, 0);
	atomic_store(&other_threads, 0);
	for (int i = 0; i < 200; i++)
		atomic_store(&seen[i], 0);
	first_thread = pthread_self();
}

static void every_image_is_measured_once_on_several_threads(void)
{
	struct pf_root r;
	char name[64];

	pf_create(&r);
	pf_mkdir(&r, "book");
	for (int i = 0; i < 150; i++) {
		snprintf(name, sizeof name, "book/p%d.jpg", i);
		pf_file(&r, name, "not really a jpeg");
	}
	pf_file(&r, "book/notes.pdf", "%PDF");   /* no image: not probed */
	pf_mkdir(&r, "book/sub");
	r.ctx.probe_image = counting_probe;
	reset_counts();
	ts_present_warm(&r.ctx, "book", 3, 64);
	EXPECT_EQ_INT(atomic_load(&probes), 150);
	for (int i = 0; i < 150; i++)
		EXPECT_EQ_INT(atomic_load(&seen[i]), 1);
	EXPECT(atomic_load(&other_threads) > 0);
	/* fewer images than asked for: nothing at all */
	reset_counts();
	ts_present_warm(&r.ctx, "book", 3, 151);
	EXPECT_EQ_INT(atomic_load(&probes), 0);
	/* one thread, a file, a missing folder: nothing either */
	ts_present_warm(&r.ctx, "book", 1, 1);
	ts_present_warm(&r.ctx, "book/p1.jpg", 2, 1);
	ts_present_warm(&r.ctx, "nowhere", 2, 1);
	EXPECT_EQ_INT(atomic_load(&probes), 0);
	pf_destroy(&r);
}

int main(void)
{
	RUN(every_image_is_measured_once_on_several_threads);
	return CHECK_DONE();
}
