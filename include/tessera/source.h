/*
 * source.h - decoders of image files (src/source/).
 *
 * A source is an opened image file: its geometry (levels of the pyramid,
 * tile sizes) and a way to decode a rectangle of one level into 8-bit
 * pixels.  ts_source_open sniffs the format by magic bytes and dispatches to
 * the matching reader (tiff_read.c now; jp2, jpeg and png later) through
 * struct ts_source_ops.  A source is used by one thread at a time.
 *
 * Work is bounded before it is done: open refuses declared sizes beyond
 * limits->max_source_pixels; read_region computes how many source pixels it
 * would decode (whole tiles or strips touched) and refuses with 403 when
 * that exceeds `budget`, before allocating anything.
 */
#ifndef TESSERA_SOURCE_H
#define TESSERA_SOURCE_H

#include <stdint.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "image.h"
#include "plan.h"
#include "status.h"

struct ts_source_level {
	uint32_t width, height;
	uint32_t tile_w, tile_h;   /* 0,0 when the level is stored in strips */
};

struct ts_source_info {
	uint32_t width, height;    /* full resolution == levels[0] */
	int channels;              /* channels read_region returns: 1..4 */
	int bits;                  /* bits per sample in the file (8, 16...) */
	int nlevels;               /* >= 1, levels[0] is the largest */
	struct ts_source_level levels[TS_MAX_LEVELS];
	const char *format;        /* "tiff", ... (static string) */
	/* The embedded ICC profile (icc.h: already checked usable, 'RGB ' or
	 * 'GRAY'), or NULL/0.  Owned by the source, valid while it is open. */
	const unsigned char *icc;
	size_t icc_len;
	/* Source pixels every read decodes at least, whatever the level and
	 * rectangle (a progressive JPEG is buffered whole at full size before
	 * its first row); 0 when reads cost only what they touch.  For those
	 * who cost a request before making it (present/json3.c). */
	uint64_t min_decode;
};

struct ts_tile_cache;

struct ts_source_limits {
	uint64_t max_source_pixels; /* refuse larger declared full sizes; 0 = none */
	/* Decoded-tile cache (tile_cache.h) readers may keep whole decoded tiles
	 * in (JPEG 2000 does); borrowed, outlives every source; NULL = none. */
	struct ts_tile_cache *tiles;
	/* htj2k_decoder = openjpeg: OpenJPH is never used for these sources. */
	bool htj2k_openjpeg;
};

struct ts_source;

/* A stored JPEG tile, still compressed, for pass-through (passthrough.h).
 * Every pointer is malloc'd and owned by the struct: ts_raw_tile_free. */
struct ts_raw_tile {
	unsigned char *tables;      /* the level's JPEGTables (SOI..EOI), or NULL */
	size_t tables_len;
	unsigned char *data;        /* the tile's abbreviated stream (SOI..EOI) */
	size_t len;
	bool rgb;                   /* components are R,G,B (photometric RGB), not YCbCr */
	bool gray;                  /* a single component */
	uint32_t valid_w, valid_h;  /* the tile's true size (edge tiles are padded) */
};

/* One stored JPEG tile for level_tiles: jpeg[0..len) a complete stream
 * (tables merged; rgb: its components are R,G,B), its top-left at level
 * pixel (x, y).  A failure's reason goes in detail (detail_size bytes). */
typedef ts_status ts_stored_tile_fn(void *arg, const unsigned char *jpeg, size_t len, bool rgb,
                                    uint32_t x, uint32_t y, char *detail, size_t detail_size);

struct ts_source_ops {
	const char *name;
	/* true when the first bytes (n >= 16 available) look like this format */
	bool (*sniff)(const unsigned char *head, size_t n);
	/* fd is open for reading at any offset; open takes ownership of it
	 * whether it succeeds or fails (the source closes it).  path is for
	 * the private error detail only. */
	ts_status (*open)(int fd, const char *path, const struct ts_source_limits *lim,
	                  struct ts_source **out, struct ts_error *err);
	ts_status (*read_region)(struct ts_source *s, int level, uint32_t x, uint32_t y,
	                         uint32_t w, uint32_t h, uint64_t budget,
	                         struct ts_image *out, struct ts_error *err);
	void (*close)(struct ts_source *s);
	/* Optional (NULL: never): see ts_source_raw_tile. */
	ts_status (*raw_tile)(struct ts_source *s, int level, uint32_t col, uint32_t row,
	                      size_t max_bytes, struct ts_raw_tile *out, struct ts_error *err);
	/* Optional (NULL: read_region is used): see ts_source_read_region_scaled. */
	ts_status (*read_region_scaled)(struct ts_source *s, int level, uint32_t x, uint32_t y,
	                                uint32_t w, uint32_t h, int *denom, uint64_t budget,
	                                struct ts_image *out, double *origin_x,
	                                double *origin_y, struct ts_error *err);
	/* Optional (NULL: never).  Every stored tile of `level` (JPEG-tiled,
	 * 3 components) handed to fn, each as a complete JPEG stream with its
	 * top-left in level pixels; together they cover the level exactly
	 * once.  fn may run on several threads at once, for different tiles.
	 * For answers made from the tiles' coefficients (the whole level at
	 * its own size, ts_jpeg_transcode_*).  budget as read_region: the
	 * level's pixels.  501 when the level is not stored so, or when fn
	 * returns 501; fn's other failures and unreadable tiles are 500. */
	ts_status (*level_tiles)(struct ts_source *s, int level, uint64_t budget,
	                         ts_stored_tile_fn *fn, void *arg, struct ts_error *err);
};

