/*
 * tiff_io.h - libtiff's file access through a small read-ahead buffer
 * (tiff_io.c), private to src/source/.
 *
 * libtiff reads a directory as many small seek+read pairs (the entry
 * count, the entries, each out-of-line tag value, the next offset): about
 * 120 system calls to open a 5-level pyramid.  Here a seek only moves an
 * offset and a small read is served from one 16 KiB block read with pread,
 * so the same open costs a handful; large reads (tiles, strips) go to the
 * file directly, unbuffered.
 */
#ifndef TESSERA_TIFF_IO_H
#define TESSERA_TIFF_IO_H

#include <tiffio.h>

/* Open fd (read-only) for libtiff with the buffered procedures; mode and
 * opts as TIFFClientOpenExt takes them.  On success the TIFF owns fd
 * (TIFFClose closes it) and TIFFFileno(tif) is fd, for pread users; on
 * failure NULL is returned and fd is still the caller's. */
TIFF *ts_tiff_io_open(int fd, const char *name, const char *mode, TIFFOpenOptions *opts);

#endif
