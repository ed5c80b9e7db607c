/* model_ssd.c - the SSD MobileNetV1 face detector (face-api's
 * ssdMobilenetv1): its model entry (model.h) and the decoding of its outputs.
 *
 * Where the priors live: scripts/convert-model appends face-api's 5118
 * anchor boxes (`Output/extra_dim`) to ssd.weights, after all layer weights
 * (libdarknet stops reading once its layers are loaded): float32 [n][4] as
 * (ymin, xmin, ymax, xmax) relative to the 512 px input, then uint32 n, then
 * the four bytes "ANPR". All little-endian.
 *
 * Outputs: the network ends with six [route] + 1x1 conv pairs, one per box
 * predictor (face-api predictionLayer.ts). Each head has 7 * A channels:
 * 4 * A box encodings (ty, tx, th, tw per anchor), then 3 * A class logits
 * (background, face, unused). Anchor k of a head is at cell (y, x), anchor a
 * with k = (y * W + x) * A + a, heads concatenated in order; this is the
 * order of the priors. Decoding follows outputLayer.ts: variances 10, 10, 5,
 * 5 and a sigmoid on the face logit. */
#include "detect/model.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PRIORS 100000

int anon_ssd_priors_load(const char *path, float **priors, int *n, anon_error *err)
{
    *priors = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return anon_fail(err, "%s: %s", path, strerror(errno));
    unsigned char tail[8];
    uint32_t count = 0;
    int rc = -1;
    if (fseek(f, -8, SEEK_END) != 0 || fread(tail, 1, 8, f) != 8) {
        anon_fail(err, "%s: too short to hold SSD priors", path);
        goto out;
    }
    if (memcmp(tail + 4, ANON_SSD_PRIORS_MAGIC, 4) != 0) {
        anon_fail(err, "%s: no SSD priors at the end (re-run make models)", path);
        goto out;
    }
    count = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 | (uint32_t)tail[2] << 16 |
            (uint32_t)tail[3] << 24;
    if (count == 0 || count > MAX_PRIORS) {
        anon_fail(err, "%s: bad SSD prior count %u", path, count);
        goto out;
    }
    long bytes = (long)count * 4 * (long)sizeof(float);
    float *p = malloc((size_t)bytes);
    if (!p) {
        anon_fail(err, "out of memory");
        goto out;
    }
    if (fseek(f, -8 - bytes, SEEK_END) != 0 || fread(p, 1, (size_t)bytes, f) != (size_t)bytes) {
        free(p);
        anon_fail(err, "%s: truncated SSD priors", path);
        goto out;
    }
    *priors = p;
    *n = (int)count;
    rc = 0;
out:
    fclose(f);
    return rc;
}

/* Layer index of head k: the conv of the k-th trailing [route] + conv pair. */
static int head_layer(const anon_engine *e, const anon_net *net, int k)
{
    return e->n_layers(net) - 2 * ANON_SSD_HEADS + 2 * k + 1;
}

int anon_ssd_check(const anon_engine *e, const anon_net *net, int n_priors,
                   anon_error *err)
{
    if (e->n_layers(net) < 2 * ANON_SSD_HEADS + 1)
        return anon_fail(err, "SSD model: too few layers");
    long total = 0;
    for (int k = 0; k < ANON_SSD_HEADS; k++) {
        anon_tensor t;
        if (e->layer_output(net, head_layer(e, net, k), &t, err))
            return -1;
        if (t.c <= 0 || t.c % 7 != 0)
            return anon_fail(err, "SSD model: head %d has %d channels, not 7 per anchor", k, t.c);
        total += (long)t.h * t.w * (t.c / 7);
    }
    if (total != n_priors)
        return anon_fail(err, "SSD model: %ld anchors in the heads, %d priors", total, n_priors);
    return 0;
}

static float sigmoid(float x) { return 1 / (1 + expf(-x)); }

