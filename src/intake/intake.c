/* intake.c - anon-intake's HTTP plumbing (see intake.h).
 *
 * libmicrohttpd runs one thread per connection and calls on_request several
 * times per request: once when the headers are in (route, auth, request id,
 * early refusals), once per body chunk (uploads only), and once at the end,
 * when the route handler answers. on_completed then writes the log line and
 * the metrics. Shutdown is MHD's quiesce: the listening socket closes while
 * open connections finish. The handlers are in intake_routes.c, the
 * replies in intake_reply.c. */
#include "intake/intake.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "base/clock.h"
#include "base/sha256.h"
#include "base/timestamp.h"
#include "intake/intake_guard.h"
#include "intake/intake_reply.h"
#include "intake/intake_routes.h"

/* Connections beyond max_connections still get a 503 answer up to this
 * many more; past that MHD refuses them outright. */
#define SATURATION_MARGIN 32
#define CONNECTION_MEMORY (128 * 1024)
#define LISTEN_BACKLOG 128

struct anon_intake {
    intake_server srv;            /* what the route handlers see */
    anon_intake_log_fn log;
    void *log_ctx;
    struct MHD_Daemon *daemon;
    int listen_fd;                /* ours until MHD runs, then MHD's */
    int port;
    char token_hex[ANON_SHA256_HEX_LEN + 1];  /* SHA-256 of the token, compared in constant time */
    int token_set;
    atomic_int in_flight;         /* requests between headers and completion */
    pthread_t ready_check;        /* the check at start (log_readiness) */
    int ready_check_started;
    pthread_mutex_t idle_lock;    /* with idle_cond: shutdown waits for in_flight == 0 */
    pthread_cond_t idle_cond;
};

/* Sends one JSON log line: time and level first, then the given fields. */
static void emit_log(anon_intake *in, const char *level, json_t *fields)
{
    char when[ANON_TIMESTAMP_LEN];
    anon_timestamp_format(anon_timestamp_now(), when);
    json_t *line = json_pack("{s:s, s:s}", "time", when, "level", level);
    if (line && fields)
        json_object_update(line, fields);
    char *text = line ? json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) : NULL;
    if (text && in->log)
        in->log(in->log_ctx, text);
    free(text);
    json_decref(line);
    json_decref(fields);
}

static void log_event(anon_intake *in, const char *level, const char *msg)
{
    emit_log(in, level, json_pack("{s:s}", "msg", msg));
}

/* ---------------------------------------------------------------- checks */

/* A client's X-Request-Id is echoed only when it is short and harmless in
 * a log line and a header; otherwise a random one is made. */
static void choose_request_id(intake_request *req)
{
    const char *given = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Request-Id");
    if (given && given[0] && strlen(given) <= INTAKE_REQUEST_ID_MAX) {
        int safe = 1;
        for (const char *p = given; *p && safe; p++)
            safe = (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
                   (*p >= 'A' && *p <= 'Z') || strchr("-_.:", *p) != NULL;
        if (safe) {
            snprintf(req->request_id, sizeof req->request_id, "%s", given);
            return;
        }
    }
    uint8_t raw[16];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
        /* no entropy at all: still unique enough within this process */
        static atomic_ulong counter;
        snprintf(req->request_id, sizeof req->request_id, "%lx-%lx", (unsigned long)time(NULL),
                 atomic_fetch_add(&counter, 1));
        return;
    }
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(req->request_id + 2 * i, 3, "%02x", raw[i]);
}

/* Compares SHA-256 digests, so neither the length nor the content of the
 * token leaks through timing. */
static int token_matches(const anon_intake *in, struct MHD_Connection *conn)
{
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_AUTHORIZATION);
    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
        return 0;
    char hex[ANON_SHA256_HEX_LEN + 1];
    anon_sha256_hex(auth + 7, strlen(auth + 7), hex);
    uint8_t diff = 0;
    for (size_t i = 0; i < ANON_SHA256_HEX_LEN; i++)
        diff |= (uint8_t)(hex[i] ^ in->token_hex[i]);
    return diff == 0;
}

