/*
 * convert.h - turning any image Tessera reads into a tiled pyramid, in
 * bounded memory (src/convert/, the command in src/cli/convert.c, the
 * server's on-demand pyramids in src/serve/ or src/cache/).
 *
 * The one idea: the image is never held whole.  A row source (struct
 * ts_rows) hands out bands of full-resolution 8-bit rows from the top down;
 * the pyramid builder (ts_pyramid_*) halves every band as it arrives and
 * hands each level's rows, top down, to one sink (struct ts_level_sink).
 * A sink keeps at most one band of tiles per level (tile height + overlap
 * rows of the level's width) and writes each band out as soon as it is
 * complete.  Memory is therefore about
 *     sum over levels of (tile_h + 2*overlap) * level_width * channels
 * plus the row source's own buffer, whatever the image height.
 *
 * Geometry of the levels: levels[0] is the source's full size, level k+1 is
 * ceil(w/2) x ceil(h/2) of level k (the same rule as the planner's and the
 * DeepZoom/IIIF scale factors), down to the first level that fits in one
 * tile (TIFF, Zoomify, IIIF) or down to 1x1 (DeepZoom); JP2 takes level 0
 * only (its wavelet makes the resolutions).  A sink that needs another
 * rule (Zoomify's tiers) derives it from these rows itself.  Downsampling is
 * a 2x2 box average, edge pixels of an odd size averaged with themselves.
 *
 * Failures are ts_status values with one public sentence in struct
 * ts_error (status.h); the CLI maps them to exit codes.  Output files are
 * written under a temporary name in the same folder and renamed into place
 * only when complete; on failure nothing is left under the final name.
 */
#ifndef TESSERA_CONVERT_H
#define TESSERA_CONVERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "image.h"
#include "status.h"

/* ---- what to write ---------------------------------------------------- */

enum ts_convert_kind {
	TS_CONVERT_TIFF = 0,    /* pyramidal tiled TIFF (BigTIFF past 4 GB)   */
	TS_CONVERT_JP2,         /* JPEG 2000 (JP2 boxes) through OpenJPEG      */
	TS_CONVERT_DEEPZOOM,    /* OUT.dzi + OUT_files/{level}/{col}_{row}.ext */
	TS_CONVERT_ZOOMIFY,     /* OUT/ImageProperties.xml + OUT/TileGroupN/   */
	TS_CONVERT_IIIF         /* OUT/info.json (+ v2) + level-0 tile tree    */
};

enum ts_convert_compression {
	TS_COMP_JPEG = 0,
	TS_COMP_DEFLATE,
	TS_COMP_WEBP,
	TS_COMP_ZSTD,
	TS_COMP_PNG             /* tile trees only: tiles as .png */
};

/* One progress report: rows of level 0 done out of the total.  Called from
 * the converting thread, at most a few times a second. */
struct ts_convert_progress {
	const char *input;
	uint64_t rows_done, rows_total;
	double seconds;          /* since the start */
	const char *step;        /* "read", "write", "rename", "done" */
};
typedef void ts_convert_progress_fn(void *arg, const struct ts_convert_progress *p);

struct ts_convert_opts {
	enum ts_convert_kind kind;
	enum ts_convert_compression compression;
	int quality;             /* JPEG/WebP 1..100 (default 85) */
	bool chroma_444;         /* JPEG tiles without 4:2:0 subsampling */
	uint32_t tile;           /* tile side (default 256; 512 or 1024 for JP2) */
	uint32_t overlap;        /* DeepZoom only (default 1) */
	bool tiff_subifds;       /* levels as SubIFDs (default: pages) */
	bool lossless;           /* JP2: reversible 5/3 */
	bool htj2k;              /* JP2: HTJ2K (Part 15) through OpenJPH, if built with it */
	int jp2_levels;          /* JP2 resolution levels; 0 = down to below a tile */
	const char *base_url;    /* IIIF tree: the id prefix (the tree's public URL) */
	const char *iiif_id;     /* IIIF tree: identifier appended to base_url */
	size_t memory_mb;        /* bound on the converter's working set (bands,
	                          * tiles in flight, a progressive JPEG's
	                          * coefficients), checked before converting:
	                          * 403 when over; 0 = no bound */
	int threads;             /* encoder threads; 0 = number of cores */
	uint64_t max_source_pixels; /* refuse larger inputs before allocating; 0 = none */
	/* Set to nonzero from another thread to stop: 499-like 503 "cancelled",
	 * temporary output removed.  NULL = never. */
	volatile const int *cancel;
	ts_convert_progress_fn *progress; /* NULL = silent */
	void *progress_arg;
};

