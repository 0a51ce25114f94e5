/*
 * test_sink_htj2k.c - the HTJ2K sink (OpenJPH), driven with a synthetic
 * pyramid: the file opens in Tessera's own reader with the promised
 * geometry (tiles, resolution levels down to 256 pixels), its pixels are
 * the source's (exactly when lossless, within tolerance at every level
 * when lossy), its main header is a Part 15 one (Rsiz capability bit 14,
 * CAP, the HT code-block style in COD, RPCL, 64x64 code-blocks,
 * precincts), its TLM points at every tile-part, box files carry the
 * 'jph ' brand and raw names a bare codestream, and opj_decompress reads
 * it when installed.  Skipped when built without OpenJPH.
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

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Every TLM entry (Stlm 0x60: 16-bit index, 32-bit length) names the
 * tile-part that really starts there, in order, and they cover the
 * codestream up to EOC. */
static int tlm_matches_tile_parts(const unsigned char *d, size_t n, uint32_t ntiles)
{
	size_t soc = 0, i, pos, first_sot = 0;
	uint32_t seen = 0;
	const unsigned char *tlm[16];
	int ntlm = 0;

	while (soc + 1 < n && !(d[soc] == 0xFF && d[soc + 1] == 0x4F))
		soc++;
	for (i = soc + 2; i + 4 <= n; ) {
		unsigned mk = (unsigned)d[i] << 8 | d[i + 1];
		if (mk == 0xFF90) {
			first_sot = i;
			break;
		}
		if (mk == 0xFF55 && ntlm < 16)
			tlm[ntlm++] = d + i;
		i += 2 + ((size_t)d[i + 2] << 8 | d[i + 3]);
	}
	if (!first_sot || ntlm == 0)
		return 0;
	pos = first_sot;
	for (int k = 0; k < ntlm; k++) {
		size_t len = (size_t)tlm[k][2] << 8 | tlm[k][3];
		if (tlm[k][5] != 0x60 || (len - 4) % 6)
			return 0;
		for (size_t e = 0; e < (len - 4) / 6; e++) {
			const unsigned char *en = tlm[k] + 6 + 6 * e;
			uint32_t idx = (uint32_t)en[0] << 8 | en[1], plen = be32(en + 2);
			if (idx != seen || pos + 12 > n || d[pos] != 0xFF || d[pos + 1] != 0x90 ||
			    ((uint32_t)d[pos + 4] << 8 | d[pos + 5]) != idx || be32(d + pos + 6) != plen)
				return 0;
			pos += plen;
			seen++;
		}
	}
	return seen == ntiles && pos + 2 <= n && d[pos] == 0xFF && d[pos + 1] == 0xD9;
}

