/*
 * buf.h - a growable byte buffer (response bodies, encoder output).
 *
 * The buffer owns its bytes (malloc'd).  ts_buf_free releases them;
 * ts_buf_take hands ownership to the caller.
 */
#ifndef TESSERA_BUF_H
#define TESSERA_BUF_H

#include <stddef.h>
#include <stdbool.h>

struct ts_buf {
	unsigned char *data;
	size_t len;
	size_t cap;
};

#define TS_BUF_INIT { NULL, 0, 0 }

/* Make room for n more bytes. Returns false on overflow/out of memory. */
bool ts_buf_reserve(struct ts_buf *b, size_t n);
bool ts_buf_append(struct ts_buf *b, const void *data, size_t n);
bool ts_buf_append_str(struct ts_buf *b, const char *s);
bool ts_buf_printf(struct ts_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Empty the buffer, keeping its memory. */
void ts_buf_clear(struct ts_buf *b);
/* Free the bytes and reset to empty. Accepts NULL. */
void ts_buf_free(struct ts_buf *b);

#endif
