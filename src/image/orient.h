/* orient.h - turning pixels upright for their EXIF orientation.
 *
 * Every decoder delivers the image upright, so that the detector sees
 * faces the way a person viewing the photo does: a whole image turned
 * at once (anon_image_orient), or strips of stored rows placed as they
 * are decoded (anon_orient_rows), so that a rotated photo never needs a
 * second full-size buffer. */
#ifndef ANON_ORIENT_H
#define ANON_ORIENT_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "image/image.h"

/* Rows handled together when turning an image upright. */
#define ANON_ORIENT_STRIP 16

/* dst = src turned upright for EXIF orientation 1..8 (dst is allocated;
 * orientations 5..8 swap width and height). */
int anon_image_orient(const anon_image *src, int orientation, anon_image *dst,
                      anon_error *err);

/* The orientation that undoes `orientation` (6 <-> 8, the others are their own inverse). */
int anon_orientation_inverse(int orientation);

/* Where the stored rectangle r lies in the image turned upright for
 * `orientation` (upright_w x upright_h). */
anon_rect anon_orient_rect(int orientation, int upright_w, int upright_h, anon_rect r);

/* Writes nrows stored rows (sy0, sy0+1, ...; stride bytes apart, in
 * up->channels) to their upright places in up, which has the upright size. */
void anon_orient_rows(anon_image *up, int orientation, int sy0, int nrows,
                      const uint8_t *rows, size_t stride);

#endif
