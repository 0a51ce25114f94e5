/*
 * convert.c - `tessera convert`: any image Tessera reads to a tiled
 * pyramid, from the command line (the work is src/convert/, convert.h).
 *
 *   tessera convert [OPTIONS] IN OUT
 *   tessera convert [OPTIONS] IN... -o DIR
 *
 * The one idea: the command is only parsing and reporting.  Every file is
 * one ts_convert_file call; many files run on several threads at once,
 * each with its share of the encoder threads and of --memory, and an
 * output newer than its input is skipped (make-style), so re-running over
 * a folder converts only what changed.  Exit 0 when everything converted
 * (or was up to date), 1 when a conversion failed, 2 on bad usage.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "convert.h"
#include "tessera/convert.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2
/* Images declaring more pixels are refused before anything is allocated
 * (the daemon's max_source_pixels default). */
#define DEFAULT_MAX_PIXELS 10000000000ull

enum progress_mode { PROGRESS_AUTO, PROGRESS_BAR, PROGRESS_JSON, PROGRESS_NONE };

static void usage(FILE *out)
{
	fputs("Usage: tessera convert [OPTIONS] IN OUT\n"
	      "       tessera convert [OPTIONS] IN... -o DIR\n"
	      "\n"
	      "Turns any image Tessera reads (JPEG, progressive JPEG, PNG, TIFF of any\n"
	      "layout and 8 or 16 bits, CMYK JPEG, JPEG 2000) into a tiled pyramid, in\n"
	      "bounded memory: the image is read once, top to bottom, and never held whole.\n"
	      "EXIF orientation is applied; ICC profile and resolution are kept.  The output\n"
	      "is written under a temporary name in its folder and renamed when complete.\n"
	      "With -o, every IN goes to DIR/NAME.tif (or the --format's suffix), several\n"
	      "files at once, and an output newer than its input is skipped.\n"
	      "\n"
	      "Options:\n"
	      "  --format KIND        tiff (default; also from OUT's suffix .tif/.tiff),\n"
	      "                       jp2, dzi, zoomify, iiif (when built in)\n"
	      "  --compression C      jpeg (default), deflate, webp, zstd\n"
	      "  --quality N          JPEG/WebP quality 1..100 (default 85)\n"
	      "  --444                JPEG tiles without chroma subsampling (default 4:2:0)\n"
	      "  --tile N             tile side, a multiple of 16 (default 256)\n"
	      "  --subifds            TIFF levels as SubIFDs of the first (default: pages)\n"
	      "  --overlap N          dzi: tile overlap in pixels (default 1)\n"
	      "  --base-url URL       iiif: the public URL of OUT's parent folder; the\n"
	      "                       image's id is URL/NAME (required for iiif)\n"
	      "  --iiif-id NAME       iiif: the identifier (default: OUT's folder name)\n"
	      "  --lossless           jp2: reversible 5/3 wavelet (default: 9/7 at a\n"
	      "                       PSNR of 25 + quality/5 dB)\n"
	      "  --jp2-levels N       jp2: resolution levels (default: down to one tile;\n"
	      "                       jp2 tiles default to 1024, iiif tiles to 512)\n"
	      "  --htj2k              jp2: HTJ2K (JPEG 2000 Part 15) through OpenJPH,\n"
	      "                       decoded several times faster (also implied by an\n"
	      "                       OUT named .jph or .jhc); .j2c/.j2k/.jhc OUT: a raw\n"
	      "                       codestream, any other name JP2/JPH boxes\n"
	      "  --memory MB          refuse a conversion whose working set exceeds MB\n"
	      "  --threads N          encoder threads per file (default: the cores)\n"
	      "  --jobs N             files converted at once with -o (default: the cores)\n"
	      "  --max-pixels N       refuse inputs declaring more pixels (default 1e10)\n"
	      "  --force              convert even when the output is newer than its input\n"
	      "  --progress=bar|json|none\n"
	      "                       a bar on a terminal (percent, rows/s, time left),\n"
	      "                       else one JSON line per step on stdout (default: bar\n"
	      "                       when stderr is a terminal, otherwise json)\n"
	      "  --quiet              no progress, errors only\n"
	      "  --help               this text\n"
	      "\n"
	      "Exit status: 0 done, 1 a conversion failed, 2 bad usage.\n"
	      "\n"
	      "Examples:\n"
	      "  tessera convert scan.tif scan-pyramid.tif\n"
	      "  tessera convert --compression deflate --tile 512 map.png map.tif\n"
	      "  tessera convert --quality 90 --progress=json photos/*.jpg -o /srv/images\n",
	      out);
}

