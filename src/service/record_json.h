/* record_json.h - the JSON of an image row: what the worker stores in it
 * (face boxes, stage timings) and the public view of it.
 *
 * One shape for every place that shows a row: the intake's
 * GET /v1/images/{id} and list pages, and `anonctl status ID` / `list
 * --json`, `get --json`. Object keys are not included (they are internal)
 * and the original is never linked; what made the output (model, its
 * version, preset, anonctl version) and when the original was deleted are. Face boxes have one shape everywhere too: the
 * rows, `blur --json`. */
#ifndef ANON_RECORD_JSON_H
#define ANON_RECORD_JSON_H

#include <jansson.h>

#include "service/db.h"
#include "detect/detect.h"
#include "redact/pipeline.h"

json_t *anon_image_row_json(const anon_image_row *row);

/* Face boxes as [{x, y, w, h, score}], as in rows and `blur --json`. */
json_t *anon_boxes_to_json(const anon_boxes *faces);

/* The same as compact JSON text, as stored in the row (caller frees). */
char *anon_boxes_json(const anon_boxes *faces);

/* Adds to obj what a damaged photo accepted carries: "warnings" (the
 * decoder's messages kept) and "covered" ({x, y, w, h} filled, or null),
 * as in `blur --json` and the drain's job lines. */
void anon_damage_to_json(json_t *obj, const anon_warnings *warnings,
                         const anon_rect *covered);

/* Milliseconds per stage {fetch, decode, detect, blur, encode, store} as
 * compact JSON text (caller frees). */
char *anon_timings_json(const anon_result *res, double ms_fetch, double ms_store);

#endif
