/*
 * tree.c - the pieces the static tile-tree sinks share: the band cutter,
 * the threaded tile writer and the staging folder (see tree.h).
 *
 * The one idea: a level is never held whole.  Its rows pass through a
 * buffer of one tile row plus overlap (tile + 2*overlap rows); each tile
 * row is cut into tiles the moment its last row arrives, the tiles are
 * encoded straight from that buffer (an image view with the band's
 * stride, no copy), and only the rows the next tile row shares (the
 * overlap) are kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tessera/buf.h"
#include "tessera/checked.h"
#include "tessera/encoder.h"
#include "tree.h"

/* ---- band cutter ---------------------------------------------------------- */

void ts_tree_axis(uint32_t t, uint32_t size, uint32_t tile, uint32_t overlap, uint32_t *a0,
                  uint32_t *a1)
{
	uint64_t start = (uint64_t)t * tile, end = ((uint64_t)t + 1) * tile + overlap;

	if (t > 0)
		start -= overlap < start ? overlap : start;
	if (end > size)
		end = size;
	*a0 = (uint32_t)start;
	*a1 = (uint32_t)end;
}

ts_status ts_tree_band_init(struct ts_tree_band *b, int level, uint32_t width, uint32_t height,
                            int channels, uint32_t tile, uint32_t overlap, struct ts_error *err)
{
	size_t stride, bytes;

	memset(b, 0, sizeof *b);
	if (width == 0 || height == 0 || tile == 0 || channels < 1 || channels > 4)
		return ts_error_set(err, TS_EINTERNAL, "invalid tile tree geometry");
	b->level = level;
	b->width = width;
	b->height = height;
	b->channels = channels;
	b->tile = tile;
	b->overlap = overlap;
	/* a tile row and the overlap on both sides, never more than the level */
	b->cap_rows = (uint64_t)tile + 2 * (uint64_t)overlap < height
	              ? tile + 2 * overlap : height;
	if (!ts_mul_size(width, (size_t)channels, &stride) ||
	    !ts_mul_size(stride, b->cap_rows, &bytes))
		return ts_error_set(err, TS_EINTERNAL, "tile band too large");
	b->buf = malloc(bytes ? bytes : 1);
	if (!b->buf)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	b->stride = stride;
	return TS_OK;
}

void ts_tree_band_free(struct ts_tree_band *b)
{
	if (!b)
		return;
	free(b->buf);
	b->buf = NULL;
}

/* Emit every tile row whose rows are all held, then drop the rows no later
 * tile row needs. */
static ts_status drain(struct ts_tree_band *b, ts_tree_emit_fn *emit, void *arg,
                       struct ts_error *err)
{
	while (!b->done) {
		uint32_t y0, y1, keep0, drop;
		ts_status st;

		ts_tree_axis(b->trow, b->height, b->tile, b->overlap, &y0, &y1);
		if (b->buf_y0 + b->have < y1)
			return TS_OK;
		st = emit(arg, b->level, b->trow, y0, y1, b->buf + (size_t)(y0 - b->buf_y0) * b->stride,
		          b->stride, err);
		if (st)
			return st;
		b->trow++;
		if (b->trow >= ts_tree_ntiles(b->height, b->tile)) {
			b->done = true;
			b->have = 0;
			return TS_OK;
		}
		/* the next tile row starts `overlap` rows above its own edge */
		ts_tree_axis(b->trow, b->height, b->tile, b->overlap, &keep0, &y1);
		drop = keep0 - b->buf_y0;
		if (drop > b->have)
			drop = b->have;
		memmove(b->buf, b->buf + (size_t)drop * b->stride, (size_t)(b->have - drop) * b->stride);
		b->have -= drop;
		b->buf_y0 += drop;
	}
	return TS_OK;
}

ts_status ts_tree_band_push(struct ts_tree_band *b, uint32_t y, const struct ts_image *band,
                            ts_tree_emit_fn *emit, void *arg, struct ts_error *err)
{
	size_t row_bytes = b->stride;

	if (y != b->next_y || band->channels != b->channels || band->width < b->width)
		return ts_error_set(err, TS_EINTERNAL, "pyramid rows out of order");
	b->next_y = y + band->height;
	for (uint32_t i = 0; i < band->height; i++) {
		uint32_t ly = y + i;
		ts_status st;

		if (b->done || ly >= b->height)
			break;   /* below what the tree keeps (a cropped Zoomify tier) */
		if (ly != b->buf_y0 + b->have || b->have >= b->cap_rows)
			return ts_error_set(err, TS_EINTERNAL, "pyramid rows out of order");
		memcpy(b->buf + (size_t)b->have * b->stride, band->pixels + (size_t)i * band->stride,
		       row_bytes);
		b->have++;
		st = drain(b, emit, arg, err);
		if (st)
			return st;
	}
	return TS_OK;
}

/* ---- tile writer ------------------------------------------------------------ */

struct writer {
	const struct ts_tree_format *fmt;
	struct ts_tree_tile *tiles;
	size_t n;
	atomic_size_t next;
	atomic_int failed;
	pthread_mutex_t lock;
	struct ts_error err;     /* the first failure, under lock */
};