/* Every source begins with this header (readers embed it first). */
struct ts_source {
	const struct ts_source_ops *ops;
	struct ts_source_info info;
	/* Filled by source.c after the reader's open, for decoder crash
	 * containment (include/tessera/contain.h): the file's identity, and
	 * whether OpenJPH may decode it (htj2k_decoder, or a quarantine). */
	struct stat st;
	bool no_openjph;
	unsigned contain_gen;      /* quarantine generation last looked at */
	int contain_level;         /* its quarantine level then (2: refused) */
};

/* Tiles of HTJ2K files OpenJPH has decoded in this process (a counter for
 * /metrics: tessera_openjph_tiles_total). */
unsigned long long ts_source_openjph_tiles(void);

/*
 * Open the file at path (already confined to the root by the resolver).
 * Takes ownership of nothing; the returned source owns its own descriptor.
 * 404 if the file does not exist; an unsupported or corrupt file is 500 with
 * the public message "cannot read image" (the path goes in err->detail).
 */
ts_status ts_source_open(const char *path, const struct ts_source_limits *lim,
                         struct ts_source **out, struct ts_error *err);

/* ts_source_open, but only of the file whose identity (st_dev, st_ino) the
 * resolver saw in expect (NULL: any): a path that leads elsewhere by now,
 * e.g. through a symlink changed since, is 404. */
ts_status ts_source_open_as(const char *path, const struct stat *expect,
                            const struct ts_source_limits *lim, struct ts_source **out,
                            struct ts_error *err);

/* Decode the rectangle (x,y,w,h) of `level` (level pixel coordinates; the
 * caller keeps it inside the level) into a new image owned by the caller.
 * budget: max source pixels this call may decode (0 = unlimited); over it,
 * 403 before any allocation. */
ts_status ts_source_read_region(struct ts_source *s, int level, uint32_t x, uint32_t y,
                                uint32_t w, uint32_t h, uint64_t budget,
                                struct ts_image *out, struct ts_error *err);

/*
 * Decode the rectangle (x,y,w,h) of `level` reduced by up to *denom (1, 2,
 * 4 or 8) in each axis, for callers that will shrink it anyway.  On
 * success *out (owned by the caller) is a mosaic whose pixel (i,j) stands
 * for the *denom x *denom block of level pixels starting at
 * (*origin_x + i * *denom, *origin_y + j * *denom), a block cut by the
 * level's edge standing for its part inside.  The mosaic covers the whole
 * rectangle and may start before it (origin <= x,y) and end after it.
 * *denom comes back as the reduction actually used, which may be smaller
 * than asked (1 for formats without a cheap reduced decode: then this is
 * ts_source_read_region and the origin is x,y).  budget counts the pixels
 * actually decoded at the reduced scale (0 = unlimited); over it, 403
 * before any pixel allocation.  TIFF JPEG levels also decode regions of
 * many tiles on several threads here.
 */
ts_status ts_source_read_region_scaled(struct ts_source *s, int level, uint32_t x, uint32_t y,
                                       uint32_t w, uint32_t h, int *denom, uint64_t budget,
                                       struct ts_image *out, double *origin_x,
                                       double *origin_y, struct ts_error *err);

/*
 * Copy stored tile (col,row) of `level` without decoding it, for serving it
 * as is.  Only 8-bit gray or colour JPEG-compressed tiles without alpha
 * qualify; anything else is 501 (decode instead).  A tile whose stored size
 * is 0 or above max_bytes, or that is not a JPEG stream, is 500 "corrupt
 * tile".  On success *out owns its buffers (ts_raw_tile_free).
 */
ts_status ts_source_raw_tile(struct ts_source *s, int level, uint32_t col, uint32_t row,
                             size_t max_bytes, struct ts_raw_tile *out, struct ts_error *err);
/* Free a raw tile's buffers and zero it. Accepts NULL. */
void ts_raw_tile_free(struct ts_raw_tile *t);

/* Close and free. Accepts NULL. */
void ts_source_close(struct ts_source *s);

/* The planner's view of the source. */
void ts_source_geometry(const struct ts_source *s, struct ts_geometry *g);

/* Readers (defined in their own files). */
extern const struct ts_source_ops ts_tiff_source_ops;
extern const struct ts_source_ops ts_jp2_source_ops;   /* JP2 boxes and raw J2K */
extern const struct ts_source_ops ts_jpeg_source_ops;  /* JFIF/EXIF JPEG */
extern const struct ts_source_ops ts_png_source_ops;

#endif
