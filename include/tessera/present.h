/*
 * present.h - IIIF Presentation Manifests and Collections made from the
 * folder tree of the image root (src/present/; design:
 * ../shared/docs/presentation.md, URL forms: URLS.md of the worktrees).
 *
 * Pure of HTTP and logging, so the daemon (src/serve/present.c) and a
 * future `tessera manifest PATH` command share it.  Three layers:
 *
 *  1. the catalogue (catalogue.c): one folder read once (openat/fdopendir,
 *     confined to the root), its entries classified by the file-type table
 *     (media.h), in natural case-insensitive order, with the folder's
 *     fingerprint (names, sizes, mtimes, the sidecars' bytes);
 *  2. the model (model.c): an item (a folder, or one file) or a collection
 *     as plain structs - canvases with their sizes and durations, thumbnails,
 *     renderings, seeAlso, captions, ranges - after the painting rule, the
 *     sidecar (iiif.json) and the parent's metadata.csv row are applied and
 *     every canvas has been probed through the context's callbacks;
 *  3. the writers: manifest3.c / collection3.c turn a model into 3.0 JSON
 *     (a manifest2.c slots in beside them for 2.1, reading the same model).
 *
 * Identifiers (URLS.md): an item is named by its root-relative path
 * ("letters/1871-04-02", "maps/big-map.tif"); the root is "".  URLs write
 * the path percent-encoded with '/' as %2F ({fid}, {iid}, {item}).
 *
 * Errors: 404 for what does not exist or is not publishable (ignored names,
 * a path leaving the root); 500 with a public sentence naming the item path
 * and the field for a bad sidecar or CSV, or a canvas whose size or
 * duration cannot be found; 501 when a needed part is not built.
 */
#ifndef TESSERA_PRESENT_H
#define TESSERA_PRESENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "buf.h"
#include "media.h"
#include "plan.h"
#include "sidecar.h"
#include "source.h"
#include "status.h"

/* ---- context --------------------------------------------------------- */

/* What the image probe reports: the source's geometry exactly as info.json
 * uses it (size after EXIF orientation, stored levels and tiles), so the
 * embedded `sizes`/`tiles` and the canvas size agree with info.json.  icc
 * is always NULL here. */
typedef ts_status ts_present_image_fn(void *arg, const char *rel, const struct stat *st,
                                      struct ts_source_info *out, struct ts_error *err);
/* Duration and video size of a sound or video file (media.h). */
typedef ts_status ts_present_media_fn(void *arg, const char *rel, const struct stat *st,
                                      const char *mime, struct ts_media_info *out,
                                      struct ts_error *err);

struct ts_present_ctx {
	int root_fd;                    /* O_DIRECTORY descriptor of the root; borrowed */
	const char *root_path;          /* the root's realpath (symlink confinement) */
	const char *base;               /* public base URL, no trailing slash */
	const struct ts_limits *limits; /* as info.json applies them to sizes */
	uint64_t max_decode_pixels;     /* the image server's decode budget, 0 = none:
	                                 * pictures are only sizes made within it */
	bool formats[8];                /* as info.json (ts_info_params.formats) */
	bool image_service2;            /* add the ImageService2 block beside ImageService3 */
	ts_present_image_fn *probe_image;
	ts_present_media_fn *probe_media;   /* NULL: durations only from sidecars */
	void *probe_arg;
	/* NULL in the daemon; set by `tessera manifest --check`, which builds
	 * every member of a collection in turn (csv_memo.c) */
	struct ts_present_csv_memo *csv_memo;
	/* NULL, or called by ts_present_stamp with each folder it is about to
	 * read beyond the path to rel (the sub-folders, a collection's
	 * members): the folder name inside dir_fd (borrowed), or dir_fd -1
	 * for "cannot be watched" (dir_watch.h); watch_arg is its first
	 * argument. */
	void (*watch_dir)(void *watch_arg, int dir_fd, const char *name);
	void *watch_arg;
	/* NULL, or the last folder listing of this request (ts_present_scan),
	 * so the fingerprint, the warm-up and the build of one answer read a
	 * big folder once; owned by the request's caller (the daemon), who
	 * frees it with ts_catalogue_free.  One thread only. */
	struct ts_catalogue *scan_memo;
};