struct job {
	const char *in;
	char *out;
	int status;            /* exit status of this file */
};

struct run {
	struct ts_convert_opts o;
	enum progress_mode progress;
	bool force, quiet;
	struct job *jobs;
	int njobs, next;
	pthread_mutex_t lock;   /* next, the terminal */
	int failed;
};

/* ---- progress ----------------------------------------------------------- */

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void on_progress(void *arg, const struct ts_convert_progress *p)
{
	struct run *r = arg;
	double frac = p->rows_total ? (double)p->rows_done / (double)p->rows_total : 1.0;
	double rate = p->seconds > 0 ? (double)p->rows_done / p->seconds : 0;

	pthread_mutex_lock(&r->lock);
	if (r->progress == PROGRESS_JSON) {
		fputs("{\"input\":", stdout);
		json_string(stdout, p->input);
		printf(",\"step\":\"%s\",\"rows_done\":%llu,\"rows_total\":%llu,"
		       "\"percent\":%.1f,\"seconds\":%.3f}\n", p->step,
		       (unsigned long long)p->rows_done, (unsigned long long)p->rows_total,
		       100.0 * frac, p->seconds);
		fflush(stdout);
	} else if (r->progress == PROGRESS_BAR) {
		char bar[31];
		int filled = (int)(frac * 30.0), i;
		double left = rate > 0 ? (double)(p->rows_total - p->rows_done) / rate : 0;
		const char *name = strrchr(p->input, '/') ? strrchr(p->input, '/') + 1 : p->input;

		for (i = 0; i < 30; i++)
			bar[i] = i < filled ? '#' : '.';
		bar[30] = '\0';
		fprintf(stderr, "\r%-24.24s [%s] %5.1f%% %8.0f rows/s  %4.0fs left  ", name, bar,
		        100.0 * frac, rate, left);
		if (strcmp(p->step, "done") == 0)
			fputc('\n', stderr);
		fflush(stderr);
	}
	pthread_mutex_unlock(&r->lock);
}

/* ---- one file ------------------------------------------------------------ */

static bool up_to_date(const char *in, const char *out)
{
	struct stat si, so;

	if (stat(in, &si) != 0 || stat(out, &so) != 0)
		return false;
	return so.st_mtim.tv_sec > si.st_mtim.tv_sec ||
	       (so.st_mtim.tv_sec == si.st_mtim.tv_sec && so.st_mtim.tv_nsec >= si.st_mtim.tv_nsec);
}

static void convert_one(struct run *r, struct job *j, bool skip_newer)
{
	struct ts_error err;
	ts_status st;

	if (skip_newer && !r->force && up_to_date(j->in, j->out)) {
		if (!r->quiet && r->progress != PROGRESS_JSON)
			fprintf(stderr, "%s: up to date\n", j->out);
		else if (r->progress == PROGRESS_JSON) {
			pthread_mutex_lock(&r->lock);
			fputs("{\"input\":", stdout);
			json_string(stdout, j->in);
			fputs(",\"step\":\"skipped\"}\n", stdout);
			fflush(stdout);
			pthread_mutex_unlock(&r->lock);
		}
		j->status = 0;
		return;
	}
	ts_error_clear(&err);
	st = ts_convert_file(j->in, j->out, &r->o, &err);
	if (st == TS_OK) {
		j->status = 0;
		return;
	}
	pthread_mutex_lock(&r->lock);
	if (r->progress == PROGRESS_BAR)
		fputc('\n', stderr);
	fprintf(stderr, "tessera convert: %s: %s", j->in, err.msg[0] ? err.msg : "failed");
	if (err.detail[0])
		fprintf(stderr, " (%s)", err.detail);
	fputc('\n', stderr);
	pthread_mutex_unlock(&r->lock);
	j->status = EXIT_FAILED;
}

