/*
 * test_sink_jp2.c - the JPEG 2000 sink, driven with a synthetic pyramid:
 * the file opens in Tessera's own reader (src/source/jp2_read.c) with the
 * promised geometry (tiles, resolution levels down to one tile), its
 * pixels are the source's (exactly when lossless, within tolerance at
 * every level when lossy), its main header says RPCL, 64x64 code-blocks,
 * precincts, TLM and its tile-part headers PLT, and opj_decompress reads
 * it when installed.
 */
#include <unistd.h>
#include "check.h"
#include "pyramid_fixture.h"
#include "tessera/source.h"

static char tmp[256];

static unsigned char *slurp(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *d;
	long len;

	if (!fp)
		return NULL;
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	d = malloc((size_t)len);
	if (d && fread(d, 1, (size_t)len, fp) != (size_t)len) {
		free(d);
		d = NULL;
	}
	fclose(fp);
	*n = (size_t)len;
	return d;
}

/* The marker segment m (0xFFxx) in the main header (between SOC and the
 * first SOT), or NULL. */
static const unsigned char *main_marker(const unsigned char *d, size_t n, unsigned m)
{
	size_t i;

	for (i = 0; i + 1 < n; i++)
		if (d[i] == 0xFF && d[i + 1] == 0x4F)
			break;
	for (i += 2; i + 4 <= n; ) {
		unsigned mk = (unsigned)d[i] << 8 | d[i + 1];
		if (mk == 0xFF90)
			return NULL;   /* SOT: the main header is over */
		if (mk == m)
			return d + i;
		i += 2 + ((size_t)d[i + 2] << 8 | d[i + 3]);
	}
	return NULL;
}

static int has_bytes(const unsigned char *d, size_t n, unsigned m)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (d[i] == (m >> 8) && d[i + 1] == (m & 0xFF))
			return 1;
	return 0;
}

static void check_file(const char *name, uint32_t w, uint32_t h, int ch, uint32_t tile,
                       int lossless, int all_levels)
{
	struct fixture f;
	struct ts_convert_opts o;
	struct ts_level_sink *s = NULL;
	struct ts_error e;
	struct ts_source *src = NULL;
	char out[512];
	unsigned char *data;
	size_t n;
	int want_res = 1;

	/* the builder may send every level or only level 0 */
	fixture_make(&f, w, h, ch, all_levels ? tile : (w > h ? w : h));
	fixture_opts(&o, TS_CONVERT_JP2);
	o.tile = tile;
	o.lossless = lossless;
	o.quality = 85;
	snprintf(out, sizeof out, "%s/%s.jp2", tmp, name);
	ts_error_clear(&e);
	EXPECT_EQ_INT(ts_sink_jp2_new(out, &o, &s, &e), TS_OK);
	EXPECT_EQ_INT(fixture_drive(&f, s, 53, &e), TS_OK);
	if (e.status)
		printf("    %s (%s)\n", e.msg, e.detail);
	s->destroy(s);

	while (((uint64_t)tile << (want_res - 1)) < (w > h ? w : h))
		want_res++;

	/* the code-stream's own promises */
	data = slurp(out, &n);
	EXPECT(data != NULL);
	if (data) {
		const unsigned char *cod = main_marker(data, n, 0xFF52);
		EXPECT(cod != NULL);
		if (cod) {
			EXPECT_EQ_INT(cod[4] & 0x01, 1);     /* Scod: precincts defined */
			EXPECT_EQ_INT(cod[5], 2);            /* RPCL (A.6.1 table A.16) */
			EXPECT_EQ_INT(cod[9], want_res - 1); /* decomposition levels */
			EXPECT_EQ_INT(cod[10], 4);           /* code-block width 2^(4+2) */
			EXPECT_EQ_INT(cod[11], 4);
			EXPECT_EQ_INT(cod[13], lossless ? 1 : 0);   /* 5/3 or 9/7 */
		}
		EXPECT(main_marker(data, n, 0xFF55) != NULL);  /* TLM */
		EXPECT(has_bytes(data, n, 0xFF58));            /* PLT */
		free(data);
	}

	/* Tessera reads it */
	EXPECT_EQ_INT(ts_source_open(out, NULL, &src, &e), TS_OK);
	if (src) {
		EXPECT_EQ_INT(src->info.width, w);
		EXPECT_EQ_INT(src->info.height, h);
		EXPECT_EQ_INT(src->info.channels, ch);
		EXPECT_EQ_INT(src->info.nlevels, want_res);
		if (w > tile || h > tile)
			EXPECT_EQ_INT(src->info.levels[0].tile_w, tile);
		for (int k = 0; k < src->info.nlevels && k < f.g.nlevels; k++) {
			struct ts_image img;
			double d;
			EXPECT_EQ_INT(src->info.levels[k].width, f.g.width[k]);
			EXPECT_EQ_INT(src->info.levels[k].height, f.g.height[k]);
			if (ts_source_read_region(src, k, 0, 0, f.g.width[k], f.g.height[k], 0, &img,
			                          &e) != TS_OK) {
				EXPECT(0);
				continue;
			}
			d = fixture_diff(&img, &f.level[k], 0, 0);
			/* level 0: the pixels themselves; below, the wavelet's low
			 * pass against the builder's box filter */
			if (k == 0 && lossless)
				EXPECT(d == 0.0);
			else if (k == 0)
				EXPECT(d < 3.0);
			else
				EXPECT(d < 12.0);
			if (k == 0 && (lossless ? d != 0.0 : d >= 3.0))
				printf("    %s level %d: mean difference %.2f\n", name, k, d);
			ts_image_free(&img);
		}
		ts_source_close(src);
	}

	/* opj_decompress reads it */
	if (access("/usr/bin/opj_decompress", X_OK) == 0) {
		char cmd[1400];
		snprintf(cmd, sizeof cmd, "/usr/bin/opj_decompress -i '%s' -o '%s.%s' >/dev/null 2>&1",
		         out, out, ch == 1 ? "pgm" : "png");
		EXPECT_EQ_INT(system(cmd), 0);
	}
	fixture_free(&f);
}