/* The last metadata.csv an item build read, kept parsed while the file is
 * unchanged, so that building the 100,000 items of one collection parses
 * its CSV once, not once per item.  Single-threaded: one walk owns it.
 * Zero it to start; ts_present_csv_memo_free empties it. */
struct ts_present_csv_memo {
	char *folder;              /* whose metadata.csv is held (malloc'd); NULL = none */
	struct stat st;            /* the file's identity when it was read */
	ts_status status;          /* reading and parsing it: TS_OK, or the error below */
	struct ts_error err;
	struct ts_csv csv;
	char *language;            /* the folder's iiif.json language, or NULL */
};
void ts_present_csv_memo_free(struct ts_present_csv_memo *m);

/* ---- probes (probe_source.c) ------------------------------------------ */

/* The probes the daemon and `tessera manifest` both use: images through the
 * resolver and the image readers (confined to the root, opened only as the
 * file the catalogue saw), audio and video through media.h, each result
 * kept in the probe cache by file identity.  Set probe_arg to a struct
 * ts_present_probes and probe_image/probe_media to the two functions. */
struct ts_resolver;
struct ts_probe_cache;

struct ts_present_probes {
	const struct ts_resolver *resolver;        /* borrowed */
	const struct ts_source_limits *limits;     /* borrowed (max_source_pixels, tiles) */
	struct ts_probe_cache *cache;              /* borrowed; NULL = probe every time */
};

/* ts_present_image_fn with arg a struct ts_present_probes *: the geometry of
 * image rel as info.json gives it.  404 when rel no longer is the file st
 * names; the reader's error (unreadable, larger than max_source_pixels). */
ts_status ts_present_probe_image(void *arg, const char *rel, const struct stat *st,
                                 struct ts_source_info *out, struct ts_error *err);
/* ts_present_media_fn with arg a struct ts_present_probes *: duration and
 * video size of sound or video rel (ts_media_probe_fd). */
ts_status ts_present_probe_media(void *arg, const char *rel, const struct stat *st,
                                 const char *mime, struct ts_media_info *out,
                                 struct ts_error *err);

/* ---- the one context of the daemon and the command (context.c) ------- */

struct ts_settings;

/*
 * Fill c (zeroed first) and pp the one way the daemon (serve/present.c,
 * per request) and `tessera manifest` both make them, so a Manifest printed
 * by the command is the one the server answers and a new field is set for
 * both: root_fd and resolver's root, base (the public base URL, no trailing
 * slash), limits and formats as info.json applies them, s's
 * max_decode_pixels, ImageService2 on, and the probes of probe_source.c
 * through resolver, slim and cache (NULL = probe every time) with
 * probe_arg = pp.  Everything is borrowed and must outlive c; csv_memo
 * and watch_dir stay NULL for the caller to set.
 */
void ts_present_ctx_init(struct ts_present_ctx *c, struct ts_present_probes *pp,
                         const struct ts_settings *s, const struct ts_resolver *resolver,
                         int root_fd, const char *base, const struct ts_limits *limits,
                         const bool formats[8], const struct ts_source_limits *slim,
                         struct ts_probe_cache *cache);

/* ts_catalogue_scan of folder rel through c's scan_memo: a copy of the
 * listing kept there when it is rel's, else a new scan, kept there for the
 * next reader.  Without a memo, ts_catalogue_scan itself. */
ts_status ts_present_scan(const struct ts_present_ctx *c, const char *rel,
                          struct ts_catalogue *out, struct ts_error *err);
/* ts_present_scan with the sub-folders' sidecars stat'ed too
 * (ts_catalogue_opts.sub_sidecars) when sub_sidecars; with c->watch_dir,
 * always a fresh scan that watches the sub-folders. */
ts_status ts_present_scan_opts(const struct ts_present_ctx *c, const char *rel,
                               bool sub_sidecars, struct ts_catalogue *out,
                               struct ts_error *err);
/* ts_present_scan_opts without a copy: *cat is c's memo, where a fresh
 * scan is moved (valid until the next scan through c), or without a memo
 * own; own is always the caller's to ts_catalogue_free (empty when lent
 * the memo).  For the fingerprint and the Collection, which read a
 * 10,000-entry listing and need no copy of it. */
ts_status ts_present_scan_lend(const struct ts_present_ctx *c, const char *rel,
                               bool sub_sidecars, struct ts_catalogue *own,
                               const struct ts_catalogue **cat, struct ts_error *err);

/* ---- catalogue (catalogue.c) ----------------------------------------- */

