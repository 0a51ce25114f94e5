/*
 * test_tiff_probe.c - the TIFF header reader (src/probe/tiff_probe.c)
 * gives libtiff's answer or none: on files libtiff writes (tiles and
 * strips, pages and SubIFDs, classic and BigTIFF, both byte orders, grey,
 * RGB, alpha, JPEG YCbCr, 16-bit, masks and odd pages among the levels) its
 * geometry equals ts_source_open's, and what it does not decode directly
 * (palette, bilevel) it leaves to libtiff.  Hostile headers - every
 * truncation of a pyramid, thousands of mutated copies, an IFD loop, a huge
 * entry count, values past the end, a bad BigTIFF header - are a 500 or a
 * 501, never a crash or a wrong answer, and no probe reads more than its
 * bound.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "../source/tiff_fixture.h"
#include "tessera/source.h"
#include "tessera/tiff_probe.h"

/* A file in memory; counts every byte asked for and checks no read starts
 * past the end. */
struct mem {
	const unsigned char *b;
	size_t n;
	uint64_t asked;
	bool past_end;
};

static ts_status mem_read(void *ctx, uint64_t off, void *buf, size_t n, size_t *got,
                          struct ts_error *err)
{
	struct mem *m = ctx;

	(void)err;
	m->asked += n;
	*got = 0;
	if (off >= m->n) {
		m->past_end = true;
		return TS_OK;
	}
	*got = m->n - off < n ? (size_t)(m->n - off) : n;
	memcpy(buf, m->b + off, *got);
	return TS_OK;
}

static ts_status probe_mem(const unsigned char *b, size_t n, struct ts_source_info *info)
{
	struct mem m = { b, n, 0, false };
	struct ts_media_reader rd = { mem_read, &m, n };
	struct ts_error err;
	ts_status st;

	ts_error_clear(&err);
	st = ts_tiff_probe(&rd, 0, info, &err);
	EXPECT(m.asked <= TS_TIFF_PROBE_MAX_READ);
	EXPECT(!m.past_end);
	EXPECT(st == TS_OK || st == TS_EINTERNAL || st == TS_ENOTIMPL);
	EXPECT_EQ_INT(err.status, st);
	if (st)
		EXPECT(err.msg[0] != '\0');
	return st;
}

static unsigned char *slurp(const char *path, size_t *n)
{
	struct stat st;
	unsigned char *b;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) != 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	b = malloc((size_t)st.st_size + 1);
	if (b && read(fd, b, (size_t)st.st_size) != st.st_size) {
		free(b);
		b = NULL;
	}
	close(fd);
	*n = (size_t)st.st_size;
	return b;
}

/* libtiff's answer (through tiff_read.c) for the file at path. */
static ts_status libtiff_info(const char *path, struct ts_source_info *info)
{
	struct ts_source *src = NULL;
	struct ts_error err;
	ts_status st;

	ts_error_clear(&err);
	memset(info, 0, sizeof *info);
	st = ts_source_open(path, NULL, &src, &err);
	if (st == TS_OK) {
		*info = src->info;
		info->icc = NULL;
		info->icc_len = 0;
		ts_source_close(src);
	}
	return st;
}

static bool same_info(const struct ts_source_info *a, const struct ts_source_info *b)
{
	if (a->width != b->width || a->height != b->height || a->channels != b->channels ||
	    a->bits != b->bits || a->nlevels != b->nlevels || a->min_decode != b->min_decode ||
	    !a->format || !b->format || strcmp(a->format, b->format) != 0)
		return false;
	for (int i = 0; i < a->nlevels; i++)
		if (memcmp(&a->levels[i], &b->levels[i], sizeof a->levels[i]) != 0)
			return false;
	return true;
}

