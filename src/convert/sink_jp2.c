/*
 * sink_jp2.c - the JPEG 2000 sink: a tiled JP2 written through OpenJPEG's
 * tile API (opj_write_tile), one row of code-stream tiles at a time, as
 * `tessera convert -t jp2` writes it from the pyramid builder's rows.
 *
 * The file is what Tessera serves fastest (src/source/jp2_read.c): tiles
 * of o->tile (1024 is the usual choice), resolution levels down to the
 * first at which the whole image fits in one tile (or o->jp2_levels),
 * RPCL progression (ISO/IEC 15444-1 B.12.1.3: a reader finds one
 * resolution of one area in one run of bytes), 256x256 precincts (B.6),
 * 64x64 code-blocks (B.7), TLM and PLT markers (A.7.1, A.7.3: a reader
 * seeks to a tile and to a packet without parsing what comes before), one
 * quality layer; lossy with the irreversible 9/7 wavelet at a target PSNR
 * from o->quality (jp2_psnr: 85 -> 42 dB), or lossless with the
 * reversible 5/3 (o->lossless).  RGB goes
 * through the component transform (MCT); alpha is a fourth (or second)
 * component flagged as alpha, which OpenJPEG declares in a cdef box.  The
 * source's ICC profile goes into the colr box.
 *
 * The one idea: JPEG 2000 makes its own lower resolutions (the wavelet),
 * so only the builder's level 0 matters here; the rows of every other
 * level are ignored (the builder may as well send none: a geometry of one
 * level is accepted).  Rows are gathered into one band of tile height;
 * when the band is full each tile of it is split into planes and handed to
 * opj_write_tile in index order, which is the order OpenJPEG requires.
 * Memory is one band (tile x width x channels) plus OpenJPEG's work on one
 * tile.  OpenJPEG's own threads (opj_codec_set_threads, 2.5) encode the
 * code-blocks of a tile in parallel.
 *
 * OpenJPEG reports errors through callbacks: they are caught on this
 * sink's own handle and become one sentence with the library's text in
 * detail.  The file is written under a temporary name beside the final one
 * and renamed at finish.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <openjpeg.h>

#include "tessera/checked.h"
#include "tessera/convert.h"
#include "out_file.h"
#include "tile_band.h"

struct jp2_sink {
	struct ts_level_sink base;
	char *out, *tmp;
	struct ts_convert_opts o;
	volatile const int *cancel;
	int threads;
	uint32_t width, height, tile;
	int channels;
	uint32_t ntx, nty;
	opj_codec_t *codec;
	opj_stream_t *stream;
	opj_image_t *image;
	struct ts_tile_band band; /* level-0 rows, one tile row at a time */
	uint8_t *planes;        /* one tile, component after component */
	uint32_t tiles_done;
	char libmsg[256];
};

static void on_error(const char *msg, void *data)
{
	struct jp2_sink *s = data;

	if (!s->libmsg[0]) {
		snprintf(s->libmsg, sizeof s->libmsg, "%s", msg);
		s->libmsg[strcspn(s->libmsg, "\n")] = '\0';
	}
}

static void on_quiet(const char *msg, void *data)
{
	(void)msg;
	(void)data;
}

static ts_status lib_fail(struct jp2_sink *s, const char *what, struct ts_error *err)
{
	ts_error_set(err, TS_EINTERNAL, "JPEG 2000 encoding failed");
	ts_error_detail(err, "%s: %s", what, s->libmsg[0] ? s->libmsg : "no message");
	return TS_EINTERNAL;
}

static bool raw_name(const char *out)
{
	size_t n = strlen(out);

	return n > 4 && (strcasecmp(out + n - 4, ".j2c") == 0 || strcasecmp(out + n - 4, ".j2k") == 0);
}

/* Decomposition levels so that the whole image fits in one tile at the
 * lowest resolution, capped by what the tile allows (OpenJPEG refuses more
 * than log2(tile) + 1 resolutions) and the format's 32 (A.6.1). */
static int resolutions(const struct jp2_sink *s)
{
	uint32_t longest = s->width > s->height ? s->width : s->height;
	int d = 0, maxd = 0;

	if (s->o.jp2_levels > 0)
		d = s->o.jp2_levels - 1;
	else
		while (((uint64_t)s->tile << d) < longest)
			d++;
	while (maxd < 31 && ((uint64_t)1 << (maxd + 1)) <= s->tile)
		maxd++;
	if (d > maxd)
		d = maxd;
	if (d > 31)
		d = 31;
	return d + 1;
}

/* Quality 1..100 as a target PSNR in dB: 25 + 0.2 * quality (85 -> 42 dB,
 * visually lossless on photographs; 50 -> 35 dB). */
static float jp2_psnr(int quality)
{
	return 25.0f + 0.2f * (float)quality;
}

