/*
 * test_manifest3.c - folders to Presentation 3.0 JSON: item vs collection,
 * the painting rule, canvases sized as info.json sizes them, image bodies
 * and thumbnails of concrete sizes with both image services, AV canvases,
 * sidecar labels and structures, single resources, and the errors that
 * name the item and the field.
 */
#include "check.h"
#include "present_fixture.h"
#include "tessera/info.h"

static json_t *manifest(struct pf_root *r, const char *item, const struct ts_present_part *part,
                        struct ts_error *err, ts_status *st)
{
	struct ts_buf b = TS_BUF_INIT;
	json_t *doc = NULL;

	ts_error_clear(err);
	*st = ts_present_manifest(&r->ctx, item, 3, part, &b, err);
	if (*st == TS_OK)
		doc = json_loadb((const char *)b.data, b.len, JSON_DECODE_INT_AS_REAL * 0, NULL);
	ts_buf_free(&b);
	return doc;
}

static const char *str(json_t *v, const char *path)
{
	/* "items/0/id": objects by key, arrays by index */
	char buf[256], *tok, *save;

	snprintf(buf, sizeof buf, "%s", path);
	for (tok = strtok_r(buf, "/", &save); tok && v; tok = strtok_r(NULL, "/", &save))
		v = json_is_array(v) ? json_array_get(v, (size_t)atoi(tok)) : json_object_get(v, tok);
	return v && json_is_string(v) ? json_string_value(v) : NULL;
}

static json_int_t num(json_t *v, const char *path)
{
	char buf[256], *tok, *save;

	snprintf(buf, sizeof buf, "%s", path);
	for (tok = strtok_r(buf, "/", &save); tok && v; tok = strtok_r(NULL, "/", &save))
		v = json_is_array(v) ? json_array_get(v, (size_t)atoi(tok)) : json_object_get(v, tok);
	return v && json_is_integer(v) ? json_integer_value(v) : -1;
}

static void folders_are_items_or_collections_by_what_they_hold(void)
{
	struct pf_root r;

	pf_create(&r);
	pf_mkdir(&r, "letters");
	pf_mkdir(&r, "letters/l1");
	pf_mkdir(&r, "empty");
	pf_tiff(&r, "letters/l1/p1.tif", 100, 80, 1);
	pf_tiff(&r, "loose.tif", 100, 80, 1);
	EXPECT_EQ_INT(ts_present_kind_of(&r.ctx, ""), TS_PRESENT_COLLECTION);
	EXPECT_EQ_INT(ts_present_kind_of(&r.ctx, "letters"), TS_PRESENT_COLLECTION);
	EXPECT_EQ_INT(ts_present_kind_of(&r.ctx, "letters/l1"), TS_PRESENT_ITEM);
	EXPECT_EQ_INT(ts_present_kind_of(&r.ctx, "letters/l1/p1.tif"), TS_PRESENT_FILE);
	EXPECT_EQ_INT(ts_present_kind_of(&r.ctx, "loose.tif"), TS_PRESENT_FILE);
	EXPECT_EQ_INT(ts_present_kind_of(&r.ctx, "empty"), TS_PRESENT_NONE);
	EXPECT_EQ_INT(ts_present_kind_of(&r.ctx, "nothing"), TS_PRESENT_NONE);
	/* a sidecar may declare a collection */
	pf_mkdir(&r, "declared");
	pf_tiff(&r, "declared/a.tif", 50, 50, 1);
	pf_file(&r, "declared/iiif.json", "{\"type\": \"Collection\"}");
	EXPECT_EQ_INT(ts_present_kind_of(&r.ctx, "declared"), TS_PRESENT_COLLECTION);
	pf_destroy(&r);
}

