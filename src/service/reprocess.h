/* reprocess.h - send finished images through the pipeline again.
 *
 * When the detector changes (a new model, new weights, another preset),
 * the operator selects done images (by camera, time range, model or
 * preset, as recorded with each output) and sends them again: each one's
 * job is republished and its row goes back to `queued`, attempts from 0,
 * with reprocessed_at set. A worker then makes a new output, stores it
 * under the same key (the previous output stays readable until then) and
 * marks the row done with the new model, version and preset; the original
 * then follows ANON_ORIGINALS_RETENTION again. An image whose original is
 * gone (deleted by the retention, or missing from the input bucket) cannot
 * be processed again: it is reported, with the reason, and left done.
 *
 * Rows are taken with FOR UPDATE SKIP LOCKED a page at a time, each page in
 * one transaction: two runs at once take different rows, and a row that a
 * worker or a purge is deleting the original of is left alone. A row once
 * sent is `queued`, no longer `done`, so running the same selection again
 * while it waits does not send it twice. */
#ifndef ANON_REPROCESS_H
#define ANON_REPROCESS_H

#include <stdbool.h>

#include "base/error.h"
#include "service/db.h"
#include "service/queue.h"
#include "service/s3.h"

typedef struct anon_reprocess_options {
    anon_reprocess_filter filter;
    const char *bucket;    /* the input bucket: where originals are, named in jobs */
    long limit;            /* images sent per run; 0: 1000 (skipped ones do not count) */
    bool dry_run;          /* report what would be done, change nothing */
} anon_reprocess_options;

typedef enum { ANON_REPROCESS_SENT, ANON_REPROCESS_SKIPPED } anon_reprocess_action;

typedef struct anon_reprocess_event {
    anon_reprocess_action action;
    const anon_image_row *row;   /* as selected (its model, preset, camera...) */
    const char *reason;          /* why it was skipped */
} anon_reprocess_event;

typedef void (*anon_reprocess_logger)(void *ctx, const anon_reprocess_event *ev);

typedef struct anon_reprocess_totals {
    long sent, skipped;
    bool limit_reached;    /* stopped at the limit: more may match */
} anon_reprocess_totals;

/* Returns 0, or -1 at the first failure (err); what was sent before it
 * stays sent. */
int anon_reprocess_run(anon_db *db, anon_queue *q, anon_s3 *s3,
                       const anon_reprocess_options *opt, anon_reprocess_logger log,
                       void *log_ctx, anon_reprocess_totals *totals, anon_error *err);

#endif
