/*
 * jp2_read.c - JPEG 2000 source (JP2 box files and raw J2K codestreams):
 * open, close, and read_region's choice of what to decode.
 *
 * Where it sits: ts_source_open sniffs the magic and hands us the file
 * descriptor; jp2_header.c measures the file before any library sees it,
 * jp2_opj.c decodes windows with OpenJPEG, and the planner then asks
 * read_region for rectangles of one resolution level.
 *
 * The one idea: decode what this request needs unless its neighbours are
 * coming.  With a decoded-tile cache (ts_source_limits.tiles, tile_cache.h)
 * a window can be served two ways: decode just the window at its reduce
 * factor (OpenJPEG 2.5 decodes only the code-blocks it touches and a
 * partial inverse wavelet), or decode the whole code-stream tiles it touches
 * into the cache and copy from them, so that the sixteen 256-pixel tiles a
 * viewer asks for inside one 1024x1024 code-stream tile cost one decode.
 * The first wins a first look, the second a walk.  Measured on the corpus'
 * dragonfly.jp2 (4224x3168, 1024x1024 tiles, RPCL, 256 precincts, 64x64
 * code-blocks, 9/7), CPU ms of one cold read (bench/jp2_window.c, a loaded
 * 2-core box, medians of 5):
 *
 *   level 0, 256 px inside one tile       window 15-55   whole tile  85-140
 *   level 0, 258 px over 2 tiles (DZ)     window 24-28   both tiles 290-360
 *   level 0, 258 px over 4 tiles (DZ)     window 24-32   4 tiles    520-610
 *   level 1 (512 px tiles), 256 inside    window 19-23   whole tile  32-43
 *   level 1, 258 over 4 tiles             window 35-43   4 tiles    145-175
 *   level 2 (256 px tiles), one tile      window 17-23   whole tile  17-23
 *   walk of every 256 tile of level 0     windows 20-30 per tile, tiles 5.5-7.5
 *
 * So read_region plans each code-stream tile the window touches
 * (plan_tiles): decoded whole into the cache when the window covers a
 * quarter of it or more (the whole costs at most about twice the window; on
 * levels whose tiles are 256x256 or less, where a window costs as much as
 * the tile, that is every tile but a sliver), or when it is warm (cached,
 * loading, or looked at in the last 30 seconds: the second window of a
 * tile means a viewer is walking it) and the window holds more than 1/64
 * of it, or when a code-stream tile beside it is warm (a viewer walking
 * the level: its first window decodes it whole, bench/PROFILE_J2K.md);
 * otherwise just its part of the window is decoded.  When no tile is
 * worth decoding whole, the window is decoded in one pass.  A first look at
 * level 0 costs one window (24-40 ms for a DeepZoom tile over four
 * code-stream tiles instead of 520-610; 34 ms over four 256-px tiles at
 * level 2 instead of 80), a later one at most one whole tile plus the
 * slivers DeepZoom's one-pixel overlap reaches into cold neighbours, and a
 * walk one window more per code-stream tile than always decoding whole
 * tiles (walking all of dragonfly's level 0: 7.3 ms of CPU per tile, 8.7
 * with DeepZoom's overlap).  The cache's single-flight loads keep two
 * requests from decoding one tile twice.  Tiles too big to keep (an
 * untiled image at full resolution) and windows whose tiles would pass the
 * decode budget are decoded as windows.
 *
 * Codec state: OpenJPEG 2.5.0 (Debian 12) cannot decode a second window
 * with a codec that has decoded one from a multi-tile image, and uses
 * neither TLM nor PLT to skip data (dragonfly re-encoded with and without
 * them decodes the same windows in the same time: a 256 window at level 0
 * 27.0 / 26.5 ms, the last tile's corner 1.9 / 1.9, level 5 15.2 / 15.2;
 * what it does skip is the code-blocks outside the window); a fresh codec
 * reads the main header in 0.3 ms (dragonfly, kleiber; 0.07 ms bluemarble),
 * 1-2% of a window decode.  A single-tile image is different: a fresh codec
 * parses the whole codestream for every window, so jp2_opj.c keeps one
 * codec per open untiled source (s->reusable, decided at open).
 *
 * Untiled images and the decoded-tile cache: their levels are cut into
 * virtual tiles of JP2_VIRTUAL_TILE (512) level pixels, each decoded as
 * one window, so that the four 256-pixel tiles of a viewer inside one
 * share a decode (see grid_count).  512 rather than 1024: walking every
 * tile of dragonfly untiled cost 14.7 against 15.6 ms of CPU per tile
 * (1 thread; 37.7 with a fresh codec per window and no cache), and a
 * whole virtual tile, decoded while a request waits, costs a quarter.
 *
 * HTJ2K: OpenJPEG 2.5.0 decodes HT windows smaller than a tile wrongly,
 * so every HTJ2K tile is decoded whole (plan_tiles); with OpenJPH in the
 * build, fill_tile has OpenJPH decode it from a one-tile code-stream cut
 * out of the file (jp2_ojph_tile.c), 2-12x less CPU than OpenJPEG's
 * whole-tile decode, and several small tiles are then no longer batched
 * into one OpenJPEG pass (OpenJPH decodes each alone faster).
 *
 * Tile size for info: the codestream tile size (scaled per level) when the
 * image has more than one tile; 0,0 for a single-tile ("untiled") image, so
 * that info.json advertises its virtual tile size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tessera/deadline.h"
#include "tessera/source.h"
#include "tessera/tile_cache.h"
#include "jp2_internal.h"

/* ---- open ---------------------------------------------------------------- */

