/*
 * ojph_messages.cpp - OpenJPH's message handlers, set once per process
 * (contract in ojph_messages.h).
 *
 * The one idea: a message is either noise (info, warnings: dropped) or a
 * failure (an error: its text thrown as std::runtime_error), never a line
 * on our stderr.  OpenJPH 0.9's block decoder still prints some warnings to
 * the warning stream after configure_warning (and a null stream crashes
 * it), so its streams also go to /dev/null, opened once.
 */
#include <cstdarg>
#include <cstdio>
#include <exception>
#include <mutex>
#include <new>
#include <stdexcept>

#include <openjph/ojph_arch.h>
#include <openjph/ojph_message.h>

#include "ojph_messages.h"

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

void configure()
{
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

} // namespace

void ts_ojph_configure_messages()
{
	std::call_once(configured, configure);
}

void ts_ojph_put_message(char *msg, std::size_t msg_len, const char *text)
{
	if (msg && msg_len)
		snprintf(msg, msg_len, "%s", text);
}

void ts_ojph_put_failure(char *msg, std::size_t msg_len)
{
	try {
		throw;
	} catch (const std::bad_alloc &) {
		ts_ojph_put_message(msg, msg_len, "out of memory");
	} catch (const std::exception &e) {
		ts_ojph_put_message(msg, msg_len, e.what());
	} catch (...) {
		ts_ojph_put_message(msg, msg_len, "unknown OpenJPH failure");
	}
}
