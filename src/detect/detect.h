/* detect.h - find faces: the detector interface.
 *
 * Callers see only boxes (boxes.h) in the image's own pixel coordinates.
 * Behind the interface: the converted face models (model.h: YOLOv8n-face
 * by default, SSD MobileNetV1 or TinyFaceDetector), the inference engine
 * that runs them, multi-scale and tiled passes, the flip pass and the
 * final NMS. A detector is not thread safe: use one per thread. */
#ifndef ANON_DETECT_H
#define ANON_DETECT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "detect/boxes.h"
#include "detect/model.h"
#include "image/image.h"

typedef struct anon_detector_config {
    const anon_model *model;   /* anon_model_find(); NULL: anon_model_default() */
    const char *model_dir;     /* holds the models' .cfg and .weights files */
    const char *engine;        /* "darknet" (reference) or the project engine */
    int threads;
} anon_detector_config;

/* Passes: always the whole photo, its longer side scaled to the model input
 * N (face-api's own pass). A model of one input size sees an N x N canvas,
 * the picture top-left and zeros around it; a model of any input size
 * (YOLO) sees the picture alone, padded with zeros at the right and bottom
 * to multiples of its alignment (32), and N is options.input_size (0: the
 * cfg's size). Extra passes find smaller faces:
 *   tiles  a tiles_x x tiles_y grid of tiles overlapping by tile_overlap,
 *          each at native resolution (shrunk only if larger than N);
 *   scales for each ratio r, the photo enlarged so its longer side is r * N,
 *          covered by N x N windows overlapping by tile_overlap (r = 2 on a
 *          1920 px photo and SSD: 1024 px, 3 windows across); a model of
 *          any input size takes it whole instead, one pass of long side
 *          r * N (YOLO at 640 with r = 1.6: a 1024 px pass);
 *   zoom   a pyramid: the photo scaled by `zoom` (canvas pixels per photo
 *          pixel: 1 = native resolution, 0.5 = halved), then by zoom / 2,
 *          zoom / 4, ... while that is still larger than the whole-photo
 *          pass's scale, each level covered by N x N windows overlapping
 *          by tile_overlap. Unlike tiles and scales it sees the same
 *          smallest face (about 25 / zoom px for SSD) on photos of any
 *          size, and every face small enough to fit a window overlap
 *          (0.2 * N canvas px) at some level is seen whole there; the cost
 *          grows with the photo's area (about 4/3 of the finest level),
 *          unless max_passes caps it by lowering the zoom on large photos.
 *          A model of any input size (YOLO) finds faces from about 12 to
 *          200 input px in one pass, so it gets one level only, windows
 *          the size of its largest whole-photo pass (r * N or N), and only
 *          on photos that level shows more than 1.5 times as large as that
 *          pass does (YOLO balanced, zoom 0.5, 1024 px windows: photos
 *          over 3072 px; faces from about 12 / zoom px);
 *   flip   every pass above again on the mirrored photo.
 * Each pass is thresholded and suppressed at nms_iou on its own; the boxes
 * of several passes are merged by one more NMS at nms_iou. */
typedef struct anon_detect_options {
    float thresh;         /* minimum score (boxes must score above it) */
    int large_face;       /* > 0: a box at least this many input (canvas) px tall */
    float large_thresh;   /* needs only to score above this (when below thresh):
                             large faces turned away or half hidden score low,
                             false boxes on real backgrounds are mostly small */
    float nms_iou;        /* IoU above which boxes merge */
    int tiles_x, tiles_y; /* extra pass over tiles at native resolution; 0 = off */
    float tile_overlap;   /* fraction of a tile shared with its neighbour (0..0.9) */
    const float *scales;  /* extra passes at these ratios of the input size */
    int n_scales;
    float zoom;           /* finest level of the window pyramid; 0 = off */
    int max_passes;       /* lower the zoom until its pyramid fits in this many
                             passes (bounds the time on large photos); 0 = no cap */
    bool flip;            /* also run on the mirrored image */
    int min_face;         /* drop boxes whose longer side is below this, pixels */
    float edge_margin;    /* drop boxes of a tile or window that come within this
                             many input (canvas) pixels of one of its inner edges:
                             faces cut by the tile (see tiles.h); 0 keeps them */
    int input_size;       /* models of any input size (model.h align): N, the long
                             side of the passes; 0 = the model's cfg size */
} anon_detect_options;

typedef struct anon_detector anon_detector;

anon_detector *anon_detector_open(const anon_detector_config *cfg, anon_error *err);
void anon_detector_close(anon_detector *d);

/* True when o asks for one pass over the whole photo only (no tiles, extra
 * scales or zoom pyramid): such a pass needs no more than the model's input
 * resolution, so the caller may decode the photo smaller. */
bool anon_detect_single_pass(const anon_detect_options *o);

/* Fills defaults for the detector's model (NULL: the default model): one
 * pass, the model's threshold and NMS IoU (model.h), tile_overlap 0.2 and edge_margin 2 for when tiles
 * or scales are turned on. (The anonymize pipeline starts from a preset
 * instead: preset.h.) */
void anon_detect_options_default(anon_detect_options *o, const anon_model *model);

/* Appends the faces found in img to out. */
int anon_detect(anon_detector *d, const anon_image *img,
                const anon_detect_options *opt, anon_boxes *out, anon_error *err);

/* The network passes the last anon_detect on d ran (its cost). */
int anon_detector_passes(const anon_detector *d);

#endif
