/*
 * warm.c - measure a folder's images on several threads before a cold
 * Manifest is built (present.h: ts_present_warm).
 *
 * Building a Manifest measures its canvases one after the other; on a
 * cold 2,000-page book that is 2,000 TIFF headers read on one core.  Here
 * the folder's images are handed out round-robin to nthreads threads (the
 * caller's among them), each calling the context's image probe, whose
 * results land in the probe cache; the build that follows then finds every
 * size there.  Nothing is decided here: an image that cannot be read is
 * left for the build to report, and an image already cached costs a
 * lookup.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

#define MAX_THREADS 8

struct share {
	const struct ts_present_ctx *c;
	const struct ts_catalogue *cat;
	size_t first, step;
};

static void *measure_share(void *arg)
{
	const struct share *sh = arg;
	const struct ts_catalogue *cat = sh->cat;

	for (size_t i = sh->first; i < cat->n; i += sh->step) {
		const struct ts_catalogue_entry *e = &cat->entries[i];
		struct ts_source_info info;
		struct ts_error err;
		char *rel;

		if (e->is_dir || e->type->kind != TS_MEDIA_IMAGE)
			continue;
		rel = ts_pm_join(cat->rel, e->name);
		if (!rel)
			continue;
		ts_error_clear(&err);
		(void)sh->c->probe_image(sh->c->probe_arg, rel, &e->st, &info, &err);
		free(rel);
	}
	return NULL;
}

void ts_present_warm(const struct ts_present_ctx *c, const char *rel, int nthreads,
                     size_t min_images)
{
	struct share sh[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	bool started[MAX_THREADS];
	struct ts_catalogue cat;
	struct ts_error err;
	size_t images = 0;

	if (!c->probe_image || nthreads < 2)
		return;
	if (nthreads > MAX_THREADS)
		nthreads = MAX_THREADS;
	if (ts_present_scan(c, rel, &cat, &err) != TS_OK)
		return;   /* a single file, or an error the build will report */
	for (size_t i = 0; i < cat.n; i++)
		if (!cat.entries[i].is_dir && cat.entries[i].type->kind == TS_MEDIA_IMAGE)
			images++;
	if (images >= min_images) {
		for (int t = 0; t < nthreads; t++) {
			sh[t].c = c;
			sh[t].cat = &cat;
			sh[t].first = (size_t)t;
			sh[t].step = (size_t)nthreads;
			started[t] = t > 0 && pthread_create(&tid[t], NULL, measure_share, &sh[t]) == 0;
		}
		measure_share(&sh[0]);
		for (int t = 1; t < nthreads; t++) {
			if (started[t])
				pthread_join(tid[t], NULL);
			else
				measure_share(&sh[t]);   /* no thread: this share here */
		}
	}
	ts_catalogue_free(&cat);
}
