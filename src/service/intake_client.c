/* intake_client.c - uploads to anon-intake over HTTP (see intake_client.h). */
#include "service/intake_client.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buffer.h"
#include "base/clock.h"
#include "image/image.h"
#include "base/sha256.h"

#define RESPONSE_MAX (64 * 1024)
#define RETRY_AFTER_MAX_S 30

struct anon_intake_client {
    anon_intake_client_options o;
    CURL *curl;
    char *url;
    char *auth_header;
    char *camera_header;
    anon_buffer response;
    curl_off_t reported;     /* body bytes of this attempt already reported */
};

const char *anon_upload_outcome_name(anon_upload_outcome o)
{
    static const char *const names[] = {"created", "existing", "not_image", "rejected", "failed"};
    return (unsigned)o < sizeof names / sizeof names[0] ? names[o] : "unknown";
}

static char *printf_dup(const char *fmt, const char *a, const char *b)
{
    size_t n = strlen(fmt) + strlen(a) + strlen(b) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, fmt, a, b);
    return s;
}

anon_intake_client *anon_intake_client_new(const anon_intake_client_options *o,
                                           anon_error *err)
{
    if (o->url == NULL || (strncmp(o->url, "http://", 7) != 0 && strncmp(o->url, "https://", 8) != 0)) {
        anon_fail(err, "ANON_INTAKE_URL: expected http://HOST:PORT, got '%s'", o->url ? o->url : "");
        return NULL;
    }
    anon_intake_client *c = calloc(1, sizeof *c);
    if (c == NULL) {
        anon_fail(err, "out of memory");
        return NULL;
    }
    c->o = *o;
    if (c->o.max_attempts <= 0)
        c->o.max_attempts = 5;
    if (c->o.timeout_s <= 0)
        c->o.timeout_s = 300;
    if (c->o.backoff_ms <= 0)
        c->o.backoff_ms = 500;
    size_t len = strlen(o->url);
    while (len > 0 && o->url[len - 1] == '/')
        len--;
    c->url = malloc(len + sizeof "/v1/images");
    if (c->url)
        snprintf(c->url, len + sizeof "/v1/images", "%.*s/v1/images", (int)len, o->url);
    c->curl = curl_easy_init();
    if (o->token && o->token[0])
        c->auth_header = printf_dup("Authorization: Bearer %s%s", o->token, "");
    if (o->camera && o->camera[0])
        c->camera_header = printf_dup("X-Camera: %s%s", o->camera, "");
    if (c->url == NULL || c->curl == NULL || (o->token && o->token[0] && !c->auth_header) ||
        (o->camera && o->camera[0] && !c->camera_header)) {
        anon_fail(err, "cannot set up the HTTP client");
        anon_intake_client_free(c);
        return NULL;
    }
    return c;
}

void anon_intake_client_free(anon_intake_client *c)
{
    if (c == NULL)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c->url);
    free(c->auth_header);
    free(c->camera_header);
    anon_buffer_free(&c->response);
    free(c);
}

static size_t on_response(char *data, size_t size, size_t n, void *ctx)
{
    anon_intake_client *c = ctx;
    size_t len = size * n;
    size_t room = RESPONSE_MAX - c->response.len;
    anon_buffer_append(&c->response, data, len < room ? len : room, NULL);
    return len;
}

static int on_xfer(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                   curl_off_t ulnow)
{
    (void)dltotal; (void)dlnow; (void)ultotal;
    anon_intake_client *c = ctx;
    if (ulnow > c->reported && c->o.on_progress) {
        c->o.on_progress(c->o.progress_ctx, (int64_t)(ulnow - c->reported));
        c->reported = ulnow;
    }
    return 0;
}