/* Entries beyond this make a folder an error (500), not a truncated list. */
#define TS_CATALOGUE_MAX_ENTRIES 100000
/* Canvases beyond this make an item an error (403), answered before any
 * file is measured: 10,000 canvases are about 40 MB of JSON already, and a
 * bigger item is better published as a Collection of volumes. */
#define TS_PRESENT_MAX_CANVASES 10000
/* Sidecars and CSV files larger than these are refused (500). */
#define TS_CATALOGUE_MAX_SIDECAR (1u << 20)
#define TS_CATALOGUE_MAX_CSV (16u << 20)

struct ts_catalogue_entry {
	char *name;                        /* a plain name in the folder */
	const struct ts_media_type *type;  /* NULL for a folder */
	bool is_dir;
	struct stat st;                    /* of the file (a symlink inside the root: its target) */
	/* a folder's own iiif.json when the scan was asked for it
	 * (ts_catalogue_opts.sub_sidecars): whether there is one, and its
	 * inode, size and mtime (s, ns) */
	bool has_sidecar;
	uint64_t sidecar_id[4];
};

struct ts_catalogue {
	char *rel;                         /* the folder, root-relative ("" = root) */
	struct ts_catalogue_entry *entries;/* folders and published files, natural order */
	size_t n;
	char *sidecar;                     /* iiif.json bytes (NUL-terminated) or NULL */
	size_t sidecar_len;
	char *csv;                         /* metadata.csv bytes or NULL */
	size_t csv_len;
	char *manifest;                    /* a hand-made manifest.json or NULL */
	size_t manifest_len;
	uint64_t fingerprint;              /* names, sizes, mtimes, sidecar bytes */
	time_t mtime;                      /* the latest mtime of the entries and sidecars */
	bool unwatchable;                  /* holds a symlinked or hard-linked file: a
	                                      change may come through another folder */
	char *names;                       /* the entries' names, one block (they point
	                                      into it; catalogue.c's) */
	size_t names_len;
	bool sub_sidecars;                 /* the entries' has_sidecar/sidecar_id are set */
};

/* Natural, case-insensitive order ("p2" < "p10" < "P11"); ties broken by
 * the bytes so the order is total. */
int ts_catalogue_natcmp(const char *a, const char *b);

/* A deep copy of from into out (ts_catalogue_free it); false when out of
 * memory (out is then empty). */
bool ts_catalogue_copy(const struct ts_catalogue *from, struct ts_catalogue *out);

/* Open the folder rel (root-relative, "" = root) under root_fd without
 * following any symlink and without entering names starting with '.' or
 * '_'.  Returns a new descriptor or -1 (errno set).  Used for every file
 * access of src/present/. */
int ts_catalogue_open_dir(int root_fd, const char *rel);

/* Read folder rel once.  Names starting with '.' or '_' and files of no
 * published type are left out; iiif.json, metadata.csv and manifest.json
 * are read (bounded) into the struct.  A symlink is kept only when it
 * leads to a file inside root_path.  404 when rel is not a folder under the
 * root; 500 beyond TS_CATALOGUE_MAX_ENTRIES.  On success *out owns
 * everything (ts_catalogue_free). */
ts_status ts_catalogue_scan(int root_fd, const char *root_path, const char *rel,
                            struct ts_catalogue *out, struct ts_error *err);
/* What ts_catalogue_scan_with does beyond ts_catalogue_scan. */
struct ts_catalogue_opts {
	/* NULL, or called with every entry that may be a sub-folder after the
	 * folder is listed and before that entry is looked at (dir_watch.h:
	 * watched before it is read); dir_fd is the folder's, borrowed.  On
	 * the caller's thread only, in order. */
	void (*watch)(void *arg, int dir_fd, const char *name);
	void *watch_arg;
	/* stat each sub-folder's iiif.json too (after its watch), into its
	 * entry: a collection's fingerprint (ts_present_stamp) */
	bool sub_sidecars;
};
/* ts_catalogue_scan as opts asks; a big folder's entries are looked at on
 * several threads. */
ts_status ts_catalogue_scan_with(int root_fd, const char *root_path, const char *rel,
                                 const struct ts_catalogue_opts *opts, struct ts_catalogue *out,
                                 struct ts_error *err);
/* ts_catalogue_scan of the sub-folder name of the folder rel, open as
 * dir_fd (borrowed): one openat instead of a walk from the root, for the
 * members of a collection. */
