/*
 * zoomify.c - the Zoomify protocol: parse "/zoomify/..." URLs, write
 * ImageProperties.xml, and turn a tile into a IIIF command.
 *
 * Zoomify's pyramid is implicit, so the viewer computes it itself and any
 * difference from ours is a visible seam.  We compute it exactly as
 * OpenSeadragon's ZoomifyTileSource does (and OpenLayers' Zoomify source
 * with tierSizeCalculation "truncated"): start from W x H and floor-halve
 * both sides while either exceeds the tile size; level 0 is the smallest;
 * a level has ceil(w/ts) x ceil(h/ts) tiles, plus the one clipped edge
 * column or row OpenSeadragon asks for when ceil(W/2^k) needs one more
 * (ts_zoomify_tile_cmd).  (OpenLayers' "default" mode
 * divides the full size by ts*2^k instead, which can give one more column
 * when floor(W/2^k) is a multiple of ts; we follow OpenSeadragon.)  Tiles
 * are grouped 256 to a folder: TileGroup = floor(index / 256), where index
 * counts every tile of the smaller levels first, then row by row.
 *
 * The one idea: level pixel p covers full-resolution pixels [p*2^k,
 * (p+1)*2^k), k levels above; a tile's region is its level rectangle times
 * 2^k, its size the level rectangle's size, asked for exactly.
 */
#include <string.h>
#include "tessera/arena.h"
#include "tessera/tileproto.h"

#define ZOOMIFY_MAX_LEVELS 40   /* 33 suffice for 32-bit sizes and ts >= 1 */

int ts_zoomify_levels(uint32_t w, uint32_t h, uint32_t tile_size,
                      uint32_t *lw, uint32_t *lh, int max)
{
	uint32_t sw[ZOOMIFY_MAX_LEVELS], sh[ZOOMIFY_MAX_LEVELS];
	int n = 0;

	if (tile_size == 0)
		tile_size = 1;
	sw[0] = w;
	sh[0] = h;
	n = 1;
	while ((sw[n - 1] > tile_size || sh[n - 1] > tile_size) && n < ZOOMIFY_MAX_LEVELS) {
		sw[n] = sw[n - 1] / 2;
		sh[n] = sh[n - 1] / 2;
		n++;
	}
	/* reverse: level 0 is the smallest */
	for (int i = 0; i < n && i < max; i++) {
		lw[i] = sw[n - 1 - i];
		lh[i] = sh[n - 1 - i];
	}
	return n;
}

static uint64_t grid(uint32_t size, uint32_t ts)
{
	return ((uint64_t)size + ts - 1) / ts;
}

static uint64_t grid_u64(uint64_t size, uint32_t ts)
{
	return (size + ts - 1) / ts;
}

uint64_t ts_zoomify_num_tiles(uint32_t w, uint32_t h, uint32_t tile_size)
{
	uint32_t lw[ZOOMIFY_MAX_LEVELS], lh[ZOOMIFY_MAX_LEVELS];
	int n;
	uint64_t total = 0;

	if (tile_size == 0)
		return 0;
	n = ts_zoomify_levels(w, h, tile_size, lw, lh, ZOOMIFY_MAX_LEVELS);
	for (int i = 0; i < n; i++)
		total += grid(lw[i], tile_size) * grid(lh[i], tile_size);
	return total;
}

/* "{z}-{x}-{y}.{ext}" */
static bool parse_tile_name(const char *s, size_t n, struct ts_zoomify_request *out)
{
	const char *d1 = memchr(s, '-', n), *d2, *dot;
	size_t rest;

	if (!d1)
		return false;
	rest = n - (size_t)(d1 + 1 - s);
	d2 = memchr(d1 + 1, '-', rest);
	if (!d2)
		return false;
	rest = n - (size_t)(d2 + 1 - s);
	dot = memchr(d2 + 1, '.', rest);
	if (!dot)
		return false;
	rest = n - (size_t)(dot + 1 - s);
	if (rest == 3 && memcmp(dot + 1, "jpg", 3) == 0)
		out->format = TS_FORMAT_JPG;
	else if (rest == 4 && memcmp(dot + 1, "jpeg", 4) == 0)
		out->format = TS_FORMAT_JPG;
	else if (rest == 3 && memcmp(dot + 1, "png", 3) == 0)
		out->format = TS_FORMAT_PNG;
	else
		return false;
	return ts_tileproto_parse_u32(s, (size_t)(d1 - s), &out->z) &&
	       ts_tileproto_parse_u32(d1 + 1, (size_t)(d2 - d1 - 1), &out->x) &&
	       ts_tileproto_parse_u32(d2 + 1, (size_t)(dot - d2 - 1), &out->y);
}

ts_status ts_zoomify_parse(const char *path, unsigned flags, struct ts_arena *a,
                           struct ts_zoomify_request *out, struct ts_error *err)
{
	static const char props[] = "ImageProperties.xml";
	const char *rest, *last, *grp;
	size_t n, i, j, lastn;

	memset(out, 0, sizeof *out);
	if (!path || path[0] != '/')
		goto notfound;
	rest = path + 1;
	n = strlen(rest);

