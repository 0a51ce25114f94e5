/*
 * test_rows.c - the row sources behind ts_rows_open (src/convert/rows*.c):
 * files written here with libtiff, libpng and TurboJPEG come back row by
 * row with the pixels they hold - 16-bit reduced to 8 with rounding,
 * palettes expanded, a tall-strip TIFF read by scanlines and a short-strip
 * one through the server's reader alike - in bands of any height; EXIF
 * orientation 6 comes back turned; sizes beyond the limit are refused
 * before anything is read, and truncated data is an error, not grey.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <png.h>
#include <tiffio.h>
#include <turbojpeg.h>

#include "check.h"
#include "tessera/convert.h"

static char path[64];

static void fresh_path(const char *suffix)
{
	snprintf(path, sizeof path, "/tmp/test_rows_%d%s", (int)getpid(), suffix);
	unlink(path);
}

/* A 16-bit TIFF, w x h x spp, value(x, y, c) * 257 in every sample. */
static unsigned value(uint32_t x, uint32_t y, int c)
{
	return (x * 5 + y * 3 + (unsigned)c * 40) & 255;
}

static void write_tiff16(uint32_t w, uint32_t h, int spp, uint32_t rps, uint16_t comp)
{
	TIFF *t = TIFFOpen(path, "w");
	uint16_t *row = malloc((size_t)w * spp * 2);
	uint32_t x, y;
	int c;

	TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
	TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
	TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 16);
	TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, spp);
	TIFFSetField(t, TIFFTAG_PHOTOMETRIC, spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
	TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
	TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, rps);
	TIFFSetField(t, TIFFTAG_COMPRESSION, comp);
	for (y = 0; y < h; y++) {
		for (x = 0; x < w; x++)
			for (c = 0; c < spp; c++)
				row[x * spp + c] = (uint16_t)(value(x, y, c) * 257);
		TIFFWriteScanline(t, row, y, 0);
	}
	TIFFClose(t);
	free(row);
}

/* Read the whole source in bands of `band` rows; 1 when every sample is
 * expect(x, y, c). */
static int rows_match(struct ts_rows *r, uint32_t band, unsigned (*expect)(uint32_t, uint32_t, int))
{
	struct ts_image img;
	struct ts_error err;
	uint32_t y = 0, got, j, x;
	int c, ok = 1;

	ts_error_clear(&err);
	if (ts_image_alloc(&img, r->width, band, r->channels, &err) != TS_OK)
		return 0;
	while (ok && y < r->height) {
		struct ts_image want = img;

		want.height = r->height - y < band ? r->height - y : band;
		if (r->next(r, &want, &got, &err) != TS_OK || got == 0) {
			printf("    next failed at row %u: %s\n", y, err.msg);
			ok = 0;
			break;
		}
		for (j = 0; j < got; j++)
			for (x = 0; x < r->width; x++)
				for (c = 0; c < r->channels; c++)
					if (img.pixels[j * img.stride + x * r->channels + c] != expect(x, y + j, c)) {
						printf("    (%u,%u,%d) = %u, expected %u\n", x, y + j, c,
						       img.pixels[j * img.stride + x * r->channels + c],
						       expect(x, y + j, c));
						ok = 0;
						j = got;
						break;
					}
		y += got;
	}
	ts_image_free(&img);
	return ok;
}

static void a_tall_strip_16bit_tiff_comes_back_reduced_to_8_bits(void)
{
	struct ts_rows *r = NULL;
	struct ts_error err;

	fresh_path(".tif");
	write_tiff16(301, 700, 3, 700, COMPRESSION_LZW);   /* one strip */
	ts_error_clear(&err);
	EXPECT(ts_rows_open(path, 0, &r, &err) == TS_OK);
	if (r) {
		EXPECT_EQ_INT(r->channels, 3);
		EXPECT(rows_match(r, 64, value));
		ts_rows_close(r);
	}
	unlink(path);
}

static void short_gray_strips_come_back_through_the_servers_reader(void)
{
	struct ts_rows *r = NULL;
	struct ts_error err;

	fresh_path(".tif");
	write_tiff16(97, 45, 1, 8, COMPRESSION_ADOBE_DEFLATE);
	ts_error_clear(&err);
	EXPECT(ts_rows_open(path, 0, &r, &err) == TS_OK);
	if (r) {
		EXPECT_EQ_INT(r->channels, 1);
		EXPECT(rows_match(r, 7, value));
		ts_rows_close(r);
	}
	unlink(path);
}

static unsigned palette_value(uint32_t x, uint32_t y, int c)
{
	unsigned i = (x + y) % 4;

	return c == 0 ? i * 60 : c == 1 ? 255 - i * 60 : 100;
}

static void a_palette_png_comes_back_as_rgb(void)
{
	png_image im;
	png_color pal[4];
	uint8_t *idx = malloc(123 * 77);
	struct ts_rows *r = NULL;
	struct ts_error err;
	uint32_t x, y;
	int i;

	fresh_path(".png");
	for (i = 0; i < 4; i++) {
		pal[i].red = (png_byte)(i * 60);
		pal[i].green = (png_byte)(255 - i * 60);
		pal[i].blue = 100;
	}
	for (y = 0; y < 77; y++)
		for (x = 0; x < 123; x++)
			idx[y * 123 + x] = (uint8_t)((x + y) % 4);
	memset(&im, 0, sizeof im);
	im.version = PNG_IMAGE_VERSION;
	im.width = 123;
	im.height = 77;
	im.format = PNG_FORMAT_RGB_COLORMAP;
	im.colormap_entries = 4;
	EXPECT(png_image_write_to_file(&im, path, 0, idx, 123, pal));
	ts_error_clear(&err);
	EXPECT(ts_rows_open(path, 0, &r, &err) == TS_OK);
	if (r) {
		EXPECT_EQ_INT(r->channels, 3);
		EXPECT(rows_match(r, 10, palette_value));
		ts_rows_close(r);
	}
	free(idx);
	unlink(path);
}

