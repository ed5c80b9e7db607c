/* intake_backend.c - the services behind anon-intake (see intake_backend.h).
 *
 * Sessions are opened lazily and a client that failed is closed, so the
 * next request that borrows the session connects afresh: the intake starts
 * while a service is down and recovers by itself when it comes back.
 * Timeouts and retries are kept short here - a camera is better served by
 * a quick 503 and its own retry than by a request that hangs for a minute. */
#include "intake/intake_backend.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "service/db.h"
#include "intake/intake_body.h"
#include "service/queue.h"
#include "service/record_json.h"
#include "service/s3.h"

/* How long a request waits for a free session before answering 503. */
#define SESSION_WAIT_SECONDS 30

typedef struct session {
    anon_s3 *s3;
    anon_db *db;
    anon_queue *queue;
} session;

struct intake_backend {
    const anon_config *cfg;
    anon_s3_options s3_opts;
    anon_queue_options queue_opts;
    pthread_mutex_t lock;
    pthread_cond_t freed;
    session *sessions;
    session **idle;          /* stack of sessions not lent out */
    size_t n_sessions, n_idle;
    pthread_mutex_t probe_lock;
    session probe;           /* readiness checks only, so they never queue behind uploads */
};

static void session_close(session *s)
{
    anon_s3_close(s->s3);
    anon_db_close(s->db);
    anon_queue_close(s->queue);
    *s = (session){0};
}

intake_backend *intake_backend_new(const anon_config *cfg, size_t sessions, anon_error *err)
{
    if (sessions == 0) {
        anon_fail(err, "ANON_INTAKE_SESSIONS must be at least 1");
        return NULL;
    }
    intake_backend *b = calloc(1, sizeof *b);
    if (b == NULL) {
        anon_fail(err, "out of memory");
        return NULL;
    }
    b->cfg = cfg;
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->freed, NULL);
    pthread_mutex_init(&b->probe_lock, NULL);
    b->sessions = calloc(sessions, sizeof *b->sessions);
    b->idle = calloc(sessions, sizeof *b->idle);
    if (b->sessions == NULL || b->idle == NULL) {
        anon_fail(err, "out of memory");
        intake_backend_free(b);
        return NULL;
    }
    b->n_sessions = b->n_idle = sessions;
    for (size_t i = 0; i < sessions; i++)
        b->idle[i] = &b->sessions[i];
    /* Malformed settings are reported now rather than on the first upload. */
    if (anon_s3_options_from_config(&b->s3_opts, cfg, err) < 0 ||
        anon_queue_options_from_config(&b->queue_opts, cfg, err) < 0) {
        intake_backend_free(b);
        return NULL;
    }
    b->s3_opts.connect_timeout_ms = 3000;
    b->s3_opts.timeout_ms = 60000;
    b->s3_opts.retries = 2;
    b->queue_opts.connect_timeout_ms = 3000;
    b->queue_opts.confirm_timeout_ms = 10000;
    b->queue_opts.reconnect_attempts = 1;
    return b;
}

void intake_backend_free(intake_backend *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; b->sessions && i < b->n_sessions; i++)
        session_close(&b->sessions[i]);
    session_close(&b->probe);
    free(b->sessions);
    free(b->idle);
    pthread_mutex_destroy(&b->lock);
    pthread_cond_destroy(&b->freed);
    pthread_mutex_destroy(&b->probe_lock);
    free(b);
}


static session *acquire(intake_backend *b, anon_error *err)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += SESSION_WAIT_SECONDS;
    pthread_mutex_lock(&b->lock);
    while (b->n_idle == 0)
        if (pthread_cond_timedwait(&b->freed, &b->lock, &deadline) == ETIMEDOUT)
            break;
    session *s = b->n_idle ? b->idle[--b->n_idle] : NULL;
    pthread_mutex_unlock(&b->lock);
    if (s == NULL)
        anon_fail(err, "all %zu service sessions are busy; retry shortly", b->n_sessions);
    return s;
}

static void release(intake_backend *b, session *s)
{
    pthread_mutex_lock(&b->lock);
    b->idle[b->n_idle++] = s;
    pthread_cond_signal(&b->freed);
    pthread_mutex_unlock(&b->lock);
}

/* ---------------------------------------------------------------- clients */

static int need_db(intake_backend *b, session *s, anon_error *err)
{
    if (s->db == NULL && (s->db = anon_db_connect(b->cfg->db_url, err)) == NULL)
        return anon_fail_prefix(err, "postgresql: ");
    return 0;
}

static int need_s3(intake_backend *b, session *s, anon_error *err)
{
    if (s->s3 == NULL && (s->s3 = anon_s3_open(&b->s3_opts, err)) == NULL)
        return anon_fail_prefix(err, "s3: ");
    return 0;
}

