/*
 * settings.c - every setting of the daemon, from one table.
 *
 * Settings are read once at startup: defaults, then the config file (--config
 * FILE or TESSERA_CONFIG), then the environment (TESSERA_* names, and the
 * names iipsrv uses for the same thing, so an iipsrv deployment can switch
 * over without renaming its variables), then command-line flags.
 *
 * The one idea: a single static table lists each setting once - config key,
 * flag, environment names, type, default, range, one sentence of
 * documentation and the offsetof() of its field in struct ts_settings.  The
 * defaults go through the same parser as every other source, and --help,
 * the startup log, `tessera config` and the man page section are all printed
 * from that table, so they cannot drift apart.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "tessera/log.h"
#include "tessera/settings.h"

enum setting_type { SET_STRING, SET_INT, SET_UINT64, SET_BOOL };

/* Where a setting may come from, beyond flags (every setting has a flag). */
#define IN_FILE 1   /* may appear in the config file */

struct setting {
	const char *name;      /* config key; the flag is --name with '_' -> '-' */
	const char *flag;      /* an extra, shorter flag name, or NULL */
	const char *env;       /* TESSERA_* variable */
	const char *iip_env;   /* iipsrv's variable with the same meaning, or NULL */
	enum setting_type type;
	const char *def;       /* default, as text, parsed like any other source */
	uint64_t min, max;     /* inclusive range for numbers */
	int where;             /* IN_FILE or 0 */
	size_t offset;         /* into struct ts_settings */
	const char *doc;       /* one sentence */
};

#define OFF(f) offsetof(struct ts_settings, f)