/* Probe the file at path both ways: equal answers, or a 501 from us. */
static ts_status agree(const char *path, struct ts_source_info *mine)
{
	struct ts_source_info theirs;
	unsigned char *b;
	size_t n = 0;
	ts_status st, lt;

	b = slurp(path, &n);
	EXPECT(b != NULL);
	if (!b)
		return TS_EINTERNAL;
	st = probe_mem(b, n, mine);
	lt = libtiff_info(path, &theirs);
	if (st == TS_OK) {
		EXPECT_EQ_INT(lt, TS_OK);
		EXPECT(same_info(mine, &theirs));
		if (!same_info(mine, &theirs))
			printf("    %s: ours %ux%u ch%d b%d n%d, libtiff %ux%u ch%d b%d n%d\n", path,
			       mine->width, mine->height, mine->channels, mine->bits, mine->nlevels,
			       theirs.width, theirs.height, theirs.channels, theirs.bits,
			       theirs.nlevels);
	}
	free(b);
	return st;
}

static struct fx base(void)
{
	struct fx f;

	memset(&f, 0, sizeof f);
	f.width = 300;
	f.height = 200;
	f.tile_w = f.tile_h = 64;
	f.nlevels = 3;
	f.photometric = PHOTOMETRIC_RGB;
	f.spp = 3;
	f.bps = 8;
	return f;
}

/* Write f, probe it both ways, expect an answer (want_ok) or a 501. */
static void check_layout(const struct fx *f, bool want_ok, int want_levels)
{
	struct ts_source_info info;
	char path[64];
	ts_status st;

	EXPECT(fx_write(f, path));
	st = agree(path, &info);
	if (want_ok) {
		EXPECT_EQ_INT(st, TS_OK);
		EXPECT_EQ_INT(info.nlevels, want_levels);
	} else {
		EXPECT_EQ_INT(st, TS_ENOTIMPL);
	}
	unlink(path);
}

static void tiled_pyramids_in_pages_give_libtiffs_levels(void)
{
	struct fx f = base();

	check_layout(&f, true, 3);
	f.compression = COMPRESSION_LZW;
	f.bigendian = true;
	check_layout(&f, true, 3);
	f.bigtiff = true;
	check_layout(&f, true, 3);
	f.bigendian = false;
	check_layout(&f, true, 3);
}

static void subifd_pyramids_give_libtiffs_levels(void)
{
	struct fx f = base();

	f.subifd = true;
	f.compression = COMPRESSION_ADOBE_DEFLATE;
	check_layout(&f, true, 3);
	f.bigtiff = true;
	f.bigendian = true;
	check_layout(&f, true, 3);
}

static void strips_grey_alpha_and_sixteen_bits_agree(void)
{
	struct fx f = base();

	f.tile_w = f.tile_h = 0;
	f.rows_per_strip = 16;
	check_layout(&f, true, 3);
	f.photometric = PHOTOMETRIC_MINISBLACK;
	f.spp = 1;
	check_layout(&f, true, 3);
	f.photometric = PHOTOMETRIC_MINISWHITE;
	check_layout(&f, true, 3);
	f = base();
	f.spp = 4;
	f.extra = EXTRASAMPLE_UNASSALPHA;
	f.compression = COMPRESSION_LZW;
	check_layout(&f, true, 3);
	f = base();
	f.photometric = PHOTOMETRIC_MINISBLACK;
	f.spp = 2;
	f.extra = EXTRASAMPLE_ASSOCALPHA;
	check_layout(&f, true, 3);
	f = base();
	f.bps = 16;
	f.nlevels = 2;
	check_layout(&f, true, 2);
}

static void jpeg_ycbcr_and_rgb_pyramids_agree(void)
{
	struct fx f = fx_jpeg(512, 384, 128, PHOTOMETRIC_YCBCR, 3);

	f.nlevels = 3;
	check_layout(&f, true, 3);
	f = fx_jpeg(512, 384, 128, PHOTOMETRIC_RGB, 3);
	f.nlevels = 2;
	check_layout(&f, true, 2);
	f = fx_jpeg(512, 384, 128, PHOTOMETRIC_MINISBLACK, 1);
	check_layout(&f, true, 1);
}

