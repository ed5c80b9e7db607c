/* db.h - image metadata and status in PostgreSQL (libpq).
 *
 * One row per accepted image in table `images`, unique per (camera,
 * sha256) so that a camera re-sending the same bytes gets the same row.
 * The intake inserts rows and marks them queued; workers mark them
 * processing/done/failed/rejected and record which model made the output;
 * `anonctl retry`, `purge` and `reprocess` select rows with FOR UPDATE SKIP
 * LOCKED; `anonctl status` and the HTTP API read counts and pages. The
 * schema comes from versioned, forward-only SQL migrations
 * (src/service/migrations/NNN_name.sql, embedded in the binary at build
 * time), applied by anon_db_migrate under an advisory lock.
 *
 * Only parameterized queries. One anon_db is one connection: use one per
 * thread. A call that finds the connection broken resets it once and
 * retries (only for statements that are safe to repeat) before failing.
 * The kind of a failure is in err: ANON_ERR_TRANSIENT when the server was
 * unreachable or the connection broke (trying later may help),
 * ANON_ERR_CONFIG for a malformed URL or a schema that is not there,
 * ANON_ERR_INPUT for values the statement or the table refused. */
#ifndef ANON_DB_H
#define ANON_DB_H

#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "base/error.h"

typedef struct anon_db anon_db;

/* Connects with a libpq URL ("postgresql://user:pass@host:port/db") or
 * key=value string. A malformed URL fails with a clear message; the
 * password is never put in a message. */
anon_db *anon_db_connect(const char *url, anon_error *err);
void anon_db_close(anon_db *db);

/* SELECT 1: for readiness checks. */
int anon_db_ping(anon_db *db, anon_error *err);

/* Applies every embedded migration not yet recorded in schema_migrations,
 * in version order, each in its own transaction, all under a session
 * advisory lock so that concurrent runs wait for each other. *applied (may
 * be NULL) gets the number applied by this call (0: already up to date). */
int anon_db_migrate(anon_db *db, int *applied, anon_error *err);

/* The embedded migrations, for `anonctl migrate --list`. */
typedef struct anon_migration {
    int version;
    const char *name;   /* "001_images" */
    const char *sql;
} anon_migration;
const anon_migration *anon_db_migrations(size_t *count);

/* Explicit transactions, for retry's SELECT ... FOR UPDATE SKIP LOCKED:
 * begin, select candidates, republish and mark them, commit. */
int anon_db_begin(anon_db *db, anon_error *err);
int anon_db_commit(anon_db *db, anon_error *err);
int anon_db_rollback(anon_db *db, anon_error *err);

typedef enum anon_image_status {
    ANON_IMAGE_RECEIVED = 0,
    ANON_IMAGE_QUEUED,
    ANON_IMAGE_PROCESSING,
    ANON_IMAGE_DONE,
    ANON_IMAGE_FAILED,
    ANON_IMAGE_REJECTED,
    ANON_IMAGE_N_STATUS
} anon_image_status;

/* "received", "queued", ... */
const char *anon_image_status_name(anon_image_status status);
/* Parses a status name; -1 (with err, ANON_ERR_INPUT) when unknown. */
int anon_image_status_parse(const char *name, anon_image_status *status,
                            anon_error *err);

/* One row of `images`. Text fields are heap strings owned by the struct,
 * NULL when the column is NULL; free with anon_image_row_free. Timestamps are
 * Unix seconds with fractions, 0 when NULL. */
typedef struct anon_image_row {
    int64_t id;
    char *camera;
    char sha256[65];
    char *original_name;
    char *content_type;
    int64_t bytes;
    int width;
    int height;
    char *input_key;
    char *output_key;
    anon_image_status status;
    int attempts;
    int faces;              /* -1 until done */
    char *boxes;            /* JSON array text, NULL until done */
    char *timings;          /* JSON object text (ms per stage), NULL until done */
    char *error;
    char *worker;
    double created_at;
    double queued_at;
    double started_at;
    double finished_at;
    double updated_at;
    /* What made the output (NULL until done, and for outputs made before
     * migration 002): the model's name, its version (a short digest of its
     * weights), the preset and the anonctl version. */
    char *model;
    char *model_version;
    char *preset;
    char *anonctl_version;
    double original_deleted_at;  /* when the original was deleted; 0: still held */
    double reprocessed_at;       /* when anonctl reprocess last sent it again; 0: never */
} anon_image_row;

void anon_image_row_free(anon_image_row *img);

/* Whether the row has an anonymized output that may be served: a done
 * row's, and the previous output of a row that is being processed again
 * (reprocess) until the new one replaces it. Never a rejected row's. */
