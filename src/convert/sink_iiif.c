/*
 * sink_iiif.c - the static IIIF level-0 tree: OUT/info.json (Image API
 * 3.0), OUT/v2/info.json (2.1, the same image and the same @id), the tiles
 * at every scale factor under OUT/{region}/{size}/0/default.jpg, and the
 * full/ images at every size listed, as `tessera convert -t iiif` writes
 * them from the pyramid builder's rows.
 *
 * Geometry.  Scale factor 2^k is the builder's level k (ceil-halved, the
 * level size a client computes as ceil(width / factor), 3.0 §5.4); the
 * factors go down to the first level that fits in one tile, which is the
 * list the server advertises for a flat source with the same tile size
 * (src/proto/iiif_info.c) and for the pyramidal TIFF `tessera convert`
 * makes from it.  "sizes" (3.0 §5.3, 2.1 §5.1) lists every level with a
 * full/ image, smallest first; "tiles" one entry {width, scaleFactors}.
 *
 * URLs.  A level-0 service answers only the URLs its info.json implies
 * (Compliance 3.0 §2, Compliance 2.1 §2); we write the ones a client
 * derives from "tiles" and "sizes", spelt as OpenSeadragon 5's
 * IIIFTileSource spells them, which are the canonical forms (3.0 §4.7,
 * 2.1 §4.7):
 *   region: "full" when the tile is the whole image, else "x,y,w,h" in
 *           full-resolution pixels (3.0 §4.1), w and h cut at the edges;
 *   size:   3.0: "max" when the output is the full size, else "w,h"
 *           (3.0 §4.2); 2.1: "full" when the width is the full width, else
 *           "w," (2.1 §4.2);
 *   rotation "0", quality and format "default.jpg" (3.0 §4.3-§4.5).
 * Both size spellings are written side by side (hard links to one file),
 * so the one tree answers v3 and v2 clients.  full/ images: full/{w},{h}
 * and full/{w}, for every listed size, full/max and full/full for the
 * full size; they are written as the rows go by (jpeg_stream.c), so even
 * the full-size picture is never held whole.  JPEG only: a level-0 service
 * must offer jpg (Compliance 3.0 §3.5), and a JPEG frame holds at most
 * 65535 pixels a side, so larger levels get tiles but no full/ image and
 * are not listed in "sizes".
 *
 * The one idea: a level's rows go to two places at once - the band
 * cutter (tree.c) that writes its tiles, and a streaming JPEG for its
 * full/ image - and neither keeps more than a tile row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "tessera/encoder.h"
#include "tree.h"

struct iiif_sink {
	struct ts_level_sink base;
	char *out, *stage, *id;
	struct ts_tree_format fmt;
	uint32_t tile;
	volatile const int *cancel;
	uint32_t width, height;
	int nlevels;
	uint32_t lw[32], lh[32];
	bool one_tile[32];              /* the level is a single tile */
	bool listed[32];                /* has full/ images, in "sizes" */
	struct ts_tree_band band[32];
	struct ts_jpeg_stream *stream[32];
	struct ts_tree_tile *tiles;
};

static void add_alias(struct ts_tree_tile *t, const char *name)
{
	if (strcmp(t->path, name) == 0)
		return;
	for (int i = 0; i < t->naliases; i++)
		if (strcmp(t->alias[i], name) == 0)
			return;
	if (t->naliases < 3)
		snprintf(t->alias[t->naliases++], sizeof t->alias[0], "%s", name);
}

/* mkdir -p the folder of root/file */
static ts_status make_parent(const char *root, const char *file, struct ts_error *err)
{
	char dir[256];
	char *slash;

	snprintf(dir, sizeof dir, "%s", file);
	slash = strrchr(dir, '/');
	if (!slash)
		return TS_OK;
	*slash = '\0';
	return ts_tree_mkdirs(root, dir, err);
}

/* The names of a full/ image of w x h: [0] 3.0 "w,h", [1] 2.1 "w,", and
 * for the full size [2] "max", [3] "full". */
static int full_names(const struct iiif_sink *s, uint32_t w, uint32_t h, char names[4][256])
{
	snprintf(names[0], 256, "full/%u,%u/0/default.jpg", w, h);
	snprintf(names[1], 256, "full/%u,/0/default.jpg", w);
	if (w != s->width || h != s->height)
		return 2;
	snprintf(names[2], 256, "full/max/0/default.jpg");
	snprintf(names[3], 256, "full/full/0/default.jpg");
	return 4;
}

/* 2.1's "w," (2.1 §4.2) names a size by its width alone: on a very thin
 * image two levels can share a width (1x325 and 1x163), and then the name
 * belongs to the smaller one - the one OpenSeadragon asks for as a whole
 * level - and the larger is left out of the v2 "sizes". */
