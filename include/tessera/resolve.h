/*
 * resolve.h - identifier to file (src/resolve/).
 *
 * An identifier (already percent-decoded once) names a file under the image
 * root; "%2F" in the URL reaches sub-folders.  The configured suffixes are
 * tried after the identifier as given.  Every open is confined to the root:
 * "..", absolute paths, NUL bytes, empty components, and symlinks whose
 * target leaves the root are 404 ("not found"), indistinguishable from a
 * missing file, and no path ever reaches the public message.  The stat
 * returned is the identity the image is later opened as
 * (ts_source_open_as), so a symlink changed between the two cannot lead
 * the open out of the root.
 */
#ifndef TESSERA_RESOLVE_H
#define TESSERA_RESOLVE_H

#include <stddef.h>
#include <sys/stat.h>
#include "buf.h"
#include "status.h"

struct ts_resolver;

/* root must exist and be a directory; suffixes is a comma list like
 * ".tif,.tiff,.ptif,.jp2" (may be empty). */
struct ts_resolver *ts_resolver_create(const char *root, const char *suffixes,
                                       struct ts_error *err);
void ts_resolver_destroy(struct ts_resolver *r);

/* Resolve identifier to an absolute path inside the root (written to path,
 * size n) of a regular file, and its stat (for ETag/Last-Modified and cache
 * keys).  The path is root + "/" + identifier [+ suffix]: a symlink that
 * stays inside the root is kept in the spelling (only with the realpath
 * fallback is it canonical).  404 when nothing matches or the identifier
 * tries to leave. */
ts_status ts_resolve(const struct ts_resolver *r, const char *identifier, char *path,
                     size_t n, struct stat *st, struct ts_error *err);

/* ts_resolve without the suffixes: rel must name the file exactly (a
 * published media file, whose name decides its Content-Type, must never be
 * answered by "rel.tif").  Same confinement, same 404s. */
ts_status ts_resolve_exact(const struct ts_resolver *r, const char *rel, char *path, size_t n,
                           struct stat *st, struct ts_error *err);

/* rel (exactly, no suffixes) opened for reading beneath the root with
 * openat2(RESOLVE_BENEATH), in one system call where ts_resolve_exact and
 * an open take four: for callers that check the file's identity
 * themselves (the Presentation probes).  Non-blocking (clear O_NONBLOCK
 * before blocking reads of a non-regular file; a regular file ignores it).
 * Returns a descriptor the caller owns, or -1 with errno: ENOSYS when
 * openat2 is not available here (use ts_resolve_exact), EXDEV or ELOOP
 * when the walk would leave the root or meets an absolute symlink (which
 * ts_resolve_exact may still accept), else as open(2). */
int ts_resolve_open(const struct ts_resolver *r, const char *rel);

/*
 * Percent-encoding of a root-relative path (src/resolve/encode.c), one
 * function for its three uses, which keep different characters on purpose:
 * RFC 3986 unreserved (ALPHA DIGIT - . _ ~) are always kept, keep names the
 * others.  Every other byte (UTF-8 included) becomes %XX, upper-case hex.
 *  - TS_ENCODE_KEEP_URI_PATH: a URI path for nginx (X-Accel-Redirect), '/'
 *    kept as the separator nginx walks; '?', '%', ';' and the rest encoded
 *    so nginx decodes it once to the very bytes (no arguments split off).
 *  - TS_ENCODE_KEEP_IMAGE_ID: an Image API identifier in the viewer's image
 *    list, '/' encoded as %2F (Image 3.0 §9), harmless sub-delims kept.
 *  - TS_ENCODE_KEEP_PRESENT_ID: a Presentation id (ts_present_encode_id):
 *    the same, and '@' (a pchar, RFC 3986 §3.3) kept too, as the ids have
 *    always been written.
 */
#define TS_ENCODE_KEEP_URI_PATH "/"
#define TS_ENCODE_KEEP_IMAGE_ID "!$&'()*+,;=:"
#define TS_ENCODE_KEEP_PRESENT_ID "!$&'()*+,;=:@"

/* Write rel encoded into out, which has room for 3 * strlen(rel) + 1
 * bytes (the caller checks that size for overflow); returns the length
 * written, without the terminating NUL. */
size_t ts_encode_path_into(char *out, const char *rel, const char *keep);
/* rel encoded, as malloc'd text (the caller's to free); NULL when out of
 * memory or its size would overflow. */
char *ts_encode_path(const char *rel, const char *keep);

/* The canonical root (realpath), for listing images. */
const char *ts_resolver_root(const struct ts_resolver *r);

/*
 * Append to out_json a JSON array of the identifiers of the image files
 * under the root (for the viewer page's "/images.json"): recursive to depth
 * 8, at most 2000 entries, names ending in a configured suffix or
 * .jpg/.jpeg/.png (case-insensitive), no dotfiles, symlinks followed only to
 * files inside the root (symlinked directories are not entered).  Each
 * identifier is the relative path percent-encoded once ("/" -> "%2F"), so it
 * can be put into a IIIF URL as it is; sorted.  500 only when out of memory.
 */
ts_status ts_resolver_list(const struct ts_resolver *r, struct ts_buf *out_json,
                           struct ts_error *err);
/* Whether the file rel (root-relative, not encoded; st its identity) goes
 * into the list. */
typedef bool (*ts_resolver_keep_fn)(void *arg, const char *rel, const struct stat *st);
/* ts_resolver_list, but every regular file (whatever its name) that keep
 * accepts is listed, instead of those with a listed suffix: the daemon
 * keeps the images it can open within its limits. */
ts_status ts_resolver_list_kept(const struct ts_resolver *r, ts_resolver_keep_fn keep,
                                void *keep_arg, struct ts_buf *out_json, struct ts_error *err);

#endif