/* A request header (NULL when absent). */
static const char *header(intake_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

/* A body may take ANON_INTAKE_BODY_TIMEOUT from its headers to its last
 * byte: a client that trickles bytes just inside the idle timeout would
 * otherwise hold its connection (and a slot under the cap) for as long as
 * it likes. The connection is closed: libmicrohttpd cannot answer in the
 * middle of a body. */
static int body_too_slow(const anon_intake *in, intake_request *req)
{
    long limit = in->srv.cfg.intake_body_timeout;
    if (limit <= 0 || anon_now_ms() / 1e3 - req->started <= (double)limit)
        return 0;
    req->timed_out = 1;
    snprintf(req->log_detail, sizeof req->log_detail,
             "the body took longer than %ld s (ANON_INTAKE_BODY_TIMEOUT): connection closed",
             limit);
    return 1;
}

/* ---------------------------------------------------------------- routing */

/* Parses the decimal id of /v1/images/{id}; 0 when it is not one. */
static int64_t parse_id(const char *text, size_t len)
{
    if (len == 0 || len > 18)
        return 0;
    int64_t id = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return 0;
        id = id * 10 + (text[i] - '0');
    }
    return id;
}

static void classify(intake_request *req, const char *url, const char *method)
{
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    int post = strcmp(method, "POST") == 0;
    static const char prefix[] = "/v1/images/";
    req->route = ROUTE_NOT_FOUND;
    req->route_label = "other";
    if (strcmp(url, "/healthz") == 0) {
        req->route = get ? ROUTE_HEALTHZ : ROUTE_METHOD_NOT_ALLOWED;
        req->route_label = "/healthz";
    } else if (strcmp(url, "/readyz") == 0) {
        req->route = get ? ROUTE_READYZ : ROUTE_METHOD_NOT_ALLOWED;
        req->route_label = "/readyz";
    } else if (strcmp(url, "/metrics") == 0) {
        req->route = get ? ROUTE_METRICS : ROUTE_METHOD_NOT_ALLOWED;
        req->route_label = "/metrics";
    } else if (strcmp(url, "/v1/images") == 0 || strcmp(url, "/v1/images/") == 0) {
        req->route = post ? ROUTE_UPLOAD : get ? ROUTE_LIST : ROUTE_METHOD_NOT_ALLOWED;
        req->route_label = post ? "POST /v1/images" : "GET /v1/images";
    } else if (strncmp(url, prefix, sizeof prefix - 1) == 0) {
        const char *id = url + sizeof prefix - 1;
        const char *slash = strchr(id, '/');
        size_t id_len = slash ? (size_t)(slash - id) : strlen(id);
        int output = slash && strcmp(slash, "/output") == 0;
        if ((slash == NULL || output) && (req->image_id = parse_id(id, id_len)) > 0) {
            req->route = !get ? ROUTE_METHOD_NOT_ALLOWED : output ? ROUTE_OUTPUT : ROUTE_GET;
            req->route_label = output ? "GET /v1/images/{id}/output" : "GET /v1/images/{id}";
        }
    }
}

static int needs_token(intake_route route)
{
    return route != ROUTE_HEALTHZ && route != ROUTE_READYZ && route != ROUTE_METRICS;
}

/* Keeps a client's X-Content-SHA256 (in lower case) when it is one. */
static int take_claimed_sha256(intake_request *req, const char *text)
{
    if (strlen(text) != ANON_SHA256_HEX_LEN)
        return 0;
    for (size_t i = 0; i < ANON_SHA256_HEX_LEN; i++) {
        char c = (char)tolower((unsigned char)text[i]);
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
        req->claimed_sha256[i] = c;
    }
    req->claimed_sha256[ANON_SHA256_HEX_LEN] = '\0';
    return 1;
}

