/* retry.h - repair what went wrong: the pass the retry CronJob runs.
 *
 * Finds images that did not make it: rows `failed`, rows stuck in
 * received (the publish was lost), queued (the message was lost) or
 * processing (the worker died) past the policy's ages, and messages in the
 * dead-letter queue. Each is republished while its attempts are under the
 * limit, and marked `rejected` with the last error once they are not; the
 * original of an image it rejects follows ANON_ORIGINALS_RETENTION like a
 * worker's rejection (0: deleted at once, originals.h). Rows are taken with
 * FOR UPDATE SKIP LOCKED inside one transaction, so two passes running at
 * once never handle the same row. */
#ifndef ANON_RETRY_H
#define ANON_RETRY_H

#include <stdbool.h>

#include "service/db.h"
#include "base/error.h"
#include "service/queue.h"
#include "service/s3.h"

typedef struct anon_retry_options {
    anon_retry_policy policy;
    int max_attempts;      /* processing attempts before an image is rejected */
    const char *bucket;    /* input bucket named in republished jobs */
    long max_dead;         /* dead letters handled per pass */
    long originals_retention;  /* seconds; 0: the original of an image it
                                  rejects is deleted at once (needs s3) */
    bool dry_run;          /* report what would be done, change nothing */
} anon_retry_options;

typedef enum { ANON_RETRY_REPUBLISHED, ANON_RETRY_REJECTED, ANON_RETRY_DROPPED } anon_retry_action;

typedef struct anon_retry_event {
    anon_retry_action action;
    bool dead_letter;      /* from the dead-letter queue, not the table */
    int64_t id;
    const char *status;    /* the row's status before */
    int attempts;
    const char *reason;
} anon_retry_event;

typedef void (*anon_retry_logger)(void *ctx, const anon_retry_event *ev);

typedef struct anon_retry_totals {
    long republished, rejected, dead_republished, dead_rejected, dead_dropped;
} anon_retry_totals;

/* s3: where originals are deleted; may be NULL when originals_retention is
 * not 0. */
int anon_retry_run(anon_db *db, anon_queue *q, anon_s3 *s3, const anon_retry_options *opt,
                   anon_retry_logger log, void *log_ctx, anon_retry_totals *totals,
                   anon_error *err);

#endif