static void an_image_folder_gives_canvases_in_natural_order_sized_like_info_json(void)
{
	struct pf_root r;
	struct ts_error err;
	ts_status st;
	json_t *m;

	pf_create(&r);
	pf_mkdir(&r, "book");
	pf_tiff(&r, "book/p10.tif", 300, 200, 3);
	pf_tiff(&r, "book/p2.tif", 1200, 900, 4);
	pf_tiff(&r, "book/p1.tif", 640, 480, 2);
	pf_file(&r, "book/p1.xml", "<alto/>");
	m = manifest(&r, "book", NULL, &err, &st);
	EXPECT_EQ_INT(st, TS_OK);
	if (!m) {
		printf("    %s\n", err.msg);
		pf_destroy(&r);
		return;
	}
	/* @context first, then id, type, label */
	{
		void *it = json_object_iter(m);
		EXPECT_EQ_STR(json_object_iter_key(it), "@context");
		it = json_object_iter_next(m, it);
		EXPECT_EQ_STR(json_object_iter_key(it), "id");
		it = json_object_iter_next(m, it);
		EXPECT_EQ_STR(json_object_iter_key(it), "type");
		it = json_object_iter_next(m, it);
		EXPECT_EQ_STR(json_object_iter_key(it), "label");
	}
	EXPECT_EQ_STR(str(m, "id"), "https://example.org/iiif/3/book/manifest");
	EXPECT_EQ_STR(str(m, "label/none/0"), "book");
	EXPECT_EQ_INT(json_array_size(json_object_get(m, "items")), 3);
	EXPECT_EQ_STR(str(m, "items/0/label/none/0"), "p1");
	EXPECT_EQ_STR(str(m, "items/1/label/none/0"), "p2");
	EXPECT_EQ_STR(str(m, "items/2/label/none/0"), "p10");
	EXPECT_EQ_STR(str(m, "items/1/id"), "https://example.org/iiif/3/book/canvas/p2");
	EXPECT_EQ_INT(num(m, "items/1/width"), 1200);
	EXPECT_EQ_INT(num(m, "items/1/height"), 900);
	EXPECT_EQ_STR(str(m, "items/1/items/0/id"), "https://example.org/iiif/3/book/page/p2/1");
	EXPECT_EQ_STR(str(m, "items/1/items/0/items/0/id"),
	              "https://example.org/iiif/3/book/annotation/p2-image");
	EXPECT_EQ_STR(str(m, "items/1/items/0/items/0/motivation"), "painting");
	EXPECT_EQ_STR(str(m, "items/1/items/0/items/0/target"),
	              "https://example.org/iiif/3/book/canvas/p2");
	/* the body: the largest sizes entry of at most 1024, not "max" */
	EXPECT_EQ_STR(str(m, "items/1/items/0/items/0/body/id"),
	              "https://example.org/iiif/3/book%2Fp2.tif/full/600,450/0/default.jpg");
	EXPECT_EQ_STR(str(m, "items/1/items/0/items/0/body/format"), "image/jpeg");
	EXPECT_EQ_STR(str(m, "items/1/items/0/items/0/body/service/0/type"), "ImageService3");
	EXPECT_EQ_STR(str(m, "items/1/items/0/items/0/body/service/0/profile"), "level2");
	EXPECT_EQ_STR(str(m, "items/1/items/0/items/0/body/service/0/id"),
	              "https://example.org/iiif/3/book%2Fp2.tif");
	EXPECT_EQ_STR(str(m, "items/1/items/0/items/0/body/service/1/@type"), "ImageService2");
	EXPECT_EQ_STR(str(m, "items/1/items/0/items/0/body/service/1/@id"),
	              "https://example.org/iiif/2/book%2Fp2.tif");
	EXPECT(!json_object_get(json_array_get(json_object_get(json_object_get(
		json_array_get(json_object_get(json_array_get(json_object_get(json_array_get(
		json_object_get(m, "items"), 1), "items"), 0), "items"), 0), "body"), "service"), 1),
		"id"));   /* never id with @type */
	EXPECT_EQ_INT(num(m, "items/1/items/0/items/0/body/service/0/sizes/0/width"), 150);
	EXPECT_EQ_INT(num(m, "items/1/items/0/items/0/body/service/0/tiles/0/width"), 64);
	/* canvas thumbnails: a sizes entry of longest side <= 400 */
	EXPECT_EQ_STR(str(m, "items/1/thumbnail/0/id"),
	              "https://example.org/iiif/3/book%2Fp2.tif/full/300,225/0/default.jpg");
	EXPECT_EQ_INT(num(m, "items/1/thumbnail/0/width"), 300);
	/* a one-level image too small for a choice: its only size */
	EXPECT_EQ_STR(str(m, "items/2/thumbnail/0/id"),
	              "https://example.org/iiif/3/book%2Fp10.tif/full/300,200/0/default.jpg");
	/* the Manifest's thumbnail is the first canvas's */
	EXPECT_EQ_STR(str(m, "thumbnail/0/id"),
	              "https://example.org/iiif/3/book%2Fp1.tif/full/320,240/0/default.jpg");
	/* ALTO by basename */
	EXPECT_EQ_STR(str(m, "items/0/seeAlso/0/id"), "https://example.org/iiif/book/res/p1.xml");
	json_decref(m);
	pf_destroy(&r);
}

static void the_same_folder_gives_the_same_bytes(void)
{
	struct pf_root r;
	struct ts_buf a = TS_BUF_INIT, b = TS_BUF_INIT;
	struct ts_error err;

	pf_create(&r);
	pf_mkdir(&r, "b");
	pf_tiff(&r, "b/1.tif", 200, 100, 2);
	pf_tiff(&r, "b/2.tif", 200, 100, 2);
	EXPECT_EQ_INT(ts_present_manifest(&r.ctx, "b", 3, NULL, &a, &err), TS_OK);
	EXPECT_EQ_INT(ts_present_manifest(&r.ctx, "b", 3, NULL, &b, &err), TS_OK);
	EXPECT(a.len == b.len && a.len > 0 && memcmp(a.data, b.data, a.len) == 0);
	ts_buf_free(&a);
	ts_buf_free(&b);
	pf_destroy(&r);
}

static void a_single_image_file_is_a_one_canvas_manifest(void)
{
	struct pf_root r;
	struct ts_error err;
	ts_status st;
	json_t *m;

	pf_create(&r);
	pf_mkdir(&r, "maps");
	pf_tiff(&r, "maps/big map.tif", 500, 400, 3);
	m = manifest(&r, "maps/big map.tif", NULL, &err, &st);
	EXPECT_EQ_INT(st, TS_OK);
	EXPECT_EQ_STR(str(m, "id"), "https://example.org/iiif/3/maps%2Fbig%20map.tif/manifest");
	EXPECT_EQ_INT(json_array_size(json_object_get(m, "items")), 1);
	EXPECT_EQ_INT(num(m, "items/0/width"), 500);
	EXPECT_EQ_STR(str(m, "label/none/0"), "big map.tif");
	json_decref(m);
	pf_destroy(&r);
}