static int need_queue(intake_backend *b, session *s, anon_error *err)
{
    if (s->queue == NULL && (s->queue = anon_queue_open(&b->queue_opts, err)) == NULL)
        return anon_fail_prefix(err, "rabbitmq: ");
    return 0;
}

/* A database failure: 503 when the server is unreachable (the connection
 * is dropped so that the next use reconnects), 500 otherwise. */
static backend_result db_failure(session *s, anon_error *err)
{
    anon_fail_prefix(err, "postgresql: ");
    if (anon_error_kind_of(err) != ANON_ERR_TRANSIENT)
        return BACKEND_FAILED;
    anon_db_close(s->db);
    s->db = NULL;
    return BACKEND_UNAVAILABLE;
}

/* An object store failure: the store down, refusing us or without its
 * bucket is a dependency unavailable (503); a local fault or a request
 * the store refused as such is ours (500). */
static backend_result s3_failure(anon_error *err)
{
    anon_fail_prefix(err, "s3: ");
    anon_error_kind kind = anon_error_kind_of(err);
    return kind == ANON_ERR_FAILED || kind == ANON_ERR_INPUT ? BACKEND_FAILED
                                                             : BACKEND_UNAVAILABLE;
}

/* ---------------------------------------------------------------- accept */

/* Loads a row by id, or (id 0) by camera and sha256, with the session's
 * connection. */
static backend_result load_row(intake_backend *b, session *s, int64_t id, const char *camera,
                               const char *sha256, anon_image_row *img, anon_error *err)
{
    if (need_db(b, s, err) < 0)
        return BACKEND_UNAVAILABLE;
    int found = id ? anon_db_image_get(s->db, id, img, err)
                   : anon_db_image_find(s->db, camera, sha256, img, err);
    if (found < 0)
        return db_failure(s, err);
    if (found == 0) {
        if (id)
            anon_fail(err, "no image %lld", (long long)id);
        else
            anon_fail(err, "no image %s for camera %s", sha256, camera);
        return BACKEND_NOT_FOUND;
    }
    return BACKEND_OK;
}


static int publish(intake_backend *b, session *s, const anon_image_row *img, anon_error *err)
{
    if (need_queue(b, s, err) < 0)
        return -1;
    anon_job job = {.id = img->id, .key = img->input_key, .attempt = 1};
    snprintf(job.bucket, sizeof job.bucket, "%s", b->cfg->input_bucket);
    memcpy(job.sha256, img->sha256, sizeof job.sha256);
    if (anon_queue_publish(s->queue, &job, err) == 0)
        return 0;
    anon_fail_prefix(err, "rabbitmq: ");
    /* whatever state the channel is in, start from a fresh connection */
    anon_queue_close(s->queue);
    s->queue = NULL;
    return -1;
}

/* PUT -> insert (received) -> publish (confirmed) -> mark queued. A row
 * that already exists past `received` was stored and queued by an earlier
 * request: nothing to do. One still `received` missed its publish (an
 * outage or a crash); this request finishes the job. */
