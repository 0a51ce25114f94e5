/*
 * tile_encode.h - compress one TIFF tile (src/convert/tile_encode.c): JPEG
 * (abbreviated streams sharing one JPEGTables), deflate, ZSTD or WebP, as
 * libtiff's codecs read them back.  One encoder per thread.
 */
#ifndef TESSERA_CONVERT_TILE_ENCODE_H
#define TESSERA_CONVERT_TILE_ENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tessera/convert.h"

struct ts_tile_encoder;

/* An encoder of tile_w x tile_h tiles of `channels` 8-bit samples
 * (JPEG: 1 or 3; WebP: 3 or 4). */
ts_status ts_tile_encoder_create(enum ts_convert_compression c, int quality, bool chroma_444,
                                 int channels, uint32_t tile_w, uint32_t tile_h,
                                 struct ts_tile_encoder **out, struct ts_error *err);

/* Compress the tile pix (rows tile_w * channels bytes apart).  *out points
 * into the encoder's own buffer, valid until its next call. */
ts_status ts_tile_encode(struct ts_tile_encoder *e, const uint8_t *pix,
                         const unsigned char **out, size_t *len, struct ts_error *err);

/* Accepts NULL. */
void ts_tile_encoder_destroy(struct ts_tile_encoder *e);

/* The JPEGTables stream (SOI, DQT, DHT, EOI) every JPEG tile of these
 * settings refers to; a new malloc'd buffer of *len bytes. */
ts_status ts_tile_jpeg_tables(int quality, bool chroma_444, int channels, unsigned char **out,
                              size_t *len, struct ts_error *err);

/* TIFF Compression tag value of c, and whether this libtiff can read it
 * back (TIFFIsCODECConfigured): 0 when it cannot. */
uint16_t ts_tile_tiff_compression(enum ts_convert_compression c);

#endif
