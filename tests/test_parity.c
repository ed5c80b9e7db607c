/* test_parity.c - the converted models agree with face-api itself.
 *
 * Reference: scripts/face-api-oracle.mjs ran face-api (tfjs, CPU backend) on
 * the six demo photos once per machine (`make oracle`, .cache/oracle/). Both
 * sides start from the same cv2-decoded pixels and the same canvas
 * arithmetic, so differences come from the conversion, the engine and the
 * decoding only. Checks, for both models:
 *   - raw outputs: every SSD anchor's score and box, every value of the tiny
 *     model's output grid;
 *   - detections (down to the oracle's 0.2 cut-off): same faces, IoU >= 0.9,
 *     score within 0.01;
 *   - the default SSD pass finds all 22 faces of the six photos.
 * needs: oracle
 * Prints the error maxima as `#` lines. One SSD pass takes ~1 s here, so the
 * raw SSD check uses two photos and the SSD detections are computed once and
 * shared by the parity and the 22-face checks. */
#include <math.h>
#include <stdlib.h>

#include "detect/canvas.h"
#include "check.h"
#include "detect/detect.h"
#include "engine/engine.h"
#include "detect/model.h"
#include "photos.h"

#define ORACLE_MIN_SCORE 0.2f   /* scripts/face-api-oracle.mjs MIN_SCORE */
#define SCORE_TOL 0.01f
#define IOU_MIN 0.9f
#define RAW_SSD_PHOTOS 2

/* The models compared, indices into results[]. */
enum { MODEL_SSD, MODEL_TINY };

static const char *model_key(int kind)
{
    return kind == MODEL_TINY ? "tiny" : "ssd";
}

/* ------------------------------------------------------------ raw outputs */

/* Runs the bare network on photo i's whole-image canvas, as detect.c does. */
static int forward_photo(const anon_engine *e, anon_net *net, const anon_image *img,
                         const anon_input_norm *norm, anon_error *err)
{
    int c, n, w;
    e->input_shape(net, &c, &n, &w);
    float *in = malloc((size_t)3 * n * n * sizeof *in);
    if (!in)
        return anon_fail(err, "out of memory");
    int longer = img->width > img->height ? img->width : img->height;
    int cw, ch;
    int rc = anon_canvas_fill(img, (anon_rect){0, 0, img->width, img->height},
                              (double)n / longer, false, n, n, in, &cw, &ch, err);
    size_t plane = (size_t)n * n;
    for (int k = 0; rc == 0 && k < 3; k++)
        for (size_t i = 0; i < plane; i++)
            in[k * plane + i] = in[k * plane + i] * norm->mul[k] + norm->add[k];
    if (rc == 0)
        rc = e->forward(net, in, err);
    free(in);
    return rc;
}

static anon_net *load_model(const char *name, anon_error *err)
{
    char cfg[512], weights[512];
    snprintf(cfg, sizeof cfg, "%s/%s.cfg", model_dir(), name);
    snprintf(weights, sizeof weights, "%s/%s.weights", model_dir(), name);
    return anon_engine_find("darknet")->load(cfg, weights, 1, err);
}

TEST(tiny_raw_output_matches)
{
    const anon_engine *e = anon_engine_find("darknet");
    anon_error err = {0};
    anon_net *net = load_model("tiny", &err);
    CHECKF(net != NULL, "%.200s", err.msg);
    double max_diff = 0;
    int failed = 0;
    for (int p = 1; p <= DEMO_PHOTOS && !failed; p++) {
        anon_image img = {0};
        json_t *root = demo_oracle(p);
        anon_tensor t = {0};
        if (demo_photo(p, &img) || !root ||
            forward_photo(e, net, &img, &anon_model_find("tiny")->norm, &err) ||
            e->layer_output(net, e->n_layers(net) - 1, &t, &err))
            failed = p;
        json_t *raw = json_object_get(json_object_get(root, "tiny"), "raw");
        if (!failed && json_array_size(raw) != (size_t)t.c * t.h * t.w)
            failed = p;
        /* oracle: HWC; darknet: CHW */
        for (int y = 0; !failed && y < t.h; y++)
            for (int x = 0; x < t.w; x++)
                for (int c = 0; c < t.c; c++) {
                    double ref = json_number_value(json_array_get(raw, ((size_t)y * t.w + x) * t.c + c));
                    double d = fabs(ref - t.data[((size_t)c * t.h + y) * t.w + x]);
                    max_diff = d > max_diff ? d : max_diff;
                }
        json_decref(root);
        free(img.pixels);
    }
    e->free(net);
    CHECKF(!failed, "photo %d: no oracle/photo or forward failed: %.200s", failed, err.msg);
    printf("# tiny raw output: max abs difference %.3g over %d photos\n", max_diff, DEMO_PHOTOS);
    CHECKF(max_diff < 1e-3, "max raw difference %g", max_diff);
}

