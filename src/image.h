/* image.h - decoded pixels and the codec interface shared by jpeg.c/png.c.
 *
 * Every decoder returns 8-bit RGB (or RGBA when the source has alpha),
 * already turned upright according to the EXIF orientation, so that the
 * detector sees faces the way a person viewing the photo does. Metadata is
 * not carried along: the encoders write none unless asked to keep the
 * harmless subset (see metadata.h). */
#ifndef ANON_IMAGE_H
#define ANON_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "buffer.h"
#include "error.h"

typedef enum { ANON_FMT_UNKNOWN = 0, ANON_FMT_JPEG, ANON_FMT_PNG } anon_format;

typedef struct anon_image {
    int width;
    int height;
    int channels;      /* 3 (RGB) or 4 (RGBA) */
    uint8_t *pixels;   /* row-major, stride = width * channels */
} anon_image;

typedef struct anon_image_info {
    anon_format format;
    int width;         /* as stored, before orientation */
    int height;
    int orientation;   /* EXIF orientation 1..8 (1 when absent) */
} anon_image_info;

/* Recognises JPEG and PNG by their magic bytes. */
anon_format anon_sniff(const uint8_t *data, size_t len);
const char *anon_format_name(anon_format fmt);        /* "jpeg", "png" */
const char *anon_format_mime(anon_format fmt);        /* "image/jpeg", ... */

/* Reads only the header: format, dimensions, orientation. Cheap; used for
 * --max-pixels and by the intake before anything is decoded. */
int anon_probe(const uint8_t *data, size_t len, anon_image_info *info,
               anon_error *err);

int anon_image_alloc(anon_image *img, int width, int height, int channels,
                     anon_error *err);
void anon_image_free(anon_image *img);

#endif
