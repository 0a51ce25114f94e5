/*
 * response.c - small helpers on struct ts_response.
 */
#include <string.h>
#include "tessera/http.h"
#include "tessera/log.h"

void ts_response_header(struct ts_response *r, const char *name, const char *value)
{
	if (!name || !value)
		return;
	if (r->nheaders >= TS_MAX_HEADERS) {
		ts_log(TS_LOG_ERROR, "too many response headers, dropped %s", name);
		return;
	}
	r->headers[r->nheaders].name = name;
	r->headers[r->nheaders].value = value;
	r->nheaders++;
}

void ts_response_free(struct ts_response *r)
{
	if (!r)
		return;
	ts_buf_free(&r->body);
	memset(r, 0, sizeof *r);
}
