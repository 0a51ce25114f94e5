/*
 * tiff_raw.c - stored JPEG tiles of a TIFF handed out as they are, for
 * pass-through (tiff_internal.h: raw_tile): the tile's bytes and the
 * level's JPEG tables, which a JPEG answer can be made of without decoding.
 *
 * The one idea: the first raw tile of a level reads the level's tile
 * offsets, byte counts and JPEG tables once into an index, so every later
 * tile is one pread with no libtiff call and no directory switch; a level
 * too large to index, or whose index cannot be read, keeps reading through
 * libtiff.  A stored byte count is never trusted for an allocation beyond
 * the caller's bound.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>
#include "tessera/source.h"
#include "source_file.h"
#include "tiff_internal.h"

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
	if (ts_tiff_select_level(s, level, &ignored) != TS_OK ||
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
	if (!ts_source_pread_all(TIFFFileno(s->tif), out->data, (size_t)bytes, lv->tile_off[tile]) ||
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

ts_status ts_tiff_raw_tile(struct ts_source *base, int level, uint32_t col, uint32_t row,
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
	status = ts_tiff_check_level(s, level, err);
	if (status != TS_OK)
		return status;
	lv = &s->levels[level];
	/* Only what a browser shows as the image: 8-bit gray or colour JPEG,
	 * no alpha, no MINISWHITE inversion to apply. */
	if (!ts_tiff_jpeg_tiled(lv))
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

	status = ts_tiff_select_level(s, level, err);
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
		status = ts_tiff_corrupt_unit(s, err, level, "tile", tile);
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
