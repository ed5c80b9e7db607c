/* model_yolo.c - YOLOv8n-face (Ultralytics YOLOv8n trained on WIDER FACE,
 * converted by scripts/convert-model yolo): its model entry (model.h) and
 * the decoding of its three heads: the cfg's last three layers, [route]s
 * at strides 8, 16 and 32 of the input, 65 channels each.
 *
 * Per cell (x, y) of a stride-s head: channels 0-15, 16-31, 32-47, 48-63
 * are distributions over 16 bins of the distance (in strides) from the
 * cell centre (x + 0.5, y + 0.5) to the box's left, top, right and bottom
 * side; channel 64 is the face logit. score = sigmoid(logit); each side's
 * distance is the expected value of the softmax over its bins; no priors.
 * Most cells are background: the logits are scanned 16 at a time against
 * the logit of the threshold, and only the cells that may pass are
 * decoded, in double, as the reference decoder (scripts/yolo-reference)
 * does. The network takes any input whose sides are multiples of 32: the
 * detector gives each pass its picture scaled and padded at the right and
 * bottom to the next multiples (detect.c). */
#include "detect/model.h"

#include <math.h>

#define YOLO_CHANNELS (4 * ANON_YOLO_BINS + 1)
#define SCAN 16         /* logits compared at once */

int anon_yolo_check(const anon_engine *e, const anon_net *net, anon_error *err)
{
    int n = e->n_layers(net), c, h, w;
    e->input_shape(net, &c, &h, &w);
    if (n < ANON_YOLO_HEADS)
        return anon_fail(err, "YOLO model: too few layers");
    for (int k = 0; k < ANON_YOLO_HEADS; k++) {
        anon_tensor t;
        int stride = 8 << k;
        if (e->layer_output(net, n - ANON_YOLO_HEADS + k, &t, err))
            return -1;
        if (t.c != YOLO_CHANNELS || t.h * stride != h || t.w * stride != w)
            return anon_fail(err, "YOLO model: head %d is %dx%dx%d, expected %dx%dx%d (stride "
                             "%d of the %dx%d input)", k, t.c, t.w, t.h, YOLO_CHANNELS,
                             w / stride, h / stride, stride, w, h);
    }
    return 0;
}

/* The expected bin of one side's distribution: bins[i * plane]. */
static double side_distance(const float *bins, size_t plane)
{
    double m = bins[0];
    for (int i = 1; i < ANON_YOLO_BINS; i++)
        m = bins[(size_t)i * plane] > m ? bins[(size_t)i * plane] : m;
    double sum = 0, moment = 0;
    for (int i = 0; i < ANON_YOLO_BINS; i++) {
        double p = exp(bins[(size_t)i * plane] - m);
        sum += p;
        moment += i * p;
    }
    return moment / sum;
}

/* The box of cell i of head t (stride s), relative to the w x h input. */
static anon_box cell_box(const anon_tensor *t, size_t i, int s, int w, int h, double score)
{
    size_t plane = (size_t)t->h * (size_t)t->w;
    double d[4];
    for (int side = 0; side < 4; side++)
        d[side] = side_distance(t->data + (size_t)side * ANON_YOLO_BINS * plane + i, plane);
    double cx = (double)(i % (size_t)t->w) + 0.5, cy = (double)(i / (size_t)t->w) + 0.5;
    double x0 = (cx - d[0]) * s, y0 = (cy - d[1]) * s;
    double x1 = (cx + d[2]) * s, y1 = (cy + d[3]) * s;
    return (anon_box){.x = (float)(x0 / w), .y = (float)(y0 / h), .w = (float)((x1 - x0) / w),
                      .h = (float)((y1 - y0) / h), .score = (float)score};
}

/* The largest of SCAN logits (a vectorized reduction). */
static float scan_max(const float *v)
{
    float m = v[0];
    for (int i = 1; i < SCAN; i++)
        m = v[i] > m ? v[i] : m;
    return m;
}

static int decode_head(const anon_tensor *t, int s, int w, int h, float thresh, float cut,
                       anon_boxes *out, anon_error *err)
{
    size_t plane = (size_t)t->h * (size_t)t->w;
    const float *logit = t->data + (size_t)(4 * ANON_YOLO_BINS) * plane;
    for (size_t i0 = 0; i0 < plane; i0 += SCAN) {
        if (i0 + SCAN <= plane && !(scan_max(logit + i0) > cut))
            continue;
        for (size_t i = i0; i < i0 + SCAN && i < plane; i++) {
            double score = 1 / (1 + exp(-(double)logit[i]));
            if (!(score > thresh))
                continue;
            if (anon_boxes_push(out, cell_box(t, i, s, w, h, score), err))
                return -1;
        }
    }
    return 0;
}

