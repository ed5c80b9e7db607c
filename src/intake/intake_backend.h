/* intake_backend.h - the services behind anon-intake.
 *
 * A fixed pool of sessions, each one S3 client, one PostgreSQL connection
 * and one RabbitMQ publisher (none of them may be shared between threads),
 * connected lazily and reconnected after a failure. A request borrows a
 * session for the few calls it makes and gives it back. Results come back
 * as JSON records ready to send; failures say whether a dependency was
 * unavailable (the client should retry: 503) or something else went wrong.
 *
 * Kept apart from the HTTP code so that the upload order is in one place:
 * PUT the object under a content-addressed key -> insert the row
 * (received) -> publish with confirm -> mark queued. */
#ifndef ANON_INTAKE_BACKEND_H
#define ANON_INTAKE_BACKEND_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "base/error.h"

typedef struct intake_backend intake_backend;

typedef enum {
    BACKEND_OK = 0,
    BACKEND_CREATED,        /* accept: a new image, now queued */
    BACKEND_EXISTED,        /* accept: the same bytes for the same camera */
    BACKEND_NOT_FOUND,
    BACKEND_NOT_READY,      /* output: the image is not done (yet) */
    BACKEND_UNAVAILABLE,    /* a dependency is down or saturated: 503 */
    BACKEND_FAILED,         /* anything else: 500 */
} backend_result;

intake_backend *intake_backend_new(const anon_config *cfg, size_t sessions,
                                   anon_error *err);
void intake_backend_free(intake_backend *b);

/* An upload that passed the checks, spooled in fd (at offset 0). */
typedef struct intake_upload {
    const char *camera;
    const char *sha256;
    const char *original_name;   /* may be "" */
    const char *content_type;
    const char *extension;
    int64_t bytes;
    int width;
    int height;
    int fd;
} intake_upload;

/* Where an upload's time went, for the log line; and whether the broker
 * was what failed (a metric of its own). */
typedef struct intake_accept_stats {
    double wait_ms;       /* for a free session */
    double db_ms;         /* find, insert, mark queued */
    double put_ms;        /* the S3 PUT */
    double publish_ms;    /* publish and its confirm */
    int publish_failed;
} intake_accept_stats;

/* Makes the upload durable in the documented order. *record receives the
 * image's JSON record on BACKEND_CREATED/EXISTED; stats is filled in. */
backend_result intake_backend_accept(intake_backend *b, const intake_upload *up,
                                     json_t **record, intake_accept_stats *stats,
                                     anon_error *err);

backend_result intake_backend_get(intake_backend *b, int64_t id, json_t **record,
                                  anon_error *err);

/* The record of (camera, sha256) when that image is stored and queued (or
 * further): BACKEND_OK; BACKEND_NOT_FOUND when it is not, or is still
 * `received` (its upload must be finished by a full request). */
backend_result intake_backend_find(intake_backend *b, const char *camera, const char *sha256,
                                   json_t **record, anon_error *err);

/* A page of records in id order after `after`; status NULL or a name. */
typedef struct intake_list_query {
    const char *camera;
    const char *status;
    int64_t after;
    int limit;
} intake_list_query;

/* *page receives {"images": [...], "next_after": N|null}. Unknown status
 * names fail with BACKEND_FAILED and a message (the caller answers 400). */
backend_result intake_backend_list(intake_backend *b, const intake_list_query *q,
                                   json_t **page, anon_error *err);

/* Fetches the anonymized output of a done image into an unlinked temporary
 * file: *fd (at offset 0), *size and its content type. Never the original. */
backend_result intake_backend_output(intake_backend *b, int64_t id, int *fd,
                                     int64_t *size, char content_type[64],
                                     anon_error *err);

/* Checks PostgreSQL, RabbitMQ and the object store. On failure *failed
 * names the first dependency that did not answer ("postgresql", "rabbitmq",
 * "s3") and err says why. */
backend_result intake_backend_ready(intake_backend *b, const char **failed,
                                    anon_error *err);

#endif
