/*
 * handmade.c - a hand-made manifest.json read for either Presentation
 * version (handmade.h), and the range helpers both Manifest writers share.
 *
 * The one idea: the file is served as it is; only the placeholder base of
 * its ids (presentation.md §2) becomes the public base, so the same file
 * works behind any host name.
 */
#include <stdio.h>
#include <string.h>

#include "handmade.h"
#include "json3.h"

/* The rewritten copy of string value val, or NULL when it keeps its value. */
static json_t *rebased(const json_t *val, const char *base)
{
	size_t pl = strlen(TS_PRESENT_PLACEHOLDER_BASE);

	if (!json_is_string(val) || strncmp(json_string_value(val), TS_PRESENT_PLACEHOLDER_BASE, pl) != 0)
		return NULL;
	return ts_pj_printf("%s%s", base, json_string_value(val) + pl);
}

static void rebase(json_t *v, const char *base)
{
	if (json_is_object(v)) {
		const char *key;
		json_t *val;

		json_object_foreach(v, key, val) {
			json_t *s = rebased(val, base);
			if (s)
				json_object_set_new(v, key, s);
			else if (!json_is_string(val))
				rebase(val, base);
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *val;

		json_array_foreach(v, i, val) {
			json_t *s = rebased(val, base);
			if (s)
				json_array_set_new(v, i, s);
			else if (!json_is_string(val))
				rebase(val, base);
		}
	}
}

ts_status ts_present_handmade_load(const struct ts_present_item *it, const char *base,
                                   bool (*accept)(json_t *doc), const char *refusal,
                                   json_t **doc, struct ts_error *err)
{
	json_error_t je;

	*doc = json_loads(it->manifest_json, 0, &je);
	if (!*doc || !json_is_object(*doc)) {
		json_decref(*doc);
		*doc = NULL;
		return ts_error_set(err, TS_EINTERNAL, "%s/manifest.json: not a JSON object (line %d: %s)",
		                    it->folder, je.line, je.text);
	}
	if (accept && !accept(*doc)) {
		json_decref(*doc);
		*doc = NULL;
		return ts_error_set(err, TS_ENOTFOUND, "%s", refusal);
	}
	rebase(*doc, base);
	return TS_OK;
}

char *ts_present_part_id(const char *mbase, const struct ts_present_part *part)
{
	char *id;

	if (asprintf(&id, "%s/%s/%s", mbase, part->kind, part->name) < 0)
		return NULL;
	return id;
}

long ts_present_canvas_index(const struct ts_present_item *it, const char *file)
{
	for (size_t i = 0; i < it->ncanvases; i++)
		if (strcmp(it->canvases[i].file, file) == 0)
			return (long)i;
	return -1;
}

/* v as a decimal of at most 3 places without trailing zeros ("12.5",
 * "120"), into out of n bytes. */
static void decimal(char *out, size_t n, double v)
{
	char *p;

	snprintf(out, n, "%.3f", v);
	p = out + strlen(out) - 1;
	while (p > out && *p == '0')
		*p-- = '\0';
	if (*p == '.')
		*p = '\0';
}

void ts_present_range_fragment(char *out, size_t n, const struct ts_sidecar_range_item *ri)
{
	char a[40], b[40];

	*out = '\0';
	if (ri->has_t) {
		decimal(a, sizeof a, ri->t[0]);
		decimal(b, sizeof b, ri->t[1]);
		snprintf(out, n, "#t=%s,%s", a, b);
	} else if (ri->has_xywh) {
		snprintf(out, n, "#xywh=%u,%u,%u,%u", ri->xywh[0], ri->xywh[1], ri->xywh[2],
		         ri->xywh[3]);
	}
}
