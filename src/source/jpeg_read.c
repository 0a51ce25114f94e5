/*
 * jpeg_read.c - plain JPEG source (JFIF/EXIF, baseline or progressive),
 * decoded with libjpeg(-turbo)'s libjpeg API.
 *
 * Where it sits: ts_source_open sniffs FF D8 FF and hands us the file
 * descriptor.  A JPEG has no stored pyramid, but its DCT can be decoded at
 * 1/1, 1/2, 1/4 and 1/8 scale almost for free, so those four scales are our
 * levels (sizes exactly as jpeg_calc_output_dimensions computes them:
 * ceil(W / d)).  read_region decodes only what it must: the rows above the
 * window are skipped (jpeg_skip_scanlines), columns outside it are cropped
 * to the iMCU grid (jpeg_crop_scanline), and decoding stops after the last
 * needed row.
 *
 * The one idea for EXIF orientation: everything we publish is in the
 * oriented (displayed) frame.  info width/height are oriented; a requested
 * rectangle is mapped back to the stored rectangle that covers it, that is
 * decoded, and its pixels are copied through the orientation's transform.
 * The EXIF parse is our own, bounded to the APP1 segment libjpeg saved;
 * so is the ICC profile's reassembly from the APP2 segments.
 *
 * Errors: libjpeg's error_exit longjmps back to the call, with the state
 * tied to this source (never a global).  Warnings about corrupt data are
 * treated as errors so a damaged file is a 500, never a 200 with grey
 * blocks; truncation is an error too (our data source refuses to invent an
 * EOI).  Bytes are read with pread from the descriptor we own, so nothing
 * is kept in memory between requests.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jpeglib.h>
#include <jerror.h>
#include "tessera/deadline.h"
#include "tessera/checked.h"
#include "tessera/icc.h"
#include "tessera/source.h"
#include "jpeg_meta.h"
#include "source_file.h"

#define JPEG_NSCALES 4
#define JPEG_IOBUF   65536

struct jpeg_state {
	struct jpeg_decompress_struct cinfo;
	struct jpeg_error_mgr jerr;
	struct jpeg_source_mgr src;
	jmp_buf jump;
	char msg[JMSG_LENGTH_MAX];
	int fd;
	uint64_t pos, size;
	unsigned char buf[JPEG_IOBUF];
};

struct jpeg_src {
	struct ts_source base;     /* must be first */
	int fd;
	uint64_t file_size;
	int orientation;           /* EXIF 1..8 */
	uint32_t width, height;    /* stored (not oriented) full size */
	J_COLOR_SPACE jcs;
	bool progressive;
	int denom[JPEG_NSCALES];   /* scale denominator of each level */
	uint32_t sw[JPEG_NSCALES], sh[JPEG_NSCALES];  /* stored size of each level */
	struct jpeg_state st;      /* one call at a time (one thread per source) */
};

static bool jpeg_sniff(const unsigned char *head, size_t n)
{
	return n >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF;
}

/* ---- libjpeg glue: errors and a pread data source --------------------- */

static void on_error_exit(j_common_ptr cinfo)
{
	struct jpeg_state *st = (struct jpeg_state *)cinfo;   /* cinfo is first */

	(*cinfo->err->format_message)(cinfo, st->msg);
	longjmp(st->jump, 1);
}

static void on_message(j_common_ptr cinfo, int level)
{
	struct jpeg_state *st = (struct jpeg_state *)cinfo;

	/* Level -1 is a warning: corrupt data, a premature end... Extraneous
	 * bytes before a marker are common and harmless; anything else means
	 * the pixels would be wrong. */
	if (level == -1 && cinfo->err->msg_code != JWRN_EXTRANEOUS_DATA) {
		(*cinfo->err->format_message)(cinfo, st->msg);
		longjmp(st->jump, 1);
	}
}

static void src_init(j_decompress_ptr cinfo) { (void)cinfo; }
static void src_term(j_decompress_ptr cinfo) { (void)cinfo; }

static boolean src_fill(j_decompress_ptr cinfo)
{
	struct jpeg_state *st = (struct jpeg_state *)cinfo;
	ssize_t r = 0;
	size_t want = sizeof st->buf;

	if (st->pos < st->size) {
		if (want > st->size - st->pos)
			want = (size_t)(st->size - st->pos);
		do {
			r = pread(st->fd, st->buf, want, (off_t)st->pos);
		} while (r < 0 && errno == EINTR);
	}
	if (r <= 0)
		ERREXIT(cinfo, JERR_INPUT_EOF);   /* truncated: an error, not fake EOI */
	st->pos += (uint64_t)r;
	st->src.next_input_byte = st->buf;
	st->src.bytes_in_buffer = (size_t)r;
	return TRUE;
}

