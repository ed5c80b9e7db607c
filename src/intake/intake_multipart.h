/* intake_multipart.h - a streaming multipart/form-data parser (RFC 7578).
 *
 * The intake's uploads arrive as multipart/form-data in chunks of any
 * size; this parser splits them into parts without holding a part in
 * memory: each part is announced with its name, file name and content
 * type, then its content is handed over in pieces, then its end. It never
 * allocates, keeps at most one part's header block (bounded), and treats
 * every byte as hostile: a malformed body is an error, never a crash.
 * It knows nothing of HTTP or files, so it can be driven (and fuzzed)
 * from memory. */
#ifndef ANON_INTAKE_MULTIPART_H
#define ANON_INTAKE_MULTIPART_H

#include <stddef.h>

#define MULTIPART_BOUNDARY_MAX 70      /* RFC 2046 */
#define MULTIPART_HEADERS_MAX 8192     /* one part's header block */
#define MULTIPART_NAME_MAX 256

typedef struct multipart_part {
    char name[MULTIPART_NAME_MAX];       /* the form field's name */
    char filename[MULTIPART_NAME_MAX];   /* "" when the part names no file */
    int has_filename;
    char content_type[MULTIPART_NAME_MAX];
} multipart_part;

/* What the parser tells its user. Each returns 0 to go on, non-zero to
 * stop (multipart_feed then returns that value). */
typedef struct multipart_handler {
    int (*begin)(void *ctx, const multipart_part *part);
    int (*data)(void *ctx, const char *data, size_t len);
    int (*end)(void *ctx);
    void *ctx;
} multipart_handler;

typedef struct multipart {
    multipart_handler h;
    char delim[4 + MULTIPART_BOUNDARY_MAX];  /* "\r\n--" + boundary */
    size_t dlen;
    size_t matched;            /* delimiter bytes matched and held back */
    int state;
    char headers[MULTIPART_HEADERS_MAX];
    size_t headers_len;
    char after;                /* after a delimiter: '-' or '\r' seen, else 0 */
    multipart_part part;
} multipart;

/* Takes the boundary from a Content-Type value ("multipart/form-data;
 * boundary=XyZ", quoted or not). Returns 0, or -1 when it has none or an
 * unusable one (empty, longer than 70, characters RFC 2046 excludes). */
int multipart_init(multipart *mp, const char *content_type, const multipart_handler *h);

/* Parses the next len bytes. Returns 0, -1 when the body is malformed, or
 * what a handler returned to stop. */
int multipart_feed(multipart *mp, const char *data, size_t len);

/* The body is over: 0 when it ended with the closing delimiter (and every
 * part was ended), -1 when it is truncated or malformed. */
int multipart_finish(multipart *mp);

#endif
