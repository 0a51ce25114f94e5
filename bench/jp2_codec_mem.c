/*
 * jp2_codec_mem.c - what one reused OpenJPEG codec keeps in memory between
 * windows of a single-tile JPEG 2000 file (the codec jp2_opj.c keeps per
 * open source), measured with mallinfo2() (heap bytes in use) after the
 * header, after each window, and after the window's pixels are freed.
 *
 *   gcc -O2 -o /tmp/jp2_codec_mem bench/jp2_codec_mem.c \
 *       $(pkg-config --cflags --libs libopenjp2)
 *   /tmp/jp2_codec_mem FILE_untiled.jp2
 *   WINS=0:512:512:256:256,0:1000:1000:256:256 /tmp/jp2_codec_mem FILE
 *       (reduce:x:y:w:h in level pixels, one codec for all)
 *
 * The windows are clipped to the header's size: after a decode, image
 * holds the last window's bounds (clipping to those made later windows
 * look refused or narrowed, see J2K_DECODERS.md).
 *
 * Figures (dragonfly_untiled.jp2, 4224x3168, 3.6 MB): see the "Codec
 * reuse" section of bench/J2K_DECODERS.md.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openjpeg.h>

static double heap_mb(void)
{
	struct mallinfo2 mi = mallinfo2();
	return (double)(mi.uordblks + mi.hblkhd) / 1048576.0;
}

static void quiet(const char *m, void *u)
{
	(void)m;
	(void)u;
}

static void loud(const char *m, void *u)
{
	(void)u;
	fprintf(stderr, "openjpeg: %s", m);
}

int main(int argc, char **argv)
{
	static struct { int r; unsigned x, y, w, h; } wins[32] = {
		/* one reduce factor: another fails on a used codec (J2K_DECODERS.md) */
		{ 0, 1280, 1280, 256, 256 }, { 0, 0, 0, 256, 256 }, { 0, 512, 512, 256, 256 },
		{ 0, 1000, 1000, 256, 256 }, { 0, 100, 1000, 1024, 256 }, { 0, 3000, 2000, 1024, 1024 },
		{ 0, 0, 0, 4224, 3168 }, { 0, 1280, 1280, 256, 256 },
	};
	opj_codec_t *codec;
	opj_stream_t *stream;
	opj_image_t *image = NULL;
	opj_dparameters_t p;
	double base = heap_mb();
	size_t i, nwins = 8;
	const char *spec = getenv("WINS");   /* r:x:y:w:h,... instead of the list */

	if (spec) {
		int used;
		for (nwins = 0; nwins < 32 && sscanf(spec, "%d:%u:%u:%u:%u%n", &wins[nwins].r,
		                                       &wins[nwins].x, &wins[nwins].y, &wins[nwins].w,
		                                       &wins[nwins].h, &used) == 5; nwins++) {
			spec += used;
			if (*spec == ',')
				spec++;
		}
	}

	if (argc < 2)
		return 2;
	codec = opj_create_decompress(strstr(argv[1], ".jp2") ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
	opj_set_error_handler(codec, loud, NULL);
	opj_set_warning_handler(codec, quiet, NULL);
	opj_set_info_handler(codec, quiet, NULL);
	opj_set_default_decoder_parameters(&p);
	opj_setup_decoder(codec, &p);
	opj_decoder_set_strict_mode(codec, OPJ_TRUE);
	stream = opj_stream_create_default_file_stream(argv[1], OPJ_TRUE);
	if (!stream || !opj_read_header(stream, codec, &image))
		return 1;
	printf("header: %.1f MB\n", heap_mb() - base);
	/* the header's geometry, put back before every window (a reduce
	 * factor different from the last window's fails otherwise) */
	OPJ_UINT32 full_x1 = image->x1, full_y1 = image->y1;
	for (i = 0; i < nwins; i++) {
		unsigned r = (unsigned)wins[i].r, k;
		unsigned x1 = (wins[i].x + wins[i].w) << r, y1 = (wins[i].y + wins[i].h) << r;
		if (x1 > full_x1)     /* the header's size: image is the last window */
			x1 = full_x1;
		if (y1 > full_y1)
			y1 = full_y1;
		if (!opj_set_decoded_resolution_factor(codec, r)) {
			printf("window %zu: reduce refused\n", i);
			return 1;
		}
		if (!opj_set_decode_area(codec, image, (int)(wins[i].x << r), (int)(wins[i].y << r),
		                         (int)x1, (int)y1)) {
			printf("window %zu: area refused\n", i);
			return 1;
		}
		if (!opj_decode(codec, stream, image)) {
			printf("window %zu: decode failed\n", i);
			return 1;
		}
		printf("reduce %u window %ux%u at %u,%u: decoded %ux%u from %u,%u, %.1f MB", r,
		       wins[i].w, wins[i].h, wins[i].x, wins[i].y, image->comps[0].w,
		       image->comps[0].h, image->x0 >> r, image->y0 >> r, heap_mb() - base);
		for (k = 0; k < image->numcomps; k++) {
			opj_image_data_free(image->comps[k].data);
			image->comps[k].data = NULL;
		}
		printf(", pixels freed: %.1f MB\n", heap_mb() - base);
	}
	opj_image_destroy(image);
	opj_stream_destroy(stream);
	opj_destroy_codec(codec);
	printf("destroyed: %.1f MB\n", heap_mb() - base);
	return 0;
}
