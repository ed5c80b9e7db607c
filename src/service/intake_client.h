/* intake_client.h - the client side of anon-intake (libcurl).
 *
 * `anonctl upload` sends files with it: one POST per image, raw body with
 * the sniffed Content-Type, the camera in X-Camera, the file name in
 * X-Filename and its SHA-256 in X-Content-SHA256 with Expect: 100-continue,
 * so that a file the intake already has is answered (200) before its
 * bytes are sent, and a file damaged on the way is refused. Transient failures (connection errors, timeouts, 429, 5xx)
 * are retried with exponential backoff, honouring Retry-After; a 4xx is
 * final. The intake's idempotency makes retries and re-runs safe: the same
 * bytes for the same camera come back as the existing record (200).
 * One client holds one curl handle (keep-alive): use one per thread. */
#ifndef ANON_INTAKE_CLIENT_H
#define ANON_INTAKE_CLIENT_H

#include <stdint.h>

#include "base/error.h"

typedef struct anon_intake_client anon_intake_client;

typedef struct anon_intake_client_options {
    const char *url;        /* "http://127.0.0.1:8080" (the /v1/images path is added) */
    const char *token;      /* bearer token, NULL or "" for none */
    const char *camera;     /* NULL or "": the intake's default */
    int max_attempts;       /* per file, including the first; 0: 5 */
    long timeout_s;         /* per attempt; 0: 300 */
    long backoff_ms;        /* first retry delay, doubled each time; 0: 500 */
    /* Called as request body bytes go out (from the calling thread),
     * with the bytes sent since the last call; may be NULL. */
    void (*on_progress)(void *ctx, int64_t sent);
    void *progress_ctx;
} anon_intake_client_options;

anon_intake_client *anon_intake_client_new(const anon_intake_client_options *o,
                                           anon_error *err);
void anon_intake_client_free(anon_intake_client *c);

typedef enum {
    ANON_UPLOAD_CREATED,     /* 202: stored and queued now */
    ANON_UPLOAD_EXISTING,    /* 200: the intake already had these bytes */
    ANON_UPLOAD_NOT_IMAGE,   /* not a JPEG or PNG (checked locally, not sent) */
    ANON_UPLOAD_REJECTED,    /* the intake refused it (4xx): retrying will not help */
    ANON_UPLOAD_FAILED,      /* transient failures until the attempts ran out */
} anon_upload_outcome;

const char *anon_upload_outcome_name(anon_upload_outcome o);

typedef struct anon_upload_result {
    anon_upload_outcome outcome;
    long http_status;        /* of the last attempt (0: no response) */
    int attempts;
    int64_t id;              /* the image id, when accepted */
    char status[16];         /* its status: "queued", "done"... */
    int64_t bytes;
    char detail[512];        /* why, when not accepted */
} anon_upload_result;

/* Uploads one file. Returns 0 whenever an outcome was reached (including
 * rejected and failed: see res), -1 only for local errors such as an
 * unreadable file (err says why; res->detail too). */
int anon_intake_upload_file(anon_intake_client *c, const char *path,
                            anon_upload_result *res, anon_error *err);

#endif