/* One anchor's box, relative to the canvas, from its prior and encoding. */
static anon_box decode_box(const float *prior, float ty, float tx, float th, float tw,
                           float score)
{
    float ph = prior[2] - prior[0], pw = prior[3] - prior[1];
    float cy = prior[0] + ph / 2, cx = prior[1] + pw / 2;
    float y = ty / 10 * ph + cy, x = tx / 10 * pw + cx;
    float hh = expf(th / 5) * ph / 2, hw = expf(tw / 5) * pw / 2;
    return (anon_box){.x = x - hw, .y = y - hh, .w = 2 * hw, .h = 2 * hh, .score = score};
}

int anon_ssd_decode(const anon_engine *e, const anon_net *net, const float *priors,
                    int n_priors, float thresh, anon_boxes *out, anon_error *err)
{
    int k0 = 0;   /* index of the head's first anchor */
    for (int k = 0; k < ANON_SSD_HEADS; k++) {
        anon_tensor t;
        if (e->layer_output(net, head_layer(e, net, k), &t, err))
            return -1;
        int anchors = t.c / 7;
        size_t plane = (size_t)t.h * t.w;
        for (int cell = 0; cell < t.h * t.w; cell++) {
            for (int a = 0; a < anchors; a++) {
                int idx = k0 + cell * anchors + a;
                if (idx >= n_priors)
                    return anon_fail(err, "SSD model: more anchors than priors");
                float logit = t.data[(size_t)(4 * anchors + 3 * a + 1) * plane + cell];
                float score = sigmoid(logit);
                if (!(score > thresh))
                    continue;
                const float *enc = t.data + (size_t)(4 * a) * plane + cell;
                anon_box b = decode_box(priors + 4 * idx, enc[0], enc[plane],
                                        enc[2 * plane], enc[3 * plane], score);
                if (anon_boxes_push(out, b, err))
                    return -1;
            }
        }
        k0 += (int)plane * anchors;
    }
    return 0;
}

/* ---------------------------------------------------------------- the entry */

typedef struct ssd_priors {
    float *v;
    int n;
} ssd_priors;

static void ssd_release(void *data)
{
    ssd_priors *p = data;
    if (p)
        free(p->v);
    free(p);
}

static int ssd_prepare(const anon_engine *e, const anon_net *net, const char *weights_path,
                       void **data, anon_error *err)
{
    ssd_priors *p = calloc(1, sizeof *p);
    *data = p;
    if (!p)
        return anon_fail(err, "out of memory");
    if (anon_ssd_priors_load(weights_path, &p->v, &p->n, err) ||
        anon_ssd_check(e, net, p->n, err))
        return -1;
    return 0;
}

static int ssd_decode(const anon_model_output *o, float thresh, anon_boxes *out,
                      anon_error *err)
{
    const ssd_priors *p = o->data;
    return anon_ssd_decode(o->engine, o->net, p->v, p->n, thresh, out, err);
}

/* Presets (preset.h): every preset runs the whole-photo pass; balanced and
 * thorough add the zoom pyramid, which finds SSD faces down to about
 * 30 / zoom px on photos of any size. Its cost grows with the photo's area:
 * balanced caps it at 24 passes (zoom 1 on 1920x1080, lower on larger
 * photos), thorough does not. Thresholds: the lowest whose false boxes
 * stay within 0.5 per image on the evaluation set, and not below 0.3 (its
 * backgrounds are easier than real scenes). Chosen from the covered-recall
 * / false-box / time table in docs/detection.md. */
const anon_model anon_model_ssd = {
    .name = "ssd",
    .title = "SSD MobileNetV1 (face-api)",
    .package = "@vladmandic/face-api@1.7.15",
    .package_file = "model/ssd_mobilenetv1_model.bin",
    .licence = "MIT",
    .cfg_file = "ssd.cfg",
    .weights_file = "ssd.weights",
    .input = 512,
    .norm = {.mul = {1 / 127.5f, 1 / 127.5f, 1 / 127.5f}, .add = {-1, -1, -1}},
    .thresh = 0.5f,
    .nms_iou = 0.5f,
    .presets = {{.thresh = 0.3f, .zoom = 0, .max_passes = 0},
                {.thresh = 0.3f, .zoom = 1.5f, .max_passes = 24},
                {.thresh = 0.4f, .zoom = 1.5f, .max_passes = 0}},
    .prepare = ssd_prepare,
    .release = ssd_release,
    .decode = ssd_decode,
};
