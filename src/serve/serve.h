/*
 * serve.h - what the request handlers share (src/server.c and src/serve/).
 *
 * The server struct, the request in flight, and the helpers every protocol
 * uses: open an image through the pool, set validators and answer
 * conditional requests, look in the response cache, and render a command
 * (ts_serve_image), so IIIF, DeepZoom, Zoomify and IIP differ only in how
 * they turn a URL into a struct ts_image_cmd.  Internal to src/.
 */
#ifndef TESSERA_SERVE_H
#define TESSERA_SERVE_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>

#include "tessera/arena.h"
#include "tessera/cache.h"
#include "tessera/command.h"
#include "tessera/dir_watch.h"
#include "tessera/encoder.h"
#include "tessera/http.h"
#include "tessera/mem_trim.h"
#include "tessera/plan.h"
#include "tessera/pool.h"
#include "tessera/probe_cache.h"
#include "tessera/pyramid_cache.h"
#include "tessera/remote_cache.h"
#include "tessera/resolve.h"
#include "tessera/server.h"
#include "tessera/settings.h"
#include "tessera/source.h"

/* Routes as the metrics count them. */
enum route_id {
	R_IIIF_IMAGE, R_IIIF_INFO, R_IIIF_BASE, R_IIIF_MEDIA, R_DEEPZOOM, R_ZOOMIFY, R_IIP,
	R_VIEWER, R_HEALTH, R_METRICS, R_PRESENTATION, R_OTHER, R_COUNT
};

#define TS_METRIC_STATUSES 15   /* the codes in metrics.c, plus "other" */
#define TS_METRIC_BUCKETS 13    /* latency bounds in metrics.c, plus +Inf */

struct metrics {
	atomic_uint_fast64_t requests[R_COUNT][TS_METRIC_STATUSES];
	atomic_uint_fast64_t latency[TS_METRIC_BUCKETS];
	atomic_uint_fast64_t latency_sum_us;
	atomic_int busy;
	atomic_uint_fast64_t passthrough;   /* stored JPEG tiles served as they are */
	atomic_uint_fast64_t transcoded;    /* whole levels made from tiles' coefficients */
	atomic_uint_fast64_t timed_out;     /* light renders stopped at max_render_seconds */
	atomic_uint_fast64_t abandoned;     /* dropped: the client had gone (499) */
};

struct ts_server {
	const struct ts_settings *settings;
	struct ts_resolver *resolver;
	struct ts_limits limits;
	struct ts_source_limits source_limits;
	struct ts_encode_opts encode;
	bool formats[8];
	char viewer_dir[PATH_MAX];   /* realpath, or "" when there is no viewer */
	struct ts_cache *cache;      /* encoded responses */
	struct ts_source_pool *pool; /* opened images */
	struct ts_remote_cache *remote; /* memcached, shared by instances; NULL = off */
	/* Admission of large renders (heavy.c): a few at once on low-priority
	 * threads within a memory budget, a bounded queue, 503 beyond it, so
	 * tile requests never wait behind them. */
	struct ts_heavy *heavy;
	int root_fd;                 /* the root, for Presentation's confined walks; -1 = none */
	struct ts_probe_cache *probes; /* image sizes and media durations by file identity */
	struct ts_dir_watch *watch;    /* Presentation fingerprints kept while unchanged */
	struct ts_auto_pyramid *pyramids; /* on-demand pyramids of flat sources; NULL = off */
	struct ts_mem_trim *trim;    /* freed memory back to the system when idle; NULL = off */
	struct metrics metrics;
};

/* One request in flight. Lives on the worker's stack. */
struct request {
	struct ts_server *srv;
	const struct ts_http_request *http;
	struct ts_arena *arena;
	struct ts_response *resp;
	const char *path;            /* raw path, no query */
	const char *query;           /* raw query without '?', or NULL */
	enum route_id route;
	struct ts_error err;
	int retry_after;             /* seconds for Retry-After on a 503, 0 = none */
};

/* An image file as resolved: its path under the root and its identity. */
struct file_id {
	char path[PATH_MAX];
	struct stat st;
};

/* ---- common.c ---- */
void ts_serve_header(struct request *r, const char *name, const char *value);
/* Replace the body with a copy of data. */
bool ts_serve_set_body(struct request *r, const void *data, size_t n);
bool ts_serve_host_is_sane(const char *h);
/* The public URL prefix (base_url, or scheme://host of an allowed Host);
 * lives in the arena. */