static void sound_outranks_images_which_become_the_cover(void)
{
	struct pf_root r;
	struct ts_error err;
	ts_status st;
	json_t *m;

	pf_create(&r);
	pf_mkdir(&r, "book");
	pf_file(&r, "book/ch2.mp3", "x");
	pf_file(&r, "book/ch1.mp3", "x");
	pf_file(&r, "book/ch1.vtt", "WEBVTT\n");
	pf_file(&r, "book/text.pdf", "%PDF");
	pf_tiff(&r, "book/cover.tif", 600, 600, 2);
	r.duration = 61.5;
	m = manifest(&r, "book", NULL, &err, &st);
	EXPECT_EQ_INT(st, TS_OK);
	EXPECT_EQ_INT(json_array_size(json_object_get(m, "items")), 2);
	EXPECT_EQ_STR(str(m, "items/0/label/none/0"), "ch1");
	EXPECT(json_real_value(json_object_get(json_array_get(json_object_get(m, "items"), 0),
	                                       "duration")) == 61.5);
	EXPECT(!json_object_get(json_array_get(json_object_get(m, "items"), 0), "width"));
	EXPECT_EQ_STR(str(m, "items/0/items/0/items/0/body/type"), "Sound");
	EXPECT_EQ_STR(str(m, "items/0/items/0/items/0/body/format"), "audio/mpeg");
	EXPECT_EQ_STR(str(m, "items/0/items/0/items/0/body/id"),
	              "https://example.org/iiif/book/res/ch1.mp3");
	EXPECT_EQ_STR(str(m, "items/0/annotations/0/items/0/body/format"), "text/vtt");
	EXPECT_EQ_STR(str(m, "items/0/annotations/0/items/0/motivation"), "supplementing");
	EXPECT_EQ_STR(str(m, "rendering/0/format"), "application/pdf");
	EXPECT_EQ_STR(str(m, "thumbnail/0/id"),
	              "https://example.org/iiif/3/book%2Fcover.tif/full/300,300/0/default.jpg");
	json_decref(m);
	pf_destroy(&r);
}

static void a_video_gets_its_size_and_the_picture_of_its_basename(void)
{
	struct pf_root r;
	struct ts_error err;
	ts_status st;
	json_t *m;

	pf_create(&r);
	pf_mkdir(&r, "v");
	pf_file(&r, "v/clip.mp4", "x");
	pf_tiff(&r, "v/clip.tif", 320, 240, 1);
	r.duration = 4;
	r.video_w = 320;
	r.video_h = 240;
	m = manifest(&r, "v", NULL, &err, &st);
	EXPECT_EQ_INT(st, TS_OK);
	EXPECT_EQ_INT(json_array_size(json_object_get(m, "items")), 1);
	EXPECT_EQ_INT(num(m, "items/0/width"), 320);
	EXPECT_EQ_INT(num(m, "items/0/height"), 240);
	EXPECT_EQ_STR(str(m, "items/0/items/0/items/0/body/type"), "Video");
	EXPECT_EQ_INT(num(m, "items/0/items/0/items/0/body/width"), 320);
	EXPECT_EQ_STR(str(m, "items/0/thumbnail/0/id"),
	              "https://example.org/iiif/3/v%2Fclip.tif/full/320,240/0/default.jpg");
	json_decref(m);
	/* the same clip in a second encoding has the same picture */
	pf_file(&r, "v/clip.webm", "x");
	m = manifest(&r, "v", NULL, &err, &st);
	EXPECT_EQ_INT(st, TS_OK);
	EXPECT_EQ_INT(json_array_size(json_object_get(m, "items")), 2);
	EXPECT_EQ_STR(str(m, "items/1/items/0/items/0/body/format"), "video/webm");
	EXPECT_EQ_STR(str(m, "items/1/thumbnail/0/id"),
	              "https://example.org/iiif/3/v%2Fclip.tif/full/320,240/0/default.jpg");
	json_decref(m);
	pf_destroy(&r);
}

static void a_sound_without_a_duration_is_an_error_naming_the_file(void)
{
	struct pf_root r;
	struct ts_error err;
	ts_status st;

	pf_create(&r);
	pf_mkdir(&r, "rec");
	pf_file(&r, "rec/side-a.ogg", "x");
	r.duration = 0;
	EXPECT(!manifest(&r, "rec", NULL, &err, &st));
	EXPECT_EQ_INT(st, TS_EINTERNAL);
	EXPECT(strstr(err.msg, "rec/side-a.ogg") != NULL);
	/* the sidecar may give it */
	pf_file(&r, "rec/iiif.json", "{\"items\": [{\"file\": \"side-a.ogg\", \"duration\": 9.5}]}");
	{
		json_t *m = manifest(&r, "rec", NULL, &err, &st);
		EXPECT_EQ_INT(st, TS_OK);
		EXPECT(m && json_real_value(json_object_get(json_array_get(json_object_get(m, "items"), 0),
		                                          "duration")) == 9.5);
		json_decref(m);
	}
	pf_destroy(&r);
}

