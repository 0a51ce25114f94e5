/*
 * tiff_read.c - the tiled, pyramidal TIFF reader (libtiff), behind
 * struct ts_source_ops: open and close, libtiff's messages, selecting a
 * level's directory, and the checks every read starts with.  The work is
 * in the files tiff_internal.h lists: tiff_levels.c finds the levels,
 * tiff_pixels.c reads regions, tiff_scaled.c the JPEG levels at reduced
 * scale, tiff_raw.c the stored tiles for pass-through.
 *
 * At open we walk the file once (tiff_levels.c): IFD0 is full resolution,
 * and every later top-level IFD and every SubIFD of IFD0 that looks like a
 * reduced copy of it becomes a pyramid level.  Each level remembers its
 * directory offset, so selecting it later is one TIFFSetSubDirectory
 * whether it came from the main chain or a SubIFD.
 *
 * The one idea: libtiff's errors are caught at the border.  Each TIFF
 * handle gets its own error and warning handlers (TIFFOpenOptions, libtiff
 * >= 4.5) whose user_data is this source, so concurrent sources in
 * different threads never share a message buffer, and the process-wide
 * handlers are silenced once so nothing reaches stderr.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <tiffio.h>
#include "tessera/icc.h"
#include "tessera/source.h"
#include "tiff_internal.h"
#include "tiff_io.h"

/* libtiff's own largest allocation (raw strips, tag arrays). */
#define MAX_LIBTIFF_ALLOC ((tmsize_t)512 << 20)

/* ---- libtiff's messages, caught per handle ---- */

static void note_message(struct tiff_source *s, const char *module, const char *fmt,
                         va_list ap)
{
	char text[200];
	int n;

	if (s->libmsg[0])
		return;     /* the first message is closest to the cause */
	/* fmt is libtiff's own format string, never request text. */
	n = vsnprintf(text, sizeof text, fmt, ap);
	if (n < 0)
		text[0] = '\0';
	snprintf(s->libmsg, sizeof s->libmsg, "%s: %s", module ? module : "libtiff", text);
}

static int on_tiff_error(TIFF *tif, void *user, const char *module, const char *fmt,
                         va_list ap)
{
	(void)tif;
	if (user)
		note_message(user, module, fmt, ap);
	return 1;   /* handled: do not call the global handlers */
}

static int on_tiff_warning(TIFF *tif, void *user, const char *module, const char *fmt,
                           va_list ap)
{
	struct tiff_source *s = user;

	(void)tif;
	/* Warnings while reading directories (unknown tags...) are harmless.
	 * During a decode they matter: libjpeg only warns about corrupt or
	 * truncated data and fills the rest with grey. */
	if (s && s->decoding) {
		s->decode_warned = true;
		note_message(s, module, fmt, ap);
	}
	return 1;
}

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static void quiet_global_handlers(void)
{
	/* Our handlers return 1 so these are not reached; silencing them
	 * also covers anything libtiff reports before a handle exists. */
	TIFFSetErrorHandler(NULL);
	TIFFSetWarningHandler(NULL);
}

ts_status ts_tiff_libtiff_failure(struct tiff_source *s, struct ts_error *err,
                                  const char *public_msg, const char *what)
{
	ts_error_set(err, TS_EINTERNAL, "%s", public_msg);
	ts_error_detail(err, "%s: %s: %s", s->path ? s->path : "?", what,
	                s->libmsg[0] ? s->libmsg : "libtiff failed");
	return TS_EINTERNAL;
}

/* ---- failures every part reports ---- */

ts_status ts_tiff_corrupt_unit(struct tiff_source *s, struct ts_error *err, int level,
                               const char *what, uint32_t index)
{
	ts_error_set(err, TS_EINTERNAL, "corrupt tile");
	ts_error_detail(err, "%s: level %d %s %u: %s", s->path, level, what, index,
	                s->libmsg[0] ? s->libmsg : "short or undecodable data");
	return TS_EINTERNAL;
}

ts_status ts_tiff_over_budget(struct ts_error *err, uint64_t pixels, uint64_t budget)
{
	ts_error_set(err, TS_EFORBIDDEN,
	             "request needs %llu source pixels, more than the limit of %llu",
	             (unsigned long long)pixels, (unsigned long long)budget);
	return TS_EFORBIDDEN;
}

ts_status ts_tiff_check_level(const struct tiff_source *s, int level, struct ts_error *err)
{
	if (level < 0 || level >= s->base.info.nlevels)
		return ts_error_set(err, TS_EINTERNAL, "internal: no such level");
	return TS_OK;
}

ts_status ts_tiff_check_region(const struct tiff_source *s, int level, uint32_t x, uint32_t y,
                               uint32_t w, uint32_t h, const struct tiff_level **lv,
                               struct ts_error *err)
{
	const struct tiff_level *l;

	if (ts_tiff_check_level(s, level, err) != TS_OK)
		return TS_EINTERNAL;
	l = &s->levels[level];
	if (w == 0 || h == 0 || x >= l->width || y >= l->height ||
	    w > l->width - x || h > l->height - y)
		return ts_error_set(err, TS_EINTERNAL, "internal: region outside level");
	*lv = l;
	return TS_OK;
}

