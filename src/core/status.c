/*
 * status.c - filling struct ts_error and naming HTTP statuses.
 * The first failure noticed wins: later calls do not overwrite it, so the
 * message stays the one closest to the cause.
 */
#include <stdio.h>
#include <string.h>
#include "tessera/status.h"

void ts_error_clear(struct ts_error *err)
{
	if (!err)
		return;
	err->status = TS_OK;
	err->msg[0] = '\0';
	err->detail[0] = '\0';
}

ts_status ts_error_set(struct ts_error *err, ts_status status, const char *fmt, ...)
{
	va_list ap;

	if (!err || err->status != TS_OK)
		return status;
	err->status = status;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return status;
}

void ts_error_detail(struct ts_error *err, const char *fmt, ...)
{
	va_list ap;

	if (!err || err->detail[0])
		return;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof err->detail, fmt, ap);
	va_end(ap);
}

const char *ts_status_reason(int s)
{
	switch (s) {
	case 200: return "OK";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 413: return "Payload Too Large";
	case 416: return "Range Not Satisfiable";
	case 499: return "Client Closed Request";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}
