/*
 * tiff_read.c - the tiled, pyramidal TIFF reader (libtiff), behind
 * struct ts_source_ops.
 *
 * At open we walk the file once: IFD0 is full resolution, and every later
 * top-level IFD and every SubIFD of IFD0 that looks like a reduced copy of
 * it (smaller, same aspect ratio within rounding, same samples) becomes a
 * pyramid level; masks, thumbnails of another shape and unrelated pages are
 * skipped.  Each level remembers its directory offset, so selecting it later
 * is one TIFFSetSubDirectory whether it came from the main chain or a SubIFD.
 *
 * The one idea that makes reading safe: the work is known before it is done.
 * read_region counts the whole tiles (or strips) a rectangle touches and
 * refuses over budget before allocating; then it decodes each touched unit
 * into one reusable buffer whose size was checked against what libtiff says
 * the unit holds, and copies out only the part inside both the rectangle and
 * the image, so padded edge tiles and short last strips are never over-read.
 *
 * Layouts we convert ourselves ("direct"): contiguous 8/16-bit unsigned gray,
 * gray+alpha, RGB, RGBA, MINISWHITE, and JPEG-in-TIFF YCbCr (libjpeg converts
 * to RGB).  Anything else libtiff's RGBA interface understands (palette,
 * bilevel, CMYK, separate planes, OJPEG, subsampled YCbCr...) goes through
 * TIFFReadRGBATile/Strip; the rest is refused as "unsupported TIFF layout".
 *
 * JPEG-compressed levels have a second way in, read_region_scaled: the
 * tiles' stored bytes are located here (libtiff, one thread) and handed to
 * jpeg_tiles.c, which decodes them at 1/2..1/8 scale in the DCT domain
 * and, for regions of many tiles, on several threads.
 *
 * libtiff's errors are caught at the border: each TIFF handle gets its own
 * error and warning handlers (TIFFOpenOptions, libtiff >= 4.5) whose
 * user_data is this source, so concurrent sources in different threads never
 * share a message buffer, and the process-wide handlers are silenced once so
 * nothing reaches stderr.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <tiffio.h>
#include "tessera/checked.h"
#include "tessera/deadline.h"
#include "tessera/icc.h"
#include "tessera/source.h"
#include "jpeg_tiles.h"
#include "tiff_io.h"

/* Tiles larger than this per side or in area are not a pyramid anyone
 * wrote on purpose; refusing them keeps one tile buffer bounded. */
#define MAX_TILE_SIDE   16384u
#define MAX_TILE_PIXELS (1u << 26)
/* More samples per pixel than this is not an image we can show. */
#define MAX_SPP         16
/* Top-level IFDs and SubIFDs examined when looking for levels: a pyramid of
 * a 4-gigapixel-wide image has 32 levels; the rest is labels and macros. */
#define MAX_IFDS        64
#define MAX_SUBIFDS     64
/* libtiff's own largest allocation (raw strips, tag arrays). */
#define MAX_LIBTIFF_ALLOC ((tmsize_t)512 << 20)
/* The reusable decode buffer is kept between calls up to this size. */
#define KEEP_BUFFER_BYTES ((size_t)8 << 20)

enum tiff_mode {
	MODE_DIRECT,    /* TIFFReadEncoded*, converted here */
	MODE_RGBA,      /* TIFFReadRGBA*: bottom-up ABGR uint32 per pixel */
};

struct tiff_level {
	uint64_t diroff;            /* for TIFFSetSubDirectory */
	uint32_t width, height;
	uint32_t tile_w, tile_h;    /* 0 for strips */
	uint32_t rows_per_strip;    /* clamped to height; strips only */
	enum tiff_mode mode;
	uint16_t spp, bps, photometric, compression;
	int out_channels;           /* 1..4, what read_region returns */
	bool invert;                /* MINISWHITE: 0 is white */
	bool premultiplied;         /* colour samples are multiplied by alpha */
	bool jpeg_rgb;              /* set JPEGCOLORMODE_RGB after selecting */
	bool gray_rgba;             /* RGBA fallback of a gray image: keep R */
	size_t in_bpp;              /* direct: bytes per pixel as decoded */
	size_t unit_bytes;          /* decoded bytes of one full tile or strip */
	uint32_t subfiletype;
	/* Pass-through index, read on the level's first raw tile: where each
	 * stored tile lives and the JPEG tables, so later tiles are one pread
	 * with no libtiff call and no directory switch. */
	uint64_t *tile_off, *tile_len;   /* across * down entries, or NULL */
	unsigned char *jpeg_tables;
	uint32_t jpeg_tables_len;
	bool index_tried;
};

struct tiff_source {
	struct ts_source base;      /* first: the generic header */
	TIFF *tif;
	int fd;                     /* ours until libtiff owns it, then -1 */
	char *path;                 /* for the private log detail only */
	int cur_level;              /* level whose directory is selected, -1 none */
	struct tiff_level levels[TS_MAX_LEVELS];
	uint8_t *buf;               /* one decoded tile or strip */
	size_t buf_size;
	/* Filled by the per-handle libtiff handlers below. */
	char libmsg[256];           /* first libtiff error since last cleared */
	bool decoding;              /* inside a tile/strip decode */
	bool decode_warned;         /* a codec warned during that decode */
};

/* ---- libtiff's messages, caught per handle ---- */

static void note_message(struct tiff_source *s, const char *module, const char *fmt,
                         va_list ap)
{
	char text[200];
	int n;

	if (s->libmsg[0])
		return;     /* the first message is closest to the cause */
	/* fmt is libtiff's own format string, never request text. */
	n = vsnprintf(text, sizeof text, fmt, ap);
	if (n < 0)
		text[0] = '\0';
	snprintf(s->libmsg, sizeof s->libmsg, "%s: %s", module ? module : "libtiff", text);
}

static int on_tiff_error(TIFF *tif, void *user, const char *module, const char *fmt,
                         va_list ap)
{
	(void)tif;
	if (user)
		note_message(user, module, fmt, ap);
	return 1;   /* handled: do not call the global handlers */
}

static int on_tiff_warning(TIFF *tif, void *user, const char *module, const char *fmt,
                           va_list ap)
{
	struct tiff_source *s = user;

	(void)tif;
	/* Warnings while reading directories (unknown tags...) are harmless.
	 * During a decode they matter: libjpeg only warns about corrupt or
	 * truncated data and fills the rest with grey. */
	if (s && s->decoding) {
		s->decode_warned = true;
		note_message(s, module, fmt, ap);
	}
	return 1;
}

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static void quiet_global_handlers(void)
{
	/* Our handlers return 1 so these are not reached; silencing them
	 * also covers anything libtiff reports before a handle exists. */
	TIFFSetErrorHandler(NULL);
	TIFFSetWarningHandler(NULL);
}

