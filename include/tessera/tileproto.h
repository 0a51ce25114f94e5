/*
 * tileproto.h - the tile protocols that are not IIIF: DeepZoom, Zoomify and
 * IIP (src/proto/deepzoom.c, zoomify.c, iip.c).
 *
 * Each protocol is parsed in two steps, and both are pure (no files, no
 * logs, no responses).  First the URL is parsed on its own into a request
 * struct (route, identifier, numbers); then, once the server has opened the
 * image, a *_cmd function turns that request plus the image's geometry into
 * an ordinary IIIF command (struct ts_image_cmd, command.h), so the planner,
 * pipeline, encoders and cache never learn that a viewer spoke DeepZoom.
 *
 * The one idea: a tile is always translated to
 *     version 3, region TS_REGION_PIXELS (full-resolution pixels, inside the
 *     image), size TS_SIZE_WH with upscale = true (the exact pixel size the
 *     protocol promises), rotation 0, quality default, format jpg/png
 * so that no IIIF rounding rule can change a tile's size by a pixel (a seam
 * in the viewer) or turn it into a 400.  The document functions (*_format_*)
 * write the small XML/JSON/text answers that describe the pyramid; they use
 * exactly the same level arithmetic as the *_cmd functions.
 *
 * Ownership: strings in request structs live in the arena passed to the
 * parser (they last until the request ends); documents are appended to a
 * caller-owned struct ts_buf.  Nothing here allocates outside those two.
 */
#ifndef TESSERA_TILEPROTO_H
#define TESSERA_TILEPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "command.h"
#include "plan.h"
#include "status.h"

struct ts_arena;

/* Parser flag: accept an unescaped '/' inside the identifier (iipsrv-style
 * paths such as "DeepZoom=/images/a.tif.dzi").  Without it such a path is
 * 404, like IIIF (an unescaped '/' names a different resource). */
#define TS_TILEPROTO_ALLOW_SLASH 1u

/* ------------------------------------------------------------------------
 * DeepZoom (Microsoft Deep Zoom "DZI", as OpenSeadragon's DziTileSource
 * reads it).  Routes, relative to the "/deepzoom" prefix:
 *   /{id}.dzi  /{id}.xml       the DZI XML document (JSON with ?format=json)
 *   /{id}.js                   JSONP (OpenSeadragon fetches ".js" URLs with
 *                              ?callback=NAME); without a callback the file
 *                              name is the callback when it is a valid
 *                              JavaScript name, else plain JSON
 *   /{id}_files/{level}/{col}_{row}.{jpg|jpeg|png}   a tile
 */
enum ts_dz_route {
	TS_DZ_INFO,
	TS_DZ_TILE
};

enum ts_dz_info_kind {
	TS_DZ_XML,      /* application/xml */
	TS_DZ_JSON,     /* application/json */
	TS_DZ_JSONP     /* application/javascript: callback({...}); */
};

struct ts_deepzoom_request {
	enum ts_dz_route route;
	const char *identifier;        /* percent-decoded once; arena */
	/* TS_DZ_INFO */
	enum ts_dz_info_kind info_kind;
	const char *callback;          /* TS_DZ_JSONP only; a JS identifier; arena */
	/* TS_DZ_TILE */
	uint32_t level, col, row;
	enum ts_format format;         /* TS_FORMAT_JPG or TS_FORMAT_PNG */
};

/*
 * Parse path (after "/deepzoom", starting with '/') and query (without '?',
 * NULL or "" for none).  The query selects JSON ("format=json") and the JSONP
 * callback ("callback=NAME"); it is ignored on tiles (OpenSeadragon repeats
 * the DZI's query on every tile).  flags: TS_TILEPROTO_ALLOW_SLASH or 0.
 * 404 for anything that is not one of the routes (empty identifier, bad
 * numbers, unknown extension, unescaped '/'), 400 for a malformed escape or
 * an invalid JSONP callback name.  Strings live in arena a.
 */
ts_status ts_deepzoom_parse(const char *path, const char *query, unsigned flags,
                            struct ts_arena *a, struct ts_deepzoom_request *out,
                            struct ts_error *err);

/* The DeepZoom pyramid: max level = ceil(log2(max(w,h))) (0 for 1x1); level
 * L is ceil(w / 2^(max-L)) x ceil(h / 2^(max-L)).  w, h >= 1; a level
 * outside 0..max is clamped to it. */
int ts_deepzoom_max_level(uint32_t w, uint32_t h);
void ts_deepzoom_level_size(uint32_t w, uint32_t h, int level,
                            uint32_t *lw, uint32_t *lh);

