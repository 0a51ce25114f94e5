/*
 * front.h - private to src/front/ and its unit tests: the listening socket
 * (front/listen.c) and the front ends with the request handler passed in,
 * so tests can drive a front end with their own handler.  ts_http_run and
 * ts_fastcgi_run (server.h) are these with ts_server_handle.
 */
#ifndef TESSERA_FRONT_FRONT_H
#define TESSERA_FRONT_FRONT_H

#include <stdbool.h>
#include "tessera/http.h"
#include "tessera/settings.h"
#include "tessera/status.h"

struct ts_arena;

/* Answers one request; same contract as ts_server_handle. */
typedef void (*ts_front_handler)(void *ctx, const struct ts_http_request *req,
                                 struct ts_arena *a, struct ts_response *resp);

/* Run the embedded HTTP / FastCGI front end on s->http_listen /
 * s->fastcgi_listen ("" = standard input for FastCGI) until *stop becomes
 * nonzero.  Return 0 after a clean stop, 1 when they could not start (and
 * then set *stop so a sibling front end stops too). */
int ts_http_serve(ts_front_handler h, void *ctx, const struct ts_settings *s,
                  volatile int *stop);
int ts_fastcgi_serve(ts_front_handler h, void *ctx, const struct ts_settings *s,
                     volatile int *stop);

/*
 * Open a listening socket for addr: a Unix socket path (anything containing
 * '/', optionally written "unix:/path"), or TCP as "host:port", "[v6]:port",
 * ":port" (all interfaces) or a bare port number (address.h).  A stale Unix
 * socket file is removed first; a socket a server still answers on, or any
 * other kind of file, is left alone and is an error;
 * and the new one is made world-writable (0666): the web server connecting
 * to it runs as another user, and the directory it lives in is what should
 * restrict access.  Returns the descriptor (close-on-exec) or -1 with a
 * message naming addr and the system's reason in err.  *is_unix tells the
 * caller to unlink the path when it stops.
 */
int ts_listen_open(const char *addr, int backlog, bool *is_unix, struct ts_error *err);

#endif
