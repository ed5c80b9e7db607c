/* s3.c - S3 client on libcurl with AWS Signature V4 (see s3.h).
 *
 * curl signs each request (CURLOPT_AWS_SIGV4 "aws:amz:REGION:s3": the
 * region and service must be given, plain "aws:amz" derives them from the
 * host name) over the headers we hand it, so the payload hash goes in as an
 * x-amz-content-sha256 header computed here. curl 7.88 signs the query
 * string as written, so query strings are built already canonical: names
 * sorted, names and values RFC 3986-encoded, each with '='. Keys are encoded
 * the same way, keeping '/'. */
#include "service/s3.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "base/sha256.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define ERROR_BODY_MAX 4096

struct anon_s3 {
    CURL *curl;
    char *scheme;         /* "http" / "https" */
    char *hostport;       /* "127.0.0.1:9000" */
    char *userpwd;        /* "access:secret" for curl; never shown */
    char sigv4[128];      /* "aws:amz:REGION:s3" */
    int virtual_host;
    char *ca_file;
    long connect_timeout_ms;
    long timeout_ms;
    int retries;
    anon_s3_status last;
    long last_http;
    char curl_error[CURL_ERROR_SIZE];
};

static char *dup_or_null(const char *s, anon_error *err)
{
    char *copy = strdup(s ? s : "");
    if (copy == NULL)
        anon_fail(err, "out of memory");
    return copy;
}

/* ------------------------------------------------------------ options */

int anon_s3_options_from_config(anon_s3_options *opts, const anon_config *cfg,
                                anon_error *err)
{
    memset(opts, 0, sizeof *opts);
    opts->endpoint = cfg->s3_endpoint;
    opts->region = cfg->s3_region;
    opts->access_key = cfg->s3_access_key;
    opts->secret_key = cfg->s3_secret_key;
    opts->ca_file = cfg->s3_ca_file;
    opts->retries = -1;
    opts->timeout_ms = cfg->s3_timeout > 0 ? cfg->s3_timeout * 1000 : 0;
    const char *mode = cfg->s3_addressing ? cfg->s3_addressing : "path";
    if (strcmp(mode, "path") == 0)
        opts->virtual_host = 0;
    else if (strcmp(mode, "virtual") == 0)
        opts->virtual_host = 1;
    else
        return anon_fail(err, "ANON_S3_ADDRESSING: expected 'path' or 'virtual', got '%s'", mode);
    return 0;
}

/* Splits "http[s]://host[:port][/]" into scheme and host:port with curl's
 * URL parser; anything else (a path, a query, user info) is refused. */
