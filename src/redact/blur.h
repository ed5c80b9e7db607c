/* blur.h - make faces unrecognisable, irreversibly.
 *
 * Given the boxes from detect.h, overwrite the pixels under an elliptical
 * (or rectangular) mask enlarged by mask_scale, with a soft edge. The
 * default method pixelates first and then blurs, so that no deconvolution
 * can bring the face back: the information is gone, not just smoothed. */
#ifndef ANON_BLUR_H
#define ANON_BLUR_H

#include <stdbool.h>
#include <stddef.h>

#include "detect/boxes.h"
#include "base/error.h"
#include "image/image.h"
#include "redact/mask.h"

typedef enum { ANON_METHOD_BLUR = 0, ANON_METHOD_PIXELATE, ANON_METHOD_FILL } anon_method;

typedef struct anon_blur_options {
    anon_method method;
    float mask_scale;    /* box enlarged by this factor around its centre */
    bool rectangles;     /* --boxes: rectangular masks instead of ellipses */
} anon_blur_options;

void anon_blur_options_default(anon_blur_options *o);
int anon_method_parse(const char *name, anon_method *out);

/* Anonymizes every box in place. Boxes partly outside the image are
 * clipped; boxes with no area (or NaN) are skipped. An alpha channel is
 * left alone. Only the pixels under the masks are read or written. */
int anon_anonymize(anon_image *img, const anon_box *boxes, size_t n,
                   const anon_blur_options *o, anon_error *err);

/* The mask of one box under these options (mask.h), for tests and for
 * callers that need to know which pixels change (the JPEG block-wise
 * writer). Returns false when the box is degenerate or misses the image. */
bool anon_mask_for_box(const anon_box *box, const anon_blur_options *o, int width,
                       int height, anon_mask *m);
/* The rectangle of pixels anon_anonymize may change for box (the mask's
 * clipped region), e.g. for anon_jpeg_redact. False when it changes none. */
bool anon_box_region(const anon_box *box, const anon_blur_options *o, int width,
                     int height, anon_rect *r);

#endif
