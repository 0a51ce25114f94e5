/*
 * listen.h - opening the listening socket of a front end (front/listen.c).
 * Private to src/front/.
 */
#ifndef TESSERA_FRONT_LISTEN_H
#define TESSERA_FRONT_LISTEN_H

#include <stdbool.h>
#include "tessera/status.h"

/*
 * Open a listening socket for addr: a Unix socket path (anything containing
 * '/', optionally written "unix:/path"), or TCP as "host:port", "[v6]:port",
 * ":port" (all interfaces) or a bare port number.  A stale Unix socket file
 * is removed first (any other kind of file is left alone and is an error)
 * and the new one is made world-writable (0666): the web server connecting
 * to it runs as another user, and the directory it lives in is what should
 * restrict access.  Returns the descriptor (close-on-exec) or -1 with a
 * message naming addr and the system's reason in err.  *is_unix tells the
 * caller to unlink the path when it stops.
 */
int ts_listen_open(const char *addr, int backlog, bool *is_unix, struct ts_error *err);

#endif