static ts_status libtiff_failure(struct tiff_source *s, struct ts_error *err,
                                 const char *public_msg, const char *what)
{
	ts_error_set(err, TS_EINTERNAL, "%s", public_msg);
	ts_error_detail(err, "%s: %s: %s", s->path ? s->path : "?", what,
	                s->libmsg[0] ? s->libmsg : "libtiff failed");
	return TS_EINTERNAL;
}

/* ---- sniffing ---- */

static bool tiff_sniff(const unsigned char *h, size_t n)
{
	if (n < 4)
		return false;
	/* Classic TIFF is version 42, BigTIFF 43, in either byte order. */
	if (h[0] == 'I' && h[1] == 'I')
		return (h[2] == 42 || h[2] == 43) && h[3] == 0;
	if (h[0] == 'M' && h[1] == 'M')
		return h[2] == 0 && (h[3] == 42 || h[3] == 43);
	return false;
}

/* ---- one directory's layout ---- */

static bool is_gray(uint16_t photometric)
{
	return photometric == PHOTOMETRIC_MINISBLACK || photometric == PHOTOMETRIC_MINISWHITE;
}

/*
 * Describe the currently selected directory into *lv.  Returns false with a
 * reason in why[] when we cannot read it (for IFD0 that is the open error;
 * for other IFDs the IFD is just not a level).
 */
static bool read_layout(struct tiff_source *s, struct tiff_level *lv, char *why, size_t whylen)
{
	TIFF *tif = s->tif;
	uint16_t planar, sampleformat, nextra = 0, *extra = NULL;
	uint32_t rps;
	uint64_t unit, libsize, pixels;
	bool alpha, direct;
	int base;

	memset(lv, 0, sizeof *lv);
	lv->diroff = TIFFCurrentDirOffset(tif);
	if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &lv->width) ||
	    !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &lv->height) ||
	    lv->width == 0 || lv->height == 0) {
		snprintf(why, whylen, "missing or zero image size");
		return false;
	}
	TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &lv->spp);
	TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &lv->bps);
	TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
	TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &sampleformat);
	TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &lv->compression);
	TIFFGetFieldDefaulted(tif, TIFFTAG_EXTRASAMPLES, &nextra, &extra);
	if (!TIFFGetFieldDefaulted(tif, TIFFTAG_SUBFILETYPE, &lv->subfiletype))
		lv->subfiletype = 0;
	if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &lv->photometric))
		lv->photometric = lv->spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
	if (lv->spp < 1 || lv->spp > MAX_SPP || lv->bps < 1 || lv->bps > 64) {
		snprintf(why, whylen, "unsupported samples: %u x %u bits", lv->spp, lv->bps);
		return false;
	}

	if (TIFFIsTiled(tif)) {
		if (!TIFFGetField(tif, TIFFTAG_TILEWIDTH, &lv->tile_w) ||
		    !TIFFGetField(tif, TIFFTAG_TILELENGTH, &lv->tile_h) ||
		    lv->tile_w == 0 || lv->tile_h == 0 ||
		    lv->tile_w > MAX_TILE_SIDE || lv->tile_h > MAX_TILE_SIDE ||
		    (uint64_t)lv->tile_w * lv->tile_h > MAX_TILE_PIXELS) {
			snprintf(why, whylen, "tile size %ux%u out of range", lv->tile_w, lv->tile_h);
			return false;
		}
		/* The TIFF 6.0 spec (section 15) asks for multiples of 16; libtiff
		 * reads other sizes correctly and some writers produce them, so
		 * they are accepted: the bounds above are what keeps us safe. */
		pixels = (uint64_t)lv->tile_w * lv->tile_h;
	} else {
		if (!TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rps) || rps == 0) {
			snprintf(why, whylen, "zero rows per strip");
			return false;
		}
		lv->rows_per_strip = rps < lv->height ? rps : lv->height;
		pixels = (uint64_t)lv->rows_per_strip * lv->width;
	}

	base = is_gray(lv->photometric) ? 1 : 3;
	/* An extra sample is alpha only when ExtraSamples says so; an
	 * unspecified extra channel is ignored rather than risk hiding
	 * content behind it. */
	alpha = nextra >= 1 && extra &&
	        (extra[0] == EXTRASAMPLE_ASSOCALPHA || extra[0] == EXTRASAMPLE_UNASSALPHA) &&
	        lv->spp > base;
	direct = (planar == PLANARCONFIG_CONTIG || lv->spp == 1) &&
	         (lv->bps == 8 || lv->bps == 16) &&
	         (sampleformat == SAMPLEFORMAT_UINT || sampleformat == SAMPLEFORMAT_VOID) &&
	         lv->compression != COMPRESSION_OJPEG &&
	         ((is_gray(lv->photometric) && lv->spp >= 1) ||
	          (lv->photometric == PHOTOMETRIC_RGB && lv->spp >= 3) ||
	          (lv->photometric == PHOTOMETRIC_YCBCR && lv->compression == COMPRESSION_JPEG &&
	           lv->bps == 8 && lv->spp == 3));

	if (direct) {
		lv->mode = MODE_DIRECT;
		lv->out_channels = base + (alpha ? 1 : 0);
		lv->invert = lv->photometric == PHOTOMETRIC_MINISWHITE;
		lv->premultiplied = alpha && extra[0] == EXTRASAMPLE_ASSOCALPHA;
		if (lv->photometric == PHOTOMETRIC_YCBCR) {
			/* libjpeg does the YCbCr->RGB conversion and upsampling;
			 * the pseudo-tag is reset whenever a directory is read. */
			if (!TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB)) {
				snprintf(why, whylen, "cannot set JPEG colour mode");
				return false;
			}
			lv->jpeg_rgb = true;
		}
		lv->in_bpp = (size_t)lv->spp * (lv->bps / 8);
		if (!ts_mul_u64(pixels, lv->in_bpp, &unit)) {
			snprintf(why, whylen, "unit size overflows");
			return false;
		}
		/* What libtiff will decode must be exactly what we will index. */
		libsize = lv->tile_w ? TIFFTileSize64(tif) : TIFFStripSize64(tif);
		if (libsize != unit) {
			snprintf(why, whylen, "unexpected %s size %llu (expected %llu)",
			         lv->tile_w ? "tile" : "strip",
			         (unsigned long long)libsize, (unsigned long long)unit);
			return false;
		}
	} else {
		char emsg[1024];

		if (!TIFFRGBAImageOK(tif, emsg)) {
			snprintf(why, whylen, "%s", emsg);
			return false;
		}
		lv->mode = MODE_RGBA;
		lv->gray_rgba = is_gray(lv->photometric);
		lv->out_channels = (lv->gray_rgba ? 1 : 3) + (alpha ? 1 : 0);
		/* TIFFRGBAImage hands colour back multiplied by alpha (it
		 * converts unassociated alpha), except for grey+alpha. */
		lv->premultiplied = alpha && !lv->gray_rgba;
		if (!ts_mul_u64(pixels, sizeof(uint32_t), &unit)) {
			snprintf(why, whylen, "unit size overflows");
			return false;
		}
	}
	if (unit > SIZE_MAX) {
		snprintf(why, whylen, "unit size too large");
		return false;
	}
	lv->unit_bytes = (size_t)unit;
	return true;
}

