/*
 * auto_pyramid.c - pyramids made on demand: a flat source (a plain JPEG or
 * PNG, a striped or single-level TIFF) of auto_pyramid_min_pixels or more
 * is answered from the flat file as before, and its conversion to a tiled
 * pyramidal TIFF (ts_convert_file, convert.h) is queued; once the pyramid
 * is in the cache (pyramid_cache.h), requests for the same identifier open
 * the pyramid instead.  Same identifier, same width and height (checked
 * before the pyramid is taken); the answers' ETags and Last-Modified then
 * follow the pyramid file, whose pixels are the source's within JPEG
 * tolerance.
 *
 * The one idea: the request path only looks things up.  ts_auto_pyramid_open
 * is the one hook where a request opens its source (serve/common.c); it
 * costs a hash probe, and a miss on a large flat source adds a job to a
 * bounded queue (deduplicated by source identity) and returns.
 *
 * Conversions run on auto_pyramid_jobs threads of this process, each at
 * nice 19 (setpriority on its own thread id: per-thread on Linux, as in
 * heavy.c), converting with one encoder thread, so that at most
 * auto_pyramid_jobs cores go to conversions and every request preempts
 * them.  Threads rather than a forked child: the converter's memory is
 * bounded by design (convert.h), it reads the files through the same
 * decoders the requests already run in this process (a child would not
 * isolate anything the daemon does not already trust), it can be cancelled
 * at shutdown through opts.cancel, and fork() of a multi-threaded daemon
 * would have to exec a helper binary whose path and settings must then be
 * kept in step.
 *
 * A failed conversion (a truncated file, an unreadable one, a pyramid
 * larger than the whole budget) is recorded by the cache's marker and not
 * tried again until the source changes; serving the flat file goes on
 * untouched.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "serve.h"
#include "tessera/convert.h"
#include "tessera/log.h"
#include "tessera/pyramid_cache.h"

#define CONVERT_NICE 19
#define MAX_QUEUED 256
#define CONVERT_MEMORY_MB 1024
/* JPEG tiles at 90 without chroma subsampling: the re-encoding stays
 * well within what a client sees from the flat file, and a stored tile
 * passed through looks like an answer encoded at 90 and up. */
#define PYRAMID_QUALITY 90

struct job {
	struct ts_pyramid_key key;
	char path[PATH_MAX];
	uint32_t width, height;      /* the flat source's, checked on the pyramid */
	int channels;
	bool running;
	struct job *next;
};

struct ts_auto_pyramid {
	struct ts_pyramid_cache *cache;
	uint64_t min_pixels;
	uint64_t max_source_pixels;
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct job *jobs;            /* queued and running, oldest first */
	int queued;
	pthread_t *threads;
	int nthreads;
	volatile int stop;           /* also the converter's cancel flag */
	atomic_uint_fast64_t started, done, failed, dropped;
};

static bool is_flat(const struct ts_source *src)
{
	const struct ts_source_info *in = &src->info;

	if (strcmp(in->format, "jpeg") == 0 || strcmp(in->format, "png") == 0)
		return true;
	/* A TIFF without a tiled pyramid: strips, or tiles of one level. */
	return strcmp(in->format, "tiff") == 0 &&
	       (in->levels[0].tile_w == 0 || in->nlevels == 1);
}

/* Queue k's conversion unless it is queued or running already. */
static void enqueue(struct ts_auto_pyramid *ap, const struct ts_pyramid_key *k,
                    const char *path, const struct ts_source *src)
{
	struct job *j, **tail;

	pthread_mutex_lock(&ap->lock);
	for (tail = &ap->jobs; *tail; tail = &(*tail)->next)
		if (memcmp(&(*tail)->key, k, sizeof *k) == 0) {
			pthread_mutex_unlock(&ap->lock);
			return;
		}
	if (ap->queued >= MAX_QUEUED || ap->stop) {
		pthread_mutex_unlock(&ap->lock);
		atomic_fetch_add(&ap->dropped, 1);   /* a later request queues it again */
		return;
	}
	j = calloc(1, sizeof *j);
	if (j) {
		j->key = *k;
		snprintf(j->path, sizeof j->path, "%s", path);
		j->width = src->info.width;
		j->height = src->info.height;
		j->channels = src->info.channels;
		*tail = j;
		ap->queued++;
		pthread_cond_signal(&ap->work);
	}
	pthread_mutex_unlock(&ap->lock);
}

ts_status ts_auto_pyramid_open(struct ts_auto_pyramid *ap, struct ts_source_pool *pool,
                               struct file_id *f, struct ts_source **src,
                               struct ts_error *err)
{
	struct ts_pyramid_key k;
	enum ts_pyramid_state state;
	char ppath[PATH_MAX];
	struct stat pst;
	ts_status st;