static void palette_and_bilevel_are_left_to_libtiff(void)
{
	struct fx f = base();

	f.photometric = PHOTOMETRIC_PALETTE;
	f.spp = 1;
	check_layout(&f, false, 0);
	f = base();
	f.photometric = PHOTOMETRIC_MINISBLACK;
	f.spp = 1;
	f.bps = 1;
	f.tile_w = f.tile_h = 0;
	check_layout(&f, false, 0);
}

static void masks_and_other_pages_among_levels_are_not_levels(void)
{
	struct fx f = base(), other = base();
	struct ts_source_info info;
	char path[64];
	TIFF *t;

	f.nlevels = 2;
	EXPECT(fx_write(&f, path));
	t = TIFFOpen(path, "a");
	EXPECT(t != NULL);
	if (t) {
		other.width = 150;
		other.height = 150;   /* another aspect */
		EXPECT(fx_write_level(t, &other, 0));
		other = base();
		other.photometric = PHOTOMETRIC_MINISBLACK;
		other.spp = 1;
		other.width = 75;
		other.height = 50;    /* other samples per pixel */
		EXPECT(fx_write_level(t, &other, 0));
		other = base();
		other.mask = true;
		other.width = 37;
		other.height = 25;    /* a transparency mask */
		EXPECT(fx_write_level(t, &other, 0));
		other = base();
		other.width = 150;
		other.height = 100;   /* a duplicate of level 1 */
		EXPECT(fx_write_level(t, &other, 0));
		TIFFClose(t);
	}
	EXPECT_EQ_INT(agree(path, &info), TS_OK);
	EXPECT_EQ_INT(info.nlevels, 2);
	unlink(path);
}

/* A small pyramid's bytes, for the hostile tests. */
static unsigned char *pyramid(size_t *n, bool big)
{
	struct fx f = base();
	char path[64];
	unsigned char *b;

	f.width = 96;
	f.height = 64;
	f.tile_w = f.tile_h = 16;
	f.bigtiff = big;
	if (!fx_write(&f, path))
		return NULL;
	b = slurp(path, n);
	unlink(path);
	return b;
}

static void every_truncation_is_refused_or_answered_right(void)
{
	struct ts_source_info whole, part;
	size_t n = 0;
	unsigned char *b = pyramid(&n, false);

	EXPECT(b != NULL);
	if (!b)
		return;
	EXPECT_EQ_INT(probe_mem(b, n, &whole), TS_OK);
	EXPECT_EQ_INT(whole.nlevels, 3);
	for (size_t len = 0; len < n; len++) {
		ts_status st = probe_mem(b, len, &part);
		EXPECT(st != TS_OK || same_info(&part, &whole));
	}
	free(b);
}

static void mutated_copies_are_refused_or_agree_with_libtiff(void)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	char path[] = "/tmp/tessera-tiffprobe-XXXXXX";
	int fd = mkstemp(path);
	int answered = 0, failed_agreement = 0;

	EXPECT(fd >= 0);
	for (int big = 0; big < 2 && fd >= 0; big++) {
		size_t n = 0;
		unsigned char *b = pyramid(&n, big);
		unsigned char *m = b ? malloc(n) : NULL;

		EXPECT(m != NULL);
		for (int round = 0; m && round < 1500; round++) {
			struct ts_source_info mine, theirs;
			int flips = 1 + (int)(seed % 4);

			memcpy(m, b, n);
			for (int k = 0; k < flips; k++) {
				seed = seed * 6364136223846793005ull + 1442695040888963407ull;
				/* mostly the header and IFDs (the first and last bytes) */
				size_t at = (seed >> 33) % (seed & 1 ? 64 : n);
				if (seed & 2)
					at = n - 1 - at % (n < 600 ? n : 600);
				m[at] = (unsigned char)(seed >> 24);
			}
			if (probe_mem(m, n, &mine) != TS_OK)
				continue;
			answered++;
			if (pwrite(fd, m, n, 0) != (ssize_t)n || ftruncate(fd, (off_t)n) != 0)
				continue;
			if (libtiff_info(path, &theirs) != TS_OK || !same_info(&mine, &theirs)) {
				if (failed_agreement++ < 6)
					printf("    mutated copy %d: ours %ux%u ch%d b%d n%d, libtiff %ux%u ch%d b%d n%d\n",
					       round, mine.width, mine.height, mine.channels, mine.bits,
					       mine.nlevels, theirs.width, theirs.height, theirs.channels,
					       theirs.bits, theirs.nlevels);
			}
		}
		free(m);
		free(b);
	}
	EXPECT(answered > 100);
	EXPECT_EQ_INT(failed_agreement, 0);
	if (fd >= 0)
		close(fd);
	unlink(path);
}