static void a_sidecar_orders_labels_and_structures_the_item(void)
{
	struct pf_root r;
	struct ts_error err;
	ts_status st;
	json_t *m;

	pf_create(&r);
	pf_mkdir(&r, "l");
	pf_tiff(&r, "l/p1.tif", 100, 100, 1);
	pf_tiff(&r, "l/p2.tif", 100, 100, 1);
	pf_tiff(&r, "l/p3.tif", 100, 100, 1);
	pf_file(&r, "l/iiif.json",
	        "{\"label\": \"Letter\", \"language\": \"en\","
	        " \"metadata\": [{\"label\": \"Creator\", \"value\": \"A. Writer\"}],"
	        " \"behavior\": [\"paged\"], \"start\": \"p1.tif\","
	        " \"items\": [{\"file\": \"p2.tif\", \"label\": \"Recto\"}],"
	        " \"exclude\": [\"p3.tif\"],"
	        " \"structures\": [{\"label\": \"Contents\", \"items\": [\"p2.tif\","
	        "   {\"label\": \"Detail\", \"id\": \"detail\", \"items\": [{\"file\": \"p1.tif\", \"xywh\": [1, 2, 30, 40]}]}]}]}");
	m = manifest(&r, "l", NULL, &err, &st);
	EXPECT_EQ_INT(st, TS_OK);
	if (!m)
		printf("    %s\n", err.msg);
	EXPECT_EQ_STR(str(m, "label/en/0"), "Letter");
	EXPECT_EQ_STR(str(m, "metadata/0/value/en/0"), "A. Writer");
	EXPECT_EQ_STR(str(m, "behavior/0"), "paged");
	EXPECT_EQ_INT(json_array_size(json_object_get(m, "items")), 2);
	EXPECT_EQ_STR(str(m, "items/0/label/en/0"), "Recto");
	EXPECT_EQ_STR(str(m, "items/1/label/en/0"), "p1");
	EXPECT_EQ_STR(str(m, "start/id"), "https://example.org/iiif/3/l/canvas/p2");
	EXPECT_EQ_STR(str(m, "structures/0/id"), "https://example.org/iiif/3/l/range/r1");
	EXPECT_EQ_STR(str(m, "structures/0/items/0/id"), "https://example.org/iiif/3/l/canvas/p1");
	EXPECT_EQ_STR(str(m, "structures/0/items/1/id"), "https://example.org/iiif/3/l/range/detail");
	EXPECT_EQ_STR(str(m, "structures/0/items/1/items/0/id"),
	              "https://example.org/iiif/3/l/canvas/p2#xywh=1,2,30,40");
	json_decref(m);
	pf_destroy(&r);
}

static void single_resources_are_cut_out_with_their_context(void)
{
	struct pf_root r;
	struct ts_error err;
	struct ts_present_part part;
	ts_status st;
	json_t *m;

	pf_create(&r);
	pf_mkdir(&r, "b");
	pf_tiff(&r, "b/a.tif", 100, 100, 1);
	pf_tiff(&r, "b/b.tif", 100, 100, 1);
	part.kind = "canvas";
	part.name = "p2";
	m = manifest(&r, "b", &part, &err, &st);
	EXPECT_EQ_INT(st, TS_OK);
	EXPECT_EQ_STR(str(m, "@context"), "http://iiif.io/api/presentation/3/context.json");
	EXPECT_EQ_STR(str(m, "id"), "https://example.org/iiif/3/b/canvas/p2");
	EXPECT_EQ_STR(str(m, "type"), "Canvas");
	json_decref(m);
	part.kind = "page";
	part.name = "p1/1";
	m = manifest(&r, "b", &part, &err, &st);
	EXPECT_EQ_STR(str(m, "type"), "AnnotationPage");
	json_decref(m);
	part.kind = "annotation";
	part.name = "p1-image";
	m = manifest(&r, "b", &part, &err, &st);
	EXPECT_EQ_STR(str(m, "type"), "Annotation");
	json_decref(m);
	part.kind = "canvas";
	part.name = "p3";
	m = manifest(&r, "b", &part, &err, &st);
	EXPECT(!m);
	EXPECT_EQ_INT(st, TS_ENOTFOUND);
	pf_destroy(&r);
}

static void a_bad_sidecar_is_an_error_naming_the_item_and_the_field(void)
{
	struct pf_root r;
	struct ts_error err;
	ts_status st;

	pf_create(&r);
	pf_mkdir(&r, "l");
	pf_tiff(&r, "l/p1.tif", 100, 100, 1);
	pf_file(&r, "l/iiif.json", "{\"behavior\": [\"sideways\"]}");
	EXPECT(!manifest(&r, "l", NULL, &err, &st));
	EXPECT_EQ_INT(st, TS_EINTERNAL);
	EXPECT(strstr(err.msg, "l/iiif.json") != NULL);
	EXPECT(strstr(err.msg, "behavior") != NULL);
	pf_file(&r, "l/iiif.json", "{\"items\": [\"missing.tif\"]}");
	EXPECT(!manifest(&r, "l", NULL, &err, &st));
	EXPECT(strstr(err.msg, "items[0]") != NULL);
	pf_file(&r, "l/iiif.json", "{\"label\": \"ok\"}");
	pf_file(&r, "metadata.csv", "folder,navDate\nl,yesterday\n");
	EXPECT(!manifest(&r, "l", NULL, &err, &st));
	EXPECT(strstr(err.msg, "metadata.csv") != NULL && strstr(err.msg, "navDate") != NULL);
	pf_destroy(&r);
}