/* The first call for a request: everything decided from the headers. */
static enum MHD_Result on_headers(anon_intake *in, intake_request *req, const char *method,
                                  const char *url)
{
    if (atomic_load(&in->srv.stopping))
        return intake_reply_unavailable(req, "the server is shutting down");
    const char *bad = intake_guard_framing(req->conn);
    if (bad) {
        /* What follows on this connection cannot be told apart from a
         * body: no second request is read from it. */
        req->close_connection = 1;
        return intake_reply_error(req, MHD_HTTP_BAD_REQUEST, "bad_request", "%s", bad);
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if ((bad = intake_guard_method(method)) != NULL ||
        (bad = intake_guard_text(req->conn, url, ci ? ci->socket_context : NULL)) != NULL)
        return intake_reply_error(req, MHD_HTTP_BAD_REQUEST, "bad_request", "%s", bad);
    if (atomic_load(&in->srv.connections) > in->srv.cfg.max_connections)
        return intake_reply_unavailable(req, "too many connections; retry shortly");
    if (in->token_set && needs_token(req->route) && !token_matches(in, req->conn))
        return intake_reply_error(req, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                                  "a valid 'Authorization: Bearer TOKEN' header is required");
    switch (req->route) {
    case ROUTE_NOT_FOUND:
        return intake_reply_error(req, MHD_HTTP_NOT_FOUND, "not_found", "no such resource");
    case ROUTE_METHOD_NOT_ALLOWED:
        return intake_reply_error(req, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                                  "method %s is not allowed here", req->method);
    case ROUTE_UPLOAD:
        break;
    case ROUTE_LIST:    return intake_route_list(req);
    case ROUTE_GET:     return intake_route_get(req);
    case ROUTE_OUTPUT:  return intake_route_output(req);
    case ROUTE_HEALTHZ: return intake_route_healthz(req);
    case ROUTE_READYZ:  return intake_route_readyz(req);
    case ROUTE_METRICS: return intake_route_metrics(req);
    }

    const char *camera = header(req, "X-Camera");
    if (camera && !anon_intake_camera_valid(camera))
        return intake_reply_error(req, MHD_HTTP_BAD_REQUEST, "bad_camera",
                                  "camera names are 1-64 characters of A-Z a-z 0-9 . _ - "
                                  "and do not start with . or -");
    if (camera)
        snprintf(req->camera, sizeof req->camera, "%s", camera);
    const char *claimed = header(req, "X-Content-SHA256");
    if (claimed && !take_claimed_sha256(req, claimed))
        return intake_reply_error(req, MHD_HTTP_BAD_REQUEST, "bad_request",
                                  "X-Content-SHA256 must be 64 hexadecimal digits");
    if (req->claimed_sha256[0] && (intake_route_upload_known(req) != MHD_YES || req->status))
        return req->status ? MHD_YES : MHD_NO;
    req->body = calloc(1, sizeof *req->body);
    if (req->body == NULL)
        return intake_reply_error(req, 500, "internal", "out of memory");
    atomic_fetch_add(&in->srv.uploads, 1);
    intake_body_headers h = {header(req, MHD_HTTP_HEADER_CONTENT_TYPE),
                             header(req, MHD_HTTP_HEADER_CONTENT_LENGTH),
                             header(req, "X-Filename")};
    int status = intake_body_begin(req->body, &h, (uint64_t)in->srv.cfg.max_bytes,
                                   in->srv.cfg.max_pixels);
    if (status)
        return intake_reply_error(req, status, req->body->fail_error, "%s",
                                  req->body->fail_detail);
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    anon_intake *in = cls;
    intake_request *req = *con_cls;
    if (req == NULL) {
        req = calloc(1, sizeof *req);
        if (req == NULL)
            return MHD_NO;
        *con_cls = req;
        req->srv = &in->srv;
        req->conn = conn;
        req->started = (anon_now_ms() / 1e3);
        /* Escaped before anything else: whatever the client sent, the log
         * line and the replies can carry them. */
        intake_escape(method, strlen(method), req->method, sizeof req->method);
        intake_escape(url, strlen(url), req->path, sizeof req->path);
        atomic_fetch_add(&in->in_flight, 1);
        choose_request_id(req);
        classify(req, url, method);
        return on_headers(in, req, method, url);
    }
    if (*upload_data_size > 0) {
        size_t size = *upload_data_size;
        *upload_data_size = 0;
        req->bytes_in += size;
        if (body_too_slow(in, req))
            return MHD_NO;
        /* Answered already, or refused: read the rest away so that the
         * client gets the answer instead of a reset connection (the time
         * limit bounds how long). */
        if (req->body == NULL || req->status || req->body->fail_status)
            return MHD_YES;
        intake_body_feed(req->body, upload_data, size);
        return MHD_YES;
    }
    if (req->status)
        return MHD_YES;
    if (req->route == ROUTE_UPLOAD && req->body)
        return intake_route_upload(req);
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode how)
{
    (void)conn;
    anon_intake *in = cls;
    intake_request *req = *con_cls;
    if (req == NULL)
        return;
    *con_cls = NULL;
    double seconds = (anon_now_ms() / 1e3) - req->started;
    char code[16], labels[128];
    if (req->status && how == MHD_REQUEST_TERMINATED_COMPLETED_OK)
        snprintf(code, sizeof code, "%d", req->status);
    else
        snprintf(code, sizeof code, "%s", req->timed_out ? "timeout"
                                          : req->status ? "aborted" : "dropped");
    snprintf(labels, sizeof labels, "route=\"%s\",code=\"%s\"", req->route_label, code);
    anon_metrics_add(in->srv.metrics, M_REQUESTS, labels, 1);
    snprintf(labels, sizeof labels, "route=\"%s\"", req->route_label);
    anon_metrics_observe(in->srv.metrics, M_LATENCY, labels, seconds);
    anon_metrics_add(in->srv.metrics, M_BYTES_IN, "", (double)req->bytes_in);

    const char *level = req->status >= 500 ? "error"
                        : req->status >= 400 || req->status == 0 ? "warn"
                                                               : "info";
    json_t *fields = json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:f}", "request_id",
                               req->request_id, "method", req->method, "path", req->path,
                               "route", req->route_label, "status", req->status, "bytes",
                               (json_int_t)req->bytes_in, "ms", seconds * 1000.0);
    if (fields && req->camera[0])
        json_object_set_new(fields, "camera", json_string(req->camera));
    if (fields && req->image_id > 0)
        json_object_set_new(fields, "id", json_integer(req->image_id));
    if (fields && req->have_stats)
        json_object_update_new(fields, json_pack("{s:f, s:f, s:f, s:f}", "wait_ms",
                                                 req->stats.wait_ms, "db_ms", req->stats.db_ms,
                                                 "put_ms", req->stats.put_ms, "publish_ms",
                                                 req->stats.publish_ms));
    if (fields && req->log_detail[0])
        json_object_set_new(fields, "detail", json_string(req->log_detail));
    if (fields && how != MHD_REQUEST_TERMINATED_COMPLETED_OK)
        json_object_set_new(fields, "aborted", json_true());
    emit_log(in, level, fields);

    if (req->body) {
        intake_body_free(req->body);
        free(req->body);
        atomic_fetch_sub(&in->srv.uploads, 1);
    }
    free(req);
    pthread_mutex_lock(&in->idle_lock);
    if (atomic_fetch_sub(&in->in_flight, 1) == 1)
        pthread_cond_broadcast(&in->idle_cond);
    pthread_mutex_unlock(&in->idle_lock);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode what)
{
    (void)conn;
    anon_intake *in = cls;
    if (what == MHD_CONNECTION_NOTIFY_STARTED) {
        atomic_fetch_add(&in->srv.connections, 1);
        *socket_ctx = calloc(1, sizeof(intake_conn));   /* NULL: checks without it */
    } else {
        atomic_fetch_sub(&in->srv.connections, 1);
        free(*socket_ctx);
        *socket_ctx = NULL;
    }
}

