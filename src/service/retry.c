/* retry.c - the repair pass (see retry.h). */
#include "service/retry.h"

#include <stdio.h>
#include <string.h>

static void emit(anon_retry_logger log, void *ctx, anon_retry_action action, bool dead,
                 const anon_image_row *row, const char *reason)
{
    if (log == NULL)
        return;
    anon_retry_event ev = {.action = action, .dead_letter = dead, .id = row->id,
                           .status = anon_image_status_name(row->status),
                           .attempts = row->attempts, .reason = reason};
    log(ctx, &ev);
}

static int give_up(anon_db *db, const anon_retry_options *opt, const anon_image_row *row,
                   anon_error *err)
{
    char reason[400];
    snprintf(reason, sizeof reason, "gave up after %d attempts: %s", row->attempts,
             row->error ? row->error : "no error recorded");
    if (opt->dry_run)
        return 0;
    return anon_db_image_mark_rejected(db, row->id, reason, err) < 0 ? -1 : 0;
}

static int republish(anon_db *db, anon_queue *q, const anon_retry_options *opt,
                     const anon_image_row *row, anon_error *err)
{
    if (opt->dry_run)
        return 0;
    anon_job job = {.id = row->id, .key = row->input_key, .attempt = row->attempts + 1};
    snprintf(job.bucket, sizeof job.bucket, "%s", opt->bucket);
    snprintf(job.sha256, sizeof job.sha256, "%s", row->sha256);
    if (anon_queue_publish(q, &job, err) < 0)
        return -1;
    return anon_db_image_requeue(db, row->id, err) < 0 ? -1 : 0;
}

/* Republishes or rejects one row; the caller holds its lock. */
static int repair_row(anon_db *db, anon_queue *q, const anon_retry_options *opt,
                      const anon_image_row *row, bool dead, anon_retry_logger log,
                      void *ctx, anon_retry_totals *t, anon_error *err)
{
    if (row->attempts >= opt->max_attempts) {
        if (give_up(db, opt, row, err) < 0)
            return -1;
        emit(log, ctx, ANON_RETRY_REJECTED, dead, row, row->error);
        *(dead ? &t->dead_rejected : &t->rejected) += 1;
        return 0;
    }
    if (republish(db, q, opt, row, err) < 0)
        return -1;
    emit(log, ctx, ANON_RETRY_REPUBLISHED, dead, row, row->error);
    *(dead ? &t->dead_republished : &t->republished) += 1;
    return 0;
}

static int repair_rows(anon_db *db, anon_queue *q, const anon_retry_options *opt,
                       anon_retry_logger log, void *ctx, anon_retry_totals *t,
                       anon_error *err)
{
    if (anon_db_begin(db, err) < 0)
        return -1;
    anon_image_page page = {0};
    int rc = anon_db_retry_candidates(db, &opt->policy, &page, err);
    for (size_t i = 0; rc == 0 && i < page.count; i++)
        rc = repair_row(db, q, opt, &page.rows[i], false, log, ctx, t, err);
    anon_image_page_free(&page);
    anon_error ignored;
    if (rc < 0 || opt->dry_run) {
        anon_db_rollback(db, &ignored);
        return rc;
    }
    return anon_db_commit(db, err);
}

/* Whether a dead letter still stands for work: its row exists, is not
 * finished, and was not already republished (queued) by a pass. A row
 * queued before the message died is not: a worker that could not reach
 * the database gave the message back without marking the row failed, so
 * this dead letter is its only message. (x-death times are whole
 * seconds: a second's margin errs on the side of a harmless duplicate.) */
static const char *dead_letter_redundant(int found, const anon_image_row *row,
                                         const anon_delivery *d)
{
    if (found == 0)
        return "no such image, or another retry pass holds it";
    if (row->status == ANON_IMAGE_DONE || row->status == ANON_IMAGE_REJECTED)
        return "already finished";
    if (row->status == ANON_IMAGE_QUEUED && row->queued_at > d->died_at + 1)
        return "already republished";
    return NULL;
}

/* One dead letter, with its row locked: the row decides. */
static int repair_dead_letter_row(anon_db *db, anon_queue *q, const anon_retry_options *opt,
                                  const anon_delivery *d, anon_retry_logger log, void *ctx,
                                  anon_retry_totals *t, anon_error *err)
{
    anon_image_row row = {0};
    int found = d->valid ? anon_db_image_lock(db, d->job.id, &row, err) : 0;
    int rc = found < 0 ? -1 : 0;
    const char *redundant = d->valid ? dead_letter_redundant(found, &row, d) : d->invalid_reason;
    if (rc == 0 && redundant) {
        row.id = d->valid ? d->job.id : 0;
        emit(log, ctx, ANON_RETRY_DROPPED, true, &row, redundant);
        if (!opt->dry_run)
            t->dead_dropped++;
    } else if (rc == 0) {
        rc = repair_row(db, q, opt, &row, true, log, ctx, t, err);
    }
    anon_image_row_free(&row);
    return rc;
}

/* One dead letter. Returns 1 handled, 0 queue empty, -1 error. The message
 * leaves the dead-letter queue only once its row is safe. */
static int repair_dead_letter(anon_db *db, anon_queue *q, const anon_retry_options *opt,
                              anon_retry_logger log, void *ctx, anon_retry_totals *t,
                              anon_error *err)
{
    anon_delivery d;
    int got = anon_queue_get(q, anon_queue_dead_name(q), &d, err);
    if (got <= 0)
        return got;
    anon_error ignored;
    int rc = anon_db_begin(db, err);
    if (rc == 0)
        rc = repair_dead_letter_row(db, q, opt, &d, log, ctx, t, err);
    if (rc == 0 && !opt->dry_run)
        rc = anon_db_commit(db, err);
    else
        anon_db_rollback(db, &ignored);
    if (rc == 0 && !opt->dry_run)
        anon_queue_ack(q, &d, &ignored);
    else
        anon_queue_nack(q, &d, 1, &ignored);
    anon_delivery_free(&d);
    return rc < 0 ? -1 : 1;
}

int anon_retry_run(anon_db *db, anon_queue *q, const anon_retry_options *opt,
                   anon_retry_logger log, void *log_ctx, anon_retry_totals *totals,
                   anon_error *err)
{
    memset(totals, 0, sizeof *totals);
    if (repair_rows(db, q, opt, log, log_ctx, totals, err) < 0)
        return -1;
    /* In a dry run every dead letter goes back, so look at each once. */
    uint32_t dead = 0;
    if (anon_queue_depth(q, NULL, &dead, err) < 0)
        return -1;
    long budget = opt->max_dead < (long)dead ? opt->max_dead : (long)dead;
    for (long i = 0; i < budget; i++) {
        int rc = repair_dead_letter(db, q, opt, log, log_ctx, totals, err);
        if (rc < 0)
            return -1;
        if (rc == 0)
            break;
    }
    return 0;
}
