/* dispatch.c - decode and encode by format (see codec.h).
 *
 * The front door of image decoding: read only the header (image.h),
 * refuse oversized images before a single pixel buffer exists, then let
 * jpeg.c / png.c decode and turn the result upright, and grey out what
 * they report damaged (whatever the damage left there: garbage from
 * corrupt data, or memory no row was ever written to). */
#include "codec/codec.h"

#include <string.h>

#include "codec/jpeg_private.h"
#include "codec/png_private.h"
#include "image/orient.h"

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
    int rc;
    if (info->format == ANON_FMT_JPEG) {    /* turns the rows upright as they arrive */
        rc = anon_jpeg_decode(data, len, o ? o->scale_denom : 1, info->orientation, img, info,
                              err);
    } else {
        anon_image stored;
        rc = anon_png_decode(data, len, &stored, info, err);
        if (rc == 0 && info->orientation == 1) {
            *img = stored;
        } else if (rc == 0) {
            rc = anon_image_orient(&stored, info->orientation, img, err);
            anon_image_free(&stored);
        }
    }
    if (rc == 0 && info->damaged.w > 0) {    /* the decoders say it in stored rows */
        info->damaged = anon_orient_rect(info->orientation, img->width, img->height,
                                         info->damaged);
        anon_image_fill_grey(img, info->damaged);
    }
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