/* ---------------------------------------------------------------- lifecycle */

/* "ADDR:PORT" or "[ADDR6]:PORT" or ":PORT". */
static int parse_listen(const char *text, struct sockaddr_storage *addr, int *ipv6,
                        anon_error *err)
{
    char host[128];
    const char *colon = strrchr(text, ':');
    if (colon == NULL || (size_t)(colon - text) >= sizeof host)
        return anon_fail(err, "ANON_INTAKE_LISTEN: expected ADDR:PORT, got '%s'", text);
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || port < 0 || port > 65535)
        return anon_fail(err, "ANON_INTAKE_LISTEN: bad port in '%s'", text);
    memset(addr, 0, sizeof *addr);
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *ipv6 = 1;
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
            return anon_fail(err, "ANON_INTAKE_LISTEN: bad IPv6 address in '%s'", text);
        return 0;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)addr;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *ipv6 = 0;
    if (host[0] == '\0')
        return 0;
    if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
        return anon_fail(err, "ANON_INTAKE_LISTEN: bad IPv4 address in '%s'", text);
    return 0;
}

static int declare_metrics(anon_metrics *m, anon_error *err)
{
    static const struct {
        const char *name;
        anon_metric_type type;
        const char *help;
    } list[] = {
        {M_REQUESTS, ANON_METRIC_COUNTER, "HTTP requests by route and status code"},
        {M_LATENCY, ANON_METRIC_HISTOGRAM, "time from request headers to completion"},
        {M_BYTES_IN, ANON_METRIC_COUNTER, "request body bytes received"},
        {M_UPLOADS, ANON_METRIC_GAUGE, "uploads being received or stored right now"},
        {M_CONNECTIONS, ANON_METRIC_GAUGE, "open client connections"},
        {M_ACCEPTED, ANON_METRIC_COUNTER, "images acknowledged, by result (created, existing)"},
        {M_PUBLISH_FAILURES, ANON_METRIC_COUNTER, "uploads answered 503 because the broker failed"},
        {M_DEPENDENCY_FAILURES, ANON_METRIC_COUNTER, "requests answered 503 because a service failed"},
    };
    for (size_t i = 0; i < sizeof list / sizeof list[0]; i++)
        if (anon_metrics_declare(m, list[i].name, list[i].type, list[i].help, err) < 0)
            return -1;
    return 0;
}