/*
 * The command for a TS_DZ_TILE request on an image of width x height with
 * DZI tiles of tile_size (>= 1) and overlap (>= 0).  Tile (col,row) of level
 * L covers level pixels [col*ts - (col ? overlap : 0), min((col+1)*ts +
 * overlap, levelW)) and likewise in y; the region is that rectangle scaled by
 * 2^(max-L) and clipped to the image, the size is the rectangle's own size.
 * 404 when level, col or row is outside the pyramid; 500 for tile_size 0.
 */
ts_status ts_deepzoom_tile_cmd(const struct ts_deepzoom_request *rq,
                               uint32_t width, uint32_t height,
                               uint32_t tile_size, uint32_t overlap,
                               struct ts_image_cmd *cmd, struct ts_error *err);

/*
 * Append the DZI document for a TS_DZ_INFO request to out (XML, JSON or
 * JSONP per rq->info_kind), advertising tiles in `format` (jpg or png).
 * *mime (may be NULL) receives a static content type.  500 on out of memory.
 */
ts_status ts_deepzoom_format_info(const struct ts_deepzoom_request *rq,
                                  uint32_t width, uint32_t height,
                                  uint32_t tile_size, uint32_t overlap,
                                  enum ts_format format, struct ts_buf *out,
                                  const char **mime, struct ts_error *err);

/* ------------------------------------------------------------------------
 * Zoomify (as OpenSeadragon's ZoomifyTileSource and OpenLayers' Zoomify
 * source with tierSizeCalculation "truncated" compute it).  Routes,
 * relative to the "/zoomify" prefix:
 *   /{id}/ImageProperties.xml
 *   /{id}/TileGroup{g}/{z}-{x}-{y}.{jpg|jpeg|png}
 */
enum ts_zoomify_route {
	TS_ZOOMIFY_PROPERTIES,
	TS_ZOOMIFY_TILE
};

struct ts_zoomify_request {
	enum ts_zoomify_route route;
	const char *identifier;        /* percent-decoded once; arena */
	uint32_t group, z, x, y;       /* TS_ZOOMIFY_TILE */
	enum ts_format format;         /* TS_FORMAT_JPG or TS_FORMAT_PNG */
};

/* Parse path (after "/zoomify").  404 for anything that is not a route,
 * 400 for a malformed escape.  Strings live in arena a. */
ts_status ts_zoomify_parse(const char *path, unsigned flags, struct ts_arena *a,
                           struct ts_zoomify_request *out, struct ts_error *err);

/* The Zoomify pyramid: starting from w x h, floor-halve both sides while
 * either exceeds tile_size; level 0 is the smallest.  Fills up to max entries
 * of lw/lh (smallest first; a side may floor to 0 on very thin images) and
 * returns the number of levels (>= 1). */
int ts_zoomify_levels(uint32_t w, uint32_t h, uint32_t tile_size,
                      uint32_t *lw, uint32_t *lh, int max);

/* Total number of tiles (ceil(lw/ts) * ceil(lh/ts) summed over levels), as
 * NUMTILES and the TileGroup numbering count them. */
uint64_t ts_zoomify_num_tiles(uint32_t w, uint32_t h, uint32_t tile_size);

/*
 * The command for a TS_ZOOMIFY_TILE request.  The tile (x,y) of level z
 * covers level pixels [x*ts, min((x+1)*ts, lw)) x ...; the region is that
 * scaled by 2^(levels-1-z) and clipped to the image.  The TileGroup must be
 * floor(index / 256), index counting every tile of the smaller levels first,
 * then row by row: a wrong group, or z/x/y out of range, is 404.
 */
ts_status ts_zoomify_tile_cmd(const struct ts_zoomify_request *rq,
                              uint32_t width, uint32_t height, uint32_t tile_size,
                              struct ts_image_cmd *cmd, struct ts_error *err);

/* Append ImageProperties.xml: <IMAGE_PROPERTIES WIDTH="w" HEIGHT="h"
 * NUMTILES="n" NUMIMAGES="1" VERSION="1.8" TILESIZE="ts" />.  Its content
 * type is application/xml.  500 on out of memory. */
ts_status ts_zoomify_format_properties(uint32_t width, uint32_t height,
                                       uint32_t tile_size, struct ts_buf *out,
                                       struct ts_error *err);