TEST(ssd_raw_output_matches)
{
    const anon_engine *e = anon_engine_find("darknet");
    anon_error err = {0};
    char weights[512];
    snprintf(weights, sizeof weights, "%s/ssd.weights", model_dir());
    float *priors = NULL;
    int n_priors = 0;
    CHECKF(anon_ssd_priors_load(weights, &priors, &n_priors, &err) == 0, "%.200s", err.msg);
    anon_net *net = load_model("ssd", &err);
    if (!net)
        free(priors);
    CHECKF(net != NULL, "%.200s", err.msg);
    double max_score = 0, max_box = 0;
    int failed = 0;
    anon_boxes all = {0};
    for (int p = 1; p <= RAW_SSD_PHOTOS && !failed; p++) {
        anon_image img = {0};
        json_t *root = demo_oracle(p);
        all.n = 0;
        /* score > -1: every anchor, in prior order */
        if (demo_photo(p, &img) || !root ||
            forward_photo(e, net, &img, &anon_model_find("ssd")->norm, &err) ||
            anon_ssd_decode(e, net, priors, n_priors, -1.0f, &all, &err))
            failed = p;
        json_t *ssd = json_object_get(root, "ssd");
        json_t *scores = json_object_get(ssd, "scores"), *boxes = json_object_get(ssd, "boxes");
        if (!failed && (all.n != (size_t)n_priors || json_array_size(scores) != all.n ||
                        json_array_size(boxes) != all.n))
            failed = p;
        for (size_t i = 0; !failed && i < all.n; i++) {
            const anon_box *b = &all.v[i];
            json_t *rb = json_array_get(boxes, i);
            double ref[4], got[4] = {b->y, b->x, b->y + b->h, b->x + b->w};
            for (int k = 0; k < 4; k++) {
                ref[k] = json_number_value(json_array_get(rb, k));
                double d = fabs(ref[k] - got[k]);
                max_box = d > max_box ? d : max_box;
            }
            double d = fabs(json_number_value(json_array_get(scores, i)) - b->score);
            max_score = d > max_score ? d : max_score;
        }
        json_decref(root);
        free(img.pixels);
    }
    anon_boxes_free(&all);
    e->free(net);
    free(priors);
    CHECKF(!failed, "photo %d: no oracle/photo, forward failed or wrong anchor count: %.200s",
           failed, err.msg);
    printf("# ssd raw output: max abs difference %.3g (scores), %.3g (boxes, relative) over %d photos\n",
           max_score, max_box, RAW_SSD_PHOTOS);
    CHECKF(max_score < 1e-3 && max_box < 1e-3, "max raw difference %g / %g", max_score, max_box);
}

/* ------------------------------------------------------------ detections */

typedef struct photo_result {
    anon_boxes found;   /* C detector, thresh = oracle cut-off */
    anon_boxes ref;     /* oracle */
} photo_result;

static photo_result results[2][DEMO_PHOTOS];
static int results_state[2];   /* 0 not run, 1 done, -1 failed */

static void free_results(void)
{
    for (int kind = 0; kind < 2; kind++)
        for (int p = 0; p < DEMO_PHOTOS; p++) {
            anon_boxes_free(&results[kind][p].found);
            anon_boxes_free(&results[kind][p].ref);
        }
}

/* Runs the detector on the six photos, once per model and program run. */
static int detect_all(int kind, photo_result **res, char *why, size_t why_len)
{
    *res = results[kind];
    if (results_state[kind] == 1)
        return 0;
    if (results_state[kind] == -1)
        return snprintf(why, why_len, "detection failed earlier"), -1;
    if (!results_state[0] && !results_state[1])
        atexit(free_results);
    results_state[kind] = -1;
    anon_error err = {0};
    anon_detector_config cfg = {.model = anon_model_find(model_key(kind)),
                                .model_dir = model_dir()};
    anon_detector *d = anon_detector_open(&cfg, &err);
    if (!d)
        return snprintf(why, why_len, "%.200s", err.msg), -1;
    anon_detect_options o;
    anon_detect_options_default(&o, cfg.model);
    o.thresh = ORACLE_MIN_SCORE;
    int rc = 0;
    for (int p = 1; p <= DEMO_PHOTOS && rc == 0; p++) {
        anon_image img = {0};
        json_t *root = demo_oracle(p);
        photo_result *r = &results[kind][p - 1];
        if (demo_photo(p, &img) || !root) {
            snprintf(why, why_len, "photo %d: no PPM or oracle in %s (make oracle)", p, oracle_dir());
            rc = -1;
        } else if (anon_detect(d, &img, &o, &r->found, &err)) {
            snprintf(why, why_len, "photo %d: %.200s", p, err.msg);
            rc = -1;
        } else {
            oracle_faces(root, model_key(kind), &r->ref);
        }
        json_decref(root);
        free(img.pixels);
    }
    anon_detector_close(d);
    if (rc == 0)
        results_state[kind] = 1;
    return rc;
}

