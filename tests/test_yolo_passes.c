/* test_yolo_passes.c - the passes YOLOv8n-face's presets run (detect.c,
 * model_yolo.c): windows only on photos much larger than the whole-photo
 * passes, bounded in number; the large-face threshold; and small faces of
 * a large photo found by the windows where one whole-photo pass misses
 * them.
 * needs: oracle
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "detect/detect.h"
#include "detect/preset.h"
#include "photos.h"

static anon_detector *open_yolo(anon_error *err)
{
    anon_detector_config cfg = {.model = anon_model_find("yolo"), .model_dir = model_dir()};
    return anon_detector_open(&cfg, err);
}

/* A flat grey w x h photo (no face: the passes are what is looked at). */
static anon_image grey(int w, int h)
{
    anon_image img = {w, h, 3, malloc((size_t)w * (size_t)h * 3)};
    if (img.pixels)
        memset(img.pixels, 120, (size_t)w * (size_t)h * 3);
    return img;
}

/* Passes anon_detect runs on a w x h photo with options o; -1 on error. */
static int passes_on(anon_detector *d, int w, int h, const anon_detect_options *o)
{
    anon_image img = grey(w, h);
    anon_boxes b = {0};
    int rc = img.pixels ? anon_detect(d, &img, o, &b, NULL) : -1;
    anon_boxes_free(&b);
    free(img.pixels);
    return rc == 0 ? anon_detector_passes(d) : -1;
}

/* Small passes, counted by hand: whole photo at 160 and 256 px; windows of
 * 256 canvas px at zoom 0.5 only where the photo's long side at that zoom
 * exceeds 1.5 x 256 = 384 px. */
TEST(windows_only_on_photos_much_larger)
{
    anon_error err;
    anon_detector *d = open_yolo(&err);
    CHECKF(d != NULL, "%.200s (make models)", err.msg);
    anon_detect_options o;
    anon_preset_apply(ANON_PRESET_FAST, anon_model_find("yolo"), &o);
    float scale = 1.6f;
    o.input_size = 160;
    o.scales = &scale;
    o.n_scales = 1;
    o.zoom = 0.5f;
    CHECK(passes_on(d, 600, 400, &o) == 2);      /* 300 px at zoom 0.5: no windows */
    CHECK(passes_on(d, 768, 500, &o) == 2);      /* 384: not more than 1.5 x */
    /* 1000 x 750: windows of 512 photo px, 3 across (step 409.6), 2 down */
    CHECK(passes_on(d, 1000, 750, &o) == 2 + 6);
    o.max_passes = 4;                            /* zoom lowered until 4 fit */
    int capped = passes_on(d, 1000, 750, &o);
    CHECKF(capped > 2 && capped <= 2 + 4, "%d passes", capped);
    o.flip = true;                               /* mirrored: everything twice */
    CHECK(passes_on(d, 600, 400, &o) == 4);
    anon_detector_close(d);
}

/* The presets' own figures on a camera frame: fast one pass, balanced its
 * two (windows start above 3072 px: scripts/large-photos measures those
 * with the release build). */
TEST(presets_bound_their_passes)
{
    anon_error err;
    anon_detector *d = open_yolo(&err);
    CHECKF(d != NULL, "%.200s (make models)", err.msg);
    anon_detect_options fast, balanced;
    anon_preset_apply(ANON_PRESET_FAST, anon_model_find("yolo"), &fast);
    anon_preset_apply(ANON_PRESET_BALANCED, anon_model_find("yolo"), &balanced);
    CHECK(passes_on(d, 1920, 1080, &fast) == 1);
    CHECK(passes_on(d, 1920, 1080, &balanced) == 2);
    anon_detector_close(d);
}

/* Faces of a demo photo (150-300 px tall, about 80-160 px on a 1024 pass):
 * at a threshold no face reaches, the large-face threshold still passes
 * them; without it nothing is found. */