static void a_csv_row_fills_what_the_sidecar_lacks(void)
{
	struct pf_root r;
	struct ts_error err;
	ts_status st;
	json_t *m;

	pf_create(&r);
	pf_mkdir(&r, "l");
	pf_tiff(&r, "l/p1.tif", 100, 100, 1);
	pf_file(&r, "metadata.csv", "folder,label,summary,Creator\nl,From CSV,CSV summary,Someone\n");
	pf_file(&r, "l/iiif.json", "{\"label\": \"Own label\"}");
	m = manifest(&r, "l", NULL, &err, &st);
	EXPECT_EQ_INT(st, TS_OK);
	EXPECT_EQ_STR(str(m, "label/none/0"), "Own label");
	EXPECT_EQ_STR(str(m, "summary/none/0"), "CSV summary");
	EXPECT_EQ_STR(str(m, "metadata/0/label/none/0"), "Creator");
	json_decref(m);
	pf_destroy(&r);
}

static void a_collection_lists_folders_then_loose_files_with_thumbnails(void)
{
	struct pf_root r;
	struct ts_buf b = TS_BUF_INIT;
	struct ts_error err;
	json_t *c;

	pf_create(&r);
	pf_mkdir(&r, "letters");
	pf_mkdir(&r, "letters/l10");
	pf_mkdir(&r, "letters/l9");
	pf_mkdir(&r, "letters/sub");
	pf_mkdir(&r, "letters/sub/x");
	pf_mkdir(&r, "letters/empty");
	pf_tiff(&r, "letters/l10/p1.tif", 100, 100, 1);
	pf_tiff(&r, "letters/l9/p1.tif", 800, 600, 2);
	pf_tiff(&r, "letters/sub/x/p.tif", 100, 100, 1);
	pf_tiff(&r, "letters/a-loose.tif", 100, 50, 1);
	EXPECT_EQ_INT(ts_present_collection(&r.ctx, "letters", 3, &b, &err), TS_OK);
	c = json_loadb((const char *)b.data, b.len, 0, NULL);
	EXPECT_EQ_STR(str(c, "id"), "https://example.org/iiif/3/collection/letters");
	EXPECT_EQ_STR(str(c, "type"), "Collection");
	EXPECT_EQ_INT(json_array_size(json_object_get(c, "items")), 4);
	EXPECT_EQ_STR(str(c, "items/0/id"), "https://example.org/iiif/3/letters%2Fl9/manifest");
	EXPECT_EQ_STR(str(c, "items/0/type"), "Manifest");
	EXPECT_EQ_STR(str(c, "items/0/thumbnail/0/id"),
	              "https://example.org/iiif/3/letters%2Fl9%2Fp1.tif/full/400,300/0/default.jpg");
	EXPECT_EQ_STR(str(c, "items/1/id"), "https://example.org/iiif/3/letters%2Fl10/manifest");
	EXPECT_EQ_STR(str(c, "items/2/id"), "https://example.org/iiif/3/collection/letters%2Fsub");
	EXPECT_EQ_STR(str(c, "items/2/type"), "Collection");
	EXPECT(str(c, "items/2/thumbnail/0/id") != NULL);
	EXPECT_EQ_STR(str(c, "items/3/id"),
	              "https://example.org/iiif/3/letters%2Fa-loose.tif/manifest");
	EXPECT_EQ_STR(str(c, "partOf/0/id"), "https://example.org/iiif/3/collection/top");
	json_decref(c);
	ts_buf_free(&b);
	/* a loose video is a member whose picture is the image of its basename */
	pf_file(&r, "letters/film.mp4", "x");
	pf_tiff(&r, "letters/film.tif", 160, 120, 1);
	EXPECT_EQ_INT(ts_present_collection(&r.ctx, "letters", 3, &b, &err), TS_OK);
	c = json_loadb((const char *)b.data, b.len, 0, NULL);
	EXPECT_EQ_STR(str(c, "items/4/id"), "https://example.org/iiif/3/letters%2Ffilm.mp4/manifest");
	EXPECT_EQ_STR(str(c, "items/4/thumbnail/0/service/0/id"),
	              "https://example.org/iiif/3/letters%2Ffilm.tif");
	json_decref(c);
	ts_buf_free(&b);
	/* the root is "top" */
	EXPECT_EQ_INT(ts_present_collection(&r.ctx, "", 3, &b, &err), TS_OK);
	c = json_loadb((const char *)b.data, b.len, 0, NULL);
	EXPECT_EQ_STR(str(c, "id"), "https://example.org/iiif/3/collection/top");
	EXPECT_EQ_STR(str(c, "items/0/id"), "https://example.org/iiif/3/collection/letters");
	json_decref(c);
	ts_buf_free(&b);
	/* an item is not a collection */
	EXPECT_EQ_INT(ts_present_collection(&r.ctx, "letters/l9", 3, &b, &err), TS_ENOTFOUND);
	ts_buf_free(&b);
	pf_destroy(&r);
}