static void src_skip(j_decompress_ptr cinfo, long n)
{
	struct jpeg_state *st = (struct jpeg_state *)cinfo;

	if (n <= 0)
		return;
	if ((size_t)n <= st->src.bytes_in_buffer) {
		st->src.next_input_byte += n;
		st->src.bytes_in_buffer -= (size_t)n;
		return;
	}
	st->pos += (uint64_t)n - st->src.bytes_in_buffer;
	st->src.bytes_in_buffer = 0;
	if (st->pos > st->size)
		st->pos = st->size;
}

/* Set up st->cinfo on the file and read the header.  Call inside setjmp.
 * save_app: keep the APP1 (EXIF) and APP2 (ICC) segments, for the open. */
static void start(struct jpeg_src *s, bool save_app)
{
	struct jpeg_state *st = &s->st;

	st->cinfo.err = jpeg_std_error(&st->jerr);
	st->jerr.error_exit = on_error_exit;
	st->jerr.emit_message = on_message;
	jpeg_create_decompress(&st->cinfo);
	st->fd = s->fd;
	st->pos = 0;
	st->size = s->file_size;
	st->src.init_source = src_init;
	st->src.fill_input_buffer = src_fill;
	st->src.skip_input_data = src_skip;
	st->src.resync_to_restart = jpeg_resync_to_restart;
	st->src.term_source = src_term;
	st->src.bytes_in_buffer = 0;
	st->src.next_input_byte = NULL;
	st->cinfo.src = &st->src;
	if (save_app) {
		jpeg_save_markers(&st->cinfo, JPEG_APP0 + 1, 0xFFFF);
		jpeg_save_markers(&st->cinfo, JPEG_APP0 + 2, 0xFFFF);
	}
	jpeg_read_header(&st->cinfo, TRUE);
}

/* ---- EXIF orientation ------------------------------------------------- */

/* Orientation from an APP1 segment, 1 when absent or malformed.  Reads only
 * inside [p, p + n): TIFF header, IFD0 entry count, entries (TIFF 6.0 §2). */
int ts_jpeg_exif_orientation(const unsigned char *p, size_t n)
{
	const unsigned char *t;
	size_t tn, ifd, i, count;
	bool le;

	if (n < 6 + 8 || memcmp(p, "Exif\0\0", 6) != 0)
		return 1;
	t = p + 6;
	tn = n - 6;
	if (t[0] == 'I' && t[1] == 'I')
		le = true;
	else if (t[0] == 'M' && t[1] == 'M')
		le = false;
	else
		return 1;
#define U16(q) (le ? (unsigned)((q)[0] | (q)[1] << 8) : (unsigned)((q)[0] << 8 | (q)[1]))
#define U32(q) (le ? ((uint32_t)(q)[0] | (uint32_t)(q)[1] << 8 | (uint32_t)(q)[2] << 16 | \
                      (uint32_t)(q)[3] << 24) \
                   : ((uint32_t)(q)[0] << 24 | (uint32_t)(q)[1] << 16 | \
                      (uint32_t)(q)[2] << 8 | (uint32_t)(q)[3]))
	if (U16(t + 2) != 42)
		return 1;
	ifd = U32(t + 4);
	if (ifd > tn || tn - ifd < 2)
		return 1;
	count = U16(t + ifd);
	for (i = 0; i < count; i++) {
		const unsigned char *e;
		if ((tn - ifd - 2) / 12 <= i)
			break;
		e = t + ifd + 2 + 12 * i;
		if (U16(e) == 0x0112 && U16(e + 2) == 3 && U32(e + 4) == 1) {
			unsigned o = U16(e + 8);
			return o >= 1 && o <= 8 ? (int)o : 1;
		}
	}
	return 1;
#undef U16
#undef U32
}

/* ---- ICC profile -------------------------------------------------------- */

/*
 * The ICC profile split over APP2 "ICC_PROFILE\0" segments, each with its
 * sequence number (1-based) and the segment count (ICC.1:2010 Annex B.4),
 * joined in sequence order whatever order the segments came in.  NULL when
 * there is none, when it is incomplete (a number missing, repeated or past
 * the count; counts that disagree), larger than TS_ICC_MAX or not usable
 * (icc.h).  Returns a malloc'd profile of *len bytes.
 */
