/* model_tiny.c - the TinyFaceDetector: its model entry (model.h) and the
 * decoding of its output (face-api
 * TinyYolov2Base.ts extractBoxes, anchors and meanRgb from
 * tinyFaceDetector/const.ts): a YOLOv2 grid of S x S cells, 5 anchors each,
 * channels anchor * 5 + (x, y, w, h, score); sigmoid on x, y and score,
 * exp on w and h times the anchor, all in cell units. */
#include "detect/model.h"

#include <math.h>

static const float anchors[ANON_TINY_ANCHORS][2] = {
    {1.603231f, 2.094468f}, {6.041143f, 7.080126f}, {2.882459f, 3.518061f},
    {4.266906f, 5.178857f}, {9.041765f, 10.66308f},
};

static float sigmoid(float x) { return 1 / (1 + expf(-x)); }

int anon_tiny_decode(const anon_tensor *t, float thresh, anon_boxes *out, anon_error *err)
{
    if (t->c != ANON_TINY_ANCHORS * 5 || t->h <= 0 || t->w <= 0)
        return anon_fail(err, "tiny model: output is %dx%dx%d, expected 25 channels",
                         t->c, t->h, t->w);
    size_t plane = (size_t)t->h * t->w;
    for (int row = 0; row < t->h; row++) {
        for (int col = 0; col < t->w; col++) {
            const float *cell = t->data + (size_t)row * t->w + col;
            for (int a = 0; a < ANON_TINY_ANCHORS; a++) {
                const float *v = cell + (size_t)(a * 5) * plane;
                float score = sigmoid(v[4 * plane]);
                if (!(score > thresh))
                    continue;
                float cx = (col + sigmoid(v[0])) / t->w;
                float cy = (row + sigmoid(v[plane])) / t->h;
                float w = expf(v[2 * plane]) * anchors[a][0] / t->w;
                float h = expf(v[3 * plane]) * anchors[a][1] / t->h;
                anon_box b = {.x = cx - w / 2, .y = cy - h / 2, .w = w, .h = h, .score = score};
                if (anon_boxes_push(out, b, err))
                    return -1;
            }
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- the entry */

static int tiny_decode(const anon_model_output *o, float thresh, anon_boxes *out,
                       anon_error *err)
{
    anon_tensor t;
    if (o->engine->layer_output(o->net, o->engine->n_layers(o->net) - 1, &t, err))
        return -1;
    return anon_tiny_decode(&t, thresh, out, err);
}

/* Presets (preset.h): as SSD's (model_ssd.c), balanced capped at 32 passes. */
const anon_model anon_model_tiny = {
    .name = "tiny",
    .title = "TinyFaceDetector (face-api)",
    .package = "@vladmandic/face-api@1.7.15",
    .package_file = "model/tiny_face_detector_model.bin",
    .licence = "MIT",
    .cfg_file = "tiny.cfg",
    .weights_file = "tiny.weights",
    .input = 416,
    .norm = {.mul = {1 / 255.0f, 1 / 255.0f, 1 / 255.0f},
             .add = {-117.001f / 255, -114.697f / 255, -97.404f / 255}},
    .thresh = 0.5f,
    .nms_iou = 0.4f,
    .presets = {{.thresh = 0.3f, .zoom = 0, .max_passes = 0},
                {.thresh = 0.4f, .zoom = 1.5f, .max_passes = 32},
                {.thresh = 0.4f, .zoom = 1.5f, .max_passes = 0}},
    .decode = tiny_decode,
};
