/*
 * sidecar_merge.c - an item's own iiif.json over its metadata.csv row
 * (presentation.md §3: "An item's own iiif.json wins over its CSV row
 * field by field").
 *
 * Each field of `own` that is not given is moved over from `row`; a field
 * given in both keeps own's value.  metadata is one field: when the
 * sidecar has a metadata list it replaces the row's whole list (a curator
 * who writes metadata in iiif.json means that list, and mixing two lists
 * would leave no way to drop a spreadsheet column for one item); when it
 * has none, the row's list is used.  The warnings of both are kept.
 * Whatever is not moved is freed with the row, which is left empty.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tessera/sidecar.h"

#define TAKE(field) do { \
	if (!own->field) { own->field = row->field; row->field = NULL; } \
	} while (0)

#define TAKE_ARRAY(field, count) do { \
	if (!own->count && row->count) { \
		free(own->field);  /* an empty array given, holding nothing */ \
		own->field = row->field, own->count = row->count; \
		row->field = NULL, row->count = 0; \
	} } while (0)

void ts_sidecar_merge(struct ts_sidecar *own, struct ts_sidecar *row)
{
	if (!own || !row)
		return;
	/* language says how own's plain strings were read; the row's values
	 * already carry theirs, so own's stays. */
	TAKE(language);
	TAKE(label);
	TAKE(summary);
	TAKE(metadata);
	TAKE(rights);
	TAKE(required_statement);
	TAKE(provider);
	TAKE(homepage);
	TAKE(nav_date);
	TAKE_ARRAY(behavior, nbehavior);
	TAKE(viewing_direction);
	TAKE(thumbnail);
	TAKE(start);
	TAKE_ARRAY(items, nitems);
	TAKE_ARRAY(exclude, nexclude);
	TAKE_ARRAY(rendering, nrendering);
	TAKE(see_also);
	TAKE_ARRAY(structures, nstructures);
	if (own->warning && row->warning) {
		size_t n = strlen(own->warning) + strlen(row->warning) + 3;
		char *both = malloc(n);
		if (both) {
			snprintf(both, n, "%s; %s", own->warning, row->warning);
			free(own->warning);
			own->warning = both;
		}
	}
	TAKE(warning);
	ts_sidecar_free(row);
}
