/*
 * rotate.c - mirroring and clockwise rotation (IIIF Image API 3.0 §4.3).
 *
 * Runs after scaling: the IIIF order is region, size, rotation, quality,
 * and "!" mirrors before rotating.  Right angles are exact transposes that
 * move every pixel to its new place and lose nothing.  Any other angle
 * inverse-maps each pixel of the planner's bounding-box canvas back into
 * the input (the canvas centre is the input centre) and samples it
 * bilinearly; samples that fall outside the input count as background, so
 * the edge of the turned image blends into the background over one pixel
 * instead of staircasing.  The background is transparent when the output
 * format has alpha (the image gains an alpha channel) and white otherwise,
 * as §4.3 suggests.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "tessera/deadline.h"
#include "tessera/pipe.h"

void ts_pipe_mirror(struct ts_image *img)
{
	int nc;

	if (!img || !img->pixels || img->width < 2)
		return;
	nc = img->channels;
	for (uint32_t y = 0; y < img->height; y++) {
		uint8_t *l = img->pixels + y * img->stride;
		uint8_t *r = l + (size_t)(img->width - 1) * nc;

		while (l < r) {
			for (int c = 0; c < nc; c++) {
				uint8_t t = l[c];
				l[c] = r[c];
				r[c] = t;
			}
			l += nc;
			r -= nc;
		}
	}
}

/* Output pixel (x, y) of a right-angle turn comes from input (sx, sy);
 * W and H are the input's size.
 *   90:  sx = y,       sy = H-1-x
 *   180: sx = W-1-x,   sy = H-1-y
 *   270: sx = W-1-y,   sy = x        */
static void turn_right_angle(const struct ts_image *in, int quarter, struct ts_image *out)
{
	int nc = in->channels;
	uint32_t W = in->width, H = in->height;

	for (uint32_t y = 0; y < out->height; y++) {
		uint8_t *d = out->pixels + y * out->stride;

		if (quarter == 2) {
			const uint8_t *s = in->pixels + (size_t)(H - 1 - y) * in->stride +
			                   (size_t)(W - 1) * nc;
			for (uint32_t x = 0; x < out->width; x++, d += nc, s -= nc)
				memcpy(d, s, (size_t)nc);
			continue;
		}
		for (uint32_t x = 0; x < out->width; x++, d += nc) {
			uint32_t sx, sy;

			if (quarter == 1) {
				sx = y;
				sy = H - 1 - x;
			} else {
				sx = W - 1 - y;
				sy = x;
			}
			memcpy(d, in->pixels + (size_t)sy * in->stride + (size_t)sx * nc,
			       (size_t)nc);
		}
	}
}

/* Any angle: bilinear inverse mapping onto the out canvas.  Colour is
 * weighted by alpha (input alpha times coverage), so transparent input
 * pixels and the transparent background do not darken the edge.  False
 * when the render's deadline passed first (checked every 32 rows). */
static bool turn_any_angle(const struct ts_image *in, double degrees, bool alpha_bg,
                           struct ts_image *out)
{
	int inc = in->channels, onc = out->channels;
	int in_colour = ts_image_has_alpha(in) ? inc - 1 : inc;
	bool in_alpha = ts_image_has_alpha(in);
	double th = degrees * M_PI / 180.0, cs = cos(th), sn = sin(th);
	double icx = in->width / 2.0, icy = in->height / 2.0;
	double ocx = out->width / 2.0, ocy = out->height / 2.0;
	long W = in->width, H = in->height;