/* ---- pyramid discovery ---- */

/*
 * Is cand a reduced copy of full?  Smaller, the same samples, and the same
 * aspect ratio: if both sides were rounded (floor or ceil) from the same
 * scale factor, |w*H - h*W| <= W + H; we allow twice that for writers that
 * round twice.  Doubles are exact enough here (products < 2^64, tolerance
 * far above the rounding error).
 */
static bool is_reduced_copy(const struct tiff_level *full, const struct tiff_level *cand)
{
	double W = full->width, H = full->height, w = cand->width, h = cand->height;
	double diff = w * H - h * W;

	if (cand->subfiletype & FILETYPE_MASK)
		return false;
	if (cand->spp != full->spp || cand->out_channels != full->out_channels)
		return false;
	if (cand->width > full->width || cand->height > full->height ||
	    (cand->width == full->width && cand->height == full->height))
		return false;
	if (diff < 0)
		diff = -diff;
	return diff <= 2.0 * (W + H);
}

static int compare_levels(const void *a, const void *b)
{
	const struct tiff_level *x = a, *y = b;
	uint64_t ax = (uint64_t)x->width * x->height, ay = (uint64_t)y->width * y->height;

	if (ax != ay)
		return ax > ay ? -1 : 1;
	return x->diroff < y->diroff ? -1 : x->diroff > y->diroff;
}

static ts_status discover_levels(struct tiff_source *s, const struct ts_source_limits *lim,
                                 struct ts_error *err)
{
	struct tiff_level full, cand;
	struct tiff_level *cands = NULL;
	uint64_t subifds[MAX_SUBIFDS];
	uint64_t *sub = NULL;
	uint16_t nsub = 0;
	int ncand = 0, nlev, i;
	char why[1024];
	ts_status status = TS_OK;

	if (!read_layout(s, &full, why, sizeof why)) {
		ts_error_set(err, TS_EINTERNAL, s->libmsg[0] ? "cannot read image"
		                                             : "unsupported TIFF layout");
		ts_error_detail(err, "%s: IFD0: %s%s%s", s->path, why,
		                s->libmsg[0] ? "; " : "", s->libmsg);
		return TS_EINTERNAL;
	}
	if (lim && lim->max_source_pixels &&
	    (uint64_t)full.width * full.height > lim->max_source_pixels) {
		ts_error_set(err, TS_EFORBIDDEN, "image too large");
		ts_error_detail(err, "%s: %ux%u is more than %llu pixels", s->path,
		                full.width, full.height,
		                (unsigned long long)lim->max_source_pixels);
		return TS_EFORBIDDEN;
	}

	/* Copy the SubIFD offsets now: they live in IFD0's directory, which
	 * the walk below replaces. */
	if (TIFFGetField(s->tif, TIFFTAG_SUBIFD, &nsub, &sub) && sub) {
		if (nsub > MAX_SUBIFDS)
			nsub = MAX_SUBIFDS;
		memcpy(subifds, sub, nsub * sizeof subifds[0]);
	} else {
		nsub = 0;
	}

	cands = malloc((size_t)(MAX_IFDS + MAX_SUBIFDS + 1) * sizeof *cands);
	if (!cands) {
		status = ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto fail;
	}
	cands[ncand++] = full;

	/* (a) later top-level IFDs: vips --pyramid writes one level per page. */
	for (i = 1; i < MAX_IFDS && TIFFReadDirectory(s->tif); i++) {
		if (read_layout(s, &cand, why, sizeof why) && is_reduced_copy(&full, &cand))
			cands[ncand++] = cand;
	}
	/* (b) SubIFDs of IFD0: vips --subifd and others. */
	for (i = 0; i < nsub; i++) {
		if (!TIFFSetSubDirectory(s->tif, subifds[i]))
			continue;
		if (read_layout(s, &cand, why, sizeof why) && is_reduced_copy(&full, &cand))
			cands[ncand++] = cand;
	}
	/* A broken later IFD costs us that level, not the image. */
	s->libmsg[0] = '\0';

	qsort(cands + 1, (size_t)ncand - 1, sizeof *cands, compare_levels);
	s->levels[0] = full;
	nlev = 1;
	for (i = 1; i < ncand && nlev < TS_MAX_LEVELS; i++) {
		const struct tiff_level *prev = &s->levels[nlev - 1];

		/* Strictly decreasing: a duplicate size adds nothing. */
		if (cands[i].width > prev->width || cands[i].height > prev->height ||
		    (cands[i].width == prev->width && cands[i].height == prev->height))
			continue;
		s->levels[nlev++] = cands[i];
	}

	s->base.info.width = full.width;
	s->base.info.height = full.height;
	s->base.info.channels = full.out_channels;
	s->base.info.bits = full.bps;
	s->base.info.nlevels = nlev;
	s->base.info.format = "tiff";
	for (i = 0; i < nlev; i++) {
		s->base.info.levels[i].width = s->levels[i].width;
		s->base.info.levels[i].height = s->levels[i].height;
		s->base.info.levels[i].tile_w = s->levels[i].tile_w;
		s->base.info.levels[i].tile_h = s->levels[i].tile_h;
	}
	/* The directory now selected is whatever the walk ended on. */
	s->cur_level = -1;
fail:
	free(cands);
	return status;
}

/* ---- open / close ---- */

static void tiff_close(struct ts_source *base)
{
	struct tiff_source *s = (struct tiff_source *)base;

	if (!s)
		return;
	if (s->tif)
		TIFFClose(s->tif);      /* closes the descriptor too */
	else if (s->fd >= 0)
		close(s->fd);
	for (int i = 0; i < TS_MAX_LEVELS; i++) {
		free(s->levels[i].tile_off);
		free(s->levels[i].tile_len);
		free(s->levels[i].jpeg_tables);
	}
	free(s->buf);
	free(s->path);
	free((void *)s->base.info.icc);
	free(s);
}

static ts_status tiff_open(int fd, const char *path, const struct ts_source_limits *lim,
                           struct ts_source **out, struct ts_error *err)
{
	struct tiff_source *s;
	TIFFOpenOptions *opts = NULL;
	uint32_t icc_len = 0;
	void *icc = NULL;
	ts_status status;

	*out = NULL;
	pthread_once(&quiet_once, quiet_global_handlers);
	s = calloc(1, sizeof *s);
	if (!s) {
		close(fd);
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	}
	s->base.ops = &ts_tiff_source_ops;
	s->fd = fd;
	s->cur_level = -1;
	s->path = strdup(path ? path : "");
	if (!s->path) {
		status = ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto fail;
	}