static json_t *collection(struct pf_root *r, const char *folder)
{
	struct ts_buf b = TS_BUF_INIT;
	struct ts_error err;
	json_t *c = NULL;

	if (ts_present_collection(&r->ctx, folder, 3, &b, &err) == TS_OK)
		c = json_loadb((const char *)b.data, b.len, 0, NULL);
	ts_buf_free(&b);
	return c;
}

/* The label a member has in its collection is the one its own document
 * has: a viewer shows the first in the list and the second once opened. */
static void a_member_is_labelled_as_its_own_document_labels_itself(void)
{
	static const char *const members[] = { "a", "b", "c", "d", "e.tif", "f.tif" };
	struct pf_root r;
	struct ts_error err;
	ts_status st;
	json_t *c, *m;

	pf_create(&r);
	pf_file(&r, "iiif.json", "{\"label\": \"Root\", \"language\": \"en\"}");
	pf_file(&r, "metadata.csv", "folder,label,Creator\nc,Row label,Someone\nd,,Someone\n"
	                            "f.tif,File row,Someone\n");
	pf_mkdir(&r, "a");   /* no sidecar, no row: its name, "none" */
	pf_tiff(&r, "a/p1.tif", 100, 100, 1);
	pf_mkdir(&r, "b");   /* its own sidecar and language */
	pf_tiff(&r, "b/p1.tif", 100, 100, 1);
	pf_file(&r, "b/iiif.json", "{\"label\": \"Bee\", \"language\": \"fr\"}");
	pf_mkdir(&r, "c");   /* a labelled row, in the root's language */
	pf_tiff(&r, "c/p1.tif", 100, 100, 1);
	pf_mkdir(&r, "d");   /* a row without a label */
	pf_mkdir(&r, "d/x");
	pf_tiff(&r, "d/x/p1.tif", 100, 100, 1);
	pf_tiff(&r, "e.tif", 100, 100, 1);
	pf_tiff(&r, "f.tif", 100, 100, 1);
	c = collection(&r, "");
	EXPECT(c != NULL);
	EXPECT_EQ_INT(json_array_size(json_object_get(c, "items")), 6);
	EXPECT_EQ_STR(str(c, "items/0/label/none/0"), "a");
	EXPECT_EQ_STR(str(c, "items/1/label/fr/0"), "Bee");
	EXPECT_EQ_STR(str(c, "items/2/label/en/0"), "Row label");
	for (size_t i = 0; i < sizeof members / sizeof *members; i++) {
		json_t *own = NULL, *mb = json_array_get(json_object_get(c, "items"), i);

		if (i == 3) {
			own = collection(&r, members[i]);
		} else {
			m = manifest(&r, members[i], NULL, &err, &st);
			EXPECT_EQ_INT(st, TS_OK);
			own = m;
		}
		EXPECT(own && mb && json_equal(json_object_get(own, "label"), json_object_get(mb, "label")));
		if (own && mb && !json_equal(json_object_get(own, "label"), json_object_get(mb, "label")))
			fprintf(stderr, "  member %s: the collection's label differs from its own\n",
			        members[i]);
		json_decref(own);
	}
	json_decref(c);
	pf_destroy(&r);
}

/* Every picture is a size the server makes within its decode budget: an
 * unpyramided image (its only sizes entry is its full size) gets a
 * thumbnail and a body scaled to 400 and 1024, not the whole image; one
 * the server cannot make whole within max_decode_pixels is no canvas (403
 * naming it) and no member. */