	ts_pyramid_key_make(f->path, &f->st, &k);
	state = ts_pyramid_cache_find(ap->cache, &k, ppath, sizeof ppath);
	if (state == TS_PYRAMID_READY) {
		struct ts_error perr = { 0 };

		if (stat(ppath, &pst) == 0 &&
		    ts_source_pool_get(pool, ppath, &pst, src, &perr) == TS_OK) {
			snprintf(f->path, sizeof f->path, "%s", ppath);
			f->st = pst;
			return TS_OK;
		}
		/* Removed behind our back or unreadable: forget it, make it again. */
		ts_log(TS_LOG_WARN, "auto pyramid: cannot open %s (%s); serving the source",
		       ppath, perr.detail[0] ? perr.detail : strerror(errno));
		ts_pyramid_cache_drop(ap->cache, &k);
		state = TS_PYRAMID_NONE;
	}
	st = ts_source_pool_get(pool, f->path, &f->st, src, err);
	if (st == TS_OK && state == TS_PYRAMID_NONE && is_flat(*src) &&
	    (uint64_t)(*src)->info.width * (*src)->info.height >= ap->min_pixels)
		enqueue(ap, &k, f->path, *src);
	return st;
}

/* The source is still the file the job was made for. */
static bool unchanged(const struct job *j)
{
	struct ts_pyramid_key now;
	struct stat st;

	if (stat(j->path, &st) != 0)
		return false;
	ts_pyramid_key_make(j->path, &st, &now);
	return memcmp(&now, &j->key, sizeof now) == 0;
}

/* The pyramid opens and has the flat source's size. */
static bool same_geometry(const char *out, const struct job *j, struct ts_error *err)
{
	struct ts_source_limits lim = { 0 };
	struct ts_source *s = NULL;
	bool ok;

	if (ts_source_open(out, &lim, &s, err) != TS_OK)
		return false;
	ok = s->info.width == j->width && s->info.height == j->height && s->info.nlevels > 1 &&
	     s->info.levels[0].tile_w > 0;
	if (!ok) {
		ts_error_set(err, TS_EINTERNAL, "the pyramid's geometry differs from its source");
		ts_error_detail(err, "%ux%u (%d levels) for a %ux%u source", s->info.width,
		                s->info.height, s->info.nlevels, j->width, j->height);
	}
	ts_source_close(s);
	return ok;
}

static void convert_one(struct ts_auto_pyramid *ap, struct job *j)
{
	struct ts_convert_opts o;
	struct ts_error err = { 0 };
	char out[PATH_MAX];
	ts_status st;

	if (!unchanged(j))
		return;   /* changed since it was asked for: the next request decides */
	atomic_fetch_add(&ap->started, 1);
	ts_pyramid_cache_path(ap->cache, &j->key, out, sizeof out);
	ts_convert_opts_default(&o);
	o.kind = TS_CONVERT_TIFF;
	/* JPEG tiles hold no alpha: sources with alpha keep it in deflate. */
	o.compression = (j->channels == 2 || j->channels == 4) ? TS_COMP_DEFLATE : TS_COMP_JPEG;
	o.quality = PYRAMID_QUALITY;
	o.chroma_444 = !ts_jpeg_halves_chroma(PYRAMID_QUALITY);
	/* 512: the virtual tile info.json gives a flat source (iiif_info.c), so
	 * the tiles of info.json stay the same once the pyramid is read. */
	o.tile = 512;
	o.threads = 1;
	/* Bounded like a request: a flat source whose conversion would need
	 * more (an extremely wide one) is refused before allocating and
	 * recorded as failed; the file is still served. */
	o.memory_mb = CONVERT_MEMORY_MB;
	o.max_source_pixels = ap->max_source_pixels;
	o.cancel = &ap->stop;
	st = ts_convert_file(j->path, out, &o, &err);
	if (st != TS_OK && ap->stop)
		return;   /* cancelled at shutdown: not a failure, done next time */
	if (st == TS_OK && !unchanged(j)) {
		unlink(out);   /* the source changed while it was read */
		atomic_fetch_add(&ap->failed, 1);
		return;
	}
	if (st == TS_OK && !same_geometry(out, j, &err)) {
		unlink(out);
		st = TS_EINTERNAL;
	}
	if (st == TS_OK) {
		/* A pyramid larger than the whole budget is refused here and
		 * marked by the cache itself. */
		st = ts_pyramid_cache_add(ap->cache, &j->key, &err);
		if (st == TS_OK) {
			atomic_fetch_add(&ap->done, 1);
			ts_log(TS_LOG_INFO, "auto pyramid: %s converted (%ux%u)", j->path, j->width,
			       j->height);
			return;
		}
	} else {
		ts_pyramid_cache_fail(ap->cache, &j->key);
	}
	atomic_fetch_add(&ap->failed, 1);
	ts_log(TS_LOG_WARN, "auto pyramid: %s not converted: %s%s%s (not retried until it "
	       "changes)", j->path, err.msg, err.detail[0] ? ": " : "", err.detail);
}

