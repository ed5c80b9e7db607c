/* canvas.h - the model's input canvas, cut and scaled from a photo.
 *
 * Every detection pass (whole photo, a tile, a window of an enlarged photo)
 * shows the network one canvas (N x N, or the picture's size padded for a
 * model of any input size): a rectangle of the photo scaled by some
 * factor, placed top-left, zero elsewhere, as face-api does. Downscaling
 * averages areas (no aliasing of small faces); enlarging is bilinear.
 * scripts/face-api-oracle.mjs builds its canvases with the same arithmetic,
 * so the parity tests compare the networks, not two resamplers. */
#ifndef ANON_CANVAS_H
#define ANON_CANVAS_H

#include <stdbool.h>

#include "base/error.h"
#include "image/image.h"

/* Size of `len` source pixels at `scale` canvas pixels per source pixel,
 * as placed on an n-pixel canvas: round(len * scale), within 1..n. */
int anon_canvas_extent(int len, double scale, int n);

/* Fills out (3 planes of cols x rows floats: R, G, B, values 0..255) with
 * the part `r` of img scaled by `scale`, mirrored left-right when flip is
 * set. The filled size is *cw x *ch (see anon_canvas_extent); the rest
 * is 0. */
int anon_canvas_fill(const anon_image *img, anon_rect r, double scale, bool flip, int cols,
                     int rows, float *out, int *cw, int *ch, anon_error *err);

#endif
