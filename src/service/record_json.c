/* record_json.c - the JSON of image rows (see record_json.h). */
#include "service/record_json.h"

#include <stdio.h>

#include "base/timestamp.h"

/* Unix seconds as ISO 8601 UTC text; null for 0 (not set). */
static json_t *timestamp_json(double t)
{
    if (t <= 0)
        return json_null();
    char text[ANON_TIMESTAMP_LEN];
    anon_timestamp_format(t, text);
    return json_string(text);
}

/* Text columns as JSON strings; NULL (and text that is not UTF-8, which
 * JSON cannot carry) as null, so one odd value cannot spoil the record. */
static json_t *text_or_null(const char *s)
{
    json_t *v = s ? json_string(s) : NULL;
    return v ? v : json_null();
}

static json_t *parsed_or_null(const char *text)
{
    json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    return v ? v : json_null();
}

json_t *anon_image_row_json(const anon_image_row *row)
{
    char self[64], output[80];
    snprintf(self, sizeof self, "/v1/images/%lld", (long long)row->id);
    snprintf(output, sizeof output, "%s/output", self);
    json_t *r = json_object();
    json_object_set_new(r, "id", json_integer(row->id));
    json_object_set_new(r, "status", json_string(anon_image_status_name(row->status)));
    json_object_set_new(r, "sha256", json_string(row->sha256));
    json_object_set_new(r, "camera", text_or_null(row->camera));
    json_object_set_new(r, "original_name", text_or_null(row->original_name));
    json_object_set_new(r, "content_type", text_or_null(row->content_type));
    json_object_set_new(r, "bytes", json_integer(row->bytes));
    json_object_set_new(r, "width", json_integer(row->width));
    json_object_set_new(r, "height", json_integer(row->height));
    json_object_set_new(r, "attempts", json_integer(row->attempts));
    json_object_set_new(r, "faces", row->faces >= 0 ? json_integer(row->faces) : json_null());
    json_object_set_new(r, "boxes", parsed_or_null(row->boxes));
    json_object_set_new(r, "timings", parsed_or_null(row->timings));
    json_object_set_new(r, "error", text_or_null(row->error));
    json_object_set_new(r, "worker", text_or_null(row->worker));
    json_object_set_new(r, "created_at", timestamp_json(row->created_at));
    json_object_set_new(r, "queued_at", timestamp_json(row->queued_at));
    json_object_set_new(r, "started_at", timestamp_json(row->started_at));
    json_object_set_new(r, "finished_at", timestamp_json(row->finished_at));
    json_object_set_new(r, "updated_at", timestamp_json(row->updated_at));
    /* What made the output: null until done (and for outputs made before
     * they were recorded). */
    json_object_set_new(r, "model", text_or_null(row->model));
    json_object_set_new(r, "model_version", text_or_null(row->model_version));
    json_object_set_new(r, "preset", text_or_null(row->preset));
    json_object_set_new(r, "anonctl_version", text_or_null(row->anonctl_version));
    json_object_set_new(r, "original_deleted_at", timestamp_json(row->original_deleted_at));
    json_object_set_new(r, "reprocessed_at", timestamp_json(row->reprocessed_at));
    json_object_set_new(r, "links", json_pack("{s:s, s:s}", "self", self, "output", output));
    return r;
}

json_t *anon_boxes_to_json(const anon_boxes *faces)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < faces->n; i++) {
        const anon_box *b = &faces->v[i];
        json_array_append_new(arr, json_pack("{s:i,s:i,s:i,s:i,s:f}", "x", (int)b->x,
                                             "y", (int)b->y, "w", (int)b->w, "h",
                                             (int)b->h, "score", (double)b->score));
    }
    return arr;
}

char *anon_boxes_json(const anon_boxes *faces)
{
    json_t *arr = anon_boxes_to_json(faces);
    char *text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return text;
}

char *anon_timings_json(const anon_result *res, double ms_fetch, double ms_store)
{
    json_t *obj = json_pack("{s:f,s:f,s:f,s:f,s:f,s:f}", "fetch", ms_fetch, "decode",
                            res->ms_decode, "detect", res->ms_detect, "blur",
                            res->ms_blur, "encode", res->ms_encode, "store", ms_store);
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    return text;
}

void anon_damage_to_json(json_t *obj, const anon_warnings *warnings,
                         const anon_rect *covered)
{
    json_t *list = json_array();
    for (int i = 0; i < warnings->kept; i++)
        json_array_append_new(list, json_string(warnings->msg[i]));
    json_object_set_new(obj, "warnings", list);
    json_object_set_new(obj, "covered",
                        covered->w > 0 ? json_pack("{s:i,s:i,s:i,s:i}", "x", covered->x, "y",
                                                   covered->y, "w", covered->w, "h", covered->h)
                                       : json_null());
}
