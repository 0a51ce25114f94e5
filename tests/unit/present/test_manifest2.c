/*
 * test_manifest2.c - the Presentation 2.1 writers (manifest2.c,
 * collection2.c, json2.c) on models built here by hand, so what is tested
 * is the 2.1 form alone: @context/@id/@type, one sc:Sequence, annotations
 * "on" their canvas, dctypes:Image resources with the Image API 2.1
 * service sized like info.json, language maps as 2.1 values, navDate in
 * UTC, viewingHint, flat ranges, IXIF mediaSequences and placeholder
 * canvases for sound, video and PDF, single resources, collections, and
 * byte-stable output.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "src/present/json2.h"
#include "tessera/info.h"
#include "tessera/present.h"

#define BASE "https://example.org"

static struct ts_limits limits;

static void ctx_init(struct ts_present_ctx *c)
{
	memset(c, 0, sizeof *c);
	memset(&limits, 0, sizeof limits);
	c->root_fd = -1;
	c->base = BASE;
	c->limits = &limits;
	c->formats[0] = true;   /* jpg */
	c->image_service2 = true;
}

/* A pyramid of n levels halving from w x h, 256-pixel tiles. */
static void picture(struct ts_present_picture *p, const char *rel, uint32_t w, uint32_t h, int n)
{
	memset(p, 0, sizeof *p);
	p->rel = strdup(rel);
	p->info.width = w;
	p->info.height = h;
	p->info.channels = 3;
	p->info.bits = 8;
	p->info.nlevels = n;
	p->info.format = "tiff";
	for (int i = 0; i < n; i++) {
		p->info.levels[i].width = (w + (1u << i) - 1) >> i;
		p->info.levels[i].height = (h + (1u << i) - 1) >> i;
		p->info.levels[i].tile_w = p->info.levels[i].tile_h = 256;
	}
}

static json_t *lang(const char *l, const char *s)
{
	return json_pack("{s:[s]}", l, s);
}

/* Parse a sidecar into it->meta (the model keeps it as parsed). */
static void sidecar(struct ts_present_item *it, const char *text)
{
	struct ts_error err;

	ts_error_clear(&err);
	if (ts_sidecar_parse(text, strlen(text), TS_SIDECAR_ITEM, &it->meta, &err) != TS_OK)
		printf("    sidecar: %s\n", err.msg);
}

static void item_init(struct ts_present_item *it, const char *rel, size_t ncanvases)
{
	memset(it, 0, sizeof *it);
	it->kind = TS_PRESENT_ITEM;
	it->rel = strdup(rel);
	it->folder = strdup(rel);
	it->id = ts_present_encode_id(rel);
	it->fid = ts_present_encode_id(rel);
	it->label = lang("none", rel);
	it->start = -1;
	it->canvases = calloc(ncanvases, sizeof *it->canvases);
	it->ncanvases = ncanvases;
}

static void image_canvas(struct ts_present_item *it, size_t i, const char *file, uint32_t w,
                         uint32_t h)
{
	struct ts_present_canvas *cv = &it->canvases[i];
	char rel[256], base[64];

	snprintf(rel, sizeof rel, "%s/%s", it->folder, file);
	snprintf(base, sizeof base, "%.*s", (int)(strrchr(file, '.') - file), file);
	cv->file = strdup(file);
	cv->type = ts_media_type_of(file);
	cv->painted_type = "Image";
	cv->label = lang("none", base);
	cv->width = w;
	cv->height = h;
	picture(&cv->image, rel, w, h, 4);
}

/* The book: two pages, 1200x900 and 800x1000, with a full sidecar. */
static void book(struct ts_present_item *it)
{
	item_init(it, "letters/l1", 2);
	image_canvas(it, 0, "p1.tif", 1200, 900);
	image_canvas(it, 1, "p2.tif", 800, 1000);
	picture(&it->thumb, "letters/l1/p1.tif", 1200, 900, 4);
	sidecar(it,
	        "{\"label\": {\"en\": [\"A letter\"], \"fr\": [\"Une lettre\"]},"
	        " \"summary\": \"Two leaves.\", \"language\": \"en\","
	        " \"metadata\": [{\"label\": \"Creator\", \"value\": \"A. Writer\"},"
	        "   {\"label\": {\"en\": [\"Date\"], \"fr\": [\"Date\"]}, \"value\": {\"none\": [\"1871\"]}}],"
	        " \"rights\": \"http://creativecommons.org/licenses/by/4.0/\","
	        " \"requiredStatement\": {\"label\": \"Attribution\", \"value\": \"Example Archive\"},"
	        " \"provider\": {\"id\": \"https://example.org/about\", \"label\": \"Example\","
	        "   \"logo\": \"_logo.png\"},"
	        " \"homepage\": \"https://example.org/items/1\","
	        " \"navDate\": \"1871-04-02T01:30:00+02:00\","
	        " \"behavior\": [\"auto-advance\", \"paged\"],"
	        " \"viewingDirection\": \"right-to-left\","
	        " \"structures\": [{\"label\": \"Contents\", \"items\": ["
	        "   {\"label\": \"Front\", \"items\": [{\"file\": \"p1.tif\", \"xywh\": [0, 0, 600, 450]}]},"
	        "   \"p2.tif\"]},"
	        "  {\"id\": \"back\", \"label\": \"Back\", \"items\": [\"p2.tif\"]}]}");
	json_decref(it->label);
	it->label = json_deep_copy(it->meta.label);
	it->start = 1;
}

static json_t *write2(const struct ts_present_ctx *c, const struct ts_present_item *it,
                      const char *kind, const char *name, ts_status *st, struct ts_error *err)
{
	struct ts_present_part part = { kind, name };
	json_t *doc = NULL;

	ts_error_clear(err);
	*st = ts_present_manifest2(c, it, kind ? &part : NULL, &doc, err);
	return doc;
}

