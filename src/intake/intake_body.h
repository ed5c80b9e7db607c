/* intake_body.h - receiving one upload: multipart/form-data or a raw body.
 *
 * The image is streamed into an unlinked spool file (never held in memory,
 * so 64 concurrent 10 MB uploads cost disk cache, not heap) while its
 * SHA-256 is computed. The first bytes are sniffed as soon as they arrive,
 * so a non-image is refused without being spooled; at the end the header is
 * probed for dimensions without decoding anything. On failure the body
 * records the HTTP status, a short error code and a detail for the reply.
 *
 * It takes the request's header values as plain strings and its body as
 * bytes, and knows nothing of the HTTP server, so it can be driven (and
 * fuzzed) from memory. */
#ifndef ANON_INTAKE_BODY_H
#define ANON_INTAKE_BODY_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/sha256.h"
#include "intake/intake_check.h"
#include "intake/intake_multipart.h"

/* What the request's headers say about its body (NULL: header absent). */
typedef struct intake_body_headers {
    const char *content_type;
    const char *content_length;
    const char *filename;             /* X-Filename, for a raw body */
} intake_body_headers;

typedef struct intake_body {
    int multipart_body;               /* 0 for a raw body */
    multipart mp;
    enum { PART_NONE, PART_IMAGE, PART_CAMERA, PART_OTHER } part;
    int fd;                           /* spool file, -1 until the first byte */
    uint64_t bytes;
    uint64_t max_bytes;
    long max_pixels;
    anon_sha256 hash;
    uint8_t head[16];                 /* first bytes, for the magic check */
    size_t head_len;
    int image_parts;                  /* multipart parts named "image" */
    char camera[ANON_INTAKE_CAMERA_MAX + 1];  /* the "camera" form field, if any */
    size_t camera_len;
    int camera_fields;
    int camera_bad;                   /* too long, control bytes, or two of them */
    char filename[256];               /* client's file name, printable only */
    /* after intake_body_finish: */
    char sha256[65];
    const char *content_type;         /* "image/jpeg" or "image/png" */
    const char *extension;            /* "jpg" or "png" */
    int width;
    int height;
    /* the failure, when a call returned non-zero: */
    int fail_status;
    const char *fail_error;
    char fail_detail[256];
} intake_body;

/* Prepares a body from the request's headers: decides multipart or raw
 * from Content-Type and refuses what cannot work before any byte is read
 * (unsupported type 415, announced Content-Length over max_bytes 413, a
 * multipart type without a usable boundary 400). Returns 0, or the HTTP
 * status of the refusal. */
int intake_body_begin(intake_body *b, const intake_body_headers *h, uint64_t max_bytes,
                      long max_pixels);

/* Feeds the next chunk of the request body. Returns 0 or an HTTP status
 * (after which further chunks are ignored). */
int intake_body_feed(intake_body *b, const char *data, size_t size);

/* The body is complete: checks that one image arrived, its magic bytes,
 * header and pixel count, and rewinds the spool file for reading.
 * Returns 0 or an HTTP status. */
int intake_body_finish(intake_body *b);

void intake_body_free(intake_body *b);

/* An unlinked read-write file in $TMPDIR (default /tmp): nothing is left
 * behind whatever happens to the process. Also holds downloaded outputs. */
int intake_spool_open(anon_error *err);

#endif
