/* test_fastpath.c - the JPEG fast path of anon_process (anonymize.c): a
 * photo whose only detection pass is the whole frame is detected on a
 * reduced-scale DCT decode and only the MCUs under its faces are decoded
 * at full size. It must find the faces the full decode finds, and the
 * pixels it decodes must be the full decode's. */
#include <math.h>
#include <stdio.h>

#include <jpeglib.h>

#include "redact/pipeline.h"
#include "check.h"
#include "codec/codec.h"
#include "jpeg_make.h"
#include "detect/preset.h"
#include "photos.h"

static int read_demo_jpeg(int i, anon_buffer *buf)
{
    char path[512];
    const char *root = getenv("ROOT");
    snprintf(path, sizeof path, "%s/.cache/face-api/package/demo/sample%d.jpg",
             root ? root : ".", i);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    uint8_t chunk[65536];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = anon_buffer_append(buf, chunk, n, NULL);
    fclose(f);
    return rc;
}

/* Every face of `want` has a box in `got` with IoU >= min_iou, and the
 * counts are equal. */
static bool same_faces(const anon_boxes *want, const anon_boxes *got, float min_iou,
                       float *worst)
{
    *worst = 1;
    for (size_t i = 0; i < want->n; i++) {
        float best = 0;
        for (size_t j = 0; j < got->n; j++) {
            float iou = anon_iou(&want->v[i], &got->v[j]);
            best = iou > best ? iou : best;
        }
        *worst = best < *worst ? best : *worst;
    }
    return want->n == got->n && *worst >= min_iou;
}

static void check_model(struct check_state *check_ctx_, const char *name)
{
    const anon_model *model = anon_model_find(name);
    anon_error err;
    anon_detector_config cfg = {.model = model, .model_dir = model_dir()};
    anon_detector *d = anon_detector_open(&cfg, &err);
    CHECKF(d != NULL, "%.200s", err.msg);
    anon_process_options fast, full;
    anon_process_options_default(&fast, model);
    anon_preset_apply(ANON_PRESET_FAST, model, &fast.detect);   /* one pass: reduced decode */
    /* Confident faces must match; a box scoring near the preset's 0.3 may
     * come and go with the resampling. */
    fast.detect.thresh = 0.5f;
    full = fast;
    full.detect_input = 0;    /* no reduced decode: the full path */
    int photos = 0;
    for (int i = 1; i <= 6; i++) {
        anon_buffer src = {0}, out_fast = {0}, out_full = {0};
        if (read_demo_jpeg(i, &src) < 0) {
            anon_buffer_free(&src);
            continue;
        }
        anon_result rf = {0}, rs = {0};
        int a = anon_process(d, src.data, src.len, &fast, &out_fast, &rf, &err);
        int b = a < 0 ? -1 : anon_process(d, src.data, src.len, &full, &out_full, &rs, &err);
        float worst = 0;
        bool same = a == 0 && b == 0 && same_faces(&rs.faces, &rf.faces, 0.9f, &worst);
        size_t nf = rf.faces.n, ns = rs.faces.n;
        anon_image_info info;
        bool decodable = a == 0 && anon_probe(out_fast.data, out_fast.len, &info, NULL) == 0 &&
                         info.width == rs.width && info.height == rs.height;
        anon_result_free(&rf);
        anon_result_free(&rs);
        anon_buffer_free(&src);
        anon_buffer_free(&out_fast);
        anon_buffer_free(&out_full);
        if (a < 0 || b < 0)
            anon_detector_close(d);
        CHECKF(a == 0 && b == 0, "sample%d: %.200s", i, err.msg);
        if (!same)
            anon_detector_close(d);
        CHECKF(same, "sample%d: %zu faces on the reduced decode, %zu on the full one, worst IoU %.3f",
               i, nf, ns, worst);
        CHECKF(decodable, "sample%d: output is not a %dx%d JPEG", i, rs.width, rs.height);
        photos++;
    }
    anon_detector_close(d);
    CHECKF(photos == 6, "only %d demo photos under .cache/face-api (run make models)", photos);
}

TEST(reduced_decode_finds_the_same_faces_tiny)
{
    check_model(check_ctx_, "tiny");
}

TEST(reduced_decode_finds_the_same_faces_ssd)
{
    check_model(check_ctx_, "ssd");
}

