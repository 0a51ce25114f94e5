/*
 * jp2_internal.h - the JPEG 2000 source's shared state and the seams
 * between its files, private to src/source/.
 *
 *   jp2_header.c  everything before OpenJPEG sees the file: the bounded JP2
 *                 box walk, the codestream main-header parse, the tile-part
 *                 walk and the bomb checks (ISO/IEC 15444-1 Annex A, I).
 *   jp2_opj.c     OpenJPEG: the pread stream, the codec, and the decode of
 *                 one window of one level into 8-bit pixels.
 *   jp2_read.c    the source itself: open/close, the choice between window
 *                 decodes and the decoded-tile cache, the ops table.
 *   jp2_pack.c    decoded samples of n planes clamped and interleaved into
 *                 8-bit pixels, a row at a time.
 *   jp2_grok.c    optional (TS_HAVE_GROK): windows of single-tile HTJ2K
 *                 code-streams decoded with Grok (bench/J2K_DECODERS.md).
 *   jp2_ojph_tile.c  optional (TS_HAVE_OPENJPH): whole tiles of tiled HTJ2K
 *                 files for the decoded-tile cache, cut out of the file as
 *                 one-tile code-streams and decoded by OpenJPH through
 *                 jp2_ojph.cpp (C++, behind jp2_ojph.h).
 *
 * A struct jp2_source is used by one thread at a time (source.h); the
 * decoded-tile cache it borrows is shared by every source.
 */
#ifndef TESSERA_JP2_INTERNAL_H
#define TESSERA_JP2_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tessera/source.h"
#include "tessera/tile_cache.h"

#ifndef JP2_THREADS
#define JP2_THREADS        2        /* OpenJPEG threads for a decode running alone */
#endif
#define JP2_MAX_TILES      8192     /* opj_read_header: ~10 KB and ~14 us per tile */
#define JP2_MAX_TILE_PX    (1ull << 30) /* one tile's area: bounds code-block metadata */
#define JP2_MAX_COMPS      16       /* components accepted; at most 4 are returned */
#define JP2_MAX_RES        33       /* 32 decomposition levels + 1 (A.6.1) */
#define JP2_MAX_BOXES      4096     /* top-level boxes walked before giving up */
#define JP2_STREAM_CHUNK   65536
#define JP2_MAX_TILE_PARTS 65536    /* SOT markers walked at open (12 bytes each) */
#define JP2_CACHE_TILE_PX  (1u << 21) /* largest tile (on its level) decoded whole: 2 MP */
#define JP2_WHOLE_SHARE    4        /* a window covering 1/4 of a tile decodes it whole */
#define JP2_SLIVER_SHARE   64       /* a warm tile is decoded whole unless the window holds < 1/64 */
#define JP2_BATCH_TILE_PX  (256u * 256u) /* missing tiles up to this size: one decode pass */
#define JP2_HT_MAX_DROPS   64       /* TLM/PLM markers cut from a one-tile header */
#define JP2_HT_MAX_HEAD    (1u << 20) /* main header kept for one-tile code-streams */
#define JP2_OJPH_TILE_PX   (1u << 24) /* largest full-resolution tile OpenJPH decodes */

/* Where one tile-part lies in the file (SOT marker to its end). */
struct jp2_tpart {
	uint64_t pos, len;
	uint32_t tile;            /* Isot */
};

#define JP2_VIRTUAL_TILE   512u     /* untiled images: the decoded-tile cache's grid (level px) */

struct jp2_comp {
	uint32_t dx, dy;          /* XRsiz, YRsiz */
	int prec;                 /* 1..16 */
	bool sgnd;
};