ts_status ts_catalogue_scan_in(int dir_fd, const char *root_path, const char *rel,
                               const char *name, struct ts_catalogue *out,
                               struct ts_error *err);
void ts_catalogue_free(struct ts_catalogue *c);

/* Read file name of folder (root-relative) whole, at most max bytes,
 * NUL-terminated, into a malloc'd *out; *st its stat.  404 (quietly, no
 * message worth showing) when there is no such regular file; 500 when it
 * is larger than max or unreadable. */
ts_status ts_catalogue_read_file(int root_fd, const char *folder, const char *name, size_t max,
                                 char **out, size_t *len, struct stat *st, struct ts_error *err);

/* Whether the folder holds media to paint (an Image, Sound, Video, Text or
 * Model file), directly or in a sub-folder (to depth 8). */
bool ts_catalogue_holds_media(int root_fd, const char *root_path, const char *rel);

/* Painting priority of a kind (presentation.md §1): Model 5 > Video 4 >
 * Sound 3 > Image 2 > Text 1; 0 for kinds never painted. */
int ts_catalogue_paint_rank(enum ts_media_kind k);

/* ---- model (model.c) ------------------------------------------------- */

/* What a path names. */
enum ts_present_kind {
	TS_PRESENT_NONE,        /* nothing publishable */
	TS_PRESENT_ITEM,        /* a folder -> a Manifest */
	TS_PRESENT_COLLECTION,  /* a folder (or the root) -> a Collection */
	TS_PRESENT_FILE         /* one published file -> its one-canvas Manifest */
};

/* A picture that can stand for something (thumbnail, image body). */
struct ts_present_picture {
	char *rel;                   /* the image file, root-relative */
	struct ts_source_info info;  /* probed; info.width == 0 when not probed */
};

/* One Canvas. */
struct ts_present_canvas {
	char *file;                        /* its file's name in the item folder */
	const struct ts_media_type *type;  /* what is painted (its iiif_type/mime) */
	const char *painted_type;          /* "Image", "Sound", "Video", "Text", "Model" */
	json_t *label;                     /* language map (owned) */
	json_t *summary;                   /* or NULL (owned) */
	json_t *metadata;                  /* or NULL (owned) */
	uint32_t width, height;            /* 0 when the canvas has no extent */
	double duration;                   /* 0 when not time-based */
	struct ts_present_picture image;   /* the painted image (Image canvases) */
	struct ts_present_picture thumb;   /* its thumbnail (.rel NULL = none) */
	char *see_also;                    /* ALTO/hOCR file name beside it, or NULL */
	const struct ts_media_type *see_also_type;
	char *captions;                    /* .vtt file name beside it, or NULL */
};

/* A download of the Manifest (rendering). */
struct ts_present_rendering {
	char *file;
	const struct ts_media_type *type;
	json_t *label;                     /* language map (owned) */
};

/* A Manifest's content. */
struct ts_present_item {
	enum ts_present_kind kind;         /* ITEM or FILE */
	char *rel;                         /* folder or file, root-relative */
	char *folder;                      /* the folder holding the files ("" = root) */
	char *id;                          /* {item}: rel percent-encoded, '/' as %2F */
	char *fid;                         /* {fid} of folder for res/ URLs ("top" for the root) */
	struct ts_sidecar meta;            /* the sidecar merged over the CSV row (owned) */
	json_t *label;                     /* resolved label (owned) */
	struct ts_present_canvas *canvases;
	size_t ncanvases;
	struct ts_present_rendering *renderings;
	size_t nrenderings;
	char **see_also_files;             /* seeAlso files matching no canvas */
	size_t nsee_also_files;
	struct ts_present_picture thumb;   /* the Manifest's thumbnail (.rel NULL = none) */
	long start;                        /* canvas index of "start", or -1 */
	char *manifest_json;               /* a hand-made manifest.json, served as is, or NULL */
	uint64_t fingerprint;
};

/* A member of a Collection. */
struct ts_present_member {
	char *rel;                         /* root-relative */
	char *id;                          /* {fid} or {item} */
	bool is_collection;
	json_t *label;                     /* language map (owned) */
	json_t *summary;                   /* or NULL */
	struct ts_present_picture thumb;   /* .rel NULL = none */
	char *nav_date;                    /* or NULL */
};

