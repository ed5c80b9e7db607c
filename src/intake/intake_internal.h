/* intake_internal.h - what the files of anon-intake share.
 *
 *   intake.c          daemon lifecycle, connection accounting, routing,
 *                     auth, request ids, replies, the per-request log line
 *   intake_routes.c   one handler per route (upload, get, list, output,
 *                     healthz, readyz, metrics)
 *   intake_body.c     receiving an upload body (multipart or raw) into a
 *                     spool file while hashing it, then checking it
 *   intake_backend.c  the services: a pool of S3/PostgreSQL/RabbitMQ
 *                     sessions and the durable upload order
 *
 * Not a public interface: only these files include it. */
#ifndef ANON_INTAKE_INTERNAL_H
#define ANON_INTAKE_INTERNAL_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "base/config.h"
#include "intake/intake.h"
#include "intake/intake_backend.h"
#include "intake/intake_body.h"
#include "base/metrics.h"
#include "base/sha256.h"

#define INTAKE_CAMERA_MAX 64
#define INTAKE_REQUEST_ID_MAX 64
#define INTAKE_DEFAULT_CAMERA "default"

struct anon_intake {
    anon_config cfg;
    anon_intake_log_fn log;
    void *log_ctx;
    struct MHD_Daemon *daemon;
    int port;
    anon_metrics *metrics;
    intake_backend *backend;
    char token_hex[ANON_SHA256_HEX_LEN + 1];  /* SHA-256 of the token, compared in constant time */
    int token_set;
    atomic_int connections;       /* open TCP connections */
    atomic_int in_flight;         /* requests between headers and completion */
    atomic_int uploads;           /* POST /v1/images in flight */
    atomic_int stopping;
    pthread_mutex_t idle_lock;    /* with idle_cond: shutdown waits for in_flight == 0 */
    pthread_cond_t idle_cond;
};

typedef enum {
    ROUTE_NOT_FOUND, ROUTE_UPLOAD, ROUTE_LIST, ROUTE_GET, ROUTE_OUTPUT,
    ROUTE_HEALTHZ, ROUTE_READYZ, ROUTE_METRICS, ROUTE_METHOD_NOT_ALLOWED,
} intake_route;

/* One HTTP request, from its headers to MHD's completion callback. */
typedef struct intake_request {
    anon_intake *in;
    struct MHD_Connection *conn;
    intake_route route;
    const char *route_label;      /* for logs and metrics: "POST /v1/images" */
    char method[12];
    char request_id[INTAKE_REQUEST_ID_MAX + 1];
    char camera[INTAKE_CAMERA_MAX + 1];
    char claimed_sha256[65];      /* X-Content-SHA256, checked against the body */
    int64_t image_id;             /* the {id} of the path, or the upload's row */
    int status;                   /* the status queued, 0 before */
    uint64_t bytes_in;
    double started;               /* monotonic seconds */
    intake_body *body;            /* uploads only */
    char log_detail[512];         /* why a 5xx happened, for the log line */
    intake_accept_stats stats;    /* where an upload's time went */
    int have_stats;
} intake_request;

/* Replies; each returns what the access handler must return. */
enum MHD_Result intake_reply_json(intake_request *req, int status, json_t *body);
enum MHD_Result intake_reply_error(intake_request *req, int status, const char *error,
                                   const char *detail_fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A 503 with Retry-After, naming what is unavailable. */
enum MHD_Result intake_reply_unavailable(intake_request *req, const char *detail);
enum MHD_Result intake_reply_response(intake_request *req, int status,
                                      struct MHD_Response *resp);

/* Route handlers (intake_routes.c). */
enum MHD_Result intake_route_upload(intake_request *req);
/* Before the body: answers 200 when X-Content-SHA256 names an image this
 * camera already sent; returns MHD_YES without answering otherwise. */
enum MHD_Result intake_route_upload_known(intake_request *req);
enum MHD_Result intake_route_list(intake_request *req);
enum MHD_Result intake_route_get(intake_request *req);
enum MHD_Result intake_route_output(intake_request *req);
enum MHD_Result intake_route_healthz(intake_request *req);
enum MHD_Result intake_route_readyz(intake_request *req);
enum MHD_Result intake_route_metrics(intake_request *req);

/* Metric names used across the files. */
#define M_REQUESTS "anon_intake_requests_total"
#define M_LATENCY "anon_intake_request_duration_seconds"
#define M_BYTES_IN "anon_intake_bytes_received_total"
#define M_UPLOADS "anon_intake_uploads_in_flight"
#define M_CONNECTIONS "anon_intake_connections"
#define M_ACCEPTED "anon_intake_images_accepted_total"
#define M_PUBLISH_FAILURES "anon_intake_publish_failures_total"
#define M_DEPENDENCY_FAILURES "anon_intake_dependency_failures_total"

#endif