static int parse_endpoint(anon_s3 *s3, const char *endpoint, anon_error *err)
{
    if (endpoint == NULL || endpoint[0] == '\0')
        return anon_fail(err, "ANON_S3_ENDPOINT is empty");
    CURLU *u = curl_url();
    if (u == NULL)
        return anon_fail(err, "out of memory");
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL, *user = NULL;
    int rc = -1;
    if (curl_url_set(u, CURLUPART_URL, endpoint, 0) != CURLUE_OK) {
        anon_fail(err, "ANON_S3_ENDPOINT: '%s' is not a URL like http://host:port", endpoint);
        goto out;
    }
    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    curl_url_get(u, CURLUPART_HOST, &host, 0);
    curl_url_get(u, CURLUPART_PORT, &port, 0);
    curl_url_get(u, CURLUPART_PATH, &path, 0);
    curl_url_get(u, CURLUPART_QUERY, &query, 0);
    curl_url_get(u, CURLUPART_USER, &user, 0);
    if (scheme == NULL || (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
        anon_fail(err, "ANON_S3_ENDPOINT: '%s' must start with http:// or https://", endpoint);
        goto out;
    }
    if (user) {  /* do not echo it: it may hold a secret */
        anon_fail(err, "ANON_S3_ENDPOINT must not contain credentials: use "
                       "ANON_S3_ACCESS_KEY and ANON_S3_SECRET_KEY");
        goto out;
    }
    if (host == NULL || host[0] == '\0' || (path && strcmp(path, "/") != 0) || query) {
        anon_fail(err, "ANON_S3_ENDPOINT: '%s' must be scheme://host[:port] with no path, "
                       "query or credentials", endpoint);
        goto out;
    }
    s3->scheme = strdup(scheme);
    size_t n = strlen(host) + (port ? strlen(port) + 1 : 0) + 1;
    s3->hostport = malloc(n);
    if (s3->scheme == NULL || s3->hostport == NULL) {
        anon_fail(err, "out of memory");
        goto out;
    }
    snprintf(s3->hostport, n, "%s%s%s", host, port ? ":" : "", port ? port : "");
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(query);
    curl_free(user);
    curl_url_cleanup(u);
    return rc;
}

static int valid_region(const char *r)
{
    if (r == NULL || r[0] == '\0' || strlen(r) > 32)
        return 0;
    for (; *r; r++)
        if (!(islower((unsigned char)*r) || isdigit((unsigned char)*r) || *r == '-'))
            return 0;
    return 1;
}

/* curl and libxml2 each want one initialisation before threads use them. */
static void init_libraries(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    xmlInitParser();
}

anon_s3 *anon_s3_open(const anon_s3_options *opts, anon_error *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_libraries);
    if (!valid_region(opts->region)) {
        anon_fail(err, "ANON_S3_REGION: '%s' is not a region name like us-east-1",
                  opts->region ? opts->region : "");
        return NULL;
    }
    if (opts->access_key == NULL || opts->access_key[0] == '\0' ||
        strchr(opts->access_key, ':') != NULL) {
        anon_fail(err, "ANON_S3_ACCESS_KEY is empty or contains ':'");
        return NULL;
    }
    if (opts->secret_key == NULL || opts->secret_key[0] == '\0') {
        anon_fail(err, "ANON_S3_SECRET_KEY is empty");
        return NULL;
    }
    anon_s3 *s3 = calloc(1, sizeof *s3);
    if (s3 == NULL) {
        anon_fail(err, "out of memory");
        return NULL;
    }
    if (parse_endpoint(s3, opts->endpoint, err) < 0)
        goto fail;
    size_t n = strlen(opts->access_key) + strlen(opts->secret_key) + 2;
    s3->userpwd = malloc(n);
    if (s3->userpwd == NULL) {
        anon_fail(err, "out of memory");
        goto fail;
    }
    snprintf(s3->userpwd, n, "%s:%s", opts->access_key, opts->secret_key);
    snprintf(s3->sigv4, sizeof s3->sigv4, "aws:amz:%s:s3", opts->region);
    s3->virtual_host = opts->virtual_host;
    if (s3->virtual_host && strspn(s3->hostport, "0123456789.:[]") == strlen(s3->hostport)) {
        anon_fail(err, "ANON_S3_ADDRESSING=virtual needs a host name in ANON_S3_ENDPOINT "
                       "(bucket.host), not an IP address");
        goto fail;
    }
    if (opts->ca_file && opts->ca_file[0]) {
        if (access(opts->ca_file, R_OK) < 0) {
            anon_fail(err, "ANON_S3_CA_FILE: cannot read '%s': %s", opts->ca_file, strerror(errno));
            goto fail;
        }
        if ((s3->ca_file = dup_or_null(opts->ca_file, err)) == NULL)
            goto fail;
    }
    s3->connect_timeout_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 5000;
    s3->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 120000;
    s3->retries = opts->retries >= 0 ? opts->retries : 4;
    s3->curl = curl_easy_init();
    if (s3->curl == NULL) {
        anon_fail(err, "curl_easy_init failed");
        goto fail;
    }
    return s3;
fail:
    anon_s3_close(s3);
    return NULL;
}

anon_s3 *anon_s3_open_config(const anon_config *cfg, anon_error *err)
{
    anon_s3_options opts;
    if (anon_s3_options_from_config(&opts, cfg, err) < 0)
        return NULL;
    return anon_s3_open(&opts, err);
}

void anon_s3_close(anon_s3 *s3)
{
    if (s3 == NULL)
        return;
    if (s3->curl)
        curl_easy_cleanup(s3->curl);
    free(s3->scheme);
    free(s3->hostport);
    if (s3->userpwd) {
        explicit_bzero(s3->userpwd, strlen(s3->userpwd));
        free(s3->userpwd);
    }
    free(s3->ca_file);
    free(s3);
}

