/*
 * conn_watch.h - has the client gone away?  (src/front/conn_watch.c)
 *
 * Asked before work that costs real CPU (a decode not served from a
 * cache, a large render leaving its queue, and every 100 ms while one
 * waits there or runs), so that answers nobody will read are not made: a viewer
 * panning away cancels its tile requests, wrk stops, an attacker opens
 * and closes connections.  One poll with zero timeout on the request's
 * connection, and at most one recv(MSG_PEEK): a microsecond.
 */
#ifndef TESSERA_CONN_WATCH_H
#define TESSERA_CONN_WATCH_H

#include <stdbool.h>
#include "http.h"

/*
 * True when the peer of w's connection is gone, so the answer would be
 * read by nobody; false when it may still be there (and always for
 * TS_CONN_NONE or a descriptor that is not a socket).  The rules, per
 * connection kind, are in conn_watch.c.  Never reads or consumes input.
 */
bool ts_conn_gone(const struct ts_conn_watch *w);

#endif
