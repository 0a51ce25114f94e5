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
#include "front.h"

static int open_unix(const char *path, int backlog, struct ts_error *err)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd = -1;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa.sun_path) {
		ts_error_set(err, 500, "socket path %.200s is longer than %zu bytes", path,
		             sizeof sa.sun_path - 1);
		goto fail;
	}
	strcpy(sa.sun_path, path);
	/* A socket file left by a previous run would make bind fail. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			ts_error_set(err, 500, "%.200s exists and is not a socket; not replacing it",
			             path);
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

static int open_tcp(const char *addr, int backlog, struct ts_error *err)
{
	char host[256], port[16];
	const char *colon, *h = addr;
	size_t hlen;
	struct addrinfo hints, *res = NULL, *ai;
	int fd = -1, rc, one = 1, saved = 0;

	colon = strrchr(addr, ':');
	if (!colon) {          /* a bare port */
		colon = addr - 1;
		hlen = 0;
	} else {
		hlen = (size_t)(colon - addr);
		if (hlen >= 2 && addr[0] == '[' && addr[hlen - 1] == ']') {
			h = addr + 1;
			hlen -= 2;
		}
	}
	if (hlen >= sizeof host || strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof port ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1)) {
		ts_error_set(err, 500, "bad listen address '%.200s': expected host:port, "
		             "[v6]:port, :port or a socket path", addr);
		return -1;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	strcpy(port, colon + 1);
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	rc = getaddrinfo(hlen ? host : NULL, port, &hints, &res);
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
	int inherited = ts_listen_inherited(addr, is_unix);

	if (inherited >= 0)
		return inherited;   /* opened by the master (front/inherit.c) */
	*is_unix = false;
	if (strncmp(addr, "unix:", 5) == 0)
		addr += 5;
	if (strchr(addr, '/')) {
		*is_unix = true;
		return open_unix(addr, backlog, err);
	}
	return open_tcp(addr, backlog, err);
}