static json_t *at(json_t *v, const char *path)
{
	char buf[256], *tok, *save;

	snprintf(buf, sizeof buf, "%s", path);
	for (tok = strtok_r(buf, "/", &save); tok && v; tok = strtok_r(NULL, "/", &save))
		v = json_is_array(v) ? json_array_get(v, (size_t)atoi(tok)) : json_object_get(v, tok);
	return v;
}

static const char *str(json_t *v, const char *path)
{
	v = at(v, path);
	return v && json_is_string(v) ? json_string_value(v) : NULL;
}

static json_int_t num(json_t *v, const char *path)
{
	v = at(v, path);
	return v && json_is_integer(v) ? json_integer_value(v) : -1;
}

static void keys_start(json_t *o, const char *const *keys)
{
	void *it = json_object_iter(o);

	for (; *keys; keys++, it = json_object_iter_next(o, it))
		EXPECT_EQ_STR(it ? json_object_iter_key(it) : NULL, *keys);
}

/* ---------------------------------------------------------------------- */

static void an_image_manifest_has_the_2_1_shape_with_annotations_on_their_canvas(void)
{
	static const char *const top[] = { "@context", "@id", "@type", "label", NULL };
	struct ts_present_ctx c;
	struct ts_present_item it;
	struct ts_error err;
	ts_status st;
	json_t *m;

	ctx_init(&c);
	book(&it);
	m = write2(&c, &it, NULL, NULL, &st, &err);
	EXPECT_EQ_INT(st, TS_OK);
	if (!m) {
		printf("    %s\n", err.msg);
		ts_present_item_free(&it);
		return;
	}
	keys_start(m, top);
	EXPECT_EQ_STR(str(m, "@context"), "http://iiif.io/api/presentation/2/context.json");
	EXPECT_EQ_STR(str(m, "@id"), BASE "/iiif/2/letters%2Fl1/manifest");
	EXPECT_EQ_STR(str(m, "@type"), "sc:Manifest");
	EXPECT_EQ_INT(json_array_size(json_object_get(m, "sequences")), 1);
	EXPECT(!json_object_get(m, "mediaSequences"));
	EXPECT(!json_object_get(m, "items"));
	EXPECT_EQ_STR(str(m, "sequences/0/@id"), BASE "/iiif/2/letters%2Fl1/sequence/normal");
	EXPECT_EQ_STR(str(m, "sequences/0/@type"), "sc:Sequence");
	EXPECT_EQ_STR(str(m, "sequences/0/startCanvas"), BASE "/iiif/2/letters%2Fl1/canvas/p2");
	EXPECT_EQ_INT(json_array_size(at(m, "sequences/0/canvases")), 2);
	for (int i = 0; i < 2; i++) {
		char p[64], want[128];
		json_t *cv, *an;

		snprintf(p, sizeof p, "sequences/0/canvases/%d", i);
		cv = at(m, p);
		snprintf(want, sizeof want, BASE "/iiif/2/letters%%2Fl1/canvas/p%d", i + 1);
		EXPECT_EQ_STR(str(cv, "@id"), want);
		EXPECT_EQ_STR(str(cv, "@type"), "sc:Canvas");
		EXPECT_EQ_INT(json_array_size(json_object_get(cv, "images")), 1);
		an = at(cv, "images/0");
		snprintf(want, sizeof want, BASE "/iiif/2/letters%%2Fl1/annotation/p%d-image", i + 1);
		EXPECT_EQ_STR(str(an, "@id"), want);
		EXPECT_EQ_STR(str(an, "@type"), "oa:Annotation");
		EXPECT_EQ_STR(str(an, "motivation"), "sc:painting");
		/* §5.3: "on" is exactly the canvas's @id */
		EXPECT_EQ_STR(str(an, "on"), str(cv, "@id"));
		EXPECT_EQ_STR(str(an, "resource/@type"), "dctypes:Image");
		EXPECT_EQ_STR(str(an, "resource/format"), "image/jpeg");
		/* the resource, the canvas and the service agree on the size */
		EXPECT_EQ_INT(num(an, "resource/width"), num(cv, "width"));
		EXPECT_EQ_INT(num(an, "resource/height"), num(cv, "height"));
		EXPECT_EQ_INT(num(an, "resource/service/width"), num(cv, "width"));
		EXPECT_EQ_INT(num(an, "resource/service/height"), num(cv, "height"));
		EXPECT_EQ_STR(str(an, "resource/service/@context"), "http://iiif.io/api/image/2/context.json");
		EXPECT_EQ_STR(str(an, "resource/service/profile"), "http://iiif.io/api/image/2/level2.json");
		EXPECT(!json_object_get(json_object_get(json_object_get(an, "resource"), "service"), "@type"));
		EXPECT(json_array_size(at(an, "resource/service/sizes")) > 0);
		EXPECT(json_array_size(at(an, "resource/service/tiles")) > 0);
	}
	EXPECT_EQ_INT(num(m, "sequences/0/canvases/0/width"), 1200);
	EXPECT_EQ_INT(num(m, "sequences/0/canvases/1/height"), 1000);
	EXPECT_EQ_STR(str(m, "sequences/0/canvases/1/label"), "p2");
	EXPECT_EQ_STR(str(m, "sequences/0/canvases/0/images/0/resource/@id"),
	              BASE "/iiif/2/letters%2Fl1%2Fp1.tif/full/full/0/default.jpg");
	EXPECT_EQ_STR(str(m, "sequences/0/canvases/0/images/0/resource/service/@id"),
	              BASE "/iiif/2/letters%2Fl1%2Fp1.tif");
	json_decref(m);
	ts_present_item_free(&it);
}

