/* test_detect.c - the detector's parts: IoU and NMS, tile geometry, the
 * input canvas, both decoders, model loading errors, and the extra passes
 * (tiles, scales, flip) on a demo photo with the tiny model. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "detect/canvas.h"
#include "check.h"
#include "detect/detect.h"
#include "engine/engine.h"
#include "detect/model.h"
#include "photos.h"
#include "detect/tiles.h"

#define NEAR(a, b, eps) (fabs((double)(a) - (double)(b)) <= (eps))

TEST(iou_of_known_boxes)
{
    anon_box a = {0, 0, 10, 10, 1}, b = {5, 0, 10, 10, 1}, c = {20, 20, 5, 5, 1};
    anon_box empty = {0, 0, 0, 10, 1};
    CHECK(NEAR(anon_iou(&a, &a), 1, 1e-6));
    CHECK(NEAR(anon_iou(&a, &b), 50.0 / 150.0, 1e-6));
    CHECK(anon_iou(&a, &c) == 0);
    CHECK(anon_iou(&a, &empty) == 0);
}

TEST(nms_keeps_best_and_sorts)
{
    anon_boxes b = {0};
    anon_box in[] = {
        {0, 0, 10, 10, 0.6f},    /* suppressed by the 0.9 box (IoU 0.82) */
        {100, 0, 10, 10, 0.7f},  /* alone */
        {0, 0, 10, 9, 0.9f},
        {5, 0, 10, 10, 0.8f},    /* IoU 1/3 with 0.9 box: kept at 0.5 */
    };
    for (size_t i = 0; i < 4; i++)
        CHECK(anon_boxes_push(&b, in[i], NULL) == 0);
    anon_nms(&b, 0.5f);
    CHECKF(b.n == 3, "kept %zu", b.n);
    CHECK(b.v[0].score == 0.9f && b.v[1].score == 0.8f && b.v[2].score == 0.7f);
    anon_nms(&b, 0.3f);
    CHECKF(b.n == 2, "kept %zu at 0.3", b.n);
    anon_boxes_free(&b);
    anon_nms(&b, 0.5f);   /* empty is fine */
    CHECK(b.n == 0);
}

TEST(tile_spans_cover_and_overlap)
{
    anon_span s[ANON_MAX_SPANS];
    CHECK(anon_tile_spans(1920, 2, 0.2f, s) == 2);
    CHECK(s[0].start == 0 && s[0].len == 1067);
    CHECK(s[1].start + s[1].len == 1920);
    CHECK(s[0].start + s[0].len - s[1].start >= (int)(0.2 * 1067) - 1);
    CHECK(anon_tile_spans(1000, 1, 0.5f, s) == 1 && s[0].start == 0 && s[0].len == 1000);
    CHECK(anon_tile_spans(3, 10, 0.2f, s) == 3);
    CHECK(anon_tile_spans(0, 2, 0.2f, s) == 0);
    CHECK(anon_tile_spans(100, 1000, 0.2f, s) == ANON_MAX_SPANS);
    for (int n = 1; n <= 5; n++) {
        int k = anon_tile_spans(1537, n, 0.25f, s);
        CHECK(k == n && s[0].start == 0 && s[k - 1].start + s[k - 1].len == 1537);
        for (int i = 1; i < k; i++)
            CHECK(s[i].start < s[i - 1].start + s[i - 1].len);   /* no gap */
    }
}

TEST(window_spans_cover_with_overlap)
{
    anon_span s[ANON_MAX_SPANS];
    CHECK(anon_window_spans(400, 512, 0.2f, s) == 1 && s[0].len == 400);
    int k = anon_window_spans(1920, 960, 0.2f, s);
    CHECK(k == 3);
    CHECK(s[0].start == 0 && s[k - 1].start + s[k - 1].len == 1920);
    for (int i = 1; i < k; i++)
        CHECK(s[i - 1].start + s[i - 1].len - s[i].start >= (int)(0.2 * 960));
    CHECK(anon_window_spans(1920, 0, 0.2f, s) == 0);
}