static void jp2_close(struct ts_source *base)
{
	struct jp2_source *s = (struct jp2_source *)base;

	if (!s)
		return;
	ts_jp2_opj_forget(s);
	if (s->fd >= 0)
		close(s->fd);
	free(s->tp_seen);
	free(s->ht_head);
	free(s->tparts);
	free((void *)s->base.info.icc);
	free(s);
}

static ts_status jp2_open(int fd, const char *path, const struct ts_source_limits *lim,
                          struct ts_source **out, struct ts_error *err)
{
	struct jp2_source *s;
	struct jp2_colour_hints hints;
	enum jp2_colour_space cs;
	struct stat sb;
	int r, n;
	ts_status status;

	*out = NULL;
	s = calloc(1, sizeof *s);
	if (!s) {
		close(fd);
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	}
	s->fd = fd;
	s->base.ops = &ts_jp2_source_ops;
	if (fstat(fd, &sb) != 0) {
		status = ts_error_set(err, TS_EINTERNAL, "cannot read image");
		ts_error_detail(err, "%s: short JPEG 2000 file", path);
		goto fail;
	}
	s->file_size = (uint64_t)sb.st_size;
	s->tiles = lim ? lim->tiles : NULL;
	s->key.dev = (uint64_t)sb.st_dev;
	s->key.ino = (uint64_t)sb.st_ino;
	s->key.size = (uint64_t)sb.st_size;
	s->key.mtime_sec = (int64_t)sb.st_mtim.tv_sec;
	s->key.mtime_nsec = (int64_t)sb.st_mtim.tv_nsec;
	status = ts_jp2_header_parse(s, lim, &hints, err);
	if (status)
		goto fail;

	/* Our checks passed: let OpenJPEG confirm it can read the header too. */
	status = ts_jp2_opj_probe(s, &cs, err);
	if (status)
		goto fail;