static void the_service_block_lists_the_sizes_and_tiles_of_the_2_1_info_json(void)
{
	struct ts_present_ctx c;
	struct ts_present_picture p;
	struct ts_info_params ip;
	struct ts_buf b = TS_BUF_INIT;
	struct ts_error err;
	json_t *svc, *info;

	ctx_init(&c);
	limits.max_width = 1000;   /* limits shape the sizes both must list */
	picture(&p, "maps/big.tif", 5000, 3000, 5);
	svc = ts_pj2_service(&c, &p, true);
	memset(&ip, 0, sizeof ip);
	ip.version = 2;
	ip.id = BASE "/iiif/2/maps%2Fbig.tif";
	ip.src = &p.info;
	ip.limits = &limits;
	ip.formats[0] = true;
	EXPECT_EQ_INT(ts_info_format(&ip, &b, &err), TS_OK);
	info = json_loadb((const char *)b.data, b.len, 0, NULL);
	EXPECT(svc && info);
	if (svc && info) {
		EXPECT_EQ_STR(str(svc, "@id"), str(info, "@id"));
		EXPECT_EQ_INT(num(svc, "width"), num(info, "width"));
		EXPECT_EQ_INT(num(svc, "height"), num(info, "height"));
		EXPECT(json_equal(json_object_get(svc, "sizes"), json_object_get(info, "sizes")));
		EXPECT(json_equal(json_object_get(svc, "tiles"), json_object_get(info, "tiles")));
	}
	json_decref(svc);
	json_decref(info);
	ts_buf_free(&b);
	free(p.rel);
}

static void thumbnails_are_a_listed_size_with_their_service(void)
{
	struct ts_present_ctx c;
	struct ts_present_picture p;
	json_t *t;

	ctx_init(&c);
	picture(&p, "a/b.tif", 1200, 900, 4);
	t = ts_pj2_thumbnail(&c, &p);
	EXPECT_EQ_STR(str(t, "@id"), BASE "/iiif/2/a%2Fb.tif/full/300,225/0/default.jpg");
	EXPECT_EQ_INT(num(t, "width"), 300);
	EXPECT_EQ_INT(num(t, "height"), 225);
	EXPECT_EQ_STR(str(t, "service/@id"), BASE "/iiif/2/a%2Fb.tif");
	EXPECT_EQ_STR(str(t, "service/profile"), "http://iiif.io/api/image/2/level2.json");
	EXPECT(!json_object_get(json_object_get(t, "service"), "sizes"));
	json_decref(t);
	free(p.rel);
	EXPECT(ts_pj2_thumbnail(&c, NULL) == NULL);
}

static void language_maps_become_strings_or_tagged_values(void)
{
	json_t *m, *v;

	m = json_pack("{s:[s]}", "en", "Title");
	v = ts_pj2_text(m);
	EXPECT(json_is_string(v) && strcmp(json_string_value(v), "Title") == 0);
	json_decref(v);
	json_decref(m);

	m = json_pack("{s:[s,s]}", "none", "a", "b");
	v = ts_pj2_text(m);
	EXPECT_EQ_INT(json_array_size(v), 2);
	EXPECT_EQ_STR(str(v, "1"), "b");
	json_decref(v);
	json_decref(m);

	/* several languages: §4.3 @value/@language objects, untagged as strings */
	m = json_pack("{s:[s],s:[s],s:[s]}", "en", "Letter", "fr", "Lettre", "none", "L");
	v = ts_pj2_text(m);
	EXPECT_EQ_INT(json_array_size(v), 3);
	EXPECT_EQ_STR(str(v, "0/@value"), "Letter");
	EXPECT_EQ_STR(str(v, "0/@language"), "en");
	EXPECT_EQ_STR(str(v, "1/@language"), "fr");
	EXPECT_EQ_STR(str(v, "2"), "L");
	json_decref(v);
	json_decref(m);

	m = json_object();
	EXPECT(ts_pj2_text(m) == NULL);
	EXPECT(ts_pj2_text(NULL) == NULL);
	json_decref(m);
}

static void descriptive_and_rights_properties_take_their_2_1_names(void)
{
	struct ts_present_ctx c;
	struct ts_present_item it;
	struct ts_error err;
	ts_status st;
	json_t *m;

	ctx_init(&c);
	book(&it);
	m = write2(&c, &it, NULL, NULL, &st, &err);
	EXPECT_EQ_INT(st, TS_OK);
	EXPECT_EQ_INT(json_array_size(json_object_get(m, "label")), 2);
	EXPECT_EQ_STR(str(m, "label/0/@value"), "A letter");
	EXPECT_EQ_STR(str(m, "label/1/@language"), "fr");
	EXPECT_EQ_STR(str(m, "description"), "Two leaves.");
	EXPECT_EQ_STR(str(m, "metadata/0/label"), "Creator");
	EXPECT_EQ_STR(str(m, "metadata/0/value"), "A. Writer");
	EXPECT_EQ_STR(str(m, "metadata/1/label/1/@value"), "Date");
	EXPECT_EQ_STR(str(m, "metadata/1/value"), "1871");
	EXPECT_EQ_STR(str(m, "license"), "http://creativecommons.org/licenses/by/4.0/");
	EXPECT_EQ_STR(str(m, "attribution"), "Example Archive");
	EXPECT_EQ_STR(str(m, "logo"), BASE "/iiif/letters%2Fl1/res/_logo.png");
	EXPECT_EQ_STR(str(m, "related/@id"), "https://example.org/items/1");
	EXPECT_EQ_STR(str(m, "related/format"), "text/html");
	/* behavior: auto-advance has no 2.1 form, paged is the viewingHint */
	EXPECT_EQ_STR(str(m, "viewingHint"), "paged");
	EXPECT_EQ_STR(str(m, "sequences/0/viewingHint"), "paged");
	EXPECT_EQ_STR(str(m, "viewingDirection"), "right-to-left");
	EXPECT_EQ_STR(str(m, "sequences/0/viewingDirection"), "right-to-left");
	EXPECT_EQ_STR(str(m, "navDate"), "1871-04-01T23:30:00Z");
	EXPECT_EQ_STR(str(m, "thumbnail/@id"), BASE "/iiif/2/letters%2Fl1%2Fp1.tif/full/300,225/0/default.jpg");
	EXPECT(!json_object_get(m, "rights") && !json_object_get(m, "summary") &&
	       !json_object_get(m, "requiredStatement") && !json_object_get(m, "behavior"));
	json_decref(m);
	ts_present_item_free(&it);
}

