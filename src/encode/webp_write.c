/*
 * webp_write.c - pixels to lossy WebP with libwebp.
 *
 * The last stage for .webp requests.  WebP pictures are RGB(A): gray is
 * expanded to RGB, gray+alpha to RGBA, and alpha is kept.  The advanced
 * API (WebPConfig/WebPPicture) is used rather than WebPEncodeRGB because
 * it reports why an encode failed (picture.error_code, per call, no
 * global state) and its writer callback appends straight to our buffer.
 * An ICC profile that fits (RGB only) is added afterwards with libwebpmux,
 * which rewraps the simple file as an extended one with an ICCP chunk.
 */
#include <stdlib.h>
#include <string.h>
#include <webp/encode.h>
#include <webp/mux.h>
#include "tessera/deadline.h"
#include "tessera/checked.h"
#include "tessera/encoder.h"
#include "tessera/icc.h"

struct webp_ctx {
	struct ts_buf *out;
	int oom;
};

/* libwebp reports its progress now and then; 0 aborts the encoding, which
 * is how a render past its deadline stops here (tessera/deadline.h). */
static int on_progress(int percent, const WebPPicture *pic)
{
	(void)percent;
	(void)pic;
	return !ts_deadline_passed();
}

static int on_write(const uint8_t *data, size_t len, const WebPPicture *pic)
{
	struct webp_ctx *ctx = pic->custom_ptr;

	if (!ts_buf_append(ctx->out, data, len)) {
		ctx->oom = 1;
		return 0;
	}
	return 1;
}

static const char *webp_error_text(WebPEncodingError e)
{
	switch (e) {
	case VP8_ENC_ERROR_OUT_OF_MEMORY: return "out of memory";
	case VP8_ENC_ERROR_BITSTREAM_OUT_OF_MEMORY: return "out of memory flushing bits";
	case VP8_ENC_ERROR_NULL_PARAMETER: return "null parameter";
	case VP8_ENC_ERROR_INVALID_CONFIGURATION: return "invalid configuration";
	case VP8_ENC_ERROR_BAD_DIMENSION: return "bad picture dimension";
	case VP8_ENC_ERROR_PARTITION0_OVERFLOW: return "partition 0 overflow";
	case VP8_ENC_ERROR_PARTITION_OVERFLOW: return "partition overflow";
	case VP8_ENC_ERROR_BAD_WRITE: return "write failed";
	case VP8_ENC_ERROR_FILE_TOO_BIG: return "file too big";
	case VP8_ENC_ERROR_USER_ABORT: return "aborted";
	default: return "unknown error";
	}
}

/* Gray or gray+alpha to a new RGB or RGBA buffer. */
static uint8_t *expand_gray(const struct ts_image *img, int onc, struct ts_error *err)
{
	size_t n;
	uint8_t *buf;
	int inc = img->channels;

	if (!ts_mul3_size(img->width, img->height, (size_t)onc, &n) ||
	    !(buf = malloc(n))) {
		ts_error_set(err, TS_EINTERNAL, "out of memory encoding a WebP");
		return NULL;
	}
	for (uint32_t y = 0; y < img->height; y++) {
		const uint8_t *s = img->pixels + y * img->stride;
		uint8_t *d = buf + (size_t)y * img->width * onc;

		for (uint32_t x = 0; x < img->width; x++, s += inc, d += onc) {
			d[0] = d[1] = d[2] = s[0];
			if (onc == 4)
				d[3] = s[1];
		}
	}
	return buf;
}

/*
 * Rewrap the WebP at out[start..] as an extended WebP (VP8X) with an ICCP
 * chunk holding the profile (WebP container spec, "Color profile"), in
 * place of the simple one.  libwebpmux does the container work.
 */
