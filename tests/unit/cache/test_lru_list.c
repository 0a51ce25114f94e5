/*
 * test_lru_list.c - the caches' recency list (src/cache/lru_list.h): new
 * entries go to the head, a used one moves there, the tail is the oldest,
 * unlinking keeps both ends right, and a link turns back into its entry.
 */
#include "check.h"
#include "src/cache/lru_list.h"

struct item {
	int id;
	struct ts_lru_link lru;
};

/* The ids from head to tail, as a string like "321"; checks the back links. */
static void order(const struct ts_lru_list *l, char *out)
{
	const struct ts_lru_link *n, *prev = NULL;

	for (n = l->head; n; prev = n, n = n->next) {
		*out++ = (char)('0' + TS_LRU_ENTRY(n, struct item, lru)->id);
		if (n->prev != prev)
			*out++ = '!';
	}
	if (l->tail != prev)
		*out++ = 'T';
	*out = '\0';
}

/* a, b, c pushed in that order: c is the head, a the tail */
static void push3(struct ts_lru_list *l, struct item *a, struct item *b, struct item *c)
{
	ts_lru_list_push_head(l, &a->lru);
	ts_lru_list_push_head(l, &b->lru);
	ts_lru_list_push_head(l, &c->lru);
}

static void new_entries_go_to_the_head(void)
{
	struct ts_lru_list l = { 0 };
	struct item a = { .id = 1 }, b = { .id = 2 }, c = { .id = 3 };
	char s[16];

	push3(&l, &a, &b, &c);
	order(&l, s);
	EXPECT_EQ_STR(s, "321");
	EXPECT(TS_LRU_ENTRY(l.tail, struct item, lru) == &a);
}

static void a_used_entry_moves_to_the_head(void)
{
	struct ts_lru_list l = { 0 };
	struct item a = { .id = 1 }, b = { .id = 2 }, c = { .id = 3 };
	char s[16];

	push3(&l, &a, &b, &c);
	ts_lru_list_to_head(&l, &a.lru);      /* the tail */
	order(&l, s);
	EXPECT_EQ_STR(s, "132");
	ts_lru_list_to_head(&l, &c.lru);      /* the middle */
	order(&l, s);
	EXPECT_EQ_STR(s, "312");
	ts_lru_list_to_head(&l, &c.lru);      /* already the head */
	order(&l, s);
	EXPECT_EQ_STR(s, "312");
}

static void unlinking_keeps_both_ends(void)
{
	struct ts_lru_list l = { 0 };
	struct item a = { .id = 1 }, b = { .id = 2 }, c = { .id = 3 }, d = { .id = 4 };
	char s[16];

	push3(&l, &a, &b, &c);
	ts_lru_list_unlink(&l, &b.lru);
	order(&l, s);
	EXPECT_EQ_STR(s, "31");
	EXPECT(b.lru.prev == NULL && b.lru.next == NULL);
	ts_lru_list_unlink(&l, &d.lru);       /* never in the list: no change */
	order(&l, s);
	EXPECT_EQ_STR(s, "31");
	ts_lru_list_unlink(&l, &a.lru);
	ts_lru_list_unlink(&l, &c.lru);
	EXPECT(l.head == NULL && l.tail == NULL);
}

int main(void)
{
	RUN(new_entries_go_to_the_head);
	RUN(a_used_entry_moves_to_the_head);
	RUN(unlinking_keeps_both_ends);
	return CHECK_DONE();
}