/* Classic little-endian bytes: header, then one IFD at 8 with the given
 * entries (tag, type, count, value) and next-IFD offset. */
static size_t classic(unsigned char *b, const uint32_t (*e)[4], int ne, uint32_t next)
{
	size_t o = 8;

	memcpy(b, "II*\0\x08\0\0\0", 8);
	b[o++] = (unsigned char)ne;
	b[o++] = 0;
	for (int i = 0; i < ne; i++) {
		b[o++] = (unsigned char)e[i][0];
		b[o++] = (unsigned char)(e[i][0] >> 8);
		b[o++] = (unsigned char)e[i][1];
		b[o++] = 0;
		for (int k = 0; k < 4; k++)
			b[o++] = (unsigned char)(e[i][2] >> (8 * k));
		for (int k = 0; k < 4; k++)
			b[o++] = (unsigned char)(e[i][3] >> (8 * k));
	}
	for (int k = 0; k < 4; k++)
		b[o++] = (unsigned char)(next >> (8 * k));
	return o;
}

static const uint32_t strip_rgb[][4] = {
	{ 256, 4, 1, 40 }, { 257, 4, 1, 30 }, { 258, 3, 1, 8 }, { 262, 3, 1, 2 },
	{ 273, 4, 1, 8 }, { 277, 3, 1, 3 }, { 278, 4, 1, 30 }, { 279, 4, 1, 3600 },
};

static void an_ifd_loop_ends_the_walk(void)
{
	unsigned char b[4096];
	struct ts_source_info info;
	size_t n;

	memset(b, 0, sizeof b);
	n = classic(b, strip_rgb, 8, 8);   /* next IFD: itself */
	EXPECT_EQ_INT(probe_mem(b, sizeof b, &info), TS_OK);
	EXPECT_EQ_INT(info.width, 40);
	EXPECT_EQ_INT(info.height, 30);
	EXPECT_EQ_INT(info.nlevels, 1);
	EXPECT_EQ_INT(info.channels, 3);
	EXPECT_EQ_INT(info.levels[0].tile_w, 0);
	(void)n;
}

