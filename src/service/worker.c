/* worker.c - the drain loop (see worker.h for the rules it follows). */
#include "service/worker.h"

#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "service/originals.h"
#include "service/record_json.h"

const char *anon_output_key(const char *input_key)
{
    return input_key;
}

struct job_ctx {
    const anon_worker_services *svc;
    const anon_worker_options *opt;
    anon_delivery *d;
    anon_job_event ev;
    anon_error *err;
    char original[600];   /* ev.original when it says why not */
};

/* Before handing a job back: requeue_delay_ms doubled per earlier
 * delivery, at most 10 s. */
static void back_off(const anon_worker_options *opt, long delivery_count)
{
    anon_backoff b = {opt->requeue_delay_ms, 10000, 0};
    anon_backoff_sleep(&b, delivery_count > 30 ? 30 : (int)delivery_count);
}

/* Ends a job: the row is recorded, now settle the message. */
static anon_job_outcome settle(struct job_ctx *j, anon_job_outcome outcome,
                               const char *reason)
{
    anon_error ignored;
    j->ev.outcome = outcome;
    j->ev.reason = reason;
    switch (outcome) {
    case ANON_JOB_REQUEUED:
        back_off(j->opt, j->d->delivery_count);
        anon_queue_nack(j->svc->queue, j->d, 1, &ignored);
        break;
    case ANON_JOB_REFUSED:
        anon_queue_nack(j->svc->queue, j->d, 1, &ignored);
        break;
    case ANON_JOB_DISCARDED:
        anon_queue_nack(j->svc->queue, j->d, 0, &ignored);
        break;
    default:
        /* A lost ack only means a redelivery, which finds the row done. */
        anon_queue_ack(j->svc->queue, j->d, &ignored);
        break;
    }
    return outcome;
}

/* A service failed: record why (best effort; the database may be the one
 * that failed) and give the message back for another try. */
static anon_job_outcome requeue(struct job_ctx *j, const char *reason)
{
    anon_error ignored;
    anon_db_image_mark_failed(j->svc->db, j->d->job.id, reason, &ignored);
    return settle(j, ANON_JOB_REQUEUED, reason);
}

/* Once the row is finished and the job acked: with a retention of 0 the
 * original goes now; otherwise `anonctl purge` deletes it when its time
 * is up. A delete that fails or finds the row held (a purge or a
 * reprocess has it) leaves the original to the next purge. */
static void release_original(struct job_ctx *j)
{
    if (j->opt->originals_retention != 0) {
        j->ev.original = "kept";
        return;
    }
    anon_error err;
    int rc = anon_original_delete_now(j->svc->db, j->svc->s3, j->opt->input_bucket,
                                      j->d->job.id, &err);
    if (rc > 0) {
        j->ev.original = "deleted";
        return;
    }
    snprintf(j->original, sizeof j->original, "not deleted: %s",
             rc < 0 ? err.msg : "the row is held by a purge or a reprocess");
    j->ev.original = j->original;
}

static anon_job_outcome reject(struct job_ctx *j, const char *reason)
{
    anon_error err;
    if (anon_db_image_mark_rejected(j->svc->db, j->d->job.id, reason, &err) < 0)
        return settle(j, ANON_JOB_REQUEUED, err.msg);
    anon_job_outcome outcome = settle(j, ANON_JOB_REJECTED, reason);
    release_original(j);
    return outcome;
}

/* A failure, sorted by its kind: the input's fault (the original is
 * gone or too large, the photo cannot be read) is final; a setting to fix
 * (refused credentials, a missing bucket) stops the worker, since every
 * other job would fail the same way; anything else may pass. */
static anon_job_outcome failure(struct job_ctx *j)
{
    anon_error ignored;
    switch (anon_error_kind_of(j->err)) {
    case ANON_ERR_NOT_FOUND:
    case ANON_ERR_INPUT:
        return reject(j, j->err->msg);
    case ANON_ERR_CONFIG:
        anon_db_image_mark_failed(j->svc->db, j->d->job.id, j->err->msg, &ignored);
        return settle(j, ANON_JOB_REFUSED, j->err->msg);
    default:
        return requeue(j, j->err->msg);
    }
}

/* Claims the row. Returns 1 to go on, 0 when the job is settled already. */
static int claim(struct job_ctx *j, anon_job_outcome *outcome)
{
    anon_image_row row = {0};
    int rc = anon_db_image_mark_processing(j->svc->db, j->d->job.id, j->opt->worker_id,
                                           &row, j->err);
    if (rc < 0) {
        *outcome = settle(j, ANON_JOB_REQUEUED, j->err->msg);
    } else if (rc == 0 && row.id == 0) {
        *outcome = settle(j, ANON_JOB_DISCARDED, "no image row with this id");
    } else if (rc == 0) {
        *outcome = settle(j, ANON_JOB_ALREADY_DONE, anon_image_status_name(row.status));
    }
    anon_image_row_free(&row);
    return rc == 1;
}

