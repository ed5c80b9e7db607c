/* s3_private.h - what the files of the S3 client share.
 *
 *   s3.c           settings, the client, and the object operations (PUT,
 *                  GET, HEAD, DELETE, buckets)
 *   s3_request.c   one signed request: URL and payload hash, curl's
 *                  callbacks, what the answer means, retries with backoff
 *   s3_list.c      ListObjectsV2 pages and their XML
 *
 * Not a public interface: only these files include it. */
#ifndef ANON_S3_PRIVATE_H
#define ANON_S3_PRIVATE_H

#include <curl/curl.h>

#include "service/s3.h"

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
    long last_http;       /* HTTP status of the last answer (0: none) */
    char curl_error[CURL_ERROR_SIZE];
};

/* One request: what to send and where the answer goes. */
struct s3_request {
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

/* A request of method on bucket[/key] with nothing to send or keep. */
void s3_request_init(struct s3_request *r, const char *method, const char *bucket,
                     const char *key);

/* Runs a request, retrying transient failures with backoff. 0, or -1 with
 * err and its kind: ANON_ERR_NOT_FOUND (no such key), ANON_ERR_CONFIG
 * (refused credentials, no such bucket), ANON_ERR_TRANSIENT (unreachable,
 * 5xx, 429 after the retries), ANON_ERR_INPUT (over max_bytes). */
int s3_perform(anon_s3 *s3, struct s3_request *r, anon_error *err);

/* Bucket names per S3's rules, which also keeps them safe in a host name:
 * another name is a setting to fix (ANON_ERR_CONFIG). */
int s3_check_bucket(const char *bucket, anon_error *err);
/* Keys of 1 to 1024 bytes (ANON_ERR_INPUT otherwise). */
int s3_check_key(const char *key, anon_error *err);

/* Appends a C string to b. */
int s3_append_str(anon_buffer *b, const char *s, anon_error *err);

/* Copies a header or XML value into dest (cap bytes), trimmed of spaces
 * and line ends, and of surrounding quotes when strip_quotes (ETags). */
void s3_copy_value(const char *value, size_t len, char *dest, size_t cap, int strip_quotes);

#endif