	opts = TIFFOpenOptionsAlloc();
	if (!opts) {
		status = ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto fail;
	}
	TIFFOpenOptionsSetMaxSingleMemAlloc(opts, MAX_LIBTIFF_ALLOC);
	TIFFOpenOptionsSetErrorHandlerExtR(opts, on_tiff_error, s);
	TIFFOpenOptionsSetWarningHandlerExtR(opts, on_tiff_warning, s);
	/* "m": no memory mapping (files can be tens of gigabytes and we read
	 * a few tiles); "O": load tile/strip offsets on demand, so a header
	 * declaring millions of strips opens without reading them all.  The
	 * buffered procedures of tiff_io.c make the directory walk a few
	 * preads instead of a hundred seeks and reads. */
	s->tif = ts_tiff_io_open(fd, s->path, "rmO", opts);
	TIFFOpenOptionsFree(opts);
	if (!s->tif) {
		status = libtiff_failure(s, err, "cannot read image", "open");
		goto fail;
	}
	s->fd = -1;     /* TIFFClose closes it from now on */

	/* IFD0's ICC profile (TIFF tag 34675), copied: libtiff frees it when
	 * the level walk below changes directory.  An unusable one is dropped. */
	if (TIFFGetField(s->tif, TIFFTAG_ICCPROFILE, &icc_len, &icc) && icc) {
		s->base.info.icc = ts_icc_dup(icc, icc_len);
		s->base.info.icc_len = s->base.info.icc ? icc_len : 0;
	}

	status = discover_levels(s, lim, err);
	if (status != TS_OK)
		goto fail;
	*out = &s->base;
	return TS_OK;
fail:
	tiff_close(&s->base);
	return status;
}

/* ---- reading ---- */

static ts_status select_level(struct tiff_source *s, int level, struct ts_error *err)
{
	const struct tiff_level *lv = &s->levels[level];
	uint32_t w = 0, h = 0;

	if (s->cur_level == level)
		return TS_OK;
	s->cur_level = -1;
	s->libmsg[0] = '\0';
	if (!TIFFSetSubDirectory(s->tif, lv->diroff))
		return libtiff_failure(s, err, "cannot read image", "select directory");
	if (lv->jpeg_rgb && !TIFFSetField(s->tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB))
		return libtiff_failure(s, err, "cannot read image", "JPEG colour mode");
	/* The same offset must give the same directory we described at open. */
	if (!TIFFGetField(s->tif, TIFFTAG_IMAGEWIDTH, &w) ||
	    !TIFFGetField(s->tif, TIFFTAG_IMAGELENGTH, &h) ||
	    w != lv->width || h != lv->height)
		return libtiff_failure(s, err, "cannot read image", "directory changed");
	s->cur_level = level;
	return TS_OK;
}

static inline uint8_t reduce16(uint16_t v)
{
	return (uint8_t)(((uint32_t)v * 255u + 32767u) / 65535u);
}

/* Undo premultiplication in place: colour = colour * 255 / alpha. */
static void unpremultiply(uint8_t *p, uint32_t n, int channels)
{
	int ncolor = channels - 1, c;
	uint32_t i, a, v;

	for (i = 0; i < n; i++, p += channels) {
		a = p[ncolor];
		if (a == 255)
			continue;
		for (c = 0; c < ncolor; c++) {
			if (a == 0) {
				p[c] = 0;
				continue;
			}
			v = ((uint32_t)p[c] * 255u + a / 2) / a;
			p[c] = (uint8_t)(v > 255 ? 255 : v);
		}
	}
}

/* Convert n decoded pixels of a direct level into 8-bit output samples:
 * keep the first out_channels samples, invert MINISWHITE colour, reduce
 * 16 bits with rounding, undo associated alpha. */
static void convert_direct(const struct tiff_level *lv, const uint8_t *src, uint8_t *dst,
                           uint32_t n)
{
	int oc = lv->out_channels;
	int ncolor = (oc == 2 || oc == 4) ? oc - 1 : oc;
	uint8_t *start = dst;
	uint32_t i;
	int c;

	if (lv->bps == 8) {
		if (!lv->invert && (size_t)oc == lv->in_bpp) {
			memcpy(dst, src, (size_t)n * (size_t)oc);
		} else {
			for (i = 0; i < n; i++, src += lv->in_bpp, dst += oc)
				for (c = 0; c < oc; c++)
					dst[c] = (lv->invert && c < ncolor) ? (uint8_t)(255 - src[c])
					                                    : src[c];
		}
	} else {
		for (i = 0; i < n; i++, src += lv->in_bpp, dst += oc) {
			for (c = 0; c < oc; c++) {
				uint16_t v;

				memcpy(&v, src + 2 * c, 2);  /* libtiff gave native order */
				if (lv->invert && c < ncolor)
					v = (uint16_t)(65535u - v);
				dst[c] = reduce16(v);
			}
		}
	}
	if (lv->premultiplied)
		unpremultiply(start, n, oc);
}

/* Convert n ABGR pixels from TIFFReadRGBA* (one row, left to right). */
static void convert_rgba(const struct tiff_level *lv, const uint32_t *src, uint8_t *dst,
                         uint32_t n)
{
	int oc = lv->out_channels;
	uint8_t *start = dst;
	uint32_t i, p;

	for (i = 0; i < n; i++, dst += oc) {
		p = src[i];
		if (lv->gray_rgba) {
			dst[0] = (uint8_t)TIFFGetR(p);
			if (oc == 2)
				dst[1] = (uint8_t)TIFFGetA(p);
		} else {
			dst[0] = (uint8_t)TIFFGetR(p);
			dst[1] = (uint8_t)TIFFGetG(p);
			dst[2] = (uint8_t)TIFFGetB(p);
			if (oc == 4)
				dst[3] = (uint8_t)TIFFGetA(p);
		}
	}
	if (lv->premultiplied)
		unpremultiply(start, n, oc);
}

static ts_status ensure_buffer(struct tiff_source *s, size_t size, struct ts_error *err)
{
	uint8_t *p;

	if (s->buf_size >= size)
		return TS_OK;
	free(s->buf);
	s->buf = NULL;
	s->buf_size = 0;
	p = malloc(size);
	if (!p)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	s->buf = p;
	s->buf_size = size;
	return TS_OK;
}

static ts_status corrupt_unit(struct tiff_source *s, struct ts_error *err, int level,
                              const char *what, uint32_t index)
{
	ts_error_set(err, TS_EINTERNAL, "corrupt tile");
	ts_error_detail(err, "%s: level %d %s %u: %s", s->path, level, what, index,
	                s->libmsg[0] ? s->libmsg : "short or undecodable data");
	return TS_EINTERNAL;
}

static void begin_decode(struct tiff_source *s)
{
	s->libmsg[0] = '\0';
	s->decode_warned = false;
	s->decoding = true;
}

/* A decode succeeded only if libtiff returned everything and, for JPEG,
 * libjpeg did not warn (it warns, then invents grey, on corrupt data). */
