/* intake_routes.c - what each route of anon-intake answers (see
 * intake_routes.h).
 *
 * Called from intake.c once a request is complete (or, for GETs, once its
 * headers are in). Each handler turns the backend's result into a status
 * code: the services being down is always a 503 with Retry-After, so a
 * client knows to come back, and never a 2xx for anything not stored. */
#include "intake/intake_routes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Answers a backend failure that is not a plain result. */
static enum MHD_Result reply_backend_failure(intake_request *req, backend_result r,
                                             const anon_error *err)
{
    if (r == BACKEND_UNAVAILABLE) {
        anon_metrics_add(req->srv->metrics, M_DEPENDENCY_FAILURES, "", 1);
        snprintf(req->log_detail, sizeof req->log_detail, "%s", err->msg);
        return intake_reply_unavailable(req, err->msg);
    }
    return intake_reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "%s", err->msg);
}

/* The camera a request names before its body: X-Camera, or the default
 * for a raw body; NULL when a multipart form may still name one. */
static const char *camera_before_body(intake_request *req)
{
    if (req->camera[0])
        return req->camera;
    const char *type = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_CONTENT_TYPE);
    if (type && strncasecmp(type, "multipart/", 10) == 0)
        return NULL;
    return INTAKE_DEFAULT_CAMERA;
}

enum MHD_Result intake_route_upload_known(intake_request *req)
{
    const char *camera = camera_before_body(req);
    if (camera == NULL)
        return MHD_YES;
    json_t *record = NULL;
    anon_error err = {0};
    if (intake_backend_find(req->srv->backend, camera, req->claimed_sha256, &record, &err) !=
        BACKEND_OK)
        return MHD_YES;   /* not known (or not answerable now): take the body */
    snprintf(req->camera, sizeof req->camera, "%s", camera);
    json_t *id = json_object_get(record, "id");
    req->image_id = json_is_integer(id) ? json_integer_value(id) : 0;
    anon_metrics_add(req->srv->metrics, M_ACCEPTED, "result=\"existing\"", 1);
    return intake_reply_json(req, MHD_HTTP_OK, record);
}

enum MHD_Result intake_route_upload(intake_request *req)
{
    intake_body *body = req->body;
    int status = intake_body_finish(body);
    if (status)
        return intake_reply_error(req, status, body->fail_error, "%s", body->fail_detail);
    if (req->claimed_sha256[0] && strcmp(req->claimed_sha256, body->sha256) != 0)
        return intake_reply_error(req, MHD_HTTP_BAD_REQUEST, "checksum_mismatch",
                                  "the body's SHA-256 is %s, not the X-Content-SHA256 sent",
                                  body->sha256);
    if (body->camera[0]) {
        if (!anon_intake_camera_valid(body->camera))
            return intake_reply_error(req, MHD_HTTP_BAD_REQUEST, "bad_camera",
                                      "camera names are 1-64 characters of A-Z a-z 0-9 . _ - "
                                      "and do not start with . or -");
        snprintf(req->camera, sizeof req->camera, "%s", body->camera);
    }
    if (req->camera[0] == '\0')
        snprintf(req->camera, sizeof req->camera, "%s", INTAKE_DEFAULT_CAMERA);

    intake_upload up = {
        .camera = req->camera,
        .sha256 = body->sha256,
        .original_name = body->filename,
        .content_type = body->content_type,
        .extension = body->extension,
        .bytes = (int64_t)body->bytes,
        .width = body->width,
        .height = body->height,
        .fd = body->fd,
    };
    json_t *record = NULL;
    anon_error err = {0};
    backend_result r = intake_backend_accept(req->srv->backend, &up, &record, &req->stats, &err);
    req->have_stats = 1;
    if (req->stats.publish_failed)
        anon_metrics_add(req->srv->metrics, M_PUBLISH_FAILURES, "", 1);
    if (r != BACKEND_CREATED && r != BACKEND_EXISTED)
        return reply_backend_failure(req, r, &err);
    json_t *id = json_object_get(record, "id");
    req->image_id = json_is_integer(id) ? json_integer_value(id) : 0;
    anon_metrics_add(req->srv->metrics, M_ACCEPTED,
                     r == BACKEND_CREATED ? "result=\"created\"" : "result=\"existing\"", 1);
    return intake_reply_json(req, r == BACKEND_CREATED ? MHD_HTTP_ACCEPTED : MHD_HTTP_OK, record);
}

enum MHD_Result intake_route_get(intake_request *req)
{
    json_t *record = NULL;
    anon_error err = {0};
    backend_result r = intake_backend_get(req->srv->backend, req->image_id, &record, &err);
    if (r == BACKEND_OK)
        return intake_reply_json(req, MHD_HTTP_OK, record);
    if (r == BACKEND_NOT_FOUND)
        return intake_reply_error(req, MHD_HTTP_NOT_FOUND, "not_found", "no image %lld",
                                  (long long)req->image_id);
    return reply_backend_failure(req, r, &err);
}