static anon_job_outcome process_job(struct job_ctx *j, anon_buffer *in, anon_buffer *out)
{
    const anon_job *job = &j->d->job;
    double t0 = anon_now_ms();
    if (anon_s3_get(j->svc->s3, job->bucket, job->key, in, (size_t)j->opt->max_bytes,
                    j->err) < 0)
        return failure(j);
    double t1 = anon_now_ms();
    anon_result res;
    int rc = anon_process(j->svc->detector, in->data, in->len, &j->opt->process, out,
                          &res, j->err);
    anon_job_outcome outcome;
    if (rc < 0) {
        /* The pipeline knows no services: only its input's faults are
         * final, and a setting cannot be wrong there. */
        if (anon_error_kind_of(j->err) != ANON_ERR_INPUT)
            anon_error_set_kind(j->err, ANON_ERR_FAILED);
        outcome = failure(j);
        anon_result_free(&res);
        return outcome;
    }
    double t2 = anon_now_ms();
    const char *out_key = anon_output_key(job->key);
    if (anon_s3_put(j->svc->s3, j->opt->output_bucket, out_key, out->data, out->len,
                    anon_format_mime(res.format), j->err) < 0) {
        outcome = failure(j);
    } else {
        double t3 = anon_now_ms();
        char *boxes = anon_boxes_json(&res.faces);
        char *timings = anon_timings_json(&res, t1 - t0, t3 - t2);
        if (anon_db_image_mark_done(j->svc->db, job->id, out_key, (int)res.faces.n, boxes,
                                    timings, &j->opt->provenance, j->err) < 0) {
            outcome = settle(j, ANON_JOB_REQUEUED, j->err->msg);
        } else {
            j->ev.faces = (int)res.faces.n;
            j->ev.warnings = res.warnings;
            j->ev.covered = res.covered;
            outcome = settle(j, ANON_JOB_DONE, NULL);
            release_original(j);
        }
        free(boxes);
        free(timings);
    }
    anon_result_free(&res);
    return outcome;
}

/* Handles one delivery: claim, process, record, settle. */
static anon_job_outcome handle_delivery(const anon_worker_services *svc,
                                        const anon_worker_options *opt, anon_delivery *d,
                                        anon_job_logger log, void *log_ctx, anon_error *err)
{
    struct job_ctx j = {.svc = svc, .opt = opt, .d = d, .err = err};
    double started = anon_now_ms();
    anon_job_outcome outcome = ANON_JOB_REQUEUED;
    if (!d->valid) {
        outcome = settle(&j, ANON_JOB_DISCARDED, d->invalid_reason);
    } else {
        j.ev.id = d->job.id;
        j.ev.key = d->job.key;
        if (claim(&j, &outcome)) {
            anon_buffer in = ANON_BUFFER_INIT, out = ANON_BUFFER_INIT;
            outcome = process_job(&j, &in, &out);
            anon_buffer_free(&in);
            anon_buffer_free(&out);
        }
    }
    j.ev.ms_total = anon_now_ms() - started;
    if (log)
        log(log_ctx, &j.ev);
    return outcome;
}

static void count(anon_worker_totals *t, anon_job_outcome outcome)
{
    switch (outcome) {
    case ANON_JOB_DONE: t->done++; break;
    case ANON_JOB_ALREADY_DONE: t->already_done++; break;
    case ANON_JOB_REJECTED: t->rejected++; break;
    case ANON_JOB_REQUEUED: t->requeued++; break;
    case ANON_JOB_DISCARDED: t->discarded++; break;
    case ANON_JOB_REFUSED: t->refused++; break;
    }
}

int anon_worker_run(const anon_worker_services *svc, const anon_worker_options *opt,
                    volatile sig_atomic_t *stop, anon_job_logger log, void *log_ctx,
                    anon_worker_totals *totals, anon_error *err)
{
    memset(totals, 0, sizeof *totals);
    double idle_since = anon_now_ms();
    long handled = 0;
    while (!*stop && (opt->max_images == 0 || handled < opt->max_images)) {
        anon_delivery d;
        /* Wake at least once a second to notice SIGTERM and the idle limit. */
        int rc = anon_queue_next(svc->queue, &d, 1000, err);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            if (opt->idle_exit_ms > 0 && anon_now_ms() - idle_since >= opt->idle_exit_ms)
                break;
            continue;
        }
        anon_error job_err;
        anon_job_outcome outcome = handle_delivery(svc, opt, &d, log, log_ctx, &job_err);
        count(totals, outcome);
        anon_delivery_free(&d);
        if (outcome == ANON_JOB_REFUSED) {
            *err = job_err;
            return -1;
        }
        handled++;
        idle_since = anon_now_ms();
    }
    return 0;
}
