/*
 * test_jp2_virtual.c - untiled (single-tile) JPEG 2000 files: windows
 * decoded on the OpenJPEG codec a source keeps between reads (jp2_opj.c)
 * and through the decoded-tile cache's virtual tiles of JP2_VIRTUAL_TILE
 * level pixels (jp2_read.c) equal windows decoded alone on fresh codecs:
 * on every level, viewer grids, edge windows, random windows (levels in
 * turn, and many on one level), an image offset, after a refused and a
 * failed read, and from threads reading the same file at once.  The kept
 * codec's memory is counted in the cache's budget and given back.  And the
 * library property all this rests on, checked on OpenJPEG itself: a used
 * codec decodes a window overlapping the one before exactly as a fresh
 * codec does.
 *
 * Files are made at test time with opj_compress (5/3: windows are exact);
 * without it every test says "skipped".
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openjpeg.h>
#include "check.h"
#include "tessera/source.h"
#include "tessera/tile_cache.h"
#include "src/source/jp2_internal.h"

static const struct ts_source_ops *ops = &ts_jp2_source_ops;
static char dir[] = "/tmp/ts_jp2v_XXXXXX";
static int have_opj;
static const char *untiled, *offset;   /* made in main */

static int skip(void)
{
	if (!have_opj)
		printf("    skipped: opj_compress not found\n");
	return !have_opj || !untiled || !offset;
}

static unsigned pat(int c, uint32_t x, uint32_t y)
{
	return (unsigned)((x * (2 + c) + y * (3 + c) + ((x / 5) ^ (y / 3)) * 7) & 0xFF);
}

static void write_ppm(const char *name, uint32_t W, uint32_t H)
{
	char p[300];
	FILE *f;
	uint32_t x, y;
	int c;

	snprintf(p, sizeof p, "%s/%s", dir, name);
	f = fopen(p, "wb");
	if (!f)
		return;
	fprintf(f, "P6\n%u %u\n255\n", W, H);
	for (y = 0; y < H; y++)
		for (x = 0; x < W; x++)
			for (c = 0; c < 3; c++)
				fputc((int)pat(c, x, y), f);
	fclose(f);
}

static const char *make(const char *name, const char *opts)
{
	static char out[4][256];
	static int slot;
	char cmd[1024];
	char *p = out[slot++ % 4];

	if (!have_opj)
		return NULL;
	snprintf(p, 256, "%s/%s", dir, name);
	snprintf(cmd, sizeof cmd, "opj_compress -i %s/big.ppm -o %s %s >/dev/null 2>&1", dir, p,
	         opts);
	if (system(cmd) != 0) {
		printf("    opj_compress failed: %s\n", cmd);
		return NULL;
	}
	return p;
}

static struct ts_source *open_with(const char *path, struct ts_tile_cache *tiles)
{
	struct ts_source_limits lim = { .tiles = tiles };
	struct ts_source *s = NULL;
	struct ts_error err = { 0 };
	int fd = open(path, O_RDONLY);

	if (fd < 0 || ops->open(fd, path, &lim, &s, &err) != 0) {
		printf("    open %s: %s (%s)\n", path, err.msg, err.detail);
		return NULL;
	}
	return s;
}

/* Largest difference between two reads of the same window (999: a read
 * failed or the sizes differ). */
static int diff_read(struct ts_source *a, struct ts_source *b, int L, uint32_t x, uint32_t y,
                     uint32_t w, uint32_t h)
{
	struct ts_image ia = { 0 }, ib = { 0 };
	struct ts_error err = { 0 };
	int m = 0, d;
	uint32_t i, j;

	if (ops->read_region(a, L, x, y, w, h, 0, &ia, &err) ||
	    ops->read_region(b, L, x, y, w, h, 0, &ib, &err)) {
		printf("    level %d %u,%u %ux%u: %s (%s)\n", L, x, y, w, h, err.msg, err.detail);
		ts_image_free(&ia);
		return 999;
	}
	if (ia.width != w || ib.width != w || ia.height != h || ib.height != h ||
	    ia.channels != ib.channels)
		m = 999;
	for (j = 0; m < 999 && j < h; j++)
		for (i = 0; i < w * (uint32_t)ia.channels; i++) {
			d = abs(ia.pixels[(size_t)j * ia.stride + i] - ib.pixels[(size_t)j * ib.stride + i]);
			m = d > m ? d : m;
		}
	if (m)
		printf("    level %d %u,%u %ux%u differs by %d\n", L, x, y, w, h, m);
	ts_image_free(&ia);
	ts_image_free(&ib);
	return m;
}

