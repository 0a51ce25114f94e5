/*
 * out_file.h - the one way a converter sink writes a single output file
 * (src/convert/out_file.c): created under a fresh temporary name beside the
 * final one, filled with positioned writes, renamed into place only when
 * complete, removed on failure.  Used by the TIFF (through tiff_file.c),
 * JPEG 2000 and HTJ2K sinks.
 *
 * The one idea: the temporary name is in the final name's folder, so the
 * rename that publishes the file is atomic; a reader (the server) sees
 * either no file or the whole file, never a part (convert.h).
 */
#ifndef TESSERA_CONVERT_OUT_FILE_H
#define TESSERA_CONVERT_OUT_FILE_H

#include <stddef.h>
#include <stdint.h>
#include "tessera/status.h"

/* Create `path` for writing: O_EXCL (the caller chose a fresh temporary
 * name), mode 0644 less the umask (the file is published for a server to
 * read), close-on-exec.  *fd is the new descriptor (the caller closes it),
 * or -1 with a 500 "could not create the output file". */
ts_status ts_out_file_open(const char *path, int *fd, struct ts_error *err);

/* A fresh temporary name beside `out` (ts_convert_temp_path) created as
 * ts_out_file_open does.  On success *tmp is a new malloc'd string the
 * caller owns (commit or discard it) and *fd is open; on failure *tmp is
 * NULL and *fd is -1. */
ts_status ts_out_file_create(const char *out, char **tmp, int *fd, struct ts_error *err);

/* Write all n bytes of p at offset off, retrying short writes and EINTR.
 * Returns 0, or the errno of the failure (EIO for a write of 0 bytes).
 * Thread-safe on one descriptor (pwrite). */
int ts_out_file_write_at(int fd, const void *p, size_t n, uint64_t off);

/* Publish a complete file: rename *tmp to out (the descriptor must be
 * closed already), then free *tmp and set it NULL (nothing left to
 * remove).  500 "could not rename the output into place" on failure, *tmp
 * kept for ts_out_file_discard. */
ts_status ts_out_file_commit(char **tmp, const char *out, struct ts_error *err);

/* Remove the temporary file *tmp, free the name and set it NULL; nothing
 * when *tmp is NULL (committed or never created). */
void ts_out_file_discard(char **tmp);

#endif