struct ts_present_collection {
	char *rel;                         /* "" = the root */
	char *id;                          /* "top" or {fid} */
	struct ts_sidecar meta;            /* the collection's own sidecar (and its CSV row) */
	json_t *label;                     /* resolved label (owned) */
	struct ts_present_member *members;
	size_t nmembers;
	struct ts_present_picture thumb;   /* .rel NULL = none */
	uint64_t fingerprint;
};

/* Percent-encode a root-relative path as an identifier ('/' as %2F, RFC
 * 3986 unreserved, the image list's sub-delims and '@' kept:
 * ts_encode_path with TS_ENCODE_KEEP_PRESENT_ID, resolve.h).
 * Returns malloc'd text or NULL. */
char *ts_present_encode_id(const char *rel);

/* What rel names: a folder that is an item or a collection (presentation.md
 * §1 rules; the root is always a collection), a published file, or
 * nothing.  rel is root-relative, "" = the root. */
enum ts_present_kind ts_present_kind_of(const struct ts_present_ctx *c, const char *rel);

/* The fingerprint of what the Manifest (item) or Collection of rel depends
 * on, without probing anything: the folder's entries, its sidecars, the
 * parent's metadata.csv and iiif.json, and for a collection each member's
 * entries.  A file rewritten in place changes it (size or mtime).  404 as
 * the loaders. */
ts_status ts_present_fingerprint(const struct ts_present_ctx *c, const char *rel,
                                 bool collection, uint64_t *out, struct ts_error *err);
/* ts_present_fingerprint, and the latest mtime among what it covers (for
 * Last-Modified; the parent's sidecars count). */
ts_status ts_present_stamp(const struct ts_present_ctx *c, const char *rel, bool collection,
                           uint64_t *fingerprint, time_t *mtime, struct ts_error *err);

/* Build the model of the item (folder or file) rel: catalogue, painting
 * rule, sidecar and CSV, probes.  404 when rel is neither an item folder
 * nor a published file; 500 naming rel and the field for a bad sidecar,
 * CSV, or a canvas without size or duration.  *out owns everything
 * (ts_present_item_free, which accepts a zeroed or half-built item). */
ts_status ts_present_item_load(const struct ts_present_ctx *c, const char *rel,
                               struct ts_present_item *out, struct ts_error *err);
void ts_present_item_free(struct ts_present_item *it);

/* Build the model of the collection folder rel ("" = root).  404 when rel
 * is not a collection. */
ts_status ts_present_collection_load(const struct ts_present_ctx *c, const char *rel,
                                     struct ts_present_collection *out,
                                     struct ts_error *err);
void ts_present_collection_free(struct ts_present_collection *col);

/* ---- writers (manifest3.c, collection3.c) ------------------------------ */

/* A single resource of a Manifest (URLS.md): "canvas" "p3", "page" "p3/1",
 * "annotation" "p3-image", "range" "r2"; with version 2 also "sequence"
 * "normal". */
struct ts_present_part {
	const char *kind;            /* NULL: the whole Manifest */
	const char *name;
};

/* The 3.0 Manifest of it (or one part of it, with its own @context) as a
 * new jansson object.  404 for a part that does not exist. */
ts_status ts_present_manifest3(const struct ts_present_ctx *c, const struct ts_present_item *it,
                               const struct ts_present_part *part, json_t **out,
                               struct ts_error *err);
/* The 3.0 Collection as a new jansson object. */
ts_status ts_present_collection3(const struct ts_present_ctx *c,
                                 const struct ts_present_collection *col, json_t **out,
                                 struct ts_error *err);
/* The same two as bytes appended to out (compact, one final newline: what
 * ts_present_manifest and ts_present_collection answer), written without
 * building the tree; on failure out is as it was. */
ts_status ts_present_manifest3_write(const struct ts_present_ctx *c,
                                     const struct ts_present_item *it,
                                     const struct ts_present_part *part, struct ts_buf *out,
                                     struct ts_error *err);
ts_status ts_present_collection3_write(const struct ts_present_ctx *c,
                                       const struct ts_present_collection *col,
                                       struct ts_buf *out, struct ts_error *err);

/* The 2.1 Manifest (manifest2.c) and Collection (collection2.c) of the
 * same models, as new jansson objects: one sc:Sequence of sc:Canvases,
 * IXIF mediaSequences and placeholder canvases for sound, video, PDF and
 * 3D.  Parts: "sequence" "normal" (and "media", the IXIF one), "canvas",
 * "annotation", "range"; 404 for "page" and anything absent. */