static void *worker(void *arg)
{
	struct run *r = arg;

	for (;;) {
		int i;

		pthread_mutex_lock(&r->lock);
		i = r->next < r->njobs ? r->next++ : -1;
		pthread_mutex_unlock(&r->lock);
		if (i < 0)
			return NULL;
		convert_one(r, &r->jobs[i], true);
	}
}

/* ---- arguments ------------------------------------------------------------ */

static bool parse_uint(const char *s, unsigned long long lo, unsigned long long hi,
                       unsigned long long *v)
{
	char *end;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0' && *v >= lo && *v <= hi;
}

static const char *suffix_of(enum ts_convert_kind k, bool htj2k)
{
	switch (k) {
	case TS_CONVERT_TIFF: return ".tif";
	case TS_CONVERT_JP2: return htj2k ? ".jph" : ".jp2";
	case TS_CONVERT_DEEPZOOM: return ".dzi";
	default: return "";
	}
}

/* An output name that means HTJ2K by itself (ISO/IEC 15444-15 Annex D). */
static bool htj2k_name(const char *out)
{
	size_t n = strlen(out);

	return n > 4 && (strcasecmp(out + n - 4, ".jph") == 0 || strcasecmp(out + n - 4, ".jhc") == 0);
}

/* DIR/NAME+suffix for input path `in`. */
static char *output_in(const char *dir, const char *in, enum ts_convert_kind k, bool htj2k)
{
	const char *base = strrchr(in, '/') ? strrchr(in, '/') + 1 : in;
	const char *dot = strrchr(base, '.');
	size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
	size_t len = strlen(dir) + n + 16;
	char *p = malloc(len);

	if (p)
		snprintf(p, len, "%s/%.*s%s", dir, (int)n, base, suffix_of(k, htj2k));
	return p;
}