	/* Colour: palette columns replace the component count; enumerated
	 * colour spaces (JP2 I.5.3.3): 12 CMYK, 16 sRGB, 17 grey, 18 sYCC. */
	n = hints.pclr_cols ? hints.pclr_cols : s->ncomps;
	s->cmyk = hints.enumcs == 12 || cs == JP2_CS_CMYK;
	s->ycc = hints.enumcs == 18 || cs == JP2_CS_SYCC;
	if (!s->is_jp2 && n >= 3 && !s->ycc && cs != JP2_CS_SRGB &&
	    s->comps[0].dx == 1 && s->comps[0].dy == 1 &&
	    (s->comps[1].dx > 1 || s->comps[1].dy > 1) &&
	    s->comps[1].dx == s->comps[2].dx && s->comps[1].dy == s->comps[2].dy)
		s->ycc = true;   /* raw codestream with subsampled chroma: Y'CbCr */
	if (s->cmyk && n >= 4) {
		s->colour_comps = 4;
		s->alpha = n >= 5;
	} else if (n >= 3) {
		s->cmyk = false;
		s->colour_comps = 3;
		s->alpha = n == 4 || (n > 4 && hints.cdef_alpha);
	} else {
		s->cmyk = s->ycc = false;
		s->colour_comps = 1;
		s->alpha = n == 2;
	}
	s->base.info.channels = (s->colour_comps == 1 ? 1 : 3) + (s->alpha ? 1 : 0);
	s->base.info.bits = s->comps[0].prec;
	s->base.info.format = "jp2";
	s->base.info.width = s->x1 - s->x0;
	s->base.info.height = s->y1 - s->y0;
	s->base.info.nlevels = s->nres < TS_MAX_LEVELS ? s->nres : TS_MAX_LEVELS;
	for (r = 0; r < s->base.info.nlevels; r++) {
		struct ts_source_level *lv = &s->base.info.levels[r];
		lv->width = ts_jp2_ceil_pow2(s->x1, r) - ts_jp2_ceil_pow2(s->x0, r);
		lv->height = ts_jp2_ceil_pow2(s->y1, r) - ts_jp2_ceil_pow2(s->y0, r);
		if (s->ntiles > 1) {
			lv->tile_w = ts_jp2_ceil_pow2(s->tw, r);
			lv->tile_h = ts_jp2_ceil_pow2(s->th, r);
		}
	}
	if (s->is_jp2)
		ts_jp2_header_read_icc(s);
	/* Keep an OpenJPEG codec between windows (jp2_opj.c): single-tile Part
	 * 1 images whose components OpenJPEG passes through as they are (it
	 * applies a palette, cmap or cdef box once per codec), with a
	 * decoded-tile cache to count its memory against. */
	s->reusable = s->ntiles == 1 && !s->ht && !hints.remap && s->tiles != NULL;
	*out = &s->base;
	return TS_OK;

fail:
	/* The header parse does not know the path: put it in front of its detail. */
	if (err && strncmp(err->detail, path, strlen(path)) != 0) {
		char why[sizeof err->detail];
		snprintf(why, sizeof why, "%s", err->detail);
		snprintf(err->detail, sizeof err->detail, "%.200s: %.300s", path, why);
	}
	jp2_close(&s->base);
	return status;
}
/* ---- the decoded-tile path -------------------------------------------- */

/*
 * The grid the decoded-tile cache cuts level r into.  Multi-tile images:
 * their code-stream tiles.  Single-tile (untiled) Part 1 images: virtual
 * tiles of JP2_VIRTUAL_TILE level pixels, each decoded as one window (a
 * fresh OpenJPEG codec parses every packet header of the one tile, 20-30
 * ms for a 4 MB file, whatever the window; sharing that among the four
 * 256-pixel tiles of a virtual tile is what keeping the codec would have
 * bought, had OpenJPEG 2.5.0 allowed it: see the file comment).  HTJ2K
 * single tiles keep the code-stream tile (OpenJPEG decodes it whole;
 * Grok's windows do not come here).
 */
static bool virtual_grid(const struct jp2_source *s)
{
	return s->ntiles == 1 && !s->ht;
}

/* Level r's size, in level pixels (B-14). */
static void level_size(const struct jp2_source *s, int r, uint32_t *lw, uint32_t *lh)
{
	*lw = ts_jp2_ceil_pow2(s->x1, r) - ts_jp2_ceil_pow2(s->x0, r);
	*lh = ts_jp2_ceil_pow2(s->y1, r) - ts_jp2_ceil_pow2(s->y0, r);
}

/* Columns and rows of the grid on level r. */
static void grid_count(const struct jp2_source *s, int r, uint32_t *ntx, uint32_t *nty)
{
	uint32_t lw, lh;

	if (virtual_grid(s)) {
		level_size(s, r, &lw, &lh);
		*ntx = ts_jp2_ceil_div(lw, JP2_VIRTUAL_TILE);
		*nty = ts_jp2_ceil_div(lh, JP2_VIRTUAL_TILE);
		return;
	}
	*ntx = ts_jp2_ceil_div(s->x1 - s->tx0, s->tw);
	*nty = ts_jp2_ceil_div(s->y1 - s->ty0, s->th);
}