static bool width_taken_below(const struct iiif_sink *s, int k)
{
	for (int j = k + 1; j < s->nlevels; j++)
		if (s->lw[j] == s->lw[k])
			return true;
	return false;
}

static ts_status emit_row(void *arg, int level, uint32_t trow, uint32_t y0, uint32_t y1,
                          const uint8_t *rows, size_t stride, struct ts_error *err)
{
	struct iiif_sink *s = arg;
	const struct ts_tree_band *b = &s->band[level];
	uint32_t ncols = ts_tree_ntiles(b->width, s->tile);
	uint64_t span = (uint64_t)s->tile << level;   /* full-resolution pixels of a tile */
	ts_status st;

	if (s->cancel && *s->cancel)
		return ts_error_set(err, TS_EUNAVAILABLE, "cancelled");
	for (uint32_t c = 0; c < ncols; c++) {
		struct ts_tree_tile *t = &s->tiles[c];
		uint64_t rx = c * span, ry = trow * span;
		uint64_t rw = s->width - rx < span ? s->width - rx : span;
		uint64_t rh = s->height - ry < span ? s->height - ry : span;
		uint32_t x0, x1, sw, sh;
		char region[64], v3[32], v2[32], name[256];

		ts_tree_axis(c, b->width, s->tile, 0, &x0, &x1);
		sw = x1 - x0;
		sh = y1 - y0;
		ts_tree_tile_view(t, b, rows, stride, x0, x1, y0, y1);
		t->naliases = 0;
		/* 3.0 §4.1 / 2.1 §4.1: "full" for the whole image */
		if (rx == 0 && ry == 0 && rw == s->width && rh == s->height)
			snprintf(region, sizeof region, "full");
		else
			snprintf(region, sizeof region, "%llu,%llu,%llu,%llu", (unsigned long long)rx,
			         (unsigned long long)ry, (unsigned long long)rw, (unsigned long long)rh);
		/* 3.0 §4.2 "max" / "w,h"; 2.1 §4.2 "full" / "w," */
		if (sw == s->width && sh == s->height)
			snprintf(v3, sizeof v3, "max");
		else
			snprintf(v3, sizeof v3, "%u,%u", sw, sh);
		if (sw == s->width)
			snprintf(v2, sizeof v2, "full");
		else
			snprintf(v2, sizeof v2, "%u,", sw);
		snprintf(t->path, sizeof t->path, "%s/%s/0/default.jpg", region, v3);
		snprintf(name, sizeof name, "%s/%s/0/default.jpg", region, v2);
		add_alias(t, name);
		if (s->one_tile[level]) {
			/* the level's one tile is also its full/ image */
			char names[4][256];
			int n = full_names(s, s->lw[level], s->lh[level], names);
			for (int i = 0; i < n; i++)
				add_alias(t, names[i]);
		}
		st = make_parent(s->stage, t->path, err);
		for (int i = 0; !st && i < t->naliases; i++)
			st = make_parent(s->stage, t->alias[i], err);
		if (st)
			return st;
	}
	return ts_tree_write_tiles(&s->fmt, s->tiles, ncols, err);
}

static ts_status iiif_begin(struct ts_level_sink *base, const struct ts_pyramid_geometry *g,
                            const struct ts_rows *src, struct ts_error *err)
{
	struct iiif_sink *s = (struct iiif_sink *)base;
	ts_status st;

	(void)src;
	if (g->nlevels < 1 || g->nlevels > 32 || g->width[0] == 0 || g->height[0] == 0)
		return ts_error_set(err, TS_EINTERNAL, "invalid pyramid geometry");
	s->width = g->width[0];
	s->height = g->height[0];
	/* down to the first level that fits in one tile (3.0 §5.4) */
	s->nlevels = 0;
	for (int k = 0; k < g->nlevels; k++) {
		s->lw[k] = g->width[k];
		s->lh[k] = g->height[k];
		s->nlevels = k + 1;
		if (k > 0 && (g->width[k] != (g->width[k - 1] + 1) / 2 ||
		              g->height[k] != (g->height[k - 1] + 1) / 2))
			return ts_error_set(err, TS_EINTERNAL, "pyramid levels are not halved");
		if (g->width[k] <= s->tile && g->height[k] <= s->tile)
			break;
	}
	if (s->lw[s->nlevels - 1] > s->tile || s->lh[s->nlevels - 1] > s->tile)
		return ts_error_set(err, TS_EINTERNAL, "the pyramid stops above one tile");
	st = ts_tree_stage_create(s->out, &s->stage, err);
	if (st)
		return st;
	s->fmt.root = s->stage;
	for (int k = 0; k < s->nlevels; k++) {
		s->one_tile[k] = s->lw[k] <= s->tile && s->lh[k] <= s->tile;
		s->listed[k] = s->lw[k] <= 65535 && s->lh[k] <= 65535;
		st = ts_tree_band_init(&s->band[k], k, s->lw[k], s->lh[k], g->channels, s->tile, 0,
		                       err);
		if (st)
			return st;
		if (s->listed[k] && !s->one_tile[k]) {
			char names[4][256], path[4096];

			full_names(s, s->lw[k], s->lh[k], names);
			st = make_parent(s->stage, names[0], err);
			if (st)
				return st;
			snprintf(path, sizeof path, "%s/%s", s->stage, names[0]);
			st = ts_jpeg_stream_begin(path, s->lw[k], s->lh[k], g->channels, s->fmt.quality,
			                          &s->stream[k], err);
			if (st)
				return st;
		}
	}
	return ts_tree_tiles_alloc(s->band, s->nlevels, &s->tiles, err);
}

