/*
 * mem_trim.c - hand freed heap memory back to the system once the process
 * has gone idle (contract in include/tessera/mem_trim.h).
 *
 * Where it sits: the server (server.c) tells it when each request starts
 * and ends; main.c has made malloc keep large freed blocks.  Under load
 * they are reused at once and cost nothing; after a burst they stay
 * resident.  Measured on the JPEG 2000 first walk (bench/jp2.py walk-iiif,
 * 4 images, 6 clients, 8 worker threads, decoded-tile cache 128 MB): the
 * daemon ends at ~320 MB resident with ~135 MB of it in use, the other
 * ~190 MB being OpenJPEG's freed tile buffers spread over the eight
 * threads' malloc arenas, and it stays there for ever when the visitors go.
 *
 * The one idea: trim only when nothing runs and nothing has run for a
 * while.  malloc_trim(0) walks every arena and gives back (madvise) the
 * free pages in the middle of the heaps as well as at their tops; the next
 * burst faults them in again, which costs a few tens of milliseconds of CPU
 * for the whole heap, once per idle period: nothing against the seconds of
 * quiet that preceded it, and never in the middle of a burst.
 *
 * The watching thread wakes a few times per idle period (a quarter of it,
 * at least every 10 ms, at most every second), so a trim comes between
 * idle_ms and about 1.25 idle_ms after the last request ended.
 *
 * Measured (2 cores, load average 16-24 from other work, so CPU figures
 * are +-0.5 ms):
 *   IDLE=8 python3 bench/jp2_memory.py walk-iiif 2 "old|OLD_TESSERA|" \
 *       "new|./tessera|TESSERA_IDLE_TRIM_SECONDS=5"
 * The walk's 1179 tiles cost ~67 minor faults each (~300 MB: the heaps
 * filling once, 6-10 per tile on a second walk), 68% of them in
 * OpenJPEG's tile and code-block buffers and 26% in our decode output
 * (perf record -e page-faults); CPU is 78% OpenJPEG, 11% kernel (2.5% of
 * it pread copies).  main.c's M_MMAP_THRESHOLD/M_TRIM_THRESHOLD already
 * keep the large blocks (without them: ~80 faults and ~8.3 against ~7.4 ms
 * user per tile); GLIBC_TUNABLES with the same thresholds changes nothing
 * more.  Resident memory, decoded-tile cache 128 MB:
 *   before: 315-327 MB after the walk and still after 8 s idle (10 arenas,
 *           326 MB held, 135 MB in use: malloc_stats)
 *   after (trim at 5 s, M_ARENA_MAX two per core): 260-278 MB after the
 *           walk, 139-162 MB after 8 s idle; the second walk then faults
 *           ~40 times per tile instead of ~8, same CPU within the noise
 *   cache 256 MB: 339 MB after, 339 idle before; 300 after, 211 idle now.
 * bench/jp2.py (BENCH_JP2_SCENARIOS=walk-iiif,walk-dz,walk-zoomify,tiles-all
 * BENCH_JP2_SYSTEMS=tessera BENCH_RUNS=1 BENCH_DURATION=4, three rounds
 * alternating BENCH_TESSERA between the build before and this one, load
 * 16-24; medians, before -> after; servers start afresh for each walk):
 *   walk-iiif     27.7 -> 28.4 tiles/s, 8.58 -> 8.02 ms CPU/tile, peak 316 -> 261 MB
 *   walk-dz       22.5 -> 24.7 tiles/s, 9.84 -> 10.24 ms CPU/tile, peak 323 -> 263 MB
 *   walk-zoomify  26.7 -> 37.9 tiles/s, 8.04 -> 7.83 ms CPU/tile, peak 313 -> 259 MB
 *   tiles-all     12.3 -> 11.8 req/s, 25.7 -> 22.3 ms CPU/req
 * Why 30 s by default: bench/run.py's regionmix leaves each server idle
 * 8-10 s between its runs; a trim at 5 s made every run fault its heap in
 * again, 10.6-11.9 against 8.6-9.8 ms CPU per request for the build
 * before (twice); at 30 s, 10.4 against 10.1 and 8.5 against 10.1 (two
 * runs), cold tiles equal (0.12/0.12, 0.15/0.15 ms); BENCH_SCENARIOS=
 * cold,regionmix BENCH_BASELINE=OLD_TESSERA python3 bench/run.py.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "tessera/log.h"
#include "tessera/mem_trim.h"

struct ts_mem_trim {
	unsigned idle_ms;
	ts_mem_trim_fn trim;
	atomic_int running;               /* requests between enter and leave */
	atomic_uint_fast64_t last_leave;  /* ms of the monotonic clock; 0 = none yet */
	atomic_ulong trims;
	pthread_mutex_t lock;             /* guards stop, with wake */
	pthread_cond_t wake;
	int stop;
	pthread_t tid;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Resident memory in MB, from /proc/self/statm; -1 when unreadable. */