/* The region decode yields the full decode's pixels wherever it decodes. */
TEST(region_decode_matches_full_decode)
{
    anon_buffer src = {0};
    CHECKF(read_demo_jpeg(6, &src) == 0, "no demo photos (run make models)");
    anon_image full = {0}, part = {0};
    anon_error err;
    anon_rect regions[] = {{100, 200, 50, 40}, {1500, 900, 300, 300}, {1910, 1530, 10, 7},
                           {-20, -20, 30, 30}};
    int a = anon_decode(src.data, src.len, NULL, &full, NULL, &err);
    int b = a < 0 ? -1 : anon_jpeg_decode_regions(src.data, src.len, regions, 4, &part, &err);
    anon_buffer_free(&src);
    if (a < 0 || b < 0) {
        anon_image_free(&full);
        anon_image_free(&part);
    }
    CHECKF(a == 0 && b == 0, "%.200s", err.msg);
    long compared = 0, differ = 0;
    bool same_size = full.width == part.width && full.height == part.height;
    for (size_t r = 0; same_size && r < sizeof regions / sizeof regions[0]; r++) {
        int x0 = regions[r].x < 0 ? 0 : regions[r].x, y0 = regions[r].y < 0 ? 0 : regions[r].y;
        int x1 = regions[r].x + regions[r].w, y1 = regions[r].y + regions[r].h;
        x1 = x1 > full.width ? full.width : x1;
        y1 = y1 > full.height ? full.height : y1;
        for (int y = y0; y < y1; y++) {
            size_t at = ((size_t)y * (size_t)full.width + (size_t)x0) * 3;
            size_t len = (size_t)(x1 - x0) * 3;
            compared += (long)len;
            differ += memcmp(full.pixels + at, part.pixels + at, len) != 0;
        }
    }
    anon_image_free(&full);
    anon_image_free(&part);
    CHECK(same_size);
    CHECKF(compared > 0 && differ == 0, "%ld of the region rows differ", differ);
}

/* How encode_sampled codes the file besides its sampling. */
enum coding { BASELINE, PROGRESSIVE, RESTARTS_OPTIMIZED };

/* A test JPEG of w x h with chroma sampled h_samp x v_samp (1x1 4:4:4,
 * 2x1 4:2:2, 2x2 4:2:0; 0 = grayscale), coded as `coding` says
 * (RESTARTS_OPTIMIZED: a restart marker every 7 MCUs, and Huffman tables
 * made for the image, which lack the codes of symbols it does not use). */
static int encode_sampled(int w, int h, int h_samp, int v_samp, enum coding coding,
                          anon_buffer *out)
{
    anon_image img = {0};
    if (anon_image_alloc(&img, w, h, 3, NULL) < 0)
        return -1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = img.pixels + ((size_t)y * (size_t)w + (size_t)x) * 3;
            p[0] = (uint8_t)(x * 7 + y * 3 + ((x / 9 + y / 5) % 2) * 90);
            p[1] = (uint8_t)(y * 5 - x + (x * y) % 37);
            p[2] = (uint8_t)((x ^ y) * 3);
        }
    test_jpeg_coding how = {.quality = 85, .h_samp = h_samp, .v_samp = v_samp,
                            .progressive = coding == PROGRESSIVE,
                            .restart = coding == RESTARTS_OPTIMIZED ? 7 : 0,
                            .optimize = coding == RESTARTS_OPTIMIZED};
    int rc = test_jpeg_encode(&img, &how, out);
    anon_image_free(&img);
    return rc;
}

/* Pixels made from the coefficients of the one-decode path equal a full
 * decode's under every region, at every sampling and coding the path
 * takes (baseline by jpeg_scan.c, progressive by libjpeg), next to the
 * image's edges too. Returns the differing bytes (-1 on failure, -2 when
 * the path does not take the file). */
