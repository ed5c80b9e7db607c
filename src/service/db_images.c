/* db_images.c - the images table (see db.h): one row per accepted image,
 * its status changes, keyset pages and the selections of retry, purge and
 * reprocess. (The counts `anonctl status` shows are in db_stats.c.)
 *
 * Rows are read through one column list (ROW_COLUMNS) and one parser
 * (read_row) so that every query returns the same anon_image_row. Values a
 * caller gets wrong (a malformed digest, boxes that are not JSON) fail here
 * as the input's fault, before any statement is sent. */
#include "service/db_private.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static const char *const status_names[ANON_IMAGE_N_STATUS] = {
    "received", "queued", "processing", "done", "failed", "rejected",
};

const char *anon_image_status_name(anon_image_status status)
{
    return (unsigned)status < ANON_IMAGE_N_STATUS ? status_names[status] : "unknown";
}

int anon_image_status_parse(const char *name, anon_image_status *status, anon_error *err)
{
    for (int i = 0; i < ANON_IMAGE_N_STATUS; i++)
        if (name && strcmp(name, status_names[i]) == 0) {
            *status = (anon_image_status)i;
            return 0;
        }
    return anon_fail_kind(err, ANON_ERR_INPUT, "unknown status '%s' (received, queued, "
                          "processing, done, failed, rejected)", name ? name : "");
}


/* ------------------------------------------------------------ rows */

#define ROW_COLUMNS                                                                   \
    "id, camera, sha256, original_name, content_type, bytes, width, height, "        \
    "input_key, output_key, status, attempts, faces, boxes::text, timings::text, "   \
    "error, worker, extract(epoch from created_at), extract(epoch from queued_at), " \
    "extract(epoch from started_at), extract(epoch from finished_at), "              \
    "extract(epoch from updated_at), model, model_version, preset, anonctl_version, " \
    "extract(epoch from original_deleted_at), extract(epoch from reprocessed_at)"

char *db_text(const PGresult *res, int row, int col, int *oom)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    char *s = strdup(PQgetvalue(res, row, col));
    if (s == NULL)
        *oom = 1;
    return s;
}

static double epoch_or_zero(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtod(PQgetvalue(res, row, col), NULL);
}

static int read_row(const PGresult *res, int row, anon_image_row *img, anon_error *err)
{
    int oom = 0, c = 0;
    memset(img, 0, sizeof *img);
    img->id = strtoll(PQgetvalue(res, row, c++), NULL, 10);
    img->camera = db_text(res, row, c++, &oom);
    snprintf(img->sha256, sizeof img->sha256, "%s", PQgetvalue(res, row, c++));
    img->original_name = db_text(res, row, c++, &oom);
    img->content_type = db_text(res, row, c++, &oom);
    img->bytes = strtoll(PQgetvalue(res, row, c++), NULL, 10);
    img->width = atoi(PQgetvalue(res, row, c++));
    img->height = atoi(PQgetvalue(res, row, c++));
    img->input_key = db_text(res, row, c++, &oom);
    img->output_key = db_text(res, row, c++, &oom);
    anon_image_status_parse(PQgetvalue(res, row, c++), &img->status, NULL);
    img->attempts = atoi(PQgetvalue(res, row, c++));
    img->faces = PQgetisnull(res, row, c) ? -1 : atoi(PQgetvalue(res, row, c));
    c++;
    img->boxes = db_text(res, row, c++, &oom);
    img->timings = db_text(res, row, c++, &oom);
    img->error = db_text(res, row, c++, &oom);
    img->worker = db_text(res, row, c++, &oom);
    img->created_at = epoch_or_zero(res, row, c++);
    img->queued_at = epoch_or_zero(res, row, c++);
    img->started_at = epoch_or_zero(res, row, c++);
    img->finished_at = epoch_or_zero(res, row, c++);
    img->updated_at = epoch_or_zero(res, row, c++);
    img->model = db_text(res, row, c++, &oom);
    img->model_version = db_text(res, row, c++, &oom);
    img->preset = db_text(res, row, c++, &oom);
    img->anonctl_version = db_text(res, row, c++, &oom);
    img->original_deleted_at = epoch_or_zero(res, row, c++);
    img->reprocessed_at = epoch_or_zero(res, row, c++);
    if (oom) {
        anon_image_row_free(img);
        return anon_fail(err, "out of memory");
    }
    return 0;
}

