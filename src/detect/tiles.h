/* tiles.h - where the extra detection passes look.
 *
 * One 512 px pass over a 1920+ px frame cannot see 10-40 px faces. The
 * detector therefore adds passes over parts of the photo at a higher
 * resolution: a grid of overlapping tiles, or the windows that cover a photo
 * enlarged by a scale factor. These functions only compute the geometry,
 * along one axis; detect.c combines two axes into rectangles. */
#ifndef ANON_TILES_H
#define ANON_TILES_H

#include <stdbool.h>

#define ANON_MAX_SPANS 64

typedef struct anon_span {
    int start, len;
} anon_span;

/* Splits [0, length) into n equal segments that overlap their neighbours by
 * `overlap` (0..0.9) of a segment, first and last flush with the ends.
 * Returns the number of spans written (n, clamped to 1..ANON_MAX_SPANS and
 * to length), or 0 when length < 1. */
int anon_tile_spans(int length, int n, float overlap, anon_span *out);

/* Covers [0, length) with windows of `window` pixels overlapping by at least
 * `overlap` of a window, evenly spaced, first and last flush with the ends;
 * one span of `length` when it fits in one window. Returns the count
 * (at most ANON_MAX_SPANS), or 0 when length or window < 1. */
int anon_window_spans(int length, int window, float overlap, anon_span *out);

/* True when [lo, hi) reaches within `margin` of an end of span s that lies
 * inside [0, length) (an inner tile edge, not the photo's border), or past
 * it. A box that does, on either axis, is most likely a face cut by the
 * tile: the neighbouring tile, which overlaps this one, or the whole-photo
 * pass sees that face whole, so the detector drops the fragment. */
bool anon_span_cuts(anon_span s, int length, float lo, float hi, float margin);

#endif
