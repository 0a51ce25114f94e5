/*
 * tiff_internal.h - the TIFF source's shared state and the seams between
 * its files, private to src/source/.
 *
 *   tiff_read.c    the source itself: libtiff's messages caught per handle,
 *                  sniff, open/close, selecting a level's directory, the
 *                  checks every read starts with, the ops table.
 *   tiff_levels.c  what the file holds: one directory's layout (direct or
 *                  through libtiff's RGBA interface) and the walk of the
 *                  IFDs and SubIFDs that finds the pyramid's levels.
 *   tiff_pixels.c  read_region: the touched tiles or strips decoded by
 *                  libtiff one at a time into one buffer and converted to
 *                  8-bit samples.
 *   tiff_scaled.c  JPEG-tiled levels decoded at 1/2..1/8 and on several
 *                  threads (jpeg_tiles.c): read_region_scaled, level_tiles.
 *   tiff_raw.c     stored JPEG tiles handed out as they are (pass-through),
 *                  through an index of the level's tiles.
 *
 * A struct tiff_source is used by one thread at a time (source.h): the
 * selected directory, the decode buffer and the message buffer are its own.
 */
#ifndef TESSERA_TIFF_INTERNAL_H
#define TESSERA_TIFF_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tiffio.h>
#include "tessera/source.h"

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

/* ---- tiff_read.c ---- */

/* 500 with public_msg; the detail names the file, what failed and
 * libtiff's first message since s->libmsg was cleared. */
ts_status ts_tiff_libtiff_failure(struct tiff_source *s, struct ts_error *err,
                                  const char *public_msg, const char *what);
/* 500 "corrupt tile" for tile or strip `index` of `level` ("tile",
 * "strip"), with libtiff's message in the detail. */
ts_status ts_tiff_corrupt_unit(struct tiff_source *s, struct ts_error *err, int level,
                               const char *what, uint32_t index);
/* 403: the request needs `pixels` source pixels, more than `budget`. */
ts_status ts_tiff_over_budget(struct ts_error *err, uint64_t pixels, uint64_t budget);
/* 500 "internal: no such level" unless 0 <= level < nlevels. */
ts_status ts_tiff_check_level(const struct tiff_source *s, int level, struct ts_error *err);
/* ts_tiff_check_level, and 500 "internal: region outside level" unless
 * (x, y, w, h) is a non-empty rectangle inside the level; *lv is the
 * level (borrowed from s). */
ts_status ts_tiff_check_region(const struct tiff_source *s, int level, uint32_t x, uint32_t y,
                               uint32_t w, uint32_t h, const struct tiff_level **lv,
                               struct ts_error *err);
/* Make level's directory the current one (a no-op when it is), checking
 * it is still the one described at open. */
ts_status ts_tiff_select_level(struct tiff_source *s, int level, struct ts_error *err);

/* ---- tiff_levels.c ---- */

/* With IFD0 selected: describe it, refuse it over lim's pixels, and find
 * the reduced copies among the later IFDs and IFD0's SubIFDs; fills
 * s->levels and s->base.info.  Leaves no directory selected (cur_level
 * -1). */
ts_status ts_tiff_discover_levels(struct tiff_source *s, const struct ts_source_limits *lim,
                                  struct ts_error *err);

/* ---- tiff_pixels.c, tiff_scaled.c, tiff_raw.c: the ops ---- */

ts_status ts_tiff_read_region(struct ts_source *base, int level, uint32_t x, uint32_t y,
                              uint32_t w, uint32_t h, uint64_t budget, struct ts_image *out,
                              struct ts_error *err);
/* Whether lv's stored tiles are JPEG a browser or TurboJPEG takes as they
 * are: tiled, 8-bit gray or colour, no alpha, no MINISWHITE inversion. */
bool ts_tiff_jpeg_tiled(const struct tiff_level *lv);
ts_status ts_tiff_read_region_scaled(struct ts_source *base, int level, uint32_t x, uint32_t y,
                                     uint32_t w, uint32_t h, int *denom, uint64_t budget,
                                     struct ts_image *out, double *origin_x, double *origin_y,
                                     struct ts_error *err);
ts_status ts_tiff_level_tiles(struct ts_source *base, int level, uint64_t budget,
                              ts_stored_tile_fn *fn, void *arg, struct ts_error *err);
ts_status ts_tiff_raw_tile(struct ts_source *base, int level, uint32_t col, uint32_t row,
                           size_t max_bytes, struct ts_raw_tile *out, struct ts_error *err);

#endif
