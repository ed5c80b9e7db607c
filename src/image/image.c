/* image.c - format dispatch, pixel limits and orientation (see image.h).
 *
 * The front door of image decoding: recognise the format, read only its
 * header, refuse oversized images before a single pixel buffer exists,
 * then let jpeg.c / png.c decode and turn the result upright here. */
#include "image/image.h"

#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"

anon_format anon_sniff(const uint8_t *data, size_t len)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (data == NULL)
        return ANON_FMT_UNKNOWN;
    if (len >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        return ANON_FMT_JPEG;
    if (len >= 8 && memcmp(data, png_sig, 8) == 0)
        return ANON_FMT_PNG;
    return ANON_FMT_UNKNOWN;
}

const char *anon_format_name(anon_format fmt)
{
    switch (fmt) {
    case ANON_FMT_JPEG: return "jpeg";
    case ANON_FMT_PNG:  return "png";
    default:            return "unknown";
    }
}

const char *anon_format_mime(anon_format fmt)
{
    switch (fmt) {
    case ANON_FMT_JPEG: return "image/jpeg";
    case ANON_FMT_PNG:  return "image/png";
    default:            return "application/octet-stream";
    }
}

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
    case ANON_FMT_JPEG: rc = anon_jpeg_probe(data, len, info, err); break;
    case ANON_FMT_PNG:  rc = anon_png_probe(data, len, info, err); break;
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

void anon_info_warn(anon_image_info *info, const char *msg)
{
    if (info->warnings++ == 0) {
        strncpy(info->warning, msg, sizeof info->warning - 1);
        info->warning[sizeof info->warning - 1] = '\0';
    }
}

/* ---------------------------------------------------------------- orientation */

int anon_orientation_inverse(int orientation)
{
    return orientation == 6 ? 8 : orientation == 8 ? 6 : orientation;
}

/* Where the upright pixel (x, y) lives in the stored w x h image. */
static void stored_position(int orientation, int w, int h, int x, int y, int *sx, int *sy)
{
    switch (orientation) {
    case 2:  *sx = w - 1 - x; *sy = y;         break;
    case 3:  *sx = w - 1 - x; *sy = h - 1 - y; break;
    case 4:  *sx = x;         *sy = h - 1 - y; break;
    case 5:  *sx = y;         *sy = x;         break;
    case 6:  *sx = y;         *sy = h - 1 - x; break;
    case 7:  *sx = w - 1 - y; *sy = h - 1 - x; break;
    case 8:  *sx = w - 1 - y; *sy = x;         break;
    default: *sx = x;         *sy = y;         break;
    }
}

/* One pixel of 3 or 4 bytes; constant sizes let the compiler inline it. */
static inline void copy_pixel(uint8_t *out, const uint8_t *in, size_t c)
{
    if (c == 3)
        memcpy(out, in, 3);
    else
        memcpy(out, in, 4);
}

/* Byte offset in up of the upright place of stored pixel (sx, sy). */
static ptrdiff_t upright_offset(const anon_image *up, int orientation, int sx, int sy)
{
    int ux, uy;
    stored_position(anon_orientation_inverse(orientation), up->width, up->height, sx, sy,
                    &ux, &uy);
    return ((ptrdiff_t)uy * up->width + ux) * up->channels;
}