static void pictures_are_sizes_the_server_makes_within_its_budget(void)
{
	struct pf_root r;
	struct ts_error err;
	ts_status st;
	json_t *m, *c;

	pf_create(&r);
	pf_tiff(&r, "flat.tif", 1600, 1200, 1);
	pf_tiff(&r, "tall.tif", 300, 2000, 1);
	pf_tiff(&r, "pyr.tif", 1600, 1200, 3);    /* 800x600, 400x300 */
	m = manifest(&r, "flat.tif", NULL, &err, &st);
	EXPECT_EQ_INT(st, TS_OK);
	EXPECT_EQ_STR(str(m, "thumbnail/0/id"),
	              "https://example.org/iiif/3/flat.tif/full/400,300/0/default.jpg");
	EXPECT_EQ_INT(num(m, "thumbnail/0/width"), 400);
	EXPECT_EQ_STR(str(m, "items/0/items/0/items/0/body/id"),
	              "https://example.org/iiif/3/flat.tif/full/1024,768/0/default.jpg");
	EXPECT_EQ_INT(num(m, "items/0/items/0/items/0/body/height"), 768);
	EXPECT_EQ_INT(num(m, "items/0/width"), 1600);   /* the canvas keeps the image's size */
	json_decref(m);
	m = manifest(&r, "tall.tif", NULL, &err, &st);
	EXPECT_EQ_STR(str(m, "thumbnail/0/id"),
	              "https://example.org/iiif/3/tall.tif/full/60,400/0/default.jpg");
	json_decref(m);
	/* a pyramid keeps its sizes entries */
	m = manifest(&r, "pyr.tif", NULL, &err, &st);
	EXPECT_EQ_STR(str(m, "thumbnail/0/id"),
	              "https://example.org/iiif/3/pyr.tif/full/400,300/0/default.jpg");
	EXPECT_EQ_STR(str(m, "items/0/items/0/items/0/body/id"),
	              "https://example.org/iiif/3/pyr.tif/full/800,600/0/default.jpg");
	json_decref(m);
	/* a budget of a million pixels: the flat image is over it, the
	 * pyramid's 800x600 level within (and its full size not) */
	r.ctx.max_decode_pixels = 1000000;
	m = manifest(&r, "flat.tif", NULL, &err, &st);
	EXPECT_EQ_INT(st, TS_EFORBIDDEN);
	EXPECT(m == NULL && strstr(err.msg, "flat.tif") && strstr(err.msg, "max_decode_pixels"));
	json_decref(m);
	m = manifest(&r, "pyr.tif", NULL, &err, &st);
	EXPECT_EQ_INT(st, TS_OK);
	EXPECT_EQ_STR(str(m, "items/0/items/0/items/0/body/id"),
	              "https://example.org/iiif/3/pyr.tif/full/800,600/0/default.jpg");
	json_decref(m);
	c = collection(&r, "");
	EXPECT_EQ_INT(json_array_size(json_object_get(c, "items")), 2);   /* pyr, tall */
	EXPECT_EQ_STR(str(c, "items/0/id"), "https://example.org/iiif/3/pyr.tif/manifest");
	EXPECT_EQ_STR(str(c, "items/1/id"), "https://example.org/iiif/3/tall.tif/manifest");
	EXPECT_EQ_STR(str(c, "items/0/thumbnail/0/id"),
	              "https://example.org/iiif/3/pyr.tif/full/400,300/0/default.jpg");
	json_decref(c);
	/* a cover over the budget beside a sound is simply no thumbnail */
	pf_mkdir(&r, "s");
	pf_file(&r, "s/a.mp3", "x");
	pf_tiff(&r, "s/a.tif", 1600, 1200, 1);
	m = manifest(&r, "s", NULL, &err, &st);
	EXPECT_EQ_INT(st, TS_OK);
	EXPECT(json_object_get(m, "thumbnail") == NULL);
	EXPECT(str(m, "items/0/thumbnail/0/id") == NULL);
	json_decref(m);
	pf_destroy(&r);
}

static void the_fingerprint_follows_the_files_and_the_parent_csv(void)
{
	struct pf_root r;
	struct ts_error err;
	uint64_t a, b, c;

	pf_create(&r);
	pf_mkdir(&r, "l");
	pf_tiff(&r, "l/p1.tif", 100, 100, 1);
	EXPECT_EQ_INT(ts_present_fingerprint(&r.ctx, "l", false, &a, &err), TS_OK);
	pf_file(&r, "metadata.csv", "folder,label\nl,x\n");
	EXPECT_EQ_INT(ts_present_fingerprint(&r.ctx, "l", false, &b, &err), TS_OK);
	EXPECT(a != b);
	pf_tiff(&r, "l/p2.tif", 100, 100, 1);
	EXPECT_EQ_INT(ts_present_fingerprint(&r.ctx, "l", false, &c, &err), TS_OK);
	EXPECT(c != b);
	/* a collection sees its members' files */
	EXPECT_EQ_INT(ts_present_fingerprint(&r.ctx, "", true, &a, &err), TS_OK);
	pf_tiff(&r, "l/p3.tif", 100, 100, 1);
	EXPECT_EQ_INT(ts_present_fingerprint(&r.ctx, "", true, &b, &err), TS_OK);
	EXPECT(a != b);
	pf_destroy(&r);
}

static void every_sidecar_field_reaches_the_manifest(void)
{
	struct pf_root r;
	struct ts_error err;
	ts_status st;
	json_t *m;

	pf_create(&r);
	pf_mkdir(&r, "l");
	pf_tiff(&r, "l/p001.tif", 100, 100, 1);
	pf_tiff(&r, "l/p002.tif", 100, 100, 1);
	pf_file(&r, "l/letter.pdf", "%PDF-1.4");
	pf_file(&r, "l/_logo.png", "x");
	pf_file(&r, "l/iiif.json",
	        "{\"label\": \"L\", \"navDate\": \"1871-04-02T00:00:00Z\","
	        " \"viewingDirection\": \"right-to-left\","
	        " \"homepage\": \"https://example.org/items/1\","
	        " \"provider\": {\"id\": \"https://example.org/about\", \"label\": \"Archive\","
	        "   \"homepage\": \"https://example.org/\", \"logo\": \"_logo.png\"},"
	        " \"rendering\": [{\"file\": \"letter.pdf\", \"label\": \"PDF version\"}],"
	        " \"seeAlso\": [{\"id\": \"https://example.org/marc/1.xml\", \"type\": \"Dataset\","
	        "   \"format\": \"application/marcxml+xml\"}],"
	        " \"thumbnail\": \"p002.tif\"}");
	m = manifest(&r, "l", NULL, &err, &st);
	EXPECT_EQ_INT(st, TS_OK);
	if (!m) {
		printf("    %s\n", err.msg);
		pf_destroy(&r);
		return;
	}
	EXPECT_EQ_STR(str(m, "navDate"), "1871-04-02T00:00:00Z");
	EXPECT_EQ_STR(str(m, "viewingDirection"), "right-to-left");
	EXPECT_EQ_STR(str(m, "homepage/0/id"), "https://example.org/items/1");
	EXPECT_EQ_STR(str(m, "homepage/0/type"), "Text");
	EXPECT_EQ_STR(str(m, "provider/0/type"), "Agent");
	EXPECT_EQ_STR(str(m, "provider/0/homepage/0/id"), "https://example.org/");
	EXPECT_EQ_STR(str(m, "provider/0/logo/0/id"), "https://example.org/iiif/l/res/_logo.png");
	EXPECT_EQ_STR(str(m, "rendering/0/id"), "https://example.org/iiif/l/res/letter.pdf");
	EXPECT_EQ_STR(str(m, "rendering/0/label/none/0"), "PDF version");
	EXPECT_EQ_STR(str(m, "rendering/0/format"), "application/pdf");
	EXPECT_EQ_STR(str(m, "seeAlso/0/format"), "application/marcxml+xml");
	EXPECT_EQ_STR(str(m, "thumbnail/0/service/0/id"), "https://example.org/iiif/3/l%2Fp002.tif");
	/* the PDF is a rendering here, not a canvas: images outrank it */
	EXPECT_EQ_INT(json_array_size(json_object_get(m, "items")), 2);
	json_decref(m);
	pf_destroy(&r);
}

