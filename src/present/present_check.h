/*
 * present_check.h - private to src/present/ and its unit tests: the value
 * rules that an iiif.json sidecar (sidecar.c) and a metadata.csv row
 * (csv.c) share, so a name, a date or a rights URI is judged the same way
 * wherever a curator writes it (presentation.md §2-3).
 *
 * Each check takes a NUL-terminated string and returns true when it is
 * acceptable; otherwise it writes what was expected, one clause without the
 * field path ("must be a plain file name, without '/'"), into why[n], and
 * the caller prefixes the path.  None allocates, none logs.
 */
#ifndef TESSERA_PRESENT_CHECK_H
#define TESSERA_PRESENT_CHECK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Bounds on what a curator may write (the document itself is at most
 * TS_PRESENT_MAX_DOC bytes, so these only keep one value from being most
 * of it, and give error messages a known size). */
#define TS_PRESENT_MAX_DOC      (4u << 20)   /* 4 MB: an iiif.json or metadata.csv */
#define TS_PRESENT_MAX_TEXT     65536        /* one label, summary or value string, bytes */
#define TS_PRESENT_MAX_NAME     255          /* a file name, bytes (NAME_MAX) */
#define TS_PRESENT_MAX_URI      2048         /* an http(s) URI, bytes */
#define TS_PRESENT_MAX_LANG     35           /* a language tag, bytes (RFC 5646 §4.4.1 advises 35) */
#define TS_PRESENT_MAX_STRINGS  1000         /* strings in one language map, all languages */
#define TS_PRESENT_MAX_LANGS    100          /* languages in one language map */

/* s is valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF)
 * for len bytes; else false and *bad is the offset of the first bad byte. */
bool ts_present_check_utf8(const char *s, size_t len, size_t *bad);

/* A plain file name in the folder: 1..255 bytes, no '/', '\\', control
 * character, not "." or "..", not starting with '.'. */
bool ts_present_check_name(const char *s, char *why, size_t n);

/* An absolute http:// or https:// URI with a host, no spaces, quotes or
 * control characters, at most TS_PRESENT_MAX_URI bytes. */
bool ts_present_check_uri(const char *s, char *why, size_t n);

/* "none" or a BCP 47 tag of the usual shape (RFC 5646 §2.1): a 2-8 letter
 * primary subtag, then subtags of 1-8 letters or digits after '-'
 * ("en", "fr", "en-GB", "zh-Hant", "de-CH-1996"). */
bool ts_present_check_lang(const char *s, char *why, size_t n);

/* An xsd:dateTime with a time zone (Presentation 3.0 §3.1 navDate):
 * YYYY-MM-DDThh:mm:ss[.s+](Z|+hh:mm|-hh:mm), a real calendar date. */
bool ts_present_check_date(const char *s, char *why, size_t n);

/*
 * A rights URI (Presentation 3.0 §3.1 rights): a Creative Commons licence
 * or public-domain tool, or a RightsStatements.org statement, in the
 * canonical http:// form with its trailing '/'.  An https:// URI or one
 * without the final '/' is rewritten into out (n bytes) with *rewritten
 * set; on success out always holds the canonical form.
 */
bool ts_present_check_rights(const char *s, char *out, size_t outn, bool *rewritten,
                             char *why, size_t n);

/*
 * One string of a language map: non-empty, at most TS_PRESENT_MAX_TEXT
 * bytes, no control characters but tab, CR and LF.  When html is true (a
 * summary, or a metadata or requiredStatement value: Presentation 3.0 §4.5)
 * a string that starts with '<' and ends with '>' must be allowed HTML
 * (ts_present_check_html); markup anywhere else is refused, so a label
 * never carries a tag a viewer might render.  s is valid UTF-8.
 */
bool ts_present_check_text(const char *s, size_t len, bool html, char *why, size_t n);

/*
 * The HTML of Presentation 3.0 §4.5 (html_check.c): well-formed XML, one
 * root element, tags a b br i img p small span sub sup only, attributes
 * only href on a (http:, https: or mailto:) and src (http: or https:) and
 * alt on img; no comments, CDATA, processing instructions or declarations;
 * entities only the five of XML and numeric references.
 */
bool ts_present_check_html(const char *s, size_t len, char *why, size_t n);

/* Copy s into buf (n bytes) for quoting in an error: at most ~40
 * characters (cut on a UTF-8 boundary, "..." appended), control characters
 * and '"' replaced by '?'.  Returns buf. */
const char *ts_present_quote(const char *s, char *buf, size_t n);

/* {lang: [s]} as a new language map, or NULL when out of memory. */
json_t *ts_present_langmap(const char *lang, const char *s);

#endif
