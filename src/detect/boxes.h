/* boxes.h - face boxes: a growable list, their overlap and non-maximum
 * suppression. The models' decoders fill these lists (model_*.c) and the
 * detector merges them (detect.c); nothing here calls either. */
#ifndef ANON_BOXES_H
#define ANON_BOXES_H

#include <stddef.h>

#include "base/error.h"

typedef struct anon_box {
    float x, y, w, h;   /* top-left corner and size, in image pixels */
    float score;
} anon_box;

typedef struct anon_boxes {
    anon_box *v;
    size_t n;
    size_t cap;
} anon_boxes;

int anon_boxes_push(anon_boxes *b, anon_box box, anon_error *err);
void anon_boxes_free(anon_boxes *b);

/* Non-maximum suppression in place, highest score first. */
void anon_nms(anon_boxes *b, float iou);
float anon_iou(const anon_box *a, const anon_box *b);

#endif
