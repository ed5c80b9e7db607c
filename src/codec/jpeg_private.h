/* jpeg_private.h - the JPEG codec behind codec.h (jpeg.c): whole-image
 * decode and encode through libjpeg. */
#ifndef ANON_JPEG_PRIVATE_H
#define ANON_JPEG_PRIVATE_H

#include "codec/codec.h"

/* Decodes straight into the upright image for `orientation`, so a rotated
 * photo never needs a second full-size buffer. The rows of info->damaged
 * (stored coordinates) hold whatever the damage left: anon_decode turns
 * the rect upright and fills it. */
int anon_jpeg_decode(const uint8_t *data, size_t len, int scale_denom, int orientation,
                     anon_image *img, anon_image_info *info, anon_error *err);
int anon_jpeg_encode(const anon_image *img, const anon_encode_options *o,
                     anon_buffer *out, anon_error *err);

#endif