static const struct setting table[] = {
	{ "root", NULL, "TESSERA_ROOT", "FILESYSTEM_PREFIX", SET_STRING, "", 0, 0, IN_FILE,
	  OFF(root), "Directory holding the images; every identifier is resolved inside it "
	  "(required to serve)." },
	{ "suffixes", NULL, "TESSERA_SUFFIXES", "FILESYSTEM_SUFFIX", SET_STRING,
	  ".tif,.tiff,.ptif,.jp2,.jph,.j2k,.j2c,.jhc,.jpg,.jpeg,.png", 0, 0, IN_FILE, OFF(suffixes),
	  "Comma-separated file suffixes tried after the identifier when no file has its exact "
	  "name (a single suffix, as iipsrv takes it, works too)." },
	{ "jpeg_quality", NULL, "TESSERA_JPEG_QUALITY", "JPEG_QUALITY", SET_INT, "75", 1, 100,
	  IN_FILE, OFF(jpeg_quality), "Quality of JPEG output." },
	{ "webp_quality", NULL, "TESSERA_WEBP_QUALITY", NULL, SET_INT, "80", 1, 100, IN_FILE,
	  OFF(webp_quality), "Quality of lossy WebP output." },
	{ "png_level", NULL, "TESSERA_PNG_LEVEL", NULL, SET_INT, "6", 0, 9, IN_FILE,
	  OFF(png_level), "zlib compression level of PNG output (0 fastest, 9 smallest)." },
	{ "max_width", NULL, "TESSERA_MAX_WIDTH", "MAX_CVT", SET_INT, "10000", 1, 65535, IN_FILE,
	  OFF(max_width), "Widest image the server will produce; advertised as maxWidth "
	  "(iipsrv's MAX_CVT sets both width and height)." },
	{ "max_height", NULL, "TESSERA_MAX_HEIGHT", "MAX_CVT", SET_INT, "10000", 1, 65535,
	  IN_FILE, OFF(max_height), "Tallest image the server will produce; advertised as "
	  "maxHeight." },
	{ "max_area", NULL, "TESSERA_MAX_AREA", NULL, SET_UINT64, "25000000", 0, UINT64_MAX,
	  IN_FILE, OFF(max_area), "Most pixels in one output image, advertised as maxArea "
	  "(0 = no limit beyond max_width x max_height)." },
	{ "allow_upscaling", NULL, "TESSERA_ALLOW_UPSCALING", "ALLOW_UPSCALING", SET_BOOL, "true",
	  0, 1, IN_FILE, OFF(allow_upscaling), "Whether sizes larger than the region may be "
	  "requested (IIIF 3.0 '^' sizes, 2.1 larger sizes)." },
	{ "passthrough", NULL, "TESSERA_PASSTHROUGH", NULL, SET_BOOL, "true", 0, 1, IN_FILE,
	  OFF(passthrough), "Answer a JPEG request that maps exactly onto a stored JPEG tile with "
	  "the stored bytes (edge tiles cut losslessly), keeping the source's quality; false "
	  "re-encodes every tile at jpeg_quality." },
	{ "max_decode_pixels", NULL, "TESSERA_MAX_DECODE_PIXELS", NULL, SET_UINT64, "268435456",
	  1, UINT64_MAX, IN_FILE, OFF(max_decode_pixels), "Most source pixels one request may "
	  "decode; larger requests get 403 instead of stalling a worker." },
	{ "max_render_seconds", NULL, "TESSERA_MAX_RENDER_SECONDS", NULL, SET_INT, "10", 0, 3600,
	  IN_FILE, OFF(max_render_seconds), "Longest time one image may take to decode, shape "
	  "and encode, checked between tiles and bands of rows; past it the render stops, frees "
	  "its memory and answers 503 with Retry-After; a large render waits at most twice this "
	  "in the queue (0 = no limit)." },
	{ "max_heavy_renders", NULL, "TESSERA_MAX_HEAVY_RENDERS", NULL, SET_INT, "0", 0, 256,
	  IN_FILE, OFF(max_heavy_renders), "Large renders (about a megapixel or more decoded "
	  "plus produced) that run at once, on low-priority threads so that tiles, cache hits "
	  "and info.json never wait behind them (0 = one per CPU core)." },
	{ "max_heavy_queue", NULL, "TESSERA_MAX_HEAVY_QUEUE", NULL, SET_INT, "4", 0, 4096,
	  IN_FILE, OFF(max_heavy_queue), "Large renders that may wait for a start; more are "
	  "answered 503 with Retry-After at once (kept below the worker threads less "
	  "max_heavy_renders, so that some workers are always free for cheap requests)." },
	{ "max_render_memory_mb", NULL, "TESSERA_MAX_RENDER_MEMORY_MB", NULL, SET_UINT64, "1024",
	  0, 1048576, IN_FILE, OFF(max_render_memory_mb), "Memory the large renders running "
	  "at once may hold together, in megabytes, by each one's estimate reserved before it "
	  "starts; a render that does not fit waits, one larger than all of it gets 403 "
	  "(0 = no limit)." },
	{ "max_source_pixels", NULL, "TESSERA_MAX_SOURCE_PIXELS", NULL, SET_UINT64,
	  "10000000000", 1, UINT64_MAX, IN_FILE, OFF(max_source_pixels), "Images declaring more "
	  "pixels than this are refused before anything is decoded." },
	{ "cors", NULL, "TESSERA_CORS", "CORS", SET_STRING, "*", 0, 0, IN_FILE, OFF(cors),
	  "Value of Access-Control-Allow-Origin on every answer (empty = no CORS headers)." },
	{ "base_url", NULL, "TESSERA_BASE_URL", "BASE_URL", SET_STRING, "", 0, 0, IN_FILE,
	  OFF(base_url), "Public URL prefix used to build ids in info.json, e.g. "
	  "https://images.example.org (empty = from the request's Host)." },
	{ "trust_forwarded", NULL, "TESSERA_TRUST_FORWARDED", NULL, SET_BOOL, "false", 0, 1,
	  IN_FILE, OFF(trust_forwarded), "Whether X-Forwarded-Host and X-Forwarded-Proto may "
	  "change the ids in info.json (only behind a proxy that sets them)." },
	{ "allowed_hosts", NULL, "TESSERA_ALLOWED_HOSTS", NULL, SET_STRING, "", 0, 0, IN_FILE,
	  OFF(allowed_hosts), "With base_url empty: comma-separated host names (name, or "
	  "name:port for one port only) the ids in info.json, Manifests and redirects may be "
	  "built from; a request whose Host (or trusted X-Forwarded-Host) is not one of them "
	  "gets ids on the first (empty = any Host; set base_url or this on a public server)." },
	{ "cache_control", NULL, "TESSERA_CACHE_CONTROL", "CACHE_CONTROL", SET_STRING,
	  "max-age=86400", 0, 0, IN_FILE, OFF(cache_control),
	  "Cache-Control header on successful answers (empty = none)." },
	{ "presentation_watch", NULL, "TESSERA_PRESENTATION_WATCH", NULL, SET_BOOL, "true", 0, 1,
	  IN_FILE, OFF(presentation_watch), "Keep the fingerprints of the folders behind cached "
	  "Presentation answers while inotify reports no change in them, instead of reading "
	  "every folder again on each request (false = read them every time; roots on network "
	  "file systems are always read)." },
	{ "media_accel_location", NULL, "TESSERA_MEDIA_ACCEL_LOCATION", NULL, SET_STRING, "", 0,
	  0, IN_FILE, OFF(media_accel_location), "FastCGI behind nginx: the nginx internal "
	  "location that serves the image root (e.g. /tessera-media, see "
	  "conf/nginx-tessera.conf); media files under /iiif/{item}/res/ are then answered with "
	  "X-Accel-Redirect and sent by nginx with sendfile and Range (empty = Tessera sends "
	  "them itself)." },
	{ "default_version", NULL, "TESSERA_DEFAULT_VERSION", NULL, SET_INT, "3", 2, 3, IN_FILE,
	  OFF(default_version), "IIIF Image API version answered on /iiif/{id}/... when the URL "
	  "does not name one." },
	{ "rights", NULL, "TESSERA_RIGHTS", NULL, SET_STRING, "", 0, 0, IN_FILE, OFF(rights),
	  "Rights URL put in info.json (rights in 3.0, license in 2.1; empty = omitted)." },
	{ "deepzoom_overlap", NULL, "TESSERA_DEEPZOOM_OVERLAP", NULL, SET_INT, "1", 0, 64, IN_FILE,
	  OFF(deepzoom_overlap), "Pixels each DeepZoom tile shares with its neighbours (0 lets "
	  "DeepZoom tiles map onto stored tiles and pass through)." },
	{ "viewer", NULL, "TESSERA_VIEWER", NULL, SET_STRING, "auto", 0, 0, IN_FILE, OFF(viewer),
	  "Serve the viewer page at /, its files under /viewer/ and the list of images it reads "
	  "at /images.json: on, off, or auto (on for the embedded HTTP server, off for requests "
	  "through FastCGI, since the list names every image under the root)." },
	{ "viewer_dir", NULL, "TESSERA_VIEWER_DIR", NULL, SET_STRING, "viewer", 0, 0, IN_FILE,
	  OFF(viewer_dir), "Directory with the built-in viewer page and OpenSeadragon, served "
	  "at /; a relative one is looked up next to the program, then in "
	  "PREFIX/share/tessera/, never in the working directory (empty = no viewer)." },
	{ "htj2k_decoder", NULL, "TESSERA_HTJ2K_DECODER", NULL, SET_STRING, "openjph", 0, 0,
	  IN_FILE, OFF(htj2k_decoder), "Decoder of the tiles of tiled HTJ2K files: openjph "
	  "(several times less CPU; used only when Tessera was built with OpenJPH) or openjpeg; "
	  "with workers >= 2, a file that crashes a worker is quarantined: OpenJPEG only, then "
	  "refused (tessera(8), DECODER CRASHES)." },
	{ "threads", NULL, "TESSERA_THREADS", NULL, SET_INT, "0", 0, 256, IN_FILE, OFF(threads),
	  "Worker threads per front end (0 = four per CPU core, at least 4: more "
	  "workers than cores so that tiles never queue behind slow requests)." },
	{ "cache_size_mb", "cache-size", "TESSERA_CACHE_SIZE_MB", "MAX_IMAGE_CACHE_SIZE",
	  SET_UINT64, "256", 0, 1048576, IN_FILE, OFF(cache_size_mb),
	  "Memory for cached tiles and image headers, in megabytes (0 = no cache)." },
	{ "decoded_cache_mb", NULL, "TESSERA_DECODED_CACHE_MB", NULL, SET_UINT64, "128", 0,
	  1048576, IN_FILE, OFF(decoded_cache_mb), "Memory for decoded JPEG 2000 code-stream "
	  "tiles shared by all workers, so the neighbouring tiles a viewer asks for decode "
	  "once, and for the decoders kept open for untiled JPEG 2000 files (at most half), "
	  "in megabytes (0 = decode each request's window on a fresh decoder)." },
	{ "idle_trim_seconds", NULL, "TESSERA_IDLE_TRIM_SECONDS", NULL, SET_INT, "30", 0, 86400,
	  IN_FILE, OFF(idle_trim_seconds), "Seconds without a request after which the memory "
	  "that decodes freed (kept for reuse while requests come) is returned to the system, "
	  "so that an idle server shrinks back to its caches (0 = never)." },
	{ "auto_pyramid_min_pixels", NULL, "TESSERA_AUTO_PYRAMID_MIN_PIXELS", NULL, SET_UINT64,
	  "0", 0, UINT64_MAX, IN_FILE, OFF(auto_pyramid_min_pixels), "Flat images (plain JPEG "
	  "or PNG, striped or single-level TIFF) of at least this many pixels are converted in "
	  "the background to a tiled pyramidal TIFF in pyramid_cache_dir, which later requests "
	  "for the same identifier read instead; the first requests are answered from the flat "
	  "file (0 = off)." },
	{ "auto_pyramid_jobs", NULL, "TESSERA_AUTO_PYRAMID_JOBS", NULL, SET_INT, "1", 1, 64,
	  IN_FILE, OFF(auto_pyramid_jobs), "On-demand pyramid conversions running at once, each "
	  "on one thread at nice 19." },
	{ "pyramid_cache_dir", NULL, "TESSERA_PYRAMID_CACHE_DIR", NULL, SET_STRING, "", 0, 0,
	  IN_FILE, OFF(pyramid_cache_dir), "Directory of the on-demand pyramids, created if "
	  "missing and scanned at start (required when auto_pyramid_min_pixels is set)." },
	{ "pyramid_cache_bytes", NULL, "TESSERA_PYRAMID_CACHE_BYTES", NULL, SET_UINT64,
	  "10737418240", 0, UINT64_MAX, IN_FILE, OFF(pyramid_cache_bytes), "Most bytes of "
	  "pyramids kept in pyramid_cache_dir; past it the least recently used are removed "
	  "(a pyramid larger than all of it is not kept)." },
	{ "workers", NULL, "TESSERA_WORKERS", NULL, SET_INT, "1", 1, 64, IN_FILE, OFF(workers),
	  "Worker processes: 1 serves in this one process; more starts a master that opens the "
	  "listening sockets, forks this many workers sharing them (each with its threads and "
	  "its own response cache), replaces a worker that dies, re-reads the configuration on "
	  "SIGHUP without dropping a connection and drains them on SIGTERM." },
	{ "access_log", NULL, "TESSERA_ACCESS_LOG", NULL, SET_STRING, "off", 0, 0, IN_FILE,
	  OFF(access_log), "Where to write one line per request: a file path (appended to, "
	  "reopened on SIGHUP), stderr, or off." },
	{ "access_log_format", NULL, "TESSERA_ACCESS_LOG_FORMAT", NULL, SET_STRING, "combined", 0,
	  0, IN_FILE, OFF(access_log_format), "Access log lines: combined (nginx's combined "
	  "format followed by the duration in seconds and the cache outcome) or json (one JSON "
	  "object per line)." },
	{ "memcached_servers", NULL, "TESSERA_MEMCACHED_SERVERS", "MEMCACHED_SERVERS", SET_STRING,
	  "", 0, 0, IN_FILE, OFF(memcached_servers), "Comma-separated memcached servers "
	  "(host:port, [v6addr]:port or /socket/path) sharing encoded responses between Tessera "
	  "instances, e.g. 127.0.0.1:11211,10.0.0.2:11211 (empty = no shared cache)." },
	{ "logfile", NULL, "TESSERA_LOGFILE", "LOGFILE", SET_STRING, "", 0, 0, IN_FILE,
	  OFF(logfile), "File the log is appended to (empty = standard error: the journal under "
	  "systemd, Apache's main ErrorLog under mod_fcgid)." },
	{ "verbosity", NULL, "TESSERA_VERBOSITY", "VERBOSITY", SET_INT, "3", 0, 5, IN_FILE,
	  OFF(verbosity), "How much to log: 0 nothing, 1 errors, 2 warnings, 3 also one line at "
	  "start and stop and notices, 4 also one line per request (status, method, target, "
	  "time), 5 also debugging detail (every setting at start, the reason of each 4xx)." },
	{ "fastcgi_listen", "fastcgi", "TESSERA_FASTCGI_LISTEN", NULL, SET_STRING, "", 0, 0,
	  IN_FILE, OFF(fastcgi_listen), "FastCGI socket to listen on: a Unix socket path or "
	  "host:port, port 1 to 65535 (empty = none, or standard input when started by "
	  "spawn-fcgi/mod_fcgid)." },
	{ "fastcgi_read_timeout", NULL, "TESSERA_FASTCGI_READ_TIMEOUT", NULL, SET_INT, "10", 1,
	  3600, IN_FILE, OFF(fastcgi_read_timeout), "Seconds a FastCGI connection may take to "
	  "send its whole request (or, kept open, the next one) before it is closed; requests "
	  "are read apart from the worker threads, so idle connections never hold a worker." },
	{ "http_listen", "http", "TESSERA_HTTP_LISTEN", NULL, SET_STRING, "", 0, 0, IN_FILE,
	  OFF(http_listen), "Address of the embedded HTTP server, host:port such as "
	  "127.0.0.1:8080 or [::1]:8080; :8080 or 8080 alone listens on every interface "
	  "(empty = none)." },
	{ "http_max_connections", NULL, "TESSERA_HTTP_MAX_CONNECTIONS", NULL, SET_INT, "1024", 16,
	  1000000, IN_FILE, OFF(http_max_connections), "Embedded HTTP server: connections open "
	  "at once; when all are taken a new one replaces the oldest connection that is only "
	  "waiting on its client." },
	{ "http_per_client", NULL, "TESSERA_HTTP_PER_CLIENT", NULL, SET_INT, "64", 1, 1000000,
	  IN_FILE, OFF(http_per_client), "Embedded HTTP server: connections one client address "
	  "may hold open; more are answered 503 and closed (a browser opens 6)." },
	{ "http_header_timeout", NULL, "TESSERA_HTTP_HEADER_TIMEOUT", NULL, SET_INT, "10", 1, 3600,
	  IN_FILE, OFF(http_header_timeout), "Embedded HTTP server: seconds within which a "
	  "request's head (and any body) must arrive, counted from its first byte and not "
	  "extended by each byte that trickles in." },
	{ "http_idle_timeout", NULL, "TESSERA_HTTP_IDLE_TIMEOUT", NULL, SET_INT, "15", 1, 3600,
	  IN_FILE, OFF(http_idle_timeout), "Embedded HTTP server: seconds a kept-alive connection "
	  "may wait for its next request, and an answer may wait for the client to read it." },
	{ "config_file", "config", "TESSERA_CONFIG", NULL, SET_STRING, "", 0, 0, 0,
	  OFF(config_file), "Config file read before the environment and the flags." },
};

