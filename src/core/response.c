/*
 * response.c - small helpers on struct ts_response: headers, and the file
 * body the response owns until a front end has sent it.
 */
#include <string.h>
#include <unistd.h>
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

void ts_response_set_file(struct ts_response *r, int fd, uint64_t offset, uint64_t length)
{
	ts_response_drop_file(r);
	ts_buf_clear(&r->body);
	r->has_file = true;
	r->file_fd = fd;
	r->file_offset = offset;
	r->file_length = length;
}

void ts_response_drop_file(struct ts_response *r)
{
	if (r->has_file && r->file_fd >= 0)
		close(r->file_fd);
	r->has_file = false;
	r->file_fd = -1;
	r->file_offset = r->file_length = 0;
}

void ts_response_free(struct ts_response *r)
{
	if (!r)
		return;
	ts_response_drop_file(r);
	ts_buf_free(&r->body);
	memset(r, 0, sizeof *r);
}
