/* intake_reply.h - one HTTP request of anon-intake and the answers to it.
 *
 * The files of the intake, each using only those below it:
 *   intake.c          daemon lifecycle, connection accounting, routing,
 *                     auth, request ids, the per-request log line
 *   intake_routes.c   one handler per route (upload, get, list, output,
 *                     healthz, readyz, metrics)
 *   intake_reply.c    the request's state and the replies (JSON, errors,
 *                     503 with Retry-After)
 *   intake_body.c     receiving an upload body (multipart or raw) into a
 *                     spool file while hashing it, then checking it
 *   intake_backend.c  the services: a pool of S3/PostgreSQL/RabbitMQ
 *                     sessions and the durable upload order
 *   intake_check.c    what client text is accepted (camera names, UTF-8)
 *
 * Not a public interface: only the intake's files include it. */
#ifndef ANON_INTAKE_REPLY_H
#define ANON_INTAKE_REPLY_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdint.h>

#include "base/config.h"
#include "base/metrics.h"
#include "intake/intake_backend.h"
#include "intake/intake_body.h"
#include "intake/intake_check.h"

#define INTAKE_REQUEST_ID_MAX 64
#define INTAKE_DEFAULT_CAMERA "default"

/* What the route handlers see of the server. */
typedef struct intake_server {
    anon_config cfg;
    anon_metrics *metrics;
    intake_backend *backend;
    atomic_int connections;       /* open TCP connections */
    atomic_int uploads;           /* POST /v1/images in flight */
    atomic_int stopping;
} intake_server;

typedef enum {
    ROUTE_NOT_FOUND, ROUTE_UPLOAD, ROUTE_LIST, ROUTE_GET, ROUTE_OUTPUT,
    ROUTE_HEALTHZ, ROUTE_READYZ, ROUTE_METRICS, ROUTE_METHOD_NOT_ALLOWED,
} intake_route;

/* One HTTP request, from its headers to MHD's completion callback. */
typedef struct intake_request {
    intake_server *srv;
    struct MHD_Connection *conn;
    intake_route route;
    const char *route_label;      /* for logs and metrics: "POST /v1/images" */
    char method[48];              /* escaped for logs and replies (intake_escape) */
    char path[256];               /* the decoded path, escaped */
    char request_id[INTAKE_REQUEST_ID_MAX + 1];
    char camera[ANON_INTAKE_CAMERA_MAX + 1];
    char claimed_sha256[65];      /* X-Content-SHA256, checked against the body */
    int64_t image_id;             /* the {id} of the path, or the upload's row */
    int status;                   /* the status queued, 0 before */
    uint64_t bytes_in;
    double started;               /* monotonic seconds */
    intake_body *body;            /* uploads only */
    char log_detail[512];         /* why a 5xx happened, for the log line */
    intake_accept_stats stats;    /* where an upload's time went */
    int have_stats;
    int close_connection;         /* answer with Connection: close */
    int timed_out;                /* the body took longer than the limit */
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
