/*
 * test_jp2_ojph.c - HTJ2K code-stream tiles decoded by OpenJPH on the
 * one-tile code-stream cut out of the file (src/source/jp2_ojph_tile.c):
 * every tile of every level equals OpenJPEG's decode of the same tile
 * (exactly when reversible, within 1 for 9/7), on files with and without
 * precincts, with odd edge tiles and image and tile offsets, with 1 and 3
 * components and with a TLM marker in the main header; read_region through
 * the decoded-tile cache gives OpenJPEG's whole levels; and mutated files
 * (bytes flipped, truncated, SIZ lying) never crash or hang: each tile
 * decodes or fails with an error.
 *
 * Files are made at test time with ojph_compress (openjph-tools) from a
 * pattern; without it, or without OpenJPH in the build, every test says
 * "skipped".
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"
#include "tessera/source.h"
#include "tessera/tile_cache.h"
#include "src/source/jp2_internal.h"
#ifdef TS_HAVE_OPENJPH
#include "src/source/jp2_ojph.h"
#endif

#define W 701
#define H 493

static const struct ts_source_ops *ops = &ts_jp2_source_ops;
static char dir[] = "/tmp/ts_ojph_XXXXXX";
static int have_ojph;

static unsigned pat(int c, uint32_t x, uint32_t y)
{
	unsigned v;
	switch (c) {
	case 0: v = x * 200 / (W - 1); break;
	case 1: v = y * 200 / (H - 1); break;
	default: v = 200 - (x + y) * 200 / (W + H - 2); break;
	}
	return v + (((x / 8) ^ (y / 8)) & 1 ? 40 : 0) + (x * 7 + y * 13) % 11;
}

static void write_pnm(const char *path, int channels)
{
	FILE *f = fopen(path, "wb");

	fprintf(f, "P%d\n%d %d\n255\n", channels == 3 ? 6 : 5, W, H);
	for (uint32_t y = 0; y < H; y++)
		for (uint32_t x = 0; x < W; x++)
			for (int c = 0; c < channels; c++)
				fputc((int)pat(c, x, y), f);
	fclose(f);
}

static const char *make(const char *name, const char *in, const char *opts)
{
	static char out[8][256];
	static int slot;
	char cmd[1024];
	char *p = out[slot++ % 8];

	snprintf(p, 256, "%s/%s", dir, name);
	snprintf(cmd, sizeof cmd, "ojph_compress -i %s/%s -o %s %s >/dev/null 2>&1", dir, in, p,
	         opts);
	if (system(cmd) != 0) {
		printf("    ojph_compress failed: %s\n", cmd);
		return NULL;
	}
	return p;
}

static unsigned char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b;
	long len;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc((size_t)len + 64);
	if (b && fread(b, 1, (size_t)len, f) != (size_t)len) {
		free(b);
		b = NULL;
	}
	fclose(f);
	*n = (size_t)len;
	return b;
}

static void spill(const char *path, const unsigned char *b, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(b, 1, n, f);
		fclose(f);
	}
}

/* The same code-stream with a TLM marker (A.7.1: Ztlm 0, Stlm ST=2 SP=1)
 * listing every tile-part, and a COM marker, after SIZ: what `tessera
 * convert --htj2k` writes.  Returns the new file's path or NULL. */
static const char *add_tlm(const char *path, const char *name)
{
	static char out[256];
	size_t n, siz_end, pos, m = 0, k = 0;
	unsigned char *b = slurp(path, &n), *o;
	unsigned char ent[6 * 512];

	if (!b)
		return NULL;
	siz_end = 4 + ((size_t)b[4] << 8 | b[5]);
	for (pos = siz_end; pos + 4 < n && !(b[pos] == 0xFF && b[pos + 1] == 0x90);)
		pos += 2 + ((size_t)b[pos + 2] << 8 | b[pos + 3]);
	while (pos + 12 <= n && b[pos] == 0xFF && b[pos + 1] == 0x90 && m < 512) {
		uint32_t psot = (uint32_t)b[pos + 6] << 24 | (uint32_t)b[pos + 7] << 16 |
		                (uint32_t)b[pos + 8] << 8 | b[pos + 9];
		memcpy(ent + 6 * m, b + pos + 4, 2);
		memcpy(ent + 6 * m + 2, b + pos + 6, 4);
		m++;
		if (psot == 0)
			break;
		pos += psot;
	}
	o = malloc(n + 6 * m + 64);
	memcpy(o, b, siz_end);
	k = siz_end;
	o[k++] = 0xFF; o[k++] = 0x55;
	o[k++] = (unsigned char)((4 + 6 * m) >> 8); o[k++] = (unsigned char)(4 + 6 * m);
	o[k++] = 0; o[k++] = 0x60;
	memcpy(o + k, ent, 6 * m);
	k += 6 * m;
	memcpy(o + k, "\xFF\x64\x00\x08\x00\x01test", 10);
	k += 10;
	memcpy(o + k, b + siz_end, n - siz_end);
	k += n - siz_end;
	snprintf(out, sizeof out, "%s/%s", dir, name);
	spill(out, o, k);
	free(b);
	free(o);
	return out;
}