const char *ts_serve_public_base(struct request *r);
/* Whether host ("name[:port]", may be NULL) is allowed by allowed_hosts
 * (comma list, "" = any); sets *first and *first_len to its first entry. */
bool ts_serve_host_allowed(const char *list, const char *host, const char **first,
                           size_t *first_len);
/* vary (a Vary value) plus Host (and X-Forwarded-*) when ids follow the
 * request (base_url empty); lives in the arena, or vary itself. */
const char *ts_serve_vary_ids(struct request *r, const char *vary);
/* Resolve identifier and check out its open source from the pool. */
ts_status ts_serve_open(struct request *r, const char *identifier, struct file_id *f,
                        struct ts_source **src);
/* Give the source back to the pool. Accepts src == NULL. */
void ts_serve_close(struct request *r, const struct file_id *f, struct ts_source *src);
/* Strong ETag from the file identity and `what` (the normalised request). */
const char *ts_serve_etag(struct request *r, const struct file_id *f, const char *what);
/* t as an IMF-fixdate (RFC 9110 §5.6.7) into out of n bytes (40 is enough). */
void ts_serve_http_date(time_t t, char *out, size_t n);
/* RFC 9110 §13.1.2: does If-None-Match inm (a list, "*", weak tags) match
 * the strong etag?  Weak comparison; false for NULL or "". */
bool ts_serve_etag_matches(const char *inm, const char *etag);
/* RFC 9110 §13.1.3: is mtime no newer than the If-Modified-Since date ims
 * (an IMF-fixdate)?  False for NULL, "" or any other date form. */
bool ts_serve_not_modified_since(const char *ims, time_t mtime);
/* Set ETag, Last-Modified, Cache-Control; true when a 304 was produced. */
bool ts_serve_conditional(struct request *r, const struct file_id *f, const char *etag);
const char *ts_serve_cache_key(struct request *r, const struct file_id *f, const char *what);
/* Before costly work: true (and r->err set to 499) when the client has
 * gone away and nobody would read the answer (front/conn_watch.c). */
bool ts_serve_client_gone(struct request *r);
/* Fill the response from the cache (in-process, then memcached); false on
 * a miss. */
bool ts_serve_from_cache(struct request *r, const char *key);
/* Store the response body under key in both cache tiers. */
void ts_serve_cache_put(struct request *r, const char *key);

/* ---- image.c ---- */
struct ts_image_job {
	struct ts_image_cmd cmd;
	const char *service_id;      /* IIIF id for the canonical Link, or NULL */
	int jpeg_quality;            /* 0 = the configured one */
};
/* Plan, validate, cache, pass through or render job on an opened source. */
ts_status ts_serve_image(struct request *r, const struct file_id *f, struct ts_source *src,
                         const struct ts_image_job *job);

/* ---- auto_pyramid.c ---- */
struct ts_auto_pyramid;
struct ts_auto_pyramid_stats {
	uint64_t started, done, failed, dropped, queued;
	struct ts_pyramid_cache_stats cache;
};
/* Start the on-demand pyramids when s->auto_pyramid_min_pixels > 0
 * (*out NULL when off): the cache in s->pyramid_cache_dir (scanned) and
 * s->auto_pyramid_jobs conversion threads at nice 19.  500 when the
 * directory is unset or unusable. */
ts_status ts_auto_pyramid_create(const struct ts_settings *s, uint64_t max_source_pixels,
                                 struct ts_auto_pyramid **out, struct ts_error *err);
/* Cancel running conversions, join the threads, free.  Accepts NULL. */
void ts_auto_pyramid_destroy(struct ts_auto_pyramid *ap);
/* Check out the source of the resolved file f: its pyramid when one is
 * cached (f then names the pyramid file), else the file itself, queueing
 * its conversion when it is flat and large enough.  Errors as
 * ts_source_pool_get on the file. */
ts_status ts_auto_pyramid_open(struct ts_auto_pyramid *ap, struct ts_source_pool *pool,
                               struct file_id *f, struct ts_source **src,
                               struct ts_error *err);
void ts_auto_pyramid_stats(struct ts_auto_pyramid *ap, struct ts_auto_pyramid_stats *out);

