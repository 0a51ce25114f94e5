/*
 * ojph_shim.cpp - one code-stream tile as a one-tile HTJ2K codestream,
 * through OpenJPH's C++ encoder, behind a C interface (ojph_shim.h) for
 * the HTJ2K sink (sink_htj2k.c).
 *
 * The one idea: the codestream's image and tile offsets are the tile's own
 * origin, so the tile-part it holds is the one the whole image would hold
 * (ojph_shim.h); the sink cuts it out and writes the main header itself.
 *
 * OpenJPH reports errors through a process-wide handler that, by default,
 * prints to stderr and throws.  Ours formats the message and throws it
 * without printing; every entry point catches it at this border and hands
 * back our -1 with the text, so no C++ exception reaches C.  Its info and
 * warning messages are dropped (the tool prints nothing the user did not
 * ask for).
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

namespace {

class quiet_info : public ojph::message_info {
public:
	void operator()(int, const char *, int, const char *, ...) override {}
};

class quiet_warning : public ojph::message_warning {
public:
	void operator()(int, const char *, int, const char *, ...) override {}
};

/* Throws the formatted message instead of printing it. */
class throwing_error : public ojph::message_error {
public:
	void operator()(int code, const char *, int, const char *fmt, ...) override
	{
		char text[256];
		va_list ap;
		int n;

		n = snprintf(text, sizeof text, "0x%08x: ", (unsigned)code);
		va_start(ap, fmt);
		if (n > 0 && (size_t)n < sizeof text)
			vsnprintf(text + n, sizeof text - (size_t)n, fmt, ap);
		va_end(ap);
		throw std::runtime_error(text);
	}
};

quiet_info the_info;
quiet_warning the_warning;
throwing_error the_error;
std::once_flag configured;

void configure_messages()
{
	ojph::configure_info(&the_info);
	ojph::configure_warning(&the_warning);
	ojph::configure_error(&the_error);
}

void put_message(char *msg, size_t msg_len, const char *text)
{
	if (msg && msg_len)
		snprintf(msg, msg_len, "%s", text);
}

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
	std::call_once(configured, configure_messages);
	if (t->channels < 1 || t->channels > 4 || t->width == 0 || t->height == 0 ||
	    t->decompositions < 0 || t->decompositions > 32 ||
	    (uint64_t)t->x0 + t->width > UINT32_MAX || (uint64_t)t->y0 + t->height > UINT32_MAX) {
		put_message(msg, msg_len, "invalid tile parameters");
		return -1;
	}
	if (t->precinct && log2_exact(t->precinct) < 2) {
		put_message(msg, msg_len, "precinct size must be a power of two");
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
	} catch (const std::bad_alloc &) {
		put_message(msg, msg_len, "out of memory");
	} catch (const std::exception &e) {
		put_message(msg, msg_len, e.what());
	} catch (...) {
		put_message(msg, msg_len, "unknown OpenJPH failure");
	}
	return -1;
}