static ts_status open_file(const char *path, struct ts_tile_cache *c, struct ts_source **s,
                           struct ts_error *err)
{
	struct ts_source_limits lim = { .max_source_pixels = 1u << 24, .tiles = c };
	int fd = open(path, O_RDONLY);

	ts_error_clear(err);
	*s = NULL;
	if (fd < 0)
		return 404;
	return ops->open(fd, path, &lim, s, err);
}

static int max_diff(const struct ts_image *a, const struct ts_image *b)
{
	int worst = 0, d;

	if (a->width != b->width || a->height != b->height || a->channels != b->channels)
		return 999;
	for (uint32_t j = 0; j < a->height; j++)
		for (uint32_t i = 0; i < a->width * (uint32_t)a->channels; i++) {
			d = abs(a->pixels[(size_t)j * a->stride + i] - b->pixels[(size_t)j * b->stride + i]);
			worst = d > worst ? d : worst;
		}
	return worst;
}

/* Tile (p,q) on level r, as jp2_read.c's tile_on_level. */
static void tile_rect(const struct jp2_source *s, int r, uint32_t p, uint32_t q, uint32_t l[4])
{
	uint64_t X0 = (uint64_t)s->tx0 + (uint64_t)p * s->tw, X1 = X0 + s->tw;
	uint64_t Y0 = (uint64_t)s->ty0 + (uint64_t)q * s->th, Y1 = Y0 + s->th;
	uint32_t bx = ts_jp2_ceil_pow2(s->x0, r), by = ts_jp2_ceil_pow2(s->y0, r);

	X0 = X0 > s->x0 ? X0 : s->x0;
	Y0 = Y0 > s->y0 ? Y0 : s->y0;
	X1 = X1 < s->x1 ? X1 : s->x1;
	Y1 = Y1 < s->y1 ? Y1 : s->y1;
	l[0] = ts_jp2_ceil_pow2((uint32_t)X0, r) - bx;
	l[1] = ts_jp2_ceil_pow2((uint32_t)Y0, r) - by;
	l[2] = ts_jp2_ceil_pow2((uint32_t)X1, r) - bx;
	l[3] = ts_jp2_ceil_pow2((uint32_t)Y1, r) - by;
}

/*
 * Every tile of every level: OpenJPH on the cut tile (directly, so that a
 * silent fall-back to OpenJPEG cannot pass) equals OpenJPEG's tile within
 * `tol`; then read_region through a decoded-tile cache equals OpenJPEG's
 * whole level read without one.
 */