#define NSETTINGS (sizeof table / sizeof table[0])

/* Startup-time allocation: there is nothing useful to do without memory. */
static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d) {
		fputs("tessera: out of memory reading settings\n", stderr);
		abort();
	}
	return d;
}

static void trim(char **start, char **end)
{
	while (*start < *end && isspace((unsigned char)**start))
		(*start)++;
	while (*end > *start && isspace((unsigned char)(*end)[-1]))
		(*end)--;
}

static bool parse_bool(const char *v, bool *out)
{
	static const char *yes[] = { "1", "true", "yes", "on" };
	static const char *no[] = { "0", "false", "no", "off" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* Strict unsigned parse: digits only (surrounding spaces allowed), no sign. */
static bool parse_u64(const char *v, uint64_t *out)
{
	char *end;
	unsigned long long n;

	while (isspace((unsigned char)*v))
		v++;
	if (!isdigit((unsigned char)*v))
		return false;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno == ERANGE)
		return false;
	while (isspace((unsigned char)*end))
		end++;
	if (*end)
		return false;
	*out = n;
	return true;
}

static void expected(const struct setting *t, char *buf, size_t n)
{
	switch (t->type) {
	case SET_BOOL:
		snprintf(buf, n, "true/false, yes/no, on/off or 1/0");
		break;
	case SET_INT:
	case SET_UINT64:
		if (t->max == UINT64_MAX)
			snprintf(buf, n, "an integer of at least %" PRIu64, t->min);
		else
			snprintf(buf, n, "an integer from %" PRIu64 " to %" PRIu64, t->min, t->max);
		break;
	default:
		snprintf(buf, n, "a string");
		break;
	}
}

/*
 * Store text v into the field of t.  `where` names the source for the error
 * message ("--max-width", "TESSERA_CORS", "/etc/tessera.conf:12").
 */
static ts_status set_value(struct ts_settings *s, const struct setting *t, const char *v,
                           const char *where, struct ts_error *err)
{
	char *field = (char *)s + t->offset;
	char want[96];
	uint64_t n;
	bool b;

	switch (t->type) {
	case SET_STRING: {
		char **sp = (char **)(void *)field;
		char *copy;

		if (t->offset == OFF(viewer)) {
			if (parse_bool(v, &b))
				v = b ? "on" : "off";
			else if (strcmp(v, "auto") != 0)
				return ts_error_set(err, TS_EBADREQUEST,
				                    "%s: expected on, off or auto, got '%.60s'", where, v);
		}
		if (t->offset == OFF(htj2k_decoder) && strcmp(v, "openjph") != 0 &&
		    strcmp(v, "openjpeg") != 0)
			return ts_error_set(err, TS_EBADREQUEST,
			                    "%s: expected openjph or openjpeg, got '%.60s'", where, v);
		copy = xstrdup(v);

		/* ids in info.json are built as base_url + "/iiif/...": one slash. */
		if (t->offset == OFF(base_url)) {
			size_t len = strlen(copy);
			while (len > 0 && copy[len - 1] == '/')
				copy[--len] = '\0';
		}
		free(*sp);
		*sp = copy;
		return TS_OK;
	}
	case SET_BOOL:
		if (!parse_bool(v, &b))
			goto bad;
		*(bool *)(void *)field = b;
		return TS_OK;
	case SET_INT:
	case SET_UINT64:
		if (!parse_u64(v, &n) || n < t->min || n > t->max)
			goto bad;
		if (t->type == SET_UINT64)
			*(uint64_t *)(void *)field = n;
		else if (t->offset == OFF(max_width) || t->offset == OFF(max_height))
			*(uint32_t *)(void *)field = (uint32_t)n;
		else
			*(int *)(void *)field = (int)n;
		return TS_OK;
	}
bad:
	expected(t, want, sizeof want);
	return ts_error_set(err, TS_EBADREQUEST, "%s: expected %s, got '%.60s'", where, want, v);
}

/* Current value of a setting as text, into buf. */
static const char *format_value(const struct ts_settings *s, const struct setting *t,
                                char *buf, size_t n)
{
	const char *field = (const char *)s + t->offset;

	switch (t->type) {
	case SET_STRING: {
		const char *v = *(char *const *)(const void *)field;
		return v ? v : "";
	}
	case SET_BOOL:
		return *(const bool *)(const void *)field ? "true" : "false";
	case SET_UINT64:
		snprintf(buf, n, "%" PRIu64, *(const uint64_t *)(const void *)field);
		return buf;
	case SET_INT:
		if (t->offset == OFF(max_width) || t->offset == OFF(max_height))
			snprintf(buf, n, "%" PRIu32, *(const uint32_t *)(const void *)field);
		else
			snprintf(buf, n, "%d", *(const int *)(const void *)field);
		return buf;
	}
	return "";
}

static void flag_name(const struct setting *t, char *buf, size_t n)
{
	size_t i;

	for (i = 0; t->name[i] && i + 1 < n; i++)
		buf[i] = t->name[i] == '_' ? '-' : t->name[i];
	buf[i] = '\0';
}

/* The setting a flag names: --kebab-name, --snake_name or the short alias. */
static const struct setting *find_flag(const char *name, size_t len)
{
	char want[64];

	if (len == 0 || len >= sizeof want)
		return NULL;
	for (size_t i = 0; i < len; i++)
		want[i] = name[i] == '_' ? '-' : name[i];
	want[len] = '\0';
	for (size_t i = 0; i < NSETTINGS; i++) {
		char f[64];
		flag_name(&table[i], f, sizeof f);
		if (strcmp(f, want) == 0 || (table[i].flag && strcmp(table[i].flag, want) == 0))
			return &table[i];
	}
	return NULL;
}

static const struct setting *find_key(const char *key)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (strcmp(table[i].name, key) == 0)
			return &table[i];
	return NULL;
}

