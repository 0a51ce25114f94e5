/*
 * ojph_messages.h - OpenJPH's process-wide message handlers set once for
 * Tessera (C++ only: for the decoder, src/source/jp2_ojph.cpp, and the
 * converter's encoder, src/convert/ojph_shim.cpp).
 *
 * OpenJPH reports through handlers that by default print to stderr and
 * throw.  After ts_ojph_configure_messages, info and warnings are dropped
 * and an error throws std::runtime_error carrying the formatted message,
 * without printing: each entry point catches it at its C border.
 */
#ifndef TESSERA_OJPH_MESSAGES_H
#define TESSERA_OJPH_MESSAGES_H

#include <cstddef>

/* Install the handlers; safe to call from any thread, any number of times
 * (the first call does it). */
void ts_ojph_configure_messages();

/* Copy text into msg (msg_len bytes, always terminated); NULL msg: nothing. */
void ts_ojph_put_message(char *msg, std::size_t msg_len, const char *text);

/* Inside a catch handler only: the exception being handled put into msg as
 * ts_ojph_put_message does ("out of memory", an error's text, or "unknown
 * OpenJPH failure").  Each C border ends with catch (...) calling this. */
void ts_ojph_put_failure(char *msg, std::size_t msg_len);

#endif