static void tiles_match_openjpeg(const char *path, int tol, int channels)
{
#ifdef TS_HAVE_OPENJPH
	struct ts_tile_cache *c = ts_tile_cache_create(64 << 20);
	struct ts_source *base = NULL, *plain = NULL;
	struct jp2_source *s;
	struct ts_error err;
	uint32_t ntx, t, l[4];
	int worst = 0, ntiles = 0;

	if (!path) {
		printf("    skipped (no file)\n");
		ts_tile_cache_destroy(c);
		return;
	}
	EXPECT_EQ_INT(open_file(path, c, &base, &err), 0);
	EXPECT_EQ_INT(open_file(path, NULL, &plain, &err), 0);
	if (!base || !plain)
		goto done;
	s = (struct jp2_source *)base;
	EXPECT(s->ht);
	EXPECT(s->ntiles > 1);
	EXPECT_EQ_INT(s->ncomps, channels);
	EXPECT(ts_jp2_ojph_wanted(s, 0));
	ntx = ts_jp2_ceil_div(s->x1 - s->tx0, s->tw);
	for (int r = 0; r < s->nres; r++) {
		for (t = 0; t < s->ntiles; t++) {
			struct ts_image a = { 0 }, b = { 0 }, viaread = { 0 };
			unsigned char *cs = NULL;
			size_t len = 0;
			char msg[200] = "";
			int d;

			tile_rect(s, r, t % ntx, t / ntx, l);
			if (l[2] <= l[0] || l[3] <= l[1])
				continue;    /* an empty tile on this level */
			EXPECT_EQ_INT(ts_jp2_opj_decode(s, r, l[0], l[1], l[2] - l[0], l[3] - l[1], &a,
			                                &err), 0);
			EXPECT(ts_jp2_ojph_cut(s, t, &cs, &len));
			EXPECT_EQ_INT(ts_image_alloc(&b, l[2] - l[0], l[3] - l[1], channels, &err), 0);
			if (cs && b.pixels)
				EXPECT_EQ_INT(ts_jp2_ojph_decode(cs, len, r, l[2] - l[0], l[3] - l[1],
				                                 channels, b.pixels, b.stride, msg,
				                                 sizeof msg), 0);
			if (msg[0])
				printf("    level %d tile %u: %s\n", r, t, msg);
			d = a.pixels && b.pixels ? max_diff(&a, &b) : 999;
			if (d > tol)
				printf("    level %d tile %u (%ux%u): off by %d\n", r, t, l[2] - l[0],
				       l[3] - l[1], d);
			worst = d > worst ? d : worst;
			/* the path the server takes for the cache */
			EXPECT_EQ_INT(ts_jp2_ojph_tile(s, r, t, l[0], l[1], l[2] - l[0], l[3] - l[1],
			                               &viaread, &err), 0);
			if (viaread.pixels && b.pixels)
				EXPECT_EQ_INT(max_diff(&viaread, &b), 0);
			ntiles++;
			free(cs);
			ts_image_free(&a);
			ts_image_free(&b);
			ts_image_free(&viaread);
		}
		/* Whole level and an odd window through the cache. */
		{
			const struct ts_source_level *lv = &base->info.levels[r];
			struct ts_image whole = { 0 }, ref = { 0 }, win = { 0 };
			EXPECT_EQ_INT(ops->read_region(base, r, 0, 0, lv->width, lv->height, 0, &whole,
			                               &err), 0);
			EXPECT_EQ_INT(ops->read_region(plain, r, 0, 0, lv->width, lv->height, 0, &ref,
			                               &err), 0);
			if (whole.pixels && ref.pixels)
				EXPECT(max_diff(&whole, &ref) <= tol);
			if (lv->width > 3 && lv->height > 3) {
				uint32_t x = lv->width / 3, y = lv->height / 3;
				EXPECT_EQ_INT(ops->read_region(base, r, x, y, lv->width - x - 1,
				                               lv->height - y - 1, 0, &win, &err), 0);
				if (win.pixels && whole.pixels) {
					int wd = 0;
					for (uint32_t j = 0; j < win.height; j++)
						if (memcmp(win.pixels + (size_t)j * win.stride,
						           whole.pixels + (size_t)(y + j) * whole.stride +
						           (size_t)x * whole.channels,
						           (size_t)win.width * win.channels))
							wd = 1;
					EXPECT_EQ_INT(wd, 0);
				}
			}
			ts_image_free(&whole);
			ts_image_free(&ref);
			ts_image_free(&win);
		}
	}
	EXPECT(worst <= tol);
	EXPECT(ntiles > 0);
done:
	if (base)
		ops->close(base);
	if (plain)
		ops->close(plain);
	ts_tile_cache_destroy(c);
#else
	(void)path;
	(void)tol;
	(void)channels;
	printf("    skipped (built without OpenJPH)\n");
#endif
}

#define SKIP_IF_NO_TOOL()                                   \
	do {                                                    \
		if (!have_ojph) {                                   \
			printf("    skipped (no ojph_compress)\n");     \
			return;                                         \
		}                                                   \
	} while (0)

static void reversible_precincts_odd_edge_tiles(void)
{
	SKIP_IF_NO_TOOL();
	tiles_match_openjpeg(make("rev_prec.j2c", "in.ppm",
	                          "-reversible true -num_decomps 4 -block_size '{32,32}' "
	                          "-tile_size '{256,192}' -prog_order RPCL -precincts '{64,64}'"),
	                     0, 3);
}

static void reversible_without_precincts(void)
{
	SKIP_IF_NO_TOOL();
	tiles_match_openjpeg(make("rev.j2c", "in.ppm",
	                          "-reversible true -num_decomps 3 -block_size '{64,64}' "
	                          "-tile_size '{300,300}'"), 0, 3);
}