/*
 * Grid tile (p,q) on level r, in level pixels: [*lx0,*lx1) x [*ly0,*ly1).
 * A code-stream tile's reference-grid bounds, clipped to the image (B-7),
 * are reduced like the image itself (B-14), so the tiles of a level abut.
 */
static void tile_on_level(const struct jp2_source *s, int r, uint32_t p, uint32_t q,
                          uint32_t *lx0, uint32_t *ly0, uint32_t *lx1, uint32_t *ly1)
{
	uint64_t X0 = (uint64_t)s->tx0 + (uint64_t)p * s->tw, X1 = X0 + s->tw;
	uint64_t Y0 = (uint64_t)s->ty0 + (uint64_t)q * s->th, Y1 = Y0 + s->th;
	uint32_t bx = ts_jp2_ceil_pow2(s->x0, r), by = ts_jp2_ceil_pow2(s->y0, r), lw, lh;

	if (virtual_grid(s)) {
		level_size(s, r, &lw, &lh);
		X0 = (uint64_t)p * JP2_VIRTUAL_TILE;
		Y0 = (uint64_t)q * JP2_VIRTUAL_TILE;
		X1 = X0 + JP2_VIRTUAL_TILE;
		Y1 = Y0 + JP2_VIRTUAL_TILE;
		*lx0 = (uint32_t)(X0 < lw ? X0 : lw);
		*ly0 = (uint32_t)(Y0 < lh ? Y0 : lh);
		*lx1 = (uint32_t)(X1 < lw ? X1 : lw);
		*ly1 = (uint32_t)(Y1 < lh ? Y1 : lh);
		return;
	}
	X0 = X0 > s->x0 ? X0 : s->x0;
	Y0 = Y0 > s->y0 ? Y0 : s->y0;
	X1 = X1 < s->x1 ? X1 : s->x1;
	Y1 = Y1 < s->y1 ? Y1 : s->y1;
	*lx0 = ts_jp2_ceil_pow2((uint32_t)X0, r) - bx;
	*ly0 = ts_jp2_ceil_pow2((uint32_t)Y0, r) - by;
	*lx1 = ts_jp2_ceil_pow2((uint32_t)X1, r) - bx;
	*ly1 = ts_jp2_ceil_pow2((uint32_t)Y1, r) - by;
}

struct tile_job {
	struct jp2_source *s;
	int r;
	uint32_t tile;           /* its index (Isot) */
	uint32_t x, y, w, h;     /* the tile on its level */
};

/* One whole tile for the cache: HTJ2K tiles by OpenJPH on the tile cut out
 * of the file where it applies (jp2_ojph_tile.c: 2-12x less CPU than
 * OpenJPEG, bench/J2K_DECODERS.md), else OpenJPEG. */
static ts_status fill_tile(void *ctx, struct ts_image *out, struct ts_error *err)
{
	struct tile_job *j = ctx;

	if (ts_jp2_ojph_wanted(j->s, j->r))
		return ts_jp2_ojph_tile(j->s, j->r, j->tile, j->x, j->y, j->w, j->h, out, err);
	return ts_jp2_opj_decode(j->s, j->r, j->x, j->y, j->w, j->h, out, err);
}

/* The code-stream tiles touched by rows [y, y+h) (or columns): first and
 * one-past-last index along one axis of n tiles. */
static void tiles_touched(const struct jp2_source *s, int r, bool rows, uint32_t a, uint32_t n,
                          uint32_t count, uint32_t *first, uint32_t *end)
{
	uint32_t i, l0, l1, m0, m1;

	*first = count;
	*end = 0;
	for (i = 0; i < count; i++) {
		tile_on_level(s, r, rows ? 0 : i, rows ? i : 0, &l0, &m0, &l1, &m1);
		if (rows) {
			l0 = m0;
			l1 = m1;
		}
		if (l1 > l0 && l1 > a && l0 < (uint64_t)a + n) {
			if (*first == count)
				*first = i;
			*end = i + 1;
		}
	}
}

/*
 * Whether read_region should go through the decoded-tile cache, and what
 * the tiles it touches cost to decode: only when a cache with room exists
 * and each touched code-stream tile, on this level, is small enough to keep
 * (a single-tile image at full resolution would mean decoding everything
 * for one 256-pixel window).
 */
