/*
 * jpeg_floor.c - what libjpeg-turbo alone needs for full/max of a
 * JPEG-tiled TIFF: decoding every tile of level 0 and encoding the whole
 * image once (q75, 4:2:0, as Tessera and iipsrv answer), both through
 * interleaved RGB and through component planes.  The best of 5 runs each.
 * A server that decodes and re-encodes cannot spend less CPU per full/max
 * than the smaller of the two sums; compare with bench/run.py's "fullmax"
 * row.
 *
 * It also times the entropy decoding alone (the libjpeg API's
 * jpeg_read_coefficients: Huffman to quantised coefficients, no IDCT, no
 * colour conversion): the part of the decode any approach pays, including
 * one that never makes a pixel.  Tessera's full/max is such an approach
 * (src/encode/jpeg_transcode.c: the tiles' coefficients requantised, R,G,B
 * mixed to YCbCr per coefficient, chroma halved in the DCT domain, libjpeg
 * coding both ways), so this column plus libjpeg's Huffman encoding is the
 * floor under it, and the decode-plus-encode columns are the floor under
 * iipsrv's.  On dragonfly entropy decoding is 43-54 ms of a 68-84 ms decode.
 *
 * Large allocations stay on the heap (mallopt, as the daemon does), so the
 * coefficient arrays' page faults do not count as decoding time.
 *
 *   gcc -O2 -o /tmp/jpeg_floor bench/jpeg_floor.c -ltiff -lturbojpeg -ljpeg
 *   /tmp/jpeg_floor build/corpus/images/dragonfly_jpeg.tif
 *
 * The planes are the tile's own components (R,G,B for an RGB TIFF): their
 * encode is timed as if they were Y and 4:2:0 chroma (the bytes differ, the
 * work does not), which leaves out a colour conversion in between.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <tiffio.h>
#include <jpeglib.h>
#include <turbojpeg.h>

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	TIFF *t = argc > 1 ? TIFFOpen(argv[1], "r") : NULL;
	uint32_t w, h, tw, th, tl = 0;
	void *tab = NULL;
	uint64_t *bc;
	double best[5] = { 1e9, 1e9, 1e9, 1e9, 1e9 };

	mallopt(M_MMAP_THRESHOLD, 512 << 20);
	mallopt(M_TRIM_THRESHOLD, 1024 << 20);

	if (!t || !TIFFGetField(t, TIFFTAG_TILEWIDTH, &tw) ||
	    !TIFFGetField(t, TIFFTAG_JPEGTABLES, &tl, &tab) ||
	    !TIFFGetField(t, TIFFTAG_TILEBYTECOUNTS, &bc)) {
		fprintf(stderr, "usage: jpeg_floor FILE (a JPEG-tiled TIFF)\n");
		return 2;
	}
	TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
	TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
	TIFFGetField(t, TIFFTAG_TILELENGTH, &th);
	int nt = (int)TIFFNumberOfTiles(t), tx = (int)((w + tw - 1) / tw), ty = (int)((h + th - 1) / th);
	unsigned char **raw = malloc(nt * sizeof *raw);
	size_t *len = malloc(nt * sizeof *len);
	for (int i = 0; i < nt; i++) {
		/* tables without their EOI, then the tile without its SOI */
		unsigned char *b = malloc(bc[i] + tl);
		tmsize_t n = TIFFReadRawTile(t, (uint32_t)i, b + tl - 4, (tmsize_t)bc[i]);
		memcpy(b, tab, tl - 2);
		memmove(b + tl - 2, b + tl - 4 + 2, (size_t)n - 2);
		raw[i] = b;
		len[i] = tl - 2 + (size_t)n - 2;
	}
	size_t pw = (size_t)tx * tw, ph = (size_t)ty * th, sw = pw * 3;
	unsigned char *rgb = malloc(sw * ph), *pl[3];
	for (int c = 0; c < 3; c++)
		pl[c] = malloc(pw * ph);
	tjhandle d = tjInitDecompress(), e = tjInitCompress();
	for (int rep = 0; rep < 5; rep++) {
		unsigned char *jb = NULL;
		unsigned long jl = 0;
		double t0 = now(), t1, t2, t3, t4, t5;

		for (int i = 0; i < nt; i++)
			tjDecompress2(d, raw[i], len[i], rgb + (size_t)(i / tx) * th * sw + (size_t)(i % tx) * tw * 3,
			              (int)tw, (int)sw, (int)th, TJPF_RGB, 0);
		t1 = now();
		for (int i = 0; i < nt; i++) {
			size_t off = (size_t)(i / tx) * th * pw + (size_t)(i % tx) * tw;
			unsigned char *dst[3] = { pl[0] + off, pl[1] + off, pl[2] + off };
			int str[3] = { (int)pw, (int)pw, (int)pw };
			tjDecompressToYUVPlanes(d, raw[i], len[i], dst, (int)tw, str, (int)th, 0);
		}
		t2 = now();
		tjCompress2(e, rgb, (int)w, (int)sw, (int)h, TJPF_RGB, &jb, &jl, TJSAMP_420, 75, 0);
		tjFree(jb);
		jb = NULL;
		t3 = now();
		{
			const unsigned char *src[3] = { pl[0], pl[1], pl[2] };
			int str[3] = { (int)pw, (int)pw * 2, (int)pw * 2 };   /* every other row */
			tjCompressFromYUVPlanes(e, src, (int)w, str, (int)h, TJSAMP_420, &jb, &jl, 75, 0);
			tjFree(jb);
		}
		t4 = now();
		for (int i = 0; i < nt; i++) {
			struct jpeg_decompress_struct c;
			struct jpeg_error_mgr err;

			c.err = jpeg_std_error(&err);
			jpeg_create_decompress(&c);
			jpeg_mem_src(&c, raw[i], (unsigned long)len[i]);
			jpeg_read_header(&c, TRUE);
			jpeg_read_coefficients(&c);
			jpeg_finish_decompress(&c);
			jpeg_destroy_decompress(&c);
		}
		t5 = now();
		double dt[5] = { t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4 };
		for (int k = 0; k < 5; k++)
			if (dt[k] < best[k])
				best[k] = dt[k];
	}
	printf("%ux%u, %d tiles: decode to RGB %.1f ms, to planes %.1f ms; "
	       "encode from RGB %.1f ms, from planes %.1f ms; entropy decoding alone %.1f ms\n",
	       w, h, nt, best[0] * 1e3, best[1] * 1e3, best[2] * 1e3, best[3] * 1e3,
	       best[4] * 1e3);
	return 0;
}