static ts_status jp2_begin(struct ts_level_sink *base, const struct ts_pyramid_geometry *g,
                           const struct ts_rows *src, struct ts_error *err)
{
	struct jp2_sink *s = (struct jp2_sink *)base;
	opj_cparameters_t p;
	opj_image_cmptparm_t cp[4];
	const char *extra[] = { "TLM=YES", "PLT=YES", NULL };
	size_t plane_bytes;
	ts_status st;
	int fd, nres;

	st = ts_tile_band_begin(&s->band, g, s->tile, &s->ntx, &s->nty, err);
	if (st)
		return st;
	s->width = g->width[0];
	s->height = g->height[0];
	s->channels = g->channels;
	if (!ts_mul3_size(s->tile, s->tile, (size_t)s->channels, &plane_bytes) ||
	    plane_bytes > UINT32_MAX)
		return ts_error_set(err, TS_EINTERNAL, "JPEG 2000 band too large");
	s->planes = malloc(plane_bytes);
	if (!s->planes)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");

	/* the temporary file beside the final one; OpenJPEG reopens it by name */
	st = ts_out_file_create(s->out, &s->tmp, &fd, err);
	if (st)
		return st;
	close(fd);

	memset(cp, 0, sizeof cp);
	for (int c = 0; c < s->channels; c++) {
		cp[c].dx = cp[c].dy = 1;
		cp[c].w = s->width;
		cp[c].h = s->height;
		cp[c].prec = 8;
		cp[c].sgnd = 0;
	}
	s->image = opj_image_tile_create((OPJ_UINT32)s->channels, cp,
	                                 s->channels >= 3 ? OPJ_CLRSPC_SRGB : OPJ_CLRSPC_GRAY);
	if (!s->image)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	s->image->x0 = s->image->y0 = 0;
	s->image->x1 = s->width;
	s->image->y1 = s->height;
	if (s->channels == 2 || s->channels == 4)
		s->image->comps[s->channels - 1].alpha = 1;
	if (src && src->icc && src->icc_len > 0 && src->icc_len <= UINT32_MAX) {
		s->image->icc_profile_buf = malloc(src->icc_len);
		if (!s->image->icc_profile_buf)
			return ts_error_set(err, TS_EINTERNAL, "out of memory");
		memcpy(s->image->icc_profile_buf, src->icc, src->icc_len);
		s->image->icc_profile_len = (OPJ_UINT32)src->icc_len;
	}

	opj_set_default_encoder_parameters(&p);
	p.tile_size_on = OPJ_TRUE;
	p.cp_tx0 = p.cp_ty0 = 0;
	p.cp_tdx = (int)s->tile;
	p.cp_tdy = (int)s->tile;
	nres = resolutions(s);
	p.numresolution = nres;
	p.prog_order = OPJ_RPCL;
	p.cblockw_init = p.cblockh_init = 64;
	/* 256x256 precincts at every resolution (B.6) */
	p.csty |= 0x01;
	p.res_spec = nres;
	for (int r = 0; r < nres; r++)
		p.prcw_init[r] = p.prch_init[r] = 256;
	p.tcp_numlayers = 1;
	if (s->o.lossless) {
		p.irreversible = 0;
		p.tcp_rates[0] = 0;   /* 0: lossless */
		p.cp_disto_alloc = 1;
	} else {
		/* a target PSNR, not a ratio: a ratio leaves a tiny image a few
		 * bytes after the headers */
		int q = s->o.quality >= 1 && s->o.quality <= 100 ? s->o.quality : 85;
		p.irreversible = 1;
		p.cp_fixed_quality = 1;
		p.tcp_distoratio[0] = jp2_psnr(q);
	}
	p.tcp_mct = s->channels >= 3 ? 1 : 0;

	/* a raw codestream for .j2c/.j2k names, JP2 boxes for any other */
	s->codec = opj_create_compress(raw_name(s->out) ? OPJ_CODEC_J2K : OPJ_CODEC_JP2);
	if (!s->codec)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	opj_set_error_handler(s->codec, on_error, s);
	opj_set_warning_handler(s->codec, on_quiet, s);
	opj_set_info_handler(s->codec, on_quiet, s);
	if (!opj_setup_encoder(s->codec, &p, s->image))
		return lib_fail(s, "opj_setup_encoder", err);
	if (!opj_encoder_set_extra_options(s->codec, extra))
		return lib_fail(s, "opj_encoder_set_extra_options", err);
	if (s->threads > 1 && !opj_codec_set_threads(s->codec, s->threads))
		return lib_fail(s, "opj_codec_set_threads", err);
	s->stream = opj_stream_create_default_file_stream(s->tmp, OPJ_FALSE);
	if (!s->stream) {
		ts_error_set(err, TS_EINTERNAL, "could not create the output file");
		ts_error_detail(err, "%s", s->tmp);
		return TS_EINTERNAL;
	}
	if (!opj_start_compress(s->codec, s->image, s->stream))
		return lib_fail(s, "opj_start_compress", err);
	return TS_OK;
}

