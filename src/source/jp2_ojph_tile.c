/*
 * jp2_ojph_tile.c - one code-stream tile of a tiled HTJ2K (ISO/IEC
 * 15444-15) file decoded by OpenJPH, through a one-tile code-stream cut
 * out of the file (contract in jp2_internal.h).
 *
 * The one idea: codestream surgery gives OpenJPH random access.  OpenJPH
 * 0.9 decodes a whole code-stream from the top, line by line across every
 * tile, so it cannot decode one tile of a tiled file.  But a tile is coded
 * from its own rectangle of the reference grid alone: its tile-components,
 * resolutions, precincts and code-blocks are all anchored to the grid's
 * origin (ISO/IEC 15444-1 B.3, B.5-B.7).  So the tile's tile-parts, behind
 * a main header whose SIZ (A.5.1) says the image is exactly that rectangle
 * on the same grid (XOsiz/YOsiz its top-left, Xsiz/Ysiz its bottom-right,
 * XTOsiz/YTOsiz its top-left, the tile size unchanged: one tile), are a
 * valid one-tile code-stream that decodes to the very same samples, and
 * OpenJPH decodes it alone.  The code-stream is SOC, the file's main header
 * (kept at open by jp2_header.c, TLM and PLM left out: their indexes would
 * describe the whole file) with SIZ patched, the tile's tile-parts (found
 * by jp2_header.c's SOT walk) with Isot renumbered 0, and EOC.  Files
 * with PPM (packet headers in the main header, A.7.4) are not cut.
 *
 * Measured (bench/ht_tiles.sh, every tile of levels 0-3 of tiled HTJ2K
 * files, 1 thread, bench/J2K_DECODERS.md "OpenJPH on cut tiles"): a 1024
 * tile costs 4.2-5.4 ms of CPU against OpenJPEG's 41-53 ms at quality 85,
 * 14-19 ms against 58-82 ms lossless; reduced levels 2-3x less, small
 * tiles up to 20x; pixels equal OpenJPEG's (reversible) or within 1 (9/7).
 * Decision: adopted for every whole HTJ2K tile the decoded-tile cache
 * loads (jp2_read.c's fill_tile); the first walk of bench/htj2k.py went
 * from 2.9x to 5.8x the Part 1 rate (lossless, loaded box).
 *
 * Known risk: OpenJPH 0.9.0 is not hardened.  Its assertions are caught
 * (below), but long mutation loops also found a segmentation fault in its
 * packet-header parsing on damaged tile data (J2K_DECODERS.md), which no
 * header check of ours rules out.  With workers >= 2 such a crash is
 * contained (include/tessera/contain.h): each decode below is marked as
 * OpenJPH's in memory the master shares, and the master sends the file's
 * tiles to OpenJPEG after one crash; htj2k_decoder = openjpeg keeps
 * OpenJPH out entirely.
 *
 * Anything OpenJPH refuses (or a tile it decodes to another size) is
 * decoded by OpenJPEG instead, so a file OpenJPH cannot read costs one
 * failed attempt per tile and is still served as before.  Bomb checks stay
 * ours: jp2_header.c refused absurd declarations at open, jp2_read.c
 * checked the budget, and the tile's tile-parts must all be in the file
 * (ts_jp2_header_check_tiles) before any byte reaches OpenJPH.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tessera/checked.h"
#include "tessera/contain.h"
#include "jp2_internal.h"
#include "source_file.h"

#ifdef TS_HAVE_OPENJPH
#include <assert.h>
#include <setjmp.h>
#include <stdatomic.h>
#include "jp2_ojph.h"

/*
 * OpenJPH's assertions.  Debian builds OpenJPH 0.9 with assert() enabled,
 * and some damaged code-streams fail one (in the tile-part header parser,
 * in the block decoder's MEL stream: test_jp2_ojph's mutants find them in
 * a few thousand tries) instead of throwing: abort() would take the whole
 * process down for one bad file.  So a decode runs under a guard: glibc's
 * assert() calls __assert_fail, which the program defines here (a shared
 * library's call to it binds to the executable's definition), and while
 * the calling thread is inside OpenJPH it jumps back to the decode
 * (siglongjmp) and the tile goes to OpenJPEG; outside a guarded decode it
 * does what glibc's does (the message, then abort()).  Only assertions are
 * caught: an abort() from malloc finding its heap damaged still ends the
 * process, as it must.  What OpenJPH had allocated for that decode is lost
 * (its destructors never run), so after JP2_OJPH_MAX_ABORTS such escapes
 * the process stops using OpenJPH, and a source that made one stops at
 * once.
 */
#define JP2_OJPH_MAX_ABORTS 8

