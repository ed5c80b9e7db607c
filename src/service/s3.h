/* s3.h - a small S3 client (AWS Signature V4) on libcurl.
 *
 * The batch system keeps original images in the input bucket and the
 * anonymized ones in the output bucket of any S3 API: AWS, MinIO, or the
 * local stack's s3rver behind a signature-checking proxy. One anon_s3 owns
 * one curl handle that is reused for every request (keep-alive), so use one
 * client per thread. Requests are signed by curl (CURLOPT_AWS_SIGV4); the
 * payload hash is computed here. Transient failures (connection errors,
 * HTTP 5xx, 429) are retried with exponential backoff before giving up.
 *
 * Every function returns 0 on success and -1 on failure with a one-line
 * message in err and its kind, so that callers can tell a missing object
 * from a broken store:
 *   ANON_ERR_NOT_FOUND   no such key (404)
 *   ANON_ERR_CONFIG      a setting to fix: refused credentials or signature
 *                        (401/403), no such bucket, a malformed setting or
 *                        bucket name
 *   ANON_ERR_TRANSIENT   connection failure, timeout, 5xx or 429 after the
 *                        retries: try later
 *   ANON_ERR_INPUT       the object exceeds the caller's limit, a bad key
 *   ANON_ERR_FAILED      local I/O or memory, any other refusal */
#ifndef ANON_S3_H
#define ANON_S3_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/buffer.h"
#include "base/config.h"
#include "base/error.h"

typedef struct anon_s3_options {
    const char *endpoint;     /* "http://127.0.0.1:9000" or "https://s3.eu-west-1.amazonaws.com" */
    const char *region;       /* "us-east-1" */
    const char *access_key;
    const char *secret_key;
    int virtual_host;         /* 1: bucket.host/key; 0: host/bucket/key (path style) */
    const char *ca_file;      /* CA bundle for https (NULL or "": system CAs) */
    long connect_timeout_ms;  /* 0: 5000 */
    long timeout_ms;          /* whole request, 0: 120000 */
    int retries;              /* extra attempts on transient failures; -1: default 4 */
} anon_s3_options;

/* Fills options from the ANON_S3_* settings. The strings point into cfg. */
int anon_s3_options_from_config(anon_s3_options *opts, const anon_config *cfg,
                                anon_error *err);

typedef struct anon_s3 anon_s3;

/* Checks the options (a malformed endpoint is an error here, not later) and
 * creates a client. No request is made. */
anon_s3 *anon_s3_open(const anon_s3_options *opts, anon_error *err);

/* anon_s3_options_from_config + anon_s3_open. */
anon_s3 *anon_s3_open_config(const anon_config *cfg, anon_error *err);

void anon_s3_close(anon_s3 *s3);

/* Creates a bucket; a bucket that already exists (and is ours) is fine. */
int anon_s3_create_bucket(anon_s3 *s3, const char *bucket, anon_error *err);

/* HEAD on a bucket: 0 when it exists and the credentials work (a missing
 * bucket is ANON_ERR_CONFIG). Used by readiness checks. */
int anon_s3_head_bucket(anon_s3 *s3, const char *bucket, anon_error *err);

/* Uploads len bytes as bucket/key. content_type may be NULL
 * (application/octet-stream). Overwrites an existing object. */
int anon_s3_put(anon_s3 *s3, const char *bucket, const char *key,
                const void *data, size_t len, const char *content_type,
                anon_error *err);

/* Uploads the rest of a regular file from its current offset to its end
 * (the file is read twice: once for the payload hash, once to send; it must
 * not change meanwhile). */
int anon_s3_put_fd(anon_s3 *s3, const char *bucket, const char *key, int fd,
                   const char *content_type, anon_error *err);

/* anon_s3_put_fd for a caller that already hashed the payload (the intake
 * hashes uploads as they stream in): the file is read once. sha256_hex is
 * the SHA-256 of the bytes from the current offset to the end; a wrong one
 * makes the store refuse the PUT. */
int anon_s3_put_fd_hashed(anon_s3 *s3, const char *bucket, const char *key, int fd,
                          const char *sha256_hex, const char *content_type,
                          anon_error *err);

/* Downloads bucket/key into out (replacing its contents). An object larger
 * than max_bytes (0 = no limit) fails with ANON_ERR_INPUT. */
int anon_s3_get(anon_s3 *s3, const char *bucket, const char *key,
                anon_buffer *out, size_t max_bytes, anon_error *err);

/* Downloads bucket/key into fd from its current offset. On failure part of
 * the object may have been written; write to a temporary file and rename. */
int anon_s3_get_fd(anon_s3 *s3, const char *bucket, const char *key, int fd,
                   anon_error *err);

typedef struct anon_s3_object_info {
    int64_t size;
    char etag[80];           /* without quotes */
    char content_type[128];
    time_t last_modified;    /* 0 if the store did not say */
} anon_s3_object_info;

/* HEAD on an object. A missing object fails with ANON_ERR_NOT_FOUND. info
 * may be NULL when only existence matters. */
int anon_s3_head(anon_s3 *s3, const char *bucket, const char *key,
                 anon_s3_object_info *info, anon_error *err);

/* Deletes bucket/key. Deleting a key that does not exist succeeds (S3
 * semantics); a missing bucket fails. */
int anon_s3_delete(anon_s3 *s3, const char *bucket, const char *key,
                   anon_error *err);

typedef struct anon_s3_entry {
    char *key;
    int64_t size;
    char etag[80];
    time_t last_modified;
} anon_s3_entry;

typedef struct anon_s3_listing {
    anon_s3_entry *entries;
    size_t count;
    int truncated;           /* more keys follow: pass next_token */
    char *next_token;        /* NULL when not truncated */
} anon_s3_listing;

/* One page of ListObjectsV2: keys under prefix (NULL or "": all), after
 * continuation (NULL: from the start), at most max_keys (0: the store's
 * default, 1000). out is replaced; free it with anon_s3_listing_free. */
int anon_s3_list(anon_s3 *s3, const char *bucket, const char *prefix,
                 const char *continuation, size_t max_keys,
                 anon_s3_listing *out, anon_error *err);

void anon_s3_listing_free(anon_s3_listing *list);

/* Percent-encodes text per RFC 3986 (unreserved characters kept), keeping
 * '/' when keep_slash. Exposed for tests and for building object URLs. */
int anon_s3_uri_encode(const char *text, int keep_slash, anon_buffer *out,
                       anon_error *err);

#endif