unsigned char *ts_jpeg_icc_from_markers(jpeg_saved_marker_ptr list, size_t *len)
{
	static const char tag[12] = "ICC_PROFILE";   /* with its NUL */
	const JOCTET *part[256] = { 0 };
	size_t plen[256], total = 0, at = 0;
	unsigned count = 0, seen = 0, i;
	unsigned char *icc;
	jpeg_saved_marker_ptr m;

	*len = 0;
	for (m = list; m; m = m->next) {
		unsigned seq, cnt;

		if (m->marker != JPEG_APP0 + 2 || m->data_length < 14 ||
		    memcmp(m->data, tag, sizeof tag) != 0)
			continue;
		seq = m->data[12];
		cnt = m->data[13];
		if (seq == 0 || cnt == 0 || seq > cnt || (count && cnt != count) || part[seq])
			return NULL;
		count = cnt;
		part[seq] = m->data + 14;
		plen[seq] = m->data_length - 14;
		seen++;
		total += plen[seq];   /* <= 255 * 65535: cannot wrap */
		if (total > TS_ICC_MAX)
			return NULL;
	}
	if (count == 0 || seen != count || total == 0)
		return NULL;
	icc = malloc(total);
	if (!icc)
		return NULL;
	for (i = 1; i <= count; i++) {
		memcpy(icc + at, part[i], plen[i]);
		at += plen[i];
	}
	if (!ts_icc_usable(icc, total)) {
		free(icc);
		return NULL;
	}
	*len = total;
	return icc;
}

/* Stored pixel (sx, sy) shown at oriented pixel (X, Y), for a level whose
 * stored size is SW x SH (EXIF 2.3 Orientation tag, values 1..8). */
static void orient_map(int o, uint32_t SW, uint32_t SH, uint32_t X, uint32_t Y,
                       uint32_t *sx, uint32_t *sy)
{
	switch (o) {
	case 2: *sx = SW - 1 - X; *sy = Y; break;           /* mirrored */
	case 3: *sx = SW - 1 - X; *sy = SH - 1 - Y; break;  /* 180 */
	case 4: *sx = X; *sy = SH - 1 - Y; break;           /* flipped */
	case 5: *sx = Y; *sy = X; break;                    /* transposed */
	case 6: *sx = Y; *sy = SH - 1 - X; break;           /* shown rotated 90 cw */
	case 7: *sx = SW - 1 - Y; *sy = SH - 1 - X; break;  /* transversed */
	case 8: *sx = SW - 1 - Y; *sy = X; break;           /* shown rotated 90 ccw */
	default: *sx = X; *sy = Y; break;
	}
}

/* ---- open --------------------------------------------------------------- */

static void jpeg_close(struct ts_source *base)
{
	struct jpeg_src *s = (struct jpeg_src *)base;

	ts_source_file_close(base, s ? s->fd : -1);
}

static ts_status jpeg_open(int fd, const char *path, const struct ts_source_limits *lim,
                           struct ts_source **out, struct ts_error *err)
{
	struct jpeg_src *s;
	struct jpeg_decompress_struct *ci;
	jpeg_saved_marker_ptr m;
	int i, n;
	ts_status status;