/* A gray JPEG of w x h made with TurboJPEG, and its decoded pixels. */
static unsigned char *decoded;
static uint32_t jw;

static unsigned jpeg_value(uint32_t x, uint32_t y, int c)
{
	(void)c;
	return decoded[y * jw + x];
}

static unsigned char *make_jpeg(uint32_t w, uint32_t h, unsigned long *len)
{
	tjhandle tj = tjInitCompress(), td = tjInitDecompress();
	unsigned char *src = malloc(w * h), *out = NULL;
	uint32_t i;

	for (i = 0; i < w * h; i++)
		src[i] = (unsigned char)((i % w) * 2 + (i / w));
	tjCompress2(tj, src, (int)w, 0, (int)h, TJPF_GRAY, &out, len, TJSAMP_GRAY, 90, 0);
	decoded = malloc(w * h);
	jw = w;
	tjDecompress2(td, out, *len, decoded, (int)w, 0, (int)h, TJPF_GRAY, 0);
	tjDestroy(tj);
	tjDestroy(td);
	free(src);
	return out;
}

static void a_jpeg_comes_back_as_libjpeg_decodes_it(void)
{
	unsigned long len;
	unsigned char *j = make_jpeg(130, 90, &len);
	struct ts_rows *r = NULL;
	struct ts_error err;
	FILE *f;

	fresh_path(".jpg");
	f = fopen(path, "wb");
	fwrite(j, 1, len, f);
	fclose(f);
	ts_error_clear(&err);
	EXPECT(ts_rows_open(path, 0, &r, &err) == TS_OK);
	if (r) {
		EXPECT_EQ_INT(r->channels, 1);
		EXPECT(rows_match(r, 33, jpeg_value));
		ts_rows_close(r);
	}
	/* cut in half: an error, never grey rows */
	f = fopen(path, "wb");
	fwrite(j, 1, len / 2, f);
	fclose(f);
	r = NULL;
	EXPECT(ts_rows_open(path, 0, &r, &err) == TS_OK);
	if (r) {
		struct ts_image img;
		uint32_t got = 0;

		ts_image_alloc(&img, r->width, r->height, 1, &err);
		ts_error_clear(&err);
		EXPECT(r->next(r, &img, &got, &err) == TS_EINTERNAL);
		ts_image_free(&img);
		ts_rows_close(r);
	}
	tjFree(j);
	free(decoded);
	unlink(path);
}

/* EXIF orientation 6: stored W x H, shown H x W turned clockwise. */
static unsigned turned_value(uint32_t x, uint32_t y, int c)
{
	/* displayed (x, y) is stored (y, H - 1 - x) */
	(void)c;
	return decoded[(90 - 1 - x) * jw + y];
}

static void exif_orientation_6_comes_back_turned(void)
{
	static const unsigned char app1[] = {
		0xFF, 0xE1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0,
		'I', 'I', 42, 0, 8, 0, 0, 0,            /* TIFF header, IFD at 8 */
		1, 0,                                   /* one entry */
		0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, /* Orientation SHORT 6 */
		0, 0, 0, 0                              /* no next IFD */
	};
	unsigned long len;
	unsigned char *j = make_jpeg(130, 90, &len);
	struct ts_rows *r = NULL;
	struct ts_error err;
	FILE *f;

	fresh_path(".jpg");
	f = fopen(path, "wb");
	fwrite(j, 1, 2, f);               /* SOI */
	fwrite(app1, 1, sizeof app1, f);
	fwrite(j + 2, 1, len - 2, f);
	fclose(f);
	ts_error_clear(&err);
	EXPECT(ts_rows_open(path, 0, &r, &err) == TS_OK);
	if (r) {
		EXPECT_EQ_INT(r->width, 90);
		EXPECT_EQ_INT(r->height, 130);
		EXPECT_EQ_INT(r->orientation, 1);
		EXPECT(rows_match(r, 256, turned_value));
		ts_rows_close(r);
	}
	tjFree(j);
	free(decoded);
	unlink(path);
}

static void sizes_beyond_the_limit_are_refused_at_open(void)
{
	struct ts_rows *r = NULL;
	struct ts_error err;
	unsigned long len;
	unsigned char *j;
	FILE *f;

	fresh_path(".tif");
	write_tiff16(301, 700, 3, 700, COMPRESSION_LZW);
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_rows_open(path, 1000, &r, &err), TS_EFORBIDDEN);
	EXPECT(r == NULL);
	unlink(path);
	j = make_jpeg(130, 90, &len);
	fresh_path(".jpg");
	f = fopen(path, "wb");
	fwrite(j, 1, len, f);
	fclose(f);
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_rows_open(path, 1000, &r, &err), TS_EFORBIDDEN);
	tjFree(j);
	free(decoded);
	unlink(path);
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_rows_open("/nonexistent/x.jpg", 0, &r, &err), TS_ENOTFOUND);
}

int main(void)
{
	RUN(a_tall_strip_16bit_tiff_comes_back_reduced_to_8_bits);
	RUN(short_gray_strips_come_back_through_the_servers_reader);
	RUN(a_palette_png_comes_back_as_rgb);
	RUN(a_jpeg_comes_back_as_libjpeg_decodes_it);
	RUN(exif_orientation_6_comes_back_turned);
	RUN(sizes_beyond_the_limit_are_refused_at_open);
	return CHECK_DONE();
}