static void nav_dates_are_written_in_utc(void)
{
	static const struct { const char *in, *out; } ok[] = {
		{ "1871-04-02T00:00:00Z", "1871-04-02T00:00:00Z" },
		{ "1871-04-02T01:30:00+02:00", "1871-04-01T23:30:00Z" },
		{ "1871-04-02T22:15:00-05:00", "1871-04-03T03:15:00Z" },
		{ "2000-12-31T22:00:00-03:00", "2001-01-01T01:00:00Z" },
		{ "2001-01-01T00:30:00+01:00", "2000-12-31T23:30:00Z" },
		{ "2024-03-01T01:00:00+02:00", "2024-02-29T23:00:00Z" },
		{ "1900-03-01T01:00:00+02:00", "1900-02-28T23:00:00Z" },
		{ "1999-06-15T12:00:00.250Z", "1999-06-15T12:00:00Z" },
		{ "1999-06-15T24:00:00Z", "1999-06-16T00:00:00Z" },
		{ "1999-06-15T10:00:00+14:00", "1999-06-14T20:00:00Z" },
	};
	static const char *const bad[] = {
		"1871-04-02", "1871-04-02T00:00:00", "1871-04-02T00:00:00+2:00",
		"1871-13-02T00:00:00Z", "1871-02-30T00:00:00Z", "1871-04-02T00:00:00Zjunk",
		"1871-04-02T00:60:00Z", "1871-04-02T00:00:00+15:00", "",
	};
	char out[32];

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		bool r = ts_pj2_utc_date(ok[i].in, out, sizeof out);
		EXPECT(r);
		EXPECT_EQ_STR(r ? out : NULL, ok[i].out);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		EXPECT(!ts_pj2_utc_date(bad[i], out, sizeof out));
	EXPECT(!ts_pj2_utc_date("1871-04-02T00:00:00Z", out, 10));
}

/* The same conversion by the C library (timegm/gmtime_r, 64-bit time_t),
 * for many dates and offsets; and bytes of any kind never crash it. */
static void nav_dates_agree_with_the_c_library_for_any_offset(void)
{
	static const int md[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned seed = 12345;
	int bad = 0;

	for (int n = 0; n < 50000; n++) {
		struct tm tm, out_tm;
		char in[40], want[32], got[32];
		int y, mo, d, h, mi, s, off, leap;
		time_t t;

		seed = seed * 1103515245u + 12345u;
		y = 1 + (int)(seed >> 8) % 9999;
		seed = seed * 1103515245u + 12345u;
		mo = 1 + (int)(seed >> 8) % 12;
		leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
		seed = seed * 1103515245u + 12345u;
		d = 1 + (int)(seed >> 8) % (md[mo - 1] + (mo == 2 && leap));
		seed = seed * 1103515245u + 12345u;
		h = (int)(seed >> 8) % 24;
		mi = (int)(seed >> 14) % 60;
		s = (int)(seed >> 20) % 60;
		seed = seed * 1103515245u + 12345u;
		off = (int)((seed >> 8) % (2 * 14 * 60 + 1)) - 14 * 60;   /* minutes */
		if (off == 0)
			snprintf(in, sizeof in, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h, mi, s);
		else
			snprintf(in, sizeof in, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", y, mo, d, h, mi,
			         s, off < 0 ? '-' : '+', abs(off) / 60, abs(off) % 60);
		memset(&tm, 0, sizeof tm);
		tm.tm_year = y - 1900;
		tm.tm_mon = mo - 1;
		tm.tm_mday = d;
		tm.tm_hour = h;
		tm.tm_min = mi;
		tm.tm_sec = s;
		t = timegm(&tm) - (time_t)off * 60;
		gmtime_r(&t, &out_tm);
		if (out_tm.tm_year + 1900 < 1 || out_tm.tm_year + 1900 > 9999) {
			if (ts_pj2_utc_date(in, got, sizeof got) && out_tm.tm_year + 1900 > 9999)
				bad++;
			continue;
		}
		snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02dZ", out_tm.tm_year + 1900,
		         out_tm.tm_mon + 1, out_tm.tm_mday, out_tm.tm_hour, out_tm.tm_min, out_tm.tm_sec);
		if (!ts_pj2_utc_date(in, got, sizeof got) || strcmp(got, want) != 0) {
			if (bad++ < 3)
				printf("    %s -> %s, expected %s\n", in, got, want);
		}
	}
	EXPECT_EQ_INT(bad, 0);
	for (int n = 0; n < 20000; n++) {
		char in[32], got[32];
		size_t len = 1 + (size_t)(seed >> 8) % 30;

		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			/* mostly the date's own alphabet, so deep paths are reached */
			in[i] = "0123456789-:T+Z.x"[(seed >> 8) % 17];
		}
		in[len] = '\0';
		if (ts_pj2_utc_date(in, got, sizeof got))
			EXPECT(strlen(got) == 20 && got[19] == 'Z');
	}
}