static ts_status write_one(const struct ts_tree_format *fmt, struct ts_tree_tile *t,
                           struct ts_buf *out, struct ts_error *err)
{
	char path[4096];
	ts_status st;

	ts_buf_clear(out);
	if (fmt->png)
		st = ts_png_write(&t->view, 6, NULL, 0, out, err);
	else
		st = ts_jpeg_write(&t->view, fmt->quality, NULL, 0, out, err);
	if (st)
		return st;
	if ((size_t)snprintf(path, sizeof path, "%s/%s", fmt->root, t->path) >= sizeof path)
		return ts_error_set(err, TS_EINTERNAL, "output path too long");
	st = ts_tree_write_file(path, out->data, out->len, err);
	for (int i = 0; !st && i < t->naliases; i++)
		st = ts_tree_alias(fmt->root, t->path, t->alias[i], err);
	return st;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct ts_buf out = TS_BUF_INIT;

	for (;;) {
		size_t i = atomic_fetch_add(&w->next, 1);
		struct ts_error e;
		ts_status st;

		if (i >= w->n || atomic_load(&w->failed))
			break;
		ts_error_clear(&e);
		st = write_one(w->fmt, &w->tiles[i], &out, &e);
		if (st) {
			pthread_mutex_lock(&w->lock);
			if (!atomic_load(&w->failed))
				w->err = e;
			atomic_store(&w->failed, 1);
			pthread_mutex_unlock(&w->lock);
			break;
		}
	}
	ts_buf_free(&out);
	return NULL;
}

ts_status ts_tree_write_tiles(const struct ts_tree_format *fmt, struct ts_tree_tile *tiles,
                              size_t n, struct ts_error *err)
{
	struct writer w;
	pthread_t th[64];
	int nth = fmt->threads, started = 0;

	if (n == 0)
		return TS_OK;
	if (nth > 64)
		nth = 64;
	if ((size_t)nth > n)
		nth = (int)n;
	memset(&w, 0, sizeof w);
	w.fmt = fmt;
	w.tiles = tiles;
	w.n = n;
	atomic_init(&w.next, 0);
	atomic_init(&w.failed, 0);
	pthread_mutex_init(&w.lock, NULL);
	/* the calling thread is one of the workers */
	for (int i = 1; i < nth; i++) {
		if (pthread_create(&th[started], NULL, writer_main, &w) != 0)
			break;
		started++;
	}
	writer_main(&w);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&w.lock);
	if (atomic_load(&w.failed)) {
		ts_error_set(err, w.err.status ? w.err.status : TS_EINTERNAL, "%s", w.err.msg);
		ts_error_detail(err, "%s", w.err.detail);
		return w.err.status ? w.err.status : TS_EINTERNAL;
	}
	return TS_OK;
}

int ts_tree_threads(const struct ts_convert_opts *o)
{
	long n = o && o->threads > 0 ? o->threads : sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : (n > 64 ? 64 : (int)n);
}

void ts_tree_format_init(struct ts_tree_format *fmt, const struct ts_convert_opts *o)
{
	fmt->png = o->compression == TS_COMP_PNG;
	fmt->quality = o->quality >= 1 && o->quality <= 100 ? o->quality : 85;
	fmt->threads = ts_tree_threads(o);
}

ts_status ts_tree_tiles_alloc(const struct ts_tree_band *bands, int n, struct ts_tree_tile **tiles,
                              struct ts_error *err)
{
	uint32_t widest = 1;

	for (int k = 0; k < n; k++)
		if (ts_tree_ntiles(bands[k].width, bands[k].tile) > widest)
			widest = ts_tree_ntiles(bands[k].width, bands[k].tile);
	*tiles = calloc(widest, sizeof **tiles);
	if (!*tiles)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	return TS_OK;
}

void ts_tree_tile_view(struct ts_tree_tile *t, const struct ts_tree_band *b, const uint8_t *rows,
                       size_t stride, uint32_t x0, uint32_t x1, uint32_t y0, uint32_t y1)
{
	t->view.width = x1 - x0;
	t->view.height = y1 - y0;
	t->view.channels = b->channels;
	t->view.stride = stride;
	t->view.pixels = (uint8_t *)rows + (size_t)x0 * (size_t)b->channels;
}

/* ---- staging ------------------------------------------------------------------ */

ts_status ts_tree_stage_create(const char *final, char **stage, struct ts_error *err)
{
	size_t n = strlen(final);
	char *s = malloc(n + 16);

	*stage = NULL;
	if (!s)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	memcpy(s, final, n);
	/* no trailing slash before the suffix: the temporary name is a sibling */
	while (n > 1 && s[n - 1] == '/')
		n--;
	memcpy(s + n, ".tmp-XXXXXX", 12);
	if (!mkdtemp(s)) {
		ts_error_set(err, TS_EINTERNAL, "could not create the output folder");
		ts_error_detail(err, "%s: %s", s, strerror(errno));
		free(s);
		return TS_EINTERNAL;
	}
	/* mkdtemp makes it 0700; a tree is published for a web server to read */
	chmod(s, 0755);
	*stage = s;
	return TS_OK;
}