int anon_yolo_decode(const anon_tensor *t, int w, int h, float thresh, anon_boxes *out,
                     anon_error *err)
{
    /* Cells whose logit is at most `cut` score below thresh: the
     * threshold's logit, less a margin for float rounding. */
    float cut = thresh <= 0 ? -INFINITY
                  : thresh >= 1 ? INFINITY
                                : (float)log(thresh / (1.0 - thresh)) - 1e-3f;
    for (int k = 0; k < ANON_YOLO_HEADS; k++) {
        int s = 8 << k;
        if (t[k].c != YOLO_CHANNELS || t[k].h * s != h || t[k].w * s != w)
            return anon_fail(err, "YOLO model: head %d is %dx%dx%d for a %dx%d input", k,
                             t[k].c, t[k].w, t[k].h, w, h);
        if (decode_head(&t[k], s, w, h, thresh, cut, out, err))
            return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- the entry */

static int yolo_prepare(const anon_engine *e, const anon_net *net, const char *weights_path,
                        void **data, anon_error *err)
{
    (void)weights_path;
    *data = NULL;
    return anon_yolo_check(e, net, err);
}

static int yolo_decode(const anon_model_output *o, float thresh, anon_boxes *out,
                       anon_error *err)
{
    int c, h, w, n = o->engine->n_layers(o->net);
    o->engine->input_shape(o->net, &c, &h, &w);
    anon_tensor t[ANON_YOLO_HEADS];
    for (int k = 0; k < ANON_YOLO_HEADS; k++)
        if (o->engine->layer_output(o->net, n - ANON_YOLO_HEADS + k, &t[k], err))
            return -1;
    return anon_yolo_decode(t, w, h, thresh, out, err);
}

/* Presets (preset.h), chosen on 500 real photos (wider-dev, WIDER FACE
 * validation, 1024 px; docs/detection.md has the table and the commands):
 *   fast      one whole-photo pass at 1024;
 *   balanced  whole-photo passes at 640 and 1024 (the two see different
 *             faces: 640 the larger, blurred or turned ones; 1024 the
 *             small ones), and on photos over 3072 px windows of 1024 at
 *             zoom 0.5, at most 8 passes;
 *   thorough  the same two passes each also mirrored, and windows at
 *             native resolution (zoom 1) on photos over 1536 px, at most
 *             48 passes.
 * Boxes at least 64 px tall on a pass's input need only score above 0.2:
 * large faces turned away or half hidden score low, and false boxes on
 * real backgrounds are mostly small (balanced: 534 rather than 526 of the
 * 561 faces of 80 px and more covered, 0.41 rather than 0.36 false boxes
 * per photo; the target was 0.95 at <= 0.5). */
const anon_model anon_model_yolo = {
    .name = "yolo",
    .title = "YOLOv8n-face (Ultralytics YOLOv8n trained on WIDER FACE)",
    .package = "@good-i-deer/node-red-contrib-face-detection@1.0.1",
    .package_file = "model/yolov8n-face.onnx",
    /* the ONNX metadata (Ultralytics); the npm package is declared GPL-3.0 */
    .licence = "AGPL-3.0",
    .cfg_file = "yolo.cfg",
    .weights_file = "yolo.weights",
    .input = 640,
    .align = 32,
    .norm = {.mul = {1 / 255.0f, 1 / 255.0f, 1 / 255.0f}, .add = {0, 0, 0}},
    .thresh = 0.5f,
    .nms_iou = 0.45f,
    .presets = {
        {.thresh = 0.35f, .input_size = 1024, .large_face = 64, .large_thresh = 0.2f},
        {.thresh = 0.37f, .input_size = 640, .scale = 1.6f, .zoom = 0.5f, .max_passes = 8,
         .large_face = 64, .large_thresh = 0.2f},
        {.thresh = 0.4f, .input_size = 640, .scale = 1.6f, .flip = true, .zoom = 1,
         .max_passes = 48, .large_face = 64, .large_thresh = 0.2f},
    },
    .prepare = yolo_prepare,
    .decode = yolo_decode,
};
