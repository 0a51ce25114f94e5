/*
 * test_gif_write.c - GIF output read back with giflib from memory: GIF89a,
 * the size, a colour table of a power of two no larger than 256, every
 * pixel exact for a picture of few colours, the transparent index in a
 * Graphic Control Extension for clear pixels, 400 past 65535 pixels a
 * side, the buffer left as it was on failure.
 */
#include <stdlib.h>
#include <string.h>
#include <gif_lib.h>
#include "check.h"
#include "tessera/encoder.h"

struct reader { const unsigned char *p; size_t len, pos; };

static int on_read(GifFileType *g, GifByteType *buf, int n)
{
	struct reader *r = g->UserData;
	size_t k = r->len - r->pos < (size_t)n ? r->len - r->pos : (size_t)n;
	memcpy(buf, r->p + r->pos, k);
	r->pos += k;
	return (int)k;
}

static GifFileType *open_gif(const struct ts_buf *b, struct reader *r)
{
	int e = 0;
	GifFileType *g;

	r->p = b->data;
	r->len = b->len;
	r->pos = 0;
	g = DGifOpen(r, on_read, &e);
	if (g && DGifSlurp(g) != GIF_OK) {
		DGifCloseFile(g, &e);
		return NULL;
	}
	return g;
}

static void few_colours_come_back_exact(void)
{
	static const uint8_t cols[3][3] = { { 255, 0, 0 }, { 0, 128, 255 }, { 7, 7, 7 } };
	struct ts_image img;
	struct ts_buf b = TS_BUF_INIT;
	struct ts_error err = { 0 };
	struct reader r;
	GifFileType *g;
	int bad = 0, e;

	if (ts_image_alloc(&img, 31, 17, 3, &err) != TS_OK)
		abort();
	for (uint32_t i = 0; i < 31 * 17; i++)
		memcpy(img.pixels + 3 * i, cols[(i / 5) % 3], 3);
	EXPECT_EQ_INT(ts_gif_write(&img, &b, &err), TS_OK);
	EXPECT(b.len > 6 && memcmp(b.data, "GIF89a", 6) == 0);
	g = open_gif(&b, &r);
	EXPECT(g != NULL);
	if (g) {
		EXPECT_EQ_INT(g->SWidth, 31);
		EXPECT_EQ_INT(g->SHeight, 17);
		EXPECT_EQ_INT(g->ImageCount, 1);
		EXPECT(g->SColorMap && g->SColorMap->ColorCount == 4);
		for (uint32_t i = 0; g->SColorMap && i < 31 * 17; i++) {
			GifColorType c = g->SColorMap->Colors[g->SavedImages[0].RasterBits[i]];
			const uint8_t *want = cols[(i / 5) % 3];
			bad += c.Red != want[0] || c.Green != want[1] || c.Blue != want[2];
		}
		EXPECT_EQ_INT(bad, 0);
		DGifCloseFile(g, &e);
	}
	ts_buf_free(&b);
	ts_image_free(&img);
}

static void clear_pixels_are_the_transparent_index(void)
{
	struct ts_image img;
	struct ts_buf b = TS_BUF_INIT;
	struct ts_error err = { 0 };
	struct reader r;
	GraphicsControlBlock gcb;
	GifFileType *g;
	int e;

	if (ts_image_alloc(&img, 8, 8, 2, &err) != TS_OK)
		abort();
	for (uint32_t i = 0; i < 64; i++) {
		img.pixels[2 * i] = (uint8_t)(i * 4);
		img.pixels[2 * i + 1] = i < 8 ? 0 : 255;   /* first row clear */
	}
	EXPECT_EQ_INT(ts_gif_write(&img, &b, &err), TS_OK);
	g = open_gif(&b, &r);
	EXPECT(g != NULL);
	if (g) {
		EXPECT_EQ_INT(DGifSavedExtensionToGCB(g, 0, &gcb), GIF_OK);
		EXPECT(gcb.TransparentColor >= 0);
		for (int i = 0; i < 64; i++)
			EXPECT((g->SavedImages[0].RasterBits[i] == gcb.TransparentColor) == (i < 8));
		DGifCloseFile(g, &e);
	}
	ts_buf_free(&b);
	ts_image_free(&img);
}

static void an_all_clear_picture_is_a_valid_gif(void)
{
	struct ts_image img;
	struct ts_buf b = TS_BUF_INIT;
	struct ts_error err = { 0 };
	struct reader r;
	GifFileType *g;
	int e;

	if (ts_image_alloc(&img, 5, 3, 4, &err) != TS_OK)
		abort();
	memset(img.pixels, 0, 5 * 3 * 4);
	EXPECT_EQ_INT(ts_gif_write(&img, &b, &err), TS_OK);
	g = open_gif(&b, &r);
	EXPECT(g != NULL);
	if (g) {
		EXPECT(g->SColorMap && g->SColorMap->ColorCount == 2);
		DGifCloseFile(g, &e);
	}
	ts_buf_free(&b);
	ts_image_free(&img);
}

static void too_wide_is_400_and_leaves_the_buffer(void)
{
	struct ts_image img = { 70000, 1, 1, 70000, NULL };
	struct ts_buf b = TS_BUF_INIT;
	struct ts_error err = { 0 };
	uint8_t px[1];

	img.pixels = px;   /* never read: the size is refused first */
	ts_buf_append_str(&b, "keep");
	EXPECT_EQ_INT(ts_gif_write(&img, &b, &err), TS_EBADREQUEST);
	EXPECT_EQ_INT(b.len, 4);
	ts_buf_free(&b);
}

int main(void)
{
	RUN(few_colours_come_back_exact);
	RUN(clear_pixels_are_the_transparent_index);
	RUN(an_all_clear_picture_is_a_valid_gif);
	RUN(too_wide_is_400_and_leaves_the_buffer);
	return CHECK_DONE();
}