anon_s3_status anon_s3_last_status(const anon_s3 *s3)
{
    return s3->last;
}

long anon_s3_last_http_code(const anon_s3 *s3)
{
    return s3->last_http;
}

/* ------------------------------------------------------------ encoding */

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

static int append_str(anon_buffer *b, const char *s, anon_error *err)
{
    return anon_buffer_append(b, s, strlen(s), err);
}

/* Bucket names per S3's rules, which also keeps them safe in a host name. */
static int check_bucket(anon_s3 *s3, const char *bucket, anon_error *err)
{
    size_t n = bucket ? strlen(bucket) : 0;
    int ok = n >= 3 && n <= 63;
    for (size_t i = 0; ok && i < n; i++) {
        char c = bucket[i];
        ok = islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-' || c == '.';
    }
    if (!ok) {
        s3->last = ANON_S3_BAD_REQUEST;
        return anon_fail(err, "'%s' is not a valid bucket name (3-63 of a-z 0-9 . -)",
                         bucket ? bucket : "");
    }
    return 0;
}

static int check_key(anon_s3 *s3, const char *key, anon_error *err)
{
    if (key == NULL || key[0] == '\0' || strlen(key) > 1024) {
        s3->last = ANON_S3_BAD_REQUEST;
        return anon_fail(err, "object key must be 1 to 1024 bytes");
    }
    return 0;
}

/* scheme://host/bucket/key?query or scheme://bucket.host/key?query, as a
 * NUL-terminated string in url. */
static int build_url(anon_s3 *s3, const char *bucket, const char *key,
                     const char *query, anon_buffer *url, anon_error *err)
{
    anon_buffer_reset(url);
    if (append_str(url, s3->scheme, err) < 0 || append_str(url, "://", err) < 0)
        return -1;
    if (s3->virtual_host) {
        if (append_str(url, bucket, err) < 0 || append_str(url, ".", err) < 0 ||
            append_str(url, s3->hostport, err) < 0 || append_str(url, "/", err) < 0)
            return -1;
    } else {
        if (append_str(url, s3->hostport, err) < 0 || append_str(url, "/", err) < 0 ||
            append_str(url, bucket, err) < 0)
            return -1;
        if (key && append_str(url, "/", err) < 0)
            return -1;
    }
    if (key && anon_s3_uri_encode(key, 1, url, err) < 0)
        return -1;
    if (query && query[0] && (append_str(url, "?", err) < 0 || append_str(url, query, err) < 0))
        return -1;
    return anon_buffer_append(url, "", 1, err);
}

/* ------------------------------------------------------------ requests */

struct request {
    const char *method;
    const char *bucket;
    const char *key;          /* NULL: the bucket itself */
    const char *query;        /* canonical, or NULL */
    const char *content_type;
    /* upload source: memory or a file range */
    const uint8_t *data;
    size_t len;
    int in_fd;
    long long in_off;
    const char *payload_sha;  /* hex; NULL: the empty payload */
    /* download sink: a buffer or a file */
    anon_buffer *out;
    size_t max_bytes;
    int out_fd;
    anon_s3_object_info *info;
};

struct transfer {
    anon_s3 *s3;
    struct request *r;
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

static void copy_header_value(const char *value, size_t len, char *dest, size_t cap,
                              int strip_quotes)
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
        copy_header_value(value, vlen, text, sizeof text, 0);
        info->size = strtoll(text, NULL, 10);
    } else if (name_len == 4 && strncasecmp(line, "etag", 4) == 0) {
        copy_header_value(value, vlen, info->etag, sizeof info->etag, 1);
    } else if (name_len == 12 && strncasecmp(line, "content-type", 12) == 0) {
        copy_header_value(value, vlen, info->content_type, sizeof info->content_type, 0);
    } else if (name_len == 13 && strncasecmp(line, "last-modified", 13) == 0) {
        copy_header_value(value, vlen, text, sizeof text, 0);
        time_t when = curl_getdate(text, NULL);
        info->last_modified = when > 0 ? when : 0;
    }
    return n;
}