static void ranges_are_listed_flat_with_segments_and_members_in_order(void)
{
	struct ts_present_ctx c;
	struct ts_present_item it;
	struct ts_error err;
	ts_status st;
	json_t *m, *s;

	ctx_init(&c);
	book(&it);
	m = write2(&c, &it, NULL, NULL, &st, &err);
	s = json_object_get(m, "structures");
	/* Contents, its sub-range Front after it, then back */
	EXPECT_EQ_INT(json_array_size(s), 3);
	EXPECT_EQ_STR(str(s, "0/@id"), BASE "/iiif/2/letters%2Fl1/range/r1");
	EXPECT_EQ_STR(str(s, "0/@type"), "sc:Range");
	EXPECT_EQ_STR(str(s, "0/viewingHint"), "top");
	EXPECT_EQ_STR(str(s, "1/@id"), BASE "/iiif/2/letters%2Fl1/range/r2");
	EXPECT(!json_object_get(json_array_get(s, 1), "viewingHint"));
	EXPECT_EQ_STR(str(s, "2/@id"), BASE "/iiif/2/letters%2Fl1/range/back");
	EXPECT_EQ_STR(str(s, "2/viewingHint"), "top");
	/* r1 holds a range then a canvas: only "members" keeps that order */
	EXPECT_EQ_STR(str(s, "0/members/0/@id"), BASE "/iiif/2/letters%2Fl1/range/r2");
	EXPECT_EQ_STR(str(s, "0/members/0/@type"), "sc:Range");
	EXPECT_EQ_STR(str(s, "0/members/0/label"), "Front");
	EXPECT_EQ_STR(str(s, "0/members/1/@id"), BASE "/iiif/2/letters%2Fl1/canvas/p2");
	EXPECT_EQ_STR(str(s, "0/members/1/@type"), "sc:Canvas");
	EXPECT(!json_object_get(json_array_get(s, 0), "canvases"));
	/* r2: a region of p1 (§6.1 segment) */
	EXPECT_EQ_STR(str(s, "1/canvases/0"), BASE "/iiif/2/letters%2Fl1/canvas/p1#xywh=0,0,600,450");
	EXPECT(!json_object_get(json_array_get(s, 1), "members"));
	EXPECT_EQ_STR(str(s, "2/canvases/0"), BASE "/iiif/2/letters%2Fl1/canvas/p2");
	json_decref(m);
	ts_present_item_free(&it);

	/* a range naming a file that is no canvas is the sidecar's error */
	item_init(&it, "x", 1);
	image_canvas(&it, 0, "a.tif", 100, 100);
	sidecar(&it, "{\"structures\": [{\"label\": \"L\", \"items\": [\"b.tif\"]}]}");
	m = write2(&c, &it, NULL, NULL, &st, &err);
	EXPECT(m == NULL);
	EXPECT_EQ_INT(st, TS_EINTERNAL);
	EXPECT(strstr(err.msg, "x/iiif.json") && strstr(err.msg, "structures[0].items[0]") &&
	       strstr(err.msg, "b.tif"));
	ts_present_item_free(&it);
}

/* An item of a sound (no thumbnail), a video (with one) and a PDF. */
static void av_item(struct ts_present_item *it)
{
	struct ts_present_canvas *cv;

	item_init(it, "rec", 3);
	cv = &it->canvases[0];
	cv->file = strdup("side-a.mp3");
	cv->type = ts_media_type_of("side-a.mp3");
	cv->painted_type = "Sound";
	cv->label = lang("en", "Side A");
	cv->duration = 1985.024;
	cv = &it->canvases[1];
	cv->file = strdup("clip.mp4");
	cv->type = ts_media_type_of("clip.mp4");
	cv->painted_type = "Video";
	cv->label = lang("none", "clip");
	cv->duration = 4;
	cv->width = 320;
	cv->height = 240;
	picture(&cv->thumb, "rec/clip.jpg", 480, 270, 2);
	cv = &it->canvases[2];
	cv->file = strdup("notes.pdf");
	cv->type = ts_media_type_of("notes.pdf");
	cv->painted_type = "Text";
	cv->label = lang("none", "notes");
	sidecar(it, "{\"structures\": [{\"label\": \"First minutes\", \"items\": ["
	            "{\"file\": \"side-a.mp3\", \"t\": [0, 120.5]}]}]}");
}