/* A window of level L clipped to it, from a seed. */
static void pick(const struct ts_source *s, int L, unsigned *seed, uint32_t *x, uint32_t *y,
                 uint32_t *w, uint32_t *h)
{
	const struct ts_source_level *lv = &s->info.levels[L];

	*w = 1 + (uint32_t)rand_r(seed) % (lv->width < 600 ? lv->width : 600);
	*h = 1 + (uint32_t)rand_r(seed) % (lv->height < 600 ? lv->height : 600);
	*x = (uint32_t)rand_r(seed) % (lv->width - *w + 1);
	*y = (uint32_t)rand_r(seed) % (lv->height - *h + 1);
}

/* Viewer grids, edges and random windows of every level, levels in turn,
 * each window twice through the cache (the second from whole tiles). */
static int compare_file(const char *path, int *windows)
{
	struct ts_tile_cache *c = ts_tile_cache_create(64 << 20);
	struct ts_source *alone = open_with(path, NULL), *cached = open_with(path, c);
	unsigned seed = 14;
	int worst = 0, L, k, pass, d;
	uint32_t x, y, w, h;

	*windows = 0;
	if (!alone || !cached) {
		worst = 999;
		goto done;
	}
	for (L = 0; L < alone->info.nlevels; L++) {
		const struct ts_source_level *lv = &alone->info.levels[L];
		for (y = 0; y < lv->height; y += 256)
			for (x = 0; x < lv->width; x += 256)
				for (pass = 0; pass < 2; pass++, (*windows)++) {
					d = diff_read(alone, cached, L, x, y,
					              lv->width - x < 256 ? lv->width - x : 256,
					              lv->height - y < 256 ? lv->height - y : 256);
					worst = d > worst ? d : worst;
				}
		/* across the virtual tiles' edges, and the level's */
		if (lv->width > JP2_VIRTUAL_TILE && lv->height > JP2_VIRTUAL_TILE) {
			d = diff_read(alone, cached, L, JP2_VIRTUAL_TILE - 3, JP2_VIRTUAL_TILE - 5, 7, 11);
			worst = d > worst ? d : worst;
			d = diff_read(alone, cached, L, JP2_VIRTUAL_TILE - 129, JP2_VIRTUAL_TILE - 129,
			              258, 258);
			worst = d > worst ? d : worst;
		}
		d = diff_read(alone, cached, L, lv->width - 1, lv->height - 1, 1, 1);
		worst = d > worst ? d : worst;
		d = diff_read(alone, cached, L, 0, lv->height - 3, lv->width, 3);
		worst = d > worst ? d : worst;
		*windows += 2;
	}
	/* random windows, many on one level (a kept codec), then the level
	 * changing every time (a fresh codec each) */
	for (L = 0; L < alone->info.nlevels; L++)
		for (k = 0; k < 8; k++, (*windows)++) {
			pick(alone, L, &seed, &x, &y, &w, &h);
			d = diff_read(alone, cached, L, x, y, w, h);
			worst = d > worst ? d : worst;
		}
	for (k = 0; k < 30; k++, (*windows)++) {
		L = k % alone->info.nlevels;
		pick(alone, L, &seed, &x, &y, &w, &h);
		for (pass = 0; pass < 2; pass++) {
			d = diff_read(alone, cached, L, x, y, w, h);
			worst = d > worst ? d : worst;
		}
	}
done:
	ops->close(alone);
	ops->close(cached);
	ts_tile_cache_destroy(c);
	return worst;
}