/* Hand every tile of the full band to OpenJPEG, in index order. */
static ts_status flush_band(void *ctx, struct ts_error *err)
{
	struct jp2_sink *s = ctx;
	uint32_t th = s->band.have, trow = s->band.y0 / s->tile;

	if (s->cancel && *s->cancel)
		return ts_error_set(err, TS_EUNAVAILABLE, "cancelled");
	for (uint32_t c = 0; c < s->ntx; c++) {
		uint32_t x0 = c * s->tile;
		uint32_t tw = s->width - x0 < s->tile ? s->width - x0 : s->tile;
		size_t plane = (size_t)tw * th;
		int nc = s->channels;

		/* interleaved -> one plane per component (opj_write_tile's layout) */
		for (uint32_t y = 0; y < th; y++) {
			const uint8_t *row = s->band.rows + (size_t)y * s->band.stride + (size_t)x0 * nc;
			for (int k = 0; k < nc; k++) {
				uint8_t *d = s->planes + plane * k + (size_t)y * tw;
				for (uint32_t x = 0; x < tw; x++)
					d[x] = row[(size_t)x * nc + k];
			}
		}
		if (!opj_write_tile(s->codec, trow * s->ntx + c, s->planes,
		                    (OPJ_UINT32)(plane * nc), s->stream))
			return lib_fail(s, "opj_write_tile", err);
		s->tiles_done++;
	}
	return TS_OK;
}

static ts_status jp2_rows(struct ts_level_sink *base, int level, uint32_t y,
                          const struct ts_image *band, struct ts_error *err)
{
	struct jp2_sink *s = (struct jp2_sink *)base;

	/* only level 0: the wavelet makes the lower resolutions */
	return ts_tile_band_add(&s->band, level, y, band, flush_band, s, err);
}

static ts_status jp2_finish(struct ts_level_sink *base, struct ts_error *err)
{
	struct jp2_sink *s = (struct jp2_sink *)base;

	if (s->tiles_done != s->ntx * s->nty)
		return ts_error_set(err, TS_EINTERNAL, "the pyramid ended before its last row");
	if (!opj_end_compress(s->codec, s->stream))
		return lib_fail(s, "opj_end_compress", err);
	/* closes the file */
	opj_stream_destroy(s->stream);
	s->stream = NULL;
	return ts_out_file_commit(&s->tmp, s->out, err);
}

static void jp2_abort(struct ts_level_sink *base)
{
	struct jp2_sink *s = (struct jp2_sink *)base;

	if (s->stream) {
		opj_stream_destroy(s->stream);
		s->stream = NULL;
	}
	ts_out_file_discard(&s->tmp);
}

static void jp2_destroy(struct ts_level_sink *base)
{
	struct jp2_sink *s = (struct jp2_sink *)base;

	if (!s)
		return;
	jp2_abort(base);
	if (s->codec)
		opj_destroy_codec(s->codec);
	if (s->image)
		opj_image_destroy(s->image);
	ts_tile_band_free(&s->band);
	free(s->planes);
	free(s->out);
	free(s);
}

ts_status ts_sink_jp2_new(const char *out, const struct ts_convert_opts *o,
                          struct ts_level_sink **sink, struct ts_error *err)
{
	struct jp2_sink *s;
	long ncpu;

	*sink = NULL;
	if (!out[0])
		return ts_error_set(err, TS_EBADREQUEST, "no output name");
	/* OpenJPEG 2.5 cannot encode HTJ2K: ts_convert_file sends it to
	 * sink_htj2k.c */
	if (o->htj2k)
		return ts_error_set(err, TS_EINTERNAL, "internal: HTJ2K is not this sink's");
	if (o->tile < 64 || o->tile > 16384)
		return ts_error_set(err, TS_EBADREQUEST, "JPEG 2000 tiles must be 64 to 16384 pixels");
	if (o->jp2_levels < 0 || o->jp2_levels > 32)
		return ts_error_set(err, TS_EBADREQUEST, "JPEG 2000 resolution levels must be 1 to 32");
	s = calloc(1, sizeof *s);
	if (!s || !(s->out = strdup(out))) {
		free(s);
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	}
	s->o = *o;
	s->o.base_url = s->o.iiif_id = NULL;   /* not used; never kept borrowed */
	s->cancel = o->cancel;
	s->tile = o->tile;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	s->threads = o->threads > 0 ? o->threads : (ncpu > 0 ? (int)ncpu : 1);
	s->base.begin = jp2_begin;
	s->base.rows = jp2_rows;
	s->base.finish = jp2_finish;
	s->base.abort = jp2_abort;
	s->base.destroy = jp2_destroy;
	*sink = &s->base;
	return TS_OK;
}