static void irreversible_with_image_and_tile_offsets(void)
{
	SKIP_IF_NO_TOOL();
	tiles_match_openjpeg(make("irr_off.j2c", "in.ppm",
	                          "-qstep 0.01 -num_decomps 4 -block_size '{32,32}' "
	                          "-tile_size '{200,150}' -image_offset '{37,11}' "
	                          "-tile_offset '{5,3}' -precincts '{64,64}' -prog_order RPCL"),
	                     1, 3);
}

static void irreversible_grey(void)
{
	SKIP_IF_NO_TOOL();
	tiles_match_openjpeg(make("irr_grey.j2c", "in.pgm",
	                          "-qstep 0.005 -num_decomps 5 -block_size '{64,64}' "
	                          "-tile_size '{256,256}'"), 1, 1);
}

static void reversible_grey_with_tlm_and_com(void)
{
	const char *p;

	SKIP_IF_NO_TOOL();
	p = make("rev_grey.j2c", "in.pgm", "-reversible true -num_decomps 3 "
	         "-block_size '{32,32}' -tile_size '{128,160}' -prog_order RPCL "
	         "-precincts '{64,64}'");
	tiles_match_openjpeg(p ? add_tlm(p, "rev_grey_tlm.j2c") : NULL, 0, 1);
}

/* Deterministic pseudo-random numbers for the mutations. */
static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

/* Mutant number `it` of orig (n bytes) into b; its length. */
static size_t mutate(const unsigned char *orig, size_t n, unsigned char *b, uint32_t seed, int it)
{
	size_t m = n;
	int k;

	rnd_state = seed * 1000003u + (uint32_t)it;
	memcpy(b, orig, n);
	switch (it % 4) {
	case 0:                     /* bytes anywhere */
		for (k = 0; k < 1 + (int)(rnd() % 8); k++)
			b[rnd() % n] ^= (unsigned char)(1 + rnd() % 255);
		break;
	case 1:                     /* bytes in the main header and the first tile-part */
		for (k = 0; k < 1 + (int)(rnd() % 3); k++)
			b[rnd() % (n < 400 ? n : 400)] = (unsigned char)rnd();
		break;
	case 2:                     /* truncated */
		m = 50 + rnd() % (n - 50);
		break;
	default: {                  /* SIZ lying: one of its 32-bit fields */
		uint32_t at = 8 + 4 * (rnd() % 8), v;
		v = (uint32_t)b[at] << 24 | (uint32_t)b[at + 1] << 16 | (uint32_t)b[at + 2] << 8 |
		    b[at + 3];
		v = rnd() % 2 ? v + (rnd() % 64) - 32 : v ^ (1u << (rnd() % 32));
		b[at] = (unsigned char)(v >> 24);
		b[at + 1] = (unsigned char)(v >> 16);
		b[at + 2] = (unsigned char)(v >> 8);
		b[at + 3] = (unsigned char)v;
	}
	}
	return m;
}

/* What a child reports per mutant. */
struct mutant_note {
	int it;
	int opened, decoded, failed;
};

/* One mutant: open it, read every tile of levels 0 and 1 the server's
 * way (ts_jp2_ojph_tile: OpenJPH, or OpenJPEG after it). */
static struct mutant_note try_mutant(const char *path, int it)
{
	struct mutant_note note = { it, 0, 0, 0 };
	struct ts_source *base = NULL;
	struct ts_error err;
	struct jp2_source *s;
	uint32_t ntx, l[4];

	if (open_file(path, NULL, &base, &err) != 0 || !base)
		return note;
	note.opened = 1;
	s = (struct jp2_source *)base;
	ntx = ts_jp2_ceil_div(s->x1 - s->tx0, s->tw);
	for (int r = 0; r < 2 && r < s->nres; r++) {
		for (uint32_t t = 0; t < s->ntiles && t < 64; t++) {
			struct ts_image img = { 0 };
			tile_rect(s, r, t % ntx, t / ntx, l);
			if (l[2] <= l[0] || l[3] <= l[1] ||
			    (uint64_t)(l[2] - l[0]) * (l[3] - l[1]) > (1u << 22) ||
			    !ts_jp2_ojph_wanted(s, r))
				continue;
			if (ts_jp2_ojph_tile(s, r, t, l[0], l[1], l[2] - l[0], l[3] - l[1], &img,
			                     &err) == 0) {
				note.decoded++;
				if (img.width != l[2] - l[0] || img.height != l[3] - l[1])
					note.failed = 1;
			}
			ts_image_free(&img);
		}
	}
	ops->close(base);
	return note;
}