static void check_file(const char *name, const char *ext, uint32_t w, uint32_t h, int ch,
                       uint32_t tile, int lossless, int all_levels)
{
	struct fixture f;
	struct ts_convert_opts o;
	struct ts_level_sink *s = NULL;
	struct ts_error e;
	struct ts_source *src = NULL;
	char out[512];
	unsigned char *data;
	size_t n;
	int want_res = 1, maxd = 0;
	uint32_t longest = w > h ? w : h;

	fixture_make(&f, w, h, ch, all_levels ? tile : longest);
	fixture_opts(&o, TS_CONVERT_JP2);
	o.tile = tile;
	o.lossless = lossless;
	o.htj2k = true;
	o.quality = 85;
	snprintf(out, sizeof out, "%s/%s.%s", tmp, name, ext);
	ts_error_clear(&e);
	EXPECT_EQ_INT(ts_sink_htj2k_new(out, &o, &s, &e), TS_OK);
	EXPECT_EQ_INT(fixture_drive(&f, s, 53, &e), TS_OK);
	if (e.status)
		printf("    %s (%s)\n", e.msg, e.detail);
	s->destroy(s);

	/* down to 256 pixels, at most log2(tile) decompositions */
	while ((longest >> (want_res - 1)) > 256)
		want_res++;
	while ((1u << (maxd + 1)) <= tile)
		maxd++;
	if (want_res - 1 > maxd)
		want_res = maxd + 1;

	data = slurp(out, &n);
	EXPECT(data != NULL);
	if (data) {
		const unsigned char *cod = main_marker(data, n, 0xFF52);
		const unsigned char *siz = main_marker(data, n, 0xFF51);
		int boxes = strcmp(ext, "j2c") != 0;
		uint32_t ntiles = ((w + tile - 1) / tile) * ((h + tile - 1) / tile);

		/* a JPH file (15444-15 D): signature, then ftyp with brand 'jph ' */
		EXPECT_EQ_INT(n > 24 && memcmp(data + 16, "ftypjph ", 8) == 0, boxes);
		EXPECT_EQ_INT(n > 2 && data[0] == 0xFF && data[1] == 0x4F, !boxes);
		EXPECT(siz != NULL);
		if (siz) {
			EXPECT(siz[4] & 0x40);               /* Rsiz: Part 15 capabilities */
			EXPECT_EQ_INT(be32(siz + 6), w);
			EXPECT_EQ_INT(be32(siz + 10), h);
			EXPECT_EQ_INT(be32(siz + 22), tile);
		}
		EXPECT(main_marker(data, n, 0xFF50) != NULL);  /* CAP (15444-15 A.3) */
		EXPECT(cod != NULL);
		if (cod) {
			EXPECT_EQ_INT(cod[4] & 0x01, 1);     /* Scod: precincts defined */
			EXPECT_EQ_INT(cod[5], 2);            /* RPCL (A.6.1 table A.16) */
			EXPECT_EQ_INT(cod[9], want_res - 1); /* decomposition levels */
			EXPECT_EQ_INT(cod[10], 4);           /* code-block width 2^(4+2) */
			EXPECT_EQ_INT(cod[11], 4);
			EXPECT(cod[12] & 0x40);              /* HT code-blocks (15444-15 A.4) */
			EXPECT_EQ_INT(cod[13], lossless ? 1 : 0);   /* 5/3 or 9/7 */
		}
		EXPECT(tlm_matches_tile_parts(data, n, ntiles));
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
			/* lossy: a fixed quantisation step, no rate control, on a
			 * pattern of hard 32-pixel blocks (photographs: ~42 dB) */
			if (k == 0 && lossless)
				EXPECT(d == 0.0);
			else if (k == 0)
				EXPECT(d < 6.0);
			else
				EXPECT(d < 12.0);
			if (k == 0 && (lossless ? d != 0.0 : d >= 6.0))
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
	check_file("one", "jph", 1, 1, 3, 256, 1, 1);
}

static void a_257x1_line(void)
{
	check_file("line", "jph", 257, 1, 3, 256, 0, 0);
}

static void lossless_rgb_is_exact_with_several_tile_rows_and_edge_tiles(void)
{
	check_file("rgb", "jph", 700, 530, 3, 256, 1, 1);
}

static void lossy_rgb_stays_close(void)
{
	check_file("lossy", "jph", 700, 530, 3, 256, 0, 0);
}

static void a_raw_codestream_for_a_j2c_name(void)
{
	check_file("raw", "j2c", 600, 300, 3, 128, 1, 0);
}

static void gray_grey_alpha_and_rgba(void)
{
	check_file("gray", "jph", 513, 300, 1, 128, 1, 0);
	check_file("ga", "jph", 200, 130, 2, 64, 1, 0);
	check_file("rgba", "jph", 300, 290, 4, 128, 1, 1);
}

static void tiles_that_are_not_a_power_of_two_are_refused(void)
{
	struct ts_convert_opts o;
	struct ts_level_sink *s = NULL;
	struct ts_error e;
	char out[512];

	fixture_opts(&o, TS_CONVERT_JP2);
	o.htj2k = true;
	o.tile = 1000;
	snprintf(out, sizeof out, "%s/bad.jph", tmp);
	ts_error_clear(&e);
	EXPECT_EQ_INT(ts_sink_htj2k_new(out, &o, &s, &e), TS_EBADREQUEST);
	EXPECT(s == NULL);
	EXPECT(!fixture_exists(out));
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
	o.htj2k = true;
	o.cancel = &cancel;
	snprintf(out, sizeof out, "%s/cancelled.jph", tmp);
	ts_error_clear(&e);
	EXPECT_EQ_INT(ts_sink_htj2k_new(out, &o, &s, &e), TS_OK);
	EXPECT_EQ_INT(fixture_drive(&f, s, 300, &e), TS_EUNAVAILABLE);
	s->destroy(s);
	EXPECT(!fixture_exists(out));
	{
		char cmd[600];
		snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -q tmp-", tmp);
		EXPECT(system(cmd) != 0);
	}
	fixture_free(&f);
}

int main(void)
{
	if (!ts_convert_htj2k_built()) {
		printf("skipped: built without OpenJPH\n0 passed, 0 failed\n");
		return 0;
	}
	snprintf(tmp, sizeof tmp, "/tmp/ts-htj2k-XXXXXX");
	if (!mkdtemp(tmp))
		return 1;
	RUN(one_pixel_image);
	RUN(a_257x1_line);
	RUN(lossless_rgb_is_exact_with_several_tile_rows_and_edge_tiles);
	RUN(lossy_rgb_stays_close);
	RUN(a_raw_codestream_for_a_j2c_name);
	RUN(gray_grey_alpha_and_rgba);
	RUN(tiles_that_are_not_a_power_of_two_are_refused);
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