	/* split off the last segment */
	for (i = n; i > 0 && rest[i - 1] != '/'; i--)
		;
	if (i == 0)
		goto notfound;
	last = rest + i;
	lastn = n - i;
	if (lastn == sizeof props - 1 && memcmp(last, props, lastn) == 0) {
		out->route = TS_ZOOMIFY_PROPERTIES;
		return ts_tileproto_identifier(rest, i - 1, flags, a, &out->identifier, err);
	}
	if (!parse_tile_name(last, lastn, out))
		goto notfound;

	/* the "TileGroup{g}" segment before it */
	for (j = i - 1; j > 0 && rest[j - 1] != '/'; j--)
		;
	if (j == 0)
		goto notfound;
	grp = rest + j;
	if ((size_t)(i - 1 - j) <= 9 || memcmp(grp, "TileGroup", 9) != 0 ||
	    !ts_tileproto_parse_u32(grp + 9, i - 1 - j - 9, &out->group))
		goto notfound;
	out->route = TS_ZOOMIFY_TILE;
	return ts_tileproto_identifier(rest, j - 1, flags, a, &out->identifier, err);

notfound:
	return ts_error_set(err, TS_ENOTFOUND, "no such Zoomify route");
}

ts_status ts_zoomify_tile_cmd(const struct ts_zoomify_request *rq,
                              uint32_t width, uint32_t height, uint32_t tile_size,
                              struct ts_image_cmd *cmd, struct ts_error *err)
{
	uint32_t lw[ZOOMIFY_MAX_LEVELS], lh[ZOOMIFY_MAX_LEVELS];
	uint64_t index = 0, gx, ew, eh, cw, ch, x0, x1, y0, y1;
	int n, k;

	if (tile_size == 0 || width == 0 || height == 0)
		return ts_error_set(err, TS_EINTERNAL, "invalid Zoomify tile geometry");
	n = ts_zoomify_levels(width, height, tile_size, lw, lh, ZOOMIFY_MAX_LEVELS);
	if (rq->route != TS_ZOOMIFY_TILE || rq->z >= (uint32_t)n)
		return ts_error_set(err, TS_ENOTFOUND, "no such Zoomify level");

	/* On very thin images a side floors to 0 (OpenSeadragon then counts 0
	 * tiles there but still asks for row 0): serve it as 1 pixel. */
	k = n - 1 - (int)rq->z;
	ew = lw[rq->z] ? lw[rq->z] : 1;
	eh = lh[rq->z] ? lh[rq->z] : 1;
	/* OpenSeadragon decides which tiles exist from the full size times the
	 * level's scale, ceil(W/2^k), which is one more column (or row) than
	 * our floor-halved grid when W/2^k just passes a multiple of the tile
	 * size (4097 wide: 2048.5 at k=1, 9 columns, not 8).  That extra tile
	 * is the clipped edge of the image: level pixels [floor, ceil) of the
	 * axis, answered as such rather than 404.  Tiles of the floor grid are
	 * unchanged, and the group is still counted on the floor grid, as the
	 * viewer counts it. */
	cw = ((uint64_t)width + ((uint64_t)1 << k) - 1) >> k;
	ch = ((uint64_t)height + ((uint64_t)1 << k) - 1) >> k;
	if (rq->x >= grid_u64(cw > ew ? cw : ew, tile_size) ||
	    rq->y >= grid_u64(ch > eh ? ch : eh, tile_size))
		return ts_error_set(err, TS_ENOTFOUND, "no such Zoomify tile");
	if (rq->x >= grid((uint32_t)ew, tile_size))
		ew = cw;
	if (rq->y >= grid((uint32_t)eh, tile_size))
		eh = ch;

	/* The group number, counted exactly as the viewer does. */
	for (uint32_t z = 0; z < rq->z; z++)
		index += grid(lw[z], tile_size) * grid(lh[z], tile_size);
	gx = grid(lw[rq->z], tile_size);
	index += gx * rq->y + rq->x;
	if (index / 256 != rq->group)
		return ts_error_set(err, TS_ENOTFOUND, "no such Zoomify tile group");

	x0 = (uint64_t)rq->x * tile_size;
	y0 = (uint64_t)rq->y * tile_size;
	x1 = x0 + tile_size < ew ? x0 + tile_size : ew;
	y1 = y0 + tile_size < eh ? y0 + tile_size : eh;
	/* x0 < ceil(width/2^k) implies x0*2^k < width: never empty. */
	ts_tileproto_level_cmd(x0, y0, x1, y1, k, width, height, rq->format, cmd);
	return TS_OK;
}

ts_status ts_zoomify_format_properties(uint32_t width, uint32_t height,
                                       uint32_t tile_size, struct ts_buf *out,
                                       struct ts_error *err)
{
	if (!ts_buf_printf(out,
	                   "<IMAGE_PROPERTIES WIDTH=\"%u\" HEIGHT=\"%u\" NUMTILES=\"%llu\" "
	                   "NUMIMAGES=\"1\" VERSION=\"1.8\" TILESIZE=\"%u\" />\n",
	                   (unsigned)width, (unsigned)height,
	                   (unsigned long long)ts_zoomify_num_tiles(width, height, tile_size),
	                   (unsigned)tile_size))
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	return TS_OK;
}
