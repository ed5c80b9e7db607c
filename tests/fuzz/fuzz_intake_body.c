/* fuzz_intake_body.c - libFuzzer harness for the intake's upload body
 * handling (src/intake/intake_body.c, intake_multipart.c): what a client
 * sends to POST /v1/images, headers and body, driven in-process with no
 * network and no services.
 *
 * Input: [flags][chunk][content-type line \n][file name line \n][body].
 *   flags & 3   the Content-Type: 0 multipart/form-data with the line as
 *               its boundary, 1 image/jpeg, 2 image/png, 3 the line itself
 *   flags & 4   send a Content-Length (the body's, or the number in the
 *               file name line when flags & 16)
 *   flags & 8   send the file name line as X-Filename
 *   chunk       the body is fed in pieces of chunk+1 bytes (x64 when
 *               flags & 32), as the HTTP server hands them over
 * Lines are cut at a NUL, as C strings would be. The limits are small
 * (3000 bytes, 1 Mpixel), below libFuzzer's input sizes, so that the
 * refusals are reached too.
 *
 * Build: the library sources it uses (src/base, src/image, src/codec and
 * src/intake/intake_{body,multipart,check}.c) compiled with
 * -fsanitize=fuzzer-no-link,address,undefined, then this file linked with
 * -fsanitize=fuzzer,address,undefined and libpng, libjpeg, zlib, nettle,
 * jansson. Seeds: scripts/fuzz-seeds-service intake_body DIR. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "intake/intake_body.h"

#define MAX_BYTES 3000
#define MAX_PIXELS 1000000

/* The next line of the input (up to '\n' or the end) as a C string. */
static const uint8_t *take_line(const uint8_t *p, const uint8_t *end, char *out, size_t cap)
{
    size_t n = 0;
    while (p < end && *p != '\n') {
        if (n + 1 < cap)
            out[n++] = (char)*p;
        p++;
    }
    out[n] = '\0';
    return p < end ? p + 1 : p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t flags = data[0];
    size_t chunk = (size_t)data[1] + 1;
    if (flags & 32)
        chunk *= 64;
    const uint8_t *p = data + 2, *end = data + size;
    char line[256], name[256], type[320], length[32];
    p = take_line(p, end, line, sizeof line);
    p = take_line(p, end, name, sizeof name);
    switch (flags & 3) {
    case 0: snprintf(type, sizeof type, "multipart/form-data; boundary=%s", line); break;
    case 1: snprintf(type, sizeof type, "image/jpeg"); break;
    case 2: snprintf(type, sizeof type, "image/png"); break;
    default: snprintf(type, sizeof type, "%s", line); break;
    }
    size_t body_len = (size_t)(end - p);
    snprintf(length, sizeof length, "%zu", body_len);
    intake_body_headers h = {
        .content_type = type,
        .content_length = !(flags & 4) ? NULL : (flags & 16) ? name : length,
        .filename = (flags & 8) ? name : NULL,
    };
    intake_body b;
    int status = intake_body_begin(&b, &h, MAX_BYTES, MAX_PIXELS);
    for (size_t off = 0; status == 0 && off < body_len; off += chunk) {
        size_t n = body_len - off < chunk ? body_len - off : chunk;
        status = intake_body_feed(&b, (const char *)p + off, n);
    }
    if (status == 0)
        status = intake_body_finish(&b);
    /* Whatever happened, the result must be whole: a status and a
     * message on failure, the image's facts on success. */
    if (status != 0 && (b.fail_status != status || b.fail_error == NULL))
        __builtin_trap();
    if (status == 0 && (b.content_type == NULL || b.width <= 0 || b.height <= 0 ||
                        strlen(b.sha256) != 64 || b.bytes == 0 || b.bytes > MAX_BYTES))
        __builtin_trap();
    intake_body_free(&b);
    return 0;
}