	for (uint32_t y = 0; y < out->height; y++) {
		uint8_t *d = out->pixels + y * out->stride;
		double dy = y + 0.5 - ocy;

		if (y % 32 == 31 && ts_deadline_passed())
			return false;

		for (uint32_t x = 0; x < out->width; x++, d += onc) {
			double dx = x + 0.5 - ocx;
			/* Clockwise on screen (y down) maps (u,v) to
			 * (u cos - v sin, u sin + v cos); this is its inverse,
			 * in input pixel-centre coordinates. */
			double sx = icx + dx * cs + dy * sn - 0.5;
			double sy = icy - dx * sn + dy * cs - 0.5;
			double fx = floor(sx), fy = floor(sy);
			double tx = sx - fx, ty = sy - fy;
			long x0 = (long)fx, y0 = (long)fy;
			double acc[3] = { 0, 0, 0 }, cover = 0, aw = 0;

			if (x0 < -1 || y0 < -1 || x0 >= W || y0 >= H) {
				/* All four neighbours outside: pure background. */
				memset(d, alpha_bg ? 0 : 255, (size_t)onc);
				continue;
			}
			for (int k = 0; k < 4; k++) {
				long xi = x0 + (k & 1), yi = y0 + (k >> 1);
				double w = ((k & 1) ? tx : 1 - tx) * ((k >> 1) ? ty : 1 - ty);
				const uint8_t *p;
				double a;

				if (w == 0 || xi < 0 || yi < 0 || xi >= W || yi >= H)
					continue;
				p = in->pixels + (size_t)yi * in->stride + (size_t)xi * inc;
				a = in_alpha ? p[inc - 1] / 255.0 : 1.0;
				cover += w;
				aw += w * a;
				for (int c = 0; c < in_colour; c++)
					acc[c] += w * a * p[c];
			}
			if (alpha_bg || in_alpha) {
				/* Background transparent (or input alpha kept over a
				 * white background, below): colour is the alpha-weighted
				 * mean. */
				if (alpha_bg) {
					for (int c = 0; c < in_colour; c++)
						d[c] = aw > 0 ? (uint8_t)fmin(255, acc[c] / aw + 0.5) : 0;
					d[onc - 1] = (uint8_t)fmin(255, aw * 255 + 0.5);
					continue;
				}
				/* No transparent background but an input alpha: the
				 * uncovered part is opaque white. */
				{
					double ca = aw + (1 - cover);
					for (int c = 0; c < in_colour; c++) {
						double v = acc[c] + (1 - cover) * 255;
						d[c] = ca > 0 ? (uint8_t)fmin(255, v / ca + 0.5) : 255;
					}
					d[onc - 1] = (uint8_t)fmin(255, ca * 255 + 0.5);
				}
				continue;
			}
			/* Opaque input over white: plain blend with the background. */
			for (int c = 0; c < in_colour; c++)
				d[c] = (uint8_t)fmin(255, acc[c] + (1 - cover) * 255 + 0.5);
		}
	}
	return true;
}

ts_status ts_pipe_rotate(const struct ts_image *in, double degrees, uint32_t final_w,
                         uint32_t final_h, bool alpha_bg, struct ts_image *out,
                         struct ts_error *err)
{
	struct ts_image res = { 0 };
	ts_status st;
	int quarter = -1, onc;

	if (!in || !in->pixels || in->width == 0 || in->height == 0 ||
	    in->channels < 1 || in->channels > 4 || !isfinite(degrees) ||
	    degrees < 0 || degrees > 360)
		return ts_error_set(err, TS_EINTERNAL, "invalid rotation request");
	if (degrees == 0 || degrees == 360)
		quarter = 0;
	else if (degrees == 90)
		quarter = 1;
	else if (degrees == 180)
		quarter = 2;
	else if (degrees == 270)
		quarter = 3;

	if (quarter >= 0) {
		uint32_t w = quarter & 1 ? in->height : in->width;
		uint32_t h = quarter & 1 ? in->width : in->height;

		if (final_w != w || final_h != h) {
			ts_error_set(err, TS_EINTERNAL, "rotation canvas does not match the image");
			ts_error_detail(err, "%g degrees of %ux%u onto %ux%u", degrees,
			                in->width, in->height, final_w, final_h);
			return TS_EINTERNAL;
		}
		st = ts_image_alloc(&res, w, h, in->channels, err);
		if (st)
			return st;
		if (quarter == 0) {
			for (uint32_t y = 0; y < h; y++)
				memcpy(res.pixels + y * res.stride, in->pixels + y * in->stride,
				       (size_t)w * in->channels);
		} else {
			turn_right_angle(in, quarter, &res);
		}
	} else {
		if (final_w == 0 || final_h == 0)
			return ts_error_set(err, TS_EINTERNAL, "empty rotation canvas");
		onc = in->channels;
		if (alpha_bg && !ts_image_has_alpha(in))
			onc++;
		st = ts_image_alloc(&res, final_w, final_h, onc, err);
		if (st)
			return st;
		if (!turn_any_angle(in, degrees, alpha_bg, &res)) {
			ts_image_free(&res);
			return ts_deadline_check(err);
		}
	}

	/* out is overwritten like ts_image_alloc does; passing in as out
	 * replaces it (the input is released after it has been read). */
	if (out == in)
		ts_image_free(out);
	*out = res;
	return TS_OK;
}
