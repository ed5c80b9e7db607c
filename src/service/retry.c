/* retry.c - the repair pass (see retry.h). */
#include "service/retry.h"

#include <stdio.h>
#include <string.h>

#include "service/originals.h"

/* What one pass works with. */
struct pass {
    anon_db *db;
    anon_queue *q;
    anon_s3 *s3;
    const anon_retry_options *opt;
    anon_retry_logger log;
    void *log_ctx;
    anon_retry_totals *t;
};

static void emit(const struct pass *p, anon_retry_action action, bool dead,
                 const anon_image_row *row, const char *reason)
{
    if (p->log == NULL)
        return;
    anon_retry_event ev = {.action = action, .dead_letter = dead, .id = row->id,
                           .status = anon_image_status_name(row->status),
                           .attempts = row->attempts, .reason = reason};
    p->log(p->log_ctx, &ev);
}

/* Rejects the row; with a retention of 0 its original goes at once, as
 * after a worker's rejection (best effort: `anonctl purge` deletes what
 * is left). The caller holds the row. */
static int give_up(const struct pass *p, const anon_image_row *row, anon_error *err)
{
    char reason[400];
    snprintf(reason, sizeof reason, "gave up after %d attempts: %s", row->attempts,
             row->error ? row->error : "no error recorded");
    if (p->opt->dry_run)
        return 0;
    if (anon_db_image_mark_rejected(p->db, row->id, reason, err) < 0)
        return -1;
    if (p->opt->originals_retention == 0 && p->s3) {
        anon_image_row rejected = *row;
        anon_error ignored;
        rejected.status = ANON_IMAGE_REJECTED;
        anon_original_delete_locked(p->db, p->s3, p->opt->bucket, &rejected, &ignored);
    }
    return 0;
}

static int republish(const struct pass *p, const anon_image_row *row, anon_error *err)
{
    if (p->opt->dry_run)
        return 0;
    anon_job job = {.id = row->id, .key = row->input_key, .attempt = row->attempts + 1};
    snprintf(job.bucket, sizeof job.bucket, "%s", p->opt->bucket);
    snprintf(job.sha256, sizeof job.sha256, "%s", row->sha256);
    if (anon_queue_publish(p->q, &job, err) < 0)
        return -1;
    return anon_db_image_requeue(p->db, row->id, err) < 0 ? -1 : 0;
}

/* Republishes or rejects one row; the caller holds its lock. */
static int repair_row(const struct pass *p, const anon_image_row *row, bool dead,
                      anon_error *err)
{
    anon_retry_totals *t = p->t;
    if (row->attempts >= p->opt->max_attempts) {
        if (give_up(p, row, err) < 0)
            return -1;
        emit(p, ANON_RETRY_REJECTED, dead, row, row->error);
        *(dead ? &t->dead_rejected : &t->rejected) += 1;
        return 0;
    }
    if (republish(p, row, err) < 0)
        return -1;
    emit(p, ANON_RETRY_REPUBLISHED, dead, row, row->error);
    *(dead ? &t->dead_republished : &t->republished) += 1;
    return 0;
}

static int repair_rows(const struct pass *p, anon_error *err)
{
    if (anon_db_begin(p->db, err) < 0)
        return -1;
    anon_image_page page = {0};
    int rc = anon_db_retry_candidates(p->db, &p->opt->policy, &page, err);
    for (size_t i = 0; rc == 0 && i < page.count; i++)
        rc = repair_row(p, &page.rows[i], false, err);
    anon_image_page_free(&page);
    anon_error ignored;
    if (rc < 0 || p->opt->dry_run) {
        anon_db_rollback(p->db, &ignored);
        return rc;
    }
    return anon_db_commit(p->db, err);
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
static int repair_dead_letter_row(const struct pass *p, const anon_delivery *d,
                                  anon_error *err)
{
    anon_image_row row = {0};
    int found = d->valid ? anon_db_image_lock(p->db, d->job.id, &row, err) : 0;
    int rc = found < 0 ? -1 : 0;
    const char *redundant = d->valid ? dead_letter_redundant(found, &row, d) : d->invalid_reason;
    if (rc == 0 && redundant) {
        row.id = d->valid ? d->job.id : 0;
        emit(p, ANON_RETRY_DROPPED, true, &row, redundant);
        if (!p->opt->dry_run)
            p->t->dead_dropped++;
    } else if (rc == 0) {
        rc = repair_row(p, &row, true, err);
    }
    anon_image_row_free(&row);
    return rc;
}

/* One dead letter. Returns 1 handled, 0 queue empty, -1 error. The message
 * leaves the dead-letter queue only once its row is safe. */
static int repair_dead_letter(const struct pass *p, anon_error *err)
{
    anon_delivery d;
    int got = anon_queue_get(p->q, anon_queue_dead_name(p->q), &d, err);
    if (got <= 0)
        return got;
    anon_error ignored;
    int rc = anon_db_begin(p->db, err);
    if (rc == 0)
        rc = repair_dead_letter_row(p, &d, err);
    if (rc == 0 && !p->opt->dry_run)
        rc = anon_db_commit(p->db, err);
    else
        anon_db_rollback(p->db, &ignored);
    if (rc == 0 && !p->opt->dry_run)
        anon_queue_ack(p->q, &d, &ignored);
    else
        anon_queue_nack(p->q, &d, 1, &ignored);
    anon_delivery_free(&d);
    return rc < 0 ? -1 : 1;
}

int anon_retry_run(anon_db *db, anon_queue *q, anon_s3 *s3, const anon_retry_options *opt,
                   anon_retry_logger log, void *log_ctx, anon_retry_totals *totals,
                   anon_error *err)
{
    memset(totals, 0, sizeof *totals);
    struct pass p = {.db = db, .q = q, .s3 = s3, .opt = opt, .log = log, .log_ctx = log_ctx,
                     .t = totals};
    if (repair_rows(&p, err) < 0)
        return -1;
    /* In a dry run every dead letter goes back, so look at each once. */
    uint32_t dead = 0;
    if (anon_queue_depth(q, NULL, &dead, err) < 0)
        return -1;
    long budget = opt->max_dead < (long)dead ? opt->max_dead : (long)dead;
    for (long i = 0; i < budget; i++) {
        int rc = repair_dead_letter(&p, err);
        if (rc < 0)
            return -1;
        if (rc == 0)
            break;
    }
    return 0;
}