TEST(canvas_averages_areas_and_pads)
{
    /* 4x2 image; scaled by 0.5 onto a 4x4 canvas: 2x1 pixels, rest zero */
    uint8_t px[4 * 2 * 3];
    for (int i = 0; i < 8; i++) {
        px[i * 3] = (uint8_t)(i * 10);
        px[i * 3 + 1] = 100;
        px[i * 3 + 2] = (uint8_t)(i % 4 < 2 ? 0 : 200);
    }
    anon_image img = {4, 2, 3, px};
    float out[3 * 16];
    int cw, ch;
    CHECK(anon_canvas_fill(&img, (anon_rect){0, 0, 4, 2}, 0.5, false, 4, 4, out, &cw, &ch, NULL) == 0);
    CHECK(cw == 2 && ch == 1);
    CHECK(NEAR(out[0], (0 + 10 + 40 + 50) / 4.0, 1e-4));
    CHECK(NEAR(out[1], (20 + 30 + 60 + 70) / 4.0, 1e-4));
    CHECK(NEAR(out[16], 100, 1e-4) && NEAR(out[32 + 1], 200, 1e-4) && out[32] == 0);
    CHECK(out[2] == 0 && out[4] == 0 && out[15] == 0);
    CHECK(anon_canvas_fill(&img, (anon_rect){0, 0, 4, 2}, 0.5, true, 4, 4, out, &cw, &ch, NULL) == 0);
    CHECK(NEAR(out[1], (0 + 10 + 40 + 50) / 4.0, 1e-4));   /* mirrored */
    /* enlarging a flat image keeps it flat; a window outside fails */
    uint8_t flat[3 * 3 * 3];
    memset(flat, 77, sizeof flat);
    anon_image f = {3, 3, 3, flat};
    float big[3 * 64];
    CHECK(anon_canvas_fill(&f, (anon_rect){0, 0, 3, 3}, 8 / 3.0, false, 8, 8, big, &cw, &ch, NULL) == 0);
    CHECK(cw == 8 && ch == 8);
    for (int i = 0; i < 3 * 64; i++)
        CHECK(NEAR(big[i], 77, 1e-3));
    anon_error err;
    CHECK(anon_canvas_fill(&f, (anon_rect){1, 1, 3, 3}, 1, false, 8, 8, big, &cw, &ch, &err) == -1);
}

TEST(tiny_decode_places_cells)
{
    /* 25 x 2 x 2 output: anchor 1 of cell (row 1, col 0) is a sure face at
     * the cell centre; everything else scores sigmoid(-10). */
    float data[25 * 4];
    for (int i = 0; i < 25 * 4; i++)
        data[i] = 0;
    for (int a = 0; a < 5; a++)
        for (int cell = 0; cell < 4; cell++)
            data[(a * 5 + 4) * 4 + cell] = -10;
    data[(1 * 5 + 4) * 4 + 2] = 10;
    anon_tensor t = {data, 25, 2, 2};
    anon_boxes b = {0};
    CHECK(anon_tiny_decode(&t, 0.5f, &b, NULL) == 0);
    CHECKF(b.n == 1, "%zu boxes", b.n);
    float w = 6.041143f / 2, h = 7.080126f / 2;   /* anchor 1, exp(0) */
    CHECK(NEAR(b.v[0].x, 0.25 - w / 2, 1e-5) && NEAR(b.v[0].y, 0.75 - h / 2, 1e-5));
    CHECK(NEAR(b.v[0].w, w, 1e-5) && NEAR(b.v[0].h, h, 1e-5));
    CHECK(NEAR(b.v[0].score, 1 / (1 + exp(-10.0)), 1e-6));
    anon_tensor bad = {data, 24, 2, 2};
    anon_error err;
    CHECK(anon_tiny_decode(&bad, 0.5f, &b, &err) == -1);
    anon_boxes_free(&b);
}

/* A fake engine whose last 12 of 13 layers are SSD heads of 1x1 cells with one
 * anchor each, so decoding can be checked without a network. */