ts_status ts_present_manifest2(const struct ts_present_ctx *c, const struct ts_present_item *it,
                               const struct ts_present_part *part, json_t **out,
                               struct ts_error *err);
ts_status ts_present_collection2(const struct ts_present_ctx *c,
                                 const struct ts_present_collection *col, json_t **out,
                                 struct ts_error *err);

/* Measure the images of folder rel (an item folder) through c's image
 * probe on nthreads threads, when it holds at least min_images of them, so
 * that a cold build finds their sizes in the probe cache (warm.c).  Errors
 * are left for the build; a file or a missing folder does nothing. */
void ts_present_warm(const struct ts_present_ctx *c, const char *rel, int nthreads,
                     size_t min_images);

/* One-call forms for the server and a future command line: load, write,
 * dump byte-stable (compact, key order as built, one final newline) into
 * out.
 * version 3 or 2 (anything else 501). */
ts_status ts_present_manifest(const struct ts_present_ctx *c, const char *item, int version,
                              const struct ts_present_part *part, struct ts_buf *out,
                              struct ts_error *err);
ts_status ts_present_collection(const struct ts_present_ctx *c, const char *folder, int version,
                                struct ts_buf *out, struct ts_error *err);

/* ---- the tree's problems (lint.c) ------------------------------------ */

/* Folders deeper than this below the starting folder are not walked (one
 * problem says so). */
#define TS_PRESENT_LINT_MAX_DEPTH 32

struct ts_present_lint_counts {
	size_t items;          /* item folders, and loose files of collections */
	size_t collections;    /* collection folders (the root included) */
	size_t problems;       /* lines reported */
};

/* Receives one problem: a line "path: field: message" (path root-relative,
 * no newline), valid during the call. */
typedef void ts_present_lint_fn(void *arg, const char *line);

/*
 * Walk the tree under rel (a folder, "" = the root, or one published file)
 * and report every problem a publisher should fix, each once: sidecars and
 * metadata.csv rows that are refused (with the field), media whose duration
 * or size cannot be found, truncated or lying media, images that cannot be
 * read or exceed max_source_pixels, symlinks leading out of the root, files
 * named in a sidecar's items/structures/rendering that are not there,
 * folders with a sidecar but nothing to paint.  Every item and collection
 * is built (3.0 and 2.1) exactly as the server would build it, through c's
 * probes; a probe that fails is reported and the build carries on with a
 * stand-in size, so one bad file never hides the sidecar's problems.
 * Memory is bounded by the largest folder (at most TS_CATALOGUE_MAX_ENTRIES
 * entries) and the depth by TS_PRESENT_LINT_MAX_DEPTH.  Returns 404 when
 * rel is neither a folder nor a published file, 500 out of memory; problems
 * are not errors (counts->problems tells).
 */
ts_status ts_present_lint(const struct ts_present_ctx *c, const char *rel,
                          ts_present_lint_fn *report, void *arg,
                          struct ts_present_lint_counts *counts, struct ts_error *err);

/* ---- shared JSON pieces (json3.c) ------------------------------------ */

/* The concrete size canvases and thumbnails ask of an image (URLS.md): the
 * largest info.json sizes entry whose longest side is <= max_side and that
 * the server makes within c->max_decode_pixels (the planner's read of the
 * level it picks), else the image scaled to a longest side of max_side when
 * that is within the budget.  false when no whole-image size is: then no
 * thumbnail is given. */
bool ts_present_pick_size(const struct ts_present_ctx *c, const struct ts_source_info *info,
                          uint32_t max_side, uint32_t *w, uint32_t *h);
/* Whether the server makes full/{w},{h} of the image within
 * c->max_decode_pixels: the pixels of the tiles (or rows) of the level the
 * planner reads for it, before any reduced decode (a bound). */
bool ts_present_affordable(const struct ts_present_ctx *c, const struct ts_source_info *info,
                           uint32_t w, uint32_t h);
/* Whether the server can make the whole image at some size within
 * c->max_decode_pixels (its smallest level decoded whole).  An image that
 * cannot is no canvas (403 naming the file) and no collection member. */
bool ts_present_renderable(const struct ts_present_ctx *c, const struct ts_source_info *info);

#endif
