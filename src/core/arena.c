/*
 * arena.c - per-request bump allocator.  Blocks are chained; a request that
 * needs more than a block gets a block of its own size.  Reset keeps the
 * first block so a worker thread reuses it request after request.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tessera/arena.h"
#include "tessera/checked.h"

#define BLOCK_SIZE (16 * 1024)

struct block {
	struct block *next;
	size_t size, used;
	unsigned char data[];
};

struct ts_arena {
	struct block *head;
};

static struct block *block_new(size_t size)
{
	size_t total;
	struct block *b;

	if (!ts_add_size(sizeof *b, size, &total))
		return NULL;
	b = malloc(total);
	if (!b)
		return NULL;
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

struct ts_arena *ts_arena_create(void)
{
	struct ts_arena *a = calloc(1, sizeof *a);

	if (!a)
		return NULL;
	a->head = block_new(BLOCK_SIZE);
	if (!a->head) {
		free(a);
		return NULL;
	}
	return a;
}

void ts_arena_reset(struct ts_arena *a)
{
	struct block *b, *next;

	if (!a)
		return;
	/* keep the last block in the chain: it is the original first block */
	for (b = a->head; b && b->next; b = next) {
		next = b->next;
		free(b);
	}
	a->head = b;
	if (b)
		b->used = 0;
}

void ts_arena_destroy(struct ts_arena *a)
{
	struct block *b, *next;

	if (!a)
		return;
	for (b = a->head; b; b = next) {
		next = b->next;
		free(b);
	}
	free(a);
}

void *ts_arena_alloc(struct ts_arena *a, size_t n)
{
	struct block *b;
	size_t need;
	void *p;

	if (!ts_add_size(n, 15, &need))
		return NULL;
	need &= ~(size_t)15;
	if (need == 0)
		need = 16;
	b = a->head;
	if (!b || b->size - b->used < need) {
		b = block_new(need > BLOCK_SIZE ? need : BLOCK_SIZE);
		if (!b)
			return NULL;
		/* new blocks go in front; the original block stays last */
		b->next = a->head;
		a->head = b;
	}
	p = b->data + b->used;
	b->used += need;
	memset(p, 0, n);
	return p;
}

char *ts_arena_strndup(struct ts_arena *a, const char *s, size_t n)
{
	char *d;

	if (!s)
		return NULL;
	d = ts_arena_alloc(a, n + 1);
	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *ts_arena_strdup(struct ts_arena *a, const char *s)
{
	return s ? ts_arena_strndup(a, s, strlen(s)) : NULL;
}

char *ts_arena_printf(struct ts_arena *a, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *d;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	d = ts_arena_alloc(a, (size_t)n + 1);
	if (!d)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(d, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return d;
}
