/*
 * j2k_decoders_ojph.cpp - the OpenJPH side of bench/j2k_decoders.c: decode a
 * window of an HTJ2K (ISO/IEC 15444-15) code-stream to 8-bit interleaved
 * samples, behind one C function.
 *
 * The one idea: OpenJPH 0.9 has no window decoding and no random access to
 * tiles; it hands out whole lines of the (reduced) image from the top, each
 * line spanning every tile of its tile row.  So a window costs the decoding
 * of every line above its bottom edge, across the full width, and the
 * benchmark measures exactly that: pull lines 0 .. y + h - 1, keep the
 * window's columns of the rows y .. y + h - 1, stop.  A reduced level is
 * restrict_input_resolution(r, r) (neither read nor reconstructed).
 */
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <openjph/ojph_arch.h>
#include <openjph/ojph_codestream.h>
#include <openjph/ojph_file.h>
#include <openjph/ojph_mem.h>
#include <openjph/ojph_message.h>
#include <openjph/ojph_params.h>

extern "C" int ojph_bench_decode(const uint8_t *cs, size_t len, int reduce, uint32_t x,
                                 uint32_t y, uint32_t w, uint32_t h, uint8_t *out,
                                 int *ncomp, int header_only, char *err, size_t errlen);

static FILE *quiet_stream()
{
	static FILE *devnull = fopen("/dev/null", "w");
	return devnull;
}

static inline uint8_t clamp8(int32_t v, uint32_t depth)
{
	if (depth > 8)
		v >>= depth - 8;
	else if (depth < 8)
		v <<= 8 - depth;
	return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

int ojph_bench_decode(const uint8_t *cs, size_t len, int reduce, uint32_t x, uint32_t y,
                      uint32_t w, uint32_t h, uint8_t *out, int *ncomp, int header_only,
                      char *err, size_t errlen)
{
	try {
		ojph::set_error_stream(quiet_stream());
		ojph::codestream c;
		ojph::mem_infile f;
		f.open(cs, len);
		c.read_headers(&f);
		if (header_only) {
			c.close();
			return 0;
		}
		c.restrict_input_resolution((ojph::ui32)reduce, (ojph::ui32)reduce);
		c.set_planar(false);
		c.create();
		ojph::param_siz siz = c.access_siz();
		ojph::ui32 nc = siz.get_num_components();
		ojph::ui32 keep = nc > 4 ? 4 : nc;
		if (siz.get_recon_width(0) < x + w || siz.get_recon_height(0) < y + h) {
			snprintf(err, errlen, "window beyond the level");
			c.close();
			return -1;
		}
		for (ojph::ui32 c0 = 1; c0 < keep; c0++) {
			ojph::point ds = siz.get_downsampling(c0);
			if (ds.x != 1 || ds.y != 1) {
				snprintf(err, errlen, "sub-sampled components are not handled here");
				c.close();
				return -1;
			}
		}
		for (uint32_t row = 0; row < y + h; row++) {
			for (ojph::ui32 k = 0; k < nc; k++) {
				ojph::ui32 comp = 0;
				ojph::line_buf *line = c.pull(comp);
				if (row < y || comp >= keep)
					continue;
				const int32_t *src = line->i32 + x;
				uint8_t *dst = out + (size_t)(row - y) * w * keep + comp;
				ojph::ui32 depth = siz.get_bit_depth(comp);
				for (uint32_t i = 0; i < w; i++) {
					/* unsigned samples come back DC-shifted
					 * already (G.1.2); signed ones are centred */
					int32_t v = src[i];
					if (siz.is_signed(comp))
						v += 1 << (depth - 1);
					dst[(size_t)i * keep] = clamp8(v, depth);
				}
			}
		}
		c.close();
		*ncomp = (int)keep;
		return 0;
	} catch (const std::exception &e) {
		snprintf(err, errlen, "%s", e.what());
		return -1;
	} catch (...) {
		snprintf(err, errlen, "unknown OpenJPH failure");
		return -1;
	}
}