/* ------------------------------------------------------------------------
 * IIP, the Internet Imaging Protocol as iipsrv and iipmooviewer speak it:
 * a query string of '&'-separated NAME=value commands, names
 * case-insensitive.  Understood: FIF, OBJ (repeatable), JTL, PTL, WTL, CVT,
 * WID, HEI, RGN, ROT, QLT, COL, and the entry points IIIF=, DeepZoom=,
 * Zoomify=.  Viewer modifiers we do not implement (SDS, CNT, GAM, SHD, CMP,
 * INV, ...) and unknown names are ignored, as iipsrv ignores them.
 */
enum ts_iip_action {
	TS_IIP_OBJ,          /* text answer: one or more OBJ */
	TS_IIP_TILE,         /* JTL / PTL / WTL: one tile of one resolution */
	TS_IIP_CVT,          /* CVT: a region rendered at WID x HEI */
	TS_IIP_PASSTHROUGH   /* IIIF= / DeepZoom= / Zoomify= */
};

enum ts_iip_obj {
	TS_IIP_OBJ_IIP,                 /* OBJ=IIP,1.0       -> "IIP:1.0" */
	TS_IIP_OBJ_IIP_SERVER,          /* OBJ=IIP-server    -> "IIP-server:3.65" */
	TS_IIP_OBJ_MAX_SIZE,            /* OBJ=Max-size      -> "Max-size:W H" */
	TS_IIP_OBJ_TILE_SIZE,           /* OBJ=Tile-size     -> "Tile-size:TW TH" */
	TS_IIP_OBJ_RESOLUTION_NUMBER,   /* OBJ=Resolution-number -> "Resolution-number:N" */
	TS_IIP_OBJ_RESOLUTIONS,         /* OBJ=Resolutions   -> "Resolutions:w h,w h,..." smallest first */
	TS_IIP_OBJ_BITS_PER_CHANNEL,    /* OBJ=Bits-per-channel -> "Bits-per-channel:8" */
	TS_IIP_OBJ_COLORSPACE,          /* OBJ=Colorspace*   -> "Colorspace,0-R,0:0 0 3 3 0 1 2" */
	TS_IIP_OBJ_BASIC_INFO           /* OBJ=Basic-info    -> IIP-server, Max-size, Resolution-number, Colorspace */
};

enum ts_iip_passthrough {
	TS_IIP_TO_IIIF,
	TS_IIP_TO_DEEPZOOM,
	TS_IIP_TO_ZOOMIFY
};

#define TS_IIP_MAX_OBJ 16

/* WID and HEI above this are refused (400). */
#define TS_IIP_MAX_SIDE 65535u

struct ts_iip_request {
	enum ts_iip_action action;
	const char *fif;               /* FIF, percent-decoded once (may hold '/'); arena; NULL if absent */
	int nobj;
	enum ts_iip_obj obj[TS_IIP_MAX_OBJ];   /* in request order */
	/* TS_IIP_TILE */
	uint32_t res, tile;            /* JTL=res,tile: res 0 = smallest; tiles row by row */
	/* TS_IIP_CVT */
	bool has_wid, has_hei, has_rgn;
	uint32_t wid, hei;
	double rgn[4];                 /* x, y, w, h as fractions of the full image */
	/* both */
	enum ts_format format;         /* JTL/CVT=jpeg -> jpg, PTL/CVT=png -> png, WTL/CVT=webp */
	struct ts_rotation rotation;   /* ROT=[!]0|90|180|270 */
	enum ts_quality quality;       /* COL=grey|gray -> gray, COL=binary -> bitonal */
	int qlt;                       /* QLT=0..100 (JPEG quality); -1 when absent */
	/* TS_IIP_PASSTHROUGH */
	enum ts_iip_passthrough to;
	const char *path;              /* the rest of the IIIF/DeepZoom/Zoomify path,
	                                  starting with '/', NOT decoded (the called
	                                  parser decodes the identifier once); arena */
	const char *path_query;        /* for DeepZoom=: "format=json" etc. or NULL */
	/* On failure: the IIP error code and argument for ts_iip_format_error,
	 * e.g. "2 1" and "JTL".  Static strings or arena. */
	const char *err_code, *err_arg;
};

/*
 * Parse an IIP query string (without '?', percent-encoded).  Values are
 * percent-decoded once ('+' stays '+').  400 when nothing is asked (no OBJ,
 * JTL/PTL/WTL, CVT or entry point), two image commands are given, a value is
 * malformed or out of its range (the commands we accept without applying
 * them, CNT, GAM, SHD..., are range-checked too), a command or an OBJ is
 * unknown, or FIF is missing where an image is needed
 * (err_code/err_arg are then set).  Strings live in arena a.
 */
