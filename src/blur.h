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

#include "detect.h"
#include "error.h"
#include "image.h"

typedef enum { ANON_METHOD_BLUR = 0, ANON_METHOD_PIXELATE, ANON_METHOD_FILL } anon_method;

typedef struct anon_blur_options {
    anon_method method;
    float mask_scale;    /* box enlarged by this factor around its centre */
    bool rectangles;     /* --boxes: rectangular masks instead of ellipses */
} anon_blur_options;

void anon_blur_options_default(anon_blur_options *o);
int anon_method_parse(const char *name, anon_method *out);

int anon_anonymize(anon_image *img, const anon_box *boxes, size_t n,
                   const anon_blur_options *o, anon_error *err);

#endif