struct jp2_source {
	struct ts_source base;    /* must be first */
	int fd;
	uint64_t file_size;
	bool is_jp2;              /* JP2 boxes (else raw codestream) */
	/* Reference grid (SIZ). */
	uint32_t x0, y0, x1, y1;
	uint32_t tx0, ty0, tw, th;
	uint32_t ntiles;
	int ncomps;
	struct jp2_comp comps[JP2_MAX_COMPS];
	int nres;                 /* resolutions available (min over COD/COC) */
	uint32_t sub_x, sub_y;    /* least common multiple of the dx (dy) of the components */
	uint32_t cblk_w, cblk_h;  /* code-block size from COD */
	/* HT code-blocks (ISO/IEC 15444-15: code-block style bit 0x40 in COD or
	 * a COC).  OpenJPEG 2.5.0 decodes them wrongly in a window smaller than
	 * the tile (opj_decompress -d shows it too), right when the window
	 * covers whole tiles: jp2_opj.c widens the decode area to whole tiles
	 * and jp2_read.c budgets and caches whole tiles for them. */
	bool ht;
	/* Colour interpretation decided at open. */
	bool ycc;                 /* sYCC: convert to RGB */
	bool cmyk;
	int colour_comps;         /* 1, 3 or 4 (CMYK) decoded colour components */
	bool alpha;
	/* OpenJPEG's messages for the current call (tied to this source). */
	char opj_msg[256];
	/* Tile-parts present in the file (ts_jp2_header_parse): a tile is whole
	 * when tp_seen[t] > 0 and tp_seen[t] >= tp_total[t] (TNsot, 0 unknown).
	 * NULL when the walk gave up (too many tile-parts): not checked. */
	uint64_t first_sot, cs_end;
	uint8_t *tp_seen, *tp_total;
	/* HTJ2K one-tile surgery (jp2_ojph_tile.c): the main header from SOC
	 * to the first SOT without TLM/PLM, SIZ right after SOC (NULL: no
	 * surgery: not HT, PPM, too big), and every tile-part's place in the
	 * file, in file order.  Owned by the source. */
	unsigned char *ht_head;
	size_t ht_head_len;
	struct jp2_tpart *tparts;
	uint32_t ntparts, tparts_cap;
	bool ojph_broken;         /* OpenJPH failed an assertion on this file: OpenJPEG only */
	/* Decoded-tile cache (borrowed, may be NULL) and this file's identity
	 * in its keys (tile and reduce are filled per lookup). */
	struct ts_tile_cache *tiles;
	struct ts_tile_key key;
	int threads;              /* OpenJPEG threads for the next codec (0: none) */
	/* The OpenJPEG codec kept between windows (jp2_opj.c), or NULL; only
	 * when `reusable` (decided at open) and the decoded-tile cache lends
	 * the memory. */
	bool reusable;
	struct jp2_codec *kept;
};

/* Colour hints of the JP2 header box (I.5.3): what the components mean. */
struct jp2_colour_hints {
	int pclr_cols;            /* pclr: output columns of the palette, 0 none */
	int enumcs;               /* colr method 1: 12 CMYK, 16 sRGB, 17 grey, 18 sYCC */
	bool cdef_alpha;          /* cdef names an opacity channel */
	bool remap;               /* a pclr, cmap or cdef box: OpenJPEG rearranges components */
};

/* The colour space OpenJPEG reads from the file. */
enum jp2_colour_space { JP2_CS_OTHER, JP2_CS_SRGB, JP2_CS_SYCC, JP2_CS_CMYK };

static inline uint32_t ts_jp2_ceil_div(uint32_t a, uint32_t b)
{
	return (uint32_t)(((uint64_t)a + b - 1) / b);
}

static inline uint32_t ts_jp2_ceil_pow2(uint32_t a, int r)
{
	return (uint32_t)(((uint64_t)a + ((1ull << r) - 1)) >> r);
}

/* ---- jp2_header.c ---- */

/* true when head (n bytes) starts a JP2 file or a raw codestream. */
bool ts_jp2_header_sniff(const unsigned char *head, size_t n);

/*
 * Read what the file declares, before any library sees it: s->fd and
 * s->file_size must be set.  Fills is_jp2, the SIZ/COD fields, cs_end,
 * first_sot and the tile-part counts of s, and *hints.  500 "corrupt
 * codestream" or 403 (declared sizes past lim or our limits), the reason
 * in err's detail (without the path).
 */
ts_status ts_jp2_header_parse(struct jp2_source *s, const struct ts_source_limits *lim,
                              struct jp2_colour_hints *hints, struct ts_error *err);

/* The ICC profile of jp2h's colr box (method 2) into s->base.info.icc
 * (malloc'd, owned by s); anything odd leaves none.  Never fails. */
void ts_jp2_header_read_icc(struct jp2_source *s);

/* 500 unless every tile under the reference-grid window [x0,x1)x[y0,y1)
 * has all its tile-parts in the file. */
ts_status ts_jp2_header_check_tiles(const struct jp2_source *s, uint64_t x0, uint64_t y0,
                                    uint64_t x1, uint64_t y1, struct ts_error *err);

/* ---- jp2_opj.c ---- */