static void one_pixel_image(void)
{
	check_file("one", 1, 1, 3, 256, 1, 1);
}

static void a_257x1_line(void)
{
	check_file("line", 257, 1, 3, 256, 0, 0);
}

static void lossless_rgb_is_exact_with_several_tile_rows(void)
{
	check_file("rgb", 700, 530, 3, 256, 1, 1);
}

static void lossy_rgb_stays_close(void)
{
	check_file("lossy", 700, 530, 3, 256, 0, 0);
}

static void gray_and_rgba(void)
{
	check_file("gray", 513, 300, 1, 128, 1, 0);
	check_file("rgba", 300, 290, 4, 128, 1, 1);
}

static void a_cancelled_run_leaves_no_file(void)
{
	struct fixture f;
	struct ts_convert_opts o;
	struct ts_level_sink *s = NULL;
	struct ts_error e;
	volatile int cancel = 1;
	char out[512];

	fixture_make(&f, 600, 600, 3, 600);
	fixture_opts(&o, TS_CONVERT_JP2);
	o.cancel = &cancel;
	snprintf(out, sizeof out, "%s/cancelled.jp2", tmp);
	ts_error_clear(&e);
	EXPECT_EQ_INT(ts_sink_jp2_new(out, &o, &s, &e), TS_OK);
	EXPECT_EQ_INT(fixture_drive(&f, s, 300, &e), TS_EUNAVAILABLE);
	s->destroy(s);
	EXPECT(!fixture_exists(out));
	{
		char cmd[600];
		snprintf(cmd, sizeof cmd, "ls '%s' | grep -q tmp-", tmp);
		EXPECT(system(cmd) != 0);
	}
	fixture_free(&f);
}

int main(void)
{
	snprintf(tmp, sizeof tmp, "/tmp/ts-jp2-XXXXXX");
	if (!mkdtemp(tmp))
		return 1;
	RUN(one_pixel_image);
	RUN(a_257x1_line);
	RUN(lossless_rgb_is_exact_with_several_tile_rows);
	RUN(lossy_rgb_stays_close);
	RUN(gray_and_rgba);
	RUN(a_cancelled_run_leaves_no_file);
	{
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			printf("    could not remove %s\n", tmp);
	}
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}
