/*
 * front.h - private to src/front/ and its unit tests: the listening socket
 * (front/listen.c) and the front ends with the request handler passed in,
 * so tests can drive a front end with their own handler.  ts_http_run and
 * ts_fastcgi_run (server.h) are these with ts_server_handle.
 */
#ifndef TESSERA_FRONT_FRONT_H
#define TESSERA_FRONT_FRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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
 * The FastCGI gate (front/fcgi_gate.c): one thread accepts on listen_fd
 * (made non-blocking) and holds each connection until it has sent a whole
 * request head (FCGI_BEGIN_REQUEST and the parameters to their empty
 * FCGI_PARAMS record), closing it when that takes longer than
 * timeout_seconds or it sends something that is not FastCGI; workers then
 * take ready connections, whose heads libfcgi reads without waiting.
 * NULL (logged) when the thread cannot start.
 */
struct ts_fcgi_gate;
struct ts_fcgi_gate *ts_fcgi_gate_start(int listen_fd, int timeout_seconds);
/* A ready connection's descriptor (the caller owns it), waiting as long as
 * needed; -1 once the gate is stopping and none is left. */
int ts_fcgi_gate_take(struct ts_fcgi_gate *g);
/* Take back a connection the web server keeps open (FCGI_KEEP_CONN) after
 * its request was answered, to wait for its next request; takes ownership. */
void ts_fcgi_gate_give_back(struct ts_fcgi_gate *g, int fd);
/* Connections closed for sending no whole request in time, so far. */
uint64_t ts_fcgi_gate_timed_out(struct ts_fcgi_gate *g);
/* Stop accepting and wake every ts_fcgi_gate_take.  Accepts NULL. */
void ts_fcgi_gate_stop(struct ts_fcgi_gate *g);
/* Stop, close every connection still held and free; after the workers
 * have left.  Accepts NULL. */
void ts_fcgi_gate_destroy(struct ts_fcgi_gate *g);
/* Pure: do buf[0..n) begin with a whole FastCGI request head (records up
 * to and including an empty FCGI_PARAMS)?  1 yes, 0 not yet, -1 not
 * FastCGI (a record of another version). */
int ts_fcgi_head_complete(const unsigned char *buf, size_t n);

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
 * caller to remove the path when it stops, with ts_listen_release.  In a
 * worker of front/workers.c it returns the socket the master opened for
 * addr instead (see below).
 */
int ts_listen_open(const char *addr, int backlog, bool *is_unix, struct ts_error *err);

/*
 * Sockets a master opened before forking its workers (front/inherit.c).
 * ts_listen_inherit records fd as the socket for addr (false when the
 * table is full); ts_listen_open then returns it instead of binding.
 * ts_listen_inherited returns the recorded fd or -1.  ts_listen_release
 * removes a Unix socket file when a front end stops, unless it was
 * inherited: only the master removes those, when it exits.
 */
bool ts_listen_inherit(const char *addr, int fd, bool is_unix);
int ts_listen_inherited(const char *addr, bool *is_unix);
void ts_listen_release(const char *addr, bool is_unix);

#endif