int ts_cli_convert(int argc, char **argv)
{
	struct run r;
	const char *outdir = NULL, *format = NULL, *pos[4096];
	unsigned long long v, jobs = 0;
	int npos = 0, i, rc = 0, kind = -1;
	bool max_set = false, tile_set = false;

	memset(&r, 0, sizeof r);
	ts_convert_opts_default(&r.o);
	r.progress = PROGRESS_AUTO;
	pthread_mutex_init(&r.lock, NULL);
	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *val = NULL, *eq;
		char name[32];

		if (strcmp(a, "--") == 0) {
			for (i++; i < argc && npos < 4096; i++)
				pos[npos++] = argv[i];
			break;
		}
		if (a[0] != '-' || a[1] == '\0') {
			if (npos == 4096) {
				fputs("tessera convert: too many inputs\n", stderr);
				return EXIT_USAGE;
			}
			pos[npos++] = a;
			continue;
		}
		eq = strchr(a, '=');
		snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
		if (eq)
			val = eq + 1;
#define VALUE() do { if (!val) { if (i + 1 >= argc) goto missing; val = argv[++i]; } } while (0)
		if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(name, "-o") == 0 || strcmp(name, "--output-dir") == 0) {
			VALUE();
			outdir = val;
		} else if (strcmp(name, "--format") == 0) {
			VALUE();
			format = val;
			if ((kind = ts_convert_kind_parse(val)) < 0) {
				fprintf(stderr, "tessera convert: unknown --format '%s' "
				        "(tiff, jp2, dzi, zoomify, iiif)\n", val);
				return EXIT_USAGE;
			}
		} else if (strcmp(name, "--compression") == 0) {
			VALUE();
			if (strcasecmp(val, "jpeg") == 0) r.o.compression = TS_COMP_JPEG;
			else if (strcasecmp(val, "deflate") == 0) r.o.compression = TS_COMP_DEFLATE;
			else if (strcasecmp(val, "webp") == 0) r.o.compression = TS_COMP_WEBP;
			else if (strcasecmp(val, "zstd") == 0) r.o.compression = TS_COMP_ZSTD;
			else if (strcasecmp(val, "png") == 0) r.o.compression = TS_COMP_PNG;
			else {
				fprintf(stderr, "tessera convert: unknown --compression '%s' "
				        "(jpeg, deflate, webp, zstd)\n", val);
				return EXIT_USAGE;
			}
		} else if (strcmp(name, "--quality") == 0 || strcmp(name, "-q") == 0) {
			VALUE();
			if (!parse_uint(val, 1, 100, &v))
				goto bad;
			r.o.quality = (int)v;
		} else if (strcmp(name, "--444") == 0) {
			r.o.chroma_444 = true;
		} else if (strcmp(name, "--tile") == 0) {
			VALUE();
			if (!parse_uint(val, 16, 4096, &v) || v % 16)
				goto bad;
			r.o.tile = (uint32_t)v;
			tile_set = true;
		} else if (strcmp(name, "--subifds") == 0) {
			r.o.tiff_subifds = true;
		} else if (strcmp(name, "--overlap") == 0) {
			VALUE();
			if (!parse_uint(val, 0, 64, &v))
				goto bad;
			r.o.overlap = (uint32_t)v;
		} else if (strcmp(name, "--base-url") == 0) {
			VALUE();
			r.o.base_url = val;
		} else if (strcmp(name, "--iiif-id") == 0) {
			VALUE();
			r.o.iiif_id = val;
		} else if (strcmp(name, "--lossless") == 0) {
			r.o.lossless = true;
		} else if (strcmp(name, "--htj2k") == 0) {
			r.o.htj2k = true;
		} else if (strcmp(name, "--jp2-levels") == 0) {
			VALUE();
			if (!parse_uint(val, 1, 32, &v))
				goto bad;
			r.o.jp2_levels = (int)v;
		} else if (strcmp(name, "--memory") == 0) {
			VALUE();
			if (!parse_uint(val, 1, 1u << 30, &v))
				goto bad;
			r.o.memory_mb = (size_t)v;
		} else if (strcmp(name, "--threads") == 0) {
			VALUE();
			if (!parse_uint(val, 1, 64, &v))
				goto bad;
			r.o.threads = (int)v;
		} else if (strcmp(name, "--jobs") == 0 || strcmp(name, "-j") == 0) {
			VALUE();
			if (!parse_uint(val, 1, 64, &jobs))
				goto bad;
		} else if (strcmp(name, "--max-pixels") == 0) {
			VALUE();
			if (!parse_uint(val, 1, ULLONG_MAX, &v))
				goto bad;
			r.o.max_source_pixels = v;
			max_set = true;
		} else if (strcmp(name, "--force") == 0) {
			r.force = true;
		} else if (strcmp(name, "--progress") == 0) {
			VALUE();
			if (strcmp(val, "bar") == 0) r.progress = PROGRESS_BAR;
			else if (strcmp(val, "json") == 0) r.progress = PROGRESS_JSON;
			else if (strcmp(val, "none") == 0) r.progress = PROGRESS_NONE;
			else
				goto bad;
		} else if (strcmp(name, "--quiet") == 0) {
			r.quiet = true;
		} else {
			fprintf(stderr, "tessera convert: unknown option '%s' (try --help)\n", a);
			return EXIT_USAGE;
		}
		continue;
bad:
		fprintf(stderr, "tessera convert: bad value '%s' for %s (try --help)\n", val, name);
		return EXIT_USAGE;
missing:
		fprintf(stderr, "tessera convert: %s needs a value\n", name);
		return EXIT_USAGE;