static ts_status add_iccp(struct ts_buf *out, size_t start, const unsigned char *icc,
                          size_t icc_len, struct ts_error *err)
{
	WebPData in = { out->data + start, out->len - start };
	WebPData profile = { icc, icc_len };
	WebPData res;
	WebPMux *mux;
	WebPMuxError e = WEBP_MUX_MEMORY_ERROR;
	ts_status st = TS_EINTERNAL;

	WebPDataInit(&res);
	mux = WebPMuxCreate(&in, 0);   /* 0: refer to our bytes, no copy */
	if (mux && (e = WebPMuxSetChunk(mux, "ICCP", &profile, 0)) == WEBP_MUX_OK)
		e = WebPMuxAssemble(mux, &res);
	WebPMuxDelete(mux);            /* before out changes under it */
	if (!mux || e != WEBP_MUX_OK) {
		ts_error_set(err, TS_EINTERNAL, e == WEBP_MUX_MEMORY_ERROR
		             ? "out of memory encoding a WebP" : "WebP encoding failed");
		ts_error_detail(err, "libwebpmux: ICCP chunk: error %d", (int)e);
		goto fail;
	}
	out->len = start;
	if (!ts_buf_append(out, res.bytes, res.size)) {
		ts_error_set(err, TS_EINTERNAL, "out of memory encoding a WebP");
		goto fail;
	}
	st = TS_OK;
fail:
	WebPDataClear(&res);
	return st;
}

ts_status ts_webp_write(const struct ts_image *img, int quality, const unsigned char *icc,
                        size_t icc_len, struct ts_buf *out, struct ts_error *err)
{
	WebPConfig config;
	WebPPicture pic;
	struct webp_ctx ctx = { out, 0 };
	uint8_t *rgb = NULL;
	const uint8_t *src;
	size_t stride, start;
	int alpha, ok, have_pic = 0;
	ts_status st = TS_EINTERNAL;

	if (!img || !img->pixels || !out || img->channels < 1 || img->channels > 4)
		return ts_error_set(err, TS_EINTERNAL, "invalid image for WebP");
	if (img->width > WEBP_MAX_DIMENSION || img->height > WEBP_MAX_DIMENSION)
		return ts_error_set(err, TS_EBADREQUEST,
		                    "WebP cannot hold images larger than %d pixels",
		                    WEBP_MAX_DIMENSION);
	start = out->len;
	if (quality < 1)
		quality = 1;
	if (quality > 100)
		quality = 100;
	alpha = ts_image_has_alpha(img);
	src = img->pixels;
	stride = img->stride;
	if (img->channels <= 2) {
		rgb = expand_gray(img, alpha ? 4 : 3, err);
		if (!rgb)
			goto fail;
		src = rgb;
		stride = (size_t)img->width * (alpha ? 4 : 3);
	}
	if (stride > (size_t)INT32_MAX) {
		ts_error_set(err, TS_EINTERNAL, "WebP encoding failed");
		goto fail;
	}

	if (!WebPConfigInit(&config) || !WebPPictureInit(&pic)) {
		ts_error_set(err, TS_EINTERNAL, "WebP encoding failed");
		ts_error_detail(err, "libwebp version mismatch");
		goto fail;
	}
	config.quality = (float)quality;
	pic.use_argb = 1;
	pic.width = (int)img->width;
	pic.height = (int)img->height;
	pic.writer = on_write;
	pic.custom_ptr = &ctx;
	pic.progress_hook = on_progress;
	have_pic = 1;
	ok = alpha ? WebPPictureImportRGBA(&pic, src, (int)stride)
	           : WebPPictureImportRGB(&pic, src, (int)stride);
	if (!ok || !WebPEncode(&config, &pic)) {
		if (pic.error_code == VP8_ENC_ERROR_USER_ABORT) {
			st = ts_deadline_check(err);
			if (st == TS_OK)   /* cannot be: only the deadline aborts */
				st = ts_error_set(err, TS_EINTERNAL, "WebP encoding failed");
		} else if (ctx.oom || pic.error_code == VP8_ENC_ERROR_OUT_OF_MEMORY) {
			ts_error_set(err, TS_EINTERNAL, "out of memory encoding a WebP");
		} else {
			ts_error_set(err, TS_EINTERNAL, "WebP encoding failed");
			ts_error_detail(err, "libwebp %ux%u: %s", img->width, img->height,
			                webp_error_text(pic.error_code));
		}
		goto fail;
	}
	/* WebP pictures are RGB: only an RGB profile on colour pixels fits
	 * (a gray image expanded to RGB above carries none). */
	if (img->channels >= 3 && ts_icc_fits(icc, icc_len, img->channels)) {
		if (add_iccp(out, start, icc, icc_len, err) != TS_OK)
			goto fail;
	}
	st = TS_OK;

fail:
	if (have_pic)
		WebPPictureFree(&pic);
	free(rgb);
	if (st != TS_OK)
		out->len = start;
	return st;
}
