/*
 * arena.h - per-request memory.
 *
 * Small, short-lived allocations (strings, parsed commands, header values)
 * come from the request's arena and are freed all at once when the request
 * ends.  Big pixel buffers never come from here: they are malloc'd on purpose
 * after their size has been checked against the limits.
 */
#ifndef TESSERA_ARENA_H
#define TESSERA_ARENA_H

#include <stddef.h>

struct ts_arena;

/* Returns a new arena, NULL when out of memory. */
struct ts_arena *ts_arena_create(void);
/* Frees every allocation of the arena. Accepts NULL. */
void ts_arena_destroy(struct ts_arena *a);
/* Frees every allocation but keeps the first block for reuse. */
void ts_arena_reset(struct ts_arena *a);

/* Allocation that lives until the arena is destroyed/reset; 16-byte aligned,
 * zero-filled. NULL on overflow or out of memory. */
void *ts_arena_alloc(struct ts_arena *a, size_t n);
/* Copies of strings; NULL in -> NULL out. */
char *ts_arena_strdup(struct ts_arena *a, const char *s);
char *ts_arena_strndup(struct ts_arena *a, const char *s, size_t n);
char *ts_arena_printf(struct ts_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