static void untiled_windows_through_virtual_tiles_equal_windows_decoded_alone(void)
{
	uint64_t reused = ts_jp2_opj_reuses();
	int n;

	if (skip())
		return;
	EXPECT_EQ_INT(compare_file(untiled, &n), 0);
	EXPECT(n > 200);
	printf("    %llu windows on a kept codec\n", (unsigned long long)(ts_jp2_opj_reuses() - reused));
	EXPECT(ts_jp2_opj_reuses() > reused + 10);
}

static void an_image_offset_moves_nothing(void)
{
	int n;

	if (skip())
		return;
	EXPECT_EQ_INT(compare_file(offset, &n), 0);
}

/* A walk of 256-px tiles over one virtual tile decodes it once. */
static void the_tiles_of_a_virtual_tile_decode_it_once(void)
{
	struct ts_tile_cache *c = ts_tile_cache_create(64 << 20);
	struct ts_tile_cache_stats st;
	struct ts_source *s = NULL;
	struct ts_image img = { 0 };
	struct ts_error err = { 0 };
	uint32_t x, y, n;

	if (skip() || !(s = open_with(untiled, c)))
		goto done;
	for (y = 0; y < JP2_VIRTUAL_TILE; y += 256)
		for (x = 0; x < JP2_VIRTUAL_TILE; x += 256) {
			EXPECT_EQ_INT(ops->read_region(s, 0, x, y, 256, 256, 0, &img, &err), 0);
			ts_image_free(&img);
		}
	ts_tile_cache_stats(c, &st);
	n = (JP2_VIRTUAL_TILE / 256) * (JP2_VIRTUAL_TILE / 256);
	EXPECT_EQ_INT(st.loads, 1);
	/* the first look decodes the virtual tile whole when it covers a
	 * JP2_WHOLE_SHARE of it, else just its window (jp2_read.c) */
	EXPECT_EQ_INT(st.hits, 256u * 256u * JP2_WHOLE_SHARE >= JP2_VIRTUAL_TILE * JP2_VIRTUAL_TILE ?
	                       n - 1 : n - 2);
done:
	ops->close(s);
	ts_tile_cache_destroy(c);
}

/* A read refused (budget), or failed (the file cut short under an open
 * source, then put back), leaves the codec, the cache and the source
 * right for the next read (a failed load is not cached). */
static void after_a_failed_read_the_next_is_right(void)
{
	struct ts_tile_cache *c = ts_tile_cache_create(64 << 20);
	struct ts_source *s = NULL, *alone = NULL;
	struct ts_image img = { 0 };
	struct ts_error err = { 0 };
	char path[300], cmd[1200];
	int i;

	snprintf(path, sizeof path, "%s/cut.jp2", dir);
	snprintf(cmd, sizeof cmd, "cp %s %s", untiled, path);
	if (skip() || system(cmd) != 0 || !(s = open_with(path, c)) ||
	    !(alone = open_with(untiled, NULL)))
		goto done;
	EXPECT_EQ_INT(ops->read_region(s, 0, 0, 0, 1024, 1024, 1000, &img, &err), TS_EFORBIDDEN);
	EXPECT_EQ_INT(diff_read(s, alone, 0, 300, 300, 256, 256), 0);
	EXPECT_EQ_INT(diff_read(s, alone, 0, 600, 300, 256, 256), 0);
	/* cut in half: a fresh codec (level 1) cannot read it, twice */
	snprintf(cmd, sizeof cmd, "truncate -s $(( $(stat -c %%s %s) / 2 )) %s", path, path);
	EXPECT_EQ_INT(system(cmd), 0);
	for (i = 0; i < 2; i++) {
		memset(&err, 0, sizeof err);
		EXPECT(ops->read_region(s, 1, 400, 400, 256, 256, 0, &img, &err) != 0);
		EXPECT(img.pixels == NULL);
	}
	snprintf(cmd, sizeof cmd, "cp %s %s.tmp && cat %s.tmp > %s", untiled, path, path, path);
	EXPECT_EQ_INT(system(cmd), 0);
	EXPECT_EQ_INT(diff_read(s, alone, 1, 400, 400, 256, 256), 0);
	EXPECT_EQ_INT(diff_read(s, alone, 0, 1100, 1100, 256, 256), 0);
done:
	ops->close(s);
	ops->close(alone);
	ts_tile_cache_destroy(c);
}