static void hostile_headers_are_refused(void)
{
	unsigned char b[4096];
	uint32_t e[8][4];
	struct ts_source_info info;

	/* a next IFD past the end */
	memset(b, 0, sizeof b);
	classic(b, strip_rgb, 8, 0x7ffffff0u);
	EXPECT_EQ_INT(probe_mem(b, sizeof b, &info), TS_EINTERNAL);
	/* a per-sample value stored past the end */
	memcpy(e, strip_rgb, sizeof e);
	e[2][2] = 3;
	e[2][3] = 0x7ffffff0u;
	memset(b, 0, sizeof b);
	classic(b, (const uint32_t (*)[4])e, 8, 0);
	EXPECT_EQ_INT(probe_mem(b, sizeof b, &info), TS_EINTERNAL);
	/* no Photometric: libtiff would guess, we do not */
	memcpy(e, strip_rgb, sizeof e);
	e[3][0] = 263;
	memset(b, 0, sizeof b);
	classic(b, (const uint32_t (*)[4])e, 8, 0);
	EXPECT_EQ_INT(probe_mem(b, sizeof b, &info), TS_ENOTIMPL);
	/* 65,535 entries claimed */
	memset(b, 0, sizeof b);
	classic(b, strip_rgb, 8, 0);
	b[8] = b[9] = 0xff;
	EXPECT_EQ_INT(probe_mem(b, sizeof b, &info), TS_ENOTIMPL);
	/* a BigTIFF header with offsets of 4 bytes */
	memset(b, 0, sizeof b);
	memcpy(b, "II+\0\x04\0\0\0\x10\0\0\0\0\0\0\0", 16);
	EXPECT_EQ_INT(probe_mem(b, sizeof b, &info), TS_EINTERNAL);
	/* not a TIFF at all, and an empty file */
	memset(b, 0, sizeof b);
	memcpy(b, "\x89PNG\r\n\x1a\n", 8);
	EXPECT_EQ_INT(probe_mem(b, sizeof b, &info), TS_ENOTIMPL);
	EXPECT(probe_mem(b, 0, &info) != TS_OK);
	/* a width of 2^32-1 by 2^32-1 over the pixel limit is libtiff's to refuse */
	{
		struct mem m = { b, sizeof b, 0, false };
		struct ts_media_reader rd = { mem_read, &m, sizeof b };
		struct ts_error err;

		memcpy(e, strip_rgb, sizeof e);
		e[0][3] = e[1][3] = 0xffffffffu;
		memset(b, 0, sizeof b);
		classic(b, (const uint32_t (*)[4])e, 8, 0);
		ts_error_clear(&err);
		EXPECT_EQ_INT(ts_tiff_probe(&rd, 1000000, &info, &err), TS_ENOTIMPL);
	}
}

static void a_chain_of_many_ifds_reads_a_bounded_amount(void)
{
	/* 5,000 IFDs of 8 entries chained one after the other: the walk stops
	 * at 64 as tiff_read.c's does, reading far less than the bound */
	size_t per = 2 + 8 * 12 + 4, n = 8 + 5000 * per;
	unsigned char *b = calloc(1, n);
	struct ts_source_info info;

	EXPECT(b != NULL);
	if (!b)
		return;
	for (int i = 0; i < 5000; i++) {
		unsigned char tmp[256];
		uint32_t next = i + 1 < 5000 ? (uint32_t)(8 + (size_t)(i + 1) * per) : 0;
		size_t o = 8 + (size_t)i * per;
		size_t k = classic(tmp, strip_rgb, 8, next);
		memcpy(b + o, tmp + 8, k - 8);
	}
	memcpy(b, "II*\0\x08\0\0\0", 8);
	EXPECT_EQ_INT(probe_mem(b, n, &info), TS_OK);
	EXPECT_EQ_INT(info.nlevels, 1);
	free(b);
}

int main(void)
{
	TIFFSetWarningHandler(NULL);
	TIFFSetErrorHandler(NULL);
	RUN(tiled_pyramids_in_pages_give_libtiffs_levels);
	RUN(subifd_pyramids_give_libtiffs_levels);
	RUN(strips_grey_alpha_and_sixteen_bits_agree);
	RUN(jpeg_ycbcr_and_rgb_pyramids_agree);
	RUN(palette_and_bilevel_are_left_to_libtiff);
	RUN(masks_and_other_pages_among_levels_are_not_levels);
	RUN(every_truncation_is_refused_or_answered_right);
	RUN(mutated_copies_are_refused_or_agree_with_libtiff);
	RUN(an_ifd_loop_ends_the_walk);
	RUN(hostile_headers_are_refused);
	RUN(a_chain_of_many_ifds_reads_a_bounded_amount);
	return CHECK_DONE();
}