/* Binds and listens here rather than in libmicrohttpd, so that a port
 * another process holds fails with that reason, and two servers never
 * share a port (SO_REUSEADDR only lets a restart bind over TIME_WAIT). */
static int open_listener(anon_intake *in, const char *text, anon_error *err)
{
    struct sockaddr_storage addr;
    int ipv6 = 0;
    if (parse_listen(text, &addr, &ipv6, err) < 0)
        return -1;
    int fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return anon_fail(err, "cannot listen on %s: %s", text, strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    socklen_t len = ipv6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (bind(fd, (struct sockaddr *)&addr, len) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
        int e = errno;
        close(fd);
        if (e == EADDRINUSE)
            return anon_fail_kind(err, ANON_ERR_CONFIG, "cannot listen on %s: address in use "
                                  "(another process listens on that port)", text);
        return anon_fail(err, "cannot listen on %s: %s", text, strerror(e));
    }
    len = sizeof addr;
    if (getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
        in->port = ntohs(ipv6 ? ((struct sockaddr_in6 *)&addr)->sin6_port
                              : ((struct sockaddr_in *)&addr)->sin_port);
    in->listen_fd = fd;
    return 0;
}

/* The services are connected lazily, so the server starts without them;
 * one check at start says in the log what is missing (the probe itself
 * only answers which dependency is down). In a thread of its own, so that
 * a service that takes its time to refuse does not hold up the start, nor
 * the signal handling that follows it. */
static void *log_readiness(void *arg)
{
    anon_intake *in = arg;
    const char *failed = NULL;
    anon_error err = {0};
    if (intake_backend_ready(in->srv.backend, &failed, &err) == BACKEND_OK) {
        log_event(in, "info", "ready: postgresql, rabbitmq and s3 answer");
        return NULL;
    }
    char detail[600];
    intake_escape(err.msg, strlen(err.msg), detail, sizeof detail);
    emit_log(in, "warn", json_pack("{s:s, s:s, s:s}", "msg",
                                   "not ready: a service is unreachable (/readyz answers 503 "
                                   "until it is back)", "dependency",
                                   failed ? failed : "unknown", "detail", detail));
    return NULL;
}

static struct MHD_Daemon *start_daemon(anon_intake *in, const anon_config *cfg)
{
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ITC;
    return MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, in,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)in->listen_fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)(cfg->max_connections + SATURATION_MARGIN),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->intake_timeout,
        /* bigger body chunks: fewer calls, writes and hash updates per upload */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, in,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, in,
        MHD_OPTION_UNESCAPE_CALLBACK, intake_guard_unescape, NULL,
        MHD_OPTION_END);
}

