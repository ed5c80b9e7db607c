/* boxes.c - face box lists, box overlap and non-maximum suppression,
 * shared by every model's decoder and by the merge of several detection
 * passes (see boxes.h). Greedy NMS, like face-api: the best box wins, a box
 * goes when its IoU with a kept one exceeds the limit. */
#include "detect/boxes.h"

#include <stdlib.h>

int anon_boxes_push(anon_boxes *b, anon_box box, anon_error *err)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        anon_box *v = realloc(b->v, cap * sizeof *v);
        if (!v)
            return anon_fail(err, "out of memory");
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = box;
    return 0;
}

void anon_boxes_free(anon_boxes *b)
{
    free(b->v);
    b->v = NULL;
    b->n = b->cap = 0;
}

float anon_iou(const anon_box *a, const anon_box *b)
{
    float area_a = a->w * a->h, area_b = b->w * b->h;
    if (!(area_a > 0) || !(area_b > 0))
        return 0;
    float x0 = a->x > b->x ? a->x : b->x;
    float y0 = a->y > b->y ? a->y : b->y;
    float x1 = a->x + a->w < b->x + b->w ? a->x + a->w : b->x + b->w;
    float y1 = a->y + a->h < b->y + b->h ? a->y + a->h : b->y + b->h;
    if (x1 <= x0 || y1 <= y0)
        return 0;
    float inter = (x1 - x0) * (y1 - y0);
    return inter / (area_a + area_b - inter);
}

/* Highest score first; ties broken by position so the order is stable. */
static int by_score(const void *pa, const void *pb)
{
    const anon_box *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    if (a->y != b->y)
        return a->y < b->y ? -1 : 1;
    if (a->x != b->x)
        return a->x < b->x ? -1 : 1;
    return 0;
}

void anon_nms(anon_boxes *b, float iou)
{
    if (b->n == 0)
        return;
    qsort(b->v, b->n, sizeof *b->v, by_score);
    size_t kept = 0;
    for (size_t i = 0; i < b->n; i++) {
        int keep = 1;
        for (size_t j = 0; j < kept && keep; j++)
            if (anon_iou(&b->v[i], &b->v[j]) > iou)
                keep = 0;
        if (keep)
            b->v[kept++] = b->v[i];
    }
    b->n = kept;
}