static bool use_tiles(const struct jp2_source *s, int r, uint32_t x, uint32_t y, uint32_t w,
                      uint32_t h, uint64_t *cost)
{
	uint32_t ntx, nty, p0, p1, q0, q1, lw, lh;
	uint32_t tw = ts_jp2_ceil_pow2(s->tw, r), th = ts_jp2_ceil_pow2(s->th, r);
	uint64_t tile_px, tile_bytes;
	size_t budget = ts_tile_cache_budget(s->tiles);

	grid_count(s, r, &ntx, &nty);
	if (virtual_grid(s)) {
		level_size(s, r, &lw, &lh);
		tw = lw < JP2_VIRTUAL_TILE ? lw : JP2_VIRTUAL_TILE;
		th = lh < JP2_VIRTUAL_TILE ? lh : JP2_VIRTUAL_TILE;
	}
	tile_px = (uint64_t)tw * th;
	tile_bytes = tile_px * (uint64_t)s->base.info.channels;
	if (!s->tiles || budget == 0 || tile_px > JP2_CACHE_TILE_PX || tile_bytes > budget / 4)
		return false;
	tiles_touched(s, r, false, x, w, ntx, &p0, &p1);
	tiles_touched(s, r, true, y, h, nty, &q0, &q1);
	if (p1 <= p0 || q1 <= q0)
		return false;
	*cost = tile_px * (p1 - p0) * (q1 - q0);
	return true;
}

/* How read_from_tiles gets one code-stream tile's part of a window. */
enum tile_way {
	WAY_NONE,       /* the window misses the tile */
	WAY_WINDOW,     /* decode just the part (unless the tile is cached) */
	WAY_WHOLE,      /* decode the tile whole into the cache, copy the part */
};

/* The part of code-stream tile (p,q) on level r inside the window, in level
 * pixels, and the tile itself; false when they do not meet. */
static bool tile_part(const struct jp2_source *s, int r, uint32_t p, uint32_t q, uint32_t x,
                      uint32_t y, uint32_t w, uint32_t h, uint32_t l[4], uint32_t i[4])
{
	tile_on_level(s, r, p, q, &l[0], &l[1], &l[2], &l[3]);
	i[0] = l[0] > x ? l[0] : x;
	i[1] = l[1] > y ? l[1] : y;
	i[2] = l[2] < x + w ? l[2] : x + w;
	i[3] = l[3] < y + h ? l[3] : y + h;
	return i[2] > i[0] && i[3] > i[1];
}

/* Whether a code-stream tile beside (p,q) (left, right, above, below; key
 * names the level) is warm: a viewer is walking this level. */
static bool neighbour_seen(const struct jp2_source *s, uint32_t p, uint32_t q,
                           struct ts_tile_key key)
{
	uint32_t ntx = ts_jp2_ceil_div(s->x1 - s->tx0, s->tw);
	uint32_t nty = ts_jp2_ceil_div(s->y1 - s->ty0, s->th);
	static const int d[4][2] = { { -1, 0 }, { 1, 0 }, { 0, -1 }, { 0, 1 } };
	int k;

	for (k = 0; k < 4; k++) {
		int64_t np = (int64_t)p + d[k][0], nq = (int64_t)q + d[k][1];
		if (np < 0 || nq < 0 || np >= ntx || nq >= nty)
			continue;
		key.tile = (uint32_t)(nq * ntx + np);
		if (ts_tile_cache_seen(s->tiles, &key))
			return true;
	}
	return false;
}