static void sound_video_and_pdf_get_ixif_media_sequences_and_placeholder_canvases(void)
{
	struct ts_present_ctx c;
	struct ts_present_item it;
	struct ts_error err;
	ts_status st;
	json_t *m, *e, *cv;

	ctx_init(&c);
	av_item(&it);
	m = write2(&c, &it, NULL, NULL, &st, &err);
	EXPECT_EQ_INT(st, TS_OK);
	EXPECT_EQ_STR(str(m, "@context"), "http://iiif.io/api/presentation/2/context.json");
	EXPECT_EQ_INT(json_array_size(json_object_get(m, "mediaSequences")), 1);
	EXPECT_EQ_STR(str(m, "mediaSequences/0/@type"), "ixif:MediaSequence");
	EXPECT_EQ_STR(str(m, "mediaSequences/0/@id"), BASE "/iiif/2/rec/sequence/media");
	e = at(m, "mediaSequences/0/elements");
	EXPECT_EQ_INT(json_array_size(e), 3);
	EXPECT_EQ_STR(str(e, "0/@id"), BASE "/iiif/rec/res/side-a.mp3");
	EXPECT_EQ_STR(str(e, "0/@type"), "dctypes:Sound");
	EXPECT_EQ_STR(str(e, "0/format"), "audio/mpeg");
	EXPECT_EQ_STR(str(e, "0/label"), "Side A");
	EXPECT_EQ_STR(str(e, "0/rendering/0/@id"), BASE "/iiif/rec/res/side-a.mp3");
	EXPECT_EQ_STR(str(e, "0/rendering/0/format"), "audio/mpeg");
	EXPECT(!json_object_get(json_array_get(e, 0), "thumbnail"));
	EXPECT_EQ_STR(str(e, "1/@type"), "dctypes:MovingImage");
	EXPECT_EQ_STR(str(e, "1/format"), "video/mp4");
	EXPECT_EQ_INT(num(e, "1/width"), 320);
	EXPECT_EQ_STR(str(e, "1/thumbnail/service/@id"), BASE "/iiif/2/rec%2Fclip.jpg");
	EXPECT_EQ_STR(str(e, "2/@type"), "foaf:Document");
	EXPECT_EQ_STR(str(e, "2/format"), "application/pdf");
	/* sequences: one placeholder canvas per file */
	EXPECT_EQ_INT(json_array_size(at(m, "sequences/0/canvases")), 3);
	cv = at(m, "sequences/0/canvases/0");
	EXPECT_EQ_INT(num(cv, "width"), 640);
	EXPECT_EQ_INT(num(cv, "height"), 360);
	EXPECT(json_is_array(json_object_get(cv, "images")) &&
	       json_array_size(json_object_get(cv, "images")) == 0);
	EXPECT_EQ_STR(str(cv, "rendering/@id"), BASE "/iiif/rec/res/side-a.mp3");
	EXPECT_EQ_STR(str(cv, "rendering/format"), "audio/mpeg");
	EXPECT(!json_object_get(cv, "duration"));
	/* the video's: its thumbnail's size, painted with it */
	cv = at(m, "sequences/0/canvases/1");
	EXPECT_EQ_INT(num(cv, "width"), 480);
	EXPECT_EQ_INT(num(cv, "height"), 270);
	EXPECT_EQ_STR(str(cv, "images/0/on"), str(cv, "@id"));
	EXPECT_EQ_STR(str(cv, "images/0/resource/service/@id"), BASE "/iiif/2/rec%2Fclip.jpg");
	EXPECT_EQ_INT(num(cv, "images/0/resource/width"), 480);
	EXPECT_EQ_STR(str(cv, "rendering/@id"), BASE "/iiif/rec/res/clip.mp4");
	EXPECT_EQ_STR(str(m, "structures/0/canvases/0"), BASE "/iiif/2/rec/canvas/p1#t=0,120.5");
	json_decref(m);
	ts_present_item_free(&it);
}

static void single_resources_are_the_embedded_json_with_a_context(void)
{
	static const struct { const char *kind, *name, *path; } parts[] = {
		{ "sequence", "normal", "sequences/0" },
		{ "canvas", "p2", "sequences/0/canvases/1" },
		{ "annotation", "p1-image", "sequences/0/canvases/0/images/0" },
		{ "range", "r2", "structures/1" },
		{ "range", "back", "structures/2" },
	};
	struct ts_present_ctx c;
	struct ts_present_item it;
	struct ts_error err;
	ts_status st;
	json_t *m, *p;

	ctx_init(&c);
	book(&it);
	m = write2(&c, &it, NULL, NULL, &st, &err);
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		static const char *const first[] = { "@context", "@id", NULL };
		json_t *want = at(m, parts[i].path);

		p = write2(&c, &it, parts[i].kind, parts[i].name, &st, &err);
		EXPECT_EQ_INT(st, TS_OK);
		if (!p)
			continue;
		keys_start(p, first);
		EXPECT_EQ_STR(str(p, "@context"), "http://iiif.io/api/presentation/2/context.json");
		json_object_del(p, "@context");
		EXPECT(json_equal(p, want));
		json_decref(p);
	}
	/* references are never taken for the resource: r2's full form has canvases */
	p = write2(&c, &it, "range", "r2", &st, &err);
	EXPECT(json_object_get(p, "canvases") != NULL);
	json_decref(p);
	EXPECT(write2(&c, &it, "canvas", "p3", &st, &err) == NULL);
	EXPECT_EQ_INT(st, TS_ENOTFOUND);
	EXPECT(write2(&c, &it, "page", "p1/1", &st, &err) == NULL);
	EXPECT_EQ_INT(st, TS_ENOTFOUND);
	EXPECT(write2(&c, &it, "sequence", "media", &st, &err) == NULL);
	EXPECT_EQ_INT(st, TS_ENOTFOUND);
	EXPECT(write2(&c, &it, "range", "r9", &st, &err) == NULL);
	EXPECT_EQ_INT(st, TS_ENOTFOUND);
	json_decref(m);
	ts_present_item_free(&it);

	/* the IXIF media sequence keeps its own context after IIIF's */
	av_item(&it);
	p = write2(&c, &it, "sequence", "media", &st, &err);
	EXPECT_EQ_INT(st, TS_OK);
	EXPECT_EQ_STR(str(p, "@context/0"), "http://iiif.io/api/presentation/2/context.json");
	EXPECT(str(p, "@context/1") && strstr(str(p, "@context/1"), "ixif"));
	EXPECT_EQ_STR(str(p, "@type"), "ixif:MediaSequence");
	json_decref(p);
	ts_present_item_free(&it);
}

static char *dumped(json_t *doc)
{
	char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	json_decref(doc);
	return s;
}

static void output_is_byte_stable_from_run_to_run(void)
{
	struct ts_present_ctx c;
	struct ts_present_item a, b;
	struct ts_error err;
	ts_status st;
	char *x, *y;

	ctx_init(&c);
	book(&a);
	book(&b);
	x = dumped(write2(&c, &a, NULL, NULL, &st, &err));
	y = dumped(write2(&c, &b, NULL, NULL, &st, &err));
	EXPECT(x && y && strcmp(x, y) == 0);
	free(y);
	y = dumped(write2(&c, &a, NULL, NULL, &st, &err));
	EXPECT(x && y && strcmp(x, y) == 0);
	free(x);
	free(y);
	ts_present_item_free(&a);
	ts_present_item_free(&b);
}