void ts_settings_defaults(struct ts_settings *s)
{
	memset(s, 0, sizeof *s);
	for (size_t i = 0; i < NSETTINGS; i++)
		/* Defaults are known-good; a failure here is a bug in the table. */
		if (set_value(s, &table[i], table[i].def, "default", NULL) != TS_OK) {
			fprintf(stderr, "tessera: bad default for %s\n", table[i].name);
			abort();
		}
}

void ts_settings_free(struct ts_settings *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < NSETTINGS; i++)
		if (table[i].type == SET_STRING) {
			char **sp = (char **)(void *)((char *)s + table[i].offset);
			free(*sp);
			*sp = NULL;
		}
}

/*
 * The config file: `key = value` lines, '#' comments on their own lines or
 * after a value (a '#' preceded by a space or tab), blank lines.  A value
 * may be wrapped in double quotes to keep leading or trailing spaces, a
 * " #", or to write an empty string explicitly.
 */
static ts_status load_file(struct ts_settings *s, const char *path, struct ts_error *err)
{
	char line[4096], where[320];
	ts_status st = TS_OK;
	int lineno = 0;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return ts_error_set(err, TS_EBADREQUEST, "cannot read config file %.200s: %s",
		                    path, strerror(errno));
	while (fgets(line, sizeof line, f)) {
		char *p = line, *end = line + strlen(line), *eq, *k, *kend, *v, *vend;
		const struct setting *t;

		lineno++;
		snprintf(where, sizeof where, "%.200s:%d", path, lineno);
		if (end > line && end[-1] != '\n' && !feof(f)) {
			st = ts_error_set(err, TS_EBADREQUEST, "%s: line longer than %zu bytes",
			                  where, sizeof line - 2);
			goto fail;
		}
		trim(&p, &end);
		*end = '\0';
		if (*p == '\0' || *p == '#')
			continue;
		eq = strchr(p, '=');
		if (!eq) {
			st = ts_error_set(err, TS_EBADREQUEST, "%s: expected 'key = value', got '%.60s'",
			                  where, p);
			goto fail;
		}
		k = p;
		kend = eq;
		trim(&k, &kend);
		*kend = '\0';
		v = eq + 1;
		vend = end;
		trim(&v, &vend);
		if (*v == '"') {
			/* "quoted", then nothing but an optional # comment */
			char *q = strchr(v + 1, '"'), *rest;

			if (!q) {
				st = ts_error_set(err, TS_EBADREQUEST, "%s: no closing '\"'", where);
				goto fail;
			}
			rest = q + 1;
			while (rest < vend && isspace((unsigned char)*rest))
				rest++;
			if (rest < vend && *rest != '#') {
				st = ts_error_set(err, TS_EBADREQUEST, "%s: text after the closing '\"' "
				                  "(only a # comment may follow)", where);
				goto fail;
			}
			v++;
			vend = q;
		} else {
			/* a '#' after a space or tab starts a trailing comment */
			for (char *c = v; c < vend; c++)
				if (*c == '#' && c > v && (c[-1] == ' ' || c[-1] == '\t')) {
					vend = c;
					break;
				}
			trim(&v, &vend);
		}
		*vend = '\0';
		t = find_key(k);
		if (!t || !(t->where & IN_FILE)) {
			st = ts_error_set(err, TS_EBADREQUEST, "%s: unknown setting '%.60s' "
			                  "(tessera --help lists them)", where, k);
			goto fail;
		}
		st = set_value(s, t, v, where, err);
		if (st != TS_OK)
			goto fail;
	}
	if (ferror(f))
		st = ts_error_set(err, TS_EBADREQUEST, "error reading config file %.200s", path);
fail:
	fclose(f);
	return st;
}

