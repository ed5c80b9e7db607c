/* originals.h - what becomes of an original (the photo with the faces in
 * it) once its image is finished.
 *
 * The batch system exists to publish anonymized images; the original is
 * the liability. ANON_ORIGINALS_RETENTION says how long it stays in the
 * input bucket after its image is done or rejected: 0 (the default) and the
 * worker deletes it as soon as it has marked the row; a duration keeps it
 * for `anonctl reprocess` until `anonctl purge` deletes it; forever keeps
 * it. Originals of unfinished images (received, queued, processing,
 * failed) are never deleted: every deletion checks the row's status under
 * the row's lock.
 *
 * The object is deleted first and the row marked (original_deleted_at)
 * after: a failure in between leaves a row that says "held" for an object
 * that may be gone, which the next purge deletes again (deleting a missing
 * key succeeds) and marks; never a row that says "deleted" for an object
 * that is still there. Every deletion holds the row's lock, taken with
 * SKIP LOCKED: a purge, a worker and `anonctl reprocess` (which sends the
 * image through the pipeline again and needs its original) never act on
 * the same row at once, and a row one of them holds is left to the next
 * pass. */
#ifndef ANON_ORIGINALS_H
#define ANON_ORIGINALS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "service/db.h"
#include "service/s3.h"

/* Deletes the original of a row the caller holds locked in its
 * transaction, if the row is done or rejected and its original not yet
 * recorded as deleted. Returns 1 deleted, 0 nothing to do, -1 error. */
int anon_original_delete_locked(anon_db *db, anon_s3 *s3, const char *bucket,
                                const anon_image_row *row, anon_error *err);

/* The same in a transaction of its own, for image id: 0 also when another
 * transaction holds the row (a purge deleting it, a reprocess sending it
 * again). What the worker calls when the retention is 0. */
int anon_original_delete_now(anon_db *db, anon_s3 *s3, const char *bucket, int64_t id,
                             anon_error *err);

typedef struct anon_purge_options {
    long retention;      /* seconds; ANON_DURATION_FOREVER: nothing is purged */
    const char *bucket;  /* the input bucket */
    long limit;          /* originals per run; 0: 10000 */
    bool dry_run;        /* report what would be deleted, change nothing */
} anon_purge_options;

typedef void (*anon_purge_logger)(void *ctx, const anon_image_row *row);

/* The purge pass: deletes the originals of done and rejected images that
 * finished more than retention ago, in pages of 100 rows, each page in a
 * transaction with its rows locked (FOR UPDATE SKIP LOCKED), so that two
 * passes at once share the work and never delete the same original twice.
 * Idempotent: a row once marked is not selected again. log is called per
 * original deleted (or that would be, in a dry run); *purged counts them.
 * Stops at the first failure (-1, err): what was deleted before is
 * recorded. */
int anon_purge_run(anon_db *db, anon_s3 *s3, const anon_purge_options *opt,
                   anon_purge_logger log, void *log_ctx, long *purged, anon_error *err);

#endif
