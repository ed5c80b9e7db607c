/* model.h - the face models: one declarative entry per model, each in a
 * file of its own (model_yolo.c, model_ssd.c, model_tiny.c), looked up by name in one
 * table (model.c) as the engines are (engine.h).
 *
 * An entry says everything the detector needs to know about a model: its
 * files, its input, the defaults and presets tuned for it, and how its raw
 * outputs become boxes. Decoders return boxes relative to the canvas (0..1
 * of the input's width and height: top-left x, y and size w, h),
 * unclipped and before NMS, with score > thresh as face-api does; detect.c
 * maps them back onto the photo. */
#ifndef ANON_MODEL_H
#define ANON_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "detect/boxes.h"
#include "engine/engine.h"

/* Per-channel affine map of canvas values (0..255) to network input:
 * x * mul + add. SSD: x / 127.5 - 1. Tiny: (x - meanRgb) / 255. */
typedef struct anon_input_norm {
    float mul[3], add[3];
} anon_input_norm;

/* What a preset sets for a model (preset.h; the fields of
 * anon_detect_options of the same names, detect.h). */
typedef struct anon_preset_values {
    float thresh;
    float zoom;     /* finest level of the window pyramid; 0 = none */
    int max_passes; /* cap on the pyramid's passes, lowering the zoom; 0 = none */
    int input_size; /* models of any input size: the passes' long side; 0 = the cfg's */
    float scale;    /* one extra pass at this ratio of the input size; 0 = none */
    bool flip;      /* every pass again on the mirrored photo */
    int large_face; /* boxes this tall on a pass's input (px) need only score
                       above large_thresh; 0 = off */
    float large_thresh;
} anon_preset_values;

#define ANON_PRESETS 3   /* fast, balanced, thorough: anon_preset (preset.h) */

/* A network's outputs after a pass, as a decoder reads them. */
typedef struct anon_model_output {
    const anon_engine *engine;
    const anon_net *net;
    const void *data;       /* what the model's prepare() made, or NULL */
} anon_model_output;

typedef struct anon_model {
    const char *name;                       /* --model, ANON_MODEL */
    /* Where the weights come from and the licence they carry (`anonctl
     * models`, the README): what it is, the npm package@version (pinned in the
     * Makefile), the file inside it, the licence as its source states it. */
    const char *title, *package, *package_file, *licence;
    const char *cfg_file, *weights_file;    /* in the model directory */
    int input;                              /* the cfg's [net] size N (N x N) */
    int align;                              /* > 0: runs at any W x H that are multiples
                                               of it (the canvas is each pass's picture,
                                               padded); 0: only at N x N */
    anon_input_norm norm;
    float thresh, nms_iou;                  /* defaults (anon_detect_options_default) */
    anon_preset_values presets[ANON_PRESETS];
    /* Optional: reads what decoding needs besides the network (SSD: the
     * priors appended to the weights) and checks the network's outputs;
     * *data goes to decode and then to release. */
    int (*prepare)(const anon_engine *e, const anon_net *net, const char *weights_path,
                   void **data, anon_error *err);
    void (*release)(void *data);
    /* Appends the boxes scoring above thresh, canvas-relative. */
    int (*decode)(const anon_model_output *o, float thresh, anon_boxes *out, anon_error *err);
} anon_model;

/* The model of that name; NULL if there is none. */
const anon_model *anon_model_find(const char *name);
/* The i-th model of the table, NULL past the end. */
const anon_model *anon_model_at(size_t i);
/* The model used when none is named. */
const anon_model *anon_model_default(void);

/* ---- model specifics, exposed for tests */

/* SSD MobileNetV1 (model_ssd.c) */
#define ANON_SSD_HEADS 6
#define ANON_SSD_PRIORS_MAGIC "ANPR"

/* Reads the priors appended to ssd.weights by scripts/convert-model:
 * float32 [n][4] (ymin, xmin, ymax, xmax), uint32 n, "ANPR". */
int anon_ssd_priors_load(const char *weights_path, float **priors, int *n, anon_error *err);

/* Checks that the network's last 2 * ANON_SSD_HEADS layers are the [route] +
 * head conv pairs and that their anchors add up to n_priors. */
int anon_ssd_check(const anon_engine *e, const anon_net *net, int n_priors, anon_error *err);

int anon_ssd_decode(const anon_engine *e, const anon_net *net, const float *priors,
                    int n_priors, float thresh, anon_boxes *out, anon_error *err);

/* YOLOv8n-face (model_yolo.c) */
#define ANON_YOLO_HEADS 3
#define ANON_YOLO_BINS 16

/* Checks that the network's last ANON_YOLO_HEADS layers are the heads at
 * strides 8, 16, 32 of its input, 4 x ANON_YOLO_BINS + 1 channels each. */
int anon_yolo_check(const anon_engine *e, const anon_net *net, anon_error *err);

/* Decodes the heads t[0..2] (strides 8, 16, 32) of a w x h input into
 * boxes relative to it, score > thresh (no NMS). */
int anon_yolo_decode(const anon_tensor *t, int w, int h, float thresh, anon_boxes *out,
                     anon_error *err);

/* TinyFaceDetector (model_tiny.c) */
#define ANON_TINY_ANCHORS 5

/* Decodes the final layer's output (25 channels = 5 anchors x (x, y, w, h,
 * score), S x S cells). */
int anon_tiny_decode(const anon_tensor *t, float thresh, anon_boxes *out, anon_error *err);

#endif
