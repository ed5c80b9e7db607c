/* test_yolo.c - YOLOv8n-face in the anon engine against ONNX Runtime and
 * against the reference decoder.
 *
 * The oracle (.cache/oracle/yolo/, made once per machine by `make oracle`
 * with scripts/yolo-oracle.mjs; format documented there): for each demo
 * photo N and long side S in {640, 1024}, sampleN-S.ppm is the network
 * input (the photo resized by cv2, padded with zeros at the right and
 * bottom to multiples of 32), .s8/.s16/.s32.f32 the three heads ONNX
 * Runtime computed from it, .json the boxes scripts/yolo-reference decoded
 * from those heads (every candidate above 0.05 before NMS, and the boxes
 * above 0.25 after NMS at IoU 0.45). Checks:
 *   - the engine's heads from the same PPM: |anon - ORT| <= 1e-4 *
 *     max(1, |ORT|) for every value, both sizes, six photos;
 *   - the C decoder on ORT's own heads gives the reference's candidates
 *     (boxes within 1e-3 px, scores within 1e-6);
 *   - the C decoder and NMS on the engine's heads give the reference's
 *     boxes (within 0.01 px, scores within 1e-4);
 *   - the whole detector (its own resampling, not cv2's) finds each
 *     reference face scoring above 0.4, IoU >= 0.8.
 * Prints the maxima as `#` lines.
 * needs: oracle
 */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "detect/detect.h"
#include "detect/model.h"
#include "engine/engine.h"
#include "photos.h"

#define HEAD_TOL 1e-4
#define SIZES 2

static const int sizes[SIZES] = {640, 1024};

static void prefix_of(int photo, int size, char *out, size_t len)
{
    snprintf(out, len, "%s/yolo/sample%d-%d", oracle_dir(), photo, size);
}

/* The PPM as the network input: bytes / 255, RGB planes. */
static float *read_input(const char *prefix, int *w, int *h)
{
    char path[600];
    anon_image img = {0};
    snprintf(path, sizeof path, "%s.ppm", prefix);
    if (ppm_read(path, &img) < 0)
        return NULL;
    size_t plane = (size_t)img.width * (size_t)img.height;
    float *in = malloc(3 * plane * sizeof *in);
    for (size_t i = 0; in && i < plane; i++)
        for (int c = 0; c < 3; c++)
            in[(size_t)c * plane + i] = (float)(img.pixels[i * 3 + (size_t)c] / 255.0);
    *w = img.width;
    *h = img.height;
    free(img.pixels);
    return in;
}

/* ORT's head at stride 8 << k for a w x h input, into t (data malloc'ed). */
static int read_head(const char *prefix, int k, int w, int h, anon_tensor *t)
{
    char path[600];
    int s = 8 << k;
    snprintf(path, sizeof path, "%s.s%d.f32", prefix, s);
    *t = (anon_tensor){.c = 4 * ANON_YOLO_BINS + 1, .h = h / s, .w = w / s};
    size_t n = (size_t)t->c * (size_t)t->h * (size_t)t->w;
    float *d = malloc(n * sizeof *d);
    FILE *f = fopen(path, "rb");
    size_t got = f && d ? fread(d, sizeof *d, n, f) : 0;
    if (f)
        fclose(f);
    t->data = d;
    return got == n ? 0 : -1;
}

static void free_heads(anon_tensor *t)
{
    for (int k = 0; k < ANON_YOLO_HEADS; k++)
        free((float *)t[k].data);
}

/* Boxes of a json array, in input pixels. */
static void json_boxes(json_t *arr, anon_boxes *out)
{
    size_t i;
    json_t *b;
    json_array_foreach(arr, i, b) {
        anon_box box = {(float)json_number_value(json_object_get(b, "x")),
                        (float)json_number_value(json_object_get(b, "y")),
                        (float)json_number_value(json_object_get(b, "w")),
                        (float)json_number_value(json_object_get(b, "h")),
                        (float)json_number_value(json_object_get(b, "score"))};
        anon_boxes_push(out, box, NULL);
    }
}

