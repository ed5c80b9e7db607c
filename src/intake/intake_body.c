/* intake_body.c - receiving one upload into a spool file (see intake_body.h).
 *
 * The body comes in chunks; for multipart/form-data intake_multipart.c
 * splits the parts and announces each. Only the "image" field is spooled,
 * and only one; "camera" is kept (bounded); other fields are ignored, so no
 * field can make the server buffer it. */
#include "intake/intake_body.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "image/image.h"
#include "intake/intake_check.h"

/* Multipart framing (boundaries, part headers) on top of the image. */
#define MULTIPART_SLACK (64 * 1024)

static int fail(intake_body *b, int status, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(intake_body *b, int status, const char *error, const char *fmt, ...)
{
    if (b->fail_status == 0) {   /* the first failure is the one to report */
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(b->fail_detail, sizeof b->fail_detail, fmt, ap);
        va_end(ap);
        b->fail_status = status;
        b->fail_error = error;
    }
    return b->fail_status;
}

int intake_spool_open(anon_error *err)
{
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || dir[0] == '\0')
        dir = "/tmp";
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
    char path[4096];   /* file systems without O_TMPFILE */
    snprintf(path, sizeof path, "%s/anon-intake.XXXXXX", dir);
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
        return anon_fail(err, "cannot create a spool file in %s: %s", dir, strerror(errno));
    unlink(path);
    return fd;
}

static int open_spool(intake_body *b)
{
    anon_error err;
    b->fd = intake_spool_open(&err);
    return b->fd < 0 ? fail(b, 500, "internal", "%s", err.msg) : 0;
}

static int check_magic(intake_body *b)
{
    if (anon_sniff(b->head, b->head_len) != ANON_FMT_UNKNOWN)
        return 0;
    return fail(b, 415, "unsupported_media_type",
                "the data is neither a JPEG nor a PNG image (magic bytes)");
}

