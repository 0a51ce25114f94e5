/*
 * probe.c - ts_media_probe (media.h): pick the container parser by the
 * published media type, check the magic bytes agree, and check what the
 * parser found before anyone publishes it.
 *
 * The one idea: every parser reads through one bounded reader
 * (ts_probe_read), which refuses ranges past the end of the file and counts
 * every byte asked for, so a file that lies about its boxes costs at most
 * TS_MEDIA_PROBE_MAX_READ bytes and a clear 500, never a long read or a
 * guess.  The parsers themselves (mp4.c, matroska.c, ogg.c, mp3.c, wav.c,
 * flac.c) never see the file descriptor.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "tessera/media.h"
#include "probe.h"

ts_status ts_probe_corrupt(struct ts_probe *p, const char *why)
{
	return ts_error_set(p->err, TS_EINTERNAL, "The %s file is corrupt or truncated: %s.",
	                    p->what, why);
}

ts_status ts_probe_read_some(struct ts_probe *p, uint64_t off, void *buf, size_t n,
                             size_t *got)
{
	uint64_t left;
	ts_status st;

	*got = 0;
	if (off >= p->size || n == 0)
		return TS_OK;
	left = p->size - off;
	if (n > left)
		n = (size_t)left;
	if (n > TS_MEDIA_PROBE_MAX_READ - p->used)
		return ts_error_set(p->err, TS_EINTERNAL,
		                    "The %s file's headers are larger than the %u MiB a probe reads; "
		                    "give the duration in the item's sidecar.",
		                    p->what, TS_MEDIA_PROBE_MAX_READ >> 20);
	p->used += n;
	st = p->rd->read(p->rd->ctx, off, buf, n, got, p->err);
	if (st != TS_OK)
		return st;
	if (*got > n)
		*got = n;
	return TS_OK;
}

ts_status ts_probe_read(struct ts_probe *p, uint64_t off, void *buf, size_t n)
{
	size_t got;
	ts_status st;

	if (off > p->size || n > p->size - off)
		return ts_probe_corrupt(p, "a header runs past the end of the file");
	st = ts_probe_read_some(p, off, buf, n, &got);
	if (st != TS_OK)
		return st;
	if (got < n)
		return ts_probe_corrupt(p, "the file ended before a header did");
	return TS_OK;
}

/* Does the start of the file look like what mime says? */
static bool magic_agrees(const char *kind, const unsigned char *b, size_t n)
{
	if (strcmp(kind, "mp3") == 0)
		return (n >= 3 && memcmp(b, "ID3", 3) == 0) ||
		       (n >= 2 && b[0] == 0xFF && (b[1] & 0xE0) == 0xE0);
	if (strcmp(kind, "mp4") == 0) {
		static const char *const first[] = { "ftyp", "moov", "mdat", "free", "skip",
		                                     "wide", "pnot" };
		if (n < 8)
			return false;
		for (size_t i = 0; i < sizeof first / sizeof first[0]; i++)
			if (memcmp(b + 4, first[i], 4) == 0)
				return true;
		return false;
	}
	if (strcmp(kind, "matroska") == 0)
		return n >= 4 && memcmp(b, "\x1A\x45\xDF\xA3", 4) == 0;
	if (strcmp(kind, "ogg") == 0)
		return n >= 4 && memcmp(b, "OggS", 4) == 0;
	if (strcmp(kind, "wav") == 0)
		return n >= 12 && (memcmp(b, "RIFF", 4) == 0 || memcmp(b, "RF64", 4) == 0) &&
		       memcmp(b + 8, "WAVE", 4) == 0;
	if (strcmp(kind, "flac") == 0)
		return n >= 4 && (memcmp(b, "fLaC", 4) == 0 || memcmp(b, "ID3", 3) == 0);
	return false;
}