static float fake_head[7];
static anon_net *fake_load(const char *c, const char *w, int t, anon_error *e)
{
    (void)c; (void)w; (void)t; (void)e;
    return NULL;
}
static void fake_shape(const anon_net *n, int *c, int *h, int *w)
{
    (void)n; *c = 3; *h = *w = 1;
}
static int fake_layers(const anon_net *n) { (void)n; return 13; }
static int fake_forward(anon_net *n, const float *in, anon_error *e)
{
    (void)n; (void)in; (void)e;
    return 0;
}
static int fake_output(const anon_net *n, int i, anon_tensor *out, anon_error *e)
{
    (void)n; (void)i; (void)e;
    *out = (anon_tensor){fake_head, 7, 1, 1};
    return 0;
}
static void fake_free(anon_net *n) { (void)n; }
static const anon_engine fake_engine = {.name = "fake", .load = fake_load,
                                        .input_shape = fake_shape, .n_layers = fake_layers,
                                        .forward = fake_forward, .layer_output = fake_output,
                                        .free = fake_free};

TEST(ssd_decode_applies_priors_and_variances)
{
    /* box encoding (ty, tx, th, tw), class logits (background, face, -) */
    float head[7] = {1, -2, 5 * logf(2), 0, 0, 3, 0};
    memcpy(fake_head, head, sizeof head);
    float priors[6 * 4];
    for (int k = 0; k < 6; k++) {
        float *p = priors + 4 * k;
        p[0] = 0.1f; p[1] = 0.2f; p[2] = 0.5f; p[3] = 0.4f;   /* ymin xmin ymax xmax */
    }
    CHECK(anon_ssd_check(&fake_engine, NULL, 6, NULL) == 0);
    anon_error err;
    CHECK(anon_ssd_check(&fake_engine, NULL, 7, &err) == -1);
    anon_boxes b = {0};
    CHECK(anon_ssd_decode(&fake_engine, NULL, priors, 6, 0.5f, &b, NULL) == 0);
    CHECKF(b.n == 6, "%zu boxes", b.n);
    /* centre y = 0.3 + 1/10 * 0.4, x = 0.3 - 2/10 * 0.2; h = 0.4 * 2, w = 0.2 */
    CHECK(NEAR(b.v[0].y, 0.34 - 0.4, 1e-5) && NEAR(b.v[0].h, 0.8, 1e-5));
    CHECK(NEAR(b.v[0].x, 0.26 - 0.1, 1e-5) && NEAR(b.v[0].w, 0.2, 1e-5));
    CHECK(NEAR(b.v[0].score, 1 / (1 + exp(-3.0)), 1e-6));
    b.n = 0;
    CHECK(anon_ssd_decode(&fake_engine, NULL, priors, 6, 0.96f, &b, NULL) == 0);
    CHECK(b.n == 0);
    anon_boxes_free(&b);
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

TEST(open_fails_cleanly)
{
    anon_error err;
    anon_detector_config cfg = {.model = anon_model_find("tiny"), .model_dir = "/nonexistent"};
    CHECK(anon_detector_open(&cfg, &err) == NULL);
    CHECKF(strstr(err.msg, "/nonexistent/tiny.cfg") != NULL, "%.200s", err.msg);
    cfg.model_dir = model_dir();
    cfg.engine = "no-such-engine";
    CHECK(anon_detector_open(&cfg, &err) == NULL);
    CHECKF(strstr(err.msg, "no-such-engine") != NULL, "%.200s", err.msg);

    char dir[] = "/tmp/anon-model-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char cfg_path[128], weights_path[128];
    snprintf(cfg_path, sizeof cfg_path, "%s/tiny.cfg", dir);
    snprintf(weights_path, sizeof weights_path, "%s/tiny.weights", dir);
    cfg.model_dir = dir;
    cfg.engine = "darknet";
    /* a section libdarknet does not know would be mishandled: refused */
    CHECK(write_text(cfg_path, "[net]\nwidth=32\nheight=32\nchannels=3\n[yolo]\n") == 0);
    CHECK(write_text(weights_path, "") == 0);
    CHECK(anon_detector_open(&cfg, &err) == NULL);
    CHECKF(strstr(err.msg, "unsupported section") != NULL, "%.200s", err.msg);
    /* weights shorter than the network needs */
    CHECK(write_text(cfg_path, "[net]\nwidth=32\nheight=32\nchannels=3\n"
                               "[convolutional]\nfilters=25\nsize=1\nactivation=linear\n") == 0);
    CHECK(write_text(weights_path, "short") == 0);
    CHECK(anon_detector_open(&cfg, &err) == NULL);
    CHECKF(strstr(err.msg, "bytes") != NULL, "%.200s", err.msg);
    /* a relu6 mark on a layer that cannot carry it */
    CHECK(write_text(cfg_path, "[net]\nwidth=32\nheight=32\nchannels=3\n"
                               "[maxpool]\nsize=2\nstride=2\n#anon: relu6\n") == 0);
    CHECK(write_text(weights_path, "0123456789abcdef0123456789abcdef") == 0);
    CHECK(anon_detector_open(&cfg, &err) == NULL);
    CHECKF(strstr(err.msg, "relu6") != NULL, "%.200s", err.msg);
    unlink(cfg_path);
    unlink(weights_path);
    rmdir(dir);
}

/* Opens the tiny model (fast) and fills its default options. */
static anon_detector *open_tiny(anon_detect_options *o, anon_error *err)
{
    anon_detector_config cfg = {.model = anon_model_find("tiny"), .model_dir = model_dir()};
    anon_detect_options_default(o, cfg.model);
    return anon_detector_open(&cfg, err);
}

TEST(detect_rejects_bad_images_and_handles_odd_sizes)
{
    anon_error err;
    anon_detect_options o;
    anon_detector *d = open_tiny(&o, &err);
    CHECKF(d != NULL, "%.200s", err.msg);
    CHECK(o.thresh == 0.5f && NEAR(o.nms_iou, 0.4, 1e-6) && o.tiles_x == 0 && !o.flip);
    anon_boxes b = {0};
    anon_image none = {0, 0, 3, NULL};
    CHECK(anon_detect(d, &none, &o, &b, &err) == -1);
    uint8_t px[4 * 3000 * 4];
    memset(px, 128, sizeof px);
    anon_image thin = {1, 3000, 4, px};   /* RGBA, 1 px wide */
    o.tiles_x = o.tiles_y = 3;
    o.flip = true;
    float scales[] = {2.0f};
    o.scales = scales;
    o.n_scales = 1;
    int rc = anon_detect(d, &thin, &o, &b, &err);
    anon_detector_close(d);
    CHECKF(rc == 0, "%.200s", err.msg);
    for (size_t i = 0; i < b.n; i++)
        CHECK(b.v[i].x >= 0 && b.v[i].x + b.v[i].w <= 1.0001f && b.v[i].y + b.v[i].h <= 3000.01f);
    anon_boxes_free(&b);
}

/* Tiles, an extra scale, the zoom pyramid and the flip pass still find the
 * faces of the single pass, and every box stays inside the photo. */
TEST(extra_passes_keep_faces)
{
    anon_image img = {0};
    CHECKF(demo_photo(1, &img) == 0, "no %s/sample1.ppm (make oracle)", oracle_dir());
    anon_error err;
    anon_detect_options o;
    anon_detector *d = open_tiny(&o, &err);
    if (!d)
        free(img.pixels);
    CHECKF(d != NULL, "%.200s", err.msg);
    anon_boxes one = {0}, many = {0};
    int rc = anon_detect(d, &img, &o, &one, &err);
    o.tiles_x = 2;
    o.tiles_y = 2;
    o.flip = true;
    float scales[] = {1.5f};
    o.scales = scales;
    o.n_scales = 1;
    o.zoom = 0.5f;
    o.min_face = 20;
    if (rc == 0)
        rc = anon_detect(d, &img, &o, &many, &err);
    anon_detector_close(d);
    int w = img.width, h = img.height;
    free(img.pixels);
    CHECKF(rc == 0, "%.200s", err.msg);
    CHECKF(one.n == 3, "single pass found %zu faces", one.n);
    for (size_t i = 0; i < one.n; i++) {
        float best = 0;
        for (size_t j = 0; j < many.n; j++) {
            float iou = anon_iou(&one.v[i], &many.v[j]);
            best = iou > best ? iou : best;
        }
        CHECKF(best >= 0.5f, "face %zu lost by the extra passes (best IoU %.2f)", i, best);
    }
    for (size_t j = 0; j < many.n; j++) {
        const anon_box *b = &many.v[j];
        CHECK(b->x >= 0 && b->y >= 0 && b->x + b->w <= w + 0.01f && b->y + b->h <= h + 0.01f);
        CHECK(b->w >= 20 || b->h >= 20);
    }
    anon_boxes_free(&one);
    anon_boxes_free(&many);
}

/* One detector per thread: two threads, each with its own detector, find
 * exactly what one thread finds alone. */
typedef struct thread_job {
    const anon_image *img;
    anon_boxes found;
    int rc;
} thread_job;

static void *detect_in_thread(void *arg)
{
    thread_job *job = arg;
    anon_detect_options o;
    anon_detector *d = open_tiny(&o, NULL);
    job->rc = d ? anon_detect(d, job->img, &o, &job->found, NULL) : -1;
    anon_detector_close(d);
    return NULL;
}

TEST(detectors_in_parallel_threads_agree)
{
    anon_image img = {0};
    CHECKF(demo_photo(2, &img) == 0, "no %s/sample2.ppm (make oracle)", oracle_dir());
    thread_job alone = {&img, {0}, 0}, jobs[2] = {{&img, {0}, 0}, {&img, {0}, 0}};
    detect_in_thread(&alone);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, detect_in_thread, &jobs[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    free(img.pixels);
    int same = alone.rc == 0 && alone.found.n > 0;
    for (int i = 0; i < 2 && same; i++) {
        same = jobs[i].rc == 0 && jobs[i].found.n == alone.found.n;
        for (size_t k = 0; same && k < alone.found.n; k++)
            same = memcmp(&jobs[i].found.v[k], &alone.found.v[k], sizeof(anon_box)) == 0;
    }
    size_t n = alone.found.n;
    anon_boxes_free(&alone.found);
    anon_boxes_free(&jobs[0].found);
    anon_boxes_free(&jobs[1].found);
    CHECKF(same, "threads disagree with the single run (%zu boxes alone)", n);
}

/* Only inner edges cut: a box at the photo's border is kept, one touching
 * or crossing an edge shared with a neighbouring tile is dropped. */
TEST(boxes_cut_by_inner_tile_edges)
{
    anon_span first = {0, 600}, middle = {500, 600}, last = {1000, 600};
    CHECK(!anon_span_cuts(first, 1600, 0, 50, 2));        /* photo border */
    CHECK(!anon_span_cuts(first, 1600, 100, 597, 2));     /* 3 px inside */
    CHECK(anon_span_cuts(first, 1600, 100, 598.5f, 2));   /* within 2 px */
    CHECK(anon_span_cuts(first, 1600, 550, 640, 2));      /* crosses it */
    CHECK(anon_span_cuts(middle, 1600, 501, 560, 2));
    CHECK(!anon_span_cuts(middle, 1600, 503, 560, 2));
    CHECK(!anon_span_cuts(last, 1600, 1500, 1600, 2));    /* photo border */
    CHECK(anon_span_cuts(last, 1600, 1001, 1100, 2));
    CHECK(!anon_span_cuts(last, 1600, 1001, 1100, 0));    /* margin 0 keeps */
    anon_span whole = {0, 1600};
    CHECK(!anon_span_cuts(whole, 1600, 0, 1600, 2));
}

RUN_TESTS("detect",
          CASE(iou_of_known_boxes),
          CASE(nms_keeps_best_and_sorts),
          CASE(tile_spans_cover_and_overlap),
          CASE(window_spans_cover_with_overlap),
          CASE(boxes_cut_by_inner_tile_edges),
          CASE(canvas_averages_areas_and_pads),
          CASE(tiny_decode_places_cells),
          CASE(ssd_decode_applies_priors_and_variances),
          CASE(open_fails_cleanly),
          CASE(detect_rejects_bad_images_and_handles_odd_sizes),
          CASE(extra_passes_keep_faces),
          CASE(detectors_in_parallel_threads_agree))
