/*
 * test_media.c - which paths under /iiif are the media files route
 * (/iiif/{item}/res/{file}, presentation.md §4) and which stay with the
 * Image API and the Presentation routes (URLS.md).  What the route answers
 * is tested over HTTP by tests/http/test_media.py.
 */
#include "check.h"
#include "src/serve/serve.h"

static void item_res_file_is_the_media_route(void)
{
	EXPECT(ts_serve_is_media("/letters%2F1871-04-02/res/letter.pdf"));
	EXPECT(ts_serve_is_media("/top/res/side-a.ogg"));
	EXPECT(ts_serve_is_media("/3/res/x.mp3"));             /* a folder named "3" */
	EXPECT(ts_serve_is_media("/a/res/name%20with%20space.mp3"));
	EXPECT(ts_serve_is_media("/a/res/notes.txt"));         /* answered 404 there */
	EXPECT(ts_serve_is_media("/a/res/.hidden.mp3"));       /* answered 404 there */
}

static void image_api_paths_are_not(void)
{
	EXPECT(!ts_serve_is_media("/3/res/info.json"));        /* info.json of image "res" */
	EXPECT(!ts_serve_is_media("/res/info.json"));
	EXPECT(!ts_serve_is_media("/3/a/full/max/0/default.jpg"));
	EXPECT(!ts_serve_is_media("/a/full/max/0/default.jpg"));
	EXPECT(!ts_serve_is_media("/3/a.tif"));
	EXPECT(!ts_serve_is_media("/a.tif"));
}

static void presentation_paths_are_not(void)
{
	EXPECT(!ts_serve_is_media("/3/res/manifest"));         /* Manifest of folder "res" */
	EXPECT(!ts_serve_is_media("/res/manifest"));
	EXPECT(!ts_serve_is_media("/3/collection/top"));
	EXPECT(!ts_serve_is_media("/3/a/canvas/p1"));
	EXPECT(!ts_serve_is_media("/a/res/canvas/p1"));
	EXPECT(!ts_serve_is_media("/3/a/res/x.mp3"));          /* no versioned media form */
}

static void malformed_shapes_are_not(void)
{
	EXPECT(!ts_serve_is_media(NULL));
	EXPECT(!ts_serve_is_media(""));
	EXPECT(!ts_serve_is_media("/"));
	EXPECT(!ts_serve_is_media("//res/x.mp3"));
	EXPECT(!ts_serve_is_media("/a/res/"));
	EXPECT(!ts_serve_is_media("/a/res"));
	EXPECT(!ts_serve_is_media("/a/res/b/c.mp3"));
	EXPECT(!ts_serve_is_media("/a/res/noextension"));
	EXPECT(!ts_serve_is_media("a/res/x.mp3"));
	EXPECT(!ts_serve_is_media("/a/rest/x.mp3"));
	EXPECT(!ts_serve_is_media("/a/RES/x.mp3"));
}

int main(void)
{
	RUN(item_res_file_is_the_media_route);
	RUN(image_api_paths_are_not);
	RUN(presentation_paths_are_not);
	RUN(malformed_shapes_are_not);
	return CHECK_DONE();
}