void anon_image_row_free(anon_image_row *img)
{
    if (img == NULL)
        return;
    free(img->camera);
    free(img->original_name);
    free(img->content_type);
    free(img->input_key);
    free(img->output_key);
    free(img->boxes);
    free(img->timings);
    free(img->error);
    free(img->worker);
    free(img->model);
    free(img->model_version);
    free(img->preset);
    free(img->anonctl_version);
    memset(img, 0, sizeof *img);
}

int anon_image_has_output(const anon_image_row *img)
{
    return img->output_key != NULL && img->status != ANON_IMAGE_REJECTED;
}

/* Runs a query expected to return at most one images row. Returns 1 with
 * *out filled (if out is not NULL), 0 for no row, -1 on error. */
static int query_one(anon_db *db, const char *what, const char *sql, int n_params,
                     const char *const *params, anon_image_row *out, anon_error *err)
{
    PGresult *res = db_exec(db, what, sql, n_params, params, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return -1;
    int rc = PQntuples(res) > 0;
    if (rc && out && read_row(res, 0, out, err) < 0)
        rc = -1;
    PQclear(res);
    return rc;
}

static void id_text(int64_t id, char buf[24])
{
    snprintf(buf, 24, "%" PRId64, id);
}

static int valid_sha256(const char *s)
{
    if (s == NULL || strlen(s) != 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return 1;
}

/* ------------------------------------------------------------ images */

int anon_db_image_insert(anon_db *db, const anon_image_new *img, anon_image_row *out,
                         int *created, anon_error *err)
{
    if (img->camera == NULL || img->camera[0] == '\0' || !valid_sha256(img->sha256) ||
        img->content_type == NULL || img->input_key == NULL || img->bytes < 0 ||
        img->width < 0 || img->height < 0)
        return anon_fail_kind(err, ANON_ERR_INPUT, "image insert: camera, a lower-case hex "
                              "sha256, content type and input key are required");
    char bytes[24], width[16], height[16];
    id_text(img->bytes, bytes);
    snprintf(width, sizeof width, "%d", img->width);
    snprintf(height, sizeof height, "%d", img->height);
    const char *params[] = {img->camera, img->sha256, img->original_name, img->content_type,
                            bytes, width, height, img->input_key};
    /* Insert, or find the row another upload of the same bytes made. When
     * a concurrent insert of the same pair commits while this statement
     * waits, neither half sees a row: run it again and the SELECT does. */
    static const char sql[] =
        "WITH ins AS ("
        " INSERT INTO images (camera, sha256, original_name, content_type, bytes, width,"
        "  height, input_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (camera, sha256) DO NOTHING RETURNING " ROW_COLUMNS ", true)"
        " SELECT * FROM ins UNION ALL"
        " SELECT " ROW_COLUMNS ", false FROM images"
        " WHERE camera = $1 AND sha256 = $2 AND NOT EXISTS (SELECT 1 FROM ins)";
    for (int attempt = 0; attempt < 5; attempt++) {
        PGresult *res = db_exec(db, "image insert", sql, 8, params, PGRES_TUPLES_OK, err);
        if (res == NULL)
            return -1;
        if (PQntuples(res) == 0) {
            PQclear(res);
            continue;
        }
        int rc = read_row(res, 0, out, err);
        if (rc == 0 && created)
            *created = strcmp(PQgetvalue(res, 0, PQnfields(res) - 1), "t") == 0;
        PQclear(res);
        return rc;
    }
    return anon_fail(err, "image insert: the row for this camera and sha256 kept vanishing");
}

int anon_db_image_get(anon_db *db, int64_t id, anon_image_row *out, anon_error *err)
{
    char idt[24];
    id_text(id, idt);
    const char *params[] = {idt};
    return query_one(db, "image get", "SELECT " ROW_COLUMNS " FROM images WHERE id = $1", 1,
                     params, out, err);
}

int anon_db_image_lock(anon_db *db, int64_t id, anon_image_row *out, anon_error *err)
{
    char idt[24];
    id_text(id, idt);
    const char *params[] = {idt};
    return query_one(db, "image lock",
                     "SELECT " ROW_COLUMNS " FROM images WHERE id = $1 FOR UPDATE SKIP LOCKED",
                     1, params, out, err);
}

int anon_db_image_find(anon_db *db, const char *camera, const char *sha256,
                       anon_image_row *out, anon_error *err)
{
    const char *params[] = {camera, sha256};
    return query_one(db, "image find",
                     "SELECT " ROW_COLUMNS " FROM images WHERE camera = $1 AND sha256 = $2", 2,
                     params, out, err);
}

/* Runs an UPDATE ... RETURNING id for one row: 1 changed, 0 not, -1 error. */
static int update_one(anon_db *db, const char *what, const char *sql, int n_params,
                      const char *const *params, anon_error *err)
{
    PGresult *res = db_exec(db, what, sql, n_params, params, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return -1;
    int rc = PQntuples(res) > 0;
    PQclear(res);
    return rc;
}

/* update_one for a statement whose only parameter is the row's id ($1). */
static int update_by_id(anon_db *db, const char *what, const char *sql, int64_t id,
                        anon_error *err)
{
    char idt[24];
    id_text(id, idt);
    const char *params[] = {idt};
    return update_one(db, what, sql, 1, params, err);
}

int anon_db_image_mark_queued(anon_db *db, int64_t id, anon_error *err)
{
    return update_by_id(db, "mark queued",
                      "UPDATE images SET status = 'queued', queued_at = now(), updated_at = now()"
                        " WHERE id = $1 AND status IN ('received', 'queued', 'failed') RETURNING id",
                        id, err);
}

int anon_db_image_requeue(anon_db *db, int64_t id, anon_error *err)
{
    return update_by_id(db, "requeue",
                      "UPDATE images SET status = 'queued', queued_at = now(), updated_at = now(),"
                      " worker = NULL WHERE id = $1"
                        " AND status IN ('received', 'queued', 'processing', 'failed') RETURNING id",
                        id, err);
}

int anon_db_image_mark_processing(anon_db *db, int64_t id, const char *worker,
                                  anon_image_row *out, anon_error *err)
{
    char idt[24];
    id_text(id, idt);
    const char *params[] = {idt, worker ? worker : ""};
    int rc = query_one(db, "mark processing",
                       "UPDATE images SET status = 'processing', attempts = attempts + 1,"
                       " worker = $2, started_at = now(), updated_at = now()"
                       " WHERE id = $1 AND status NOT IN ('done', 'rejected') RETURNING " ROW_COLUMNS,
                       2, params, out, err);
    if (rc == 0 && out && anon_db_image_get(db, id, out, err) < 0)
        return -1;
    return rc;
}

/* Checks that text is JSON of the wanted kind, so that a bad value fails
 * here with a clear message rather than as a cast error in the server. */
static int check_json(const char *text, int want_array, anon_error *err)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (v == NULL)
        return anon_fail_kind(err, ANON_ERR_INPUT, "invalid JSON: %s", jerr.text);
    int ok = want_array ? json_is_array(v) : json_is_object(v);
    json_decref(v);
    if (!ok)
        return anon_fail_kind(err, ANON_ERR_INPUT, "expected a JSON %s",
                              want_array ? "array" : "object");
    return 0;
}

int anon_db_image_mark_done(anon_db *db, int64_t id, const char *output_key,
                            int faces, const char *boxes_json,
                            const char *timings_json, const anon_image_provenance *prov,
                            anon_error *err)
{
    const char *boxes = boxes_json ? boxes_json : "[]";
    const char *timings = timings_json ? timings_json : "{}";
    if (check_json(boxes, 1, err) < 0)
        return anon_fail_prefix(err, "mark done: boxes: ");
    if (check_json(timings, 0, err) < 0)
        return anon_fail_prefix(err, "mark done: timings: ");
    if (output_key == NULL || output_key[0] == '\0' || faces < 0)
        return anon_fail_kind(err, ANON_ERR_INPUT,
                              "mark done: an output key and a face count are required");
    char idt[24], nfaces[16];
    id_text(id, idt);
    snprintf(nfaces, sizeof nfaces, "%d", faces);
    static const anon_image_provenance none = {0};
    if (prov == NULL)
        prov = &none;
    const char *params[] = {idt, output_key, nfaces, boxes, timings, prov->model,
                            prov->model_version, prov->preset, prov->anonctl_version};
    return update_one(db, "mark done",
                      "UPDATE images SET status = 'done', output_key = $2, faces = $3,"
                      " boxes = $4::jsonb, timings = $5::jsonb, error = NULL,"
                      " model = $6, model_version = $7, preset = $8, anonctl_version = $9,"
                      " finished_at = now(), updated_at = now() WHERE id = $1 RETURNING id",
                      9, params, err);
}

/* update_one for a statement whose parameters are the row's id ($1) and a
 * reason ($2, fallback when none is given). */
static int update_with_reason(anon_db *db, const char *what, const char *sql, int64_t id,
                              const char *reason, const char *fallback, anon_error *err)
{
    char idt[24];
    id_text(id, idt);
    const char *params[] = {idt, reason ? reason : fallback};
    return update_one(db, what, sql, 2, params, err);
}

int anon_db_image_mark_failed(anon_db *db, int64_t id, const char *reason,
                              anon_error *err)
{
    return update_with_reason(db, "mark failed",
                              "UPDATE images SET status = 'failed', error = $2, updated_at = now()"
                              " WHERE id = $1 AND status NOT IN ('done', 'rejected') RETURNING id",
                              id, reason, "unknown error", err);
}

int anon_db_image_mark_rejected(anon_db *db, int64_t id, const char *reason,
                                anon_error *err)
{
    return update_with_reason(db, "mark rejected",
                              "UPDATE images SET status = 'rejected', error = $2, finished_at = now(),"
                              " updated_at = now() WHERE id = $1 AND status <> 'done' RETURNING id",
                              id, reason, "rejected", err);
}

int anon_db_image_mark_original_deleted(anon_db *db, int64_t id, anon_error *err)
{
    return update_by_id(db, "mark original deleted",
                        "UPDATE images SET original_deleted_at = now(), updated_at = now()"
                        " WHERE id = $1 AND status IN ('done', 'rejected')"
                        " AND original_deleted_at IS NULL RETURNING id",
                        id, err);
}

int anon_db_image_mark_reprocess(anon_db *db, int64_t id, anon_error *err)
{
    return update_by_id(db, "mark reprocess",
                        "UPDATE images SET status = 'queued', attempts = 0, worker = NULL,"
                        " error = NULL, reprocessed_at = now(), queued_at = now(),"
                        " updated_at = now()"
                        " WHERE id = $1 AND status = 'done' AND original_deleted_at IS NULL"
                        " RETURNING id",
                        id, err);
}

/* ------------------------------------------------------------ pages */

static int read_page(PGresult *res, int limit, anon_image_page *out, anon_error *err)
{
    int n = PQntuples(res);
    int keep = limit > 0 && n > limit ? limit : n;
    if (keep > 0 && (out->rows = calloc((size_t)keep, sizeof *out->rows)) == NULL)
        return anon_fail(err, "out of memory");
    for (int i = 0; i < keep; i++) {
        if (read_row(res, i, &out->rows[i], err) < 0) {
            anon_image_page_free(out);
            return -1;
        }
        out->count++;
    }
    /* One row more than asked for means another page follows. */
    out->next_after = limit > 0 && n > limit ? out->rows[keep - 1].id : 0;
    return 0;
}

/* A page size (plus `extra` rows) as text; the size refused outside
 * 1..1000 (a caller's mistake). */
static int page_limit(const char *what, int limit, int extra, char lim[16], anon_error *err)
{
    if (limit < 1 || limit > 1000)
        return anon_fail_kind(err, ANON_ERR_INPUT, "%s: limit must be 1 to 1000", what);
    snprintf(lim, 16, "%d", limit + extra);
    return 0;
}

int anon_db_image_list(anon_db *db, const anon_image_filter *filter,
                       anon_image_page *out, anon_error *err)
{
    memset(out, 0, sizeof *out);
    int limit = filter->limit > 0 ? filter->limit : 100;
    char since[40], after[24], lim[16];
    if (page_limit("list", limit, 1, lim, err) < 0)   /* one more: does another page follow? */
        return -1;
    snprintf(since, sizeof since, "%.6f", filter->since);
    id_text(filter->after > 0 ? filter->after : 0, after);
    const char *status = NULL;
    if (filter->status >= 0) {
        if (filter->status >= ANON_IMAGE_N_STATUS)
            return anon_fail_kind(err, ANON_ERR_INPUT, "list: unknown status %d", filter->status);
        status = status_names[filter->status];
    }
    const char *params[] = {filter->camera, status, filter->since > 0 ? since : NULL, after, lim};
    PGresult *res = db_exec(db, "image list",
                            "SELECT " ROW_COLUMNS " FROM images"
                            " WHERE ($1::text IS NULL OR camera = $1)"
                            " AND ($2::text IS NULL OR status = $2)"
                            " AND ($3::float8 IS NULL OR created_at >= to_timestamp($3::float8))"
                            " AND id > $4::bigint ORDER BY id LIMIT $5::int",
                            5, params, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return -1;
    int rc = read_page(res, limit, out, err);
    PQclear(res);
    return rc;
}

void anon_image_page_free(anon_image_page *page)
{
    for (size_t i = 0; i < page->count; i++)
        anon_image_row_free(&page->rows[i]);
    free(page->rows);
    memset(page, 0, sizeof *page);
}

/* Runs a selection and reads all its rows into out. */
static int select_page(anon_db *db, const char *what, const char *sql, int n_params,
                       const char *const *params, anon_image_page *out, anon_error *err)
{
    PGresult *res = db_exec(db, what, sql, n_params, params, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return -1;
    int rc = read_page(res, 0, out, err);
    PQclear(res);
    return rc;
}

int anon_db_retry_candidates(anon_db *db, const anon_retry_policy *policy,
                             anon_image_page *out, anon_error *err)
{
    memset(out, 0, sizeof *out);
    char received[24], queued[24], processing[24], lim[16];
    id_text(policy->received_age, received);
    id_text(policy->queued_age, queued);
    id_text(policy->processing_age, processing);
    snprintf(lim, sizeof lim, "%d", policy->limit > 0 ? policy->limit : 500);
    const char *params[] = {received, queued, processing, lim};
    return select_page(db, "retry candidates",
                       "SELECT " ROW_COLUMNS " FROM images WHERE status = 'failed'"
                       " OR (status = 'received' AND updated_at < now() - make_interval(secs => $1::float8))"
                       " OR (status = 'queued' AND updated_at < now() - make_interval(secs => $2::float8))"
                       " OR (status = 'processing' AND updated_at < now() - make_interval(secs => $3::float8))"
                       " ORDER BY updated_at LIMIT $4::int FOR UPDATE SKIP LOCKED",
                       4, params, out, err);
}

int anon_db_purge_candidates(anon_db *db, long retention, int64_t after, int limit,
                             anon_image_page *out, anon_error *err)
{
    memset(out, 0, sizeof *out);
    char age[24], aft[24], lim[16];
    if (page_limit("purge candidates", limit, 0, lim, err) < 0)
        return -1;
    id_text(retention > 0 ? retention : 0, age);
    id_text(after, aft);
    const char *params[] = {age, aft, lim};
    /* Rows a worker finished without a finished_at cannot exist, but if
     * one did, its last change stands in for it. */
    return select_page(db, "purge candidates",
                       "SELECT " ROW_COLUMNS " FROM images"
                       " WHERE original_deleted_at IS NULL AND status IN ('done', 'rejected')"
                       " AND coalesce(finished_at, updated_at)"
                       "  <= now() - make_interval(secs => $1::float8)"
                       " AND id > $2::bigint ORDER BY id LIMIT $3::int FOR UPDATE SKIP LOCKED",
                       3, params, out, err);
}

int anon_db_reprocess_candidates(anon_db *db, const anon_reprocess_filter *f,
                                 int64_t after, int limit, anon_image_page *out,
                                 anon_error *err)
{
    memset(out, 0, sizeof *out);
    char since[40], until[40], aft[24], lim[16];
    if (page_limit("reprocess candidates", limit, 0, lim, err) < 0)
        return -1;
    snprintf(since, sizeof since, "%.6f", f->since);
    snprintf(until, sizeof until, "%.6f", f->until);
    id_text(after, aft);
    const char *params[] = {f->camera, f->since > 0 ? since : NULL, f->until > 0 ? until : NULL,
                            f->model, f->preset, aft, lim};
    /* "" asks for rows with nothing recorded: NULLIF turns it into NULL,
     * which IS NOT DISTINCT FROM matches. */
    return select_page(db, "reprocess candidates",
                       "SELECT " ROW_COLUMNS " FROM images WHERE status = 'done'"
                       " AND ($1::text IS NULL OR camera = $1)"
                       " AND ($2::float8 IS NULL OR created_at >= to_timestamp($2::float8))"
                       " AND ($3::float8 IS NULL OR created_at < to_timestamp($3::float8))"
                       " AND ($4::text IS NULL OR model IS NOT DISTINCT FROM nullif($4, ''))"
                       " AND ($5::text IS NULL OR preset IS NOT DISTINCT FROM nullif($5, ''))"
                       " AND id > $6::bigint ORDER BY id LIMIT $7::int FOR UPDATE SKIP LOCKED",
                       7, params, out, err);
}