/* A kept codec's memory is reserved in the decoded-tile cache while the
 * source is open; without room for it nothing is kept. */
static void a_kept_codec_is_counted_in_the_cache_budget(void)
{
	struct ts_tile_cache *c = ts_tile_cache_create(64 << 20);
	struct ts_tile_cache *small = ts_tile_cache_create(8 << 20);
	struct ts_tile_cache_stats st;
	struct ts_source *s = NULL, *t = NULL;
	struct ts_image img = { 0 };
	struct ts_error err = { 0 };
	uint64_t before;

	if (skip() || !(s = open_with(untiled, c)) || !(t = open_with(untiled, small)))
		goto done;
	EXPECT_EQ_INT(ops->read_region(s, 0, 100, 100, 64, 64, 0, &img, &err), 0);
	ts_image_free(&img);
	ts_tile_cache_stats(c, &st);
	EXPECT(st.reserved > (4u << 20) && st.reserved <= (16u << 20));
	EXPECT(st.bytes >= st.reserved);
	before = ts_jp2_opj_reuses();
	EXPECT_EQ_INT(ops->read_region(s, 0, 1500, 900, 64, 64, 0, &img, &err), 0);
	ts_image_free(&img);
	EXPECT_EQ_INT(ts_jp2_opj_reuses(), before + 1);
	ops->close(s);
	s = NULL;
	ts_tile_cache_stats(c, &st);
	EXPECT_EQ_INT(st.reserved, 0);
	/* 8 MB: a quarter is 2 MB, less than the codec holds */
	EXPECT_EQ_INT(ops->read_region(t, 0, 100, 100, 64, 64, 0, &img, &err), 0);
	ts_image_free(&img);
	EXPECT_EQ_INT(ops->read_region(t, 0, 1500, 900, 64, 64, 0, &img, &err), 0);
	ts_image_free(&img);
	ts_tile_cache_stats(small, &st);
	EXPECT_EQ_INT(st.reserved, 0);
	EXPECT_EQ_INT(ts_jp2_opj_reuses(), before + 1);
done:
	ops->close(s);
	ops->close(t);
	ts_tile_cache_destroy(c);
	ts_tile_cache_destroy(small);
}

/* Threads, each with its own source of the same file (as the server's
 * source pool hands them out) and one shared cache, reading windows of
 * the same virtual tiles at once. */
struct worker {
	struct ts_tile_cache *c;
	int id, worst;
};

static void *worker_run(void *arg)
{
	struct worker *wk = arg;
	struct ts_source *s = open_with(untiled, wk->c), *alone = open_with(untiled, NULL);
	unsigned seed = (unsigned)wk->id * 7919u;
	uint32_t x, y, w, h;
	int k, d, L;

	wk->worst = s && alone ? 0 : 999;
	for (k = 0; s && alone && k < 24; k++) {
		L = (k + wk->id) % 3;
		pick(s, L, &seed, &x, &y, &w, &h);
		d = diff_read(s, alone, L, x, y, w, h);
		wk->worst = d > wk->worst ? d : wk->worst;
	}
	ops->close(s);
	ops->close(alone);
	return NULL;
}

