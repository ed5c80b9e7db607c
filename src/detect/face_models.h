/* face_models.h - what is specific to each converted face-api model: input
 * normalisation and the decoding of raw network outputs into boxes.
 *
 * Decoders return boxes relative to the canvas (0..1 of the N x N input,
 * top-left x, y and size w, h), unclipped and before NMS, with score >
 * thresh as face-api does. detect.c maps them back onto the photo. */
#ifndef ANON_FACE_MODELS_H
#define ANON_FACE_MODELS_H

#include "detect/detect.h"
#include "engine/engine.h"
#include "base/error.h"

/* Per-channel affine map of canvas values (0..255) to network input:
 * x * mul + add. SSD: x / 127.5 - 1. Tiny: (x - meanRgb) / 255. */
typedef struct anon_input_norm {
    float mul[3], add[3];
} anon_input_norm;

extern const anon_input_norm anon_ssd_norm;
extern const anon_input_norm anon_tiny_norm;

/* ---- SSD MobileNetV1 (src/detect/ssd.c) */
#define ANON_SSD_HEADS 6
#define ANON_SSD_PRIORS_MAGIC "ANPR"

/* Reads the priors appended to ssd.weights by scripts/convert-model:
 * float32 [n][4] (ymin, xmin, ymax, xmax), uint32 n, "ANPR". */
int anon_ssd_priors_load(const char *weights_path, float **priors, int *n,
                         anon_error *err);

/* Checks that the network's last 2 * ANON_SSD_HEADS layers are the [route] +
 * head conv pairs and that their anchors add up to n_priors. */
int anon_ssd_check(const anon_engine *e, const anon_net *net, int n_priors,
                   anon_error *err);

int anon_ssd_decode(const anon_engine *e, const anon_net *net, const float *priors,
                    int n_priors, float thresh, anon_boxes *out, anon_error *err);

/* ---- TinyFaceDetector (src/detect/tiny.c) */
#define ANON_TINY_ANCHORS 5

/* Decodes the final layer's output (25 channels = 5 anchors x (x, y, w, h,
 * score), S x S cells). */
int anon_tiny_decode(const anon_tensor *t, float thresh, anon_boxes *out,
                     anon_error *err);

#endif