#undef VALUE
	}
	if (!max_set)
		r.o.max_source_pixels = DEFAULT_MAX_PIXELS;
	if (r.quiet)
		r.progress = PROGRESS_NONE;
	else if (r.progress == PROGRESS_AUTO)
		r.progress = isatty(2) ? PROGRESS_BAR : PROGRESS_JSON;
	if (r.progress != PROGRESS_NONE) {
		r.o.progress = on_progress;
		r.o.progress_arg = &r;
	}
	(void)format;
	if (r.o.htj2k && kind >= 0 && kind != TS_CONVERT_JP2) {
		fputs("tessera convert: --htj2k writes JPEG 2000 only (--format jp2)\n", stderr);
		return EXIT_USAGE;
	}
	if (r.o.htj2k && kind < 0 && outdir)
		kind = TS_CONVERT_JP2;
	if (!outdir && npos == 2 && kind < 0 && htj2k_name(pos[1]))
		r.o.htj2k = true;
	if (r.o.htj2k && !ts_convert_htj2k_built()) {
		fputs("tessera convert: --htj2k needs OpenJPH, and this tessera was built without "
		      "it (apt-get install libopenjph-dev, then ./configure && make)\n", stderr);
		return EXIT_USAGE;
	}
	if (outdir) {
		struct stat st;
		pthread_t tids[64];
		int nthreads, started = 0;

		if (npos < 1) {
			fputs("tessera convert: no input given (try --help)\n", stderr);
			return EXIT_USAGE;
		}
		if (stat(outdir, &st) != 0 || !S_ISDIR(st.st_mode)) {
			fprintf(stderr, "tessera convert: -o %s is not a folder\n", outdir);
			return EXIT_USAGE;
		}
		r.o.kind = kind >= 0 ? (enum ts_convert_kind)kind : TS_CONVERT_TIFF;
		if (!tile_set && r.o.kind == TS_CONVERT_JP2)
			r.o.tile = 1024;   /* see below */
		if (!tile_set && r.o.kind == TS_CONVERT_IIIF)
			r.o.tile = 512;
		r.jobs = calloc((size_t)npos, sizeof *r.jobs);
		if (!r.jobs)
			return EXIT_FAILED;
		r.njobs = npos;
		for (i = 0; i < npos; i++) {
			int k;

			r.jobs[i].in = pos[i];
			if (!(r.jobs[i].out = output_in(outdir, pos[i], r.o.kind, r.o.htj2k)))
				return EXIT_FAILED;
			for (k = 0; k < i; k++)
				if (strcmp(r.jobs[k].out, r.jobs[i].out) == 0) {
					fprintf(stderr, "tessera convert: %s and %s would both make %s\n",
					        r.jobs[k].in, pos[i], r.jobs[i].out);
					return EXIT_USAGE;
				}
		}
		nthreads = jobs ? (int)jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
		if (nthreads < 1)
			nthreads = 1;
		if (nthreads > npos)
			nthreads = npos;
		if (nthreads > 64)
			nthreads = 64;
		/* Files share the machine: each its share of threads and memory. */
		if (!r.o.threads && nthreads > 1) {
			r.o.threads = (int)sysconf(_SC_NPROCESSORS_ONLN) / nthreads;
			if (r.o.threads < 1)
				r.o.threads = 1;
		}
		if (r.o.memory_mb && nthreads > 1)
			r.o.memory_mb = r.o.memory_mb / (size_t)nthreads ? r.o.memory_mb / (size_t)nthreads : 1;
		for (i = 0; i < nthreads; i++)
			if (pthread_create(&tids[i], NULL, worker, &r) == 0)
				started++;
		if (started == 0)
			worker(&r);
		for (i = 0; i < started; i++)
			pthread_join(tids[i], NULL);
		for (i = 0; i < npos; i++) {
			if (r.jobs[i].status)
				rc = EXIT_FAILED;
			free(r.jobs[i].out);
		}
		free(r.jobs);
		return rc;
	}
	if (npos != 2) {
		fputs(npos < 2 ? "tessera convert: give IN and OUT, or IN... -o DIR (try --help)\n"
		               : "tessera convert: several inputs need -o DIR (try --help)\n",
		      stderr);
		return EXIT_USAGE;
	}
	if (kind < 0)
		kind = ts_convert_kind_of_path(pos[1]);
	if (kind < 0) {
		fprintf(stderr, "tessera convert: cannot tell the output kind from '%s': "
		        "name it .tif, .jp2, .jph or .dzi, or give --format\n", pos[1]);
		return EXIT_USAGE;
	}
	r.o.kind = (enum ts_convert_kind)kind;
	if (r.o.htj2k && r.o.kind != TS_CONVERT_JP2) {
		fputs("tessera convert: --htj2k writes JPEG 2000 only (name OUT .jph, .jp2 or .j2c)\n",
		      stderr);
		return EXIT_USAGE;
	}
	/* JPEG 2000 tiles are larger: a reader decodes whole code-stream
	 * tiles, and 1024 keeps the tile count and headers small */
	if (!tile_set && r.o.kind == TS_CONVERT_JP2)
		r.o.tile = 1024;
	/* a IIIF tree advertises the tiles the daemon advertises for a flat
	 * image (src/proto/iiif_info.c's VIRTUAL_TILE) */
	if (!tile_set && r.o.kind == TS_CONVERT_IIIF)
		r.o.tile = 512;
	{
		struct job j = { pos[0], (char *)pos[1], 0 };

		convert_one(&r, &j, false);
		return j.status;
	}
}
