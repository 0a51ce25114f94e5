/*
 * test_tiff_write.c - TIFF output read back with libtiff from memory:
 * one directory, the expected tags (size, samples, photometric, deflate,
 * unassociated alpha), every pixel exact, the source image untouched, and
 * the ICC profile in its tag only when it fits.
 */
#include <stdlib.h>
#include <tiffio.h>
#include "check.h"
#include "icc_fixture.h"
#include "tessera/encoder.h"

struct rmem {
	const uint8_t *data;
	size_t len, pos;
};

static tmsize_t r_read(thandle_t h, void *buf, tmsize_t n)
{
	struct rmem *m = (struct rmem *)h;
	size_t k = m->pos >= m->len ? 0 : m->len - m->pos;
	if ((size_t)n < k)
		k = (size_t)n;
	memcpy(buf, m->data + m->pos, k);
	m->pos += k;
	return (tmsize_t)k;
}
static tmsize_t r_write(thandle_t h, void *buf, tmsize_t n)
{
	(void)h; (void)buf; (void)n;
	return -1;
}
static toff_t r_seek(thandle_t h, toff_t off, int whence)
{
	struct rmem *m = (struct rmem *)h;
	uint64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : m->len;
	m->pos = (size_t)(base + off);
	return m->pos;
}
static int r_close(thandle_t h) { (void)h; return 0; }
static toff_t r_size(thandle_t h) { return ((struct rmem *)h)->len; }
static int r_map(thandle_t h, void **b, toff_t *s) { (void)h; (void)b; (void)s; return 0; }
static void r_unmap(thandle_t h, void *b, toff_t s) { (void)h; (void)b; (void)s; }

static void make_pattern(struct ts_image *img, uint32_t w, uint32_t h, int nc)
{
	struct ts_error err = { 0 };
	if (ts_image_alloc(img, w, h, nc, &err) != TS_OK)
		abort();
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++)
			for (int c = 0; c < nc; c++)
				img->pixels[y * img->stride + x * nc + c] =
					(uint8_t)(x * 5 + y * 11 + c * 71 + ((x ^ y) & 15));
}

static void roundtrip(int nc, uint32_t w, uint32_t h)
{
	struct ts_image img;
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };
	struct rmem m;
	TIFF *tif;
	uint32_t tw = 0, th = 0;
	uint16_t spp = 0, bps = 0, photo = 0, comp = 0, nextra = 0, *extra = NULL;
	uint8_t *copy, *row;
	int bad = 0;

	make_pattern(&img, w, h, nc);
	copy = malloc((size_t)w * h * nc);
	memcpy(copy, img.pixels, (size_t)w * h * nc);
	ts_buf_append_str(&out, "prefix");
	EXPECT_EQ_INT(ts_tiff_write(&img, NULL, 0, &out, &err), TS_OK);
	EXPECT(memcmp(img.pixels, copy, (size_t)w * h * nc) == 0);  /* untouched */
	EXPECT(memcmp(out.data, "prefixII*\0", 10) == 0);

	m.data = out.data + 6;
	m.len = out.len - 6;
	m.pos = 0;
	tif = TIFFClientOpen("mem", "rm", (thandle_t)&m, r_read, r_write, r_seek, r_close,
	                     r_size, r_map, r_unmap);
	EXPECT(tif != NULL);
	if (!tif)
		goto done;
	EXPECT_EQ_INT(TIFFNumberOfDirectories(tif), 1);
	TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &tw);
	TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &th);
	TIFFGetField(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
	TIFFGetField(tif, TIFFTAG_BITSPERSAMPLE, &bps);
	TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photo);
	TIFFGetField(tif, TIFFTAG_COMPRESSION, &comp);
	EXPECT_EQ_INT(tw, w);
	EXPECT_EQ_INT(th, h);
	EXPECT_EQ_INT(spp, nc);
	EXPECT_EQ_INT(bps, 8);
	EXPECT_EQ_INT(photo, nc >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
	EXPECT_EQ_INT(comp, COMPRESSION_ADOBE_DEFLATE);
	if (TIFFGetField(tif, TIFFTAG_EXTRASAMPLES, &nextra, &extra) && nextra) {
		EXPECT_EQ_INT(nextra, 1);
		EXPECT_EQ_INT(extra[0], EXTRASAMPLE_UNASSALPHA);
	}
	EXPECT_EQ_INT(nextra, nc == 2 || nc == 4 ? 1 : 0);
	row = malloc(TIFFScanlineSize(tif));
	for (uint32_t y = 0; y < h; y++) {
		if (TIFFReadScanline(tif, row, y, 0) < 0 ||
		    memcmp(row, img.pixels + y * img.stride, (size_t)w * nc) != 0)
			bad++;
	}
	EXPECT_EQ_INT(bad, 0);
	free(row);
	TIFFClose(tif);
done:
	free(copy);
	ts_image_free(&img);
	ts_buf_free(&out);
}