/* Defaults for every field (kind TIFF, JPEG q85 4:2:0, tile 256...). */
void ts_convert_opts_default(struct ts_convert_opts *o);

/*
 * Convert the file `in` into `out` as o->kind says.  Reads the input once,
 * top to bottom.  404 when `in` does not exist; 403 for an input beyond
 * max_source_pixels or a working set beyond memory_mb (both refused before
 * any pixel buffer is allocated); 400 for a bad option (tile size); 501
 * for a kind whose sink is not built in ("output kind not built") or a
 * compression the TIFF library cannot read back; 500 for an input Tessera
 * cannot read (status.h has no 415), a truncated or corrupt input, or a
 * write error (the public sentence says which; paths only in err->detail);
 * 503 when cancelled.  Nothing is left under `out` unless it returns TS_OK
 * (nor any temporary file).  Thread-safe: conversions may run at once.
 */
ts_status ts_convert_file(const char *in, const char *out, const struct ts_convert_opts *o,
                          struct ts_error *err);

/* ---- row sources (src/convert/rows*.c) ----------------------------------- */

/* A streaming reader of full-resolution 8-bit rows, top to bottom. */
struct ts_rows {
	uint32_t width, height;
	int channels;            /* 1..4 as struct ts_image */
	const unsigned char *icc; size_t icc_len; /* embedded profile or NULL */
	double xres, yres;       /* pixels per inch, 0 = unknown */
	int orientation;         /* EXIF orientation already applied: always 1 */
	uint32_t band_rows;      /* rows next() likes to hand at once (a tile
	                          * or strip height; 0 = any): the builder
	                          * reads bands of a multiple of it */
	uint64_t mem_bytes;      /* what the source itself holds while open
	                          * (a progressive JPEG's coefficients), for
	                          * the --memory check */
	/* Fill band (allocated by the caller: band->width == width, channels
	 * equal) with the next band->height rows (fewer at the bottom: *got). */
	ts_status (*next)(struct ts_rows *r, struct ts_image *band, uint32_t *got,
	                  struct ts_error *err);
	void (*close)(struct ts_rows *r);
};

/* Open a row source for any file Tessera reads; limits as above.  The
 * source is closed with r->close(r) (accepts NULL through ts_rows_close). */
ts_status ts_rows_open(const char *path, uint64_t max_source_pixels, struct ts_rows **out,
                       struct ts_error *err);
/* Close a row source; accepts NULL. */
void ts_rows_close(struct ts_rows *r);

/* ---- level sinks (src/convert/sink_*.c) ----------------------------------- */

struct ts_pyramid_geometry {
	int nlevels;                     /* levels[0] full size */
	uint32_t width[32], height[32];
	int channels;
};

/* Where the pyramid's rows go.  begin once with the geometry; rows for each
 * level top down, in bands (band->height rows starting at level row y; bands
 * of different levels interleave); finish once after every level's last row
 * (commit: rename into place) or abort on any failure (remove the temporary
 * output).  A sink owns its state; destroy frees it after finish or abort. */