/*
 * The environment: TESSERA_* wins over iipsrv's name when both are set.  An
 * empty variable sets an empty string, but is ignored for numbers and
 * booleans (launchers often export empty variables): then iipsrv's name,
 * if set, counts, as if the empty one were not there.
 */
static ts_status load_env(struct ts_settings *s, struct ts_error *err)
{
	for (size_t i = 0; i < NSETTINGS; i++) {
		const struct setting *t = &table[i];
		const char *name = t->env, *v;

		if (t->offset == OFF(config_file))
			continue;  /* read before the file, in ts_settings_load */
		v = getenv(name);
		if ((!v || (!*v && t->type != SET_STRING)) && t->iip_env && getenv(t->iip_env)) {
			name = t->iip_env;
			v = getenv(name);
		}
		if (!v || (!*v && t->type != SET_STRING))
			continue;
		if (set_value(s, t, v, name, err) != TS_OK)
			return TS_EBADREQUEST;
	}
	return TS_OK;
}

/*
 * One flag at argv[*i]: --name value, --name=value, and for booleans a bare
 * --name (true) or --no-name (false).
 */
static ts_status load_flag(struct ts_settings *s, int argc, char **argv, int *i,
                           bool *want_help, struct ts_error *err)
{
	const char *arg = argv[*i], *name, *eq, *v;
	const struct setting *t;
	char where[80];
	size_t len;
	bool negate = false;

	if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
		*want_help = true;
		return TS_OK;
	}
	if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
		return ts_error_set(err, TS_EBADREQUEST, "unexpected argument '%.60s' "
		                    "(settings are given as --name value)", arg);
	name = arg + 2;
	eq = strchr(name, '=');
	len = eq ? (size_t)(eq - name) : strlen(name);
	t = find_flag(name, len);
	if (!t && len > 3 && (strncmp(name, "no-", 3) == 0 || strncmp(name, "no_", 3) == 0)) {
		t = find_flag(name + 3, len - 3);
		if (t && t->type == SET_BOOL && !eq)
			negate = true;
		else
			t = NULL;
	}
	if (!t)
		return ts_error_set(err, TS_EBADREQUEST, "unknown option '--%.*s' "
		                    "(tessera --help lists them)", (int)(len > 60 ? 60 : len), name);
	snprintf(where, sizeof where, "--%.*s", (int)(len > 60 ? 60 : len), name);
	if (negate)
		return set_value(s, t, "false", where, err);
	if (eq) {
		v = eq + 1;
	} else if (t->type == SET_BOOL) {
		bool b;
		/* A bare boolean flag means true; take the next word only if it is one. */
		if (*i + 1 < argc && parse_bool(argv[*i + 1], &b))
			v = argv[++*i];
		else
			v = "true";
	} else {
		if (*i + 1 >= argc)
			return ts_error_set(err, TS_EBADREQUEST, "%s: missing value", where);
		v = argv[++*i];
	}
	return set_value(s, t, v, where, err);
}