ts_status ts_tree_mkdirs(const char *root, const char *rel, struct ts_error *err)
{
	char path[4096];
	size_t rn = strlen(root);

	if ((size_t)snprintf(path, sizeof path, "%s/%s", root, rel) >= sizeof path)
		return ts_error_set(err, TS_EINTERNAL, "output path too long");
	for (char *p = path + rn + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(path, 0755) != 0 && errno != EEXIST) {
				ts_error_set(err, TS_EINTERNAL, "could not create an output folder");
				ts_error_detail(err, "%s: %s", path, strerror(errno));
				return TS_EINTERNAL;
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
	return TS_OK;
}

ts_status ts_tree_write_file(const char *path, const void *data, size_t len,
                             struct ts_error *err)
{
	const unsigned char *p = data;
	int fd;

	/* a fresh file, never through an existing hard link (ts_tree_alias) */
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		goto fail;
	while (len > 0) {
		ssize_t k = write(fd, p, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			goto fail;
		p += k;
		len -= (size_t)k;
	}
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	return TS_OK;
fail:
	ts_error_set(err, TS_EINTERNAL, "could not write the output");
	ts_error_detail(err, "%s: %s", path, strerror(errno ? errno : EIO));
	if (fd >= 0)
		close(fd);
	return TS_EINTERNAL;
}

ts_status ts_tree_alias(const char *root, const char *path, const char *alias,
                        struct ts_error *err)
{
	char from[4096], to[4096];
	FILE *fp;
	char buf[65536];
	size_t n;
	int fd;

	if ((size_t)snprintf(from, sizeof from, "%s/%s", root, path) >= sizeof from ||
	    (size_t)snprintf(to, sizeof to, "%s/%s", root, alias) >= sizeof to)
		return ts_error_set(err, TS_EINTERNAL, "output path too long");
	/* A name can come twice: the last 1x1 tile of a level and of the level
	 * below have the same IIIF URL (the same source pixel).  Replace the
	 * name, never write through it: it may be a link to `from` itself. */
	if (link(from, to) == 0)
		return TS_OK;
	if (errno == EEXIST && unlink(to) == 0 && link(from, to) == 0)
		return TS_OK;
	/* a file system without hard links: copy */
	fp = fopen(from, "rb");
	fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (!fp || fd < 0)
		goto fail;
	while ((n = fread(buf, 1, sizeof buf, fp)) > 0)
		if (write(fd, buf, n) != (ssize_t)n)
			goto fail;
	fclose(fp);
	if (close(fd) != 0) {
		fd = -1;
		fp = NULL;
		goto fail;
	}
	return TS_OK;
fail:
	ts_error_set(err, TS_EINTERNAL, "could not write the output");
	ts_error_detail(err, "%s: %s", to, strerror(errno));
	if (fp)
		fclose(fp);
	if (fd >= 0)
		close(fd);
	return TS_EINTERNAL;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void ts_tree_remove(const char *path)
{
	if (path && path[0])
		nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void ts_tree_stage_drop(char **stage)
{
	ts_tree_remove(*stage);
	free(*stage);
	*stage = NULL;
}

void ts_tree_bands_free(struct ts_tree_band *bands, int n)
{
	for (int k = 0; k < n; k++)
		ts_tree_band_free(&bands[k]);
}

ts_status ts_tree_bands_done(const struct ts_tree_band *bands, int n, struct ts_error *err)
{
	for (int k = 0; k < n; k++)
		if (!bands[k].done)
			return ts_error_set(err, TS_EINTERNAL, "the pyramid ended before its last row");
	return TS_OK;
}

ts_status ts_tree_replace(const char *from, const char *to, struct ts_error *err)
{
	struct stat sb;
	char *old = NULL;

	if (lstat(to, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		/* rename() cannot replace a non-empty folder: move it aside first
		 * (a file is replaced by rename() itself, atomically) */
		size_t n = strlen(to);
		old = malloc(n + 16);
		if (!old)
			return ts_error_set(err, TS_EINTERNAL, "out of memory");
		memcpy(old, to, n);
		memcpy(old + n, ".old-XXXXXX", 12);
		if (!mkdtemp(old) || rename(to, old) != 0) {
			ts_error_set(err, TS_EINTERNAL, "could not replace the existing output");
			ts_error_detail(err, "%s: %s", to, strerror(errno));
			if (old[0])
				rmdir(old);
			free(old);
			return TS_EINTERNAL;
		}
	}
	if (rename(from, to) != 0) {
		ts_error_set(err, TS_EINTERNAL, "could not rename the output into place");
		ts_error_detail(err, "%s: %s", to, strerror(errno));
		if (old)
			rename(old, to);
		free(old);
		return TS_EINTERNAL;
	}
	ts_tree_remove(old);
	free(old);
	return TS_OK;
}
