/* originals.c - deleting originals: at once, or past their retention (see
 * originals.h). */
#include "service/originals.h"

#include <string.h>

#include "base/duration.h"

int anon_original_delete_locked(anon_db *db, anon_s3 *s3, const char *bucket,
                                const anon_image_row *row, anon_error *err)
{
    if ((row->status != ANON_IMAGE_DONE && row->status != ANON_IMAGE_REJECTED) ||
        row->original_deleted_at > 0 || row->input_key == NULL)
        return 0;
    if (anon_s3_delete(s3, bucket, row->input_key, err) < 0)
        return anon_fail_prefix(err, "deleting the original of image %lld: ",
                                (long long)row->id);
    if (anon_db_image_mark_original_deleted(db, row->id, err) < 0)
        return -1;
    return 1;
}

int anon_original_delete_now(anon_db *db, anon_s3 *s3, const char *bucket, int64_t id,
                             anon_error *err)
{
    anon_error ignored;
    if (anon_db_begin(db, err) < 0)
        return -1;
    anon_image_row row = {0};
    int rc = anon_db_image_lock(db, id, &row, err);
    if (rc == 1)
        rc = anon_original_delete_locked(db, s3, bucket, &row, err);
    anon_image_row_free(&row);
    if (rc <= 0) {
        anon_db_rollback(db, &ignored);
        return rc;
    }
    return anon_db_commit(db, err) < 0 ? -1 : 1;
}

#define PURGE_PAGE 100

/* One page of the pass: its rows locked, deleted (unless a dry run) and
 * recorded. Returns the number of rows selected, -1 on failure. */
static int purge_page(anon_db *db, anon_s3 *s3, const anon_purge_options *opt, int size,
                      int64_t *after, anon_purge_logger log, void *ctx, long *purged,
                      anon_error *err)
{
    anon_error ignored;
    if (anon_db_begin(db, err) < 0)
        return -1;
    anon_image_page page = {0};
    int rc = anon_db_purge_candidates(db, opt->retention, *after, size, &page, err);
    for (size_t i = 0; rc == 0 && i < page.count; i++) {
        const anon_image_row *row = &page.rows[i];
        if (!opt->dry_run && anon_original_delete_locked(db, s3, opt->bucket, row, err) < 0) {
            rc = -1;
            break;
        }
        *after = row->id;
        (*purged)++;
        if (log)
            log(ctx, row);
    }
    int selected = (int)page.count;
    anon_image_page_free(&page);
    if (opt->dry_run) {
        anon_db_rollback(db, &ignored);
        return rc < 0 ? -1 : selected;
    }
    /* After a failure, keep the marks of the rows deleted before it (a
     * transaction the failure aborted rolls back instead: those rows are
     * deleted and marked again by the next pass). */
    if (anon_db_commit(db, rc < 0 ? &ignored : err) < 0 || rc < 0)
        return -1;
    return selected;
}

int anon_purge_run(anon_db *db, anon_s3 *s3, const anon_purge_options *opt,
                   anon_purge_logger log, void *log_ctx, long *purged, anon_error *err)
{
    *purged = 0;
    if (opt->retention == ANON_DURATION_FOREVER)
        return 0;
    long limit = opt->limit > 0 ? opt->limit : 10000;
    int64_t after = 0;
    while (*purged < limit) {
        int size = limit - *purged < PURGE_PAGE ? (int)(limit - *purged) : PURGE_PAGE;
        int selected = purge_page(db, s3, opt, size, &after, log, log_ctx, purged, err);
        if (selected < 0)
            return -1;
        if (selected < size)
            break;
    }
    return 0;
}
