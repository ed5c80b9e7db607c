/* intake_body.h - receiving one upload: multipart/form-data or a raw body.
 *
 * The image is streamed into an unlinked spool file (never held in memory,
 * so 64 concurrent 10 MB uploads cost disk cache, not heap) while its
 * SHA-256 is computed. The first bytes are sniffed as soon as they arrive,
 * so a non-image is refused without being spooled; at the end the header is
 * probed for dimensions without decoding anything. On failure the body
 * records the HTTP status, a short error code and a detail for the reply. */
#ifndef ANON_INTAKE_BODY_H
#define ANON_INTAKE_BODY_H

#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/sha256.h"

typedef struct intake_body {
    struct MHD_PostProcessor *pp;     /* NULL for a raw body */
    int fd;                           /* spool file, -1 until the first byte */
    uint64_t bytes;
    uint64_t max_bytes;
    long max_pixels;
    anon_sha256 hash;
    uint8_t head[16];                 /* first bytes, for the magic check */
    size_t head_len;
    int image_parts;                  /* multipart parts named "image" */
    char camera[65];                  /* the "camera" form field, if any */
    int camera_bad;                   /* that field was too long */
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

/* Prepares a body for the connection's request: decides multipart or raw
 * from Content-Type and refuses what cannot work before any byte is read
 * (unsupported type 415, announced Content-Length over max_bytes 413).
 * Returns 0, or the HTTP status of the refusal. */
int intake_body_begin(intake_body *b, struct MHD_Connection *conn,
                      uint64_t max_bytes, long max_pixels);

/* Feeds the next chunk of the request body. Returns 0 or an HTTP status. */
int intake_body_feed(intake_body *b, const char *data, size_t size);

/* The body is complete: checks that an image arrived, its magic bytes,
 * header and pixel count, and rewinds the spool file for reading.
 * Returns 0 or an HTTP status. */
int intake_body_finish(intake_body *b);

void intake_body_free(intake_body *b);

/* An unlinked read-write file in $TMPDIR (default /tmp): nothing is left
 * behind whatever happens to the process. Also holds downloaded outputs. */
int intake_spool_open(anon_error *err);

#endif
