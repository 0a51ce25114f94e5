/*
 * tiff_io.c - libtiff's read, seek, size and close procedures over one
 * descriptor with a read-ahead block (tiff_io.h).
 *
 * The one idea: libtiff's position lives here, not in the kernel.  A seek
 * sets it; a read shorter than the block is copied from the block when it
 * lies inside, else the block is refilled by one pread at the position; a
 * read as long as the block or longer is one pread (looped on short
 * counts) straight into libtiff's buffer.  Nothing is ever written, and no
 * memory mapping is used (a file truncated under a mapping would kill the
 * process with SIGBUS).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tiff_io.h"

#define BLOCK 16384

struct tiff_io {
	int fd;
	uint64_t pos;        /* libtiff's file position */
	uint64_t size;       /* the file's size at open */
	uint64_t block_off;  /* file offset of block[0] */
	size_t block_len;    /* valid bytes in block; 0 = empty */
	unsigned char block[BLOCK];
};

/* pread len bytes at off, looping on short reads and EINTR; the count read
 * (short only at the end of the file), or -1. */
static ssize_t read_at(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static tmsize_t io_read(thandle_t h, void *buf, tmsize_t size)
{
	struct tiff_io *io = h;
	size_t n, have;
	ssize_t r;

	if (size <= 0)
		return 0;
	n = (size_t)size;
	if (n >= BLOCK) {
		r = read_at(io->fd, buf, n, io->pos);
		if (r > 0)
			io->pos += (uint64_t)r;
		return (tmsize_t)r;
	}
	if (io->pos < io->block_off || io->pos - io->block_off >= io->block_len ||
	    io->block_len - (io->pos - io->block_off) < n) {
		/* not (wholly) in the block: refill it from the position */
		r = read_at(io->fd, io->block, BLOCK, io->pos);
		if (r < 0) {
			io->block_len = 0;
			return -1;
		}
		io->block_off = io->pos;
		io->block_len = (size_t)r;
	}
	have = io->block_len - (size_t)(io->pos - io->block_off);
	if (n > have)
		n = have;   /* the end of the file */
	memcpy(buf, io->block + (io->pos - io->block_off), n);
	io->pos += n;
	return (tmsize_t)n;
}

static tmsize_t io_write(thandle_t h, void *buf, tmsize_t size)
{
	(void)h;
	(void)buf;
	(void)size;
	errno = EBADF;
	return -1;   /* read-only */
}

static toff_t io_seek(thandle_t h, toff_t off, int whence)
{
	struct tiff_io *io = h;
	int64_t delta = (int64_t)off;   /* toff_t is unsigned; SEEK_CUR/END may go back */
	uint64_t base;

	switch (whence) {
	case SEEK_SET:
		if (off > (uint64_t)INT64_MAX)
			goto bad;
		io->pos = off;
		return io->pos;
	case SEEK_CUR: base = io->pos; break;
	case SEEK_END: base = io->size; break;
	default: goto bad;
	}
	if (delta < 0 ? (uint64_t)-(delta + 1) + 1 > base : (uint64_t)delta > (uint64_t)INT64_MAX - base)
		goto bad;
	io->pos = delta < 0 ? base - ((uint64_t)-(delta + 1) + 1) : base + (uint64_t)delta;
	return io->pos;
bad:
	errno = EINVAL;
	return (toff_t)-1;
}

static int io_close(thandle_t h)
{
	struct tiff_io *io = h;
	int r = close(io->fd);

	free(io);
	return r;
}

static toff_t io_size(thandle_t h)
{
	return ((struct tiff_io *)h)->size;
}

static int io_map(thandle_t h, void **base, toff_t *size)
{
	(void)h;
	(void)base;
	(void)size;
	return 0;   /* never mapped */
}

static void io_unmap(thandle_t h, void *base, toff_t size)
{
	(void)h;
	(void)base;
	(void)size;
}

TIFF *ts_tiff_io_open(int fd, const char *name, const char *mode, TIFFOpenOptions *opts)
{
	struct tiff_io *io;
	struct stat st;
	TIFF *tif;

	if (fstat(fd, &st) != 0 || st.st_size < 0)
		return NULL;
	io = calloc(1, sizeof *io);
	if (!io)
		return NULL;
	io->fd = fd;
	io->size = (uint64_t)st.st_size;
	tif = TIFFClientOpenExt(name, mode, io, io_read, io_write, io_seek, io_close, io_size,
	                        io_map, io_unmap, opts);
	if (!tif) {
		free(io);   /* libtiff does not call the close procedure on failure */
		return NULL;
	}
	TIFFSetFileno(tif, fd);
	return tif;
}