ts_status ts_iip_parse(const char *query, struct ts_arena *a, struct ts_iip_request *out,
                       struct ts_error *err);

/*
 * The command for a TS_IIP_TILE request.  Resolutions are g's levels,
 * smallest first (res r is g->levels[g->nlevels-1-r]); tiles of tile_w x
 * tile_h are numbered row by row.  The tile covers level pixels
 * [tx*tw, min((tx+1)*tw, lw)) x ...; the region is that rectangle scaled by
 * the level's own ratio (width/lw, height/lh) and the size is exact.
 * 404 for a resolution or tile out of range (answer it with
 * ts_iip_format_error("2 1", "JTL")); 500 for tile sizes of 0.
 */
ts_status ts_iip_tile_cmd(const struct ts_iip_request *rq, const struct ts_geometry *g,
                          uint32_t tile_w, uint32_t tile_h,
                          struct ts_image_cmd *cmd, struct ts_error *err);

/*
 * The command for a TS_IIP_CVT request on an image of width x height.
 * RGN fractions are turned into full-resolution pixels (outward rounding,
 * clipped to the image; an empty result is 400).  WID and HEI never
 * upscale: both -> fit inside WID x HEI keeping the aspect ratio, one ->
 * that side, none -> "max" (the planner clamps it to the limits).
 */
ts_status ts_iip_cvt_cmd(const struct ts_iip_request *rq, uint32_t width, uint32_t height,
                         struct ts_image_cmd *cmd, struct ts_error *err);

/* What the OBJ answers need to know about the image. */
struct ts_iip_image {
	const struct ts_geometry *g;   /* borrowed */
	uint32_t tile_w, tile_h;
	int channels;                  /* 1 or 2: greyscale; otherwise colour */
	int bits;                      /* bits per channel (8) */
};

/* Append the answers to rq's OBJ commands to out, one "Name:value\r\n" line
 * each, in request order.  Content type: application/vnd.netfpx (iipsrv's).
 * 500 on out of memory. */
ts_status ts_iip_format_objects(const struct ts_iip_request *rq,
                                const struct ts_iip_image *img,
                                struct ts_buf *out, struct ts_error *err);

/* Append an IIP error line "Error/LEN:CODE ARG\r\n" (LEN = bytes of
 * "CODE ARG") to out.  Codes: "1 3" image unavailable (use with 404),
 * "2 1" malformed command argument, "3 2" unsupported object (400).  arg is
 * sanitised (only [A-Za-z0-9,._-], at most 48 bytes).  false when out of memory. */
bool ts_iip_format_error(const char *code, const char *arg, struct ts_buf *out);

#define TS_IIP_MIME "application/vnd.netfpx"

/* ------------------------------------------------------------------------
 * Helpers shared by the three parsers (implemented in deepzoom.c).
 */

/* Parse exactly n bytes of s as a canonical decimal (no sign, no leading
 * zero except "0", at most 9 digits).  false otherwise. */
bool ts_tileproto_parse_u32(const char *s, size_t n, uint32_t *out);

/* Percent-decode the n-byte raw identifier once into arena a.  404 when it
 * is empty, or holds an unescaped '/' without TS_TILEPROTO_ALLOW_SLASH;
 * 400 for a malformed escape or an encoded NUL. */
ts_status ts_tileproto_identifier(const char *raw, size_t n, unsigned flags,
                                  struct ts_arena *a, const char **out,
                                  struct ts_error *err);

/* Fill cmd with the canonical tile command: version 3, region x,y,w,h in
 * full-resolution pixels, size out_w x out_h exactly (TS_SIZE_WH, upscale
 * allowed), rotation 0, default quality, format f. */
void ts_tileproto_tile_cmd(uint64_t x, uint64_t y, uint64_t w, uint64_t h,
                           uint32_t out_w, uint32_t out_h, enum ts_format f,
                           struct ts_image_cmd *cmd);

/* The tile command for level pixels [x0,x1) x [y0,y1) of a level 2^k times
 * smaller than the width x height image (DeepZoom, Zoomify): the region is
 * that rectangle scaled up and cut at the image edge, the size exactly
 * (x1-x0) x (y1-y0).  The caller guarantees x0*2^k < width, y0*2^k < height. */
void ts_tileproto_level_cmd(uint64_t x0, uint64_t y0, uint64_t x1, uint64_t y1, int k,
                            uint32_t width, uint32_t height, enum ts_format f,
                            struct ts_image_cmd *cmd);

#endif
