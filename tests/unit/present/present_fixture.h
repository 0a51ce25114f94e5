/*
 * present_fixture.h - a temporary image root for the Presentation tests:
 * folders, small pyramidal TIFFs made with tiff_fixture.h, and files of any
 * other content, plus a context whose image probe opens the real files and
 * whose media probe answers from a table the test fills (no AV decoding in
 * unit tests).  Header-only.
 */
#ifndef TESSERA_PRESENT_FIXTURE_H
#define TESSERA_PRESENT_FIXTURE_H

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../source/tiff_fixture.h"
#include "tessera/present.h"
#include "tessera/source.h"

struct pf_root {
	char path[PATH_MAX];
	int fd;
	struct ts_limits limits;
	struct ts_present_ctx ctx;
	double duration;          /* what the media probe answers; <= 0: it fails */
	uint32_t video_w, video_h;
	int image_probes;         /* how many times the image probe ran */
};

static inline ts_status pf_probe_image(void *arg, const char *rel, const struct stat *st,
                                struct ts_source_info *out, struct ts_error *err)
{
	struct pf_root *r = arg;
	struct ts_source_limits lim;
	struct ts_source *src;
	char path[PATH_MAX * 2];
	ts_status s;

	memset(&lim, 0, sizeof lim);
	snprintf(path, sizeof path, "%s/%s", r->path, rel);
	r->image_probes++;
	s = ts_source_open_as(path, st, &lim, &src, err);
	if (s)
		return s;
	*out = src->info;
	out->icc = NULL;
	ts_source_close(src);
	return TS_OK;
}

static inline ts_status pf_probe_media(void *arg, const char *rel, const struct stat *st,
                                const char *mime, struct ts_media_info *out,
                                struct ts_error *err)
{
	struct pf_root *r = arg;

	memset(out, 0, sizeof *out);
	if (r->duration <= 0)
		return ts_error_set(err, TS_EINTERNAL, "no duration in the file's headers");
	out->duration = r->duration;
	out->width = strncmp(mime, "video/", 6) == 0 ? r->video_w : 0;
	out->height = strncmp(mime, "video/", 6) == 0 ? r->video_h : 0;
	out->has_video = out->width > 0;
	out->has_audio = true;
	return TS_OK;
}

static inline void pf_create(struct pf_root *r)
{
	char tmpl[] = "/tmp/tessera-present-XXXXXX";
	char *d = mkdtemp(tmpl);

	memset(r, 0, sizeof *r);
	if (!d || !realpath(d, r->path))
		abort();
	r->fd = open(r->path, O_RDONLY | O_DIRECTORY);
	r->duration = 12.5;
	r->ctx.root_fd = r->fd;
	r->ctx.root_path = r->path;
	r->ctx.base = "https://example.org";
	r->ctx.limits = &r->limits;
	r->ctx.formats[0] = r->ctx.formats[1] = true;
	r->ctx.image_service2 = true;
	r->ctx.probe_image = pf_probe_image;
	r->ctx.probe_media = pf_probe_media;
	r->ctx.probe_arg = r;
}

static inline void pf_mkdir(struct pf_root *r, const char *rel)
{
	char p[PATH_MAX * 2];

	snprintf(p, sizeof p, "%s/%s", r->path, rel);
	mkdir(p, 0755);
}

static inline void pf_file(struct pf_root *r, const char *rel, const char *content)
{
	char p[PATH_MAX * 2];
	FILE *f;

	snprintf(p, sizeof p, "%s/%s", r->path, rel);
	f = fopen(p, "wb");
	if (!f)
		abort();
	fputs(content, f);
	fclose(f);
}

/* A w x h RGB TIFF with 64-pixel tiles and nlevels floor-halved levels. */
static inline void pf_tiff(struct pf_root *r, const char *rel, uint32_t w, uint32_t h, int nlevels)
{
	char tmp[64], p[PATH_MAX * 2];
	struct fx f;

	memset(&f, 0, sizeof f);
	f.width = w;
	f.height = h;
	f.tile_w = f.tile_h = 64;
	f.nlevels = nlevels;
	f.photometric = PHOTOMETRIC_RGB;
	f.spp = 3;
	f.bps = 8;
	if (!fx_write(&f, tmp))
		abort();
	snprintf(p, sizeof p, "%s/%s", r->path, rel);
	if (rename(tmp, p) != 0)
		abort();
}

static inline void pf_destroy(struct pf_root *r)
{
	char cmd[PATH_MAX + 16];

	close(r->fd);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", r->path);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", r->path);
}

#endif
