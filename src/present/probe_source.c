/*
 * probe_source.c - how the Presentation builder measures files (present.h,
 * "probes"): an image's geometry through the resolver and the image
 * readers, a sound or video's duration and frame size through the AV
 * probes of src/probe/.  The daemon (serve/present.c) and the command
 * line (`tessera manifest`, cli/manifest.c) plug the same two functions
 * into their struct ts_present_ctx, so a Manifest printed by the command is
 * the Manifest the daemon answers, byte for byte.
 *
 * The one idea: a probe opens the file by its root-relative name through
 * the resolver (the image server's confinement rules) and then insists it
 * is the very file the catalogue listed (same device and inode), so a
 * symlink swapped between the folder's readdir and the open cannot lead a
 * probe out of the root or onto another file.  Results are kept in the
 * probe cache by file identity: a book of 2,000 pages is measured once.
 * A TIFF is measured from its IFDs by our own header reader
 * (probe/tiff_probe.c, a few small reads) and handed to libtiff only when
 * that reader is not certain of libtiff's answer: the geometry is the same
 * either way, and libtiff's per-directory setup was most of a cold book.
 */
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "tessera/present.h"
#include "tessera/probe_cache.h"
#include "tessera/resolve.h"
#include "tessera/tiff_probe.h"

/* The geometry of the TIFF open as fd, when it is the file st names and
 * our header reader is sure of it; false sends the caller to the readers.
 * Takes fd. */
static bool probe_tiff(int fd, const struct stat *st, const struct ts_source_limits *lim,
                       struct ts_source_info *out)
{
	struct ts_error e;
	struct stat fst;
	bool ok = false;

	if (fstat(fd, &fst) == 0 && S_ISREG(fst.st_mode) && fst.st_dev == st->st_dev &&
	    fst.st_ino == st->st_ino && fst.st_size == st->st_size &&
	    fst.st_mtim.tv_sec == st->st_mtim.tv_sec &&
	    fst.st_mtim.tv_nsec == st->st_mtim.tv_nsec) {
		ts_error_clear(&e);
		ok = ts_tiff_probe_fd(fd, (uint64_t)fst.st_size,
		                      lim ? lim->max_source_pixels : 0, out, &e) == TS_OK;
	}
	close(fd);
	return ok;
}

ts_status ts_present_probe_image(void *arg, const char *rel, const struct stat *st,
                                 struct ts_source_info *out, struct ts_error *err)
{
	const struct ts_present_probes *p = arg;
	struct ts_source *src = NULL;
	struct stat fst;
	char path[PATH_MAX];
	const struct ts_media_type *t;
	ts_status s;
	int fd;

	if (p->cache && ts_probe_cache_get_image(p->cache, st, out))
		return TS_OK;
	/* the common case in one openat2 and a few preads: a TIFF, opened
	 * beneath the root, that is still the very file the catalogue saw
	 * (identity, size and mtime, the probe cache's key) */
	fst = *st;
	t = ts_media_type_of(rel);
	fd = t && strcmp(t->mime, "image/tiff") == 0 ? ts_resolve_open(p->resolver, rel) : -1;
	if (fd >= 0 && probe_tiff(fd, st, p->limits, out))
		goto done;
	s = ts_resolve(p->resolver, rel, path, sizeof path, &fst, err);
	if (s)
		return s;
	if (fst.st_dev != st->st_dev || fst.st_ino != st->st_ino)
		return ts_error_set(err, TS_ENOTFOUND, "not found");   /* changed meanwhile */
	s = ts_source_open_as(path, &fst, p->limits, &src, err);
	if (s)
		return s;
	*out = src->info;
	out->icc = NULL;
	out->icc_len = 0;
	ts_source_close(src);
done:
	if (p->cache)
		ts_probe_cache_put_image(p->cache, &fst, out);
	return TS_OK;
}

ts_status ts_present_probe_media(void *arg, const char *rel, const struct stat *st,
                                 const char *mime, struct ts_media_info *out,
                                 struct ts_error *err)
{
	const struct ts_present_probes *p = arg;
	struct stat rst, fst;
	char path[PATH_MAX];
	ts_status s;
	int fd;

	if (p->cache && ts_probe_cache_get_media(p->cache, st, out))
		return TS_OK;
	s = ts_resolve(p->resolver, rel, path, sizeof path, &rst, err);
	if (s)
		return s;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ts_error_set(err, TS_ENOTFOUND, "not found");
	if (fstat(fd, &fst) != 0 || fst.st_dev != st->st_dev || fst.st_ino != st->st_ino) {
		close(fd);
		return ts_error_set(err, TS_ENOTFOUND, "not found");
	}
	s = ts_media_probe_fd(fd, (uint64_t)fst.st_size, mime, out, err);
	close(fd);
	if (s == TS_OK && p->cache)
		ts_probe_cache_put_media(p->cache, &fst, out);
	return s;
}
