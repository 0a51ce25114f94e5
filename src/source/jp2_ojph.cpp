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
 * OpenJPH reports errors through a process-wide handler that prints to
 * stderr and throws by default.  Ours (installed once) formats the message
 * and throws it without printing; this border catches everything, so no
 * C++ exception reaches C.  Info and warnings are dropped.  The encoder's
 * shim (src/convert/ojph_shim.cpp) installs handlers that behave the same.
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
#include <openjph/ojph_message.h>

/* jp2_pack.c (declared in jp2_internal.h, a C header): a row of planes
 * clamped to 0..255 and interleaved, SSE2 on x86-64. */
extern "C" void ts_jp2_pack_row(const int32_t *const *src, int n, uint8_t *dst, uint32_t w);
#include <openjph/ojph_params.h>

#include "jp2_ojph.h"

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
		char text[200];
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
	/* OpenJPH 0.9's block decoder still prints its warnings to the
	 * warning stream after configure_warning (and a null stream crashes
	 * it): the streams go to /dev/null, opened once per process */
	static FILE *devnull = fopen("/dev/null", "w");
	if (devnull) {
		ojph::set_info_stream(devnull);
		ojph::set_warning_stream(devnull);
		ojph::set_error_stream(devnull);
	}
	ojph::configure_info(&the_info);
	ojph::configure_warning(&the_warning);
	ojph::configure_error(&the_error);
}

void put_message(char *msg, size_t msg_len, const char *text)
{
	if (msg && msg_len)
		snprintf(msg, msg_len, "%s", text);
}

} // namespace

extern "C" int ts_jp2_ojph_decode(const unsigned char *cs, size_t len, int reduce, uint32_t w,
                                  uint32_t h, int channels, uint8_t *out, size_t stride,
                                  char *msg, size_t msg_len)
{
	std::call_once(configured, configure_messages);
	if (channels != 1 && channels != 3) {
		put_message(msg, msg_len, "1 or 3 components only");
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
	} catch (const std::bad_alloc &) {
		put_message(msg, msg_len, "out of memory");
	} catch (const std::exception &e) {
		put_message(msg, msg_len, e.what());
	} catch (...) {
		put_message(msg, msg_len, "unknown OpenJPH failure");
	}
	return -1;
}
