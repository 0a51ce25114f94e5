/*
 * jp2_ojph.cpp - a one-tile HTJ2K code-stream decoded by OpenJPH 0.9 into
 * 8-bit interleaved pixels, behind the C interface of jp2_ojph.h.
 *
 * The one idea: OpenJPH has no random access (it hands out whole lines of
 * the whole image from the top), but the code-stream it is given here
 * holds one tile only (jp2_ojph_tile.c cuts it out of the file), so its
 * lines are the tile's rows and nothing else is decoded.  A reduced level
 * is restrict_input_resolution(r, r): the resolutions above it are neither
 * read nor reconstructed.
 *
 * OpenJPH's messages are set up by ojph_messages.cpp (shared with the
 * converter's encoder): an error throws its text without printing, and
 * this border catches everything, so no C++ exception reaches C.
 */
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <new>
#include <stdexcept>

#include <openjph/ojph_arch.h>
#include <openjph/ojph_codestream.h>
#include <openjph/ojph_file.h>
#include <openjph/ojph_mem.h>
#include <openjph/ojph_params.h>

#include "jp2_ojph.h"
#include "ojph_messages.h"

/* jp2_pack.c (declared in jp2_internal.h, a C header): a row of planes
 * clamped to 0..255 and interleaved, SSE2 on x86-64. */
extern "C" void ts_jp2_pack_row(const int32_t *const *src, int n, uint8_t *dst, uint32_t w);


extern "C" int ts_jp2_ojph_decode(const unsigned char *cs, size_t len, int reduce, uint32_t w,
                                  uint32_t h, int channels, uint8_t *out, size_t stride,
                                  char *msg, size_t msg_len)
{
	ts_ojph_configure_messages();
	if (channels != 1 && channels != 3) {
		ts_ojph_put_message(msg, msg_len, "1 or 3 components only");
		return -1;
	}
	try {
		ojph::codestream c;
		ojph::mem_infile f;
		ojph::ui32 nc;

		f.open(cs, len);
		c.read_headers(&f);
		c.restrict_input_resolution((ojph::ui32)reduce, (ojph::ui32)reduce);
		/* all components of a row, one after the other */
		c.set_planar(false);
		ojph::param_siz siz = c.access_siz();
		nc = siz.get_num_components();
		if (nc != (ojph::ui32)channels)
			throw std::runtime_error("unexpected component count");
		for (ojph::ui32 k = 0; k < nc; k++) {
			ojph::point ds = siz.get_downsampling(k);
			if (ds.x != 1 || ds.y != 1 || siz.get_bit_depth(k) != 8 || siz.is_signed(k))
				throw std::runtime_error("not plain 8-bit components");
		}
		c.create();
		for (ojph::ui32 k = 0; k < nc; k++)
			if (siz.get_recon_width(k) != w || siz.get_recon_height(k) != h)
				throw std::runtime_error("tile size differs from the file's");
		for (uint32_t y = 0; y < h; y++) {
			const int32_t *planes[3];
			for (ojph::ui32 k = 0; k < nc; k++) {
				ojph::ui32 comp = 0;
				ojph::line_buf *line = c.pull(comp);
				if (!line || comp != k || !line->i32 || line->size < w)
					throw std::runtime_error("line out of order");
				/* unsigned samples come back with the DC level
				 * shift undone (G.1.2): 0..255, clamped when packed.
				 * Each component has a line of its own, which stays
				 * until that component's next pull. */
				planes[k] = line->i32;
			}
			ts_jp2_pack_row(planes, (int)nc, out + (size_t)y * stride, w);
		}
		c.close();
		return 0;
	} catch (...) {
		ts_ojph_put_failure(msg, msg_len);
	}
	return -1;
}