static backend_result accept_in(intake_backend *b, session *s, const intake_upload *up,
                                json_t **record, intake_accept_stats *stats, anon_error *err)
{
    anon_image_row img = {0};
    double t = anon_now_ms();
    backend_result found = load_row(b, s, 0, up->camera, up->sha256, &img, err);
    stats->db_ms += anon_now_ms() - t;
    if (found == BACKEND_OK && img.status != ANON_IMAGE_RECEIVED) {
        *record = anon_image_row_json(&img);
        anon_image_row_free(&img);
        return BACKEND_EXISTED;
    }
    anon_image_row_free(&img);
    if (found != BACKEND_OK && found != BACKEND_NOT_FOUND)
        return found;
    img = (anon_image_row){0};

    char key[256];
    snprintf(key, sizeof key, "%s/%s.%s", up->camera, up->sha256, up->extension);
    if (need_s3(b, s, err) < 0)
        return BACKEND_UNAVAILABLE;
    if (lseek(up->fd, 0, SEEK_SET) < 0)
        return anon_fail(err, "cannot rewind the spool file: %s", strerror(errno)), BACKEND_FAILED;
    t = anon_now_ms();
    int put = anon_s3_put_fd_hashed(s->s3, b->cfg->input_bucket, key, up->fd, up->sha256,
                                    up->content_type, err);
    stats->put_ms = anon_now_ms() - t;
    if (put < 0)
        return s3_failure(err);

    anon_image_new row = {
        .camera = up->camera,
        .sha256 = up->sha256,
        .original_name = up->original_name[0] ? up->original_name : NULL,
        .content_type = up->content_type,
        .bytes = up->bytes,
        .width = up->width,
        .height = up->height,
        .input_key = key,
    };
    int created = 0;
    t = anon_now_ms();
    int inserted = anon_db_image_insert(s->db, &row, &img, &created, err);
    stats->db_ms += anon_now_ms() - t;
    if (inserted < 0)
        return db_failure(s, err);
    if (img.status != ANON_IMAGE_RECEIVED) {   /* a concurrent twin got there first */
        /* ... and may have been finished, its original deleted, while this
         * upload stalled before its PUT: the PUT put the original back.
         * Nothing will delete it again (the row says deleted), so do it
         * now (best effort: the twin's answer does not depend on it). */
        anon_error derr;
        if (img.original_deleted_at > 0)
            (void)anon_s3_delete(s->s3, b->cfg->input_bucket, key, &derr);
        *record = anon_image_row_json(&img);
        anon_image_row_free(&img);
        return BACKEND_EXISTED;
    }
    t = anon_now_ms();
    int published = publish(b, s, &img, err);
    stats->publish_ms = anon_now_ms() - t;
    if (published < 0) {
        stats->publish_failed = 1;
        anon_image_row_free(&img);
        return BACKEND_UNAVAILABLE;
    }
    t = anon_now_ms();
    int marked = anon_db_image_mark_queued(s->db, img.id, err);
    stats->db_ms += anon_now_ms() - t;
    if (marked < 0) {
        anon_image_row_free(&img);
        return db_failure(s, err);
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    img.status = ANON_IMAGE_QUEUED;
    img.queued_at = (double)now.tv_sec + now.tv_nsec / 1e9;
    *record = anon_image_row_json(&img);
    anon_image_row_free(&img);
    return BACKEND_CREATED;
}

backend_result intake_backend_accept(intake_backend *b, const intake_upload *up,
                                     json_t **record, intake_accept_stats *stats,
                                     anon_error *err)
{
    memset(stats, 0, sizeof *stats);
    double t = anon_now_ms();
    session *s = acquire(b, err);
    stats->wait_ms = anon_now_ms() - t;
    if (s == NULL)
        return BACKEND_UNAVAILABLE;
    backend_result r = accept_in(b, s, up, record, stats, err);
    release(b, s);
    return r;
}

/* ---------------------------------------------------------------- reads */

typedef backend_result (*row_fn)(intake_backend *b, session *s, const anon_image_row *img,
                                 void *ctx, anon_error *err);

/* Borrows a session, loads the row (see load_row) and hands it to fn. */
static backend_result with_row(intake_backend *b, int64_t id, const char *camera,
                               const char *sha256, row_fn fn, void *ctx, anon_error *err)
{
    session *s = acquire(b, err);
    if (s == NULL)
        return BACKEND_UNAVAILABLE;
    anon_image_row img = {0};
    backend_result r = load_row(b, s, id, camera, sha256, &img, err);
    if (r == BACKEND_OK)
        r = fn(b, s, &img, ctx, err);
    anon_image_row_free(&img);
    release(b, s);
    return r;
}

static backend_result give_record(intake_backend *b, session *s, const anon_image_row *img,
                                  void *ctx, anon_error *err)
{
    (void)b; (void)s; (void)err;
    *(json_t **)ctx = anon_image_row_json(img);
    return BACKEND_OK;
}

/* Only an image past `received` counts as known: one still `received`
 * needs its upload finished by a full request. */
static backend_result give_queued_record(intake_backend *b, session *s,
                                         const anon_image_row *img, void *ctx, anon_error *err)
{
    if (img->status == ANON_IMAGE_RECEIVED)
        return BACKEND_NOT_FOUND;
    return give_record(b, s, img, ctx, err);
}

backend_result intake_backend_find(intake_backend *b, const char *camera, const char *sha256,
                                   json_t **record, anon_error *err)
{
    return with_row(b, 0, camera, sha256, give_queued_record, record, err);
}

backend_result intake_backend_get(intake_backend *b, int64_t id, json_t **record,
                                  anon_error *err)
{
    return with_row(b, id, NULL, NULL, give_record, record, err);
}

backend_result intake_backend_list(intake_backend *b, const intake_list_query *q,
                                   json_t **page, anon_error *err)
{
    anon_image_filter filter = ANON_IMAGE_FILTER_INIT;
    filter.camera = q->camera;
    filter.after = q->after;
    filter.limit = q->limit;
    if (q->status) {
        anon_image_status status;
        if (anon_image_status_parse(q->status, &status, err) < 0)
            return BACKEND_FAILED;
        filter.status = (int)status;
    }
    session *s = acquire(b, err);
    if (s == NULL)
        return BACKEND_UNAVAILABLE;
    backend_result r = BACKEND_UNAVAILABLE;
    anon_image_page rows = {0};
    if (need_db(b, s, err) == 0) {
        if (anon_db_image_list(s->db, &filter, &rows, err) < 0) {
            r = db_failure(s, err);
        } else {
            json_t *images = json_array();
            for (size_t i = 0; i < rows.count; i++)
                json_array_append_new(images, anon_image_row_json(&rows.rows[i]));
            *page = json_pack("{s:o, s:o}", "images", images, "next_after",
                              rows.next_after ? json_integer(rows.next_after) : json_null());
            r = *page ? BACKEND_OK : BACKEND_FAILED;
            anon_image_page_free(&rows);
        }
    }
    release(b, s);
    return r;
}

/* Only ever reads output_key from the output bucket: the original cannot
 * be served from here even when a row is inconsistent. An image being
 * processed again keeps serving its previous output until the new one
 * replaces it. */
typedef struct {
    int fd;
    int64_t size;
    char *content_type;   /* 64 bytes */
} output_file;

static backend_result fetch_output(intake_backend *b, session *s, const anon_image_row *img,
                                   void *ctx, anon_error *err)
{
    output_file *out = ctx;
    if (!anon_image_has_output(img)) {
        anon_fail(err, "image %lld is %s, its output is not ready", (long long)img->id,
                  anon_image_status_name(img->status));
        return BACKEND_NOT_READY;
    }
    if (strcmp(b->cfg->output_bucket, b->cfg->input_bucket) == 0 && img->input_key &&
        strcmp(img->output_key, img->input_key) == 0) {
        anon_fail(err, "image %lld: output key is the input key; refusing to serve it",
                  (long long)img->id);
        return BACKEND_FAILED;
    }
    if (need_s3(b, s, err) < 0)
        return BACKEND_UNAVAILABLE;
    int fd = intake_spool_open(err);
    if (fd < 0)
        return BACKEND_FAILED;
    struct stat st;
    if (anon_s3_get_fd(s->s3, b->cfg->output_bucket, img->output_key, fd, err) < 0 ||
        fstat(fd, &st) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
        close(fd);
        anon_fail_prefix(err, "s3: ");
        return anon_error_kind_of(err) == ANON_ERR_NOT_FOUND ? BACKEND_NOT_READY
                                                             : BACKEND_UNAVAILABLE;
    }
    size_t n = strlen(img->output_key);
    int png = n > 4 && strcmp(img->output_key + n - 4, ".png") == 0;
    snprintf(out->content_type, 64, "%s", png ? "image/png" : "image/jpeg");
    out->fd = fd;
    out->size = st.st_size;
    return BACKEND_OK;
}

backend_result intake_backend_output(intake_backend *b, int64_t id, int *fd, int64_t *size,
                                     char content_type[64], anon_error *err)
{
    output_file out = {.fd = -1, .content_type = content_type};
    backend_result r = with_row(b, id, NULL, NULL, fetch_output, &out, err);
    *fd = out.fd;
    *size = out.size;
    return r;
}

/* ---------------------------------------------------------------- ready */

static backend_result check_all(intake_backend *b, session *s, const char **failed,
                                anon_error *err)
{
    *failed = "postgresql";
    if (need_db(b, s, err) < 0)
        return BACKEND_UNAVAILABLE;
    if (anon_db_ping(s->db, err) < 0) {
        db_failure(s, err);
        return BACKEND_UNAVAILABLE;
    }
    *failed = "rabbitmq";
    if (need_queue(b, s, err) < 0)
        return BACKEND_UNAVAILABLE;
    if (anon_queue_ping(s->queue, err) < 0) {
        anon_fail_prefix(err, "rabbitmq: ");
        anon_queue_close(s->queue);
        s->queue = NULL;
        return BACKEND_UNAVAILABLE;
    }
    *failed = "s3";
    if (need_s3(b, s, err) < 0)
        return BACKEND_UNAVAILABLE;
    if (anon_s3_head_bucket(s->s3, b->cfg->input_bucket, err) < 0 ||
        anon_s3_head_bucket(s->s3, b->cfg->output_bucket, err) < 0)
        return anon_fail_prefix(err, "s3: "), BACKEND_UNAVAILABLE;
    *failed = NULL;
    return BACKEND_OK;
}

backend_result intake_backend_ready(intake_backend *b, const char **failed, anon_error *err)
{
    pthread_mutex_lock(&b->probe_lock);
    backend_result r = check_all(b, &b->probe, failed, err);
    pthread_mutex_unlock(&b->probe_lock);
    return r;
}