static long coef_regions_differ(const anon_buffer *src, const anon_rect *regions, size_t n,
                                long *compared)
{
    anon_image full = {0}, small = {0}, part = {0};
    anon_jpeg_source *s = NULL;
    long differ = -1;
    int rc = anon_jpeg_source_read(src->data, src->len, -1, -1, 4, &small, &s, NULL);
    if (rc == ANON_DECLINED)
        return -2;
    if (anon_decode(src->data, src->len, NULL, &full, NULL, NULL) == 0 && rc == 0 &&
        anon_jpeg_source_regions(s, regions, n, &part, NULL) == 0) {
        differ = 0;
        for (size_t r = 0; r < n; r++) {
            int x0 = regions[r].x < 0 ? 0 : regions[r].x, y0 = regions[r].y < 0 ? 0 : regions[r].y;
            int x1 = regions[r].x + regions[r].w, y1 = regions[r].y + regions[r].h;
            x1 = x1 > full.width ? full.width : x1;
            y1 = y1 > full.height ? full.height : y1;
            for (int y = y0; y < y1; y++)
                for (int x = x0 * 3; x < x1 * 3; x++) {
                    size_t at = (size_t)y * (size_t)full.width * 3 + (size_t)x;
                    (*compared)++;
                    differ += full.pixels[at] != part.pixels[at];
                }
        }
    }
    anon_jpeg_source_free(s);
    anon_image_free(&full);
    anon_image_free(&small);
    anon_image_free(&part);
    return differ;
}

TEST(coefficient_regions_match_full_decode)
{
    static const struct { int h, v; enum coding coding; } layouts[] = {
        {2, 2, BASELINE}, {2, 1, BASELINE}, {1, 1, BASELINE}, {0, 0, BASELINE},
        {2, 2, RESTARTS_OPTIMIZED}, {1, 1, RESTARTS_OPTIMIZED}, {2, 2, PROGRESSIVE}};
    anon_rect regions[] = {{100, 200, 50, 40}, {500, 300, 300, 200}, {990, 750, 40, 40},
                           {-20, -20, 30, 30}, {0, 380, 1001, 10}};
    long compared = 0;
    for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++) {
        anon_buffer src = {0};
        CHECK(encode_sampled(1001, 763, layouts[i].h, layouts[i].v, layouts[i].coding,
                             &src) == 0);
        long differ = coef_regions_differ(&src, regions, 5, &compared);
        anon_buffer_free(&src);
        CHECKF(differ == 0, "sampling %dx%d coding %d: %ld region bytes differ from libjpeg's decode",
               layouts[i].h, layouts[i].v, (int)layouts[i].coding, differ);
    }
    anon_buffer src = {0};
    CHECKF(read_demo_jpeg(6, &src) == 0, "no demo photos (run make models)");
    anon_rect photo[] = {{100, 200, 50, 40}, {1500, 900, 300, 300}, {1910, 1530, 10, 7}};
    long differ = coef_regions_differ(&src, photo, 3, &compared);
    anon_buffer_free(&src);
    CHECKF(differ == 0, "sample6: %ld region bytes differ from libjpeg's decode", differ);
    CHECK(compared > 0);
}

/* Damaged data is not for the fast path: it fails, and the caller decodes
 * the whole photo the way every viewer shows it. */
TEST(region_decode_refuses_damaged_data)
{
    anon_buffer src = {0};
    CHECKF(read_demo_jpeg(2, &src) == 0, "no demo photos (run make models)");
    anon_image part = {0};
    anon_rect all = {0, 0, 1920, 1367};
    anon_error err;
    size_t cut = src.len * 2 / 3;
    int rc = anon_jpeg_decode_regions(src.data, cut, &all, 1, &part, &err);
    anon_buffer_free(&src);
    anon_image_free(&part);
    CHECK(rc == -1 && part.pixels == NULL);
}

/* No face: no pixel is decoded at full size or re-encoded; the output
 * decodes exactly like the source. */
