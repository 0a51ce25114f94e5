/*
 * conn_watch.c - whether the client of a request in progress has gone
 * away (contract in include/tessera/conn_watch.h).
 *
 * Where it sits: front ends describe the connection in the request (struct
 * ts_conn_watch); serve/ asks here before costly work and drops the work
 * (499) when the answer has no reader left.
 *
 * The one idea: only a peer that has ended its side of the connection is
 * "gone", and that is told from the socket's state alone, without reading:
 *
 *   - POLLHUP or POLLERR: both directions are shut (a Unix-socket peer
 *     closed, a TCP reset): gone.
 *   - POLLRDHUP alone: the peer will send nothing more.  On a Unix socket
 *     a close always shows as POLLHUP, so this is a half-close
 *     (shutdown(SHUT_WR)) by a peer still reading: not gone.  Over TCP a
 *     close and a half-close are the same FIN and cannot be told apart
 *     without writing; we do as nginx does with its own clients
 *     (proxy/fastcgi_ignore_client_abort off, its 499): the end of input
 *     while the answer is pending means the client left -- unless more
 *     input is waiting before that end (recv MSG_PEEK returns bytes) or
 *     the front end already holds a further pipelined request: a client
 *     that sends requests and then half-closes still wants the answers.
 *
 * FastCGI (FastCGI 1.0 §3.3, §5.3): the web server ends a request's input
 * with an empty FCGI_STDIN record, never by shutting the connection down,
 * so a normal request never shows POLLRDHUP; nginx closes the connection
 * when its client goes away (with fastcgi_ignore_client_abort off, the
 * default, and also with fastcgi_keep_conn on: a connection whose answer
 * did not complete is not kept).  nginx never sends FCGI_ABORT_REQUEST,
 * and that record is not looked for.
 */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

#include "tessera/conn_watch.h"

bool ts_conn_gone(const struct ts_conn_watch *w)
{
	struct pollfd p;
	char c;
	ssize_t n;

	if (!w || w->kind == TS_CONN_NONE || w->fd < 0)
		return false;
	p.fd = w->fd;
	p.events = POLLRDHUP;
	p.revents = 0;
	if (poll(&p, 1, 0) <= 0)
		return false;   /* nothing happened (or EINTR: ask again later) */
	if (p.revents & POLLNVAL)
		return false;   /* not ours to judge */
	if (p.revents & (POLLHUP | POLLERR))
		return true;
	if (!(p.revents & POLLRDHUP) || w->unix_domain || w->pipelined)
		return false;
	n = recv(w->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n > 0)
		return false;   /* input waiting before the end: a pipelined request */
	if (n == 0)
		return true;
	return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
	       errno != ENOTSOCK;
}