int anon_image_has_output(const anon_image_row *img);

/* What the intake knows about a new upload. */
typedef struct anon_image_new {
    const char *camera;
    const char *sha256;          /* 64 lower-case hex digits */
    const char *original_name;   /* may be NULL */
    const char *content_type;    /* "image/jpeg" */
    int64_t bytes;
    int width;
    int height;
    const char *input_key;
} anon_image_new;

/* Inserts a `received` row, or finds the existing row with the same
 * (camera, sha256). Idempotent and safe under concurrency. *created (may be
 * NULL) is 1 when this call inserted the row. out receives the row. */
int anon_db_image_insert(anon_db *db, const anon_image_new *img, anon_image_row *out,
                         int *created, anon_error *err);

/* Loads one row. Returns 1 found, 0 no such id, -1 error. */
int anon_db_image_get(anon_db *db, int64_t id, anon_image_row *out, anon_error *err);

/* Loads one row and locks it until the transaction ends (call inside
 * anon_db_begin/commit); a row another transaction holds is skipped.
 * Returns 1 locked, 0 no such id or held elsewhere, -1 error. */
int anon_db_image_lock(anon_db *db, int64_t id, anon_image_row *out, anon_error *err);

/* Looks a row up by (camera, sha256). Returns 1 found, 0 none, -1 error. */
int anon_db_image_find(anon_db *db, const char *camera, const char *sha256,
                       anon_image_row *out, anon_error *err);

/* Status changes. Each returns 1 when the row changed, 0 when it did not
 * (no such id, or a state it must not leave: a `done` or `rejected` row is
 * never moved back), -1 on error. */

/* received/failed/queued -> queued; sets queued_at. What the intake calls
 * after the publish was confirmed (a worker may already have moved the row
 * on: then nothing changes and 0 is returned). */
int anon_db_image_mark_queued(anon_db *db, int64_t id, anon_error *err);

/* received/queued/processing/failed -> queued, clearing the worker; sets
 * queued_at. What retry calls after republishing a stuck or failed row. */
int anon_db_image_requeue(anon_db *db, int64_t id, anon_error *err);

/* Claims the image for a worker: -> processing, attempts+1, worker,
 * started_at. out (may be NULL) receives the row as it is after the call,
 * so a worker that gets 0 sees e.g. that it is already done. */
int anon_db_image_mark_processing(anon_db *db, int64_t id, const char *worker,
                                  anon_image_row *out, anon_error *err);

/* What made an output, recorded with it (NULL fields are stored as NULL). */
typedef struct anon_image_provenance {
    const char *model;            /* "ssd" */
    const char *model_version;    /* short digest of the weights (model_digest.h) */
    const char *preset;           /* "balanced" */
    const char *anonctl_version;  /* "0.1.0" */
} anon_image_provenance;

/* -> done (from any status: a finished image is the best outcome) with the
 * output key, face count, boxes (a JSON array, NULL: []), timings (a
 * JSON object, NULL: {}) and what made it (prov, may be NULL); clears
 * error; sets finished_at. Fails if boxes/timings are not a JSON
 * array/object. */
int anon_db_image_mark_done(anon_db *db, int64_t id, const char *output_key,
                            int faces, const char *boxes_json,
                            const char *timings_json, const anon_image_provenance *prov,
                            anon_error *err);

/* -> failed (transient: retry may republish it) with the reason; not
 * from done or rejected. */
int anon_db_image_mark_failed(anon_db *db, int64_t id, const char *reason,
                              anon_error *err);

/* -> rejected (permanent: not decodable, too large, attempts exhausted);
 * not from done. */
int anon_db_image_mark_rejected(anon_db *db, int64_t id, const char *reason,
                                anon_error *err);

/* Records that the original of a finished (done or rejected) row was
 * deleted: sets original_deleted_at unless it is set already. 1 changed,
 * 0 not (no such row, unfinished, or already recorded), -1 error. */
int anon_db_image_mark_original_deleted(anon_db *db, int64_t id, anon_error *err);

/* done -> queued, to be processed again (anonctl reprocess): attempts
 * start again from 0, reprocessed_at and queued_at are set, the worker
 * cleared; output key and provenance stay until the new output replaces
 * them. Only a row whose original is still held. 1 / 0 / -1. */
int anon_db_image_mark_reprocess(anon_db *db, int64_t id, anon_error *err);