static bool end_decode(struct tiff_source *s, const struct tiff_level *lv, bool ok)
{
	s->decoding = false;
	if (s->decode_warned && (lv->compression == COMPRESSION_JPEG ||
	                         lv->compression == COMPRESSION_OJPEG))
		return false;
	return ok;
}

static ts_status read_tiles(struct tiff_source *s, int level, uint32_t x, uint32_t y,
                            uint32_t w, uint32_t h, struct ts_image *out,
                            struct ts_error *err)
{
	const struct tiff_level *lv = &s->levels[level];
	uint32_t tw = lv->tile_w, th = lv->tile_h;
	uint32_t tx, ty, tx0 = x / tw, tx1 = (x + w - 1) / tw;
	uint32_t ty0 = y / th, ty1 = (y + h - 1) / th;
	uint64_t x_end = (uint64_t)x + w, y_end = (uint64_t)y + h;

	for (ty = ty0; ty <= ty1; ty++) {
		uint64_t oy = (uint64_t)ty * th;
		uint32_t r0 = (uint32_t)(oy > y ? oy : y);
		uint32_t r1 = (uint32_t)(oy + th < y_end ? oy + th : y_end);

		for (tx = tx0; tx <= tx1; tx++) {
			uint64_t ox = (uint64_t)tx * tw;
			uint32_t c0 = (uint32_t)(ox > x ? ox : x);
			uint32_t c1 = (uint32_t)(ox + tw < x_end ? ox + tw : x_end);
			uint32_t tile = TIFFComputeTile(s->tif, (uint32_t)ox, (uint32_t)oy, 0, 0);
			uint32_t r;
			bool ok;

			if (ts_deadline_check(err) != TS_OK)
				return TS_EUNAVAILABLE;
			begin_decode(s);
			if (lv->mode == MODE_DIRECT) {
				tmsize_t n = TIFFReadEncodedTile(s->tif, tile, s->buf,
				                                 (tmsize_t)lv->unit_bytes);
				ok = n >= 0 && (uint64_t)n == lv->unit_bytes;
			} else {
				ok = TIFFReadRGBATileExt(s->tif, (uint32_t)ox, (uint32_t)oy,
				                         (uint32_t *)s->buf, 1) != 0;
			}
			if (!end_decode(s, lv, ok))
				return corrupt_unit(s, err, level, "tile", tile);

			for (r = r0; r < r1; r++) {
				uint8_t *dst = out->pixels + (size_t)(r - y) * out->stride +
				               (size_t)(c0 - x) * (size_t)out->channels;
				size_t row = (size_t)(r - oy);

				if (lv->mode == MODE_DIRECT) {
					const uint8_t *src = s->buf +
					        (row * tw + (c0 - ox)) * lv->in_bpp;
					convert_direct(lv, src, dst, c1 - c0);
				} else {
					/* RGBA tiles come bottom-up, padded to a
					 * full tile by libtiff. */
					const uint32_t *src = (const uint32_t *)s->buf +
					        ((size_t)(th - 1) - row) * tw + (c0 - ox);
					convert_rgba(lv, src, dst, c1 - c0);
				}
			}
		}
	}
	return TS_OK;
}

static ts_status read_strips(struct tiff_source *s, int level, uint32_t x, uint32_t y,
                             uint32_t w, uint32_t h, struct ts_image *out,
                             struct ts_error *err)
{
	const struct tiff_level *lv = &s->levels[level];
	uint32_t rps = lv->rows_per_strip;
	uint32_t st, st0 = y / rps, st1 = (y + h - 1) / rps;
	uint64_t y_end = (uint64_t)y + h;

	for (st = st0; st <= st1; st++) {
		uint64_t oy = (uint64_t)st * rps;
		uint32_t rows = (uint32_t)(oy + rps <= lv->height ? rps : lv->height - oy);
		uint32_t r0 = (uint32_t)(oy > y ? oy : y);
		uint32_t r1 = (uint32_t)(oy + rows < y_end ? oy + rows : y_end);
		uint32_t strip = TIFFComputeStrip(s->tif, (uint32_t)oy, 0);
		uint32_t r;
		bool ok;

		if (ts_deadline_check(err) != TS_OK)
			return TS_EUNAVAILABLE;
		begin_decode(s);
		if (lv->mode == MODE_DIRECT) {
			tmsize_t n = TIFFReadEncodedStrip(s->tif, strip, s->buf,
			                                  (tmsize_t)lv->unit_bytes);
			/* The last strip may be short; it must still hold its rows. */
			ok = n >= 0 && (uint64_t)n >= (uint64_t)rows * lv->width * lv->in_bpp;
		} else {
			ok = TIFFReadRGBAStripExt(s->tif, (uint32_t)oy, (uint32_t *)s->buf, 1) != 0;
		}
		if (!end_decode(s, lv, ok))
			return corrupt_unit(s, err, level, "strip", strip);

		for (r = r0; r < r1; r++) {
			uint8_t *dst = out->pixels + (size_t)(r - y) * out->stride;
			size_t row = (size_t)(r - oy);

			if (lv->mode == MODE_DIRECT) {
				const uint8_t *src = s->buf + (row * lv->width + x) * lv->in_bpp;
				convert_direct(lv, src, dst, w);
			} else {
				/* RGBA strips are bottom-up over the rows they hold. */
				const uint32_t *src = (const uint32_t *)s->buf +
				        ((size_t)(rows - 1) - row) * lv->width + x;
				convert_rgba(lv, src, dst, w);
			}
		}
	}
	return TS_OK;
}

static ts_status tiff_read_region(struct ts_source *base, int level, uint32_t x, uint32_t y,
                                  uint32_t w, uint32_t h, uint64_t budget,
                                  struct ts_image *out, struct ts_error *err)
{
	struct tiff_source *s = (struct tiff_source *)base;
	const struct tiff_level *lv;
	uint64_t units, per_unit, pixels;
	ts_status status;

	memset(out, 0, sizeof *out);
	if (level < 0 || level >= s->base.info.nlevels)
		return ts_error_set(err, TS_EINTERNAL, "internal: no such level");
	lv = &s->levels[level];
	if (w == 0 || h == 0 || x >= lv->width || y >= lv->height ||
	    w > lv->width - x || h > lv->height - y)
		return ts_error_set(err, TS_EINTERNAL, "internal: region outside level");

	/* The work this call implies, in source pixels, before any allocation:
	 * every touched tile or strip is decoded whole. */
	if (lv->tile_w) {
		uint64_t across = (uint64_t)(x + w - 1) / lv->tile_w - x / lv->tile_w + 1;
		uint64_t down = (uint64_t)(y + h - 1) / lv->tile_h - y / lv->tile_h + 1;

		units = across * down;  /* each < 2^32: cannot overflow */
		per_unit = (uint64_t)lv->tile_w * lv->tile_h;
	} else {
		units = (uint64_t)(y + h - 1) / lv->rows_per_strip - y / lv->rows_per_strip + 1;
		per_unit = (uint64_t)lv->rows_per_strip * lv->width;
	}
	if (!ts_mul_u64(units, per_unit, &pixels))
		pixels = UINT64_MAX;
	if (budget && pixels > budget) {
		ts_error_set(err, TS_EFORBIDDEN,
		             "request needs %llu source pixels, more than the limit of %llu",
		             (unsigned long long)pixels, (unsigned long long)budget);
		return TS_EFORBIDDEN;
	}