/* Let OpenJPEG read the main header (our checks passed): 500 "corrupt
 * codestream" with OpenJPEG's message if it cannot; else its colour space. */
ts_status ts_jp2_opj_probe(struct jp2_source *s, enum jp2_colour_space *cs,
                           struct ts_error *err);

/* Decode the window (x,y,w,h) of `level` into a new image owned by the
 * caller (8-bit interleaved, info.channels).  The caller has checked the
 * budget. */
ts_status ts_jp2_opj_decode(struct jp2_source *s, int level, uint32_t x, uint32_t y,
                            uint32_t w, uint32_t h, struct ts_image *out, struct ts_error *err);

/* ---- jp2_pack.c ---- */

/* A decoded sample of a component of prec bits (1..16; signed ones offset
 * to unsigned) scaled to 8 bits, rounding.  For any decoder's output. */
static inline uint8_t ts_jp2_sample8(uint32_t prec, bool sgnd, int32_t v)
{
	uint32_t maxv = (1u << prec) - 1;
	int64_t u = (int64_t)v + (sgnd ? (1 << (prec - 1)) : 0);

	if (u < 0)
		u = 0;
	if (u > maxv)
		u = maxv;
	if (prec == 8)
		return (uint8_t)u;
	return (uint8_t)((u * 255 + maxv / 2) / maxv);
}

/* Row of n (1..4) planes of w samples each, clamped to 0..255 and
 * interleaved into dst (w * n bytes).  Borrows everything. */
void ts_jp2_pack_row(const int32_t *const *src, int n, uint8_t *dst, uint32_t w);

/* Destroy the codec kept by s, if any, and give its memory back to the
 * decoded-tile cache.  For close and after any failure. */
void ts_jp2_opj_forget(struct jp2_source *s);

/* Windows decoded on a kept codec, over the process (tests, benchmarks). */
uint64_t ts_jp2_opj_reuses(void);

/* ---- jp2_grok.c (optional: TS_HAVE_GROK) ---- */

/* true when the window of `level`, w x h, is to be decoded by Grok: a
 * single-tile HTJ2K code-stream, plain 1 or 3 components, not the whole
 * level, and Grok usable in this process.  Always false without Grok. */
bool ts_jp2_grok_wanted(const struct jp2_source *s, int level, uint32_t w, uint32_t h);

/* read_region's contract (budget: the window widened to code-blocks, 403
 * past it), decoded by Grok; only when ts_jp2_grok_wanted. */
ts_status ts_jp2_grok_decode(struct jp2_source *s, int level, uint32_t x, uint32_t y,
                             uint32_t w, uint32_t h, uint64_t budget, struct ts_image *out,
                             struct ts_error *err);

/* ---- jp2_ojph_tile.c (OpenJPH: TS_HAVE_OPENJPH) ---- */

/* true when code-stream tile `tile` on `level` is to be decoded by OpenJPH
 * (ts_jp2_ojph_tile): an HTJ2K file whose one-tile code-streams can be
 * built, 1 or 3 plain 8-bit components.  Always false without OpenJPH. */
bool ts_jp2_ojph_wanted(const struct jp2_source *s, int level);

/* Decode the whole code-stream tile `tile` of `level` (w x h level pixels,
 * what jp2_read.c's tile_on_level says) into a new image owned by the
 * caller, through a one-tile code-stream cut from the file.  On an OpenJPH
 * failure the tile is decoded by OpenJPEG instead (ts_jp2_opj_decode with
 * x, y, w, h), so the status is OpenJPEG's.  The caller has checked the
 * budget. */
/* How many OpenJPH decodes this process has abandoned after an assertion
 * (jp2_ojph_tile.c); past a few, OpenJPH is no longer used. */
int ts_jp2_ojph_aborts(void);

/* The one-tile code-stream of tile t (jp2_ojph_tile.c's surgery) into a
 * new malloc'd buffer *out of *out_len bytes, owned by the caller; false
 * when the tile cannot be cut (no kept header, a read failing, sizes
 * overflowing).  Exposed for bench/ht_tiles.c. */
bool ts_jp2_ojph_cut(const struct jp2_source *s, uint32_t t, unsigned char **out,
                     size_t *out_len);

ts_status ts_jp2_ojph_tile(struct jp2_source *s, int level, uint32_t tile, uint32_t x,
                           uint32_t y, uint32_t w, uint32_t h, struct ts_image *out,
                           struct ts_error *err);

#endif
