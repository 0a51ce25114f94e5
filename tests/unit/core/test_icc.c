/*
 * test_icc.c - which embedded ICC profiles we carry (RGB and gray with a
 * sound header) and which we drop (CMYK, truncated, not a profile, too
 * large), and which outputs each fits.
 */
#include "check.h"
#include "icc_fixture.h"
#include "tessera/icc.h"

static void rgb_and_gray_profiles_are_usable(void)
{
	unsigned char *rgb = icc_make(132, "RGB ", 1), *gray = icc_make(400, "GRAY", 2);

	EXPECT(ts_icc_usable(rgb, 132));
	EXPECT(ts_icc_usable(gray, 400));
	free(rgb);
	free(gray);
}

static void cmyk_and_lab_profiles_are_dropped(void)
{
	unsigned char *cmyk = icc_make(200, "CMYK", 3), *lab = icc_make(200, "Lab ", 3);

	EXPECT(!ts_icc_usable(cmyk, 200));
	EXPECT(!ts_icc_usable(lab, 200));
	EXPECT(!ts_icc_fits(cmyk, 200, 3));
	EXPECT(ts_icc_dup(cmyk, 200) == NULL);
	free(cmyk);
	free(lab);
}

static void a_size_field_that_disagrees_with_the_bytes_is_dropped(void)
{
	unsigned char *p = icc_make(200, "RGB ", 4);

	EXPECT(!ts_icc_usable(p, 196));   /* truncated */
	icc_put32(p, 300);
	EXPECT(!ts_icc_usable(p, 200));   /* claims more than there is */
	free(p);
}

static void bytes_without_the_acsp_signature_are_not_a_profile(void)
{
	unsigned char *p = icc_make(200, "RGB ", 5);

	p[36] = 'x';
	EXPECT(!ts_icc_usable(p, 200));
	free(p);
}

static void too_short_too_large_and_null_are_dropped(void)
{
	unsigned char *big = icc_make(TS_ICC_MAX + 4, "RGB ", 6);
	unsigned char *limit = icc_make(TS_ICC_MAX, "RGB ", 6);
	unsigned char *small = icc_make(132, "RGB ", 6);

	EXPECT(!ts_icc_usable(big, TS_ICC_MAX + 4));
	EXPECT(ts_icc_usable(limit, TS_ICC_MAX));
	icc_put32(small, 128);
	EXPECT(!ts_icc_usable(small, 128));   /* no room for the tag count */
	EXPECT(!ts_icc_usable(NULL, 0));
	EXPECT(!ts_icc_fits(NULL, 0, 3));
	free(big);
	free(limit);
	free(small);
}

static void an_rgb_profile_fits_colour_and_a_gray_one_fits_gray(void)
{
	unsigned char *rgb = icc_make(140, "RGB ", 7), *gray = icc_make(140, "GRAY", 8);

	EXPECT(ts_icc_fits(rgb, 140, 3));
	EXPECT(ts_icc_fits(rgb, 140, 4));
	EXPECT(!ts_icc_fits(rgb, 140, 1));
	EXPECT(!ts_icc_fits(rgb, 140, 2));
	EXPECT(ts_icc_fits(gray, 140, 1));
	EXPECT(ts_icc_fits(gray, 140, 2));
	EXPECT(!ts_icc_fits(gray, 140, 3));
	EXPECT(!ts_icc_fits(gray, 140, 4));
	EXPECT(!ts_icc_fits(rgb, 140, 5));
	free(rgb);
	free(gray);
}

static void dup_copies_the_bytes(void)
{
	unsigned char *p = icc_make(1000, "RGB ", 9), *c = ts_icc_dup(p, 1000);

	EXPECT(c != NULL && c != p);
	EXPECT(c && memcmp(c, p, 1000) == 0);
	free(c);
	free(p);
}

int main(void)
{
	RUN(rgb_and_gray_profiles_are_usable);
	RUN(cmyk_and_lab_profiles_are_dropped);
	RUN(a_size_field_that_disagrees_with_the_bytes_is_dropped);
	RUN(bytes_without_the_acsp_signature_are_not_a_profile);
	RUN(too_short_too_large_and_null_are_dropped);
	RUN(an_rgb_profile_fits_colour_and_a_gray_one_fits_gray);
	RUN(dup_copies_the_bytes);
	return CHECK_DONE();
}