	status = select_level(s, level, err);
	if (status != TS_OK)
		return status;
	status = ensure_buffer(s, lv->unit_bytes, err);
	if (status != TS_OK)
		return status;
	status = ts_image_alloc(out, w, h, lv->out_channels, err);
	if (status != TS_OK)
		goto fail;

	if (lv->tile_w)
		status = read_tiles(s, level, x, y, w, h, out, err);
	else
		status = read_strips(s, level, x, y, w, h, out, err);
	if (status != TS_OK)
		goto fail;
	if (s->buf_size > KEEP_BUFFER_BYTES) {
		free(s->buf);
		s->buf = NULL;
		s->buf_size = 0;
	}
	return TS_OK;
fail:
	ts_image_free(out);
	if (s->buf_size > KEEP_BUFFER_BYTES) {
		free(s->buf);
		s->buf = NULL;
		s->buf_size = 0;
	}
	return status;
}

/* ---- JPEG levels decoded scaled and in parallel (jpeg_tiles.c) ---- */

/* A region touching at least this many tiles is decoded on the workers;
 * below it, waking them costs more than it saves. */
#define PARALLEL_MIN_TILES 8

/* Tiles TurboJPEG can decode for us: the same ones pass-through serves. */
static bool jpeg_tiled(const struct tiff_level *lv)
{
	return lv->tile_w && lv->compression == COMPRESSION_JPEG && lv->mode == MODE_DIRECT &&
	       lv->bps == 8 && !lv->invert && (lv->out_channels == 1 || lv->out_channels == 3) &&
	       lv->spp == lv->out_channels;
}

static ts_status over_budget(struct ts_error *err, uint64_t pixels, uint64_t budget)
{
	ts_error_set(err, TS_EFORBIDDEN,
	             "request needs %llu source pixels, more than the limit of %llu",
	             (unsigned long long)pixels, (unsigned long long)budget);
	return TS_EFORBIDDEN;
}

/*
 * Describe level lv (selected) for jpeg_tiles.c in *jl and list in tiles
 * the tiles the rectangle (x,y,w,h) touches, row by row; returns their
 * count.  *cost: the pixels TurboJPEG will produce decoding them at 1/d.
 * jl borrows libtiff's JPEG tables: valid while the directory stays
 * selected.
 */
static size_t gather_tiles(struct tiff_source *s, const struct tiff_level *lv, uint32_t x,
                           uint32_t y, uint32_t w, uint32_t h, uint32_t d,
                           struct ts_jpeg_level *jl, struct ts_jpeg_tile *tiles,
                           uint64_t *cost)
{
	uint32_t tw = lv->tile_w, th = lv->tile_h, tx, ty, count = 0;
	uint32_t tx0 = x / tw, tx1 = (x + w - 1) / tw, ty0 = y / th, ty1 = (y + h - 1) / th;
	void *tables = NULL;
	size_t n = 0;

	memset(jl, 0, sizeof *jl);
	jl->fd = TIFFFileno(s->tif);
	jl->path = s->path;
	jl->rgb = lv->photometric == PHOTOMETRIC_RGB;
	jl->tile_w = tw;
	jl->tile_h = th;
	/* Even q100 of noise stays under twice the raw size. */
	jl->max_tile_bytes = lv->unit_bytes * 2 + 65536;
	if (TIFFGetField(s->tif, TIFFTAG_JPEGTABLES, &count, &tables) && tables && count >= 4) {
		jl->tables = tables;
		jl->tables_len = count;
	}
	*cost = 0;
	s->libmsg[0] = '\0';
	for (ty = ty0; ty <= ty1; ty++) {
		for (tx = tx0; tx <= tx1; tx++) {
			struct ts_jpeg_tile *t = &tiles[n++];
			uint64_t px = (uint64_t)tx * tw, py = (uint64_t)ty * th;
			uint32_t dt;

			t->x = (uint32_t)px;
			t->y = (uint32_t)py;
			t->valid_w = (uint32_t)(px + tw <= lv->width ? tw : lv->width - px);
			t->valid_h = (uint32_t)(py + th <= lv->height ? th : lv->height - py);
			t->index = TIFFComputeTile(s->tif, t->x, t->y, 0, 0);
			t->offset = TIFFGetStrileOffset(s->tif, t->index);
			t->bytes = TIFFGetStrileByteCount(s->tif, t->index);
			dt = (uint32_t)ts_jpeg_tile_denom(jl, t, (int)d);
			*cost += (uint64_t)(tw / dt) * (th / dt);  /* < units * 2^26 */
		}
	}
	return n;
}

/*
 * The tiles of level `level` that the rectangle (x,y,w,h) touches, for
 * decoding at 1/d: refused with 403 over budget before the list is even
 * allocated (every tile at 1/d is a lower bound), then listed by
 * gather_tiles (the level selected) and checked again at their exact cost.
 * On success *tiles (malloc'd, the caller frees) holds *n tiles.
 */
static ts_status list_tiles(struct tiff_source *s, int level, uint32_t x, uint32_t y,
                            uint32_t w, uint32_t h, uint32_t d, uint64_t budget,
                            struct ts_jpeg_level *jl, struct ts_jpeg_tile **tiles, size_t *n,
                            struct ts_error *err)
{
	const struct tiff_level *lv = &s->levels[level];
	uint32_t tw = lv->tile_w, th = lv->tile_h;
	uint64_t units = ((uint64_t)(x + w - 1) / tw - x / tw + 1) *
	                 ((uint64_t)(y + h - 1) / th - y / th + 1);
	uint64_t pixels, cost;
	ts_status status;

	*tiles = NULL;
	*n = 0;
	if (!ts_mul_u64(units, (uint64_t)(tw / d) * (th / d), &pixels))
		pixels = UINT64_MAX;
	if (budget && pixels > budget)
		return over_budget(err, pixels, budget);
	if (units > SIZE_MAX / sizeof **tiles)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	status = select_level(s, level, err);
	if (status != TS_OK)
		return status;
	*tiles = malloc((size_t)units * sizeof **tiles);
	if (!*tiles)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	*n = gather_tiles(s, lv, x, y, w, h, d, jl, *tiles, &cost);
	if (budget && cost > budget) {
		free(*tiles);
		*tiles = NULL;
		*n = 0;
		return over_budget(err, cost, budget);
	}
	return TS_OK;
}