static long resident_mb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size, pages;
	long r = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%lu %lu", &size, &pages) == 2)
		r = (long)(pages * (unsigned long)sysconf(_SC_PAGESIZE) >> 20);
	fclose(f);
	return r;
}

static void trim_now(struct ts_mem_trim *t)
{
	bool debug = ts_log_enabled(TS_LOG_DEBUG);
	long before = debug ? resident_mb() : 0;
	uint64_t t0 = now_ms();

	t->trim(0);
	atomic_fetch_add(&t->trims, 1);
	if (debug)
		ts_log(TS_LOG_DEBUG, "idle: freed memory returned to the system, resident %ld MB -> "
		       "%ld MB in %llu ms", before, resident_mb(),
		       (unsigned long long)(now_ms() - t0));
}

static void *watch_main(void *arg)
{
	struct ts_mem_trim *t = arg;
	unsigned period = t->idle_ms / 4;
	uint64_t trimmed_after = 0;   /* the last_leave the last trim followed */
	struct timespec until;

	if (period < 10)
		period = 10;
	if (period > 1000)
		period = 1000;
	pthread_mutex_lock(&t->lock);
	while (!t->stop) {
		uint64_t leave, now;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += period / 1000;
		until.tv_nsec += (long)(period % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&t->wake, &t->lock, &until);
		if (t->stop)
			break;
		leave = atomic_load(&t->last_leave);
		now = now_ms();
		if (leave == 0 || leave == trimmed_after || atomic_load(&t->running) > 0 ||
		    now < leave + t->idle_ms)
			continue;
		trimmed_after = leave;
		pthread_mutex_unlock(&t->lock);   /* stop must not wait behind a trim */
		trim_now(t);
		pthread_mutex_lock(&t->lock);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

static int call_malloc_trim(size_t pad)
{
	return malloc_trim(pad);
}

struct ts_mem_trim *ts_mem_trim_start(unsigned idle_ms, ts_mem_trim_fn trim,
                                      struct ts_error *err)
{
	struct ts_mem_trim *t;
	pthread_condattr_t ca;
	int rc;

	if (idle_ms == 0)
		return NULL;
	t = calloc(1, sizeof *t);
	if (!t) {
		ts_error_set(err, TS_EINTERNAL, "out of memory");
		return NULL;
	}
	t->idle_ms = idle_ms;
	t->trim = trim ? trim : call_malloc_trim;
	pthread_mutex_init(&t->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->wake, &ca);
	pthread_condattr_destroy(&ca);
	rc = pthread_create(&t->tid, NULL, watch_main, t);
	if (rc != 0) {
		ts_error_set(err, TS_EINTERNAL, "cannot start the memory trimming thread");
		snprintf(err->detail, sizeof err->detail, "pthread_create: %s", strerror(rc));
		goto fail;
	}
	return t;
fail:
	pthread_cond_destroy(&t->wake);
	pthread_mutex_destroy(&t->lock);
	free(t);
	return NULL;
}

void ts_mem_trim_enter(struct ts_mem_trim *t)
{
	if (t)
		atomic_fetch_add(&t->running, 1);
}

void ts_mem_trim_leave(struct ts_mem_trim *t)
{
	if (!t)
		return;
	/* The time first: the watcher, seeing running drop to 0, must also
	 * see that a request just ended. */
	atomic_store(&t->last_leave, now_ms());
	atomic_fetch_sub(&t->running, 1);
}

unsigned long ts_mem_trim_count(const struct ts_mem_trim *t)
{
	return t ? atomic_load(&((struct ts_mem_trim *)t)->trims) : 0;
}

void ts_mem_trim_stop(struct ts_mem_trim *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	t->stop = 1;
	pthread_cond_signal(&t->wake);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->tid, NULL);
	pthread_cond_destroy(&t->wake);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