/* The best partner of box b in set s: index, or -1. */
static long best_match(const anon_box *b, const anon_boxes *s, float *iou)
{
    long best = -1;
    *iou = 0;
    for (size_t j = 0; j < s->n; j++) {
        float v = anon_iou(b, &s->v[j]);
        if (v > *iou) {
            *iou = v;
            best = (long)j;
        }
    }
    return best;
}

/* Every box clearly above the cut-off in one set has a partner in the other
 * with IoU >= 0.9 and a score within 0.01 (boxes within SCORE_TOL of the
 * cut-off may legitimately fall on either side of it). */
static int compare_sets(const anon_boxes *a, const anon_boxes *b, const char *what,
                        float *worst_iou, float *worst_score, char *why, size_t why_len)
{
    for (size_t i = 0; i < a->n; i++) {
        if (a->v[i].score < ORACLE_MIN_SCORE + SCORE_TOL)
            continue;
        float iou;
        long j = best_match(&a->v[i], b, &iou);
        float ds = j < 0 ? 1 : fabsf(a->v[i].score - b->v[j].score);
        if (j < 0 || iou < IOU_MIN || ds > SCORE_TOL)
            return snprintf(why, why_len, "%s box %zu (score %.3f at %.0f,%.0f): best IoU %.3f, score diff %.3f",
                            what, i, a->v[i].score, a->v[i].x, a->v[i].y, iou, ds), -1;
        *worst_iou = iou < *worst_iou ? iou : *worst_iou;
        *worst_score = ds > *worst_score ? ds : *worst_score;
    }
    return 0;
}

static void check_detection_parity(struct check_state *check_ctx_, int kind)
{
    photo_result *r;
    char why[256];
    CHECKF(detect_all(kind, &r, why, sizeof why) == 0, "%s", why);
    float worst_iou = 1, worst_score = 0;
    size_t n_ref = 0, n_half = 0;
    for (int p = 0; p < DEMO_PHOTOS; p++) {
        CHECKF(r[p].ref.n > 0, "sample%d: oracle has no faces", p + 1);
        n_ref += r[p].ref.n;
        for (size_t i = 0; i < r[p].found.n; i++)
            n_half += r[p].found.v[i].score > 0.5f;
        CHECKF(compare_sets(&r[p].ref, &r[p].found, "oracle", &worst_iou, &worst_score,
                            why, sizeof why) == 0, "sample%d: %.200s", p + 1, why);
        CHECKF(compare_sets(&r[p].found, &r[p].ref, "C", &worst_iou, &worst_score,
                            why, sizeof why) == 0, "sample%d: %.200s", p + 1, why);
    }
    printf("# %s detections: %zu oracle boxes >= %.2f, min IoU %.6f, max score diff %.3g;"
           " %zu boxes > 0.5\n",
           model_key(kind), n_ref, ORACLE_MIN_SCORE, worst_iou, worst_score, n_half);
}

TEST(tiny_detections_match)
{
    check_detection_parity(check_ctx_, MODEL_TINY);
}

TEST(ssd_detections_match)
{
    check_detection_parity(check_ctx_, MODEL_SSD);
}

/* The default model and options (one SSD pass at 0.5) find all 22 faces of
 * the demo photos and nothing else. Uses the shared SSD run at the oracle's
 * lower cut-off: NMS is greedy from the top score, so the boxes >= 0.5 are
 * exactly those a run at 0.5 returns. */
TEST(ssd_finds_all_22_demo_faces)
{
    static const int expected[DEMO_PHOTOS] = {3, 3, 3, 4, 5, 4};
    anon_detect_options o;
    anon_detect_options_default(&o, anon_model_find("ssd"));
    CHECK(o.thresh == 0.5f && o.nms_iou == 0.5f && o.tiles_x == 0 && o.n_scales == 0 && !o.flip);
    photo_result *r;
    char why[256];
    CHECKF(detect_all(MODEL_SSD, &r, why, sizeof why) == 0, "%s", why);
    int total = 0;
    char counts[64] = "";
    for (int p = 0; p < DEMO_PHOTOS; p++) {
        int n = 0;
        for (size_t i = 0; i < r[p].found.n; i++)
            n += r[p].found.v[i].score > o.thresh;
        total += n;
        snprintf(counts + strlen(counts), sizeof counts - strlen(counts), "%s%d", p ? " " : "", n);
        CHECKF(n == expected[p], "sample%d: %d faces, expected %d", p + 1, n, expected[p]);
    }
    printf("# ssd at 0.5: %d faces (per photo: %s)\n", total, counts);
    CHECK(total == 22);
}

RUN_TESTS("parity",
          CASE(tiny_raw_output_matches),
          CASE(ssd_raw_output_matches),
          CASE(tiny_detections_match),
          CASE(ssd_detections_match),
          CASE(ssd_finds_all_22_demo_faces))