/* The published media types we probe, and who parses each. */
static const struct {
	const char *mime;
	const char *what;   /* the name in messages */
	const char *kind;   /* the magic to check */
	ts_status (*parse)(struct ts_probe *, struct ts_media_info *);
} parsers[] = {
	{ "audio/mpeg", "MP3",  "mp3",      ts_probe_mp3 },
	{ "audio/mp4",  "MP4",  "mp4",      ts_probe_mp4 },
	{ "video/mp4",  "MP4",  "mp4",      ts_probe_mp4 },
	{ "video/webm", "WebM", "matroska", ts_probe_matroska },
	{ "audio/ogg",  "Ogg",  "ogg",      ts_probe_ogg },
	{ "video/ogg",  "Ogg",  "ogg",      ts_probe_ogg },
	{ "audio/wav",  "WAV",  "wav",      ts_probe_wav },
	{ "audio/flac", "FLAC", "flac",     ts_probe_flac },
};

ts_status ts_media_probe(const struct ts_media_reader *rd, const char *mime,
                         struct ts_media_info *out, struct ts_error *err)
{
	struct ts_probe p;
	struct ts_media_info info;
	unsigned char head[12];
	size_t i, got;
	ts_status st;

	memset(out, 0, sizeof *out);
	for (i = 0; i < sizeof parsers / sizeof parsers[0]; i++)
		if (mime && strcmp(mime, parsers[i].mime) == 0)
			break;
	if (i == sizeof parsers / sizeof parsers[0])
		return ts_error_set(err, TS_ENOTIMPL,
		                    "Finding the duration of %s files is not implemented.",
		                    mime ? mime : "untyped");

	memset(&p, 0, sizeof p);
	p.rd = rd, p.size = rd->size, p.what = parsers[i].what, p.err = err;
	st = ts_probe_read_some(&p, 0, head, sizeof head, &got);
	if (st != TS_OK)
		return st;
	if (!magic_agrees(parsers[i].kind, head, got))
		return ts_error_set(err, TS_EINTERNAL,
		                    "The file's extension says %s, but its contents are not.",
		                    parsers[i].mime);

	memset(&info, 0, sizeof info);
	st = parsers[i].parse(&p, &info);
	if (st != TS_OK)
		return st;

	if (!isfinite(info.duration) || info.duration <= 0)
		return ts_error_set(err, TS_EINTERNAL,
		                    "The %s file gives no duration; give the duration in the item's "
		                    "sidecar.", p.what);
	if (info.duration > TS_MEDIA_MAX_DURATION)
		return ts_error_set(err, TS_EINTERNAL,
		                    "The %s file claims a duration of over %.0f seconds, which is "
		                    "not believable.", p.what, TS_MEDIA_MAX_DURATION);
	if (info.has_video && (info.width == 0 || info.height == 0 ||
	                       info.width > 65535 || info.height > 65535))
		return ts_error_set(err, TS_EINTERNAL,
		                    "The %s file's video track has no believable frame size.",
		                    p.what);
	if (!info.has_video)
		info.width = info.height = 0;
	*out = info;
	return TS_OK;
}

/* The fd reader: pread, so the file offset is never moved and several
 * threads may probe one descriptor. */
struct fd_ctx {
	int fd;
};

static ts_status fd_read(void *ctx, uint64_t off, void *buf, size_t n, size_t *got,
                         struct ts_error *err)
{
	const struct fd_ctx *c = ctx;
	size_t done = 0;

	while (done < n) {
		ssize_t r = pread(c->fd, (unsigned char *)buf + done, n - done,
		                  (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ts_error_detail(err, "pread at %llu: %s", (unsigned long long)(off + done),
			                strerror(errno));
			return ts_error_set(err, TS_EINTERNAL, "The media file could not be read.");
		}
		if (r == 0)
			break;
		done += (size_t)r;
	}
	*got = done;
	return TS_OK;
}

ts_status ts_media_probe_fd(int fd, uint64_t size, const char *mime,
                            struct ts_media_info *out, struct ts_error *err)
{
	struct fd_ctx c = { fd };
	struct ts_media_reader rd = { fd_read, &c, size };

	if (size > (uint64_t)INT64_MAX)
		return ts_error_set(err, TS_EINTERNAL, "The media file is too large to probe.");
	return ts_media_probe(&rd, mime, out, err);
}