/* Appends image bytes: size cap, early magic check, spool, hash. */
static int take_image_bytes(intake_body *b, const char *data, size_t size)
{
    if (size == 0)
        return 0;
    if (size > b->max_bytes - b->bytes)
        return fail(b, 413, "too_large", "the image exceeds %llu bytes (ANON_MAX_BYTES)",
                    (unsigned long long)b->max_bytes);
    size_t had = b->head_len;
    while (b->head_len < sizeof b->head && b->head_len - had < size) {
        b->head[b->head_len] = (uint8_t)data[b->head_len - had];
        b->head_len++;
    }
    if (had < sizeof b->head && b->head_len == sizeof b->head && check_magic(b))
        return b->fail_status;
    if (b->fd < 0 && open_spool(b))
        return b->fail_status;
    for (size_t done = 0; done < size;) {
        ssize_t n = write(b->fd, data + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fail(b, 500, "internal", "cannot write the spool file: %s", strerror(errno));
        done += (size_t)n;
    }
    anon_sha256_update(&b->hash, data, size);
    b->bytes += size;
    return 0;
}

/* The client's file name is metadata only (never part of a key): its last
 * path component, control characters dropped, non-UTF-8 bytes replaced. */
static void keep_filename(intake_body *b, const char *name)
{
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    size_t n = 0;
    for (const char *p = base; *p && n + 1 < sizeof b->filename; p++)
        if ((unsigned char)*p >= 0x20 && *p != 0x7f)
            b->filename[n++] = *p;
    b->filename[n] = '\0';
    if (!intake_utf8_valid(b->filename, n))
        for (char *p = b->filename; *p; p++)
            if ((unsigned char)*p >= 0x80)
                *p = '_';
}

/* multipart handlers: one image part, a bounded camera field, the rest
 * ignored. A non-zero return stops the parser with that status. */
static int on_part_begin(void *ctx, const multipart_part *part)
{
    intake_body *b = ctx;
    if (strcmp(part->name, "image") == 0) {
        /* Counted when announced, so an empty first part counts too. */
        if (b->image_parts++ > 0)
            return fail(b, 400, "bad_request",
                        "more than one image field; send one image per request");
        if (part->has_filename)
            keep_filename(b, part->filename);
        b->part = PART_IMAGE;
    } else if (strcmp(part->name, "camera") == 0) {
        b->part = PART_CAMERA;
        b->camera_bad |= b->camera_fields++ > 0;   /* two camera fields: which one? */
    } else {
        b->part = PART_OTHER;
    }
    return 0;
}

static int on_part_data(void *ctx, const char *data, size_t len)
{
    intake_body *b = ctx;
    if (b->part == PART_IMAGE)
        return take_image_bytes(b, data, len);
    if (b->part == PART_CAMERA) {
        /* A NUL or other control byte would cut the name short or forge
         * a log line: the whole field is refused, not trimmed. */
        if (len > sizeof b->camera - 1 - b->camera_len || intake_has_control(data, len, 0)) {
            b->camera_bad = 1;
            return 0;
        }
        memcpy(b->camera + b->camera_len, data, len);
        b->camera_len += len;
        b->camera[b->camera_len] = '\0';
    }
    return 0;
}

static int on_part_end(void *ctx)
{
    intake_body *b = ctx;
    b->part = PART_NONE;
    return 0;
}

/* The media type of a Content-Type value, without parameters. */
static int media_type_is(const char *value, const char *type)
{
    size_t n = strlen(type);
    if (strncasecmp(value, type, n) != 0)
        return 0;
    return value[n] == '\0' || value[n] == ';' || value[n] == ' ';
}

int intake_body_begin(intake_body *b, const intake_body_headers *h, uint64_t max_bytes,
                      long max_pixels)
{
    memset(b, 0, sizeof *b);
    b->fd = -1;
    b->max_bytes = max_bytes;
    b->max_pixels = max_pixels;
    anon_sha256_init(&b->hash);

    /* Header values go into replies escaped: they are the client's bytes. */
    const char *type = h->content_type;
    char shown[80];
    intake_escape(type ? type : "no Content-Type", strlen(type ? type : "no Content-Type"),
                  shown, sizeof shown);
    int multipart = type && media_type_is(type, "multipart/form-data");
    if (type == NULL || (!multipart && !media_type_is(type, "image/jpeg") &&
                         !media_type_is(type, "image/png")))
        return fail(b, 415, "unsupported_media_type",
                    "send multipart/form-data with an 'image' field, or a raw body "
                    "with Content-Type image/jpeg or image/png (got %s)", shown);

    uint64_t allowed = max_bytes + (multipart ? MULTIPART_SLACK : 0);
    if (h->content_length != NULL && strtoull(h->content_length, NULL, 10) > allowed) {
        intake_escape(h->content_length, strlen(h->content_length), shown, sizeof shown);
        return fail(b, 413, "too_large", "Content-Length %s exceeds %llu bytes (ANON_MAX_BYTES)",
                    shown, (unsigned long long)max_bytes);
    }

    if (multipart) {
        multipart_handler handler = {on_part_begin, on_part_data, on_part_end, b};
        if (multipart_init(&b->mp, type, &handler) < 0)
            return fail(b, 400, "bad_request",
                        "malformed multipart/form-data header (no boundary?)");
        b->multipart_body = 1;
    } else if (h->filename) {
        keep_filename(b, h->filename);
    }
    return 0;
}

int intake_body_feed(intake_body *b, const char *data, size_t size)
{
    if (b->fail_status)
        return b->fail_status;
    if (!b->multipart_body)
        return take_image_bytes(b, data, size);
    int rc = multipart_feed(&b->mp, data, size);
    if (rc < 0)
        return fail(b, 400, "bad_request", "malformed multipart/form-data body");
    return rc;
}

/* Reads the header from the spool through a read-only mapping: only the
 * pages the probe touches are read. */
static int probe_spool(intake_body *b)
{
    void *map = mmap(NULL, (size_t)b->bytes, PROT_READ, MAP_PRIVATE, b->fd, 0);
    if (map == MAP_FAILED)
        return fail(b, 500, "internal", "cannot map the spool file: %s", strerror(errno));
    anon_image_info info;
    anon_error err;
    int rc = anon_probe(map, (size_t)b->bytes, &info, &err);
    munmap(map, (size_t)b->bytes);
    if (rc < 0)
        return fail(b, 422, "invalid_image", "cannot read the image header: %s", err.msg);
    if ((long long)info.width * info.height > b->max_pixels)
        return fail(b, 422, "too_many_pixels",
                    "%dx%d is more than %ld pixels (ANON_MAX_PIXELS)", info.width,
                    info.height, b->max_pixels);
    b->width = info.width;
    b->height = info.height;
    b->content_type = anon_format_mime(info.format);
    b->extension = info.format == ANON_FMT_PNG ? "png" : "jpg";
    return 0;
}

int intake_body_finish(intake_body *b)
{
    if (b->fail_status)
        return b->fail_status;
    if (b->multipart_body) {
        if (multipart_finish(&b->mp) < 0)
            return fail(b, 400, "bad_request", "malformed or truncated multipart/form-data body");
        if (b->image_parts == 0)
            return fail(b, 400, "bad_request", "no form field named 'image'");
        if (b->camera_bad)
            return fail(b, 400, "bad_camera", "the camera field is longer than 64 characters "
                                              "or holds control characters");
    }
    if (b->bytes == 0)
        return fail(b, 400, "bad_request", "the image is empty");
    if (check_magic(b) || probe_spool(b))
        return b->fail_status;
    anon_sha256_final(&b->hash, b->sha256);
    if (lseek(b->fd, 0, SEEK_SET) < 0)
        return fail(b, 500, "internal", "cannot rewind the spool file: %s", strerror(errno));
    return 0;
}

void intake_body_free(intake_body *b)
{
    if (b->fd >= 0)
        close(b->fd);
    b->fd = -1;
}
