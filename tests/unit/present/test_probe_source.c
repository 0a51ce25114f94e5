/*
 * test_probe_source.c - the probes the daemon and `tessera manifest`
 * share: an image's geometry as info.json gives it, a sound's duration,
 * results kept by file identity, a file that is no longer the one the
 * catalogue saw refused, limits and confinement applied.
 */
#include "check.h"
#include "present_fixture.h"
#include "tessera/probe_cache.h"
#include "tessera/resolve.h"

/* A PCM WAV of `seconds` at 8000 bytes a second (8 kHz, mono, 8-bit);
 * data_claim overrides the data chunk's size when nonzero. */
static void write_wav(struct pf_root *r, const char *rel, int seconds, uint32_t data_claim)
{
	unsigned char h[44];
	uint32_t data = 8000u * (uint32_t)seconds, riff = 36 + data;
	char p[PATH_MAX * 2];
	FILE *f;

	memcpy(h, "RIFF", 4);
	memcpy(h + 4, (unsigned char[4]){ riff, riff >> 8, riff >> 16, riff >> 24 }, 4);
	memcpy(h + 8, "WAVEfmt ", 8);
	memcpy(h + 16, (unsigned char[4]){ 16, 0, 0, 0 }, 4);
	memcpy(h + 20, (unsigned char[16]){ 1, 0, 1, 0, 0x40, 0x1f, 0, 0, 0x40, 0x1f, 0, 0, 1, 0, 8, 0 },
	       16);
	memcpy(h + 36, "data", 4);
	if (data_claim)
		data = data_claim;
	memcpy(h + 40, (unsigned char[4]){ data, data >> 8, data >> 16, data >> 24 }, 4);
	snprintf(p, sizeof p, "%s/%s", r->path, rel);
	f = fopen(p, "wb");
	if (!f)
		abort();
	fwrite(h, 1, sizeof h, f);
	for (int i = 0; i < 8000 * seconds; i++)
		fputc(128, f);
	fclose(f);
}

static void stat_rel(struct pf_root *r, const char *rel, struct stat *st)
{
	char p[PATH_MAX * 2];

	snprintf(p, sizeof p, "%s/%s", r->path, rel);
	if (stat(p, st) != 0)
		memset(st, 0, sizeof *st);
}

static void an_image_is_measured_as_info_json_sees_it_and_kept_by_identity(void)
{
	struct pf_root r;
	struct ts_error err;
	struct ts_source_limits lim;
	struct ts_present_probes pp;
	struct ts_source_info info;
	struct stat st;
	char p[PATH_MAX * 2];

	pf_create(&r);
	pf_tiff(&r, "a.tif", 300, 200, 2);
	ts_error_clear(&err);
	memset(&lim, 0, sizeof lim);
	pp.resolver = ts_resolver_create(r.path, "", &err);
	pp.limits = &lim;
	pp.cache = ts_probe_cache_create(16);
	stat_rel(&r, "a.tif", &st);
	EXPECT_EQ_INT(ts_present_probe_image(&pp, "a.tif", &st, &info, &err), TS_OK);
	EXPECT_EQ_INT(info.width, 300);
	EXPECT_EQ_INT(info.height, 200);
	EXPECT_EQ_INT(info.nlevels, 2);
	EXPECT(info.icc == NULL);
	/* measured once: the second answer comes from the cache, file gone */
	snprintf(p, sizeof p, "%s/a.tif", r.path);
	unlink(p);
	memset(&info, 0, sizeof info);
	EXPECT_EQ_INT(ts_present_probe_image(&pp, "a.tif", &st, &info, &err), TS_OK);
	EXPECT_EQ_INT(info.width, 300);
	/* without a cache the file is looked for, and is not there */
	ts_probe_cache_destroy(pp.cache);
	pp.cache = NULL;
	EXPECT_EQ_INT(ts_present_probe_image(&pp, "a.tif", &st, &info, &err), TS_ENOTFOUND);
	ts_resolver_destroy((struct ts_resolver *)pp.resolver);
	pf_destroy(&r);
}

static void a_file_other_than_the_one_listed_or_out_of_the_root_is_not_measured(void)
{
	struct pf_root r;
	struct ts_error err;
	struct ts_source_limits lim;
	struct ts_present_probes pp;
	struct ts_source_info info;
	struct stat st_b, st_out;
	char p[PATH_MAX * 2];

	pf_create(&r);
	pf_tiff(&r, "a.tif", 64, 64, 1);
	pf_tiff(&r, "b.tif", 64, 64, 1);
	snprintf(p, sizeof p, "%s/out.tif", r.path);
	EXPECT(symlink("/etc/hostname", p) == 0);
	ts_error_clear(&err);
	memset(&lim, 0, sizeof lim);
	pp.resolver = ts_resolver_create(r.path, "", &err);
	pp.limits = &lim;
	pp.cache = NULL;
	stat_rel(&r, "b.tif", &st_b);
	/* the catalogue listed b.tif; a.tif now stands in its name's place */
	EXPECT_EQ_INT(ts_present_probe_image(&pp, "a.tif", &st_b, &info, &err), TS_ENOTFOUND);
	stat("/etc/hostname", &st_out);
	EXPECT_EQ_INT(ts_present_probe_image(&pp, "out.tif", &st_out, &info, &err), TS_ENOTFOUND);
	/* max_source_pixels applies */
	lim.max_source_pixels = 100;
	ts_error_clear(&err);
	EXPECT(ts_present_probe_image(&pp, "b.tif", &st_b, &info, &err) != TS_OK);
	EXPECT(strstr(err.msg, "too large") != NULL);
	ts_resolver_destroy((struct ts_resolver *)pp.resolver);
	pf_destroy(&r);
}

static void a_sound_gets_its_duration_and_a_lying_one_an_error(void)
{
	struct pf_root r;
	struct ts_error err;
	struct ts_source_limits lim;
	struct ts_present_probes pp;
	struct ts_media_info mi;
	struct stat st;

	pf_create(&r);
	write_wav(&r, "s.wav", 2, 0);
	write_wav(&r, "lie.wav", 1, 8000000);   /* data claims 1000 s, the file holds 1 */
	ts_error_clear(&err);
	memset(&lim, 0, sizeof lim);
	pp.resolver = ts_resolver_create(r.path, "", &err);
	pp.limits = &lim;
	pp.cache = ts_probe_cache_create(16);
	stat_rel(&r, "s.wav", &st);
	EXPECT_EQ_INT(ts_present_probe_media(&pp, "s.wav", &st, "audio/wav", &mi, &err), TS_OK);
	EXPECT(mi.duration > 1.99 && mi.duration < 2.01);
	EXPECT(!mi.has_video);
	stat_rel(&r, "lie.wav", &st);
	ts_error_clear(&err);
	EXPECT(ts_present_probe_media(&pp, "lie.wav", &st, "audio/wav", &mi, &err) != TS_OK);
	EXPECT(err.msg[0] != '\0');
	ts_probe_cache_destroy(pp.cache);
	ts_resolver_destroy((struct ts_resolver *)pp.resolver);
	pf_destroy(&r);
}

int main(void)
{
	RUN(an_image_is_measured_as_info_json_sees_it_and_kept_by_identity);
	RUN(a_file_other_than_the_one_listed_or_out_of_the_root_is_not_measured);
	RUN(a_sound_gets_its_duration_and_a_lying_one_an_error);
	return CHECK_DONE();
}