static void a_small_manifest_is_exactly_this(void)
{
	static const char *const want =
		"{\"@context\": \"http://iiif.io/api/presentation/2/context.json\", "
		"\"@id\": \"https://example.org/iiif/2/s/manifest\", \"@type\": \"sc:Manifest\", "
		"\"label\": \"s\", \"sequences\": [{\"@id\": \"https://example.org/iiif/2/s/sequence/normal\", "
		"\"@type\": \"sc:Sequence\", \"label\": \"Current Page Order\", \"canvases\": "
		"[{\"@id\": \"https://example.org/iiif/2/s/canvas/p1\", \"@type\": \"sc:Canvas\", "
		"\"label\": \"a\", \"thumbnail\": {\"@id\": \"https://example.org/iiif/2/s%2Fa.tif/full/400,200/0/default.jpg\", "
		"\"@type\": \"dctypes:Image\", \"format\": \"image/jpeg\", \"height\": 200, \"width\": 400, "
		"\"service\": {\"@context\": \"http://iiif.io/api/image/2/context.json\", "
		"\"@id\": \"https://example.org/iiif/2/s%2Fa.tif\", \"profile\": \"http://iiif.io/api/image/2/level2.json\"}}, "
		"\"height\": 200, \"width\": 400, \"images\": [{\"@id\": \"https://example.org/iiif/2/s/annotation/p1-image\", "
		"\"@type\": \"oa:Annotation\", \"motivation\": \"sc:painting\", \"resource\": "
		"{\"@id\": \"https://example.org/iiif/2/s%2Fa.tif/full/full/0/default.jpg\", \"@type\": \"dctypes:Image\", "
		"\"format\": \"image/jpeg\", \"height\": 200, \"width\": 400, \"service\": "
		"{\"@context\": \"http://iiif.io/api/image/2/context.json\", \"@id\": \"https://example.org/iiif/2/s%2Fa.tif\", "
		"\"profile\": \"http://iiif.io/api/image/2/level2.json\", \"width\": 400, \"height\": 200, "
		"\"sizes\": [{\"width\": 200, \"height\": 100}, {\"width\": 400, \"height\": 200}], "
		"\"tiles\": [{\"width\": 256, \"scaleFactors\": [1, 2]}]}}, "
		"\"on\": \"https://example.org/iiif/2/s/canvas/p1\"}]}]}]}";
	struct ts_present_ctx c;
	struct ts_present_item it;
	struct ts_error err;
	ts_status st;
	json_t *m;
	char *s;

	ctx_init(&c);
	item_init(&it, "s", 1);
	image_canvas(&it, 0, "a.tif", 400, 200);
	free(it.canvases[0].image.rel);
	picture(&it.canvases[0].image, "s/a.tif", 400, 200, 2);
	m = write2(&c, &it, NULL, NULL, &st, &err);
	s = json_dumps(m, JSON_PRESERVE_ORDER);
	EXPECT_EQ_STR(s, want);
	free(s);
	json_decref(m);
	ts_present_item_free(&it);
}

static void a_hand_made_manifest_json_is_served_for_2_x_only(void)
{
	struct ts_present_ctx c;
	struct ts_present_item it;
	struct ts_error err;
	ts_status st;
	json_t *m;

	ctx_init(&c);
	item_init(&it, "hm", 0);
	it.manifest_json = strdup("{\"@context\": \"http://iiif.io/api/presentation/2/context.json\","
	                          " \"@id\": \"https://tessera.invalid/iiif/2/hm/manifest\","
	                          " \"@type\": \"sc:Manifest\", \"label\": \"Hand\","
	                          " \"sequences\": [{\"@id\": \"https://tessera.invalid/iiif/2/hm/sequence/normal\","
	                          " \"@type\": \"sc:Sequence\", \"canvases\": []}]}");
	m = write2(&c, &it, NULL, NULL, &st, &err);
	EXPECT_EQ_INT(st, TS_OK);
	EXPECT_EQ_STR(str(m, "@id"), BASE "/iiif/2/hm/manifest");
	json_decref(m);
	m = write2(&c, &it, "sequence", "normal", &st, &err);
	EXPECT_EQ_STR(str(m, "@id"), BASE "/iiif/2/hm/sequence/normal");
	json_decref(m);
	free(it.manifest_json);
	it.manifest_json = strdup("{\"@context\": \"http://iiif.io/api/presentation/3/context.json\","
	                          " \"id\": \"x\", \"type\": \"Manifest\"}");
	EXPECT(write2(&c, &it, NULL, NULL, &st, &err) == NULL);
	EXPECT_EQ_INT(st, TS_ENOTFOUND);
	ts_present_item_free(&it);
}

/* ---- collections -------------------------------------------------------- */

static void member(struct ts_present_member *m, const char *rel, bool coll, const char *nav)
{
	memset(m, 0, sizeof *m);
	m->rel = strdup(rel);
	m->id = ts_present_encode_id(rel);
	m->is_collection = coll;
	m->label = lang("none", strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel);
	m->nav_date = nav ? strdup(nav) : NULL;
}

static void collection(struct ts_present_collection *col)
{
	const char *sc = "{\"label\": {\"en\": [\"Letters\"]}, \"summary\": \"All of them.\","
	                 " \"behavior\": [\"multi-part\"], \"navDate\": \"1870-01-01T00:00:00-01:00\","
	                 " \"rights\": \"http://rightsstatements.org/vocab/InC/1.0/\"}";
	struct ts_error err;

	memset(col, 0, sizeof *col);
	col->rel = strdup("archive/letters");
	col->id = ts_present_encode_id(col->rel);
	if (ts_sidecar_parse(sc, strlen(sc), TS_SIDECAR_COLLECTION, &col->meta, &err) != TS_OK)
		printf("    sidecar: %s\n", err.msg);
	col->label = json_deep_copy(col->meta.label);
	col->members = calloc(3, sizeof *col->members);
	col->nmembers = 3;
	member(&col->members[0], "archive/letters/1871", true, NULL);
	member(&col->members[1], "archive/letters/l1", false, "1871-04-02T00:00:00+01:00");
	member(&col->members[2], "archive/letters/scan.tif", false, NULL);
	picture(&col->members[0].thumb, "archive/letters/1871/a.tif", 1000, 800, 3);
	picture(&col->thumb, "archive/letters/1871/a.tif", 1000, 800, 3);
}