/*
 * How to get each code-stream tile the window touches (way[], row-major
 * over [p0,p1) x [q0,q1)); returns how many are WAY_WHOLE.  A tile is
 * decoded whole when the window covers a good share of it
 * (JP2_WHOLE_SHARE: the whole costs at most about twice the window), or
 * it is warm (cached, loading, or looked at in the last 30 seconds: a
 * viewer is walking it and its neighbours come next) and the window holds
 * more than a sliver of it (JP2_SLIVER_SHARE: DeepZoom's one-pixel overlap
 * into a neighbour does not cost that neighbour's whole decode), or a tile
 * beside it on the level is warm (a viewer is walking the level: the rest
 * of this tile comes next, so even a sliver decodes it whole).  Every
 * touched tile is noted as looked at, so the second window of a tile
 * decodes it whole.
 *
 * The neighbour rule, measured on the first walks of bench/jp2.py (four
 * images, 6 clients, a Tessera afresh per walk, binaries in turns,
 * bench/walk_ab.py, medians of 3, load average 16-26): CPU per tile
 * DeepZoom 10.23 -> 8.57 ms, IIIF 7.85 -> 7.80 (with the SSE2 pack of
 * jp2_pack.c; a variant letting the window's own tiles count, load
 * 13-24: IIIF 9.53 -> 7.98).  Window decodes of cold tiles had been 8%
 * (IIIF) and 18% (DeepZoom) of those walks' CPU, 1-2% after
 * (bench/PROFILE_J2K.md).  Neighbours are asked
 * before the window notes its own tiles, so a first look over four cold
 * tiles (no warm neighbour) still decodes just its window.
 */
static size_t plan_tiles(const struct jp2_source *s, int r, uint32_t x, uint32_t y, uint32_t w,
                         uint32_t h, uint32_t p0, uint32_t p1, uint32_t q0, uint32_t q1,
                         uint8_t *way)
{
	uint32_t ntx, nty, p, q, l[4], in[4];
	struct ts_tile_key key = s->key;
	uint64_t tile_px, part;
	size_t i = 0, nwhole = 0;
	bool warm, near;

	grid_count(s, r, &ntx, &nty);
	key.reduce = (uint32_t)r;
	/* Neighbours first, before this window notes its own tiles: the tiles
	 * of one first look must not make each other warm. */
	for (q = q0; q < q1; q++)
		for (p = p0; p < p1; p++, i++)
			way[i] = neighbour_seen(s, p, q, key);
	for (q = q0, i = 0; q < q1; q++) {
		for (p = p0; p < p1; p++, i++) {
			near = way[i];
			way[i] = WAY_NONE;
			if (!tile_part(s, r, p, q, x, y, w, h, l, in))
				continue;
			key.tile = q * ntx + p;
			warm = ts_tile_cache_touch(s->tiles, &key);
			tile_px = (uint64_t)(l[2] - l[0]) * (l[3] - l[1]);
			part = (uint64_t)(in[2] - in[0]) * (in[3] - in[1]);
			/* HT: OpenJPEG decodes whole tiles anyway (jp2_internal.h) */
			way[i] = s->ht || part * JP2_WHOLE_SHARE >= tile_px ||
			         (warm && part * JP2_SLIVER_SHARE >= tile_px) || near
			         ? WAY_WHOLE : WAY_WINDOW;
			nwhole += way[i] == WAY_WHOLE;
		}
	}
	return nwhole;
}

/* Copy the rectangle [ix0,ix1) x [iy0,iy1) of level pixels from src (whose
 * top-left pixel is sx,sy) into out (whose top-left pixel is x,y). */
static void copy_rect(struct ts_image *out, uint32_t x, uint32_t y, const struct ts_image *src,
                      uint32_t sx, uint32_t sy, uint32_t ix0, uint32_t iy0, uint32_t ix1,
                      uint32_t iy1)
{
	size_t ch = (size_t)out->channels;
	uint32_t row;

	for (row = iy0; row < iy1; row++)
		memcpy(out->pixels + (size_t)(row - y) * out->stride + (ix0 - x) * ch,
		       src->pixels + (size_t)(row - sy) * src->stride + (ix0 - sx) * ch,
		       (ix1 - ix0) * ch);
}

/*
 * Assemble the window tile by tile, as plan_tiles said: tiles already
 * decoded are copied first; a missing WAY_WHOLE tile is decoded whole
 * through the cache (tile_cache.h), so concurrent requests for it wait for
 * one decode, then copied; a missing WAY_WINDOW tile has just its part
 * decoded.  Several missing small whole tiles (JP2_BATCH_TILE_PX on their
 * level: a thumbnail covering a small level) are decoded in one OpenJPEG
 * pass over their bounding box and then cut into the cache: one header read
 * instead of one per tile, which on a small level (32x32-pixel tiles) is
 * most of the work; two requests may then decode the same small tiles at
 * once, which costs little.  Big tiles always go one by one through the
 * cache.  Takes nothing; way is borrowed.
 */
