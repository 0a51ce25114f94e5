/*
 * tiff_levels.c - what a TIFF holds, found once at open (tiff_internal.h):
 * each directory's layout, and the pyramid's levels among the IFDs.
 *
 * IFD0 is full resolution, and every later top-level IFD and every SubIFD
 * of IFD0 that looks like a reduced copy of it (smaller, same aspect ratio
 * within rounding, same samples) becomes a pyramid level; masks,
 * thumbnails of another shape and unrelated pages are skipped.
 *
 * Layouts we convert ourselves ("direct"): contiguous 8/16-bit unsigned gray,
 * gray+alpha, RGB, RGBA, MINISWHITE, and JPEG-in-TIFF YCbCr (libjpeg converts
 * to RGB).  Anything else libtiff's RGBA interface understands (palette,
 * bilevel, CMYK, separate planes, OJPEG, subsampled YCbCr...) goes through
 * TIFFReadRGBATile/Strip; the rest is refused as "unsupported TIFF layout".
 *
 * The one idea: the size of one decoded tile or strip is fixed here, and
 * checked against what libtiff says the unit holds, so every later read
 * can size its buffer before decoding and never over-read.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>
#include "tessera/checked.h"
#include "tessera/source.h"
#include "tiff_internal.h"

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

ts_status ts_tiff_discover_levels(struct tiff_source *s, const struct ts_source_limits *lim,
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