static void threads_reading_one_untiled_file_get_right_pixels(void)
{
	struct ts_tile_cache *c = ts_tile_cache_create(64 << 20);
	struct worker wk[4];
	pthread_t th[4];
	int i;

	if (skip())
		goto done;
	for (i = 0; i < 4; i++) {
		wk[i] = (struct worker){ c, i, 0 };
		EXPECT_EQ_INT(pthread_create(&th[i], NULL, worker_run, &wk[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ_INT(wk[i].worst, 0);
	}
done:
	ts_tile_cache_destroy(c);
}

/* ---- why not keep a codec (bench/J2K_DECODERS.md, "Codec reuse") ---- */

static void quiet(const char *m, void *u)
{
	(void)m;
	(void)u;
}

struct codec {
	opj_codec_t *codec;
	opj_stream_t *stream;
	opj_image_t *image;
};

static bool codec_start(struct codec *c, const char *path)
{
	opj_dparameters_t p;

	memset(c, 0, sizeof *c);
	c->codec = opj_create_decompress(OPJ_CODEC_JP2);
	opj_set_error_handler(c->codec, quiet, NULL);
	opj_set_warning_handler(c->codec, quiet, NULL);
	opj_set_info_handler(c->codec, quiet, NULL);
	opj_set_default_decoder_parameters(&p);
	c->stream = opj_stream_create_default_file_stream(path, OPJ_TRUE);
	return opj_setup_decoder(c->codec, &p) && c->stream &&
	       opj_read_header(c->stream, c->codec, &c->image);
}

static void codec_stop(struct codec *c)
{
	opj_image_destroy(c->image);
	if (c->stream)
		opj_stream_destroy(c->stream);
	if (c->codec)
		opj_destroy_codec(c->codec);
}

/* A window [x0,x1)x[y0,y1) (reference grid) at reduce r. */
static bool codec_window(struct codec *c, int r, int x0, int y0, int x1, int y1)
{
	return opj_set_decoded_resolution_factor(c->codec, (OPJ_UINT32)r) &&
	       opj_set_decode_area(c->codec, c->image, x0, y0, x1, y1) &&
	       opj_decode(c->codec, c->stream, c->image);
}

/*
 * OpenJPEG 2.5.0 decodes further windows of a single-tile image on a used
 * codec without reading or parsing the codestream again (four to five
 * times cheaper than a fresh codec), and a window overlapping the code-
 * blocks of the one before comes out exactly as on a fresh codec: the
 * property jp2_opj.c's kept codec rests on, checked on the library itself.
 */
static void openjpeg_decodes_a_used_codecs_overlapping_window_right(void)
{
	static const int wins[][5] = {   /* reduce, reference-grid window */
		{ 1, 1000, 1000, 1512, 1400 }, { 1, 0, 0, 2048, 1500 }, { 1, 900, 300, 2300, 1100 },
		{ 1, 0, 1200, 300, 1500 },
	};
	struct codec used, fresh;
	int worst = 0, d;
	uint32_t i, k, n;

	if (skip())
		return;
	EXPECT(codec_start(&used, untiled));
	for (n = 0; n < sizeof wins / sizeof wins[0]; n++) {
		EXPECT(codec_start(&fresh, untiled));
		EXPECT(codec_window(&used, wins[n][0], wins[n][1], wins[n][2], wins[n][3], wins[n][4]));
		EXPECT(codec_window(&fresh, wins[n][0], wins[n][1], wins[n][2], wins[n][3],
		                    wins[n][4]));
		for (k = 0; used.image && fresh.image && k < used.image->numcomps; k++) {
			const opj_image_comp_t *a = &used.image->comps[k], *b = &fresh.image->comps[k];
			if (!a->data || !b->data || a->w != b->w || a->h != b->h) {
				worst = 999;
				break;
			}
			for (i = 0; i < a->w * a->h; i++) {
				d = abs(a->data[i] - b->data[i]);
				worst = d > worst ? d : worst;
			}
		}
		codec_stop(&fresh);
	}
	EXPECT_EQ_INT(worst, 0);
	codec_stop(&used);
}

int main(void)
{
	char p[300];
	int rc;

	have_opj = system("command -v opj_compress >/dev/null 2>&1") == 0;
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	write_ppm("big.ppm", 2300, 1500);
	untiled = make("u.jp2", "-n 6 -p RPCL -c [256,256] -b 64,64");
	offset = make("o.j2k", "-n 5 -d 37,21 -b 32,32");

	RUN(untiled_windows_through_virtual_tiles_equal_windows_decoded_alone);
	RUN(an_image_offset_moves_nothing);
	RUN(the_tiles_of_a_virtual_tile_decode_it_once);
	RUN(after_a_failed_read_the_next_is_right);
	RUN(a_kept_codec_is_counted_in_the_cache_budget);
	RUN(threads_reading_one_untiled_file_get_right_pixels);
	RUN(openjpeg_decodes_a_used_codecs_overlapping_window_right);

	snprintf(p, sizeof p, "rm -rf %s", dir);
	rc = system(p);
	(void)rc;
	return CHECK_DONE();
}
