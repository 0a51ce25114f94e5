/*
 * metrics.c - Prometheus text exposition at /metrics: requests by route and
 * status, a latency histogram, the response cache's counters, open images
 * and busy workers.  Counters are lock-free atomics updated once per request.
 */
#include <stdio.h>
#include <string.h>

#include "serve.h"
#include "tessera/access_log.h"
#include "tessera/contain.h"
#include "tessera/tile_cache.h"

static const char *const route_names[R_COUNT] = {
	"iiif_image", "iiif_info", "iiif_base", "iiif_media", "deepzoom", "zoomify", "iip",
	"viewer", "health", "metrics", "presentation", "other"
};
static const int status_codes[TS_METRIC_STATUSES - 1] = {
	200, 204, 206, 303, 304, 400, 403, 404, 405, 416, 499, 500, 501, 503
};
static const double latency_bounds[TS_METRIC_BUCKETS - 1] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5
};

void ts_serve_count(struct ts_server *srv, enum route_id route, int status, double seconds)
{
	int j, b;

	for (j = 0; j < TS_METRIC_STATUSES - 1 && status_codes[j] != status; j++)
		;
	atomic_fetch_add(&srv->metrics.requests[route][j], 1);
	if (status == TS_ECLIENTGONE)
		atomic_fetch_add(&srv->metrics.abandoned, 1);
	for (b = 0; b < TS_METRIC_BUCKETS - 1 && seconds > latency_bounds[b]; b++)
		;
	atomic_fetch_add(&srv->metrics.latency[b], 1);
	atomic_fetch_add(&srv->metrics.latency_sum_us, (uint64_t)(seconds * 1e6));
}