TEST(no_face_rewrites_without_reencoding)
{
    anon_image img = {0}, a = {0}, b = {0};
    CHECK(anon_image_alloc(&img, 1920, 1280, 3, NULL) == 0);
    for (int y = 0; y < img.height; y++)
        for (int x = 0; x < img.width; x++) {
            uint8_t *p = img.pixels + ((size_t)y * 1920 + (size_t)x) * 3;
            p[0] = (uint8_t)(x / 8);
            p[1] = (uint8_t)(y / 6);
            p[2] = (uint8_t)((x + y) / 13);
        }
    anon_buffer src = {0}, out = {0};
    anon_error err;
    int rc = anon_encode(&img, ANON_FMT_JPEG, NULL, &src, &err);
    anon_image_free(&img);
    anon_detector_config cfg = {.model = anon_model_find("tiny"), .model_dir = model_dir()};
    anon_detector *d = rc < 0 ? NULL : anon_detector_open(&cfg, &err);
    anon_process_options o;
    anon_process_options_default(&o, cfg.model);
    anon_result res = {0};
    if (d != NULL)
        rc = anon_process(d, src.data, src.len, &o, &out, &res, &err);
    size_t faces = res.faces.n;
    bool same = false;
    if (d != NULL && rc == 0 && anon_decode(src.data, src.len, NULL, &a, NULL, &err) == 0 &&
        anon_decode(out.data, out.len, NULL, &b, NULL, &err) == 0)
        same = a.width == b.width && a.height == b.height &&
               memcmp(a.pixels, b.pixels, (size_t)a.width * (size_t)a.height * 3) == 0;
    anon_detector_close(d);
    anon_result_free(&res);
    anon_image_free(&a);
    anon_image_free(&b);
    anon_buffer_free(&src);
    anon_buffer_free(&out);
    CHECKF(d != NULL && rc == 0, "%.200s", err.msg);
    CHECKF(faces == 0, "%zu faces in a gradient", faces);
    CHECK(same);
}

/* A JPEG whose scan holds a marker libjpeg does not know: the fast path
 * (a large photo) and the full one (a small photo) both fail to rewrite it,
 * and that failure is the input's fault, so the batch rejects the image at
 * once instead of retrying it until its attempts run out. */
TEST(unwritable_damaged_jpeg_is_permanent)
{
    anon_detector_config cfg = {.model = anon_model_find("tiny"), .model_dir = model_dir()};
    anon_error err;
    anon_detector *d = anon_detector_open(&cfg, &err);
    CHECKF(d != NULL, "%.200s", err.msg);
    static const int sizes[][2] = {{1920, 1280}, {160, 120}};
    int failed = 0;
    for (int s = 0; s < 2; s++) {
        anon_image img = {0};
        anon_buffer src = {0}, out = {0};
        CHECK(anon_image_alloc(&img, sizes[s][0], sizes[s][1], 3, NULL) == 0);
        for (size_t i = 0; i < (size_t)img.width * (size_t)img.height * 3; i++)
            img.pixels[i] = (uint8_t)(i * 7 % 251);
        int rc = anon_encode(&img, ANON_FMT_JPEG, NULL, &src, &err);
        anon_image_free(&img);
        size_t sos = 0;
        for (size_t i = 2; rc == 0 && i + 1 < src.len && sos == 0; i++)
            if (src.data[i] == 0xFF && src.data[i + 1] == 0xDA)
                sos = i;
        if (sos > 0) {   /* a bogus marker in the middle of the scan */
            size_t at = sos + (src.len - sos) / 2;
            src.data[at] = 0xFF;
            src.data[at + 1] = 0x52;
        }
        anon_process_options o;
        anon_process_options_default(&o, cfg.model);
        anon_result res = {0};
        if (sos > 0)
            rc = anon_process(d, src.data, src.len, &o, &out, &res, &err);
        bool permanent = rc < 0 && anon_error_kind_of(&err) == ANON_ERR_INPUT;
        anon_result_free(&res);
        anon_buffer_free(&src);
        anon_buffer_free(&out);
        CHECKF(sos > 0, "no scan in the %dx%d JPEG", sizes[s][0], sizes[s][1]);
        CHECKF(rc == 0 || permanent, "%dx%d: a transient failure: %.200s", sizes[s][0],
               sizes[s][1], err.msg);
        failed += rc < 0;
    }
    anon_detector_close(d);
    CHECKF(failed > 0, "neither damaged file failed: the test no longer reaches the case");
}

RUN_TESTS("fastpath",
          CASE(unwritable_damaged_jpeg_is_permanent),
          CASE(no_face_rewrites_without_reencoding),
          CASE(reduced_decode_finds_the_same_faces_tiny),
          CASE(reduced_decode_finds_the_same_faces_ssd),
          CASE(region_decode_matches_full_decode),
          CASE(coefficient_regions_match_full_decode),
          CASE(region_decode_refuses_damaged_data))
