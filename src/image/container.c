/* container.c - the JPEG segment and PNG chunk walkers (see container.h). */
#include "image/container.h"

#include <stdbool.h>
#include <string.h>

#define PNG_SIG_LEN 8

/* ---------------------------------------------------------------- JPEG */

static bool marker_has_length(uint8_t m)
{
    return !(m == 0xD8 || m == 0xD9 || m == 0x01 || (m >= 0xD0 && m <= 0xD7));
}

/* Skips entropy-coded data (and RSTn markers inside it) up to the next
 * real marker. */
static size_t skip_entropy(const uint8_t *buf, size_t len, size_t pos)
{
    while (pos + 1 < len) {
        if (buf[pos] == 0xFF) {
            uint8_t m = buf[pos + 1];
            if (m != 0x00 && m != 0xFF && !(m >= 0xD0 && m <= 0xD7))
                return pos;
            pos += m == 0xFF ? 1 : 2;
        } else {
            pos++;
        }
    }
    return len;
}

int anon_jpeg_segment_next(const uint8_t *buf, size_t len, size_t *pos,
                           anon_jpeg_segment *seg)
{
    size_t p = *pos;
    if (p == 0) {
        if (len < 2 || buf[0] != 0xFF || buf[1] != 0xD8)
            return -1;
        *pos = 2;
        *seg = (anon_jpeg_segment){0xD8, NULL, 0};
        return 1;
    }
    if (p < len && buf[p] != 0xFF)
        p = skip_entropy(buf, len, p);
    while (p + 1 < len && buf[p] == 0xFF && buf[p + 1] == 0xFF)
        p++;    /* fill bytes */
    if (p + 1 >= len)
        return 0;
    uint8_t m = buf[p + 1];
    if (m == 0xD9) {
        *pos = p + 2;
        return 0;
    }
    if (!marker_has_length(m)) {
        *pos = p + 2;
        *seg = (anon_jpeg_segment){m, NULL, 0};
        return 1;
    }
    if (p + 4 > len)
        return -1;
    size_t seglen = (size_t)buf[p + 2] << 8 | buf[p + 3];
    if (seglen < 2 || p + 2 + seglen > len)
        return -1;
    *seg = (anon_jpeg_segment){m, buf + p + 4, seglen - 2};
    *pos = p + 2 + seglen;
    return 1;
}

/* ---------------------------------------------------------------- PNG */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int anon_png_chunk_next(const uint8_t *buf, size_t len, size_t *pos,
                        anon_png_chunk *chunk)
{
    size_t p = *pos < PNG_SIG_LEN ? PNG_SIG_LEN : *pos;
    if (p >= len)
        return 0;
    if (len - p < 12)
        return -1;
    uint32_t n = be32(buf + p);
    if (n > 0x7FFFFFFFu || n > len - p - 12)
        return -1;
    memcpy(chunk->type, buf + p + 4, 4);
    chunk->type[4] = '\0';
    chunk->data = buf + p + 8;
    chunk->len = n;
    *pos = p + 12 + n;
    return strcmp(chunk->type, "IEND") == 0 ? 0 : 1;
}
