/*
 * address.c - parse a listen or server address (address.h).
 *
 * The one idea: every address is checked here, once, before anything is
 * opened, so "--http garbage" or a port of 99999 is a settings error
 * naming the setting (exit 2), never a socket bound somewhere else.
 */
#include <string.h>
#include "tessera/address.h"

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '_';
}

static bool v6_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
	       c == ':' || c == '.';
}

ts_status ts_address_parse(const char *addr, const char *what, struct ts_address *out,
                           struct ts_error *err)
{
	const char *colon, *h = addr, *port;
	size_t hlen, plen;
	unsigned long n = 0;

	memset(out, 0, sizeof *out);
	if (!addr || !*addr)
		return ts_error_set(err, TS_EBADREQUEST, "%s: empty address", what);
	if (strncmp(addr, "unix:", 5) == 0 || strchr(addr, '/')) {
		const char *p = strncmp(addr, "unix:", 5) == 0 ? addr + 5 : addr;
		if (p[0] == '\0' || strlen(p) >= sizeof out->path)
			return ts_error_set(err, TS_EBADREQUEST, "%s: socket path '%.200s' is empty or "
			                    "longer than %zu bytes", what, p, sizeof out->path - 1);
		out->is_unix = true;
		strcpy(out->path, p);
		return TS_OK;
	}
	colon = strrchr(addr, ':');
	if (!colon) {
		port = addr;
		hlen = 0;
	} else {
		port = colon + 1;
		hlen = (size_t)(colon - addr);
		if (addr[0] == '[') {
			if (hlen < 3 || addr[hlen - 1] != ']')
				goto bad;
			h = addr + 1;
			hlen -= 2;
			for (size_t i = 0; i < hlen; i++)
				if (!v6_char(h[i]))
					goto bad;
		} else {
			for (size_t i = 0; i < hlen; i++)
				if (!name_char(h[i]))
					goto bad;
		}
	}
	plen = strlen(port);
	if (plen == 0 || plen > 5 || strspn(port, "0123456789") != plen || hlen >= sizeof out->host)
		goto bad;
	for (size_t i = 0; i < plen; i++)
		n = n * 10 + (unsigned long)(port[i] - '0');
	if (n < 1 || n > 65535)
		return ts_error_set(err, TS_EBADREQUEST, "%s: port %.20s is out of range (1 to 65535)",
		                    what, port);
	memcpy(out->host, h, hlen);
	out->host[hlen] = '\0';
	memcpy(out->port, port, plen + 1);
	return TS_OK;
bad:
	return ts_error_set(err, TS_EBADREQUEST, "%s: bad address '%.200s': expected host:port, "
	                    "[v6addr]:port, :port (every interface) or a socket path", what, addr);
}
