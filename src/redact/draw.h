/* draw.h - review copies: what the detector found, drawn on the photo.
 *
 * For an operator checking the detector, not for publishing: a review
 * copy shows every face unblurred, with each detection outlined and its
 * score written above it, so that misses and false alarms can be seen.
 * The faces drawn are exactly those anon_process would blur with the same
 * options. */
#ifndef ANON_DRAW_H
#define ANON_DRAW_H

#include <stddef.h>
#include <stdint.h>

#include "base/buffer.h"
#include "base/error.h"
#include "detect/detect.h"
#include "image/image.h"
#include "redact/pipeline.h"

/* Outlines each box (clipped to the image) and writes its score, two
 * decimals, in a label above it (inside it when there is no room above).
 * Line width and text size grow with the image so they stay visible. */
void anon_draw_detections(anon_image *img, const anon_box *boxes, size_t n);

/* The review copy of an image: the faces anon_process finds (res->faces,
 * with its timings), drawn on the decoded upright photo, encoded in the
 * input's format without metadata. out is replaced. */
int anon_review_copy(anon_detector *d, const uint8_t *in, size_t in_len,
                     const anon_process_options *o, anon_buffer *out, anon_result *res,
                     anon_error *err);

#endif