/* Pulls <Code> and <Message> out of an S3 error document. */
static void describe_error_body(const anon_buffer *body, char *out, size_t cap)
{
    out[0] = '\0';
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
    snprintf(out, cap, "%s%s%s", code ? (char *)code : "", code && message ? ": " : "",
             message ? (char *)message : "");
    xmlFree(code);
    xmlFree(message);
    xmlFreeDoc(doc);
}

static anon_s3_status status_for_http(long code)
{
    if (code >= 200 && code < 300)
        return ANON_S3_OK;
    if (code == 404)
        return ANON_S3_NOT_FOUND;
    if (code == 401 || code == 403)
        return ANON_S3_DENIED;
    if (code >= 500 || code == 429 || code == 408)
        return ANON_S3_UNAVAILABLE;
    return ANON_S3_BAD_REQUEST;
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

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* Puts the request's sink back where it started, for a retry. */
static int rewind_sink(struct request *r, off_t fd_start)
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

static CURLcode setup(anon_s3 *s3, struct request *r, struct transfer *t, const char *url,
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

/* Runs one request with retries and classifies the outcome. */
static int perform(anon_s3 *s3, struct request *r, anon_error *err)
{
    anon_buffer url = ANON_BUFFER_INIT;
    struct transfer t;
    int rc = -1;
    off_t fd_start = 0;
    memset(&t, 0, sizeof t);
    t.s3 = s3;
    t.r = r;
    s3->last = ANON_S3_OK;
    s3->last_http = 0;
    if (build_url(s3, r->bucket, r->key, r->query, &url, err) < 0) {
        s3->last = ANON_S3_LOCAL;
        return -1;
    }
    if (r->out_fd >= 0 && (fd_start = lseek(r->out_fd, 0, SEEK_CUR)) < 0)
        fd_start = 0;  /* a pipe: cannot rewind, so no retry after bytes were written */
    const char *what = r->key ? r->key : "";
    for (int attempt = 0;; attempt++) {
        struct curl_slist *headers = NULL;
        t.sent = 0;
        t.too_large = t.write_failed = 0;
        anon_buffer_reset(&t.error_body);
        if (r->info)
            memset(r->info, 0, sizeof *r->info);
        s3->curl_error[0] = '\0';
        CURLcode cc = setup(s3, r, &t, (const char *)url.data, &headers);
        if (cc == CURLE_OK)
            cc = curl_easy_perform(s3->curl);
        curl_slist_free_all(headers);
        long code = 0;
        curl_easy_getinfo(s3->curl, CURLINFO_RESPONSE_CODE, &code);
        s3->last_http = code;
        if (t.too_large) {
            s3->last = ANON_S3_TOO_LARGE;
            anon_fail(err, "s3 %s %s/%s: object is larger than the limit of %zu bytes",
                      r->method, r->bucket, what, r->max_bytes);
            break;
        }
        if (t.write_failed) {
            s3->last = ANON_S3_LOCAL;
            anon_fail(err, "s3 %s %s/%s: writing the object: %s", r->method, r->bucket, what,
                      strerror(t.write_failed));
            break;
        }
        int transient;
        if (cc != CURLE_OK) {
            s3->last = ANON_S3_UNAVAILABLE;
            transient = transient_curl_error(cc);
            if (!transient)
                s3->last = cc == CURLE_ABORTED_BY_CALLBACK ? ANON_S3_LOCAL : ANON_S3_BAD_REQUEST;
            anon_fail(err, "s3 %s %s/%s: %s", r->method, r->bucket, what,
                      s3->curl_error[0] ? s3->curl_error : curl_easy_strerror(cc));
        } else {
            s3->last = status_for_http(code);
            if (s3->last == ANON_S3_OK) {
                rc = 0;
                break;
            }
            transient = s3->last == ANON_S3_UNAVAILABLE;
            char detail[300];
            describe_error_body(&t.error_body, detail, sizeof detail);
            if (detail[0] == '\0')
                snprintf(detail, sizeof detail, "%s",
                         code == 404 ? "no such bucket or key" :
                         code == 403 ? "access denied (wrong credentials or signature)" :
                         "request failed");
            anon_fail(err, "s3 %s %s/%s: HTTP %ld %s", r->method, r->bucket, what, code, detail);
        }
        if (!transient || attempt >= s3->retries)
            break;
        if (rewind_sink(r, fd_start) < 0) {
            s3->last = ANON_S3_LOCAL;
            anon_fail(err, "s3 %s %s/%s: cannot rewind the output for a retry", r->method,
                      r->bucket, what);
            break;
        }
        long backoff = 100L << (attempt < 5 ? attempt : 5);  /* 0.1 s doubling, at most 3.2 s */
        sleep_ms(backoff + rand() % (backoff / 2 + 1));
    }
    anon_buffer_free(&t.error_body);
    anon_buffer_free(&url);
    return rc;
}

static void request_init(struct request *r, const char *method, const char *bucket,
                         const char *key)
{
    memset(r, 0, sizeof *r);
    r->method = method;
    r->bucket = bucket;
    r->key = key;
    r->in_fd = -1;
    r->out_fd = -1;
}

/* ------------------------------------------------------------ operations */

int anon_s3_create_bucket(anon_s3 *s3, const char *bucket, anon_error *err)
{
    if (check_bucket(s3, bucket, err) < 0)
        return -1;
    struct request r;
    request_init(&r, "PUT", bucket, NULL);
    /* Outside us-east-1, AWS wants the region in the body. */
    char body[256] = "", sha[65];
    const char *region = s3->sigv4 + strlen("aws:amz:");
    size_t region_len = strlen(region) - strlen(":s3");
    if (!(region_len == 9 && strncmp(region, "us-east-1", 9) == 0))
        snprintf(body, sizeof body,
                 "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                 "<LocationConstraint>%.*s</LocationConstraint></CreateBucketConfiguration>",
                 (int)region_len, region);
    anon_sha256_hex(body, strlen(body), sha);
    r.data = (const uint8_t *)body;
    r.len = strlen(body);
    r.payload_sha = sha;
    if (perform(s3, &r, err) == 0)
        return 0;
    /* 409: BucketAlreadyOwnedByYou (ours: fine) or BucketAlreadyExists,
     * which s3rver answers for its own buckets too. Any real ownership
     * problem shows on the first PUT as 403. */
    if (s3->last_http == 409) {
        s3->last = ANON_S3_OK;
        return 0;
    }
    return -1;
}

int anon_s3_head_bucket(anon_s3 *s3, const char *bucket, anon_error *err)
{
    if (check_bucket(s3, bucket, err) < 0)
        return -1;
    struct request r;
    request_init(&r, "HEAD", bucket, NULL);
    return perform(s3, &r, err);
}

int anon_s3_put(anon_s3 *s3, const char *bucket, const char *key,
                const void *data, size_t len, const char *content_type,
                anon_error *err)
{
    if (check_bucket(s3, bucket, err) < 0 || check_key(s3, key, err) < 0)
        return -1;
    char sha[65];
    anon_sha256_hex(data, len, sha);
    struct request r;
    request_init(&r, "PUT", bucket, key);
    r.data = data;
    r.len = len;
    r.payload_sha = sha;
    r.content_type = content_type ? content_type : "application/octet-stream";
    return perform(s3, &r, err);
}

int anon_s3_put_fd(anon_s3 *s3, const char *bucket, const char *key, int fd,
                   const char *content_type, anon_error *err)
{
    if (check_bucket(s3, bucket, err) < 0 || check_key(s3, key, err) < 0)
        return -1;
    struct stat st;
    off_t start = lseek(fd, 0, SEEK_CUR);
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || start < 0) {
        s3->last = ANON_S3_LOCAL;
        return anon_fail(err, "s3 PUT %s/%s: the source must be a regular file", bucket, key);
    }
    char sha[65];
    long long size = 0;
    if (anon_sha256_fd(fd, start, sha, &size, err) < 0) {
        s3->last = ANON_S3_LOCAL;
        return anon_fail_prefix(err, "s3 PUT %s/%s: ", bucket, key);
    }
    return anon_s3_put_fd_hashed(s3, bucket, key, fd, sha, content_type, err);
}

int anon_s3_put_fd_hashed(anon_s3 *s3, const char *bucket, const char *key, int fd,
                          const char *sha256_hex, const char *content_type,
                          anon_error *err)
{
    if (check_bucket(s3, bucket, err) < 0 || check_key(s3, key, err) < 0)
        return -1;
    struct stat st;
    off_t start = lseek(fd, 0, SEEK_CUR);
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || start < 0 || start > st.st_size ||
        sha256_hex == NULL || strlen(sha256_hex) != 64) {
        s3->last = ANON_S3_LOCAL;
        return anon_fail(err, "s3 PUT %s/%s: needs a regular file and a 64-digit SHA-256",
                         bucket, key);
    }
    struct request r;
    request_init(&r, "PUT", bucket, key);
    r.in_fd = fd;
    r.in_off = start;
    r.len = (size_t)(st.st_size - start);
    r.payload_sha = sha256_hex;
    r.content_type = content_type ? content_type : "application/octet-stream";
    int rc = perform(s3, &r, err);
    if (rc == 0 && lseek(fd, st.st_size, SEEK_SET) < 0) {
        /* the upload is done; only the caller's offset could not follow */
    }
    return rc;
}

