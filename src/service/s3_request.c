/* s3_request.c - one S3 request on libcurl (see s3_private.h).
 *
 * curl signs each request (CURLOPT_AWS_SIGV4 "aws:amz:REGION:s3": the
 * region and service must be given, plain "aws:amz" derives them from the
 * host name) over the headers we hand it, so the payload hash goes in as an
 * x-amz-content-sha256 header computed here. curl 7.88 signs the query
 * string as written, so query strings are built already canonical: names
 * sorted, names and values RFC 3986-encoded, each with '='. Keys are encoded
 * the same way, keeping '/'.
 *
 * The answer decides the kind of a failure (see s3_perform); transient
 * ones are tried again with backoff, rewinding the sink first. */
#include "service/s3_private.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "base/clock.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define ERROR_BODY_MAX 4096

/* Between attempts: 0.1 s doubling to 3.2 s, plus up to half of it at
 * random. */
static const anon_backoff retry_backoff = {100, 3200, 2};

int anon_s3_uri_encode(const char *text, int keep_slash, anon_buffer *out,
                       anon_error *err)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        char enc[3];
        size_t n = 1;
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~' ||
            (keep_slash && *p == '/')) {
            enc[0] = (char)*p;
        } else {
            enc[0] = '%';
            enc[1] = hex[*p >> 4];
            enc[2] = hex[*p & 15];
            n = 3;
        }
        if (anon_buffer_append(out, enc, n, err) < 0)
            return -1;
    }
    return 0;
}

int s3_append_str(anon_buffer *b, const char *s, anon_error *err)
{
    return anon_buffer_append(b, s, strlen(s), err);
}

int s3_check_bucket(const char *bucket, anon_error *err)
{
    size_t n = bucket ? strlen(bucket) : 0;
    int ok = n >= 3 && n <= 63;
    for (size_t i = 0; ok && i < n; i++) {
        char c = bucket[i];
        ok = islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-' || c == '.';
    }
    if (!ok)
        return anon_fail_kind(err, ANON_ERR_CONFIG,
                              "'%s' is not a valid bucket name (3-63 of a-z 0-9 . -)",
                              bucket ? bucket : "");
    return 0;
}

int s3_check_key(const char *key, anon_error *err)
{
    if (key == NULL || key[0] == '\0' || strlen(key) > 1024)
        return anon_fail_kind(err, ANON_ERR_INPUT, "object key must be 1 to 1024 bytes");
    return 0;
}

/* scheme://host/bucket/key?query or scheme://bucket.host/key?query, as a
 * NUL-terminated string in url. */
static int build_url(anon_s3 *s3, const char *bucket, const char *key,
                     const char *query, anon_buffer *url, anon_error *err)
{
    anon_buffer_reset(url);
    if (s3_append_str(url, s3->scheme, err) < 0 || s3_append_str(url, "://", err) < 0)
        return -1;
    if (s3->virtual_host) {
        if (s3_append_str(url, bucket, err) < 0 || s3_append_str(url, ".", err) < 0 ||
            s3_append_str(url, s3->hostport, err) < 0 || s3_append_str(url, "/", err) < 0)
            return -1;
    } else {
        if (s3_append_str(url, s3->hostport, err) < 0 || s3_append_str(url, "/", err) < 0 ||
            s3_append_str(url, bucket, err) < 0)
            return -1;
        if (key && s3_append_str(url, "/", err) < 0)
            return -1;
    }
    if (key && anon_s3_uri_encode(key, 1, url, err) < 0)
        return -1;
    if (query && query[0] && (s3_append_str(url, "?", err) < 0 || s3_append_str(url, query, err) < 0))
        return -1;
    return anon_buffer_append(url, "", 1, err);
}

/* ------------------------------------------------------------ transfer */

struct transfer {
    anon_s3 *s3;
    struct s3_request *r;
    size_t sent;              /* upload progress */
    int too_large;
    int write_failed;
    anon_buffer error_body;   /* the XML error document of a failed request */
};