TEST(large_faces_need_only_the_large_threshold)
{
    anon_image img = {0};
    CHECKF(demo_photo(1, &img) == 0, "no %s/sample1.ppm (make oracle)", oracle_dir());
    anon_error err;
    anon_detector *d = open_yolo(&err);
    CHECKF(d != NULL, "%.200s (make models)", err.msg);
    anon_detect_options o;
    anon_preset_apply(ANON_PRESET_FAST, anon_model_find("yolo"), &o);
    o.thresh = 0.99f;
    anon_boxes with = {0}, without = {0};
    int rc = anon_detect(d, &img, &o, &with, &err);
    o.large_face = 0;
    rc |= anon_detect(d, &img, &o, &without, &err);
    /* a size no face reaches: the threshold is 0.99 again */
    o.large_face = 2000;
    anon_boxes none = {0};
    rc |= anon_detect(d, &img, &o, &none, &err);
    CHECKF(rc == 0, "%.200s", err.msg);
    CHECKF(with.n >= 3 && without.n == 0 && none.n == 0, "%zu with, %zu without, %zu",
           with.n, without.n, none.n);
    for (size_t i = 0; i < with.n; i++)
        CHECK(with.v[i].score > 0.2f && with.v[i].score <= 0.99f);
    anon_boxes_free(&with);
    anon_boxes_free(&without);
    anon_boxes_free(&none);
    anon_detector_close(d);
    free(img.pixels);
}

/* The demo photo shrunk 5 times (faces of 30-60 px) in a grey 2000 x 1500
 * photo. Balanced's passes at half their sizes (320 and 512 px, windows of
 * 512 at zoom 0.5 above 768 px: 3 x 2), to keep the test short under the
 * sanitizers: the whole-photo pass at 512 sees the faces at 8-15 px, the
 * windows at 15-30 px. */
static anon_image small_faces_in_a_large_photo(const anon_image *demo, anon_rect *where)
{
    enum { W = 2000, H = 1500 };
    anon_image big = grey(W, H);
    int f = 5, w = demo->width / f, h = demo->height / f, x0 = 1100, y0 = 700;
    for (int y = 0; big.pixels && y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                int sum = 0;
                for (int dy = 0; dy < f; dy++)
                    for (int dx = 0; dx < f; dx++)
                        sum += demo->pixels[((size_t)(y * f + dy) * demo->width + x * f + dx) *
                                                3 + c];
                big.pixels[((size_t)(y0 + y) * W + x0 + x) * 3 + c] = (uint8_t)(sum / (f * f));
            }
    *where = (anon_rect){x0, y0, w, h};
    return big;
}

static size_t faces_inside(const anon_boxes *b, anon_rect r)
{
    size_t n = 0;
    for (size_t i = 0; i < b->n; i++)
        n += b->v[i].x >= r.x && b->v[i].y >= r.y && b->v[i].x + b->v[i].w <= r.x + r.w &&
             b->v[i].y + b->v[i].h <= r.y + r.h;
    return n;
}

TEST(windows_find_small_faces_in_large_photos)
{
    anon_image demo = {0};
    CHECKF(demo_photo(1, &demo) == 0, "no %s/sample1.ppm (make oracle)", oracle_dir());
    anon_rect where;
    anon_image big = small_faces_in_a_large_photo(&demo, &where);
    free(demo.pixels);
    anon_error err;
    anon_detector *d = open_yolo(&err);
    CHECKF(d != NULL && big.pixels, "%.200s (make models)", err.msg);
    anon_detect_options fast, balanced;
    anon_preset_apply(ANON_PRESET_FAST, anon_model_find("yolo"), &fast);
    anon_preset_apply(ANON_PRESET_BALANCED, anon_model_find("yolo"), &balanced);
    fast.input_size = 512;
    balanced.input_size = 320;
    anon_boxes one = {0}, windows = {0};
    int rc = anon_detect(d, &big, &fast, &one, &err);
    rc |= anon_detect(d, &big, &balanced, &windows, &err);
    CHECKF(rc == 0, "%.200s", err.msg);
    size_t n_one = faces_inside(&one, where), n_windows = faces_inside(&windows, where);
    printf("# sample1 shrunk 5x in 2000x1500: one pass %zu faces, with windows %zu (%d passes)\n",
           n_one, n_windows, anon_detector_passes(d));
    /* sample1 holds three faces */
    CHECKF(anon_detector_passes(d) == 2 + 6, "%d passes", anon_detector_passes(d));
    CHECKF(n_windows >= 3 && n_windows > n_one, "one pass %zu, windows %zu", n_one, n_windows);
    anon_boxes_free(&one);
    anon_boxes_free(&windows);
    anon_detector_close(d);
    free(big.pixels);
}

RUN_TESTS("yolo_passes",
          CASE(windows_only_on_photos_much_larger),
          CASE(presets_bound_their_passes),
          CASE(large_faces_need_only_the_large_threshold),
          CASE(windows_find_small_faces_in_large_photos))
