/* mask.h - which pixels anonymizing one face changes, and how much.
 *
 * The core (the box enlarged by a scale about its centre: an ellipse, or a
 * rectangle) is replaced entirely. Around it a soft edge `feather` pixels
 * wide blends from the anonymized pixels to the original, so the edge
 * never lets original face pixels through: it lies outside the enlarged
 * box. Pixels outside [x0,x1) x [y0,y1) never change. The blur (blur.h)
 * fills the masks; the JPEG block-wise writer needs their regions. */
#ifndef ANON_MASK_H
#define ANON_MASK_H

#include <stdbool.h>

#include "detect/boxes.h"

/* Several clones of the pixel loops, picked at load time for the CPU
 * (AVX2 / AVX-512 where present), as in the engine's kernels (nn.h). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define ANON_REDACT_VECTORIZED \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ANON_REDACT_VECTORIZED
#endif

typedef struct anon_mask {
    float cx, cy;      /* centre */
    float rx, ry;      /* half-axes of the core */
    float feather;     /* soft edge width outside the core, pixels */
    bool rectangle;
    int block;         /* pixelation block size, pixels */
    int x0, y0, x1, y1;   /* bounding region clipped to the image (exclusive end) */
} anon_mask;

/* The mask of box enlarged by mask_scale (1 when not a positive number), in
 * an image of width x height. Returns false when the box is degenerate or
 * misses the image. */
bool anon_mask_make(const anon_box *box, float mask_scale, bool rectangle, int width,
                    int height, anon_mask *m);

/* Weight of the anonymized pixel at (x, y): 1 in the core, falling to 0 across
 * the soft edge, 0 outside. */
float anon_mask_weight(const anon_mask *m, int x, int y);

/* ---- per row, for the blur */

/* The columns [*c0, *c1) of row y (inside the region) whose weight is 1:
 * there the anonymized value is copied without evaluating the weight. */
void anon_mask_core_span(const anon_mask *m, int y, int *c0, int *c1);

/* Columns [*lo, *hi) of row y that may have a weight above 0, a few
 * pixels generous: distance_outside is at least (d - 1) * min(rx, ry) for
 * an ellipse (d its normalised radius), so the soft edge lies inside the
 * core scaled by 1 + feather / min(rx, ry); a rectangle's lies within
 * feather of it. */
void anon_mask_outer_span(const anon_mask *m, int y, int *lo, int *hi);

/* Buffers of the region's width (indexed from its left edge x0), each with
 * room for 16 floats past it. */
typedef struct anon_mask_rows {
    float *weight;      /* out: one row's weights */
    float *uu, *gg;     /* per column, the ellipse's x terms (anon_mask_column_terms) */
    float *d, *g;       /* scratch */
} anon_mask_rows;

/* The per-column terms of the distance to an ellipse: u * u and
 * (u / rx)^2, u the column's normalised offset from the centre. Once per
 * mask, before anon_mask_edge_weights. */
void anon_mask_column_terms(const anon_mask *m, anon_mask_rows *r);

/* The mask's weights of columns [from, to) of row iy into r->weight:
 * anon_mask_weight, operation for operation, in whole vectors. */
void anon_mask_edge_weights(const anon_mask *m, const anon_mask_rows *r, int iy, int from,
                            int to);

#endif
