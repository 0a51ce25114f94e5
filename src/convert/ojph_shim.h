/*
 * ojph_shim.h - the C side of src/convert/ojph_shim.cpp: one code-stream
 * tile encoded as HTJ2K (ISO/IEC 15444-15) by OpenJPH, for the HTJ2K sink
 * (sink_htj2k.c).  Only built when configure finds libopenjph
 * (HAVE_OPENJPH in config.h).
 *
 * The one idea: a tile of a tiled JPEG 2000 image is coded from its own
 * rectangle on the reference grid alone (ISO/IEC 15444-1 B.3: tile-
 * components, resolutions, precincts and code-blocks are all anchored to
 * the grid's origin), so a one-tile codestream whose image and tile
 * offsets are the tile's origin codes exactly the tile-part the whole
 * image would hold.  The sink encodes tiles one at a time (on several
 * threads), cuts the tile-part out of each and writes the main header
 * itself: memory is one band of tiles, never the whole codestream, which
 * OpenJPH's own encoder keeps until its flush().
 */
#ifndef TESSERA_OJPH_SHIM_H
#define TESSERA_OJPH_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ts_ojph_tile {
	uint32_t x0, y0;          /* the tile's origin on the reference grid */
	uint32_t width, height;   /* its size (clipped to the image) */
	uint32_t tile;            /* the image's tile side (XTsiz = YTsiz) */
	int channels;             /* 1..4, 8-bit samples */
	int decompositions;       /* wavelet levels (resolutions - 1), 0..32 */
	uint32_t precinct;        /* precinct side at every resolution, 0 = none */
	bool reversible;          /* 5/3 lossless, else 9/7 at qstep */
	float qstep;              /* irreversible quantisation step (OpenJPH's) */
	bool colour_transform;    /* RCT/ICT on the first three components */
};

/*
 * Encode `pixels` (t->height rows of t->width * t->channels interleaved
 * bytes, `stride` bytes apart) as a one-tile HTJ2K codestream with 64x64
 * code-blocks, RPCL progression and one quality layer.  On success *out
 * is a new malloc'd buffer of *out_len bytes (the caller frees it) and 0
 * is returned; on failure -1 with OpenJPH's message in msg.  Thread-safe:
 * each call has its own codestream.
 */
int ts_ojph_encode_tile(const struct ts_ojph_tile *t, const uint8_t *pixels, size_t stride,
                        unsigned char **out, size_t *out_len, char *msg, size_t msg_len);

#ifdef __cplusplus
}
#endif

#endif
