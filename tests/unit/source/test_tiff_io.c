/* test_tiff_io.c - libtiff's procedures over a read-ahead block
 * (src/source/tiff_io.c): every read gives the file's bytes wherever it
 * falls against the block, seeks only move the position, the TIFF owns the
 * descriptor on success and the caller keeps it on failure. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check.h"
#include "src/source/tiff_io.h"

static char path[64];

/* An uncompressed 256x256 RGB TIFF in strips: about 196 KB. */
static void write_tiff(void)
{
	TIFF *t;
	unsigned char row[256 * 3];

	strcpy(path, "/tmp/tessera-tiffio-XXXXXX");
	close(mkstemp(path));
	t = TIFFOpen(path, "w");
	if (!t)
		abort();
	TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 256);
	TIFFSetField(t, TIFFTAG_IMAGELENGTH, 256);
	TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3);
	TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
	TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
	TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
	TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 16);
	for (uint32_t y = 0; y < 256; y++) {
		for (int x = 0; x < 256 * 3; x++)
			row[x] = (unsigned char)(x * 7 + y * 13);
		TIFFWriteScanline(t, row, y, 0);
	}
	TIFFClose(t);
}

static void reads_give_the_files_bytes_wherever_they_fall(void)
{
	static const struct { uint64_t off; size_t len; } cases[] = {
		{ 0, 8 }, { 4, 100 }, { 16380, 8 }, { 16384, 1 }, { 100, 16384 },
		{ 5000, 40000 }, { 150000, 16383 }, { 8, 3 }, { 0, 16384 }, { 195000, 4000 },
	};
	struct stat st;
	TIFF *tif;
	int fd;

	write_tiff();
	fd = open(path, O_RDONLY);
	EXPECT(fd >= 0 && fstat(fd, &st) == 0);
	tif = ts_tiff_io_open(fd, path, "rm", NULL);
	EXPECT(tif != NULL);
	if (!tif)
		return;
	EXPECT(TIFFFileno(tif) == fd);
	{
		TIFFReadWriteProc rd = TIFFGetReadProc(tif);
		TIFFSeekProc sk = TIFFGetSeekProc(tif);
		TIFFSizeProc sz = TIFFGetSizeProc(tif);
		thandle_t h = TIFFClientdata(tif);
		unsigned char *got = malloc(65536), *want = malloc(65536);

		EXPECT((uint64_t)sz(h) == (uint64_t)st.st_size);
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			ssize_t w = pread(fd, want, cases[i].len, (off_t)cases[i].off);
			tmsize_t g;

			EXPECT(sk(h, cases[i].off, SEEK_SET) == cases[i].off);
			g = rd(h, got, (tmsize_t)cases[i].len);
			EXPECT(g == (tmsize_t)w);
			EXPECT(g > 0 && memcmp(got, want, (size_t)g) == 0);
			/* the position moved by what was read */
			EXPECT(sk(h, 0, SEEK_CUR) == cases[i].off + (uint64_t)g);
		}
		/* at the end: 0; SEEK_END and a step back */
		EXPECT(sk(h, 0, SEEK_END) == (toff_t)st.st_size);
		EXPECT(rd(h, got, 10) == 0);
		EXPECT(sk(h, (toff_t)-4, SEEK_CUR) == (toff_t)st.st_size - 4);
		EXPECT(rd(h, got, 10) == 4);
		EXPECT(pread(fd, want, 4, st.st_size - 4) == 4 && memcmp(got, want, 4) == 0);
		/* refused: before the start, an unknown whence */
		EXPECT(sk(h, (toff_t)-1, SEEK_SET) == (toff_t)-1);
		EXPECT(sk(h, 0, SEEK_SET) == 0);
		EXPECT(sk(h, (toff_t)-1, SEEK_CUR) == (toff_t)-1);
		EXPECT(sk(h, 0, 42) == (toff_t)-1);
		free(got);
		free(want);
	}
	/* libtiff itself reads the image through them */
	{
		uint32_t w = 0, hgt = 0;
		unsigned char row[256 * 3];

		EXPECT(TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w) && w == 256);
		EXPECT(TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &hgt) && hgt == 256);
		EXPECT(TIFFReadScanline(tif, row, 200, 0) == 1);
		EXPECT(row[0] == (unsigned char)(200 * 13) && row[5] == (unsigned char)(35 + 200 * 13));
	}
	TIFFClose(tif);
	errno = 0;
	EXPECT(fcntl(fd, F_GETFD) == -1 && errno == EBADF);   /* closed with the TIFF */
	unlink(path);
}

static void a_file_that_is_no_tiff_stays_the_callers(void)
{
	char p[] = "/tmp/tessera-tiffio-XXXXXX";
	int fd = mkstemp(p);
	TIFF *tif;

	EXPECT(fd >= 0 && write(fd, "not a tiff at all", 17) == 17);
	TIFFSetErrorHandler(NULL);
	tif = ts_tiff_io_open(fd, p, "rm", NULL);
	EXPECT(tif == NULL);
	EXPECT(fcntl(fd, F_GETFD) != -1);
	close(fd);
	unlink(p);
}

int main(void)
{
	RUN(reads_give_the_files_bytes_wherever_they_fall);
	RUN(a_file_that_is_no_tiff_stays_the_callers);
	return CHECK_DONE();
}