static __thread sigjmp_buf guard_jmp;
static __thread volatile int guard_on;
static atomic_int aborts;
static atomic_ullong ojph_tiles;   /* tiles OpenJPH decoded */

unsigned long long ts_source_openjph_tiles(void)
{
	return atomic_load(&ojph_tiles);
}

void __assert_fail(const char *assertion, const char *file, unsigned int line,
                   const char *function)
{
	if (guard_on) {
		guard_on = 0;
		siglongjmp(guard_jmp, 1);
	}
	fprintf(stderr, "%s:%u: %s%sAssertion `%s' failed.\n", file, line,
	        function ? function : "", function ? ": " : "", assertion);
	fflush(stderr);
	abort();
}

/* ts_jp2_ojph_decode under the guard: -1 also when an OpenJPH assertion failed. */
static int guarded_decode(struct jp2_source *s, const unsigned char *cs, size_t len, int r,
                          struct ts_image *out, char *msg, size_t msg_len)
{
	static __thread struct ts_contain_mark mark;   /* survives the siglongjmp */
	int rc;

	if (sigsetjmp(guard_jmp, 0)) {
		ts_contain_leave(&mark);
		s->ojph_broken = true;
		atomic_fetch_add(&aborts, 1);
		snprintf(msg, msg_len, "OpenJPH assertion failed");
		return -1;
	}
	/* A crash in there quarantines the file at level 1 (contain.h). */
	ts_contain_enter(&s->base.st, TS_CONTAIN_OPENJPH, &mark);
	guard_on = 1;
	rc = ts_jp2_ojph_decode(cs, len, r, out->width, out->height, s->ncomps, out->pixels,
	                        out->stride, msg, msg_len);
	guard_on = 0;
	ts_contain_leave(&mark);
	return rc;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

int ts_jp2_ojph_aborts(void)
{
	return atomic_load(&aborts);
}

bool ts_jp2_ojph_wanted(const struct jp2_source *s, int level)
{
	int k;

	(void)level;
	if (!s->ht || s->ojph_broken || s->base.no_openjph || atomic_load(&aborts) >= JP2_OJPH_MAX_ABORTS || !s->ht_head || !s->tp_seen || s->ntparts == 0 || s->ycc || s->cmyk ||
	    s->alpha || (s->ncomps != 1 && s->ncomps != 3) ||
	    s->base.info.channels != s->ncomps ||
	    (uint64_t)s->tw * s->th > JP2_OJPH_TILE_PX)
		return false;
	for (k = 0; k < s->ncomps; k++)
		if (s->comps[k].prec != 8 || s->comps[k].sgnd || s->comps[k].dx != 1 ||
		    s->comps[k].dy != 1)
			return false;
	return true;
}

/* Whether a tile-part's header (SOT, n bytes of tile-part) holds nothing
 * but COM and PLT markers before SOD (A.4.2, A.7.3): coding parameters
 * changed per tile (COD, COC, QCD, QCC, POC, RGN) and PPT are left to
 * OpenJPEG, as OpenJPH 0.9 asserts on some of them. */
static bool plain_tile_part_header(const unsigned char *sot, size_t n)
{
	size_t q = 12, len;

	while (q + 4 <= n) {
		if (sot[q] != 0xFF)
			return false;
		if (sot[q + 1] == 0x93)                  /* SOD */
			return true;
		if (sot[q + 1] != 0x64 && sot[q + 1] != 0x58)
			return false;
		len = (size_t)sot[q + 2] << 8 | sot[q + 3];
		if (len < 2)
			return false;
		q += 2 + len;
	}
	return false;
}

bool ts_jp2_ojph_cut(const struct jp2_source *s, uint32_t t, unsigned char **out,
                     size_t *out_len)
{
	uint32_t ntx = ts_jp2_ceil_div(s->x1 - s->tx0, s->tw), p = t % ntx, q = t / ntx, i;
	uint64_t X0 = (uint64_t)s->tx0 + (uint64_t)p * s->tw, X1 = X0 + s->tw;
	uint64_t Y0 = (uint64_t)s->ty0 + (uint64_t)q * s->th, Y1 = Y0 + s->th;
	size_t len = s->ht_head_len, at;
	unsigned char *cs, *sot;
	uint64_t n;

	/* The tile's rectangle, clipped to the image (B-7). */
	X0 = X0 > s->x0 ? X0 : s->x0;
	Y0 = Y0 > s->y0 ? Y0 : s->y0;
	X1 = X1 < s->x1 ? X1 : s->x1;
	Y1 = Y1 < s->y1 ? Y1 : s->y1;
	*out = NULL;
	*out_len = 0;
	if (!s->ht_head || t >= s->ntiles || X1 <= X0 || Y1 <= Y0 || s->ht_head_len < 4 + 38)
		return false;
	for (i = 0; i < s->ntparts; i++)
		if (s->tparts[i].tile == t && !ts_add_size(len, (size_t)s->tparts[i].len, &len))
			return false;
	if (len == s->ht_head_len || !ts_add_size(len, 2, &len) || !(cs = malloc(len)))
		return false;
	/* SOC and the main header; SIZ (A.5.1) at 4: Lsiz, Rsiz, Xsiz, Ysiz,
	 * XOsiz, YOsiz, XTsiz, YTsiz, XTOsiz, YTOsiz. */
	memcpy(cs, s->ht_head, s->ht_head_len);
	put32(cs + 8, (uint32_t)X1);
	put32(cs + 12, (uint32_t)Y1);
	put32(cs + 16, (uint32_t)X0);
	put32(cs + 20, (uint32_t)Y0);
	put32(cs + 32, (uint32_t)X0);
	put32(cs + 36, (uint32_t)Y0);
	at = s->ht_head_len;
	for (i = 0; i < s->ntparts; i++) {
		if (s->tparts[i].tile != t)
			continue;
		n = s->tparts[i].len;
		sot = cs + at;
		if (!ts_source_pread_all(s->fd, sot, (size_t)n, s->tparts[i].pos) || n < 14 ||
		    sot[0] != 0xFF || sot[1] != 0x90) {
			free(cs);
			return false;
		}
		if (!plain_tile_part_header(sot, (size_t)n)) {
			free(cs);
			return false;
		}
		/* Psot 0 (the last tile-part runs to the end, A.4.2): give it
		 * its length, without the EOC it then holds. */
		if (sot[6] == 0 && sot[7] == 0 && sot[8] == 0 && sot[9] == 0) {
			if (sot[n - 2] == 0xFF && sot[n - 1] == 0xD9)
				n -= 2;
			put32(sot + 6, (uint32_t)n);
		}
		sot[4] = sot[5] = 0;      /* Isot: the only tile */
		at += (size_t)n;
	}
	cs[at++] = 0xFF;              /* EOC */
	cs[at++] = 0xD9;
	*out = cs;
	*out_len = at;
	return true;
}

ts_status ts_jp2_ojph_tile(struct jp2_source *s, int level, uint32_t tile, uint32_t x,
                           uint32_t y, uint32_t w, uint32_t h, struct ts_image *out,
                           struct ts_error *err)
{
	unsigned char *cs = NULL;
	size_t cs_len = 0;
	char msg[200];
	ts_status status;