ts_status ts_settings_load(struct ts_settings *s, int argc, char **argv,
                           bool *want_help, struct ts_error *err)
{
	const struct setting *cfg = find_key("config_file");
	const char *path = NULL;
	char where[80] = "TESSERA_CONFIG";
	bool help = false;
	ts_status st;

	ts_settings_defaults(s);
	if (want_help)
		*want_help = false;

	/* The file comes first in precedence but is named by a flag or variable:
	 * find it before anything else (the last --config wins). */
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *eq;
		const struct setting *t;

		if (strncmp(a, "--", 2) != 0)
			continue;
		eq = strchr(a + 2, '=');
		t = find_flag(a + 2, eq ? (size_t)(eq - (a + 2)) : strlen(a + 2));
		if (t == cfg) {
			if (eq) {
				path = eq + 1;
			} else if (i + 1 < argc) {
				path = argv[++i];
			} else {
				return ts_error_set(err, TS_EBADREQUEST, "%.60s: missing value", a);
			}
			snprintf(where, sizeof where, "%.60s", a);
			if (eq && (size_t)(eq - a) < sizeof where)
				where[eq - a] = '\0';
		} else if (t && t->type != SET_BOOL && !eq) {
			i++;   /* skip its value, so "--rights --config" is not misread */
		}
	}
	if (!path)
		path = getenv("TESSERA_CONFIG");
	if (path && *path) {
		if (set_value(s, cfg, path, where, err) != TS_OK)
			return TS_EBADREQUEST;
		st = load_file(s, path, err);
		if (st != TS_OK)
			return st;
	}
	st = load_env(s, err);
	if (st != TS_OK)
		return st;
	for (int i = 0; i < argc; i++) {
		st = load_flag(s, argc, argv, &i, &help, err);
		if (st != TS_OK)
			return st;
	}
	if (want_help)
		*want_help = help;
	return TS_OK;
}

