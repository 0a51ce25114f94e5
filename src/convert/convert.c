/*
 * convert.c - ts_convert_file: open a row source, choose the sink of the
 * output kind, check the working set against the memory bound, and run the
 * pyramid builder between them (convert.h).
 *
 * The one idea: every output kind is one row of the table below (its
 * --format word, its file suffixes, its sink constructor, where its
 * pyramid stops).  A kind whose sink is not built in yet has a NULL
 * constructor and answers 501 "output kind not built"; adding a kind is
 * adding its constructor here, nothing else.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "tessera/checked.h"
#include "tessera/convert.h"

typedef ts_status sink_new_fn(const char *out, const struct ts_convert_opts *o,
                              struct ts_level_sink **sink, struct ts_error *err);

struct kind {
	enum ts_convert_kind kind;
	const char *word;               /* --format */
	const char *suffix[5];          /* output names that imply it */
	sink_new_fn *make;              /* NULL: not built in this tree */
	uint32_t stop_side;             /* pyramid down to this side; 0 = the tile */
};

/* THE table of output kinds. */
static const struct kind kinds[] = {
	{ TS_CONVERT_TIFF, "tiff", { ".tif", ".tiff", ".ptif", NULL, NULL }, ts_sink_tiff_new, 0 },
	/* JPEG 2000 makes its own resolutions (the wavelet): level 0 only */
	{ TS_CONVERT_JP2, "jp2", { ".jp2", ".j2c", ".j2k", ".jph", ".jhc" }, ts_sink_jp2_new,
	  UINT32_MAX },
	{ TS_CONVERT_DEEPZOOM, "dzi", { ".dzi", NULL, NULL, NULL, NULL }, ts_sink_deepzoom_new, 1 },
	/* Zoomify's floor-halved tiers and IIIF's scale factors stop at a tile */
	{ TS_CONVERT_ZOOMIFY, "zoomify", { NULL, NULL, NULL, NULL, NULL }, ts_sink_zoomify_new, 0 },
	{ TS_CONVERT_IIIF, "iiif", { NULL, NULL, NULL, NULL, NULL }, ts_sink_iiif_new, 0 },
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

static const struct kind *kind_get(enum ts_convert_kind k)
{
	size_t i;

	for (i = 0; i < NKINDS; i++)
		if (kinds[i].kind == k)
			return &kinds[i];
	return NULL;
}

int ts_convert_kind_parse(const char *word)
{
	size_t i;

	if (!word)
		return -1;
	if (strcasecmp(word, "tif") == 0 || strcasecmp(word, "deepzoom") == 0)
		return strcasecmp(word, "tif") == 0 ? TS_CONVERT_TIFF : TS_CONVERT_DEEPZOOM;
	for (i = 0; i < NKINDS; i++)
		if (strcasecmp(word, kinds[i].word) == 0)
			return (int)kinds[i].kind;
	return -1;
}

int ts_convert_kind_of_path(const char *path)
{
	size_t i, j, n = strlen(path), m;

	for (i = 0; i < NKINDS; i++)
		for (j = 0; j < 5 && kinds[i].suffix[j]; j++) {
			m = strlen(kinds[i].suffix[j]);
			if (n > m && strcasecmp(path + n - m, kinds[i].suffix[j]) == 0)
				return (int)kinds[i].kind;
		}
	return -1;
}

void ts_convert_opts_default(struct ts_convert_opts *o)
{
	memset(o, 0, sizeof *o);
	o->kind = TS_CONVERT_TIFF;
	o->compression = TS_COMP_JPEG;
	o->quality = 85;
	o->tile = 256;
	o->overlap = 1;
}

char *ts_convert_temp_path(const char *out)
{
	static atomic_uint counter;
	const char *slash = strrchr(out, '/');
	size_t dirlen = slash ? (size_t)(slash - out) + 1 : 0, n;
	char *p;

	n = strlen(out) + 48;
	p = malloc(n);
	if (!p)
		return NULL;
	snprintf(p, n, "%.*s.%s.tmp-%ld-%u", (int)dirlen, out, out + dirlen, (long)getpid(),
	         atomic_fetch_add(&counter, 1));
	return p;
}

/* Bytes the builder and the TIFF-like sinks hold at once for this
 * geometry: a source band, about half a band per level for the halvings,
 * one tile band per level in the sink, the tiles in flight, and what the
 * source keeps itself.  An estimate on the high side. */
static uint64_t working_set(const struct ts_pyramid_geometry *g, const struct ts_rows *src,
                            const struct ts_convert_opts *o)
{
	uint64_t ch = (uint64_t)g->channels, band = o->tile, total = 0, threads;
	int k;

	if (src->band_rows > band)
		band = src->band_rows;
	threads = o->threads > 0 ? (uint64_t)o->threads : (uint64_t)sysconf(_SC_NPROCESSORS_ONLN);
	total += band * g->width[0] * ch;                       /* the source band */
	for (k = 0; k < g->nlevels; k++) {
		total += (uint64_t)o->tile * g->width[k] * ch;      /* the sink's band */
		if (k > 0)
			total += ((band >> k) + 3) * g->width[k] * ch;  /* halvings */
	}
	total += (2 * threads + 2) * (uint64_t)o->tile * o->tile * 4 * 2;   /* jobs, output */
	total += src->mem_bytes;
	return total + (8u << 20);   /* code, libraries, stacks */
}

ts_status ts_convert_file(const char *in, const char *out, const struct ts_convert_opts *o,
                          struct ts_error *err)
{
	const struct kind *k = kind_get(o->kind);
	struct ts_pyramid_geometry g;
	struct ts_level_sink *sink = NULL;
	struct ts_rows *src = NULL;
	struct ts_convert_opts local;
	uint64_t need;
	ts_status st;

	if (!k)
		return ts_error_set(err, TS_EBADREQUEST, "unknown output kind");
	if (!k->make)
		return ts_error_set(err, TS_ENOTIMPL, "output kind not built");
	if (o->tile < 16 || o->tile > 4096)
		return ts_error_set(err, TS_EBADREQUEST, "tile size must be from 16 to 4096");
	st = ts_rows_open(in, o->max_source_pixels, &src, err);
	if (st != TS_OK)
		return st;
	ts_pyramid_levels(src->width, src->height, k->stop_side ? k->stop_side : o->tile, &g);
	g.channels = src->channels;
	need = working_set(&g, src, o);
	if (o->memory_mb && need > (uint64_t)o->memory_mb << 20 && o->threads != 1) {
		/* Over the bound with the default threads: one encoder thread
		 * has fewer tiles in flight; refuse only if even that is over. */
		local = *o;
		local.threads = 1;
		o = &local;
		need = working_set(&g, src, o);
	}
	if (o->memory_mb && need > (uint64_t)o->memory_mb << 20) {
		st = ts_error_set(err, TS_EFORBIDDEN,
		                  "the conversion needs more memory than allowed");
		ts_error_detail(err, "%s: about %llu MB needed, %zu MB allowed", in,
		                (unsigned long long)(need >> 20) + 1, o->memory_mb);
		goto fail;
	}
	/* HTJ2K is the JP2 kind written by OpenJPH instead of OpenJPEG */
	st = (k->kind == TS_CONVERT_JP2 && o->htj2k ? ts_sink_htj2k_new : k->make)(out, o, &sink, err);
	if (st != TS_OK)
		goto fail;
	st = ts_pyramid_build(src, &g, 0, sink, o, in, err);
fail:
	if (sink)
		sink->destroy(sink);
	ts_rows_close(src);
	return st;
}