static json_t *reference(const char *prefix)
{
    char path[600];
    snprintf(path, sizeof path, "%s.json", prefix);
    return json_load_file(path, 0, NULL);
}

/* Relative boxes of a w x h input in its pixels. */
static void to_pixels(anon_boxes *b, int w, int h)
{
    for (size_t i = 0; i < b->n; i++) {
        b->v[i].x *= (float)w;
        b->v[i].w *= (float)w;
        b->v[i].y *= (float)h;
        b->v[i].h *= (float)h;
    }
}

/* 1 if every box of want has one in got within tol px and score_tol, and
 * the counts agree; the largest differences found in *px, *sc. */
static int same_boxes(const anon_boxes *want, const anon_boxes *got, double tol,
                      double score_tol, double *px, double *sc)
{
    if (want->n != got->n)
        return 0;
    for (size_t i = 0; i < want->n; i++) {
        const anon_box *a = &want->v[i];
        double best = INFINITY, best_sc = 0;
        for (size_t j = 0; j < got->n; j++) {
            const anon_box *b = &got->v[j];
            double d = fmax(fmax(fabs(a->x - b->x), fabs(a->y - b->y)),
                            fmax(fabs(a->w - b->w), fabs(a->h - b->h)));
            if (d < best) {
                best = d;
                best_sc = fabs(a->score - b->score);
            }
        }
        *px = fmax(*px, best);
        *sc = fmax(*sc, best_sc);
        if (!(best <= tol && best_sc <= score_tol))
            return 0;
    }
    return 1;
}

static anon_net *load_yolo(const anon_engine *e, anon_error *err)
{
    char cfg[512], weights[512];
    snprintf(cfg, sizeof cfg, "%s/yolo.cfg", model_dir());
    snprintf(weights, sizeof weights, "%s/yolo.weights", model_dir());
    return e->load(cfg, weights, 1, err);
}

/* ------------------------------------------------------------ the heads */

/* The engine's heads on every oracle input; the engine's decoded boxes
 * against the reference's. */
TEST(heads_and_boxes_match_onnx_runtime)
{
    const anon_engine *e = anon_engine_find("anon-lean");
    anon_error err = {0};
    anon_net *net = load_yolo(e, &err);
    CHECKF(net != NULL, "%.200s (make models)", err.msg);
    double worst = 0, px = 0, sc = 0;
    int runs = 0, failed = 0, mismatch = 0;
    char where[64] = "";
    for (int p = 1; p <= DEMO_PHOTOS && !failed && !mismatch; p++)
        for (int s = 0; s < SIZES && !failed && !mismatch; s++) {
            char prefix[512];
            int w, h, n = e->n_layers(net);
            prefix_of(p, sizes[s], prefix, sizeof prefix);
            snprintf(where, sizeof where, "sample%d-%d", p, sizes[s]);
            float *in = read_input(prefix, &w, &h);
            json_t *ref = reference(prefix);
            anon_tensor ort[ANON_YOLO_HEADS] = {0}, got[ANON_YOLO_HEADS];
            failed = !in || !ref || e->reshape(net, w, h, &err) || e->forward(net, in, &err);
            for (int k = 0; !failed && k < ANON_YOLO_HEADS; k++) {
                failed = read_head(prefix, k, w, h, &ort[k]) ||
                         e->layer_output(net, n - ANON_YOLO_HEADS + k, &got[k], &err) ||
                         got[k].c != ort[k].c || got[k].h != ort[k].h || got[k].w != ort[k].w;
                for (size_t i = 0; !failed && i < (size_t)ort[k].c * ort[k].h * ort[k].w; i++)
                    worst = fmax(worst, fabs(got[k].data[i] - ort[k].data[i]) /
                                            fmax(1.0, fabs(ort[k].data[i])));
            }
            anon_boxes boxes = {0}, want = {0};
            if (!failed) {
                double thresh = json_number_value(json_object_get(ref, "thresh"));
                double iou = json_number_value(json_object_get(ref, "nms_iou"));
                failed = anon_yolo_decode(got, w, h, (float)thresh, &boxes, &err);
                anon_nms(&boxes, (float)iou);
                to_pixels(&boxes, w, h);
                json_boxes(json_object_get(ref, "boxes"), &want);
                mismatch = !failed && !same_boxes(&want, &boxes, 0.01, 1e-4, &px, &sc);
            }
            runs += !failed;
            anon_boxes_free(&boxes);
            anon_boxes_free(&want);
            free_heads(ort);
            free(in);
            json_decref(ref);
        }
    e->free(net);
    CHECKF(!failed, "%s: no oracle (make oracle) or the engine failed: %.200s", where, err.msg);
    printf("# heads: worst |anon - onnxruntime| %.3g of max(1, |value|) over %d inputs; boxes "
           "within %.3g px, scores within %.3g\n", worst, runs, px, sc);
    CHECKF(worst <= HEAD_TOL, "a head value differs by %g", worst);
    CHECKF(!mismatch, "%s: the decoded boxes differ from the reference's (%.3g px, score %.3g)",
           where, px, sc);
}