/*
 * The scaled read: a mosaic at 1/d of the touched tiles, cut to the blocks
 * of d x d level pixels that meet the rectangle.  Its origin is the
 * rectangle's corner rounded down to a multiple of d, which is also where
 * a tile's scaled pixels start (d divides the tile size).  Budget: the
 * pixels TurboJPEG produces, (tile_w/d')*(tile_h/d') per touched tile, d'
 * being d except for edge tiles decoded finer (ts_jpeg_tile_denom).
 */
static ts_status tiff_read_region_scaled(struct ts_source *base, int level, uint32_t x,
                                         uint32_t y, uint32_t w, uint32_t h, int *denom,
                                         uint64_t budget, struct ts_image *out,
                                         double *origin_x, double *origin_y,
                                         struct ts_error *err)
{
	struct tiff_source *s = (struct tiff_source *)base;
	const struct tiff_level *lv;
	struct ts_jpeg_level jl;
	struct ts_jpeg_tile *tiles = NULL;
	uint32_t tw, th, ox, oy, d;
	uint64_t across, down, units;
	size_t n = 0;
	ts_status status;

	memset(out, 0, sizeof *out);
	*origin_x = x;
	*origin_y = y;
	if (level < 0 || level >= s->base.info.nlevels)
		return ts_error_set(err, TS_EINTERNAL, "internal: no such level");
	lv = &s->levels[level];
	if (w == 0 || h == 0 || x >= lv->width || y >= lv->height ||
	    w > lv->width - x || h > lv->height - y)
		return ts_error_set(err, TS_EINTERNAL, "internal: region outside level");
	d = *denom >= 8 ? 8 : *denom >= 4 ? 4 : *denom >= 2 ? 2 : 1;
	if (!jpeg_tiled(lv))
		d = 1;
	else
		while (d > 1 && (lv->tile_w % d || lv->tile_h % d))
			d /= 2;
	tw = lv->tile_w;
	th = lv->tile_h;
	across = tw ? (uint64_t)(x + w - 1) / tw - x / tw + 1 : 0;
	down = th ? (uint64_t)(y + h - 1) / th - y / th + 1 : 0;
	units = across * down;
	/* Small full-size reads and other codecs: libtiff's own path. */
	if (d == 1 && (!jpeg_tiled(lv) || units < PARALLEL_MIN_TILES)) {
		*denom = 1;
		return tiff_read_region(base, level, x, y, w, h, budget, out, err);
	}

	status = list_tiles(s, level, x, y, w, h, d, budget, &jl, &tiles, &n, err);
	if (status != TS_OK)
		return status;
	ox = x / d * d;
	oy = y / d * d;
	status = ts_image_alloc(out, (x + w - ox + d - 1) / d, (y + h - oy + d - 1) / d,
	                        lv->out_channels, err);
	if (status != TS_OK)
		goto fail;
	status = ts_jpeg_tiles_decode(&jl, tiles, n, (int)d, ox, oy,
	                              n >= PARALLEL_MIN_TILES, out, err);
	if (status != TS_OK)
		goto fail;
	free(tiles);
	*denom = (int)d;
	*origin_x = ox;
	*origin_y = oy;
	return TS_OK;
fail:
	free(tiles);
	ts_image_free(out);
	return status;
}

/*
 * Every stored tile of a whole level, for an answer made from their
 * coefficients (source.h, level_tiles): the same tiles, budget and limits
 * as tiff_read_region_scaled at scale 1 over the whole level.  Only 8-bit
 * 3-channel JPEG-tiled levels; anything else is 501.
 */
static ts_status tiff_level_tiles(struct ts_source *base, int level, uint64_t budget,
                                  ts_stored_tile_fn *fn, void *arg, struct ts_error *err)
{
	struct tiff_source *s = (struct tiff_source *)base;
	const struct tiff_level *lv;
	struct ts_jpeg_level jl;
	struct ts_jpeg_tile *tiles = NULL;
	size_t n;
	ts_status status;

	if (level < 0 || level >= s->base.info.nlevels)
		return ts_error_set(err, TS_EINTERNAL, "internal: no such level");
	lv = &s->levels[level];
	if (!jpeg_tiled(lv) || lv->out_channels != 3)
		return ts_error_set(err, TS_ENOTIMPL, "not a colour JPEG-tiled level");
	status = list_tiles(s, level, 0, 0, lv->width, lv->height, 1, budget, &jl, &tiles, &n, err);
	if (status != TS_OK)
		return status;
	status = ts_jpeg_tiles_each(&jl, tiles, n, n >= PARALLEL_MIN_TILES, fn, arg, err);
	free(tiles);
	return status;
}

/* ---- stored JPEG tiles, for pass-through ---- */

/* Levels with more tiles than this keep reading through libtiff: the index
 * costs 16 bytes a tile per open handle, plus libtiff's own copy of the
 * arrays, which reading them makes it load whole (4 MB each at this cap,
 * a level of 2^18 tiles of 256 x 256: 17 gigapixels). */
#define MAX_INDEXED_TILES ((size_t)1 << 18)

/* Read level's tile offsets, byte counts and JPEG tables once (the index
 * in struct tiff_level).  On any failure the level simply has no index and
 * raw tiles are read through libtiff as before. */
static void load_tile_index(struct tiff_source *s, int level, size_t ntiles)
{
	struct tiff_level *lv = &s->levels[level];
	uint64_t *off = NULL, *len = NULL;
	uint32_t count = 0;
	void *tables = NULL;
	struct ts_error ignored;

	lv->index_tried = true;
	if (ntiles == 0 || ntiles > MAX_INDEXED_TILES)
		return;
	ts_error_clear(&ignored);
	if (select_level(s, level, &ignored) != TS_OK ||
	    (size_t)TIFFNumberOfTiles(s->tif) != ntiles ||
	    !TIFFGetField(s->tif, TIFFTAG_TILEOFFSETS, &off) ||
	    !TIFFGetField(s->tif, TIFFTAG_TILEBYTECOUNTS, &len) || !off || !len)
		return;
	lv->tile_off = malloc(ntiles * sizeof *off);
	lv->tile_len = malloc(ntiles * sizeof *len);
	if (TIFFGetField(s->tif, TIFFTAG_JPEGTABLES, &count, &tables) && tables && count >= 4) {
		lv->jpeg_tables = malloc(count);
		if (lv->jpeg_tables) {
			memcpy(lv->jpeg_tables, tables, count);
			lv->jpeg_tables_len = count;
		}
	}
	if (!lv->tile_off || !lv->tile_len || (count >= 4 && !lv->jpeg_tables)) {
		free(lv->tile_off);
		free(lv->tile_len);
		free(lv->jpeg_tables);
		lv->tile_off = lv->tile_len = NULL;
		lv->jpeg_tables = NULL;
		lv->jpeg_tables_len = 0;
		return;
	}
	memcpy(lv->tile_off, off, ntiles * sizeof *off);
	memcpy(lv->tile_len, len, ntiles * sizeof *len);
}

