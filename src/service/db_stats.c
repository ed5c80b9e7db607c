/* db_stats.c - the counts `anonctl status` shows (see db.h): rows per
 * status, the oldest unfinished image, throughput, the most frequent
 * errors, the originals still held, and done images per model and preset. */
#include "service/db_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int stats_counts(anon_db *db, const char *const *params, anon_db_stats *out,
                        anon_error *err)
{
    PGresult *res = db_exec(db, "status counts",
                            "SELECT status, count(*) FROM images"
                            " WHERE ($1::text IS NULL OR camera = $1) GROUP BY status",
                            1, params, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return -1;
    for (int i = 0; i < PQntuples(res); i++) {
        anon_image_status s;
        if (anon_image_status_parse(PQgetvalue(res, i, 0), &s, NULL) == 0) {
            out->by_status[s] = strtoll(PQgetvalue(res, i, 1), NULL, 10);
            out->total += out->by_status[s];
        }
    }
    PQclear(res);
    res = db_exec(db, "status ages and throughput",
                  "SELECT (SELECT extract(epoch from now() - min(created_at)) FROM images"
                  "  WHERE status IN ('received', 'queued', 'processing', 'failed')"
                  "  AND ($1::text IS NULL OR camera = $1)),"
                  " count(*) FILTER (WHERE updated_at >= now() - interval '5 minutes'),"
                  " count(*) FROM images WHERE status = 'done'"
                  " AND updated_at >= now() - interval '60 minutes'"
                  " AND ($1::text IS NULL OR camera = $1)",
                  1, params, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return -1;
    out->oldest_unfinished_age = PQgetisnull(res, 0, 0) ? -1 : strtod(PQgetvalue(res, 0, 0), NULL);
    out->done_last_5min = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    out->done_last_60min = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    out->per_second_5min = (double)out->done_last_5min / 300.0;
    out->per_second_60min = (double)out->done_last_60min / 3600.0;
    PQclear(res);
    return 0;
}

static int stats_errors(anon_db *db, const char *camera, size_t max_errors,
                        anon_db_stats *out, anon_error *err)
{
    char lim[24];
    snprintf(lim, sizeof lim, "%zu", max_errors ? max_errors : 5);
    const char *params[] = {camera, lim};
    PGresult *res = db_exec(db, "frequent errors",
                            "SELECT error, count(*) AS n FROM images"
                            " WHERE status IN ('failed', 'rejected') AND error IS NOT NULL"
                            " AND ($1::text IS NULL OR camera = $1)"
                            " GROUP BY error ORDER BY n DESC, error LIMIT $2::int",
                            2, params, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return -1;
    int n = PQntuples(res);
    if (n > 0 && (out->top_errors = calloc((size_t)n, sizeof *out->top_errors)) == NULL) {
        PQclear(res);
        return anon_fail(err, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        if ((out->top_errors[i].error = strdup(PQgetvalue(res, i, 0))) == NULL) {
            PQclear(res);
            return anon_fail(err, "out of memory");
        }
        out->top_errors[i].count = strtoll(PQgetvalue(res, i, 1), NULL, 10);
        out->n_top_errors++;
    }
    PQclear(res);
    return 0;
}

/* Originals still in the input bucket: all, of finished images, past the
 * retention, and how long the oldest has been stored. */
static int stats_originals(anon_db *db, const char *camera, long retention,
                           anon_db_stats *out, anon_error *err)
{
    char age[24];
    snprintf(age, sizeof age, "%ld", retention);
    const char *params[] = {camera, retention >= 0 ? age : NULL};
    PGresult *res = db_exec(db, "originals held",
                            "SELECT count(*),"
                            " count(*) FILTER (WHERE status IN ('done', 'rejected')),"
                            " count(*) FILTER (WHERE status IN ('done', 'rejected')"
                            "  AND $2::float8 IS NOT NULL AND coalesce(finished_at, updated_at)"
                            "  <= now() - make_interval(secs => $2::float8)),"
                            " extract(epoch from now() - min(created_at))"
                            " FROM images WHERE original_deleted_at IS NULL"
                            " AND ($1::text IS NULL OR camera = $1)",
                            2, params, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return -1;
    out->originals_held = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    out->originals_held_finished = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    out->originals_past_retention = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    out->oldest_original_age = PQgetisnull(res, 0, 3) ? -1 : strtod(PQgetvalue(res, 0, 3), NULL);
    PQclear(res);
    return 0;
}

/* Done images per model, model version and preset. */
static int stats_models(anon_db *db, const char *camera, anon_db_stats *out, anon_error *err)
{
    const char *params[] = {camera};
    PGresult *res = db_exec(db, "done per model",
                            "SELECT model, model_version, preset, count(*) AS n FROM images"
                            " WHERE status = 'done' AND ($1::text IS NULL OR camera = $1)"
                            " GROUP BY 1, 2, 3 ORDER BY n DESC, 1, 2, 3",
                            1, params, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return -1;
    int n = PQntuples(res), oom = 0;
    if (n > 0 && (out->by_model = calloc((size_t)n, sizeof *out->by_model)) == NULL)
        oom = 1;
    for (int i = 0; i < n && !oom; i++) {
        anon_db_model_count *m = &out->by_model[i];
        m->model = db_text(res, i, 0, &oom);
        m->model_version = db_text(res, i, 1, &oom);
        m->preset = db_text(res, i, 2, &oom);
        m->count = strtoll(PQgetvalue(res, i, 3), NULL, 10);
        out->n_by_model++;
    }
    PQclear(res);
    return oom ? anon_fail(err, "out of memory") : 0;
}

int anon_db_stats_get(anon_db *db, const char *camera, size_t max_errors, long retention,
                      anon_db_stats *out, anon_error *err)
{
    memset(out, 0, sizeof *out);
    const char *params[] = {camera};
    if (stats_counts(db, params, out, err) < 0 ||
        stats_errors(db, camera, max_errors, out, err) < 0 ||
        stats_originals(db, camera, retention, out, err) < 0 ||
        stats_models(db, camera, out, err) < 0) {
        anon_db_stats_free(out);
        return -1;
    }
    return 0;
}

void anon_db_stats_free(anon_db_stats *stats)
{
    for (size_t i = 0; i < stats->n_top_errors; i++)
        free(stats->top_errors[i].error);
    free(stats->top_errors);
    stats->top_errors = NULL;
    stats->n_top_errors = 0;
    for (size_t i = 0; i < stats->n_by_model; i++) {
        free(stats->by_model[i].model);
        free(stats->by_model[i].model_version);
        free(stats->by_model[i].preset);
    }
    free(stats->by_model);
    stats->by_model = NULL;
    stats->n_by_model = 0;
}