/* ------------------------------------------------------------ the decoder */

/* On ORT's own heads the C decoder gives exactly the reference decoder's
 * candidates (to float precision). */
TEST(decoder_matches_reference_decoder)
{
    double px = 0, sc = 0;
    int failed = 0, mismatch = 0, total = 0;
    char where[64] = "";
    for (int p = 1; p <= DEMO_PHOTOS && !failed && !mismatch; p++)
        for (int s = 0; s < SIZES && !failed && !mismatch; s++) {
            char prefix[512];
            prefix_of(p, sizes[s], prefix, sizeof prefix);
            snprintf(where, sizeof where, "sample%d-%d", p, sizes[s]);
            json_t *ref = reference(prefix);
            int w = (int)json_integer_value(json_object_get(ref, "input_width"));
            int h = (int)json_integer_value(json_object_get(ref, "input_height"));
            double cut = json_number_value(json_object_get(ref, "candidate_thresh"));
            anon_tensor t[ANON_YOLO_HEADS] = {0};
            anon_boxes got = {0}, want = {0};
            failed = !ref || w <= 0 || h <= 0;
            for (int k = 0; !failed && k < ANON_YOLO_HEADS; k++)
                failed = read_head(prefix, k, w, h, &t[k]);
            if (!failed) {
                failed = anon_yolo_decode(t, w, h, (float)cut, &got, NULL);
                to_pixels(&got, w, h);
                json_boxes(json_object_get(ref, "candidates"), &want);
                total += (int)want.n;
                mismatch = !failed && !same_boxes(&want, &got, 1e-3, 1e-6, &px, &sc);
            }
            anon_boxes_free(&got);
            anon_boxes_free(&want);
            free_heads(t);
            json_decref(ref);
        }
    CHECKF(!failed, "%s: no oracle (make oracle)", where);
    printf("# decoder: %d candidates, boxes within %.3g px, scores within %.3g\n", total, px, sc);
    CHECKF(!mismatch, "%s: candidates differ (%.3g px, score %.3g)", where, px, sc);
}

