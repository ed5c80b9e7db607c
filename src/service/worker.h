/* worker.h - the drain loop: queue -> object store -> anonymize -> store.
 *
 * What `anonctl drain` (and so every Indexed Job pod) runs. For each job on
 * the queue: claim the row (processing, attempts+1), fetch the original,
 * run anon_process(), store the output under a key derived from the input
 * key (so a repeated job overwrites, never duplicates), mark the row done
 * with what made the output (model, its version, preset, anonctl
 * version), and only then ack; then, with a retention of 0, delete the
 * original (originals.h: the same after a rejection; a failed delete is
 * left to `anonctl purge`). A crash anywhere before the ack leaves the message to
 * be redelivered; a redelivered job whose row is already done is acked
 * without rework. Failures are sorted by the kind their anon_error carries:
 * the input's fault (not decodable, too many pixels, the original gone) ->
 * rejected + ack; a setting to fix (refused credentials) -> the job goes
 * back and the worker stops; anything else -> failed + nack with requeue,
 * bounded by the queue's delivery limit (then dead-lettered, where
 * `anonctl retry` picks it up). */
#ifndef ANON_WORKER_H
#define ANON_WORKER_H

#include <signal.h>
#include <stdbool.h>

#include "redact/pipeline.h"
#include "base/config.h"
#include "service/db.h"
#include "detect/detect.h"
#include "base/error.h"
#include "service/queue.h"
#include "service/s3.h"

typedef struct anon_worker_options {
    const char *worker_id;       /* written to rows and logs, e.g. "host/0" */
    const char *output_bucket;
    long max_bytes;              /* largest input object fetched */
    long idle_exit_ms;           /* return once the queue stayed empty this long; 0: never */
    long max_images;             /* return after this many jobs; 0: no limit */
    long requeue_delay_ms;       /* wait before handing a job back, doubled per
                                    delivery (quorum queues redeliver at once:
                                    without it the delivery limit is spent in
                                    a second, before a service can recover) */
    anon_process_options process;
    const char *input_bucket;    /* where originals are deleted from */
    long originals_retention;    /* seconds an original is kept once its image is
                                    finished: 0 deleted at once by the worker,
                                    more (or ANON_DURATION_FOREVER) left to
                                    anonctl purge */
    anon_image_provenance provenance;  /* recorded with each output */
} anon_worker_options;

/* What happened to one job, for the caller's log line. */
typedef enum {
    ANON_JOB_DONE,          /* anonymized and stored */
    ANON_JOB_ALREADY_DONE,  /* redelivered after it was done: acked */
    ANON_JOB_REJECTED,      /* the input's fault: recorded, acked */
    ANON_JOB_REQUEUED,      /* a service failed: nacked for another try */
    ANON_JOB_DISCARDED,     /* unreadable message: dead-lettered */
    ANON_JOB_REFUSED,       /* the object store refused the credentials: the
                               job goes back and the worker stops, since every
                               other job would fail the same way */
} anon_job_outcome;

typedef struct anon_job_event {
    anon_job_outcome outcome;
    int64_t id;
    const char *key;
    int faces;
    double ms_total;
    const char *reason;          /* why, for every outcome but DONE */
    const char *original;        /* DONE and REJECTED: "deleted", "kept" (the
                                    retention keeps it) or "not deleted: WHY" */
    /* DONE with accept_damaged: the decoder's warnings on the photo (the
     * damage accepted) and the part filled (w == 0: none). */
    anon_warnings warnings;
    anon_rect covered;
} anon_job_event;

typedef void (*anon_job_logger)(void *ctx, const anon_job_event *ev);

typedef struct anon_worker_services {
    anon_db *db;
    anon_queue *queue;
    anon_s3 *s3;
    anon_detector *detector;
} anon_worker_services;

typedef struct anon_worker_totals {
    long done, already_done, rejected, requeued, discarded, refused;
} anon_worker_totals;

/* Runs until idle_exit_ms of an empty queue, max_images jobs, or *stop
 * becomes non-zero (checked between jobs and at least once a second while
 * waiting; the job in hand is finished first). Returns 0, or -1 with err:
 * ANON_ERR_CONFIG when the configuration is wrong (credentials refused:
 * retrying the pod cannot help), another kind (usually ANON_ERR_TRANSIENT)
 * when the queue itself could not be used (the caller exits non-zero and
 * the Job retries the pod). */
int anon_worker_run(const anon_worker_services *svc, const anon_worker_options *opt,
                    volatile sig_atomic_t *stop, anon_job_logger log, void *log_ctx,
                    anon_worker_totals *totals, anon_error *err);

/* The output key for an input key: the same key, in the output bucket. */
const char *anon_output_key(const char *input_key);

#endif