static size_t read_cb(char *dest, size_t size, size_t nmemb, void *userdata)
{
    struct transfer *t = userdata;
    size_t want = size * nmemb, left = t->r->len - t->sent;
    if (want > left)
        want = left;
    if (want == 0)
        return 0;
    if (t->r->in_fd >= 0) {
        ssize_t n;
        do
            n = pread(t->r->in_fd, dest, want, (off_t)(t->r->in_off + (long long)t->sent));
        while (n < 0 && errno == EINTR);
        if (n <= 0)
            return CURL_READFUNC_ABORT;  /* the file shrank or failed under us */
        want = (size_t)n;
    } else {
        memcpy(dest, t->r->data + t->sent, want);
    }
    t->sent += want;
    return want;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct transfer *t = userdata;
    size_t n = size * nmemb;
    long code = 0;
    curl_easy_getinfo(t->s3->curl, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 300) {  /* keep the start of an error document */
        size_t room = ERROR_BODY_MAX - t->error_body.len;
        anon_buffer_append(&t->error_body, data, n < room ? n : room, NULL);
        return n;
    }
    if (t->r->out_fd >= 0) {
        if (write_all(t->r->out_fd, data, n) < 0) {
            t->write_failed = errno ? errno : EIO;
            return 0;
        }
        return n;
    }
    if (t->r->out == NULL)
        return n;
    if (t->r->max_bytes && t->r->out->len + n > t->r->max_bytes) {
        t->too_large = 1;
        return 0;
    }
    if (anon_buffer_append(t->r->out, data, n, NULL) < 0) {
        t->write_failed = ENOMEM;
        return 0;
    }
    return n;
}

void s3_copy_value(const char *value, size_t len, char *dest, size_t cap, int strip_quotes)
{
    while (len > 0 && (value[len - 1] == '\r' || value[len - 1] == '\n' || value[len - 1] == ' '))
        len--;
    while (len > 0 && *value == ' ') {
        value++;
        len--;
    }
    if (strip_quotes && len >= 2 && value[0] == '"' && value[len - 1] == '"') {
        value++;
        len -= 2;
    }
    if (len >= cap)
        len = cap - 1;
    memcpy(dest, value, len);
    dest[len] = '\0';
}

static size_t header_cb(char *line, size_t size, size_t nmemb, void *userdata)
{
    struct transfer *t = userdata;
    size_t n = size * nmemb;
    anon_s3_object_info *info = t->r->info;
    if (info == NULL)
        return n;
    const char *colon = memchr(line, ':', n);
    if (colon == NULL)
        return n;
    size_t name_len = (size_t)(colon - line), vlen = n - name_len - 1;
    const char *value = colon + 1;
    char text[128];
    if (name_len == 14 && strncasecmp(line, "content-length", 14) == 0) {
        s3_copy_value(value, vlen, text, sizeof text, 0);
        info->size = strtoll(text, NULL, 10);
    } else if (name_len == 4 && strncasecmp(line, "etag", 4) == 0) {
        s3_copy_value(value, vlen, info->etag, sizeof info->etag, 1);
    } else if (name_len == 12 && strncasecmp(line, "content-type", 12) == 0) {
        s3_copy_value(value, vlen, info->content_type, sizeof info->content_type, 0);
    } else if (name_len == 13 && strncasecmp(line, "last-modified", 13) == 0) {
        s3_copy_value(value, vlen, text, sizeof text, 0);
        time_t when = curl_getdate(text, NULL);
        info->last_modified = when > 0 ? when : 0;
    }
    return n;
}

/* What an S3 error document says: its <Code> ("NoSuchKey") and the line
 * to show, "Code: Message". */
struct s3_answer {
    char code[64];
    char detail[300];
};