/* pread all of [off, off+len) into buf; false on a short file or error. */
static bool pread_all(int fd, uint8_t *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	if (off > (uint64_t)INT64_MAX - len)
		return false;
	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

/* Fill the parts of out every raw tile shares: colour model and the size
 * of the tile that lies inside the level. */
static void raw_tile_geometry(const struct tiff_level *lv, uint64_t ox, uint64_t oy,
                              struct ts_raw_tile *out)
{
	out->rgb = lv->photometric == PHOTOMETRIC_RGB;
	out->gray = lv->out_channels == 1;
	out->valid_w = (uint32_t)(ox + lv->tile_w <= lv->width ? lv->tile_w : lv->width - ox);
	out->valid_h = (uint32_t)(oy + lv->tile_h <= lv->height ? lv->tile_h : lv->height - oy);
}

/* out->data for a stored tile of `bytes` bytes.  A JPEG stream is at
 * least SOI..EOI; max_bytes (and what libtiff can read at once) keeps a
 * lying byte count from becoming a huge allocation: 500 "corrupt tile". */
static ts_status raw_alloc(struct tiff_source *s, int level, uint32_t tile, uint64_t bytes,
                           size_t max_bytes, struct ts_raw_tile *out, struct ts_error *err)
{
	if (bytes < 4 || bytes > max_bytes || bytes > (uint64_t)TIFF_TMSIZE_T_MAX) {
		ts_error_set(err, TS_EINTERNAL, "corrupt tile");
		ts_error_detail(err, "%s: level %d tile %u: stored size %llu", s->path, level,
		                tile, (unsigned long long)bytes);
		return TS_EINTERNAL;
	}
	out->data = malloc((size_t)bytes);
	if (!out->data)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	return TS_OK;
}

/* A stored tile through the level's index: one pread, no libtiff. */
static ts_status indexed_raw_tile(struct tiff_source *s, const struct tiff_level *lv, int level,
                                  uint32_t tile, uint64_t ox, uint64_t oy, size_t max_bytes,
                                  struct ts_raw_tile *out, struct ts_error *err)
{
	uint64_t bytes = lv->tile_len[tile];
	ts_status st = raw_alloc(s, level, tile, bytes, max_bytes, out, err);

	if (st != TS_OK)
		return st;
	if (!pread_all(TIFFFileno(s->tif), out->data, (size_t)bytes, lv->tile_off[tile]) ||
	    out->data[0] != 0xFF || out->data[1] != 0xD8) {
		free(out->data);
		memset(out, 0, sizeof *out);
		ts_error_set(err, TS_EINTERNAL, "corrupt tile");
		ts_error_detail(err, "%s: level %d tile %u: short or not JPEG at offset %llu",
		                s->path, level, tile, (unsigned long long)lv->tile_off[tile]);
		return TS_EINTERNAL;
	}
	out->len = (size_t)bytes;
	if (lv->jpeg_tables) {
		out->tables = malloc(lv->jpeg_tables_len);
		if (!out->tables) {
			free(out->data);
			memset(out, 0, sizeof *out);
			return ts_error_set(err, TS_EINTERNAL, "out of memory");
		}
		memcpy(out->tables, lv->jpeg_tables, lv->jpeg_tables_len);
		out->tables_len = lv->jpeg_tables_len;
	}
	raw_tile_geometry(lv, ox, oy, out);
	return TS_OK;
}

static ts_status tiff_raw_tile(struct ts_source *base, int level, uint32_t col, uint32_t row,
                               size_t max_bytes, struct ts_raw_tile *out, struct ts_error *err)
{
	struct tiff_source *s = (struct tiff_source *)base;
	const struct tiff_level *lv;
	uint32_t across, down, tile, count = 0;
	uint64_t ox, oy, bytes;
	void *tables = NULL;
	tmsize_t n;
	ts_status status;

	memset(out, 0, sizeof *out);
	if (level < 0 || level >= s->base.info.nlevels)
		return ts_error_set(err, TS_EINTERNAL, "internal: no such level");
	lv = &s->levels[level];
	/* Only what a browser shows as the image: 8-bit gray or colour JPEG,
	 * no alpha, no MINISWHITE inversion to apply. */
	if (!lv->tile_w || lv->compression != COMPRESSION_JPEG || lv->mode != MODE_DIRECT ||
	    lv->bps != 8 || lv->invert || (lv->out_channels != 1 && lv->out_channels != 3) ||
	    lv->spp != lv->out_channels)
		return ts_error_set(err, TS_ENOTIMPL, "no stored tiles to pass through");
	across = lv->width / lv->tile_w + (lv->width % lv->tile_w != 0);
	down = lv->height / lv->tile_h + (lv->height % lv->tile_h != 0);
	if (col >= across || row >= down)
		return ts_error_set(err, TS_EINTERNAL, "internal: region outside level");

	ox = (uint64_t)col * lv->tile_w;
	oy = (uint64_t)row * lv->tile_h;
	if (!lv->index_tried)
		load_tile_index(s, level, (size_t)across * down);
	if (lv->tile_off)
		return indexed_raw_tile(s, lv, level, row * across + col, ox, oy, max_bytes, out, err);

	status = select_level(s, level, err);
	if (status != TS_OK)
		return status;
	tile = TIFFComputeTile(s->tif, (uint32_t)ox, (uint32_t)oy, 0, 0);
	s->libmsg[0] = '\0';
	bytes = TIFFGetStrileByteCount(s->tif, tile);
	status = raw_alloc(s, level, tile, bytes, max_bytes, out, err);
	if (status != TS_OK)
		return status;
	n = TIFFReadRawTile(s->tif, tile, out->data, (tmsize_t)bytes);
	if (n < 0 || (uint64_t)n != bytes || out->data[0] != 0xFF || out->data[1] != 0xD8) {
		status = corrupt_unit(s, err, level, "tile", tile);
		goto fail;
	}
	out->len = (size_t)bytes;

	if (TIFFGetField(s->tif, TIFFTAG_JPEGTABLES, &count, &tables) && tables && count >= 4) {
		out->tables = malloc(count);
		if (!out->tables) {
			status = ts_error_set(err, TS_EINTERNAL, "out of memory");
			goto fail;
		}
		memcpy(out->tables, tables, count);
		out->tables_len = count;
	}
	raw_tile_geometry(lv, ox, oy, out);
	return TS_OK;
fail:
	free(out->data);
	free(out->tables);
	memset(out, 0, sizeof *out);
	return status;
}

const struct ts_source_ops ts_tiff_source_ops = {
	.name = "tiff",
	.sniff = tiff_sniff,
	.open = tiff_open,
	.read_region = tiff_read_region,
	.close = tiff_close,
	.raw_tile = tiff_raw_tile,
	.read_region_scaled = tiff_read_region_scaled,
	.level_tiles = tiff_level_tiles,
};
