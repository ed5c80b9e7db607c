/* image.h - decoded pixels, and what a file's header says of its image.
 *
 * The pixel type every layer passes around (the codecs fill it, the
 * detector reads it, the blur changes it), and the header probe: format,
 * size and orientation read without decoding a pixel, so that oversized
 * images are refused before any pixel buffer exists. Decoding and
 * encoding are the codec package's (codec/codec.h); turning pixels
 * upright is orient.h's. */
#ifndef ANON_IMAGE_H
#define ANON_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buffer.h"
#include "base/error.h"
#include "image/format.h"

/* Hard limits whatever the caller asks: JPEG cannot exceed 65500 per side
 * in libjpeg, and PNG gets the same so that one check covers both. */
#define ANON_MAX_DIMENSION 65500

typedef struct anon_image {
    int width;
    int height;
    int channels;      /* 3 (RGB) or 4 (RGBA) */
    uint8_t *pixels;   /* row-major, stride = width * channels */
} anon_image;

typedef struct anon_rect {
    int x, y, w, h;    /* pixels, upright image coordinates */
} anon_rect;

/* Distinct decoder warnings kept per image (the count goes on). */
#define ANON_WARNINGS_KEPT 4

/* A decoder's warnings: how many, and the first distinct messages (for
 * logs and --json); a photo is clean only with count 0. */
#define ANON_WARNING_LEN 160
typedef struct anon_warnings {
    int count;
    int kept;
    char msg[ANON_WARNINGS_KEPT][ANON_WARNING_LEN];
} anon_warnings;

typedef struct anon_image_info {
    anon_format format;
    int width;         /* as stored, before orientation */
    int height;
    int orientation;   /* EXIF orientation 1..8 (1 when absent) */
    int components;    /* colour channels as stored (1 gray, 3, 4 CMYK; PNG: 1-4) */
    bool has_alpha;    /* PNG alpha channel or tRNS */
    bool progressive;  /* JPEG progressive, PNG interlaced */
    /* anon_decode: what the decoder reported of damage (a truncated file,
     * corrupt data, anything libjpeg or libpng warns about): a photo is
     * clean only with 0 warnings. */
    anon_warnings warnings;
    anon_rect damaged; /* the part of the decoded image (upright) that the
                          decoder could not read, or read from data that
                          went wrong: anon_decode fills it grey, never to
                          be trusted (w == 0: none) */
} anon_image_info;

/* Reads only the header: format, dimensions, orientation. Cheap; used for
 * --max-pixels and by the intake before anything is decoded. */
int anon_probe(const uint8_t *data, size_t len, anon_image_info *info,
               anon_error *err);

int anon_image_alloc(anon_image *img, int width, int height, int channels,
                     anon_error *err);
void anon_image_free(anon_image *img);

/* Fills the part r of img (clipped to it) with mid grey, opaque: what a
 * decoder could not read (anon_image_info.damaged) is never shown. */
void anon_image_fill_grey(anon_image *img, anon_rect r);

/* Records a decoder warning in info (counts it, keeps the message unless
 * it is one already kept or ANON_WARNINGS_KEPT are). */
void anon_info_warn(anon_image_info *info, const char *msg);

#endif