static void read_error_body(const anon_buffer *body, struct s3_answer *a)
{
    a->code[0] = a->detail[0] = '\0';
    if (body->len == 0)
        return;
    xmlDocPtr doc = xmlReadMemory((const char *)body->data, (int)body->len, "error.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == NULL)
        return;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlChar *code = NULL, *message = NULL;
    for (xmlNodePtr n = root ? root->children : NULL; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (xmlStrcmp(n->name, BAD_CAST "Code") == 0 && code == NULL)
            code = xmlNodeGetContent(n);
        else if (xmlStrcmp(n->name, BAD_CAST "Message") == 0 && message == NULL)
            message = xmlNodeGetContent(n);
    }
    snprintf(a->code, sizeof a->code, "%s", code ? (char *)code : "");
    snprintf(a->detail, sizeof a->detail, "%s%s%s", code ? (char *)code : "",
             code && message ? ": " : "", message ? (char *)message : "");
    xmlFree(code);
    xmlFree(message);
    xmlFreeDoc(doc);
}

/* The kind of a failed answer. A missing key is not found; a missing
 * bucket (named by the error code, or a 404 on the bucket itself) and
 * refused credentials are settings to fix; the store being down or busy
 * is transient; any other refusal is this request's own failure. */
static anon_error_kind kind_of_answer(long code, const char *error_code, int bucket_request)
{
    if (code == 404)
        return bucket_request || strcmp(error_code, "NoSuchBucket") == 0 ? ANON_ERR_CONFIG
                                                                          : ANON_ERR_NOT_FOUND;
    if (code == 401 || code == 403)
        return ANON_ERR_CONFIG;
    if (code >= 500 || code == 429 || code == 408)
        return ANON_ERR_TRANSIENT;
    return ANON_ERR_FAILED;
}

static int transient_curl_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
        return 1;
    default:
        return 0;
    }
}

/* Puts the request's sink back where it started, for a retry. */
static int rewind_sink(struct s3_request *r, off_t fd_start)
{
    if (r->out)
        r->out->len = 0;
    if (r->out_fd >= 0) {
        if (lseek(r->out_fd, fd_start, SEEK_SET) < 0)
            return -1;
        struct stat st;
        if (fstat(r->out_fd, &st) == 0 && S_ISREG(st.st_mode) && ftruncate(r->out_fd, fd_start) < 0)
            return -1;
    }
    return 0;
}

static CURLcode setup(anon_s3 *s3, struct s3_request *r, struct transfer *t, const char *url,
                      struct curl_slist **headers)
{
    CURL *c = s3->curl;
    char line[160];
    curl_easy_reset(c);  /* keeps the connection cache: keep-alive across requests */
    snprintf(line, sizeof line, "x-amz-content-sha256: %s",
             r->payload_sha ? r->payload_sha : EMPTY_SHA256);
    *headers = curl_slist_append(*headers, line);
    if (r->content_type) {
        snprintf(line, sizeof line, "Content-Type: %s", r->content_type);
        *headers = curl_slist_append(*headers, line);
    }
    if (*headers == NULL)
        return CURLE_OUT_OF_MEMORY;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, *headers);
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s3->sigv4);
    curl_easy_setopt(c, CURLOPT_USERPWD, s3->userpwd);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, s3->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, s3->timeout_ms);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s3->curl_error);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
    if (s3->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, s3->ca_file);
    if (strcmp(r->method, "PUT") == 0) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->len);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt(c, CURLOPT_READDATA, t);
        /* curl adds "Expect: 100-continue" (unsigned, which S3 accepts) to
         * large bodies; a short wait keeps servers that never answer it
         * from costing a whole second. */
        curl_easy_setopt(c, CURLOPT_EXPECT_100_TIMEOUT_MS, 200L);
    } else if (strcmp(r->method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(r->method, "DELETE") == 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
    }
    return CURLE_OK;
}