	memset(out, 0, sizeof *out);
	/* Every tile-part in the file first (the bomb checks' rule). */
	{
		uint32_t ntx = ts_jp2_ceil_div(s->x1 - s->tx0, s->tw);
		uint64_t gx = (uint64_t)s->tx0 + (uint64_t)(tile % ntx) * s->tw;
		uint64_t gy = (uint64_t)s->ty0 + (uint64_t)(tile / ntx) * s->th;
		gx = gx > s->x0 ? gx : s->x0;
		gy = gy > s->y0 ? gy : s->y0;
		status = ts_jp2_header_check_tiles(s, gx, gy, gx + 1, gy + 1, err);
		if (status)
			return status;
	}
	if (!ts_jp2_ojph_cut(s, tile, &cs, &cs_len))
		return ts_jp2_opj_decode(s, level, x, y, w, h, out, err);
	status = ts_image_alloc(out, w, h, s->base.info.channels, err);
	if (status) {
		free(cs);
		return status;
	}
	if (guarded_decode(s, cs, cs_len, level, out, msg, sizeof msg) == 0) {
		atomic_fetch_add(&ojph_tiles, 1);
		free(cs);
		return TS_OK;
	}
	free(cs);
	ts_image_free(out);
	return ts_jp2_opj_decode(s, level, x, y, w, h, out, err);
}

#else

int ts_jp2_ojph_aborts(void)
{
	return 0;
}

unsigned long long ts_source_openjph_tiles(void)
{
	return 0;
}

bool ts_jp2_ojph_wanted(const struct jp2_source *s, int level)
{
	(void)s;
	(void)level;
	return false;
}

bool ts_jp2_ojph_cut(const struct jp2_source *s, uint32_t t, unsigned char **out,
                     size_t *out_len)
{
	(void)s;
	(void)t;
	*out = NULL;
	*out_len = 0;
	return false;
}

ts_status ts_jp2_ojph_tile(struct jp2_source *s, int level, uint32_t tile, uint32_t x,
                           uint32_t y, uint32_t w, uint32_t h, struct ts_image *out,
                           struct ts_error *err)
{
	(void)tile;
	return ts_jp2_opj_decode(s, level, x, y, w, h, out, err);
}

#endif