static void a_collection_lists_collections_and_manifests(void)
{
	static const char *const top[] = { "@context", "@id", "@type", "label", NULL };
	struct ts_present_ctx c;
	struct ts_present_collection col;
	struct ts_error err;
	json_t *o = NULL;

	ctx_init(&c);
	collection(&col);
	EXPECT_EQ_INT(ts_present_collection2(&c, &col, &o, &err), TS_OK);
	keys_start(o, top);
	EXPECT_EQ_STR(str(o, "@id"), BASE "/iiif/2/collection/archive%2Fletters");
	EXPECT_EQ_STR(str(o, "@type"), "sc:Collection");
	EXPECT_EQ_STR(str(o, "label"), "Letters");
	EXPECT_EQ_STR(str(o, "description"), "All of them.");
	EXPECT_EQ_STR(str(o, "viewingHint"), "multi-part");
	EXPECT_EQ_STR(str(o, "navDate"), "1870-01-01T01:00:00Z");
	EXPECT_EQ_STR(str(o, "license"), "http://rightsstatements.org/vocab/InC/1.0/");
	EXPECT_EQ_STR(str(o, "within"), BASE "/iiif/2/collection/archive");
	EXPECT(!json_object_get(o, "members"));
	EXPECT_EQ_INT(json_array_size(json_object_get(o, "collections")), 1);
	EXPECT_EQ_INT(json_array_size(json_object_get(o, "manifests")), 2);
	EXPECT_EQ_STR(str(o, "collections/0/@id"), BASE "/iiif/2/collection/archive%2Fletters%2F1871");
	EXPECT_EQ_STR(str(o, "collections/0/@type"), "sc:Collection");
	EXPECT_EQ_STR(str(o, "collections/0/label"), "1871");
	EXPECT_EQ_STR(str(o, "collections/0/thumbnail/@id"),
	              BASE "/iiif/2/archive%2Fletters%2F1871%2Fa.tif/full/250,200/0/default.jpg");
	EXPECT_EQ_STR(str(o, "manifests/0/@id"), BASE "/iiif/2/archive%2Fletters%2Fl1/manifest");
	EXPECT_EQ_STR(str(o, "manifests/0/@type"), "sc:Manifest");
	EXPECT_EQ_STR(str(o, "manifests/0/navDate"), "1871-04-01T23:00:00Z");
	EXPECT_EQ_STR(str(o, "manifests/1/@id"), BASE "/iiif/2/archive%2Fletters%2Fscan.tif/manifest");
	json_decref(o);
	ts_present_collection_free(&col);
}

static void a_collection_whose_order_interleaves_uses_members(void)
{
	struct ts_present_ctx c;
	struct ts_present_collection col;
	struct ts_error err;
	json_t *o = NULL;

	ctx_init(&c);
	collection(&col);
	/* a sidecar order of manifest, collection, manifest */
	{
		struct ts_present_member t = col.members[0];
		col.members[0] = col.members[1];
		col.members[1] = t;
	}
	EXPECT_EQ_INT(ts_present_collection2(&c, &col, &o, &err), TS_OK);
	EXPECT(!json_object_get(o, "collections") && !json_object_get(o, "manifests"));
	EXPECT_EQ_INT(json_array_size(json_object_get(o, "members")), 3);
	EXPECT_EQ_STR(str(o, "members/0/@type"), "sc:Manifest");
	EXPECT_EQ_STR(str(o, "members/1/@type"), "sc:Collection");
	EXPECT_EQ_STR(str(o, "members/2/@type"), "sc:Manifest");
	json_decref(o);
	ts_present_collection_free(&col);

	/* the root has no within */
	ctx_init(&c);
	collection(&col);
	free(col.rel);
	col.rel = strdup("");
	free(col.id);
	col.id = strdup("top");
	EXPECT_EQ_INT(ts_present_collection2(&c, &col, &o, &err), TS_OK);
	EXPECT_EQ_STR(str(o, "@id"), BASE "/iiif/2/collection/top");
	EXPECT(!json_object_get(o, "within"));
	json_decref(o);
	ts_present_collection_free(&col);
}

int main(void)
{
	RUN(an_image_manifest_has_the_2_1_shape_with_annotations_on_their_canvas);
	RUN(the_service_block_lists_the_sizes_and_tiles_of_the_2_1_info_json);
	RUN(thumbnails_are_a_listed_size_with_their_service);
	RUN(language_maps_become_strings_or_tagged_values);
	RUN(descriptive_and_rights_properties_take_their_2_1_names);
	RUN(nav_dates_are_written_in_utc);
	RUN(nav_dates_agree_with_the_c_library_for_any_offset);
	RUN(ranges_are_listed_flat_with_segments_and_members_in_order);
	RUN(sound_video_and_pdf_get_ixif_media_sequences_and_placeholder_canvases);
	RUN(single_resources_are_the_embedded_json_with_a_context);
	RUN(output_is_byte_stable_from_run_to_run);
	RUN(a_small_manifest_is_exactly_this);
	RUN(a_hand_made_manifest_json_is_served_for_2_x_only);
	RUN(a_collection_lists_collections_and_manifests);
	RUN(a_collection_whose_order_interleaves_uses_members);
	return CHECK_DONE();
}
