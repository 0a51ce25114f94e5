/*
 * buf.c - growable byte buffer; capacity doubles, every size is checked.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tessera/buf.h"
#include "tessera/checked.h"

bool ts_buf_reserve(struct ts_buf *b, size_t n)
{
	size_t need, cap;
	unsigned char *p;

	if (!ts_add_size(b->len, n, &need))
		return false;
	if (need <= b->cap)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap < need) {
		if (!ts_mul_size(cap, 2, &cap))
			return false;
	}
	p = realloc(b->data, cap);
	if (!p)
		return false;
	b->data = p;
	b->cap = cap;
	return true;
}

bool ts_buf_append(struct ts_buf *b, const void *data, size_t n)
{
	if (n == 0)
		return true;
	if (!ts_buf_reserve(b, n))
		return false;
	memcpy(b->data + b->len, data, n);
	b->len += n;
	return true;
}

bool ts_buf_append_str(struct ts_buf *b, const char *s)
{
	return ts_buf_append(b, s, strlen(s));
}

bool ts_buf_printf(struct ts_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !ts_buf_reserve(b, (size_t)n + 1))
		return false;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return true;
}

void ts_buf_clear(struct ts_buf *b)
{
	b->len = 0;
}

void ts_buf_free(struct ts_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