anon_intake *anon_intake_start(const anon_config *cfg, anon_intake_log_fn log,
                               void *log_ctx, anon_error *err)
{
    anon_intake *in = calloc(1, sizeof *in);
    if (in == NULL) {
        anon_fail(err, "out of memory");
        return NULL;
    }
    in->srv.cfg = *cfg;
    in->log = log;
    in->log_ctx = log_ctx;
    in->listen_fd = -1;
    pthread_mutex_init(&in->idle_lock, NULL);
    pthread_cond_init(&in->idle_cond, NULL);
    if (cfg->intake_token && cfg->intake_token[0]) {
        in->token_set = 1;
        anon_sha256_hex(cfg->intake_token, strlen(cfg->intake_token), in->token_hex);
    }
    if (cfg->max_connections < 1)
        anon_fail_kind(err, ANON_ERR_CONFIG, "ANON_MAX_CONNECTIONS must be at least 1");
    if (cfg->max_connections < 1 ||
        (in->srv.metrics = anon_metrics_new(err)) == NULL ||
        declare_metrics(in->srv.metrics, err) < 0 ||
        (in->srv.backend = intake_backend_new(cfg, (size_t)cfg->intake_sessions, err)) == NULL ||
        open_listener(in, cfg->intake_listen, err) < 0) {
        anon_intake_free(in);
        return NULL;
    }
    if ((in->daemon = start_daemon(in, cfg)) == NULL) {
        anon_fail(err, "cannot listen on %s: libmicrohttpd refused to start", cfg->intake_listen);
        anon_intake_free(in);
        return NULL;
    }
    in->listen_fd = -1;   /* the daemon's now */
    char msg[160];
    snprintf(msg, sizeof msg, "listening on %s (port %d)", cfg->intake_listen, in->port);
    log_event(in, "info", msg);
    in->ready_check_started = pthread_create(&in->ready_check, NULL, log_readiness, in) == 0;
    return in;
}

int anon_intake_port(const anon_intake *in)
{
    return in->port;
}

int anon_intake_shutdown(anon_intake *in, long grace_seconds)
{
    if (in->daemon == NULL)
        return 0;
    atomic_store(&in->srv.stopping, 1);
    MHD_socket listener = MHD_quiesce_daemon(in->daemon);
    if (listener != MHD_INVALID_SOCKET)
        close(listener);
    log_event(in, "info", "shutting down: no new connections, finishing in-flight requests");

    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += grace_seconds;
    pthread_mutex_lock(&in->idle_lock);
    while (atomic_load(&in->in_flight) > 0 &&
           pthread_cond_timedwait(&in->idle_cond, &in->idle_lock, &deadline) != ETIMEDOUT) {
    }
    int left = atomic_load(&in->in_flight);
    pthread_mutex_unlock(&in->idle_lock);
    if (left > 0) {
        /* Stopping the daemon would wait for those requests; the caller
         * exits instead. Nothing is lost: none of them has had its 202. */
        char msg[128];
        snprintf(msg, sizeof msg, "grace period over with %d requests in flight", left);
        log_event(in, "warn", msg);
        return left;
    }
    MHD_stop_daemon(in->daemon);
    in->daemon = NULL;
    log_event(in, "info", "stopped");
    return left;
}

void anon_intake_free(anon_intake *in)
{
    if (in == NULL)
        return;
    if (in->daemon && anon_intake_shutdown(in, 0) > 0)
        MHD_stop_daemon(in->daemon);   /* waits for the stragglers */
    if (in->ready_check_started)
        pthread_join(in->ready_check, NULL);
    if (in->listen_fd >= 0)
        close(in->listen_fd);
    intake_backend_free(in->srv.backend);
    anon_metrics_free(in->srv.metrics);
    pthread_mutex_destroy(&in->idle_lock);
    pthread_cond_destroy(&in->idle_cond);
    free(in);
}