void anon_orient_rows(anon_image *up, int orientation, int sy0, int nrows,
                      const uint8_t *rows, size_t stride)
{
    const size_t c = (size_t)up->channels;
    const int sw = orientation >= 5 ? up->height : up->width;
    if (nrows <= 0)
        return;
    /* Along a stored row, and from one stored row to the next, the upright
     * position moves by constant steps. */
    const ptrdiff_t base = upright_offset(up, orientation, 0, sy0);
    const ptrdiff_t step = upright_offset(up, orientation, 1, sy0) - base;
    const ptrdiff_t row_step = upright_offset(up, orientation, 0, sy0 + 1) - base;
    if (step == (ptrdiff_t)c) {
        for (int r = 0; r < nrows; r++)
            memcpy(up->pixels + base + r * row_step, rows + (size_t)r * stride, (size_t)sw * c);
    } else if (orientation < 5) {    /* mirrored rows */
        for (int r = 0; r < nrows; r++) {
            uint8_t *out = up->pixels + base + r * row_step;
            const uint8_t *in = rows + (size_t)r * stride;
            for (int x = 0; x < sw; x++, in += c, out += step)
                copy_pixel(out, in, c);
        }
    } else {
        /* Turned by 90 degrees a stored row becomes a column: walk the
         * strip column by column so that its rows, which land side by side
         * in one upright row, are written together. */
        for (int x = 0; x < sw; x++) {
            uint8_t *out = up->pixels + base + x * step;
            const uint8_t *in = rows + (size_t)x * c;
            for (int r = 0; r < nrows; r++, in += stride, out += row_step)
                copy_pixel(out, in, c);
        }
    }
}

int anon_image_orient(const anon_image *src, int orientation, anon_image *dst,
                      anon_error *err)
{
    if (orientation < 1 || orientation > 8)
        orientation = 1;
    bool swap = orientation >= 5;
    if (anon_image_alloc(dst, swap ? src->height : src->width,
                         swap ? src->width : src->height, src->channels, err) < 0)
        return -1;
    const size_t stride = (size_t)src->width * (size_t)src->channels;
    for (int y = 0; y < src->height; y += ANON_ORIENT_STRIP) {
        int n = src->height - y < ANON_ORIENT_STRIP ? src->height - y : ANON_ORIENT_STRIP;
        anon_orient_rows(dst, orientation, y, n, src->pixels + (size_t)y * stride, stride);
    }
    return 0;
}

/* ---------------------------------------------------------------- decode / encode */

int anon_decode(const uint8_t *data, size_t len, const anon_decode_options *o,
                anon_image *img, anon_image_info *info, anon_error *err)
{
    anon_image_info local;
    if (info == NULL)
        info = &local;
    memset(img, 0, sizeof *img);
    if (anon_probe(data, len, info, err) < 0)
        return -1;
    long long max_pixels = o && o->max_pixels > 0 ? o->max_pixels : ANON_HARD_MAX_PIXELS;
    if (max_pixels > ANON_HARD_MAX_PIXELS)
        max_pixels = ANON_HARD_MAX_PIXELS;
    long long pixels = (long long)info->width * info->height;
    if (pixels > max_pixels)
        return anon_fail(err, "image is %dx%d (%.1f MP), over the limit of %.1f MP",
                         info->width, info->height, (double)pixels / 1e6,
                         (double)max_pixels / 1e6);
    if (info->format == ANON_FMT_JPEG)    /* turns the rows upright as they arrive */
        return anon_jpeg_decode(data, len, o ? o->scale_denom : 1, info->orientation, img,
                                info, err);
    anon_image stored;
    int rc = anon_png_decode(data, len, &stored, info, err);
    if (rc < 0)
        return -1;
    if (info->orientation == 1) {
        *img = stored;
        return 0;
    }
    rc = anon_image_orient(&stored, info->orientation, img, err);
    anon_image_free(&stored);
    return rc;
}

int anon_encode(const anon_image *img, anon_format fmt, const anon_encode_options *o,
                anon_buffer *out, anon_error *err)
{
    anon_encode_options defaults = {90, false, NULL, 0};
    if (o == NULL)
        o = &defaults;
    if (img == NULL || img->pixels == NULL || img->width <= 0 || img->height <= 0)
        return anon_fail(err, "no image to encode");
    switch (fmt) {
    case ANON_FMT_JPEG: return anon_jpeg_encode(img, o, out, err);
    case ANON_FMT_PNG:  return anon_png_encode(img, o, out, err);
    default:            return anon_fail(err, "cannot encode format %d", (int)fmt);
    }
}
