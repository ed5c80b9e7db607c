/* s3.c - a small S3 client (AWS Signature V4) on libcurl (see s3.h): the
 * settings, the client, and the operations on buckets and objects. Each
 * operation checks its names, describes one request and hands it to
 * s3_perform (s3_request.c), which signs, sends, retries and sorts the
 * failures by kind. Listing is in s3_list.c. */
#include "service/s3_private.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "base/sha256.h"

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
        return anon_fail_kind(err, ANON_ERR_CONFIG,
                              "ANON_S3_ADDRESSING: expected 'path' or 'virtual', got '%s'", mode);
    return 0;
}

/* Splits "http[s]://host[:port][/]" into scheme and host:port with curl's
 * URL parser; anything else (a path, a query, user info) is refused. */
static int parse_endpoint(anon_s3 *s3, const char *endpoint, anon_error *err)
{
    if (endpoint == NULL || endpoint[0] == '\0')
        return anon_fail_kind(err, ANON_ERR_CONFIG, "ANON_S3_ENDPOINT is empty");
    CURLU *u = curl_url();
    if (u == NULL)
        return anon_fail(err, "out of memory");
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL, *user = NULL;
    int rc = -1;
    if (curl_url_set(u, CURLUPART_URL, endpoint, 0) != CURLUE_OK) {
        anon_fail_kind(err, ANON_ERR_CONFIG,
                       "ANON_S3_ENDPOINT: '%s' is not a URL like http://host:port", endpoint);
        goto out;
    }
    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    curl_url_get(u, CURLUPART_HOST, &host, 0);
    curl_url_get(u, CURLUPART_PORT, &port, 0);
    curl_url_get(u, CURLUPART_PATH, &path, 0);
    curl_url_get(u, CURLUPART_QUERY, &query, 0);
    curl_url_get(u, CURLUPART_USER, &user, 0);
    if (scheme == NULL || (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
        anon_fail_kind(err, ANON_ERR_CONFIG,
                       "ANON_S3_ENDPOINT: '%s' must start with http:// or https://", endpoint);
        goto out;
    }
    if (user) {  /* do not echo it: it may hold a secret */
        anon_fail_kind(err, ANON_ERR_CONFIG, "ANON_S3_ENDPOINT must not contain credentials: "
                       "use ANON_S3_ACCESS_KEY and ANON_S3_SECRET_KEY");
        goto out;
    }
    if (host == NULL || host[0] == '\0' || (path && strcmp(path, "/") != 0) || query) {
        anon_fail_kind(err, ANON_ERR_CONFIG, "ANON_S3_ENDPOINT: '%s' must be "
                       "scheme://host[:port] with no path, query or credentials", endpoint);
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
        anon_fail_kind(err, ANON_ERR_CONFIG,
                       "ANON_S3_REGION: '%s' is not a region name like us-east-1",
                       opts->region ? opts->region : "");
        return NULL;
    }
    if (opts->access_key == NULL || opts->access_key[0] == '\0' ||
        strchr(opts->access_key, ':') != NULL) {
        anon_fail_kind(err, ANON_ERR_CONFIG, "ANON_S3_ACCESS_KEY is empty or contains ':'");
        return NULL;
    }
    if (opts->secret_key == NULL || opts->secret_key[0] == '\0') {
        anon_fail_kind(err, ANON_ERR_CONFIG, "ANON_S3_SECRET_KEY is empty");
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
        anon_fail_kind(err, ANON_ERR_CONFIG, "ANON_S3_ADDRESSING=virtual needs a host name "
                       "in ANON_S3_ENDPOINT (bucket.host), not an IP address");
        goto fail;
    }
    if (opts->ca_file && opts->ca_file[0]) {
        if (access(opts->ca_file, R_OK) < 0) {
            anon_fail_kind(err, ANON_ERR_CONFIG, "ANON_S3_CA_FILE: cannot read '%s': %s",
                           opts->ca_file, strerror(errno));
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

/* ------------------------------------------------------------ operations */

int anon_s3_create_bucket(anon_s3 *s3, const char *bucket, anon_error *err)
{
    if (s3_check_bucket(bucket, err) < 0)
        return -1;
    struct s3_request r;
    s3_request_init(&r, "PUT", bucket, NULL);
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
    if (s3_perform(s3, &r, err) == 0)
        return 0;
    /* 409: BucketAlreadyOwnedByYou (ours: fine) or BucketAlreadyExists,
     * which s3rver answers for its own buckets too. Any real ownership
     * problem shows on the first PUT as 403. */
    return s3->last_http == 409 ? 0 : -1;
}

int anon_s3_head_bucket(anon_s3 *s3, const char *bucket, anon_error *err)
{
    if (s3_check_bucket(bucket, err) < 0)
        return -1;
    struct s3_request r;
    s3_request_init(&r, "HEAD", bucket, NULL);
    return s3_perform(s3, &r, err);
}

int anon_s3_put(anon_s3 *s3, const char *bucket, const char *key,
                const void *data, size_t len, const char *content_type,
                anon_error *err)
{
    if (s3_check_bucket(bucket, err) < 0 || s3_check_key(key, err) < 0)
        return -1;
    char sha[65];
    anon_sha256_hex(data, len, sha);
    struct s3_request r;
    s3_request_init(&r, "PUT", bucket, key);
    r.data = data;
    r.len = len;
    r.payload_sha = sha;
    r.content_type = content_type ? content_type : "application/octet-stream";
    return s3_perform(s3, &r, err);
}

int anon_s3_put_fd(anon_s3 *s3, const char *bucket, const char *key, int fd,
                   const char *content_type, anon_error *err)
{
    if (s3_check_bucket(bucket, err) < 0 || s3_check_key(key, err) < 0)
        return -1;
    struct stat st;
    off_t start = lseek(fd, 0, SEEK_CUR);
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || start < 0)
        return anon_fail(err, "s3 PUT %s/%s: the source must be a regular file", bucket, key);
    char sha[65];
    long long size = 0;
    if (anon_sha256_fd(fd, start, sha, &size, err) < 0)
        return anon_fail_prefix(err, "s3 PUT %s/%s: ", bucket, key);
    return anon_s3_put_fd_hashed(s3, bucket, key, fd, sha, content_type, err);
}

int anon_s3_put_fd_hashed(anon_s3 *s3, const char *bucket, const char *key, int fd,
                          const char *sha256_hex, const char *content_type,
                          anon_error *err)
{
    if (s3_check_bucket(bucket, err) < 0 || s3_check_key(key, err) < 0)
        return -1;
    struct stat st;
    off_t start = lseek(fd, 0, SEEK_CUR);
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || start < 0 || start > st.st_size ||
        sha256_hex == NULL || strlen(sha256_hex) != 64)
        return anon_fail(err, "s3 PUT %s/%s: needs a regular file and a 64-digit SHA-256",
                         bucket, key);
    struct s3_request r;
    s3_request_init(&r, "PUT", bucket, key);
    r.in_fd = fd;
    r.in_off = start;
    r.len = (size_t)(st.st_size - start);
    r.payload_sha = sha256_hex;
    r.content_type = content_type ? content_type : "application/octet-stream";
    int rc = s3_perform(s3, &r, err);
    if (rc == 0 && lseek(fd, st.st_size, SEEK_SET) < 0) {
        /* the upload is done; only the caller's offset could not follow */
    }
    return rc;
}

int anon_s3_get(anon_s3 *s3, const char *bucket, const char *key,
                anon_buffer *out, size_t max_bytes, anon_error *err)
{
    if (s3_check_bucket(bucket, err) < 0 || s3_check_key(key, err) < 0)
        return -1;
    out->len = 0;
    struct s3_request r;
    s3_request_init(&r, "GET", bucket, key);
    r.out = out;
    r.max_bytes = max_bytes;
    return s3_perform(s3, &r, err);
}

int anon_s3_get_fd(anon_s3 *s3, const char *bucket, const char *key, int fd,
                   anon_error *err)
{
    if (s3_check_bucket(bucket, err) < 0 || s3_check_key(key, err) < 0)
        return -1;
    struct s3_request r;
    s3_request_init(&r, "GET", bucket, key);
    r.out_fd = fd;
    return s3_perform(s3, &r, err);
}

int anon_s3_head(anon_s3 *s3, const char *bucket, const char *key,
                 anon_s3_object_info *info, anon_error *err)
{
    if (s3_check_bucket(bucket, err) < 0 || s3_check_key(key, err) < 0)
        return -1;
    anon_s3_object_info scratch;
    struct s3_request r;
    s3_request_init(&r, "HEAD", bucket, key);
    r.info = info ? info : &scratch;
    return s3_perform(s3, &r, err);
}

int anon_s3_delete(anon_s3 *s3, const char *bucket, const char *key,
                   anon_error *err)
{
    if (s3_check_bucket(bucket, err) < 0 || s3_check_key(key, err) < 0)
        return -1;
    struct s3_request r;
    s3_request_init(&r, "DELETE", bucket, key);
    return s3_perform(s3, &r, err);
}