static void range_text(const struct setting *t, char *buf, size_t n)
{
	buf[0] = '\0';
	if (t->type == SET_BOOL)
		snprintf(buf, n, "true/false");
	else if ((t->type == SET_INT || t->type == SET_UINT64) && t->max == UINT64_MAX)
		snprintf(buf, n, "%" PRIu64 " or more", t->min);
	else if (t->type == SET_INT || t->type == SET_UINT64)
		snprintf(buf, n, "%" PRIu64 "..%" PRIu64, t->min, t->max);
}

static void env_text(const struct setting *t, char *buf, size_t n)
{
	if (t->iip_env)
		snprintf(buf, n, "%s, %s", t->env, t->iip_env);
	else
		snprintf(buf, n, "%s", t->env);
}

/* Print text word-wrapped at 78 columns, each line starting with prefix. */
static void wrap(FILE *out, const char *prefix, const char *text)
{
	size_t col = 0, plen = strlen(prefix);

	while (*text) {
		size_t w = strcspn(text, " ");
		if (col == 0) {
			fputs(prefix, out);
			col = plen;
		} else if (col + 1 + w > 78) {
			fputc('\n', out);
			fputs(prefix, out);
			col = plen;
		} else {
			fputc(' ', out);
			col++;
		}
		fwrite(text, 1, w, out);
		col += w;
		text += w;
		while (*text == ' ')
			text++;
	}
	fputc('\n', out);
}

