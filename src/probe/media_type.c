/*
 * media_type.c - the file-type table of publishing (media.h): a file name's
 * extension to its IIIF type and the exact media type served and published.
 *
 * The strings are fixed by presentation.md §1: the Universal Viewer picks
 * its player by an exact match of `format` (audio/webm gets only a download
 * link), and the body's `format` must equal the Content-Type that
 * /iiif/{item}/res/{file} serves, so both come from this one table.
 */
#include <string.h>
#include <strings.h>

#include "tessera/media.h"

static const struct ts_media_type types[] = {
	/* images: everything the image server reads */
	{ "tif",  "image/tiff", TS_MEDIA_IMAGE, "Image" },
	{ "tiff", "image/tiff", TS_MEDIA_IMAGE, "Image" },
	{ "ptif", "image/tiff", TS_MEDIA_IMAGE, "Image" },
	{ "jp2",  "image/jp2",  TS_MEDIA_IMAGE, "Image" },
	{ "j2k",  "image/jp2",  TS_MEDIA_IMAGE, "Image" },
	{ "jpx",  "image/jpx",  TS_MEDIA_IMAGE, "Image" },
	/* HTJ2K (ISO/IEC 15444-15 Annex D): JPH box files and raw codestreams */
	{ "jph",  "image/jph",  TS_MEDIA_IMAGE, "Image" },
	{ "jhc",  "image/jphc", TS_MEDIA_IMAGE, "Image" },
	{ "j2c",  "image/j2c",  TS_MEDIA_IMAGE, "Image" },
	{ "jpg",  "image/jpeg", TS_MEDIA_IMAGE, "Image" },
	{ "jpeg", "image/jpeg", TS_MEDIA_IMAGE, "Image" },
	{ "png",  "image/png",  TS_MEDIA_IMAGE, "Image" },
	/* sound */
	{ "mp3",  "audio/mpeg", TS_MEDIA_SOUND, "Sound" },
	{ "m4a",  "audio/mp4",  TS_MEDIA_SOUND, "Sound" },
	{ "ogg",  "audio/ogg",  TS_MEDIA_SOUND, "Sound" },
	{ "oga",  "audio/ogg",  TS_MEDIA_SOUND, "Sound" },
	{ "opus", "audio/ogg",  TS_MEDIA_SOUND, "Sound" },
	{ "wav",  "audio/wav",  TS_MEDIA_SOUND, "Sound" },
	{ "flac", "audio/flac", TS_MEDIA_SOUND, "Sound" },
	/* video (a container without a video track is published as Sound) */
	{ "mp4",  "video/mp4",  TS_MEDIA_VIDEO, "Video" },
	{ "m4v",  "video/mp4",  TS_MEDIA_VIDEO, "Video" },
	{ "webm", "video/webm", TS_MEDIA_VIDEO, "Video" },
	{ "ogv",  "video/ogg",  TS_MEDIA_VIDEO, "Video" },
	/* documents and models */
	{ "pdf",  "application/pdf", TS_MEDIA_TEXT, "Text" },
	{ "glb",  "model/gltf-binary", TS_MEDIA_MODEL, "Model" },
	{ "gltf", "model/gltf+json", TS_MEDIA_MODEL, "Model" },
	/* beside the painted files */
	{ "vtt",  "text/vtt", TS_MEDIA_CAPTIONS, "Text" },
	{ "xml",  "application/xml", TS_MEDIA_SEEALSO, "Dataset" },
	{ "alto", "application/xml", TS_MEDIA_SEEALSO, "Dataset" },
	{ "hocr", "text/vnd.hocr+html", TS_MEDIA_SEEALSO, "Dataset" },
	{ "epub", "application/epub+zip", TS_MEDIA_RENDERING, "Text" },
	{ "zip",  "application/zip", TS_MEDIA_RENDERING, "Dataset" },
};

const struct ts_media_type *ts_media_type_of(const char *name)
{
	const char *dot = name ? strrchr(name, '.') : NULL;

	if (!dot || dot == name || !dot[1])
		return NULL;
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strcasecmp(dot + 1, types[i].ext) == 0)
			return &types[i];
	return NULL;
}
