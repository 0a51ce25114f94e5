/*
 * gif_write.c - pixels to GIF (GIF89a) with giflib, for .gif requests.
 *
 * GIF holds at most 256 colours and 1-bit transparency, so the picture
 * goes through palette.c first: its own colours when it has few (a
 * bitonal answer has 2, a gray one gray entries), otherwise a median-cut
 * palette with dithering, and alpha below 128 as one transparent index
 * announced in a Graphic Control Extension (GIF89a §23).  One image, no
 * interlace, written through giflib's output callback straight into the
 * response buffer; giflib's error codes become a 500 here.  GIF stores
 * 16-bit sizes (GIF89a §18): larger answers are 400.  No ICC profile
 * (GIF has no place for one short of an application extension few
 * readers honour).
 */
#include <stdlib.h>
#include <string.h>
#include <gif_lib.h>
#include "tessera/checked.h"
#include "tessera/encoder.h"
#include "tessera/palette.h"

struct gif_ctx {
	struct ts_buf *out;
	bool oom;
};

static int on_write(GifFileType *gif, const GifByteType *data, int len)
{
	struct gif_ctx *ctx = gif->UserData;

	if (len < 0 || !ts_buf_append(ctx->out, data, (size_t)len)) {
		ctx->oom = true;
		return 0;
	}
	return len;
}

/* The colour table size GIF can store: a power of two from 2 to 256. */
static int table_size(int n)
{
	int s = 2;

	while (s < n)
		s *= 2;
	return s;
}

ts_status ts_gif_write(const struct ts_image *img, struct ts_buf *out, struct ts_error *err)
{
	struct ts_palette pal;
	struct gif_ctx ctx = { out, false };
	ColorMapObject *map = NULL;
	GifFileType *gif = NULL;
	uint8_t *idx = NULL;
	size_t start, n;
	int gerr = 0, step = 0;
	ts_status st;

	if (!img || !img->pixels || !out || img->channels < 1 || img->channels > 4)
		return ts_error_set(err, TS_EINTERNAL, "invalid image for GIF");
	if (img->width > 65535 || img->height > 65535)
		return ts_error_set(err, TS_EBADREQUEST,
		                    "GIF cannot hold images larger than 65535 pixels");
	if (!ts_mul_size(img->width, img->height, &n))
		return ts_error_set(err, TS_EINTERNAL, "GIF encoding failed");
	start = out->len;
	st = ts_palette_choose(img, 256, &pal, err);
	if (st)
		return st;
	idx = malloc(n ? n : 1);
	if (!idx)
		return ts_error_set(err, TS_EINTERNAL, "out of memory encoding a GIF");
	st = ts_palette_map(img, &pal, idx, err);
	if (st)
		goto fail;
	st = TS_EINTERNAL;
	map = GifMakeMapObject(table_size(pal.count), NULL);
	if (!map) {
		ts_error_set(err, TS_EINTERNAL, "out of memory encoding a GIF");
		goto fail;
	}
	for (int i = 0; i < pal.count; i++) {
		map->Colors[i].Red = pal.rgb[i][0];
		map->Colors[i].Green = pal.rgb[i][1];
		map->Colors[i].Blue = pal.rgb[i][2];
	}
	gif = EGifOpen(&ctx, on_write, &gerr);
	if (!gif)
		goto gif_fail;
	EGifSetGifVersion(gif, true);
	step = 1;
	if (EGifPutScreenDesc(gif, (int)img->width, (int)img->height, 8, 0, map) == GIF_ERROR)
		goto gif_fail;
	if (pal.transparent >= 0) {
		/* GIF89a §23: packed field bit 0 = transparent colour flag,
		 * no disposal, no delay, then the index. */
		GifByteType gce[4] = { 0x01, 0, 0, (GifByteType)pal.transparent };
		if (EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, 4, gce) == GIF_ERROR)
			goto gif_fail;
	}
	if (EGifPutImageDesc(gif, 0, 0, (int)img->width, (int)img->height, false, NULL) ==
	    GIF_ERROR)
		goto gif_fail;
	for (uint32_t y = 0; y < img->height; y++)
		if (EGifPutLine(gif, idx + (size_t)y * img->width, (int)img->width) == GIF_ERROR)
			goto gif_fail;
	step = 2;
	if (EGifCloseFile(gif, &gerr) == GIF_ERROR) {
		gif = NULL;  /* freed by giflib even on failure */
		goto gif_fail;
	}
	gif = NULL;
	st = TS_OK;
	goto done;

gif_fail:
	if (gif && step < 2)
		gerr = gif->Error;
	if (ctx.oom) {
		ts_error_set(err, TS_EINTERNAL, "out of memory encoding a GIF");
	} else {
		ts_error_set(err, TS_EINTERNAL, "GIF encoding failed");
		ts_error_detail(err, "giflib %ux%u: %s", img->width, img->height,
		                GifErrorString(gerr) ? GifErrorString(gerr) : "unknown error");
	}
fail:
	if (gif)
		EGifCloseFile(gif, &gerr);
	/* Leave out as it was: no half-written GIF in the response. */
	out->len = start;
done:
	GifFreeMapObject(map);
	free(idx);
	return st;
}
