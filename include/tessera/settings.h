/*
 * settings.h - every setting of the daemon, from one table (core/settings.c).
 *
 * Each setting has a name (config file key and --name flag), an environment
 * variable, optionally the iipsrv environment name with the same meaning, a
 * default, a range and one sentence of documentation.  Sources, lowest
 * precedence first: defaults, the config file (--config or TESSERA_CONFIG),
 * environment variables, command-line flags.  --help, the startup log and
 * the man page are generated from the same table.
 */
#ifndef TESSERA_SETTINGS_H
#define TESSERA_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "status.h"

struct ts_settings {
	/* resolver */
	char *root;              /* FILESYSTEM_PREFIX: image root, required */
	char *suffixes;          /* FILESYSTEM_SUFFIX: comma list tried after the id */
	/* output */
	int jpeg_quality;        /* JPEG_QUALITY */
	int webp_quality;
	int png_level;
	uint32_t max_width;      /* MAX_CVT sets both width and height */
	uint32_t max_height;
	uint64_t max_area;
	bool allow_upscaling;    /* ALLOW_UPSCALING */
	bool passthrough;        /* serve stored JPEG tiles without re-encoding */
	/* work limits */
	uint64_t max_decode_pixels;  /* source pixels one request may decode */
	uint64_t max_source_pixels;  /* refuse images declaring more pixels */
	int max_render_seconds;      /* a render's deadline (and longest queue wait), 0 = none */
	int max_heavy_renders;       /* large renders at once, 0 = one per core */
	int max_heavy_queue;         /* large renders waiting at most */
	uint64_t max_render_memory_mb; /* memory of the large renders together, 0 = any */
	/* HTTP */
	char *cors;              /* CORS: Access-Control-Allow-Origin value, "" = off */
	char *base_url;          /* BASE_URL: public URL prefix, e.g. https://x.org */
	bool trust_forwarded;    /* honour X-Forwarded-Host/-Proto */
	char *allowed_hosts;     /* hosts ids may use when base_url is empty, "" = any */
	char *cache_control;     /* CACHE_CONTROL */
	bool presentation_watch; /* inotify keeps Presentation fingerprints (dir_watch.h) */
	char *media_accel_location; /* nginx internal location for X-Accel-Redirect, "" = off */
	int default_version;     /* IIIF version on /iiif/{id}/...: 2 or 3 */
	char *rights;            /* info.json "rights" (3.0) / "license" (2.1) */
	int deepzoom_overlap;    /* DeepZoom tile overlap in pixels */
	char *viewer_dir;        /* directory with the viewer page and OpenSeadragon */
	char *viewer;            /* "auto", "on" or "off": the viewer page and /images.json */
	/* process */
	int threads;             /* worker threads, 0 = number of cores */
	uint64_t cache_size_mb;  /* MAX_IMAGE_CACHE_SIZE, megabytes */
	uint64_t decoded_cache_mb; /* decoded JPEG 2000 tiles shared by all workers, megabytes */
	int idle_trim_seconds;   /* freed memory back to the system after this idle; 0 = never */
	uint64_t auto_pyramid_min_pixels; /* flat sources this large get a pyramid; 0 = off */
	int auto_pyramid_jobs;   /* conversions running at once (nice 19) */
	char *pyramid_cache_dir; /* where on-demand pyramids are kept */
	uint64_t pyramid_cache_bytes; /* byte budget of pyramid_cache_dir (LRU) */
	char *memcached_servers; /* MEMCACHED_SERVERS: "host:port,..." shared cache, "" = none */
	char *logfile;           /* LOGFILE, "" = stderr */
	int verbosity;           /* VERBOSITY 0..5 */
	char *htj2k_decoder;     /* "openjph" or "openjpeg": tiles of tiled HTJ2K files */
	int workers;             /* worker processes; 1 = no master (front/workers.c) */
	char *access_log;        /* path, "stderr" or "off" (core/access_log.c) */
	char *access_log_format; /* "combined" or "json" */
	char *fastcgi_listen;    /* socket path or host:port; "" = none */
	int fastcgi_read_timeout; /* seconds to receive a whole request */
	char *http_listen;       /* host:port for the embedded HTTP server; "" = none */
	int http_max_connections; /* embedded server: connections open at once */
	int http_per_client;     /* embedded server: connections from one client address */
	int http_header_timeout; /* embedded server: seconds for a request head to arrive */
	int http_idle_timeout;   /* embedded server: seconds a kept-alive connection may wait */
	char *config_file;       /* the config file read, or "" */
};

/* Fill s with the defaults. */
void ts_settings_defaults(struct ts_settings *s);

/*
 * Load settings: defaults, then the config file named by --config FILE or
 * TESSERA_CONFIG, then the environment (TESSERA_* names and iipsrv's names),
 * then argv flags (--name value or --name=value; argv[0] and any leading
 * subcommand have been removed by the caller).  On a bad value writes one
 * line to err->msg naming where it came from (file:line, variable or flag)
 * and what was expected.  Returns 400 on such errors.
 * Sets *want_help when --help was given.
 */
ts_status ts_settings_load(struct ts_settings *s, int argc, char **argv,
                           bool *want_help, struct ts_error *err);

/* Print --help text (every setting: flag, env, default, range, doc). */
void ts_settings_help(FILE *out);
/* Write the effective settings, one per line, to the log. */
void ts_settings_log(const struct ts_settings *s);
/* Print a complete, commented config file for the settings in s: every
 * setting with its documentation, default, range and environment names;
 * values equal to the default are left commented out (`tessera config`). */
void ts_settings_write_config(FILE *out, const struct ts_settings *s);
/* Print the settings section of tessera.conf(5) as roff (.TP entries). */
void ts_settings_write_man(FILE *out);
/* The number of worker threads each front end runs: the threads setting,
 * or when it is 0 four per online CPU (at least 4), at most 256. */
int ts_settings_worker_threads(const struct ts_settings *s);
/* settings_check.c.  The syntax of the addresses (http_listen,
 * fastcgi_listen: address.h), memcached_servers and base_url: 400 with one
 * sentence naming the setting, so serve exits 2 before starting. */
ts_status ts_settings_validate(const struct ts_settings *s, struct ts_error *err);
/* `tessera config --check`: ts_settings_validate, then what serve needs
 * from the system (root a readable directory, logfile writable); one line
 * per problem to out ("tessera: ..."; a missing viewer is a warning line).
 * Returns the number of problems. */
int ts_settings_check(const struct ts_settings *s, FILE *out);
/* Where viewer_dir is: an absolute path as given; a relative one next to
 * the program (an uninstalled build), in PREFIX/share/tessera/ beside
 * PREFIX/bin/tessera, or in the configured data directory - never the
 * working directory.  Writes the real path to out (n >= PATH_MAX);
 * false when viewer_dir is empty or not a directory there. */
bool ts_settings_viewer_path(const struct ts_settings *s, char *out, size_t n);
/* Free strings owned by s (s stays valid to reload). Accepts NULL.  Call it
 * after ts_settings_load even when the load failed. */
void ts_settings_free(struct ts_settings *s);

#endif