	*out = NULL;
	s = calloc(1, sizeof *s);
	if (!s) {
		close(fd);
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	}
	s->fd = fd;
	s->base.ops = &ts_jpeg_source_ops;
	status = ts_source_file_size(fd, path, &s->file_size, err);
	if (status)
		goto fail;
	ci = &s->st.cinfo;
	if (setjmp(s->st.jump)) {
		jpeg_destroy_decompress(ci);
		status = ts_error_set(err, TS_EINTERNAL, "cannot read image");
		ts_error_detail(err, "%s: libjpeg: %s", path, s->st.msg);
		goto fail;
	}
	start(s, true);
	s->width = ci->image_width;
	s->height = ci->image_height;
	s->jcs = ci->jpeg_color_space;
	s->progressive = ci->progressive_mode;
	s->orientation = 1;
	for (m = ci->marker_list; m; m = m->next)
		if (m->marker == JPEG_APP0 + 1) {
			s->orientation = ts_jpeg_exif_orientation(m->data, m->data_length);
			break;
		}
	s->base.info.icc = ts_jpeg_icc_from_markers(ci->marker_list, &s->base.info.icc_len);
	status = ts_source_check_pixels(lim ? lim->max_source_pixels : 0, s->width, s->height, path,
	                                "JPEG", err);
	if (status) {
		jpeg_destroy_decompress(ci);
		goto fail;
	}
	switch (s->jcs) {
	case JCS_GRAYSCALE:
		s->base.info.channels = 1;
		break;
	case JCS_YCbCr: case JCS_RGB: case JCS_CMYK: case JCS_YCCK:
		s->base.info.channels = 3;
		break;
	default:
		jpeg_destroy_decompress(ci);
		status = ts_error_set(err, TS_EINTERNAL, "cannot read image");
		ts_error_detail(err, "%s: JPEG colour space %d not supported", path, (int)s->jcs);
		goto fail;
	}
	/* The levels: ask libjpeg the size at each scale (it rounds up). */
	for (i = 0, n = 0; i < JPEG_NSCALES; i++) {
		ci->scale_num = 1;
		ci->scale_denom = 1u << i;
		jpeg_calc_output_dimensions(ci);
		/* Keep a scale only if it is smaller than the one before. */
		if (n > 0 && ci->output_width == s->sw[n - 1] && ci->output_height == s->sh[n - 1])
			continue;
		s->denom[n] = 1 << i;
		s->sw[n] = ci->output_width;
		s->sh[n] = ci->output_height;
		if (s->orientation >= 5) {
			s->base.info.levels[n].width = ci->output_height;
			s->base.info.levels[n].height = ci->output_width;
		} else {
			s->base.info.levels[n].width = ci->output_width;
			s->base.info.levels[n].height = ci->output_height;
		}
		n++;
	}
	jpeg_destroy_decompress(ci);
	s->base.info.nlevels = n;
	if (s->progressive)   /* read_region's budget: the whole file, buffered */
		s->base.info.min_decode = (uint64_t)s->width * s->height;
	s->base.info.width = s->base.info.levels[0].width;
	s->base.info.height = s->base.info.levels[0].height;
	s->base.info.bits = 8;
	s->base.info.format = "jpeg";
	*out = &s->base;
	return TS_OK;

fail:
	jpeg_close(&s->base);
	return status;
}

/* ---- read_region -------------------------------------------------------- */

/* Decode the stored rectangle (rx, ry, rw, rh) of scale level `lv` into dst
 * (rw * rh * channels bytes, allocated by the caller). */
static ts_status decode_rect(struct jpeg_src *s, int lv, uint32_t rx, uint32_t ry,
                             uint32_t rw, uint32_t rh, uint8_t *dst, struct ts_error *err)
{
	struct jpeg_decompress_struct *ci = &s->st.cinfo;
	int ch = s->base.info.channels;
	JDIMENSION xoff, cw;
	JSAMPARRAY row;
	uint32_t j, i, skip;
	const JSAMPLE *p;
	uint8_t *q;

	if (setjmp(s->st.jump)) {
		jpeg_destroy_decompress(ci);
		ts_error_set(err, TS_EINTERNAL, "corrupt image data");
		ts_error_detail(err, "libjpeg: %s", s->st.msg);
		return TS_EINTERNAL;
	}
	start(s, false);
	ci->scale_num = 1;
	ci->scale_denom = (unsigned)s->denom[lv];
	if (s->jcs == JCS_GRAYSCALE)
		ci->out_color_space = JCS_GRAYSCALE;
	else if (s->jcs == JCS_CMYK || s->jcs == JCS_YCCK)
		ci->out_color_space = JCS_CMYK;
	else
		ci->out_color_space = JCS_RGB;
	jpeg_start_decompress(ci);
	if (ci->output_width != s->sw[lv] || ci->output_height != s->sh[lv]) {
		jpeg_destroy_decompress(ci);
		ts_error_set(err, TS_EINTERNAL, "corrupt image data");
		ts_error_detail(err, "JPEG changed size since it was opened");
		return TS_EINTERNAL;
	}
	/* Crop to the iMCU columns covering the window; libjpeg widens it. */
	xoff = rx;
	cw = rw;
	if (rw < ci->output_width)
		jpeg_crop_scanline(ci, &xoff, &cw);
	if (ry > 0 && jpeg_skip_scanlines(ci, ry) != ry) {
		jpeg_destroy_decompress(ci);
		ts_error_set(err, TS_EINTERNAL, "corrupt image data");
		ts_error_detail(err, "libjpeg could not skip %u rows", ry);
		return TS_EINTERNAL;
	}
	skip = rx - xoff;
	row = (*ci->mem->alloc_sarray)((j_common_ptr)ci, JPOOL_IMAGE,
	                               ci->output_width * (JDIMENSION)ci->output_components, 1);
	for (j = 0; j < rh; j++) {
		/* Every 64 rows: is the render still within its deadline? */
		if (j % 64 == 63 && ts_deadline_check(err) != TS_OK) {
			jpeg_destroy_decompress(ci);
			return TS_EUNAVAILABLE;
		}
		if (jpeg_read_scanlines(ci, row, 1) != 1) {
			jpeg_destroy_decompress(ci);
			ts_error_set(err, TS_EINTERNAL, "corrupt image data");
			ts_error_detail(err, "libjpeg returned no row %u", ry + j);
			return TS_EINTERNAL;
		}
		q = dst + (size_t)j * rw * (size_t)ch;
		p = row[0] + (size_t)skip * (size_t)ci->output_components;
		if (ci->out_color_space != JCS_CMYK) {
			memcpy(q, p, (size_t)rw * (size_t)ch);
			continue;
		}
		for (i = 0; i < rw; i++, p += 4, q += 3) {
			/* Adobe writes CMYK inverted (255 = no ink), YCCK always
			 * so; others are plain ink amounts. */
			unsigned c = p[0], m = p[1], y = p[2], k = p[3];
			if (!ci->saw_Adobe_marker) {
				c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k;
			}
			q[0] = (uint8_t)((c * k + 127) / 255);
			q[1] = (uint8_t)((m * k + 127) / 255);
			q[2] = (uint8_t)((y * k + 127) / 255);
		}
	}
	/* The rest of the file is not needed. */
	jpeg_abort_decompress(ci);
	jpeg_destroy_decompress(ci);
	return TS_OK;
}