static ts_status read_from_tiles(struct jp2_source *s, int r, uint32_t x, uint32_t y,
                                 uint32_t w, uint32_t h, uint32_t p0, uint32_t p1, uint32_t q0,
                                 uint32_t q1, const uint8_t *way, struct ts_image *out,
                                 struct ts_error *err)
{
	uint32_t ntx, nty, p, q, l[4], in[4];
	uint32_t bx0 = UINT32_MAX, by0 = UINT32_MAX, bx1 = 0, by1 = 0;
	const struct ts_tile *t = NULL;
	struct ts_tile_key key = s->key;
	struct ts_image batch = { 0 }, piece = { 0 };
	struct tile_job job;
	/* OpenJPH decodes each small tile alone faster than OpenJPEG's pass */
	bool *missing = NULL, batch_ok = !ts_jp2_ojph_wanted(s, r);
	size_t nmissing = 0, nbatch = 0, i;
	ts_status status;
	int pass;

	grid_count(s, r, &ntx, &nty);
	status = ts_image_alloc(out, w, h, s->base.info.channels, err);
	if (status)
		return status;
	missing = calloc((size_t)(p1 - p0) * (q1 - q0), sizeof *missing);
	if (!missing) {
		status = ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto fail;
	}
	key.reduce = (uint32_t)r;
	/* pass 0: copy what is cached; 1: decode and copy the rest. */
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1 && batch_ok && nbatch >= 2) {
			status = ts_jp2_opj_decode(s, r, bx0, by0, bx1 - bx0, by1 - by0, &batch, err);
			if (status)
				goto fail;
		}
		for (q = q0, i = 0; q < q1; q++) {
			for (p = p0; p < p1; p++, i++) {
				if (way[i] == WAY_NONE || (pass == 1 && !missing[i]) ||
				    !tile_part(s, r, p, q, x, y, w, h, l, in))
					continue;
				status = ts_deadline_check(err);   /* between tiles */
				if (status)
					goto fail;
				key.tile = q * ntx + p;
				if (pass == 0) {
					t = ts_tile_cache_peek(s->tiles, &key);
					if (!t) {
						missing[i] = true;
						nmissing++;
						if (way[i] != WAY_WHOLE)
							continue;
						nbatch++;
						batch_ok = batch_ok && (uint64_t)(l[2] - l[0]) * (l[3] - l[1]) <=
						                       JP2_BATCH_TILE_PX;
						bx0 = l[0] < bx0 ? l[0] : bx0;
						by0 = l[1] < by0 ? l[1] : by0;
						bx1 = l[2] > bx1 ? l[2] : bx1;
						by1 = l[3] > by1 ? l[3] : by1;
						continue;
					}
				} else if (way[i] == WAY_WINDOW) {
					/* Just this tile's part of the window. */
					status = ts_jp2_opj_decode(s, r, in[0], in[1], in[2] - in[0],
					                           in[3] - in[1], &piece, err);
					if (status)
						goto fail;
					copy_rect(out, x, y, &piece, in[0], in[1], in[0], in[1], in[2], in[3]);
					ts_image_free(&piece);
					continue;
				} else if (batch_ok && nbatch >= 2) {
					/* Keep the tile for the next requests, then copy. */
					status = ts_image_alloc(&piece, l[2] - l[0], l[3] - l[1],
					                        s->base.info.channels, err);
					if (status)
						goto fail;
					copy_rect(&piece, l[0], l[1], &batch, bx0, by0, l[0], l[1], l[2], l[3]);
					ts_tile_cache_put(s->tiles, &key, &piece);
					copy_rect(out, x, y, &batch, bx0, by0, in[0], in[1], in[2], in[3]);
					continue;
				} else {
					job = (struct tile_job){ s, r, key.tile, l[0], l[1], l[2] - l[0],
					                         l[3] - l[1] };
					status = ts_tile_cache_get(s->tiles, &key, fill_tile, &job, &t, err);
					if (status)
						goto fail;
				}
				if (t->img.width != l[2] - l[0] || t->img.height != l[3] - l[1] ||
				    t->img.channels != out->channels) {
					status = ts_error_set(err, TS_EINTERNAL, "corrupt image data");
					ts_error_detail(err, "JPEG 2000 tile %u: decoded %ux%u, expected %ux%u",
					                key.tile, t->img.width, t->img.height, l[2] - l[0],
					                l[3] - l[1]);
					goto fail;
				}
				copy_rect(out, x, y, &t->img, l[0], l[1], in[0], in[1], in[2], in[3]);
				ts_tile_cache_release(s->tiles, t);
				t = NULL;
			}
		}
		if (nmissing == 0)
			break;
	}
	free(missing);
	ts_image_free(&batch);
	return TS_OK;

