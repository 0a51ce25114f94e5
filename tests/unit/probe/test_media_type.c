/*
 * test_media_type.c - the publishing file-type table (media_type.c): each
 * extension gives the exact media type viewers match on and its IIIF type,
 * case does not matter, and names without a known extension are not
 * published.
 */
#include "check.h"
#include "tessera/media.h"

static void sound_extensions_give_the_exact_audio_types(void)
{
	static const struct { const char *name, *mime; } sound[] = {
		{ "a.mp3", "audio/mpeg" }, { "a.m4a", "audio/mp4" }, { "a.ogg", "audio/ogg" },
		{ "a.oga", "audio/ogg" }, { "a.opus", "audio/ogg" }, { "a.wav", "audio/wav" },
		{ "a.flac", "audio/flac" },
	};
	for (size_t i = 0; i < sizeof sound / sizeof sound[0]; i++) {
		const struct ts_media_type *t = ts_media_type_of(sound[i].name);
		EXPECT(t != NULL);
		if (!t)
			continue;
		EXPECT_EQ_STR(t->mime, sound[i].mime);
		EXPECT_EQ_INT(t->kind, TS_MEDIA_SOUND);
		EXPECT_EQ_STR(t->iiif_type, "Sound");
	}
}

static void video_extensions_give_the_exact_video_types(void)
{
	static const struct { const char *name, *mime; } video[] = {
		{ "v.mp4", "video/mp4" }, { "v.m4v", "video/mp4" }, { "v.webm", "video/webm" },
		{ "v.ogv", "video/ogg" },
	};
	for (size_t i = 0; i < sizeof video / sizeof video[0]; i++) {
		const struct ts_media_type *t = ts_media_type_of(video[i].name);
		EXPECT(t != NULL);
		if (!t)
			continue;
		EXPECT_EQ_STR(t->mime, video[i].mime);
		EXPECT_EQ_INT(t->kind, TS_MEDIA_VIDEO);
		EXPECT_EQ_STR(t->iiif_type, "Video");
	}
}

static void images_documents_and_companions_have_their_kinds(void)
{
	EXPECT_EQ_INT(ts_media_type_of("p.tif")->kind, TS_MEDIA_IMAGE);
	EXPECT_EQ_STR(ts_media_type_of("p.ptif")->mime, "image/tiff");
	EXPECT_EQ_STR(ts_media_type_of("p.jp2")->mime, "image/jp2");
	/* HTJ2K (Part 15): box files and raw codestreams are images too */
	EXPECT_EQ_STR(ts_media_type_of("p.jph")->mime, "image/jph");
	EXPECT_EQ_INT(ts_media_type_of("p.JHC")->kind, TS_MEDIA_IMAGE);
	EXPECT_EQ_INT(ts_media_type_of("p.j2c")->kind, TS_MEDIA_IMAGE);
	EXPECT_EQ_STR(ts_media_type_of("p.jpeg")->iiif_type, "Image");
	EXPECT_EQ_INT(ts_media_type_of("d.pdf")->kind, TS_MEDIA_TEXT);
	EXPECT_EQ_STR(ts_media_type_of("m.glb")->mime, "model/gltf-binary");
	EXPECT_EQ_INT(ts_media_type_of("m.gltf")->kind, TS_MEDIA_MODEL);
	EXPECT_EQ_INT(ts_media_type_of("c.vtt")->kind, TS_MEDIA_CAPTIONS);
	EXPECT_EQ_STR(ts_media_type_of("c.vtt")->mime, "text/vtt");
	EXPECT_EQ_INT(ts_media_type_of("o.alto")->kind, TS_MEDIA_SEEALSO);
	EXPECT_EQ_STR(ts_media_type_of("o.hocr")->mime, "text/vnd.hocr+html");
	EXPECT_EQ_INT(ts_media_type_of("b.epub")->kind, TS_MEDIA_RENDERING);
	EXPECT_EQ_STR(ts_media_type_of("b.zip")->iiif_type, "Dataset");
}

static void case_does_not_matter_and_the_last_dot_counts(void)
{
	EXPECT_EQ_STR(ts_media_type_of("SIDE-A.MP3")->mime, "audio/mpeg");
	EXPECT_EQ_STR(ts_media_type_of("clip.WebM")->mime, "video/webm");
	EXPECT_EQ_STR(ts_media_type_of("archive.tar.zip")->mime, "application/zip");
	EXPECT_EQ_STR(ts_media_type_of("dir.v2/x.flac")->mime, "audio/flac");
}

static void names_without_a_known_extension_are_not_published(void)
{
	EXPECT(ts_media_type_of(NULL) == NULL);
	EXPECT(ts_media_type_of("") == NULL);
	EXPECT(ts_media_type_of("README") == NULL);
	EXPECT(ts_media_type_of(".mp3") == NULL);      /* a hidden file, not an MP3 */
	EXPECT(ts_media_type_of("song.") == NULL);
	EXPECT(ts_media_type_of("song.mp3.bak") == NULL);
	EXPECT(ts_media_type_of("x.mov") == NULL);
	EXPECT(ts_media_type_of("x.mp") == NULL);
	EXPECT(ts_media_type_of("x.mp33") == NULL);
}

int main(void)
{
	RUN(sound_extensions_give_the_exact_audio_types);
	RUN(video_extensions_give_the_exact_video_types);
	RUN(images_documents_and_companions_have_their_kinds);
	RUN(case_does_not_matter_and_the_last_dot_counts);
	RUN(names_without_a_known_extension_are_not_published);
	return CHECK_DONE();
}