static void gray_comes_back_exactly(void) { roundtrip(1, 33, 21); }
static void gray_with_alpha_comes_back_with_unassociated_alpha(void) { roundtrip(2, 40, 9); }
static void rgb_comes_back_exactly(void) { roundtrip(3, 50, 30); }
static void rgba_comes_back_with_unassociated_alpha(void) { roundtrip(4, 17, 13); }
static void an_image_of_many_strips_comes_back_exactly(void) { roundtrip(3, 1000, 150); }

/* Write nc channels with a profile of space; is one read back, the same? */
static int profile_comes_back(int nc, const char *space, int *same)
{
	struct ts_image img;
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };
	unsigned char *icc = icc_make(1200, space, 9);
	struct rmem m;
	TIFF *tif;
	uint32_t n = 0;
	void *data = NULL;
	int found = 0;

	*same = 0;
	make_pattern(&img, 20, 10, nc);
	EXPECT_EQ_INT(ts_tiff_write(&img, icc, 1200, &out, &err), TS_OK);
	m.data = out.data;
	m.len = out.len;
	m.pos = 0;
	tif = TIFFClientOpen("mem", "rm", (thandle_t)&m, r_read, r_write, r_seek, r_close,
	                     r_size, r_map, r_unmap);
	EXPECT(tif != NULL);
	if (tif) {
		found = TIFFGetField(tif, TIFFTAG_ICCPROFILE, &n, &data) && data;
		*same = found && n == 1200 && memcmp(data, icc, 1200) == 0;
		TIFFClose(tif);
	}
	free(icc);
	ts_image_free(&img);
	ts_buf_free(&out);
	return found;
}

static void an_rgb_profile_goes_into_the_iccprofile_tag_exactly(void)
{
	int same = 0;

	EXPECT(profile_comes_back(3, "RGB ", &same));
	EXPECT(same);
	EXPECT(profile_comes_back(4, "RGB ", &same));
	EXPECT(same);
}

static void a_gray_image_carries_a_gray_profile_but_not_an_rgb_one(void)
{
	int same = 0;

	EXPECT(profile_comes_back(1, "GRAY", &same));
	EXPECT(same);
	EXPECT(!profile_comes_back(2, "RGB ", &same));
	EXPECT(!profile_comes_back(3, "GRAY", &same));
	EXPECT(!profile_comes_back(3, "CMYK", &same));
}

int main(void)
{
	RUN(gray_comes_back_exactly);
	RUN(gray_with_alpha_comes_back_with_unassociated_alpha);
	RUN(rgb_comes_back_exactly);
	RUN(rgba_comes_back_with_unassociated_alpha);
	RUN(an_image_of_many_strips_comes_back_exactly);
	RUN(an_rgb_profile_goes_into_the_iccprofile_tag_exactly);
	RUN(a_gray_image_carries_a_gray_profile_but_not_an_rgb_one);
	return CHECK_DONE();
}