/* Fills err after one attempt that did not succeed. */
static void fail_attempt(anon_s3 *s3, const struct s3_request *r, const struct transfer *t,
                         CURLcode cc, long code, anon_error *err)
{
    const char *what = r->key ? r->key : "";
    if (t->too_large) {
        anon_fail_kind(err, ANON_ERR_INPUT,
                       "s3 %s %s/%s: object is larger than the limit of %zu bytes", r->method,
                       r->bucket, what, r->max_bytes);
    } else if (t->write_failed) {
        anon_fail(err, "s3 %s %s/%s: writing the object: %s", r->method, r->bucket, what,
                  strerror(t->write_failed));
    } else if (cc != CURLE_OK) {
        anon_fail_kind(err, transient_curl_error(cc) ? ANON_ERR_TRANSIENT : ANON_ERR_FAILED,
                       "s3 %s %s/%s: %s", r->method, r->bucket, what,
                       s3->curl_error[0] ? s3->curl_error : curl_easy_strerror(cc));
    } else {
        struct s3_answer a;
        read_error_body(&t->error_body, &a);
        if (a.detail[0] == '\0')
            snprintf(a.detail, sizeof a.detail, "%s",
                     code == 404 ? "no such bucket or key" :
                     code == 403 ? "access denied (wrong credentials or signature)" :
                     "request failed");
        anon_fail_kind(err, kind_of_answer(code, a.code, r->key == NULL),
                       "s3 %s %s/%s: HTTP %ld %s", r->method, r->bucket, what, code, a.detail);
    }
}

/* One attempt: 0 when the store answered 2xx. */
static int attempt(anon_s3 *s3, struct s3_request *r, struct transfer *t, const char *url,
                   anon_error *err)
{
    struct curl_slist *headers = NULL;
    t->sent = 0;
    t->too_large = t->write_failed = 0;
    anon_buffer_reset(&t->error_body);
    if (r->info)
        memset(r->info, 0, sizeof *r->info);
    s3->curl_error[0] = '\0';
    CURLcode cc = setup(s3, r, t, url, &headers);
    if (cc == CURLE_OK)
        cc = curl_easy_perform(s3->curl);
    curl_slist_free_all(headers);
    long code = 0;
    curl_easy_getinfo(s3->curl, CURLINFO_RESPONSE_CODE, &code);
    s3->last_http = code;
    if (cc == CURLE_OK && !t->too_large && !t->write_failed && code >= 200 && code < 300)
        return 0;
    fail_attempt(s3, r, t, cc, code, err);
    return -1;
}

int s3_perform(anon_s3 *s3, struct s3_request *r, anon_error *err)
{
    anon_error scratch;
    if (err == NULL)
        err = &scratch;
    anon_buffer url = ANON_BUFFER_INIT;
    struct transfer t;
    memset(&t, 0, sizeof t);
    t.s3 = s3;
    t.r = r;
    s3->last_http = 0;
    if (build_url(s3, r->bucket, r->key, r->query, &url, err) < 0)
        return -1;
    off_t fd_start = 0;
    if (r->out_fd >= 0 && (fd_start = lseek(r->out_fd, 0, SEEK_CUR)) < 0)
        fd_start = 0;  /* a pipe: cannot rewind, so no retry after bytes were written */
    int rc;
    for (int n = 0;; n++) {
        rc = attempt(s3, r, &t, (const char *)url.data, err);
        if (rc == 0 || anon_error_kind_of(err) != ANON_ERR_TRANSIENT || n >= s3->retries)
            break;
        if (rewind_sink(r, fd_start) < 0) {
            anon_fail(err, "s3 %s %s/%s: cannot rewind the output for a retry", r->method,
                      r->bucket, r->key ? r->key : "");
            break;
        }
        anon_backoff_sleep(&retry_backoff, n);
    }
    anon_buffer_free(&t.error_body);
    anon_buffer_free(&url);
    return rc;
}

void s3_request_init(struct s3_request *r, const char *method, const char *bucket,
                     const char *key)
{
    memset(r, 0, sizeof *r);
    r->method = method;
    r->bucket = bucket;
    r->key = key;
    r->in_fd = -1;
    r->out_fd = -1;
}
