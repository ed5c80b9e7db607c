/* reprocess.c - sending done images through the pipeline again (see
 * reprocess.h). */
#include "service/reprocess.h"

#include <stdio.h>
#include <string.h>

#include "base/timestamp.h"
#include "service/job.h"

#define REPROCESS_PAGE 100

static void emit(anon_reprocess_logger log, void *ctx, anon_reprocess_action action,
                 const anon_image_row *row, const char *reason)
{
    if (log == NULL)
        return;
    anon_reprocess_event ev = {.action = action, .row = row, .reason = reason};
    log(ctx, &ev);
}

/* Why a row cannot be processed again, into reason; NULL when it can. A
 * row that says its original is held but whose object is missing is
 * recorded as deleted (unless a dry run): the original is gone either way.
 * -1 (with err) when the object store cannot say. */
static int original_gone(anon_db *db, anon_s3 *s3, const anon_reprocess_options *opt,
                         const anon_image_row *row, char *reason, size_t size,
                         anon_error *err)
{
    if (row->original_deleted_at > 0) {
        char when[ANON_TIMESTAMP_LEN];
        anon_timestamp_format(row->original_deleted_at, when);
        snprintf(reason, size, "original deleted at %s (retention)", when);
        return 1;
    }
    anon_error head_err;
    if (anon_s3_head(s3, opt->bucket, row->input_key, NULL, &head_err) == 0)
        return 0;
    if (anon_error_kind_of(&head_err) != ANON_ERR_NOT_FOUND) {
        *err = head_err;
        return -1;
    }
    snprintf(reason, size, "original is not in the input bucket");
    if (!opt->dry_run && anon_db_image_mark_original_deleted(db, row->id, err) < 0)
        return -1;
    return 1;
}

/* Republishes the row's job and marks it queued; the caller holds it. */
static int send_again(anon_db *db, anon_queue *q, const anon_reprocess_options *opt,
                      const anon_image_row *row, anon_error *err)
{
    anon_job job = {.id = row->id, .key = row->input_key, .attempt = 1};
    snprintf(job.bucket, sizeof job.bucket, "%s", opt->bucket);
    snprintf(job.sha256, sizeof job.sha256, "%s", row->sha256);
    /* Published first: a message whose row is still done (the update or
     * the commit failed) is acked by the worker that gets it, unused. */
    if (anon_queue_publish(q, &job, err) < 0)
        return -1;
    return anon_db_image_mark_reprocess(db, row->id, err) < 0 ? -1 : 0;
}

/* One row, locked: skipped with its reason, or sent. */
static int reprocess_row(anon_db *db, anon_queue *q, anon_s3 *s3,
                         const anon_reprocess_options *opt, const anon_image_row *row,
                         anon_reprocess_logger log, void *ctx, anon_reprocess_totals *t,
                         anon_error *err)
{
    char reason[160];
    int gone = original_gone(db, s3, opt, row, reason, sizeof reason, err);
    if (gone < 0)
        return -1;
    if (gone) {
        emit(log, ctx, ANON_REPROCESS_SKIPPED, row, reason);
        t->skipped++;
        return 0;
    }
    if (!opt->dry_run && send_again(db, q, opt, row, err) < 0)
        return -1;
    emit(log, ctx, ANON_REPROCESS_SENT, row, NULL);
    t->sent++;
    return 0;
}

/* One page in one transaction. Returns the number of rows selected, -1 on
 * failure (the rows sent before it in the page are committed). */
static int reprocess_page(anon_db *db, anon_queue *q, anon_s3 *s3,
                          const anon_reprocess_options *opt, long limit, int64_t *after,
                          anon_reprocess_logger log, void *ctx, anon_reprocess_totals *t,
                          anon_error *err)
{
    anon_error ignored;
    if (anon_db_begin(db, err) < 0)
        return -1;
    anon_image_page page = {0};
    int rc = anon_db_reprocess_candidates(db, &opt->filter, *after, REPROCESS_PAGE, &page, err);
    for (size_t i = 0; rc == 0 && i < page.count; i++) {
        if (t->sent >= limit) {
            t->limit_reached = true;
            break;
        }
        rc = reprocess_row(db, q, s3, opt, &page.rows[i], log, ctx, t, err);
        if (rc == 0)
            *after = page.rows[i].id;
    }
    int selected = rc < 0 ? -1 : (int)page.count;
    anon_image_page_free(&page);
    if (opt->dry_run) {
        anon_db_rollback(db, &ignored);
        return selected;
    }
    if (anon_db_commit(db, rc < 0 ? &ignored : err) < 0)
        return -1;
    return selected;
}

int anon_reprocess_run(anon_db *db, anon_queue *q, anon_s3 *s3,
                       const anon_reprocess_options *opt, anon_reprocess_logger log,
                       void *log_ctx, anon_reprocess_totals *totals, anon_error *err)
{
    memset(totals, 0, sizeof *totals);
    long limit = opt->limit > 0 ? opt->limit : 1000;
    int64_t after = 0;
    for (;;) {
        int selected = reprocess_page(db, q, s3, opt, limit, &after, log, log_ctx, totals, err);
        if (selected < 0)
            return -1;
        if (selected < REPROCESS_PAGE || totals->limit_reached)
            return 0;
    }
}
