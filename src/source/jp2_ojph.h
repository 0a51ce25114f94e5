/*
 * jp2_ojph.h - the C side of src/source/jp2_ojph.cpp: a one-tile HTJ2K
 * (ISO/IEC 15444-15) code-stream in memory decoded by OpenJPH at a reduce
 * factor into 8-bit interleaved pixels, for jp2_ojph_tile.c.  Only built
 * when configure finds libopenjph (TS_HAVE_OPENJPH).
 */
#ifndef TESSERA_JP2_OJPH_H
#define TESSERA_JP2_OJPH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Decode the code-stream cs (len bytes, borrowed) with `reduce` resolution
 * levels left out, into out: h rows of w * channels bytes, `stride` bytes
 * apart (the caller's buffer).  The code-stream must hold exactly
 * `channels` components (1 or 3), unsigned 8-bit, not subsampled, whose
 * reduced size is w x h; else, or when OpenJPH fails, -1 with the reason in
 * msg and out's content undefined.  0 on success.  Thread-safe: each call
 * has its own codestream object; no C++ exception leaves it.
 */
int ts_jp2_ojph_decode(const unsigned char *cs, size_t len, int reduce, uint32_t w,
                       uint32_t h, int channels, uint8_t *out, size_t stride, char *msg,
                       size_t msg_len);

#ifdef __cplusplus
}
#endif

#endif
