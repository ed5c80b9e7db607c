/* codec.h - what image.c needs from the format modules (jpeg.c, png.c),
 * plus the container walkers that metadata.c and the tests share.
 *
 * Not part of the public interface: callers use image.h. The decoders here
 * return pixels as stored (not yet turned upright); image.c applies the
 * orientation and the pixel limit around them. */
#ifndef ANON_CODEC_H
#define ANON_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buffer.h"
#include "base/error.h"
#include "image/image.h"

/* Hard limits whatever the caller asks: JPEG cannot exceed 65500 per side
 * in libjpeg, and PNG gets the same so that one check covers both. */
#define ANON_MAX_DIMENSION 65500

/* ---------------------------------------------------------------- JPEG */

/* One marker segment. For markers without a payload (SOI, EOI, RSTn) data
 * is NULL and len 0. After SOS the walker skips the entropy-coded data. */
typedef struct anon_jpeg_segment {
    uint8_t marker;          /* the byte after 0xFF, e.g. 0xE1 for APP1 */
    const uint8_t *data;     /* payload after the 2-byte length */
    size_t len;
} anon_jpeg_segment;

/* Iterates the segments of a JPEG file; *pos starts at 0. Returns 1 with a
 * segment, 0 after EOI or at the end of the data, -1 when malformed. */
int anon_jpeg_segment_next(const uint8_t *buf, size_t len, size_t *pos,
                           anon_jpeg_segment *seg);

int anon_jpeg_probe(const uint8_t *data, size_t len, anon_image_info *info,
                    anon_error *err);
/* Decodes straight into the upright image for `orientation`, so a rotated
 * photo never needs a second full-size buffer. */
int anon_jpeg_decode(const uint8_t *data, size_t len, int scale_denom, int orientation,
                     anon_image *img, anon_image_info *info, anon_error *err);
int anon_jpeg_encode(const anon_image *img, const anon_encode_options *o,
                     anon_buffer *out, anon_error *err);

/* ---------------------------------------------------------------- PNG */

typedef struct anon_png_chunk {
    char type[5];
    const uint8_t *data;
    size_t len;
} anon_png_chunk;

/* Iterates the chunks of a PNG file after the signature; *pos starts at 0.
 * Returns 1 with a chunk, 0 after IEND or at the end, -1 when malformed. */
int anon_png_chunk_next(const uint8_t *buf, size_t len, size_t *pos,
                        anon_png_chunk *chunk);

int anon_png_probe(const uint8_t *data, size_t len, anon_image_info *info,
                   anon_error *err);
int anon_png_decode(const uint8_t *data, size_t len, anon_image *img,
                    anon_image_info *info, anon_error *err);
int anon_png_encode(const anon_image *img, const anon_encode_options *o,
                    anon_buffer *out, anon_error *err);

/* ---------------------------------------------------------------- shared */

/* Rows handled together when turning an image upright. */
#define ANON_ORIENT_STRIP 16

/* Writes nrows stored rows (sy0, sy0+1, ...; stride bytes apart, in
 * up->channels) to their upright places in up, which has the upright size. */
void anon_orient_rows(anon_image *up, int orientation, int sy0, int nrows,
                      const uint8_t *rows, size_t stride);

/* Records a decoder warning in info (counts it, keeps the first message). */
void anon_info_warn(anon_image_info *info, const char *msg);

#endif
