/* image.c - the pixel type and the header probe (see image.h).
 *
 * The probe reads a JPEG's frame header (SOF) and a PNG's IHDR, and the
 * EXIF orientation before them, with the container walkers alone: no
 * codec library is involved, so a hostile header is refused before any
 * decoder sees the file. */
#include "image/image.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "image/container.h"
#include "image/metadata.h"

int anon_image_alloc(anon_image *img, int width, int height, int channels,
                     anon_error *err)
{
    memset(img, 0, sizeof *img);
    if (width <= 0 || height <= 0 || (channels != 3 && channels != 4))
        return anon_fail(err, "bad image shape %dx%dx%d", width, height, channels);
    size_t bytes = (size_t)width * (size_t)height * (size_t)channels;
    img->pixels = malloc(bytes);
    if (img->pixels == NULL)
        return anon_fail(err, "out of memory for a %dx%d image", width, height);
    img->width = width;
    img->height = height;
    img->channels = channels;
    return 0;
}

void anon_image_free(anon_image *img)
{
    if (img == NULL)
        return;
    free(img->pixels);
    memset(img, 0, sizeof *img);
}

void anon_image_fill_grey(anon_image *img, anon_rect r)
{
    int x0 = r.x > 0 ? r.x : 0, y0 = r.y > 0 ? r.y : 0;
    int x1 = r.x + r.w < img->width ? r.x + r.w : img->width;
    int y1 = r.y + r.h < img->height ? r.y + r.h : img->height;
    for (int y = y0; y < y1 && x0 < x1; y++) {
        uint8_t *p = img->pixels + ((size_t)y * (size_t)img->width + (size_t)x0) *
                                       (size_t)img->channels;
        if (img->channels == 3) {
            memset(p, 128, (size_t)(x1 - x0) * 3);
            continue;
        }
        for (int x = x0; x < x1; x++, p += 4) {
            memset(p, 128, 3);
            p[3] = 255;
        }
    }
}

void anon_info_warn(anon_image_info *info, const char *msg)
{
    info->warnings.count++;
    for (int i = 0; i < info->warnings.kept; i++)
        if (strncmp(info->warnings.msg[i], msg, sizeof info->warnings.msg[i] - 1) == 0)
            return;
    if (info->warnings.kept == ANON_WARNINGS_KEPT)
        return;
    char *kept = info->warnings.msg[info->warnings.kept++];
    strncpy(kept, msg, sizeof info->warnings.msg[0] - 1);
    kept[sizeof info->warnings.msg[0] - 1] = '\0';
}

/* ---------------------------------------------------------------- JPEG header */

static bool is_sof(uint8_t m)
{
    return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

static int jpeg_probe(const uint8_t *data, size_t len, anon_image_info *info,
                      anon_error *err)
{
    size_t pos = 0;
    anon_jpeg_segment seg;
    int rc;
    /* The frame header may follow any number of APPn, DQT, DHT, COM...
     * segments; EXIF sits before it in every real file. */
    while ((rc = anon_jpeg_segment_next(data, len, &pos, &seg)) == 1) {
        if (seg.marker == 0xE1 && seg.len >= 6 && memcmp(seg.data, "Exif\0\0", 6) == 0
            && info->orientation == 1)
            info->orientation = anon_exif_orientation(seg.data + 6, seg.len - 6);
        if (seg.marker == 0xDA)
            return anon_fail(err, "JPEG has no frame header before its scan data");
        if (is_sof(seg.marker)) {
            if (seg.len < 6)
                return anon_fail(err, "JPEG frame header too short");
            info->height = seg.data[1] << 8 | seg.data[2];
            info->width = seg.data[3] << 8 | seg.data[4];
            info->components = seg.data[5];
            info->progressive = seg.marker == 0xC2 || seg.marker == 0xC6 ||
                                seg.marker == 0xCA || seg.marker == 0xCE;
            if (info->height == 0)
                return anon_fail(err, "JPEG with its height in a DNL marker is not supported");
            return 0;
        }
    }
    return anon_fail(err, rc < 0 ? "truncated or malformed JPEG header"
                                 : "JPEG ends before its frame header");
}

/* ---------------------------------------------------------------- PNG header */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool valid_depth(int color_type, int depth)
{
    switch (color_type) {
    case 0:  return depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
    case 3:  return depth == 1 || depth == 2 || depth == 4 || depth == 8;
    case 2: case 4: case 6: return depth == 8 || depth == 16;
    default: return false;
    }
}

static int png_probe(const uint8_t *data, size_t len, anon_image_info *info,
                     anon_error *err)
{
    static const int components[] = {1, 0, 3, 1, 2, 0, 4};
    size_t pos = 0;
    anon_png_chunk c;
    if (anon_png_chunk_next(data, len, &pos, &c) != 1 || strcmp(c.type, "IHDR") != 0 ||
        c.len != 13)
        return anon_fail(err, "PNG has no valid IHDR header");
    if (crc32(crc32(0, c.data - 4, 4), c.data, 13) != be32(c.data + 13))
        return anon_fail(err, "PNG header is corrupt (IHDR checksum mismatch)");
    uint32_t w = be32(c.data), h = be32(c.data + 4);
    int depth = c.data[8], color_type = c.data[9];
    if (w == 0 || h == 0 || w > 0x7FFFFFFFu || h > 0x7FFFFFFFu)
        return anon_fail(err, "PNG header has invalid size %ux%u", w, h);
    if (!valid_depth(color_type, depth))
        return anon_fail(err, "PNG header has invalid colour type %d / bit depth %d",
                         color_type, depth);
    info->width = (int)w;
    info->height = (int)h;
    info->components = components[color_type];
    info->has_alpha = color_type == 4 || color_type == 6;
    info->progressive = c.data[12] == 1;
    /* Only the chunks before the image data: that is where eXIf and tRNS
     * belong, and it keeps the probe cheap. */
    while (anon_png_chunk_next(data, len, &pos, &c) == 1 && strcmp(c.type, "IDAT") != 0) {
        if (strcmp(c.type, "tRNS") == 0)
            info->has_alpha = true;
        else if (strcmp(c.type, "eXIf") == 0)
            info->orientation = anon_exif_orientation(c.data, c.len);
    }
    return 0;
}

/* ---------------------------------------------------------------- probe */

int anon_probe(const uint8_t *data, size_t len, anon_image_info *info,
               anon_error *err)
{
    memset(info, 0, sizeof *info);
    info->orientation = 1;
    if (len == 0)
        return anon_fail(err, "empty file (0 bytes)");
    info->format = anon_sniff(data, len);
    int rc;
    switch (info->format) {
    case ANON_FMT_JPEG: rc = jpeg_probe(data, len, info, err); break;
    case ANON_FMT_PNG:  rc = png_probe(data, len, info, err); break;
    default:            return anon_fail(err, "not a JPEG or PNG image");
    }
    if (rc < 0)
        return -1;
    if (info->width <= 0 || info->height <= 0)
        return anon_fail(err, "image has no pixels (%dx%d)", info->width, info->height);
    if (info->width > ANON_MAX_DIMENSION || info->height > ANON_MAX_DIMENSION)
        return anon_fail(err, "image is %dx%d, over the %d pixel side limit",
                         info->width, info->height, ANON_MAX_DIMENSION);
    return 0;
}