/* Keyset pagination, in ascending id order. */
typedef struct anon_image_filter {
    const char *camera;   /* NULL: all */
    int status;           /* an anon_image_status, or -1: all */
    double since;         /* created_at >= since (Unix seconds); 0: no bound */
    int64_t after;        /* id > after; 0: from the start */
    int limit;            /* 1..1000; 0: 100 */
} anon_image_filter;

#define ANON_IMAGE_FILTER_INIT {NULL, -1, 0, 0, 0}

typedef struct anon_image_page {
    anon_image_row *rows;
    size_t count;
    int64_t next_after;   /* pass as filter.after for the next page; 0: last page */
} anon_image_page;

int anon_db_image_list(anon_db *db, const anon_image_filter *filter,
                       anon_image_page *out, anon_error *err);
void anon_image_page_free(anon_image_page *page);

/* What `anonctl status` shows. */
typedef struct anon_db_error_count {
    char *error;
    int64_t count;
} anon_db_error_count;

typedef struct anon_db_model_count {
    char *model, *model_version, *preset;   /* NULL: not recorded */
    int64_t count;
} anon_db_model_count;

typedef struct anon_db_stats {
    int64_t by_status[ANON_IMAGE_N_STATUS];
    int64_t total;
    double oldest_unfinished_age;  /* seconds since created_at of the oldest
                                      received/queued/processing/failed row; -1: none */
    int64_t done_last_5min;        /* rows finished (done) in the last 5 minutes */
    int64_t done_last_60min;
    double per_second_5min;        /* done_last_5min / 300 */
    double per_second_60min;       /* done_last_60min / 3600 */
    anon_db_error_count *top_errors;  /* most frequent errors of failed/rejected rows */
    size_t n_top_errors;
    /* Originals still in the input bucket. */
    int64_t originals_held;           /* of every row */
    int64_t originals_held_finished;  /* of done and rejected rows: retention applies */
    int64_t originals_past_retention; /* of those, finished longer ago than the
                                         retention asked about (anonctl purge's work) */
    double oldest_original_age;       /* seconds since the oldest held original was
                                         stored (created_at); -1: none held */
    /* Done rows per model, model version and preset (NULL fields: not
     * recorded), most first. */
    anon_db_model_count *by_model;
    size_t n_by_model;
} anon_db_stats;

/* camera NULL: all cameras. max_errors: how many top errors (0: 5).
 * retention: seconds, for originals_past_retention (ANON_DURATION_FOREVER:
 * none is past it). */
int anon_db_stats_get(anon_db *db, const char *camera, size_t max_errors, long retention,
                      anon_db_stats *out, anon_error *err);
void anon_db_stats_free(anon_db_stats *stats);

/* What `anonctl retry` looks for. Ages in seconds. */
typedef struct anon_retry_policy {
    long received_age;    /* received longer than this: the publish was lost */
    long queued_age;      /* queued longer than this: the message was lost */
    long processing_age;  /* processing longer than this: the worker died */
    int limit;            /* rows per call; 0: 500 */
} anon_retry_policy;

/* Selects `failed` rows and rows stuck per the policy, oldest first, with
 * FOR UPDATE SKIP LOCKED: call inside anon_db_begin/commit so that a
 * concurrent retry skips the rows this one holds. Attempts are not judged
 * here: the caller rejects rows whose attempts reached its limit. */
int anon_db_retry_candidates(anon_db *db, const anon_retry_policy *policy,
                             anon_image_page *out, anon_error *err);

/* What `anonctl purge` deletes: done and rejected rows whose original is
 * held and whose image finished more than retention seconds ago (0: all of
 * them), id > after, at most limit (1..1000), in id order, taken with FOR
 * UPDATE SKIP LOCKED: call inside anon_db_begin/commit. Unfinished rows are
 * never among them. */
int anon_db_purge_candidates(anon_db *db, long retention, int64_t after, int limit,
                             anon_image_page *out, anon_error *err);

/* What `anonctl reprocess` selects among done rows. */
typedef struct anon_reprocess_filter {
    const char *camera;   /* NULL: all */
    double since, until;  /* created_at in [since, until) (Unix seconds); 0: no bound */
    const char *model;    /* NULL: any; "": none recorded (done before migration 002) */
    const char *preset;   /* the same */
} anon_reprocess_filter;

/* Done rows matching the filter, id > after, at most limit (1..1000), in
 * id order, with FOR UPDATE SKIP LOCKED (call inside a transaction): a
 * concurrent reprocess, purge or worker deleting an original skips them.
 * Rows whose original is gone are included (the caller reports them). */
int anon_db_reprocess_candidates(anon_db *db, const anon_reprocess_filter *filter,
                                 int64_t after, int limit, anon_image_page *out,
                                 anon_error *err);

#endif
