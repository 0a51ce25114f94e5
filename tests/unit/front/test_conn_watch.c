/*
 * test_conn_watch.c - telling that a client has gone away from the state of
 * its socket alone: a connection still open is never "gone"; a close is, on
 * Unix sockets and over TCP; a half-close is not on a Unix socket (told
 * apart there) and is over TCP (the same FIN as a close, as nginx takes
 * it) unless input waits before it or the client pipelines; nothing is
 * ever consumed; an unwatched request is never gone.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include "check.h"
#include "tessera/conn_watch.h"

static struct ts_conn_watch watch(int fd, enum ts_conn_kind kind, bool unix_domain)
{
	struct ts_conn_watch w = { .kind = kind, .fd = fd, .unix_domain = unix_domain };

	return w;
}

/* A connected TCP pair on 127.0.0.1: *ours (the server's side), *theirs. */
static bool tcp_pair(int *ours, int *theirs)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;
	int l = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) != 0)
		return false;
	*theirs = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(*theirs, (struct sockaddr *)&a, sizeof a) != 0)
		return false;
	*ours = accept(l, NULL, NULL);
	close(l);
	return *ours >= 0;
}

/* The FIN has to travel, even on loopback: a moment. */
static void settle(void)
{
	usleep(20000);
}

static void an_open_connection_is_not_gone(void)
{
	int sv[2], ours, theirs;
	struct ts_conn_watch w;

	EXPECT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	w = watch(sv[0], TS_CONN_FASTCGI, true);
	EXPECT(!ts_conn_gone(&w));
	EXPECT(write(sv[1], "x", 1) == 1);   /* input waiting is not a hang-up */
	EXPECT(!ts_conn_gone(&w));
	close(sv[0]);
	close(sv[1]);
	EXPECT(tcp_pair(&ours, &theirs));
	w = watch(ours, TS_CONN_HTTP, false);
	EXPECT(!ts_conn_gone(&w));
	close(ours);
	close(theirs);
}

static void a_unix_peer_that_closes_is_gone_one_that_half_closes_is_not(void)
{
	int sv[2];
	struct ts_conn_watch w;

	EXPECT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	w = watch(sv[0], TS_CONN_FASTCGI, true);
	shutdown(sv[1], SHUT_WR);
	EXPECT(!ts_conn_gone(&w));
	close(sv[1]);
	EXPECT(ts_conn_gone(&w));
	close(sv[0]);
}

static void a_tcp_peer_that_closes_is_gone(void)
{
	int ours, theirs;
	struct ts_conn_watch w;

	EXPECT(tcp_pair(&ours, &theirs));
	w = watch(ours, TS_CONN_FASTCGI, false);
	close(theirs);
	settle();
	EXPECT(ts_conn_gone(&w));
	w.kind = TS_CONN_HTTP;
	EXPECT(ts_conn_gone(&w));
	close(ours);
}

static void a_tcp_half_close_is_gone_unless_input_waits_or_the_client_pipelines(void)
{
	int ours, theirs;
	char c;
	struct ts_conn_watch w;

	EXPECT(tcp_pair(&ours, &theirs));
	w = watch(ours, TS_CONN_HTTP, false);
	EXPECT(write(theirs, "GET", 3) == 3);
	shutdown(theirs, SHUT_WR);
	settle();
	EXPECT(!ts_conn_gone(&w));          /* a request waits before the end */
	EXPECT(recv(ours, &c, 1, 0) == 1);  /* and it was not consumed */
	EXPECT(c == 'G');
	EXPECT(recv(ours, &c, 1, 0) == 1 && recv(ours, &c, 1, 0) == 1);
	EXPECT(ts_conn_gone(&w));           /* nothing but the end now */
	w.pipelined = true;
	EXPECT(!ts_conn_gone(&w));          /* a pipelining client's last request */
	close(ours);
	close(theirs);
}

static void an_unwatched_request_is_never_gone(void)
{
	int sv[2];
	struct ts_conn_watch w = { 0 };

	EXPECT(!ts_conn_gone(NULL));
	EXPECT(!ts_conn_gone(&w));          /* zeroed: TS_CONN_NONE, even on fd 0 */
	EXPECT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	close(sv[1]);
	w = watch(sv[0], TS_CONN_NONE, true);
	EXPECT(!ts_conn_gone(&w));
	w = watch(-1, TS_CONN_HTTP, false);
	EXPECT(!ts_conn_gone(&w));
	close(sv[0]);
}

int main(void)
{
	RUN(an_open_connection_is_not_gone);
	RUN(a_unix_peer_that_closes_is_gone_one_that_half_closes_is_not);
	RUN(a_tcp_peer_that_closes_is_gone);
	RUN(a_tcp_half_close_is_gone_unless_input_waits_or_the_client_pipelines);
	RUN(an_unwatched_request_is_never_gone);
	return CHECK_DONE();
}
