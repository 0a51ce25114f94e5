/*
 * icc_fixture.h - small ICC profiles made in memory, and readers that take
 * the embedded profile back out of each output format, for the tests of
 * the profile's trip from source to response.
 *
 * The profiles are a real ICC header (ICC.1:2010 §7.2: size, version 2.1,
 * device class, data colour space, PCS XYZ, 'acsp', D50 illuminant) with an
 * empty tag table and seeded filler after it, so every profile made with a
 * different seed is different bytes yet passes libpng's header checks.
 * The readers come in only when the test included the library's header
 * first (jpeglib.h, png.h, webp/mux.h, tiffio.h).  Header-only.
 */
#ifndef TESSERA_ICC_FIXTURE_H
#define TESSERA_ICC_FIXTURE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline void icc_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* A profile of n bytes (n >= 132, a multiple of 4) for data colour space
 * space ("RGB ", "GRAY", "CMYK"), filler from seed; malloc'd. */
static inline unsigned char *icc_make(size_t n, const char *space, unsigned seed)
{
	unsigned char *p = calloc(1, n);
	uint32_t x = seed * 2654435761u + 1;

	if (!p)
		abort();
	icc_put32(p, (uint32_t)n);
	memcpy(p + 4, "test", 4);             /* preferred CMM */
	icc_put32(p + 8, 0x02100000);         /* version 2.1 */
	memcpy(p + 12, "mntr", 4);            /* display device */
	memcpy(p + 16, space, 4);
	memcpy(p + 20, "XYZ ", 4);            /* PCS */
	p[24] = 0x07; p[25] = 0xE8; p[27] = 1; p[29] = 1;   /* 2024-01-01 */
	memcpy(p + 36, "acsp", 4);
	icc_put32(p + 68, 0x0000F6D6);        /* D50 illuminant, s15Fixed16 */
	icc_put32(p + 72, 0x00010000);
	icc_put32(p + 76, 0x0000D32D);
	memcpy(p + 80, "test", 4);            /* creator */
	icc_put32(p + 128, 0);                /* no tags */
	for (size_t i = 132; i < n; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (unsigned char)(x >> 16);
	}
	return p;
}

#ifdef JPEG_LIB_VERSION
/* The profile in a JPEG's APP2 segments (libjpeg's own reassembly), or
 * NULL; malloc'd, *len bytes. */
static inline unsigned char *icc_from_jpeg(const unsigned char *p, size_t n, size_t *len)
{
	struct jpeg_decompress_struct ci;
	struct jpeg_error_mgr jerr;
	JOCTET *icc = NULL;
	unsigned int l = 0;

	*len = 0;
	ci.err = jpeg_std_error(&jerr);
	jpeg_create_decompress(&ci);
	jpeg_mem_src(&ci, p, (unsigned long)n);
	jpeg_save_markers(&ci, JPEG_APP0 + 2, 0xFFFF);
	jpeg_read_header(&ci, TRUE);
	if (!jpeg_read_icc_profile(&ci, &icc, &l))
		icc = NULL;
	jpeg_destroy_decompress(&ci);
	*len = l;
	return icc;
}
#endif

#ifdef PNG_LIBPNG_VER
struct icc_png_mem {
	const unsigned char *p;
	size_t n, pos;
};

static inline void icc_png_read(png_structp png, png_bytep out, size_t k)
{
	struct icc_png_mem *m = png_get_io_ptr(png);

	if (k > m->n - m->pos)
		png_error(png, "short");
	memcpy(out, m->p + m->pos, k);
	m->pos += k;
}

/* The profile in a PNG's iCCP chunk, or NULL; malloc'd, *len bytes. */
static inline unsigned char *icc_from_png(const unsigned char *p, size_t n, size_t *len)
{
	struct icc_png_mem m = { p, n, 0 };
	png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(png);
	unsigned char *volatile copy = NULL;
	png_charp name;
	png_bytep prof;
	png_uint_32 plen;
	int comp;

	*len = 0;
	if (setjmp(png_jmpbuf(png)) == 0) {
		png_set_read_fn(png, &m, icc_png_read);
		png_read_info(png, info);
		if (png_get_iCCP(png, info, &name, &comp, &prof, &plen) == PNG_INFO_iCCP) {
			copy = malloc(plen);
			memcpy(copy, prof, plen);
			*len = plen;
		}
	}
	png_destroy_read_struct(&png, &info, NULL);
	return copy;
}
#endif

#ifdef WEBP_MUX_ABI_VERSION
/* The profile in a WebP's ICCP chunk, or NULL; malloc'd, *len bytes. */
static inline unsigned char *icc_from_webp(const unsigned char *p, size_t n, size_t *len)
{
	WebPData in = { p, n }, chunk;
	WebPMux *mux = WebPMuxCreate(&in, 0);
	unsigned char *copy = NULL;

	*len = 0;
	if (mux && WebPMuxGetChunk(mux, "ICCP", &chunk) == WEBP_MUX_OK) {
		copy = malloc(chunk.size);
		memcpy(copy, chunk.bytes, chunk.size);
		*len = chunk.size;
	}
	WebPMuxDelete(mux);
	return copy;
}
#endif

#endif
