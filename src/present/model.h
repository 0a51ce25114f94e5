/*
 * model.h - helpers the item model (model.c) and the collection model
 * (members.c) share.  Internal to src/present/.  Strings returned are
 * malloc'd (the caller frees); json_t results are new references.
 */
#ifndef TESSERA_PRESENT_MODEL_H
#define TESSERA_PRESENT_MODEL_H

#include "tessera/present.h"

/* arr with room for element n (0-based) of size bytes: doubling growth,
 * capacity implied by n; NULL on failure (arr is then unchanged). */
void *ts_pm_grow(void *arr, size_t n, size_t size);
/* folder + "/" + name, or name when folder is "" (the root). */
char *ts_pm_join(const char *folder, const char *name);
/* rel's parent folder ("" for the root); *name points at rel's last name. */
char *ts_pm_parent_of(const char *rel, const char **name);
/* {language: [first n bytes of s]} */
json_t *ts_pm_lang_map(const char *language, const char *s, size_t n);
/* The label of a Manifest or Collection whose sidecar, merged over its CSV
 * row (ts_sidecar_merge), is m: m's label, else name in m's language
 * ("none" when m has none).  One rule for the document itself and for its
 * entry in the collection above, so a viewer shows the same label in both
 * (presentation.md §2, §3).  A new reference, NULL when out of memory. */
json_t *ts_pm_label(const struct ts_sidecar *m, const char *name);
/* The entry called name, or NULL. */
const struct ts_catalogue_entry *ts_pm_find_entry(const struct ts_catalogue *cat,
                                                  const char *name);
void ts_pm_sidecar_free(struct ts_sidecar *s);
/* Parse the folder's iiif.json (if any) for scope; 500 naming the file and
 * the field. */
ts_status ts_pm_parse_sidecar(const struct ts_catalogue *cat, enum ts_sidecar_scope scope,
                              struct ts_sidecar *out, struct ts_error *err);
/* The parent folder's metadata.csv row of name as sidecar fields (empty
 * when none); 500 naming the CSV, the row and the column. */
ts_status ts_pm_csv_row(const struct ts_present_ctx *c, const char *parent, const char *name,
                        struct ts_sidecar *row, struct ts_error *err);
/* §3: meta (the folder's own sidecar) merged over the parent's CSV row of
 * name (ts_pm_csv_row into row, which the caller frees; none when parent
 * is NULL, as for the root), then its language "none" when neither gave
 * one.  500 from the CSV, or out of memory. */
ts_status ts_pm_merge_row(const struct ts_present_ctx *c, const char *parent, const char *name,
                          struct ts_sidecar *meta, struct ts_sidecar *row, struct ts_error *err);
/* ts_pm_csv_row through c->csv_memo (csv_memo.c): the same rows and the
 * same messages, the CSV parsed once while it is unchanged. */
ts_status ts_pm_csv_row_memo(const struct ts_present_ctx *c, const char *parent,
                             const char *name, struct ts_sidecar *row, struct ts_error *err);
/* Item, collection or nothing, by presentation.md §1. */
enum ts_present_kind ts_pm_folder_kind(const struct ts_present_ctx *c,
                                       const struct ts_catalogue *cat);
/* Probe the image entry e of folder into pic (pic->rel set); 500 naming
 * the file when it has no size. */
ts_status ts_pm_probe_picture(const struct ts_present_ctx *c, const char *folder,
                              const struct ts_catalogue_entry *e,
                              struct ts_present_picture *pic, struct ts_error *err);
void ts_pm_picture_free(struct ts_present_picture *p);
/* Whether name is one of names[0..n). */
bool ts_pm_listed(char **names, size_t n, const char *name);

#endif
