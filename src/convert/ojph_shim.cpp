/*
 * ojph_shim.cpp - one code-stream tile as a one-tile HTJ2K codestream,
 * through OpenJPH's C++ encoder, behind a C interface (ojph_shim.h) for
 * the HTJ2K sink (sink_htj2k.c).
 *
 * The one idea: the codestream's image and tile offsets are the tile's own
 * origin, so the tile-part it holds is the one the whole image would hold
 * (ojph_shim.h); the sink cuts it out and writes the main header itself.
 *
 * OpenJPH's messages are set up by src/source/ojph_messages.cpp (shared
 * with the decoder): an error throws its text without printing; every
 * entry point catches it at this border and hands back our -1 with the
 * text, so no C++ exception reaches C.  Info and warnings are dropped.
 */
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <new>
#include <stdexcept>

#include <openjph/ojph_arch.h>
#include <openjph/ojph_codestream.h>
#include <openjph/ojph_file.h>
#include <openjph/ojph_mem.h>
#include <openjph/ojph_message.h>
#include <openjph/ojph_params.h>

#include "ojph_shim.h"
#include "../source/ojph_messages.h"

namespace {

/* log2 of a power of two, or -1 */
int log2_exact(uint32_t v)
{
	int k = 0;

	if (v == 0 || (v & (v - 1)))
		return -1;
	while ((1u << k) < v)
		k++;
	return k;
}

} // namespace

extern "C" int ts_ojph_encode_tile(const struct ts_ojph_tile *t, const uint8_t *pixels,
                                   size_t stride, unsigned char **out, size_t *out_len,
                                   char *msg, size_t msg_len)
{
	*out = nullptr;
	*out_len = 0;
	ts_ojph_configure_messages();
	if (t->channels < 1 || t->channels > 4 || t->width == 0 || t->height == 0 ||
	    t->decompositions < 0 || t->decompositions > 32 ||
	    (uint64_t)t->x0 + t->width > UINT32_MAX || (uint64_t)t->y0 + t->height > UINT32_MAX) {
		ts_ojph_put_message(msg, msg_len, "invalid tile parameters");
		return -1;
	}
	if (t->precinct && log2_exact(t->precinct) < 2) {
		ts_ojph_put_message(msg, msg_len, "precinct size must be a power of two");
		return -1;
	}
	try {
		ojph::codestream cs;
		ojph::mem_outfile file;
		ojph::param_siz siz = cs.access_siz();
		ojph::param_cod cod = cs.access_cod();
		ojph::ui32 next = 0;
		ojph::line_buf *line;
		int nc = t->channels;

		/* A.5.1: the image is [x0, x0+w) x [y0, y0+h); one tile of side
		 * t->tile whose origin is the image's, as in the whole image. */
		siz.set_image_extent(ojph::point(t->x0 + t->width, t->y0 + t->height));
		siz.set_image_offset(ojph::point(t->x0, t->y0));
		siz.set_tile_size(ojph::size(t->tile, t->tile));
		siz.set_tile_offset(ojph::point(t->x0, t->y0));
		siz.set_num_components((ojph::ui32)nc);
		for (int c = 0; c < nc; c++)
			siz.set_component((ojph::ui32)c, ojph::point(1, 1), 8, false);
		cod.set_num_decomposition((ojph::ui32)t->decompositions);
		cod.set_block_dims(64, 64);
		if (t->precinct) {
			/* the same side at every resolution (B.6) */
			ojph::size p(t->precinct, t->precinct);
			cod.set_precinct_size(1, &p);
		}
		cod.set_progression_order("RPCL");
		cod.set_color_transform(t->colour_transform && nc >= 3);
		cod.set_reversible(t->reversible);
		if (!t->reversible)
			cs.access_qcd().set_irrev_quant(t->qstep);
		/* component after component within each line: the order the
		 * colour transform needs */
		cs.set_planar(false);
		file.open();
		cs.write_headers(&file);
		line = cs.exchange(nullptr, next);
		for (uint32_t y = 0; y < t->height; y++) {
			const uint8_t *row = pixels + (size_t)y * stride;
			for (int c = 0; c < nc; c++) {
				ojph::si32 *d = line->i32;
				if ((int)next != c)
					throw std::runtime_error("components out of order");
				for (uint32_t x = 0; x < t->width; x++)
					d[x] = row[(size_t)x * (size_t)nc + (size_t)c];
				line = cs.exchange(line, next);
			}
		}
		cs.flush();
		{
			size_t n = (size_t)file.tell();
			unsigned char *buf = (unsigned char *)malloc(n ? n : 1);
			if (!buf)
				throw std::bad_alloc();
			memcpy(buf, file.get_data(), n);
			*out = buf;
			*out_len = n;
		}
		cs.close();
		return 0;
	} catch (...) {
		ts_ojph_put_failure(msg, msg_len);
	}
	return -1;
}
