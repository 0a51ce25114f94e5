/*
 * lru_list.h - the recency list the caches of src/cache/ keep their
 * entries in (lru.c, tile_cache.c, pyramid_cache.c): an intrusive doubly
 * linked list, most recently used at the head, evicted from the tail.
 *
 * The one idea: the links live inside each cache's own entry (a struct
 * ts_lru_link member), so moving an entry to the head on a hit or taking
 * it out on eviction is a few pointer writes under the cache's lock, with
 * no allocation; TS_LRU_ENTRY turns a link back into its entry.  The
 * caller holds whatever lock guards the list.
 *
 * Internal to src/cache/: not a public header.
 */
#ifndef TESSERA_CACHE_LRU_LIST_H
#define TESSERA_CACHE_LRU_LIST_H

#include <stddef.h>

struct ts_lru_link {
	struct ts_lru_link *prev, *next;
};

struct ts_lru_list {
	struct ts_lru_link *head, *tail;   /* newest, oldest; NULL when empty */
};

/* The entry of `type` whose member `member` is the link `l`. */
#define TS_LRU_ENTRY(l, type, member) ((type *)(void *)((char *)(l) - offsetof(type, member)))

/* Put n (not in the list) at the head. */
static inline void ts_lru_list_push_head(struct ts_lru_list *list, struct ts_lru_link *n)
{
	n->prev = NULL;
	n->next = list->head;
	if (list->head)
		list->head->prev = n;
	list->head = n;
	if (!list->tail)
		list->tail = n;
}

/* Take n out of the list and clear its links; a node that is not in the
 * list (both links NULL and not the head) leaves the list as it is. */
static inline void ts_lru_list_unlink(struct ts_lru_list *list, struct ts_lru_link *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else if (list->head == n)
		list->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else if (list->tail == n)
		list->tail = n->prev;
	n->prev = n->next = NULL;
}

/* Move n (in the list) to the head: it was just used. */
static inline void ts_lru_list_to_head(struct ts_lru_list *list, struct ts_lru_link *n)
{
	if (list->head == n)
		return;
	ts_lru_list_unlink(list, n);
	ts_lru_list_push_head(list, n);
}

#endif