static ts_status jpeg_read_region(struct ts_source *base, int level, uint32_t x, uint32_t y,
                                  uint32_t w, uint32_t h, uint64_t budget,
                                  struct ts_image *out, struct ts_error *err)
{
	struct jpeg_src *s = (struct jpeg_src *)base;
	uint32_t SW = s->sw[level], SH = s->sh[level];
	uint32_t ax, ay, bx, by, rx, ry, rw, rh, X, Y, sx, sy;
	int ch = base->info.channels, o = s->orientation;
	uint8_t *buf = NULL;
	uint64_t cost;
	size_t n;
	ts_status status;

	memset(out, 0, sizeof *out);
	/* The stored rectangle covering the oriented one: map two corners. */
	orient_map(o, SW, SH, x, y, &ax, &ay);
	orient_map(o, SW, SH, x + w - 1, y + h - 1, &bx, &by);
	rx = ax < bx ? ax : bx;
	ry = ay < by ? ay : by;
	rw = (ax < bx ? bx - ax : ax - bx) + 1;
	rh = (ay < by ? by - ay : ay - by) + 1;

	/* Budget: a baseline file is entropy-decoded over its whole width for
	 * every row down to the last one needed; a progressive file is
	 * buffered whole, at full resolution, before the first row appears. */
	if (s->progressive)
		cost = (uint64_t)s->width * s->height;
	else
		cost = (uint64_t)SW * ((uint64_t)ry + rh);
	if (budget && cost > budget) {
		ts_error_set(err, TS_EFORBIDDEN, "region needs too much decoding");
		ts_error_detail(err, "JPEG level %d region %ux%u costs %llu pixels > %llu", level,
		                w, h, (unsigned long long)cost, (unsigned long long)budget);
		return TS_EFORBIDDEN;
	}
	status = ts_image_alloc(out, w, h, ch, err);
	if (status)
		return status;
	if (o == 1) {
		status = decode_rect(s, level, rx, ry, rw, rh, out->pixels, err);
		if (status)
			ts_image_free(out);
		return status;
	}

	if (!ts_mul3_size(rw, rh, (size_t)ch, &n) || !(buf = malloc(n))) {
		status = ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto fail;
	}
	status = decode_rect(s, level, rx, ry, rw, rh, buf, err);
	if (status)
		goto fail;
	for (Y = 0; Y < h; Y++) {
		uint8_t *q = out->pixels + (size_t)Y * out->stride;
		for (X = 0; X < w; X++, q += ch) {
			orient_map(o, SW, SH, x + X, y + Y, &sx, &sy);
			memcpy(q, buf + ((size_t)(sy - ry) * rw + (sx - rx)) * (size_t)ch, (size_t)ch);
		}
	}
	free(buf);
	return TS_OK;

fail:
	free(buf);
	ts_image_free(out);
	return status;
}

const struct ts_source_ops ts_jpeg_source_ops = {
	.name = "jpeg",
	.sniff = jpeg_sniff,
	.open = jpeg_open,
	.read_region = jpeg_read_region,
	.close = jpeg_close,
};