/* ---- sniffing ---- */

static bool tiff_sniff(const unsigned char *h, size_t n)
{
	if (n < 4)
		return false;
	/* Classic TIFF is version 42, BigTIFF 43, in either byte order. */
	if (h[0] == 'I' && h[1] == 'I')
		return (h[2] == 42 || h[2] == 43) && h[3] == 0;
	if (h[0] == 'M' && h[1] == 'M')
		return h[2] == 0 && (h[3] == 42 || h[3] == 43);
	return false;
}

/* ---- open / close ---- */

static void tiff_close(struct ts_source *base)
{
	struct tiff_source *s = (struct tiff_source *)base;

	if (!s)
		return;
	if (s->tif)
		TIFFClose(s->tif);      /* closes the descriptor too */
	else if (s->fd >= 0)
		close(s->fd);
	for (int i = 0; i < TS_MAX_LEVELS; i++) {
		free(s->levels[i].tile_off);
		free(s->levels[i].tile_len);
		free(s->levels[i].jpeg_tables);
	}
	free(s->buf);
	free(s->path);
	free((void *)s->base.info.icc);
	free(s);
}

static ts_status tiff_open(int fd, const char *path, const struct ts_source_limits *lim,
                           struct ts_source **out, struct ts_error *err)
{
	struct tiff_source *s;
	TIFFOpenOptions *opts = NULL;
	uint32_t icc_len = 0;
	void *icc = NULL;
	ts_status status;

	*out = NULL;
	pthread_once(&quiet_once, quiet_global_handlers);
	s = calloc(1, sizeof *s);
	if (!s) {
		close(fd);
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	}
	s->base.ops = &ts_tiff_source_ops;
	s->fd = fd;
	s->cur_level = -1;
	s->path = strdup(path ? path : "");
	if (!s->path) {
		status = ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto fail;
	}

	opts = TIFFOpenOptionsAlloc();
	if (!opts) {
		status = ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto fail;
	}
	TIFFOpenOptionsSetMaxSingleMemAlloc(opts, MAX_LIBTIFF_ALLOC);
	TIFFOpenOptionsSetErrorHandlerExtR(opts, on_tiff_error, s);
	TIFFOpenOptionsSetWarningHandlerExtR(opts, on_tiff_warning, s);
	/* "m": no memory mapping (files can be tens of gigabytes and we read
	 * a few tiles); "O": load tile/strip offsets on demand, so a header
	 * declaring millions of strips opens without reading them all.  The
	 * buffered procedures of tiff_io.c make the directory walk a few
	 * preads instead of a hundred seeks and reads. */
	s->tif = ts_tiff_io_open(fd, s->path, "rmO", opts);
	TIFFOpenOptionsFree(opts);
	if (!s->tif) {
		status = ts_tiff_libtiff_failure(s, err, "cannot read image", "open");
		goto fail;
	}
	s->fd = -1;     /* TIFFClose closes it from now on */

	/* IFD0's ICC profile (TIFF tag 34675), copied: libtiff frees it when
	 * the level walk below changes directory.  An unusable one is dropped. */
	if (TIFFGetField(s->tif, TIFFTAG_ICCPROFILE, &icc_len, &icc) && icc) {
		s->base.info.icc = ts_icc_dup(icc, icc_len);
		s->base.info.icc_len = s->base.info.icc ? icc_len : 0;
	}

	status = ts_tiff_discover_levels(s, lim, err);
	if (status != TS_OK)
		goto fail;
	*out = &s->base;
	return TS_OK;
fail:
	tiff_close(&s->base);
	return status;
}

/* ---- the level being read ---- */

ts_status ts_tiff_select_level(struct tiff_source *s, int level, struct ts_error *err)
{
	const struct tiff_level *lv = &s->levels[level];
	uint32_t w = 0, h = 0;

	if (s->cur_level == level)
		return TS_OK;
	s->cur_level = -1;
	s->libmsg[0] = '\0';
	if (!TIFFSetSubDirectory(s->tif, lv->diroff))
		return ts_tiff_libtiff_failure(s, err, "cannot read image", "select directory");
	if (lv->jpeg_rgb && !TIFFSetField(s->tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB))
		return ts_tiff_libtiff_failure(s, err, "cannot read image", "JPEG colour mode");
	/* The same offset must give the same directory we described at open. */
	if (!TIFFGetField(s->tif, TIFFTAG_IMAGEWIDTH, &w) ||
	    !TIFFGetField(s->tif, TIFFTAG_IMAGELENGTH, &h) ||
	    w != lv->width || h != lv->height)
		return ts_tiff_libtiff_failure(s, err, "cannot read image", "directory changed");
	s->cur_level = level;
	return TS_OK;
}

const struct ts_source_ops ts_tiff_source_ops = {
	.name = "tiff",
	.sniff = tiff_sniff,
	.open = tiff_open,
	.read_region = ts_tiff_read_region,
	.close = tiff_close,
	.raw_tile = ts_tiff_raw_tile,
	.read_region_scaled = ts_tiff_read_region_scaled,
	.level_tiles = ts_tiff_level_tiles,
};