fail:
	ts_tile_cache_release(s->tiles, t);
	free(missing);
	ts_image_free(&batch);
	ts_image_free(&piece);
	ts_image_free(out);
	return status;
}

static ts_status jp2_read_region(struct ts_source *base, int level, uint32_t x, uint32_t y,
                                 uint32_t w, uint32_t h, uint64_t budget,
                                 struct ts_image *out, struct ts_error *err)
{
	struct jp2_source *s = (struct jp2_source *)base;
	const struct ts_source_level *lv = &base->info.levels[level];
	uint64_t cost, tiles_cost;
	uint32_t cw, ch, ex0, ey0, ex1, ey1, p0, p1, q0, q1, ntx, nty;
	uint8_t *way;
	ts_status status;

	memset(out, 0, sizeof *out);
	/* Windows of single-tile HTJ2K files: Grok decodes just the window,
	 * where OpenJPEG must decode the whole image (jp2_grok.c). */
	if (ts_jp2_grok_wanted(s, level, w, h))
		return ts_jp2_grok_decode(s, level, x, y, w, h, budget, out, err);
	/* Budget: the window, widened to whole code-blocks at this resolution
	 * (OpenJPEG decodes every code-block the window touches). */
	cw = s->cblk_w ? s->cblk_w : 64;
	ch = s->cblk_h ? s->cblk_h : 64;
	if (s->ht) {
		/* HT: OpenJPEG decodes whole tiles (jp2_internal.h) */
		cw = ts_jp2_ceil_pow2(s->tw, level);
		ch = ts_jp2_ceil_pow2(s->th, level);
	}
	ex0 = x / cw * cw;
	ey0 = y / ch * ch;
	ex1 = (uint32_t)((((uint64_t)x + w + cw - 1) / cw * cw) < lv->width ?
	                 ((uint64_t)x + w + cw - 1) / cw * cw : lv->width);
	ey1 = (uint32_t)((((uint64_t)y + h + ch - 1) / ch * ch) < lv->height ?
	                 ((uint64_t)y + h + ch - 1) / ch * ch : lv->height);
	cost = (uint64_t)(ex1 - ex0) * (ey1 - ey0);
	if (budget && cost > budget) {
		ts_error_set(err, TS_EFORBIDDEN, "region needs too much decoding");
		ts_error_detail(err, "JPEG 2000 level %d window %ux%u costs %llu pixels > %llu",
		                level, w, h, (unsigned long long)cost, (unsigned long long)budget);
		return TS_EFORBIDDEN;
	}
	/* Whole tiles cost more than the window; when that would pass the
	 * budget, decode just the window instead. */
	if (use_tiles(s, level, x, y, w, h, &tiles_cost) && (!budget || tiles_cost <= budget)) {
		grid_count(s, level, &ntx, &nty);
		tiles_touched(s, level, false, x, w, ntx, &p0, &p1);
		tiles_touched(s, level, true, y, h, nty, &q0, &q1);
		way = malloc((size_t)(p1 - p0) * (q1 - q0));
		if (!way)
			return ts_error_set(err, TS_EINTERNAL, "out of memory");
		/* No tile worth decoding whole: one window decode is cheapest. */
		if (plan_tiles(s, level, x, y, w, h, p0, p1, q0, q1, way) > 0)
			status = read_from_tiles(s, level, x, y, w, h, p0, p1, q0, q1, way, out, err);
		else
			status = ts_jp2_opj_decode(s, level, x, y, w, h, out, err);
		free(way);
		return status;
	}
	return ts_jp2_opj_decode(s, level, x, y, w, h, out, err);
}

const struct ts_source_ops ts_jp2_source_ops = {
	.name = "jp2",
	.sniff = ts_jp2_header_sniff,
	.open = jp2_open,
	.read_region = jp2_read_region,
	.close = jp2_close,
};
