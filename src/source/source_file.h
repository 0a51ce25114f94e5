/*
 * source_file.h - what the readers of single-level files share when they
 * open one (src/source/source.c): the file's size, the refusal of an image
 * that declares more pixels than the limit, and the close of a reader that
 * owns a descriptor and an ICC copy.  Used by jpeg_read.c and png_read.c,
 * and by the converter's row readers (src/convert/rows_jpeg.c,
 * rows_png.c) for the pixel limit; ts_source_pread_all by tiff_raw.c and the JPEG 2000 header walk and tile cutter.
 *
 * Internal to the decode stage: not a public header.
 */
#ifndef TESSERA_SOURCE_FILE_H
#define TESSERA_SOURCE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tessera/source.h"
#include "tessera/status.h"

/* The size of the file open on fd (it seeks to the end; readers use
 * pread).  500 "cannot read image" with path and errno in the detail. */
ts_status ts_source_file_size(int fd, const char *path, uint64_t *size, struct ts_error *err);

/* Refuse, before any pixel buffer is allocated, an image whose header
 * declares width x height > max pixels (max 0: no limit): 403 "image too
 * large", the detail "PATH: FORMAT declares WxH". */
ts_status ts_source_check_pixels(uint64_t max, uint32_t width, uint32_t height, const char *path,
                                 const char *format, struct ts_error *err);

/* pread all of [off, off + len) of fd into buf, retrying short reads and
 * EINTR; false on a short file, an offset past what off_t holds, or an
 * error.  Any thread may call it (no shared file offset). */
bool ts_source_pread_all(int fd, void *buf, size_t len, uint64_t off);

/* Close a reader whose struct starts with struct ts_source and owns fd
 * (closed when >= 0) and base->info.icc: frees both and the struct.
 * Accepts NULL. */
void ts_source_file_close(struct ts_source *base, int fd);

#endif