/* One sure cell with known distributions; wrong shapes fail. */
TEST(decoder_places_a_box)
{
    enum { W = 64, H = 32, C = 4 * ANON_YOLO_BINS + 1 };
    anon_tensor t[ANON_YOLO_HEADS];
    float *data[ANON_YOLO_HEADS];
    for (int k = 0; k < ANON_YOLO_HEADS; k++) {
        int s = 8 << k, n = (W / s) * (H / s);
        data[k] = calloc((size_t)C * n, sizeof *data[k]);
        for (int i = 0; i < n; i++)
            data[k][(size_t)(C - 1) * n + i] = -9;   /* background */
        t[k] = (anon_tensor){data[k], C, H / s, W / s};
    }
    /* stride 16, cell (x 2, y 1): left all on bin 1, top on 2, right on 3,
     * bottom half on 0 and half on 4 (expected 2) */
    int n16 = (W / 16) * (H / 16), cell = 1 * (W / 16) + 2;
    float *d = data[1];
    d[(size_t)(C - 1) * n16 + cell] = 3;
    d[(size_t)(0 * 16 + 1) * n16 + cell] = 40;
    d[(size_t)(1 * 16 + 2) * n16 + cell] = 40;
    d[(size_t)(2 * 16 + 3) * n16 + cell] = 40;
    d[(size_t)(3 * 16 + 0) * n16 + cell] = 40;
    d[(size_t)(3 * 16 + 4) * n16 + cell] = 40;
    anon_boxes b = {0};
    int rc = anon_yolo_decode(t, W, H, 0.5f, &b, NULL);
    anon_box box = b.n == 1 ? b.v[0] : (anon_box){0};
    anon_error err;
    int bad = anon_yolo_decode(t, W + 32, H, 0.5f, &b, &err);
    anon_boxes_free(&b);
    for (int k = 0; k < ANON_YOLO_HEADS; k++)
        free(data[k]);
    CHECK(rc == 0 && box.w > 0);
    /* centre (2.5, 1.5) cells: x0 = (2.5 - 1) * 16, y0 = (1.5 - 2) * 16,
     * x1 = (2.5 + 3) * 16, y1 = (1.5 + 2) * 16, relative to 64 x 32 */
    CHECK(fabsf(box.x - 24.0f / W) < 1e-5f && fabsf(box.y + 8.0f / H) < 1e-5f);
    CHECK(fabsf(box.w - 64.0f / W) < 1e-5f && fabsf(box.h - 64.0f / H) < 1e-5f);
    CHECK(fabsf(box.score - 1 / (1 + expf(-3))) < 1e-6f);
    CHECK(bad == -1 && strstr(err.msg, "head 0") != NULL);
}

/* ------------------------------------------------------------ the detector */

/* The detector with its own canvas (area resampling, not cv2's) at 640
 * finds every reference face that scores above 0.4. */
TEST(detector_finds_the_reference_faces)
{
    anon_error err = {0};
    anon_detector_config cfg = {.model = anon_model_find("yolo"), .model_dir = model_dir()};
    anon_detector *d = anon_detector_open(&cfg, &err);
    CHECKF(d != NULL, "%.200s (make models)", err.msg);
    anon_detect_options o;
    anon_detect_options_default(&o, cfg.model);
    o.input_size = 640;
    o.thresh = 0.25f;
    double worst = 1;
    int faces = 0, missed = 0, failed = 0;
    for (int p = 1; p <= DEMO_PHOTOS && !failed; p++) {
        char prefix[512];
        prefix_of(p, 640, prefix, sizeof prefix);
        json_t *ref = reference(prefix);
        anon_image img = {0};
        anon_boxes found = {0}, want = {0};
        failed = !ref || demo_photo(p, &img) || anon_detect(d, &img, &o, &found, &err);
        double scale = json_number_value(json_object_get(ref, "scale"));
        json_boxes(json_object_get(ref, "boxes"), &want);
        for (size_t i = 0; !failed && i < want.n; i++) {
            anon_box w = want.v[i];
            if (w.score <= 0.4f)
                continue;
            w.x /= (float)scale;
            w.y /= (float)scale;
            w.w /= (float)scale;
            w.h /= (float)scale;
            double best = 0;
            for (size_t j = 0; j < found.n; j++)
                best = fmax(best, anon_iou(&w, &found.v[j]));
            worst = fmin(worst, best);
            faces++;
            missed += best < 0.8;
        }
        anon_boxes_free(&found);
        anon_boxes_free(&want);
        free(img.pixels);
        json_decref(ref);
    }
    anon_detector_close(d);
    CHECKF(!failed, "no oracle or photo (make oracle), or detect failed: %.200s", err.msg);
    printf("# detector: %d reference faces above 0.4, worst IoU %.3f\n", faces, worst);
    CHECKF(missed == 0 && faces > 0, "%d of %d faces missed (worst IoU %.3f)", missed, faces,
           worst);
}

RUN_TESTS("yolo",
          CASE(decoder_places_a_box),
          CASE(decoder_matches_reference_decoder),
          CASE(heads_and_boxes_match_onnx_runtime),
          CASE(detector_finds_the_reference_faces))
