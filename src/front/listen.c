/*
 * listen.c - the listening socket shared by the FastCGI and HTTP fronts.
 *
 * Both fronts take an operator-written address: a Unix socket path for
 * nginx/Apache on the same machine, or host:port.  Opening the socket
 * ourselves (rather than through libfcgi or libmicrohttpd) gives one syntax
 * for both, IPv6, and an error message with the system's reason in it.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "tessera/address.h"
#include "front.h"

/* Whether a server answers on the Unix socket at sa (a live socket must
 * never be replaced: its server would keep running, unreachable). */
static bool unix_socket_is_live(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return false;
	live = connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0 ||
	       (errno != ECONNREFUSED && errno != ENOENT);
	close(fd);
	return live;
}

static int open_unix(const struct ts_address *ad, int backlog, struct ts_error *err)
{
	struct sockaddr_un sa;
	struct stat st;
	const char *path = ad->path;
	int fd = -1;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);   /* ts_address_parse bounds it to sun_path */
	/* A socket file left by a previous run would make bind fail; one a
	 * running server still answers on is not ours to take. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			ts_error_set(err, 500, "%.200s exists and is not a socket; not replacing it",
			             path);
			goto fail;
		}
		if (unix_socket_is_live(&sa)) {
			ts_error_set(err, 500, "%.200s is in use by a running server; not replacing "
			             "it (stop that server first)", path);
			goto fail;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		ts_error_set(err, 500, "cannot bind %.200s: %s", path, strerror(errno));
		goto fail;
	}
	/* nginx/Apache workers run as another user (www-data): let them connect;
	 * the directory (e.g. /run/tessera) is what limits who can reach it. */
	if (chmod(path, 0666) != 0 || listen(fd, backlog) != 0) {
		ts_error_set(err, 500, "cannot listen on %.200s: %s", sa.sun_path, strerror(errno));
		unlink(sa.sun_path);
		goto fail;
	}
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

static int open_tcp(const char *addr, const struct ts_address *ad, int backlog,
                    struct ts_error *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	int fd = -1, rc, one = 1, saved = 0;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	rc = getaddrinfo(ad->host[0] ? ad->host : NULL, ad->port, &hints, &res);
	if (rc != 0) {
		ts_error_set(err, 500, "cannot resolve listen address '%.200s': %s", addr,
		             gai_strerror(rc));
		return -1;
	}
	/* With no host, prefer the IPv6 wildcard (it also takes IPv4 unless the
	 * system says otherwise); else the first address that binds. */
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, backlog) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		ts_error_set(err, 500, "cannot listen on %.200s: %s", addr, strerror(saved));
	return fd;
}

int ts_listen_open(const char *addr, int backlog, bool *is_unix, struct ts_error *err)
{
	struct ts_address ad;
	int inherited = ts_listen_inherited(addr, is_unix);

	if (inherited >= 0)
		return inherited;   /* opened by the master (front/inherit.c) */
	*is_unix = false;
	if (ts_address_parse(addr, "listen address", &ad, err) != TS_OK)
		return -1;
	if (ad.is_unix) {
		*is_unix = true;
		return open_unix(&ad, backlog, err);
	}
	return open_tcp(addr, &ad, backlog, err);
}