static void a_pdf_alone_is_a_text_canvas_and_a_model_a_model_canvas(void)
{
	struct pf_root r;
	struct ts_error err;
	ts_status st;
	json_t *m;

	pf_create(&r);
	pf_mkdir(&r, "doc");
	pf_file(&r, "doc/report.pdf", "%PDF-1.4");
	m = manifest(&r, "doc", NULL, &err, &st);
	EXPECT_EQ_INT(st, TS_OK);
	EXPECT_EQ_STR(str(m, "items/0/items/0/items/0/body/type"), "Text");
	EXPECT_EQ_STR(str(m, "items/0/items/0/items/0/body/format"), "application/pdf");
	EXPECT(num(m, "items/0/width") > 0 && num(m, "items/0/height") > 0);
	/* §5: and a rendering link, for the viewers that do not paint Text */
	EXPECT_EQ_INT(json_array_size(json_object_get(m, "rendering")), 1);
	EXPECT_EQ_STR(str(m, "rendering/0/id"), "https://example.org/iiif/doc/res/report.pdf");
	EXPECT_EQ_STR(str(m, "rendering/0/format"), "application/pdf");
	json_decref(m);
	pf_mkdir(&r, "vase");
	pf_file(&r, "vase/vase.glb", "glTF");
	pf_tiff(&r, "vase/texture.tif", 64, 64, 1);
	m = manifest(&r, "vase", NULL, &err, &st);
	EXPECT_EQ_INT(st, TS_OK);
	EXPECT_EQ_INT(json_array_size(json_object_get(m, "items")), 1);
	EXPECT_EQ_STR(str(m, "items/0/items/0/items/0/body/type"), "Model");
	EXPECT_EQ_STR(str(m, "items/0/items/0/items/0/body/format"), "model/gltf-binary");
	json_decref(m);
	pf_destroy(&r);
}

static void a_hand_made_manifest_is_served_with_the_public_base(void)
{
	struct pf_root r;
	struct ts_error err;
	ts_status st;
	json_t *m;

	pf_create(&r);
	pf_mkdir(&r, "hand");
	pf_tiff(&r, "hand/p.tif", 64, 64, 1);
	pf_file(&r, "hand/manifest.json",
	        "{\"@context\": \"http://iiif.io/api/presentation/3/context.json\","
	        " \"id\": \"https://tessera.invalid/iiif/3/hand/manifest\", \"type\": \"Manifest\","
	        " \"label\": {\"en\": [\"By hand\"]}, \"items\": []}");
	m = manifest(&r, "hand", NULL, &err, &st);
	EXPECT_EQ_INT(st, TS_OK);
	EXPECT_EQ_STR(str(m, "id"), "https://example.org/iiif/3/hand/manifest");
	EXPECT_EQ_STR(str(m, "label/en/0"), "By hand");
	json_decref(m);
	pf_destroy(&r);
}

int main(void)
{
	RUN(folders_are_items_or_collections_by_what_they_hold);
	RUN(an_image_folder_gives_canvases_in_natural_order_sized_like_info_json);
	RUN(the_same_folder_gives_the_same_bytes);
	RUN(a_single_image_file_is_a_one_canvas_manifest);
	RUN(sound_outranks_images_which_become_the_cover);
	RUN(a_video_gets_its_size_and_the_picture_of_its_basename);
	RUN(a_sound_without_a_duration_is_an_error_naming_the_file);
	RUN(a_sidecar_orders_labels_and_structures_the_item);
	RUN(single_resources_are_cut_out_with_their_context);
	RUN(a_bad_sidecar_is_an_error_naming_the_item_and_the_field);
	RUN(a_csv_row_fills_what_the_sidecar_lacks);
	RUN(a_collection_lists_folders_then_loose_files_with_thumbnails);
	RUN(a_member_is_labelled_as_its_own_document_labels_itself);
	RUN(pictures_are_sizes_the_server_makes_within_its_budget);
	RUN(the_fingerprint_follows_the_files_and_the_parent_csv);
	RUN(every_sidecar_field_reaches_the_manifest);
	RUN(a_pdf_alone_is_a_text_canvas_and_a_model_a_model_canvas);
	RUN(a_hand_made_manifest_is_served_with_the_public_base);
	return CHECK_DONE();
}