struct ts_level_sink {
	ts_status (*begin)(struct ts_level_sink *s, const struct ts_pyramid_geometry *g,
	                   const struct ts_rows *src, struct ts_error *err);
	ts_status (*rows)(struct ts_level_sink *s, int level, uint32_t y,
	                  const struct ts_image *band, struct ts_error *err);
	ts_status (*finish)(struct ts_level_sink *s, struct ts_error *err);
	void (*abort)(struct ts_level_sink *s);
	void (*destroy)(struct ts_level_sink *s);
};

/* Sinks, one per output kind: out is the final name, o the options. */
ts_status ts_sink_tiff_new(const char *out, const struct ts_convert_opts *o,
                           struct ts_level_sink **sink, struct ts_error *err);
ts_status ts_sink_jp2_new(const char *out, const struct ts_convert_opts *o,
                          struct ts_level_sink **sink, struct ts_error *err);
/* HTJ2K (JPEG 2000 Part 15) through OpenJPH (sink_htj2k.c): JPH boxes, or a
 * raw codestream when out ends .j2c/.j2k/.jhc.  501 when built without
 * OpenJPH; ts_convert_htj2k_built() says which. */
ts_status ts_sink_htj2k_new(const char *out, const struct ts_convert_opts *o,
                            struct ts_level_sink **sink, struct ts_error *err);
bool ts_convert_htj2k_built(void);
ts_status ts_sink_deepzoom_new(const char *out, const struct ts_convert_opts *o,
                               struct ts_level_sink **sink, struct ts_error *err);
ts_status ts_sink_zoomify_new(const char *out, const struct ts_convert_opts *o,
                              struct ts_level_sink **sink, struct ts_error *err);
ts_status ts_sink_iiif_new(const char *out, const struct ts_convert_opts *o,
                           struct ts_level_sink **sink, struct ts_error *err);

/* The number of levels of a pyramid that stops at the first level whose
 * both sides are <= stop_side (stop_side 1: down to 1x1). */
int ts_pyramid_levels(uint32_t width, uint32_t height, uint32_t stop_side,
                      struct ts_pyramid_geometry *g);

/* ---- the pyramid builder (src/convert/pyramid.c) ------------------------ */

/*
 * Read src to its end in bands of band_rows rows (0: o->tile; rounded up to
 * an even multiple of src->band_rows), hand every band to sink->rows at
 * level 0 and each halving to the next level, as g says (g from
 * ts_pyramid_levels on src's size, g->channels == src->channels).  Calls
 * sink->begin first and sink->finish last; on failure calls sink->abort
 * and returns the status (503 when o->cancel was set).  Borrows src and
 * sink (the caller closes and destroys them).  o may be NULL (no progress,
 * no cancel).  Its own memory: one source band plus about one band of rows
 * per level, besides what the sink keeps.
 */
ts_status ts_pyramid_build(struct ts_rows *src, const struct ts_pyramid_geometry *g,
                           uint32_t band_rows, struct ts_level_sink *sink,
                           const struct ts_convert_opts *o, const char *input,
                           struct ts_error *err);

/* Halve rows a and b (b may be a: an odd last row) of a level `w` pixels
 * wide into one row of ceil(w/2) pixels: the exact 2x2 box average,
 * rounded half up; an odd last column is averaged with itself. */
void ts_pyramid_halve_row(const uint8_t *a, const uint8_t *b, uint32_t w, int channels,
                          uint8_t *out);

/* A fresh temporary name beside `out` (same folder, so the final rename
 * is atomic): "DIR/.BASE.tmp-PID-N".  A new malloc'd string, NULL when out
 * of memory.  Sinks create it with O_EXCL and rename it into place. */
char *ts_convert_temp_path(const char *out);

/* The kind named by a --format word or by a file name's suffix ("tif",
 * "tiff", "jp2", "dzi", "zoomify", "iiif"); -1 when none fits. */
int ts_convert_kind_parse(const char *word);
/* The kind an output name implies: its suffix (.tif/.tiff/.jp2/.dzi...),
 * -1 when it has none of those. */
int ts_convert_kind_of_path(const char *path);

#endif