void ts_settings_help(FILE *out)
{
	fputs("Settings (config file key, flag, environment; lowest precedence first:\n"
	      "defaults, config file, environment, flags):\n\n", out);
	for (size_t i = 0; i < NSETTINGS; i++) {
		const struct setting *t = &table[i];
		char flag[64], env[96], range[64];

		flag_name(t, flag, sizeof flag);
		env_text(t, env, sizeof env);
		range_text(t, range, sizeof range);
		fprintf(out, "  --%s", flag);
		if (t->flag)
			fprintf(out, ", --%s", t->flag);
		fprintf(out, " %s\n", t->type == SET_BOOL ? "[BOOL]" : "VALUE");
		wrap(out, "      ", t->doc);
		fprintf(out, "      default: \"%s\"", t->def);
		if (range[0])
			fprintf(out, "; range: %s", range);
		fprintf(out, "; env: %s", env);
		if (t->where & IN_FILE)
			fprintf(out, "; file key: %s", t->name);
		fputs("\n\n", out);
	}
}

void ts_settings_log(const struct ts_settings *s)
{
	for (size_t i = 0; i < NSETTINGS; i++) {
		char buf[32];
		ts_log(TS_LOG_DEBUG, "setting %s = \"%s\"", table[i].name,
		       format_value(s, &table[i], buf, sizeof buf));
	}
}

/* Quote a value for the config file when spaces or emptiness would be lost. */
static void write_value(FILE *out, const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || isspace((unsigned char)v[0]) || isspace((unsigned char)v[n - 1]) ||
	    v[0] == '"')
		fprintf(out, "\"%s\"", v);
	else
		fputs(v, out);
}

void ts_settings_write_config(FILE *out, const struct ts_settings *s)
{
	fputs("# tessera.conf - configuration of the Tessera image server.\n"
	      "#\n"
	      "# Generated by `tessera config`; see tessera.conf(5).  Format: one\n"
	      "# `key = value` per line; '#' starts a comment (a line, or after a value\n"
	      "# and a space); a value may be put in double quotes (\"\" is an empty\n"
	      "# string).  Lines left commented out keep their default.  Environment\n"
	      "# variables override this file, and command-line flags override both;\n"
	      "# `tessera config --check --config FILE` checks a file as serve would.\n", out);
	for (size_t i = 0; i < NSETTINGS; i++) {
		const struct setting *t = &table[i];
		char buf[32], env[96], range[64], flag[64];
		const char *v;

		if (!(t->where & IN_FILE))
			continue;
		v = format_value(s, t, buf, sizeof buf);
		env_text(t, env, sizeof env);
		range_text(t, range, sizeof range);
		fputc('\n', out);
		wrap(out, "# ", t->doc);
		fputs("# default: ", out);
		write_value(out, t->def);
		if (range[0])
			fprintf(out, "; range: %s", range);
		flag_name(t, flag, sizeof flag);
		fprintf(out, "\n# flag: --%s; env: %s\n", t->flag ? t->flag : flag, env);
		/* Values equal to the default stay commented out, so a later change
		 * of default reaches operators who never chose one. */
		if (strcmp(v, t->def) == 0)
			fputs("#", out);
		fprintf(out, "%s = ", t->name);
		write_value(out, v);
		fputc('\n', out);
	}
}

/* roff text: a backslash is written \e; options get '\-' (a real minus, so
 * they can be copied and searched), prose hyphens stay '-'. */
static void man_text(FILE *out, const char *s, bool option)
{
	for (; *s; s++) {
		if (*s == '-' && option)
			fputs("\\-", out);
		else if (*s == '\\')
			fputs("\\e", out);
		else
			fputc(*s, out);
	}
}

void ts_settings_write_man(FILE *out)
{
	for (size_t i = 0; i < NSETTINGS; i++) {
		const struct setting *t = &table[i];
		char flag[64], env[96], range[64];

		flag_name(t, flag, sizeof flag);
		env_text(t, env, sizeof env);
		range_text(t, range, sizeof range);
		fputs(".TP\n.B ", out);
		man_text(out, t->name, false);
		fputs("\n", out);
		man_text(out, t->doc, false);
		fputs("\n.br\nFlag: \\fB\\-\\-", out);
		man_text(out, flag, true);
		fputs("\\fR", out);
		if (t->flag) {
			fputs(" or \\fB\\-\\-", out);
			man_text(out, t->flag, true);
			fputs("\\fR", out);
		}
		fputs("; environment: ", out);
		man_text(out, env, false);
		fputs(".\n.br\nDefault: \"", out);
		man_text(out, t->def, false);
		fputs("\"", out);
		if (range[0]) {
			fputs("; range: ", out);
			man_text(out, range, false);
		}
		fputs(".\n", out);
	}
}

int ts_settings_worker_threads(const struct ts_settings *s)
{
	long n = s->threads;

	if (n <= 0) {
		/* Workers mostly wait on the CPU-heavy ones; the heavy renders are
		 * gated separately (serve/image.c), so extra workers keep cheap
		 * requests flowing while a few large ones run. */
		n = sysconf(_SC_NPROCESSORS_ONLN);
		n = n > 0 ? 4 * n : 4;
		if (n < 4)
			n = 4;
	}
	return n > 256 ? 256 : (int)n;
}
