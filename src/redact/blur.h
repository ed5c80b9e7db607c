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

#include "detect/detect.h"
#include "base/error.h"
#include "image/image.h"

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

/* The mask of one box, exposed for tests and for callers that need to know
 * which pixels change (the JPEG block-wise writer).
 *
 * The core (the box enlarged by mask_scale about its centre: an ellipse, or
 * a rectangle with `rectangles`) is replaced entirely. Around it a soft
 * edge `feather` pixels wide blends from the anonymized pixels to the
 * original, so the edge never lets original face pixels through: it lies
 * outside the enlarged box. Pixels outside [x0,x1) x [y0,y1) never change. */
typedef struct anon_mask {
    float cx, cy;      /* centre */
    float rx, ry;      /* half-axes of the core */
    float feather;     /* soft edge width outside the core, pixels */
    bool rectangle;
    int block;         /* pixelation block size, pixels */
    int x0, y0, x1, y1;   /* bounding region clipped to the image (exclusive end) */
} anon_mask;

/* Returns false when the box is degenerate or misses the image. */
bool anon_mask_for_box(const anon_box *box, const anon_blur_options *o, int width,
                       int height, anon_mask *m);
/* The rectangle of pixels anon_anonymize may change for box (the mask's
 * clipped region), e.g. for anon_jpeg_redact. False when it changes none. */
bool anon_box_region(const anon_box *box, const anon_blur_options *o, int width,
                     int height, anon_rect *r);
/* Weight of the anonymized pixel at (x, y): 1 in the core, falling to 0 across
 * the soft edge, 0 outside. */
float anon_mask_weight(const anon_mask *m, int x, int y);

#endif