/*
 * Mutated files never crash or hang: bytes flipped anywhere or in the main
 * header, truncated, SIZ fields changed.  The mutants run in child
 * processes, one after the other; a child stops (exit 0) once OpenJPH has
 * failed assertions often enough that the process no longer uses it
 * (ts_jp2_ojph_aborts, jp2_ojph_tile.c), and the next child goes on from
 * the next mutant; a child killed by a signal is a crash and fails the
 * test, naming the mutant.  An alarm (300 s) bounds each child.
 * TS_OJPH_MUTANTS=N[,SEED] runs a longer loop by hand.
 */
static void mutated_files_never_crash(void)
{
	const char *src, *rev, *env = getenv("TS_OJPH_MUTANTS");
	unsigned char *orig, *b;
	size_t n;
	char path[300];
	int count = env ? atoi(env) : 400, next = 0, children = 0, crashes = 0;
	int opened = 0, decoded = 0, bad = 0;
	uint32_t seed = env && strchr(env, ',') ? (uint32_t)strtoul(strchr(env, ',') + 1, NULL, 10) : 1;

	SKIP_IF_NO_TOOL();
	src = make("mut.j2c", "in.ppm", "-qstep 0.01 -num_decomps 3 -block_size '{32,32}' "
	           "-tile_size '{256,256}' -prog_order RPCL -precincts '{64,64}'");
	rev = src ? add_tlm(src, "mut_tlm.j2c") : NULL;
	if (!rev || !(orig = slurp(rev, &n)))
		return;
	b = malloc(n + 64);
	while (next < count) {
		int fds[2], status, last = next - 1;
		struct mutant_note note;
		pid_t pid;

		if (pipe(fds) != 0)
			break;
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			close(fds[0]);
			alarm(300);
			snprintf(path, sizeof path, "%s/mutant%d.j2c", dir, (int)getpid());
			for (int it = next; it < count; it++) {
				spill(path, b, mutate(orig, n, b, seed, it));
				note = try_mutant(path, it);
				if (write(fds[1], &note, sizeof note) != (ssize_t)sizeof note)
					_exit(3);
				if (ts_jp2_ojph_aborts() >= 8)
					break;
			}
			unlink(path);
			_exit(0);
		}
		close(fds[1]);
		children++;
		while (read(fds[0], &note, sizeof note) == (ssize_t)sizeof note) {
			last = note.it;
			opened += note.opened;
			decoded += note.decoded;
			bad += note.failed;
		}
		close(fds[0]);
		waitpid(pid, &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			printf("    mutant %d (seed %u): child %s %d\n", last + 1, seed,
			       WIFSIGNALED(status) ? "killed by signal" : "exit",
			       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
			crashes++;
			/* kept for a look: the mutant that crashed it */
			snprintf(path, sizeof path, "/tmp/ts_ojph_crash_%u_%d.j2c", seed, last + 1);
			spill(path, b, mutate(orig, n, b, seed, last + 1));
			printf("    kept as %s\n", path);
		}
		next = last + 1 + (WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1);
	}
	printf("    %d mutants in %d processes: %d opened, %d tiles decoded, %d crashes\n", count,
	       children, opened, decoded, crashes);
	EXPECT_EQ_INT(crashes, 0);
	EXPECT_EQ_INT(bad, 0);
	EXPECT(opened > 0);
	free(b);
	free(orig);
}

int main(void)
{
	char p[300];

	have_ojph = system("command -v ojph_compress >/dev/null 2>&1") == 0;
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(p, sizeof p, "%s/in.ppm", dir);
	write_pnm(p, 3);
	snprintf(p, sizeof p, "%s/in.pgm", dir);
	write_pnm(p, 1);

	RUN(reversible_precincts_odd_edge_tiles);
	RUN(reversible_without_precincts);
	RUN(irreversible_with_image_and_tile_offsets);
	RUN(irreversible_grey);
	RUN(reversible_grey_with_tlm_and_com);
	RUN(mutated_files_never_crash);

	snprintf(p, sizeof p, "rm -rf %s", dir);
	if (system(p) != 0)
		printf("    could not remove %s\n", dir);
	return CHECK_DONE();
}