void ts_serve_metrics(struct request *r)
{
	struct ts_server *srv = r->srv;
	struct ts_buf *b = &r->resp->body;
	struct ts_cache_stats cs;
	uint64_t cum = 0;
	int i, j;

	ts_buf_append_str(b, "# HELP tessera_requests_total Requests answered, by route and status.\n"
	                     "# TYPE tessera_requests_total counter\n");
	for (i = 0; i < R_COUNT; i++)
		for (j = 0; j < TS_METRIC_STATUSES; j++) {
			uint64_t n = atomic_load(&srv->metrics.requests[i][j]);
			if (!n)
				continue;
			if (j < TS_METRIC_STATUSES - 1)
				ts_buf_printf(b, "tessera_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
				              route_names[i], status_codes[j], (unsigned long long)n);
			else
				ts_buf_printf(b, "tessera_requests_total{route=\"%s\",status=\"other\"} %llu\n",
				              route_names[i], (unsigned long long)n);
		}
	ts_buf_append_str(b, "# HELP tessera_request_duration_seconds Time to produce a response.\n"
	                     "# TYPE tessera_request_duration_seconds histogram\n");
	for (i = 0; i < TS_METRIC_BUCKETS; i++) {
		cum += atomic_load(&srv->metrics.latency[i]);
		if (i < TS_METRIC_BUCKETS - 1)
			ts_buf_printf(b, "tessera_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
			              latency_bounds[i], (unsigned long long)cum);
		else
			ts_buf_printf(b, "tessera_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
			              (unsigned long long)cum);
	}
	ts_buf_printf(b, "tessera_request_duration_seconds_sum %.6f\n"
	                 "tessera_request_duration_seconds_count %llu\n",
	              atomic_load(&srv->metrics.latency_sum_us) / 1e6, (unsigned long long)cum);
	ts_cache_stats(srv->cache, &cs);
	ts_buf_printf(b, "# TYPE tessera_cache_hits_total counter\ntessera_cache_hits_total %llu\n"
	                 "# TYPE tessera_cache_misses_total counter\ntessera_cache_misses_total %llu\n"
	                 "# TYPE tessera_cache_evictions_total counter\ntessera_cache_evictions_total %llu\n"
	                 "# TYPE tessera_cache_bytes gauge\ntessera_cache_bytes %llu\n"
	                 "# TYPE tessera_cache_entries gauge\ntessera_cache_entries %llu\n"
	                 "# TYPE tessera_cache_budget_bytes gauge\ntessera_cache_budget_bytes %llu\n",
	              (unsigned long long)cs.hits, (unsigned long long)cs.misses,
	              (unsigned long long)cs.evictions, (unsigned long long)cs.bytes,
	              (unsigned long long)cs.entries, (unsigned long long)cs.budget);
	if (srv->remote) {
		uint64_t hits, misses, errors;
		ts_remote_cache_stats(srv->remote, &hits, &misses, &errors);
		ts_buf_printf(b, "# TYPE tessera_remote_cache_hits_total counter\n"
		                 "tessera_remote_cache_hits_total %llu\n"
		                 "# TYPE tessera_remote_cache_misses_total counter\n"
		                 "tessera_remote_cache_misses_total %llu\n"
		                 "# TYPE tessera_remote_cache_errors_total counter\n"
		                 "tessera_remote_cache_errors_total %llu\n",
		              (unsigned long long)hits, (unsigned long long)misses,
		              (unsigned long long)errors);
	}
	ts_buf_printf(b, "# HELP tessera_files_quarantined Files a worker crashed decoding "
	                 "(workers >= 2; tessera(8), DECODER CRASHES).\n"
	                 "# TYPE tessera_files_quarantined gauge\n"
	                 "tessera_files_quarantined %u\n"
	                 "# HELP tessera_worker_crashes_total Workers killed by a crash signal.\n"
	                 "# TYPE tessera_worker_crashes_total counter\n"
	                 "tessera_worker_crashes_total %llu\n", ts_contain_quarantined(),
	              ts_contain_crashes());
	ts_buf_printf(b, "# HELP tessera_openjph_tiles_total HTJ2K tiles decoded by OpenJPH "
	                 "(htj2k_decoder).\n"
	                 "# TYPE tessera_openjph_tiles_total counter\n"
	                 "tessera_openjph_tiles_total %llu\n", ts_source_openjph_tiles());
	if (srv->source_limits.tiles) {
		struct ts_tile_cache_stats ts;
		ts_tile_cache_stats(srv->source_limits.tiles, &ts);
		ts_buf_printf(b, "# HELP tessera_decoded_tiles_hits_total Decoded JPEG 2000 tiles reused.\n"
		                 "# TYPE tessera_decoded_tiles_hits_total counter\n"
		                 "tessera_decoded_tiles_hits_total %llu\n"
		                 "# TYPE tessera_decoded_tiles_loads_total counter\n"
		                 "tessera_decoded_tiles_loads_total %llu\n"
		                 "# TYPE tessera_decoded_tiles_waits_total counter\n"
		                 "tessera_decoded_tiles_waits_total %llu\n"
		                 "# TYPE tessera_decoded_tiles_evictions_total counter\n"
		                 "tessera_decoded_tiles_evictions_total %llu\n"
		                 "# TYPE tessera_decoded_tiles_bytes gauge\n"
		                 "tessera_decoded_tiles_bytes %llu\n",
		              (unsigned long long)ts.hits, (unsigned long long)ts.loads,
		              (unsigned long long)ts.waits, (unsigned long long)ts.evictions,
		              (unsigned long long)ts.bytes);
	}
	ts_buf_printf(b, "# HELP tessera_access_log_dropped_total Access log lines dropped "
	                 "because the writer was behind.\n"
	                 "# TYPE tessera_access_log_dropped_total counter\n"
	                 "tessera_access_log_dropped_total %llu\n",
	              (unsigned long long)ts_access_log_dropped());
	ts_buf_printf(b, "# HELP tessera_requests_abandoned_total Requests dropped before their "
	                 "costly work because the client had gone away (logged 499).\n"
	                 "# TYPE tessera_requests_abandoned_total counter\n"
	                 "tessera_requests_abandoned_total %llu\n",
	              (unsigned long long)atomic_load(&srv->metrics.abandoned));
	ts_buf_printf(b, "# HELP tessera_passthrough_total Stored JPEG tiles served without decoding.\n"
	                 "# TYPE tessera_passthrough_total counter\ntessera_passthrough_total %llu\n",
	              (unsigned long long)atomic_load(&srv->metrics.passthrough));
	ts_buf_printf(b, "# HELP tessera_transcoded_total Whole levels made from stored JPEG tiles' "
	                 "coefficients.\n"
	                 "# TYPE tessera_transcoded_total counter\ntessera_transcoded_total %llu\n",
	              (unsigned long long)atomic_load(&srv->metrics.transcoded));
	if (srv->pyramids) {
		struct ts_auto_pyramid_stats ps;
		ts_auto_pyramid_stats(srv->pyramids, &ps);
		ts_buf_printf(b, "# HELP tessera_pyramid_conversions_total On-demand pyramid "
		                 "conversions, by outcome.\n"
		                 "# TYPE tessera_pyramid_conversions_total counter\n"
		                 "tessera_pyramid_conversions_total{state=\"started\"} %llu\n"
		                 "tessera_pyramid_conversions_total{state=\"done\"} %llu\n"
		                 "tessera_pyramid_conversions_total{state=\"failed\"} %llu\n"
		                 "tessera_pyramid_conversions_total{state=\"dropped\"} %llu\n"
		                 "# TYPE tessera_pyramid_queue gauge\ntessera_pyramid_queue %llu\n"
		                 "# HELP tessera_pyramid_hits_total Requests served from an "
		                 "on-demand pyramid.\n"
		                 "# TYPE tessera_pyramid_hits_total counter\n"
		                 "tessera_pyramid_hits_total %llu\n"
		                 "# TYPE tessera_pyramid_misses_total counter\n"
		                 "tessera_pyramid_misses_total %llu\n"
		                 "# TYPE tessera_pyramid_evictions_total counter\n"
		                 "tessera_pyramid_evictions_total %llu\n"
		                 "# TYPE tessera_pyramid_invalidations_total counter\n"
		                 "tessera_pyramid_invalidations_total %llu\n"
		                 "# TYPE tessera_pyramid_cache_bytes gauge\n"
		                 "tessera_pyramid_cache_bytes %llu\n"
		                 "# TYPE tessera_pyramid_cache_entries gauge\n"
		                 "tessera_pyramid_cache_entries %llu\n"
		                 "# TYPE tessera_pyramid_cache_failed gauge\n"
		                 "tessera_pyramid_cache_failed %llu\n"
		                 "# TYPE tessera_pyramid_cache_budget_bytes gauge\n"
		                 "tessera_pyramid_cache_budget_bytes %llu\n",
		              (unsigned long long)ps.started, (unsigned long long)ps.done,
		              (unsigned long long)ps.failed, (unsigned long long)ps.dropped,
		              (unsigned long long)ps.queued, (unsigned long long)ps.cache.hits,
		              (unsigned long long)ps.cache.misses,
		              (unsigned long long)ps.cache.evictions,
		              (unsigned long long)ps.cache.invalidations,
		              (unsigned long long)ps.cache.bytes, (unsigned long long)ps.cache.entries,
		              (unsigned long long)ps.cache.failed, (unsigned long long)ps.cache.budget);
	}
	if (srv->heavy) {
		struct ts_heavy_stats hs;
		ts_heavy_stats(srv->heavy, &hs);
		ts_buf_printf(b, "# HELP tessera_renders_running Large renders running now.\n"
		                 "# TYPE tessera_renders_running gauge\ntessera_renders_running %d\n"
		                 "# HELP tessera_renders_queued Large renders waiting to start.\n"
		                 "# TYPE tessera_renders_queued gauge\ntessera_renders_queued %d\n"
		                 "# HELP tessera_renders_admitted_total Large renders started.\n"
		                 "# TYPE tessera_renders_admitted_total counter\n"
		                 "tessera_renders_admitted_total %llu\n"
		                 "# HELP tessera_renders_refused_total Large renders answered 503: "
		                 "queue full or waited too long.\n"
		                 "# TYPE tessera_renders_refused_total counter\n"
		                 "tessera_renders_refused_total %llu\n"
		                 "# HELP tessera_renders_abandoned_total Large renders dropped "
		                 "(queued) or stopped (running) because the client had gone.\n"
		                 "# TYPE tessera_renders_abandoned_total counter\n"
		                 "tessera_renders_abandoned_total %llu\n"
		                 "# HELP tessera_renders_timed_out_total Renders stopped at "
		                 "max_render_seconds.\n"
		                 "# TYPE tessera_renders_timed_out_total counter\n"
		                 "tessera_renders_timed_out_total %llu\n"
		                 "# HELP tessera_render_memory_reserved_bytes Memory reserved by the "
		                 "large renders running now.\n"
		                 "# TYPE tessera_render_memory_reserved_bytes gauge\n"
		                 "tessera_render_memory_reserved_bytes %llu\n"
		                 "# TYPE tessera_render_memory_budget_bytes gauge\n"
		                 "tessera_render_memory_budget_bytes %llu\n",
		              hs.running, hs.queued, (unsigned long long)hs.admitted,
		              (unsigned long long)hs.refused, (unsigned long long)hs.abandoned,
		              (unsigned long long)(hs.timed_out +
		                                   atomic_load(&srv->metrics.timed_out)),
		              (unsigned long long)hs.reserved, (unsigned long long)hs.memory);
	}
	ts_buf_printf(b, "# TYPE tessera_open_images gauge\ntessera_open_images %d\n"
	                 "# TYPE tessera_workers_busy gauge\ntessera_workers_busy %d\n",
	              ts_source_pool_open_count(srv->pool), atomic_load(&srv->metrics.busy));
	ts_buf_printf(b, "# HELP tessera_memory_trims_total Times freed memory went back to the "
	                 "system after idle_trim_seconds without a request.\n"
	                 "# TYPE tessera_memory_trims_total counter\ntessera_memory_trims_total %lu\n",
	              ts_mem_trim_count(srv->trim));
}
