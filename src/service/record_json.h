/* record_json.h - the public JSON view of an image row.
 *
 * One shape for every place that shows a row: the intake's
 * GET /v1/images/{id} and list pages, and `anonctl status ID` / `list
 * --json`. Object keys are not included (they are internal) and the
 * original is never linked. */
#ifndef ANON_RECORD_JSON_H
#define ANON_RECORD_JSON_H

#include <jansson.h>

#include "service/db.h"
#include "detect/detect.h"

json_t *anon_image_row_json(const anon_image_row *row);

/* Face boxes as [{x, y, w, h, score}], as in rows and `blur --json`. */
json_t *anon_boxes_to_json(const anon_boxes *faces);

#endif