static ts_status iiif_rows(struct ts_level_sink *base, int level, uint32_t y,
                           const struct ts_image *band, struct ts_error *err)
{
	struct iiif_sink *s = (struct iiif_sink *)base;
	ts_status st;

	if (level < 0)
		return ts_error_set(err, TS_EINTERNAL, "rows for a level the pyramid does not have");
	if (level >= s->nlevels)
		return TS_OK;   /* smaller than one tile: not a scale factor */
	st = ts_tree_band_push(&s->band[level], y, band, emit_row, s, err);
	if (st || !s->stream[level])
		return st;
	return ts_jpeg_stream_rows(s->stream[level], band->pixels, band->stride, band->height, err);
}

/* ---- info.json ------------------------------------------------------------ */

static bool put(json_t *o, const char *k, json_t *v)
{
	return v && json_object_set_new(o, k, v) == 0;
}

static json_t *sizes_json(const struct iiif_sink *s, int version)
{
	json_t *arr = json_array();

	for (int k = s->nlevels - 1; arr && k >= 0; k--) {
		json_t *o;

		if (!s->listed[k] || (version == 2 && width_taken_below(s, k)))
			continue;
		o = json_object();
		if (!put(o, "width", json_integer(s->lw[k])) ||
		    !put(o, "height", json_integer(s->lh[k])) || json_array_append_new(arr, o) != 0) {
			json_decref(o);
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *tiles_json(const struct iiif_sink *s)
{
	json_t *arr = json_array(), *t = json_object(), *f = json_array();

	if (!arr || !t || !f)
		goto fail;
	for (int k = 0; k < s->nlevels; k++)
		if (json_array_append_new(f, json_integer((json_int_t)1 << k)) != 0)
			goto fail;
	/* height omitted: square tiles (3.0 §5.4) */
	if (!put(t, "width", json_integer(s->tile)))
		goto fail;
	if (json_object_set_new(t, "scaleFactors", f) != 0) {
		f = NULL;
		goto fail;
	}
	f = NULL;
	if (json_array_append_new(arr, t) != 0) {
		t = NULL;
		goto fail;
	}
	return arr;
fail:
	json_decref(f);
	json_decref(t);
	json_decref(arr);
	return NULL;
}

/* Image API 3.0 §5 (version 3) or 2.1 §5 (version 2), profile level 0. */
static ts_status write_info(const struct iiif_sink *s, int version, const char *rel,
                            struct ts_error *err)
{
	json_t *o = json_object();
	char path[4096], *text = NULL;
	bool ok;
	ts_status st;

	if (version == 3)
		ok = o && put(o, "@context", json_string("http://iiif.io/api/image/3/context.json")) &&
		     put(o, "id", json_string(s->id)) && put(o, "type", json_string("ImageService3")) &&
		     put(o, "protocol", json_string("http://iiif.io/api/image")) &&
		     put(o, "profile", json_string("level0"));
	else
		ok = o && put(o, "@context", json_string("http://iiif.io/api/image/2/context.json")) &&
		     put(o, "@id", json_string(s->id)) &&
		     put(o, "protocol", json_string("http://iiif.io/api/image")) &&
		     put(o, "profile", json_pack("[s]", "http://iiif.io/api/image/2/level0.json"));
	ok = ok && put(o, "width", json_integer(s->width)) &&
	     put(o, "height", json_integer(s->height)) && put(o, "sizes", sizes_json(s, version)) &&
	     put(o, "tiles", tiles_json(s));
	if (ok)
		text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!text)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	snprintf(path, sizeof path, "%s/%s", s->stage, rel);
	st = make_parent(s->stage, rel, err);
	if (!st) {
		size_t n = strlen(text);
		text[n] = '\n';   /* json_dumps's NUL becomes the final newline */
		st = ts_tree_write_file(path, text, n + 1, err);
	}
	free(text);
	return st;
}

static ts_status iiif_finish(struct ts_level_sink *base, struct ts_error *err)
{
	struct iiif_sink *s = (struct iiif_sink *)base;
	ts_status st;

	st = ts_tree_bands_done(s->band, s->nlevels, err);
	if (st)
		return st;
	for (int k = 0; k < s->nlevels; k++) {
		if (s->stream[k]) {
			char names[4][256];
			int n = full_names(s, s->lw[k], s->lh[k], names);

			st = ts_jpeg_stream_finish(s->stream[k], err);
			ts_jpeg_stream_free(s->stream[k]);
			s->stream[k] = NULL;
			for (int i = 1; !st && i < n; i++) {
				if (i == 1 && width_taken_below(s, k))
					continue;
				st = make_parent(s->stage, names[i], err);
				if (!st)
					st = ts_tree_alias(s->stage, names[0], names[i], err);
			}
			if (st)
				return st;
		}
	}
	st = write_info(s, 3, "info.json", err);
	if (!st)
		st = write_info(s, 2, "v2/info.json", err);
	if (!st)
		st = ts_tree_replace(s->stage, s->out, err);
	if (st)
		return st;
	free(s->stage);
	s->stage = NULL;
	return TS_OK;
}

static void iiif_abort(struct ts_level_sink *base)
{
	struct iiif_sink *s = (struct iiif_sink *)base;

	for (int k = 0; k < 32; k++) {
		ts_jpeg_stream_free(s->stream[k]);
		s->stream[k] = NULL;
	}
	ts_tree_stage_drop(&s->stage);
}

static void iiif_destroy(struct ts_level_sink *base)
{
	struct iiif_sink *s = (struct iiif_sink *)base;

	if (!s)
		return;
	iiif_abort(base);
	ts_tree_bands_free(s->band, 32);
	free(s->tiles);
	free(s->id);
	free(s->out);
	free(s);
}

/* base_url without trailing slashes, "/", the identifier percent-encoded
 * outside RFC 3986's unreserved characters (3.0 §9: the identifier is
 * one path segment). */
static char *make_id(const char *base_url, const char *ident)
{
	size_t bn = strlen(base_url), in = strlen(ident);
	char *id, *p;

	while (bn > 0 && base_url[bn - 1] == '/')
		bn--;
	if (in > (SIZE_MAX - bn - 2) / 3)
		return NULL;
	id = malloc(bn + 2 + 3 * in);
	if (!id)
		return NULL;
	memcpy(id, base_url, bn);
	p = id + bn;
	*p++ = '/';
	for (size_t i = 0; i < in; i++) {
		unsigned char c = (unsigned char)ident[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			*p++ = (char)c;
		} else {
			p += sprintf(p, "%%%02X", c);
		}
	}
	*p = '\0';
	return id;
}

ts_status ts_sink_iiif_new(const char *out, const struct ts_convert_opts *o,
                           struct ts_level_sink **sink, struct ts_error *err)
{
	struct iiif_sink *s;
	const char *ident = o->iiif_id;
	char *name = NULL;

	*sink = NULL;
	if (!out[0])
		return ts_error_set(err, TS_EBADREQUEST, "no output name");
	if (!o->base_url || !o->base_url[0])
		return ts_error_set(err, TS_EBADREQUEST,
		                    "a IIIF tree needs a base URL, the public address of its folder");
	if (o->compression != TS_COMP_JPEG)
		return ts_error_set(err, TS_EBADREQUEST, "IIIF level-0 tiles are JPEG");
	if (o->tile < 16 || o->tile > 8192)
		return ts_error_set(err, TS_EBADREQUEST, "invalid IIIF tile size");
	if (!ident || !ident[0]) {
		/* the output folder's own name */
		size_t n = strlen(out);
		const char *b;
		if (!(name = strdup(out)))
			return ts_error_set(err, TS_EINTERNAL, "out of memory");
		while (n > 1 && name[n - 1] == '/')
			name[--n] = '\0';
		b = strrchr(name, '/');
		ident = b ? b + 1 : name;
	}
	s = calloc(1, sizeof *s);
	if (!s || !(s->out = strdup(out)) || !(s->id = make_id(o->base_url, ident))) {
		if (s) {
			free(s->out);
			free(s);
		}
		free(name);
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	}
	free(name);
	s->tile = o->tile;
	s->cancel = o->cancel;
	ts_tree_format_init(&s->fmt, o);   /* JPEG: checked above */
	s->base.begin = iiif_begin;
	s->base.rows = iiif_rows;
	s->base.finish = iiif_finish;
	s->base.abort = iiif_abort;
	s->base.destroy = iiif_destroy;
	*sink = &s->base;
	return TS_OK;
}
