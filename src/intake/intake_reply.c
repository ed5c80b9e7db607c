/* intake_reply.c - the answers of anon-intake (see intake_reply.h): JSON
 * bodies with a trailing newline, errors as {"error","detail",
 * "request_id"}, and the headers every answer carries (X-Request-Id,
 * Cache-Control; Retry-After on 503; Connection: close while stopping or
 * when the request's framing cannot be trusted). */
#include "intake/intake_reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add_common_headers(intake_request *req, struct MHD_Response *resp, int status)
{
    int ok = MHD_add_response_header(resp, "X-Request-Id", req->request_id) == MHD_YES;
    ok = ok && MHD_add_response_header(resp, "Cache-Control", "no-store") == MHD_YES;
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
        ok = ok && MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "5") == MHD_YES;
    if (status == MHD_HTTP_UNAUTHORIZED)
        ok = ok && MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                           "Bearer realm=\"anon-intake\"") == MHD_YES;
    if (atomic_load(&req->srv->stopping) || req->close_connection)
        ok = ok && MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") == MHD_YES;
    return ok ? 0 : -1;
}

enum MHD_Result intake_reply_response(intake_request *req, int status,
                                      struct MHD_Response *resp)
{
    if (resp == NULL || add_common_headers(req, resp, status) < 0) {
        if (resp)
            MHD_destroy_response(resp);
        return MHD_NO;
    }
    enum MHD_Result rc = MHD_queue_response(req->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    if (rc == MHD_YES)
        req->status = status;
    return rc;
}

enum MHD_Result intake_reply_json(intake_request *req, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(body);
    if (text == NULL) {   /* out of memory, or text JSON cannot carry */
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        text = strdup("{\"error\":\"internal\",\"detail\":\"cannot encode the response\"}");
        if (text == NULL)
            return MHD_NO;
    }
    size_t len = strlen(text);
    /* one more byte for the newline curl users expect */
    char *with_newline = realloc(text, len + 2);
    if (with_newline == NULL) {
        free(text);
        return MHD_NO;
    }
    with_newline[len] = '\n';
    with_newline[len + 1] = '\0';
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len + 1, with_newline, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(with_newline);
        return MHD_NO;
    }
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") != MHD_YES) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    if (status == MHD_HTTP_ACCEPTED && req->image_id > 0) {
        char location[64];
        snprintf(location, sizeof location, "/v1/images/%lld", (long long)req->image_id);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
    }
    return intake_reply_response(req, status, resp);
}

enum MHD_Result intake_reply_error(intake_request *req, int status, const char *error,
                                   const char *detail_fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, detail_fmt);
    vsnprintf(detail, sizeof detail, detail_fmt, ap);
    va_end(ap);
    if (status >= 500)
        snprintf(req->log_detail, sizeof req->log_detail, "%s", detail);
    return intake_reply_json(req, status,
                             json_pack("{s:s, s:s, s:s}", "error", error, "detail", detail,
                                       "request_id", req->request_id));
}

enum MHD_Result intake_reply_unavailable(intake_request *req, const char *detail)
{
    return intake_reply_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "%s", detail);
}
