/*
 * address.h - a listen or server address as operators write it
 * (core/address.c): a Unix socket path, or TCP host:port.
 *
 * Parse-first and pure: no socket is opened and no name is resolved, so the
 * settings can be checked before anything starts (`tessera config --check`,
 * exit 2 for a bad value) and the front ends open exactly what was checked.
 */
#ifndef TESSERA_ADDRESS_H
#define TESSERA_ADDRESS_H

#include <stdbool.h>
#include "status.h"

struct ts_address {
	bool is_unix;
	char path[108];    /* Unix socket path (sizeof sun_path), when is_unix */
	char host[256];    /* TCP host without brackets; "" = every interface */
	char port[6];      /* TCP port, 1..65535, as digits */
};

/*
 * Parse addr: "unix:/path" or anything containing '/' is a Unix socket
 * path; otherwise "host:port", "[v6addr]:port", ":port" or a bare port
 * (the last two: every interface).  A host is a name or IPv4 address
 * (letters, digits, '.', '-', '_') or, in brackets, an IPv6 address.  The
 * port must be 1..65535.  what names the setting in the message
 * ("--http").  Returns TS_OK or 400 with one sentence in err.
 */
ts_status ts_address_parse(const char *addr, const char *what, struct ts_address *out,
                           struct ts_error *err);

#endif
