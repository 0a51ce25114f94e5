/*
 * server.h - one request end to end (src/server.c): route, parse, resolve,
 * plan, decode, pipe, encode, respond.  Shared by every front end and every
 * worker thread; thread-safe.
 */
#ifndef TESSERA_SERVER_H
#define TESSERA_SERVER_H

#include "http.h"
#include "settings.h"

struct ts_arena;
struct ts_server;

/* Create the server from settings (borrowed; must outlive the server).
 * Fails (NULL, message in err) when the root is missing or unusable. */
struct ts_server *ts_server_create(const struct ts_settings *s, struct ts_error *err);
void ts_server_destroy(struct ts_server *srv);

/* Answer one request.  resp is zero-initialised by the caller; header
 * strings are allocated in arena a, which must outlive the write-out. */
void ts_server_handle(struct ts_server *srv, const struct ts_http_request *req,
                      struct ts_arena *a, struct ts_response *resp);

/* Front ends (front/). Each runs until *stop becomes nonzero. */
int ts_fastcgi_run(struct ts_server *srv, const struct ts_settings *s, volatile int *stop);
int ts_http_run(struct ts_server *srv, const struct ts_settings *s, volatile int *stop);

#endif