static const char *query(intake_request *req, const char *name)
{
    const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
    return v && v[0] ? v : NULL;
}

static int parse_query_number(const char *text, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (errno || end == text || *end || n < 0 || n > max)
        return -1;
    *out = n;
    return 0;
}

enum MHD_Result intake_route_list(intake_request *req)
{
    intake_list_query q = {.camera = query(req, "camera"), .status = query(req, "status")};
    const char *limit = query(req, "limit"), *after = query(req, "after");
    long long n;
    if (q.camera && !anon_intake_camera_valid(q.camera))
        return intake_reply_error(req, MHD_HTTP_BAD_REQUEST, "bad_camera",
                                  "not a valid camera name");
    if (limit) {
        if (parse_query_number(limit, 1000, &n) < 0 || n < 1)
            return intake_reply_error(req, MHD_HTTP_BAD_REQUEST, "bad_request",
                                      "limit must be a whole number from 1 to 1000");
        q.limit = (int)n;
    }
    if (after) {
        if (parse_query_number(after, INT64_MAX, &n) < 0)
            return intake_reply_error(req, MHD_HTTP_BAD_REQUEST, "bad_request",
                                      "after must be an image id");
        q.after = n;
    }
    json_t *page = NULL;
    anon_error err = {0};
    backend_result r = intake_backend_list(req->srv->backend, &q, &page, &err);
    if (r == BACKEND_OK)
        return intake_reply_json(req, MHD_HTTP_OK, page);
    if (r == BACKEND_FAILED && q.status)   /* the only input the backend judges */
        return intake_reply_error(req, MHD_HTTP_BAD_REQUEST, "bad_request", "%s", err.msg);
    return reply_backend_failure(req, r, &err);
}

enum MHD_Result intake_route_output(intake_request *req)
{
    int fd = -1;
    int64_t size = 0;
    char content_type[64] = "";
    anon_error err = {0};
    backend_result r =
        intake_backend_output(req->srv->backend, req->image_id, &fd, &size, content_type, &err);
    if (r == BACKEND_NOT_FOUND)
        return intake_reply_error(req, MHD_HTTP_NOT_FOUND, "not_found", "no image %lld",
                                  (long long)req->image_id);
    if (r == BACKEND_NOT_READY)
        return intake_reply_error(req, MHD_HTTP_NOT_FOUND, "not_ready", "%s", err.msg);
    if (r != BACKEND_OK)
        return reply_backend_failure(req, r, &err);
    struct MHD_Response *resp = MHD_create_response_from_fd((size_t)size, fd);
    if (resp == NULL) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    return intake_reply_response(req, MHD_HTTP_OK, resp);
}

enum MHD_Result intake_route_healthz(intake_request *req)
{
    return intake_reply_json(req, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"));
}

enum MHD_Result intake_route_readyz(intake_request *req)
{
    if (atomic_load(&req->srv->stopping))
        return intake_reply_unavailable(req, "the server is shutting down");
    const char *failed = NULL;
    anon_error err = {0};
    backend_result r = intake_backend_ready(req->srv->backend, &failed, &err);
    if (r == BACKEND_OK)
        return intake_reply_json(req, MHD_HTTP_OK,
                                 json_pack("{s:s, s:{s:s, s:s, s:s}}", "status", "ready",
                                           "checks", "postgresql", "ok", "rabbitmq", "ok",
                                           "s3", "ok"));
    /* The probe is unauthenticated: which dependency is down is all it
     * says; why (hosts, ports, buckets) goes to the log. */
    snprintf(req->log_detail, sizeof req->log_detail, "%s", err.msg);
    return intake_reply_json(req, MHD_HTTP_SERVICE_UNAVAILABLE,
                             json_pack("{s:s, s:s, s:s}", "error", "not_ready", "dependency",
                                       failed ? failed : "unknown", "request_id",
                                       req->request_id));
}

enum MHD_Result intake_route_metrics(intake_request *req)
{
    intake_server *in = req->srv;
    anon_metrics_set(in->metrics, M_UPLOADS, "", atomic_load(&in->uploads));
    anon_metrics_set(in->metrics, M_CONNECTIONS, "", atomic_load(&in->connections));
    anon_buffer text = ANON_BUFFER_INIT;
    anon_error err;
    if (anon_metrics_render(in->metrics, &text, &err) < 0) {
        anon_buffer_free(&text);
        return intake_reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "%s", err.msg);
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(text.len, text.data, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        anon_buffer_free(&text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8");
    return intake_reply_response(req, MHD_HTTP_OK, resp);
}