int anon_s3_get(anon_s3 *s3, const char *bucket, const char *key,
                anon_buffer *out, size_t max_bytes, anon_error *err)
{
    if (check_bucket(s3, bucket, err) < 0 || check_key(s3, key, err) < 0)
        return -1;
    out->len = 0;
    struct request r;
    request_init(&r, "GET", bucket, key);
    r.out = out;
    r.max_bytes = max_bytes;
    return perform(s3, &r, err);
}

int anon_s3_get_fd(anon_s3 *s3, const char *bucket, const char *key, int fd,
                   anon_error *err)
{
    if (check_bucket(s3, bucket, err) < 0 || check_key(s3, key, err) < 0)
        return -1;
    struct request r;
    request_init(&r, "GET", bucket, key);
    r.out_fd = fd;
    return perform(s3, &r, err);
}

int anon_s3_head(anon_s3 *s3, const char *bucket, const char *key,
                 anon_s3_object_info *info, anon_error *err)
{
    if (check_bucket(s3, bucket, err) < 0 || check_key(s3, key, err) < 0)
        return -1;
    anon_s3_object_info scratch;
    struct request r;
    request_init(&r, "HEAD", bucket, key);
    r.info = info ? info : &scratch;
    return perform(s3, &r, err);
}

int anon_s3_delete(anon_s3 *s3, const char *bucket, const char *key,
                   anon_error *err)
{
    if (check_bucket(s3, bucket, err) < 0 || check_key(s3, key, err) < 0)
        return -1;
    struct request r;
    request_init(&r, "DELETE", bucket, key);
    return perform(s3, &r, err);
}

