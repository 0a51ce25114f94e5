/* rows_orient.c - placeholder */
#include "rows.h"

ts_status ts_rows_orient_wrap(struct ts_rows *inner, struct ts_rows **out,
                              struct ts_error *err)
{
	*out = inner;
	return TS_OK;
}