static void *convert_thread(void *arg)
{
	struct ts_auto_pyramid *ap = arg;
	struct job *j, **p;

	if (setpriority(PRIO_PROCESS, (id_t)gettid(), CONVERT_NICE) != 0)
		ts_log(TS_LOG_WARN, "auto pyramid: cannot lower thread priority");
	pthread_mutex_lock(&ap->lock);
	while (!ap->stop) {
		for (j = ap->jobs; j && j->running; j = j->next)
			;
		if (!j) {
			pthread_cond_wait(&ap->work, &ap->lock);
			continue;
		}
		j->running = true;
		pthread_mutex_unlock(&ap->lock);
		convert_one(ap, j);
		pthread_mutex_lock(&ap->lock);
		for (p = &ap->jobs; *p && *p != j; p = &(*p)->next)
			;
		if (*p)
			*p = j->next;
		ap->queued--;
		free(j);
	}
	pthread_mutex_unlock(&ap->lock);
	return NULL;
}

ts_status ts_auto_pyramid_create(const struct ts_settings *s, uint64_t max_source_pixels,
                                 struct ts_auto_pyramid **out, struct ts_error *err)
{
	struct ts_auto_pyramid *ap;
	ts_status st;

	*out = NULL;
	if (s->auto_pyramid_min_pixels == 0)
		return TS_OK;   /* off */
	if (!s->pyramid_cache_dir || !*s->pyramid_cache_dir)
		return ts_error_set(err, TS_EINTERNAL, "auto_pyramid_min_pixels is set but "
		                    "pyramid_cache_dir is empty: name a directory for the pyramids");
	ap = calloc(1, sizeof *ap);
	if (!ap)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	ap->min_pixels = s->auto_pyramid_min_pixels;
	ap->max_source_pixels = max_source_pixels;
	pthread_mutex_init(&ap->lock, NULL);
	pthread_cond_init(&ap->work, NULL);
	st = ts_pyramid_cache_open(s->pyramid_cache_dir, s->pyramid_cache_bytes, &ap->cache, err);
	if (st != TS_OK)
		goto fail;
	ap->threads = calloc((size_t)s->auto_pyramid_jobs, sizeof *ap->threads);
	if (!ap->threads) {
		st = ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto fail;
	}
	for (int i = 0; i < s->auto_pyramid_jobs; i++) {
		if (pthread_create(&ap->threads[i], NULL, convert_thread, ap) != 0)
			break;
		ap->nthreads++;
	}
	if (ap->nthreads == 0) {
		st = ts_error_set(err, TS_EINTERNAL, "cannot start the pyramid conversion threads");
		goto fail;
	}
	*out = ap;
	return TS_OK;
fail:
	ts_auto_pyramid_destroy(ap);
	return st;
}

void ts_auto_pyramid_destroy(struct ts_auto_pyramid *ap)
{
	struct job *j, *next;

	if (!ap)
		return;
	pthread_mutex_lock(&ap->lock);
	ap->stop = 1;
	pthread_cond_broadcast(&ap->work);
	pthread_mutex_unlock(&ap->lock);
	for (int i = 0; i < ap->nthreads; i++)
		pthread_join(ap->threads[i], NULL);
	for (j = ap->jobs; j; j = next) {
		next = j->next;
		free(j);
	}
	ts_pyramid_cache_close(ap->cache);
	pthread_mutex_destroy(&ap->lock);
	pthread_cond_destroy(&ap->work);
	free(ap->threads);
	free(ap);
}

void ts_auto_pyramid_stats(struct ts_auto_pyramid *ap, struct ts_auto_pyramid_stats *out)
{
	memset(out, 0, sizeof *out);
	if (!ap)
		return;
	out->started = atomic_load(&ap->started);
	out->done = atomic_load(&ap->done);
	out->failed = atomic_load(&ap->failed);
	out->dropped = atomic_load(&ap->dropped);
	pthread_mutex_lock(&ap->lock);
	out->queued = (uint64_t)ap->queued;
	pthread_mutex_unlock(&ap->lock);
	ts_pyramid_cache_stats(ap->cache, &out->cache);
}
