/*
 * inherit.c - listening sockets a master process opened for its workers
 * (front/workers.c), looked up by the address the settings name.
 *
 * With `workers = N` the master opens each listening socket once, before it
 * forks, and records it here; a worker is a fork of the master, so it finds
 * the same table in its memory and the front ends' ts_listen_open hands out
 * the inherited descriptor instead of binding again.  The one idea: the
 * socket belongs to the master, which outlives every worker, so a worker
 * never removes a Unix socket file (ts_listen_release) and the kernel's
 * accept queue stays open across worker deaths and reloads: no connection
 * is refused while workers come and go.
 */
#include <string.h>
#include <unistd.h>
#include "front.h"

#define MAX_INHERITED 4

static struct inherited {
	char addr[256];
	int fd;
	bool is_unix;
} table[MAX_INHERITED];
static int ninherited;

/* "unix:/x" and "/x" name the same socket. */
static const char *plain(const char *addr)
{
	return strncmp(addr, "unix:", 5) == 0 ? addr + 5 : addr;
}

static struct inherited *find(const char *addr)
{
	for (int i = 0; i < ninherited; i++)
		if (strcmp(table[i].addr, plain(addr)) == 0)
			return &table[i];
	return NULL;
}

bool ts_listen_inherit(const char *addr, int fd, bool is_unix)
{
	struct inherited *e = find(addr);

	if (!e) {
		if (ninherited == MAX_INHERITED || strlen(plain(addr)) >= sizeof e->addr)
			return false;
		e = &table[ninherited++];
		strcpy(e->addr, plain(addr));
	}
	e->fd = fd;
	e->is_unix = is_unix;
	return true;
}

int ts_listen_inherited(const char *addr, bool *is_unix)
{
	const struct inherited *e = addr ? find(addr) : NULL;

	if (!e)
		return -1;
	*is_unix = e->is_unix;
	return e->fd;
}

void ts_listen_release(const char *addr, bool is_unix)
{
	if (!is_unix || !addr || !*addr || find(addr))
		return;   /* not a file, or the master's to remove */
	unlink(plain(addr));
}