/* ------------------------------------------------------------ listing */

static time_t parse_iso8601(const char *text)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (text == NULL || strptime(text, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
        return 0;
    return timegm(&tm);
}

static char *node_text(xmlNodePtr n)
{
    xmlChar *c = xmlNodeGetContent(n);
    char *s = strdup(c ? (const char *)c : "");
    xmlFree(c);
    return s;
}

static int parse_contents(xmlNodePtr node, anon_s3_entry *e)
{
    memset(e, 0, sizeof *e);
    for (xmlNodePtr n = node->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        char *text = node_text(n);
        if (text == NULL)
            return -1;
        if (xmlStrcmp(n->name, BAD_CAST "Key") == 0) {
            free(e->key);
            e->key = text;
            continue;
        }
        if (xmlStrcmp(n->name, BAD_CAST "Size") == 0)
            e->size = strtoll(text, NULL, 10);
        else if (xmlStrcmp(n->name, BAD_CAST "ETag") == 0)
            copy_header_value(text, strlen(text), e->etag, sizeof e->etag, 1);
        else if (xmlStrcmp(n->name, BAD_CAST "LastModified") == 0)
            e->last_modified = parse_iso8601(text);
        free(text);
    }
    return e->key ? 0 : -1;
}

static int parse_listing(const anon_buffer *body, anon_s3_listing *out, anon_error *err)
{
    xmlDocPtr doc = xmlReadMemory((const char *)body->data, (int)body->len, "list.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (root == NULL || xmlStrcmp(root->name, BAD_CAST "ListBucketResult") != 0) {
        xmlFreeDoc(doc);
        return anon_fail(err, "s3 list: the answer is not a ListBucketResult document");
    }
    size_t cap = 0;
    int rc = 0;
    for (xmlNodePtr n = root->children; n && rc == 0; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (xmlStrcmp(n->name, BAD_CAST "Contents") == 0) {
            if (out->count == cap) {
                cap = cap ? cap * 2 : 64;
                anon_s3_entry *grown = realloc(out->entries, cap * sizeof *grown);
                if (grown == NULL) {
                    rc = anon_fail(err, "out of memory");
                    break;
                }
                out->entries = grown;
            }
            if (parse_contents(n, &out->entries[out->count]) < 0) {
                free(out->entries[out->count].key);
                rc = anon_fail(err, "s3 list: an entry without a key");
                break;
            }
            out->count++;
        } else if (xmlStrcmp(n->name, BAD_CAST "IsTruncated") == 0) {
            xmlChar *c = xmlNodeGetContent(n);
            out->truncated = c && xmlStrcmp(c, BAD_CAST "true") == 0;
            xmlFree(c);
        } else if (xmlStrcmp(n->name, BAD_CAST "NextContinuationToken") == 0) {
            free(out->next_token);
            if ((out->next_token = node_text(n)) == NULL)
                rc = anon_fail(err, "out of memory");
        }
    }
    xmlFreeDoc(doc);
    if (rc == 0 && out->truncated && (out->next_token == NULL || out->next_token[0] == '\0'))
        rc = anon_fail(err, "s3 list: truncated listing without a continuation token");
    if (rc == 0 && !out->truncated) {
        free(out->next_token);
        out->next_token = NULL;
    }
    return rc;
}

/* Appends "name=value" (value encoded) to a query, with '&' between. */
static int add_param(anon_buffer *q, const char *name, const char *value, anon_error *err)
{
    if (q->len > 0 && append_str(q, "&", err) < 0)
        return -1;
    if (append_str(q, name, err) < 0 || append_str(q, "=", err) < 0)
        return -1;
    return anon_s3_uri_encode(value, 0, q, err);
}

int anon_s3_list(anon_s3 *s3, const char *bucket, const char *prefix,
                 const char *continuation, size_t max_keys,
                 anon_s3_listing *out, anon_error *err)
{
    memset(out, 0, sizeof *out);
    if (check_bucket(s3, bucket, err) < 0)
        return -1;
    anon_buffer query = ANON_BUFFER_INIT, body = ANON_BUFFER_INIT;
    char max[32];
    snprintf(max, sizeof max, "%zu", max_keys);
    int rc = -1;
    /* In sorted order, as SigV4's canonical query string wants them. */
    if ((continuation && continuation[0] &&
         add_param(&query, "continuation-token", continuation, err) < 0) ||
        add_param(&query, "list-type", "2", err) < 0 ||
        (max_keys > 0 && add_param(&query, "max-keys", max, err) < 0) ||
        (prefix && prefix[0] && add_param(&query, "prefix", prefix, err) < 0) ||
        anon_buffer_append(&query, "", 1, err) < 0) {
        s3->last = ANON_S3_LOCAL;
        goto out;
    }
    struct request r;
    request_init(&r, "GET", bucket, NULL);
    r.query = (const char *)query.data;
    r.out = &body;
    r.max_bytes = 64u << 20;
    if (perform(s3, &r, err) < 0)
        goto out;
    if (parse_listing(&body, out, err) < 0) {
        s3->last = ANON_S3_BAD_REQUEST;
        anon_s3_listing_free(out);
        goto out;
    }
    rc = 0;
out:
    anon_buffer_free(&query);
    anon_buffer_free(&body);
    return rc;
}

void anon_s3_listing_free(anon_s3_listing *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->entries[i].key);
    free(list->entries);
    free(list->next_token);
    memset(list, 0, sizeof *list);
}