/* A header value from a file name: no control characters. */
static char *filename_header(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char *h = printf_dup("X-Filename: %s%s", base, "");
    for (char *p = h ? h + 12 : NULL; p && *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '_';
    return h;
}

/* The server's JSON detail, or the start of whatever body it sent. */
static void response_detail(anon_intake_client *c, char *out, size_t size)
{
    json_t *j = json_loadb((const char *)c->response.data, c->response.len, 0, NULL);
    const char *detail = json_string_value(json_object_get(j, "detail"));
    if (detail)
        snprintf(out, size, "%s", detail);
    else
        snprintf(out, size, "%.*s", (int)(c->response.len < 200 ? c->response.len : 200),
                 c->response.data ? (const char *)c->response.data : "");
    json_decref(j);
}

static void parse_record(anon_intake_client *c, anon_upload_result *res)
{
    json_t *j = json_loadb((const char *)c->response.data, c->response.len, 0, NULL);
    json_t *id = json_object_get(j, "id");
    const char *status = json_string_value(json_object_get(j, "status"));
    res->id = json_is_integer(id) ? json_integer_value(id) : 0;
    snprintf(res->status, sizeof res->status, "%s", status ? status : "");
    json_decref(j);
}

/* One attempt. Returns 1 when it is final (res->outcome set), 0 when it
 * may be retried; *retry_after_s gets the server's Retry-After (0: none). */
static int attempt(anon_intake_client *c, FILE *f, int64_t size, struct curl_slist *headers,
                   anon_upload_result *res, long *retry_after_s)
{
    CURL *curl = c->curl;
    anon_buffer_reset(&c->response);
    if (c->reported && c->o.on_progress)   /* a retry sends the bytes again */
        c->o.on_progress(c->o.progress_ctx, -(int64_t)c->reported);
    c->reported = 0;
    rewind(f);
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, c->url);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_READDATA, f);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)size);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_response);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_xfer);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, c);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, c->o.timeout_s);
    CURLcode rc = curl_easy_perform(curl);
    res->attempts++;
    *retry_after_s = 0;
    if (rc != CURLE_OK) {
        res->http_status = 0;
        snprintf(res->detail, sizeof res->detail, "%s", curl_easy_strerror(rc));
        return 0;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &res->http_status);
    long code = res->http_status;
    if (code == 200 || code == 202) {
        res->outcome = code == 202 ? ANON_UPLOAD_CREATED : ANON_UPLOAD_EXISTING;
        parse_record(c, res);
        res->detail[0] = '\0';
        return 1;
    }
    response_detail(c, res->detail, sizeof res->detail);
    if (code == 429 || code >= 500) {
        curl_off_t after = 0;
        if (curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &after) == CURLE_OK && after > 0)
            *retry_after_s = after < RETRY_AFTER_MAX_S ? (long)after : RETRY_AFTER_MAX_S;
        return 0;
    }
    res->outcome = ANON_UPLOAD_REJECTED;
    return 1;
}

int anon_intake_upload_file(anon_intake_client *c, const char *path, anon_upload_result *res,
                            anon_error *err)
{
    memset(res, 0, sizeof *res);
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (f == NULL || fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
        anon_fail(err, "%s: %s", path, f ? "not a regular file" : strerror(errno));
        snprintf(res->detail, sizeof res->detail, "%s", err ? err->msg : "cannot read");
        res->outcome = ANON_UPLOAD_FAILED;
        if (f)
            fclose(f);
        return -1;
    }
    res->bytes = st.st_size;
    uint8_t head[16];
    size_t got = fread(head, 1, sizeof head, f);
    anon_format fmt = anon_sniff(head, got);
    if (fmt == ANON_FMT_UNKNOWN) {
        fclose(f);
        res->outcome = ANON_UPLOAD_NOT_IMAGE;
        snprintf(res->detail, sizeof res->detail, "not a JPEG or PNG image");
        return 0;
    }
    /* The digest lets the intake answer 200 before the body for a file it
     * already has (with Expect, the body is then never sent), and check
     * end to end that what it stores is what was read here. */
    char sha[ANON_SHA256_HEX_LEN + 1], type_header[64], sha_header[96];
    long long hashed = 0;
    if (anon_sha256_fd(fileno(f), 0, sha, &hashed, err) < 0) {
        snprintf(res->detail, sizeof res->detail, "%s", err ? err->msg : "cannot read");
        res->outcome = ANON_UPLOAD_FAILED;
        fclose(f);
        return -1;
    }
    snprintf(type_header, sizeof type_header, "Content-Type: %s", anon_format_mime(fmt));
    snprintf(sha_header, sizeof sha_header, "X-Content-SHA256: %s", sha);
    char *name_header = filename_header(path);
    struct curl_slist *headers = curl_slist_append(NULL, type_header);
    headers = curl_slist_append(headers, sha_header);
    headers = curl_slist_append(headers, "Expect: 100-continue");
    if (name_header)
        headers = curl_slist_append(headers, name_header);
    if (c->camera_header)
        headers = curl_slist_append(headers, c->camera_header);
    if (c->auth_header)
        headers = curl_slist_append(headers, c->auth_header);

    /* backoff_ms doubling to 10 s, or the server's Retry-After if longer */
    anon_backoff backoff = {c->o.backoff_ms, 10000, 0};
    c->reported = 0;   /* the previous file's bytes were sent, not to be taken back */
    for (int i = 0; i < c->o.max_attempts; i++) {
        long retry_after_s = 0;
        if (attempt(c, f, st.st_size, headers, res, &retry_after_s))
            break;
        res->outcome = ANON_UPLOAD_FAILED;
        if (i + 1 < c->o.max_attempts) {
            long delay = anon_backoff_delay(&backoff, i);
            anon_sleep_ms(retry_after_s * 1000 > delay ? retry_after_s * 1000 : delay);
        }
    }
    curl_slist_free_all(headers);
    free(name_header);
    fclose(f);
    return 0;
}