/* ---- heavy.c ---- */
struct ts_heavy;
struct ts_heavy_limits {
	int running;              /* renders at once, each on its own nice-19 thread (>= 1) */
	int queue;                /* renders that may wait for a start (>= 0) */
	uint64_t memory;          /* bytes the running renders may reserve together, 0 = any */
	double wait_seconds;      /* longest wait in the queue */
	double render_seconds;    /* each render's deadline from its start, 0 = none */
};
struct ts_heavy_stats {
	int running, queued;
	uint64_t reserved, memory;     /* bytes reserved now, of the budget */
	uint64_t admitted, refused;    /* renders started; refused (full or waited out) */
	uint64_t timed_out;            /* stopped at their deadline */
	uint64_t abandoned;            /* dropped or stopped: their client went away */
};
/* The limits the settings ask for (max_heavy_renders, max_heavy_queue,
 * max_render_memory_mb, max_render_seconds), lowered (and logged) so that
 * running and queued renders leave two worker threads free. */
void ts_heavy_limits_from(const struct ts_settings *s, struct ts_heavy_limits *out);
/* The admission of large renders (heavy.c); NULL when no thread starts. */
struct ts_heavy *ts_heavy_create(const struct ts_heavy_limits *lim);
void ts_heavy_destroy(struct ts_heavy *h);
/*
 * Run fn(arg) on a heavy thread once it may start (a thread free and
 * `bytes` within the memory budget), under the render deadline, and return
 * its result.  Without waiting: 403 when bytes exceed the whole budget,
 * 503 when the queue is full; 503 too when the wait runs out before it
 * starts.  gone(arg) (NULL: never) tells whether the client has left: it
 * is asked every HEAVY_WATCH_MS while the render waits or runs and once
 * when it leaves the queue; then a waiting render is dropped, its place
 * freed at once, and a running one is stopped at its next deadline check,
 * both with 499 (TS_ECLIENTGONE, replacing any error the render set).
 * gone is called with the admission's lock held: it must be quick and
 * take no lock.  arg is borrowed until the call returns.
 */
#define HEAVY_WATCH_MS 100
ts_status ts_heavy_run(struct ts_heavy *h, uint64_t bytes, ts_status (*fn)(void *arg),
                       bool (*gone)(void *arg), void *arg, struct ts_error *err);
void ts_heavy_stats(struct ts_heavy *h, struct ts_heavy_stats *out);

/* ---- iiif.c ---- */
/* rest: the IIIF path ("/3/id/..."); prefix: the raw URL text in front of
 * it ("/iiif" or "/fcgi-bin/iipsrv.fcgi?IIIF="); slash: whether the client
 * wrote the '/' that starts rest (iipsrv style "IIIF=id/..." has none);
 * slashes_in_id: the identifier may hold unescaped '/' (iipsrv's IIIF=
 * entry; then no version segment is recognised). */
ts_status ts_serve_iiif(struct request *r, const char *prefix, const char *rest, bool slash,
                        bool slashes_in_id);

/* ---- media.c ---- */
/* rest: what follows "/iiif" in the path.  True when it is a media file
 * route, "/{item}/res/{file}" (presentation.md §4): exactly three segments,
 * the middle one "res", the last one with an extension and not
 * "info.json".  A last segment without a '.' is never a media file, so
 * "/3/res/manifest" (the Manifest of a folder named res) stays with the
 * other IIIF routes. */
bool ts_serve_is_media(const char *rest);
/* Answer GET/HEAD of a published media file: 200, 206, 304, 416, 404. */
ts_status ts_serve_media(struct request *r, const char *rest);
/* ---- present.c ---- */
/* The Presentation API routes (URLS.md) under "/iiif"; rest is the path
 * after it.  Returns false, touching nothing, when rest is not one of them
 * (the Image API answers); true with the outcome in *st otherwise. */
bool ts_serve_presentation(struct request *r, const char *rest, ts_status *st);

/* ---- tiles.c ---- */
ts_status ts_serve_deepzoom(struct request *r, const char *rest, const char *query,
                            unsigned flags);
ts_status ts_serve_zoomify(struct request *r, const char *rest, unsigned flags);
/* true when the query is an IIP request (FIF=, IIIF=, DeepZoom=, Zoomify=). */
bool ts_serve_is_iip(const char *query);
ts_status ts_serve_iip(struct request *r);

/* ---- viewer.c ---- */
ts_status ts_serve_viewer_file(struct request *r, const char *rel);
ts_status ts_serve_image_list(struct request *r);

/* ---- metrics.c ---- */
void ts_serve_metrics(struct request *r);
void ts_serve_count(struct ts_server *srv, enum route_id route, int status, double seconds);

#endif
