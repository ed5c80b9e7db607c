/* png_private.h - the PNG codec behind codec.h (png.c).
 *
 * The decoder returns pixels as stored (not yet turned upright); codec.c
 * applies the orientation and the pixel limit around it. */
#ifndef ANON_PNG_PRIVATE_H
#define ANON_PNG_PRIVATE_H

#include "codec/codec.h"

/* As stored (anon_decode turns it upright); the rows of info->damaged
 * hold whatever the damage left, for anon_decode to fill. */
int anon_png_decode(const uint8_t *data, size_t len, anon_image *img,
                    anon_image_info *info, anon_error *err);
int anon_png_encode(const anon_image *img, const anon_encode_options *o,
                    anon_buffer *out, anon_error *err);

#endif
