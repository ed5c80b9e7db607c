/* test_jpeg_redact.c - block-wise JPEG output (anon_jpeg_redact): outside
 * the re-encoded MCUs the output decodes bit-identically to the source,
 * inside them it shows the anonymized pixels; metadata rules as for
 * anon_encode; unsupported sources fall back to a full re-encode. */
#include <math.h>

#include "redact/blur.h"
#include "check.h"
#include "codec/codec.h"
#include "corpus.h"
#include "image/container.h"
#include "image/image.h"
#include "jpeg_make.h"

/* The decoder's fancy chroma upsampling blends each chroma sample with its
 * neighbours, so the pixel row/column right next to a replaced MCU may
 * change too; beyond that nothing may. */
#define UPSAMPLING_REACH 1
#define MCU 16    /* 4:2:0 MCUs; 8 for gray and 4:4:4, where 16 is merely stricter */

static int make_photo(anon_image *img, int w, int h)
{
    if (anon_image_alloc(img, w, h, 3, NULL) < 0)
        return -1;
    uint32_t seed = 11;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = img->pixels + ((size_t)y * (size_t)w + (size_t)x) * 3;
            seed = seed * 1664525u + 1013904223u;
            p[0] = (uint8_t)(128 + 100 * sin(x / 17.0) + (seed >> 29));
            p[1] = (uint8_t)(128 + 100 * cos(y / 23.0) + (seed >> 29));
            p[2] = (uint8_t)((x * y / 64) % 200 + (seed >> 28));
        }
    return 0;
}

/* True when (x, y) is within reach of an MCU that a region touches. */
static bool near_region(const anon_rect *r, size_t n, int x, int y)
{
    for (size_t i = 0; i < n; i++) {
        int x0 = r[i].x / MCU * MCU - UPSAMPLING_REACH;
        int y0 = r[i].y / MCU * MCU - UPSAMPLING_REACH;
        int x1 = (r[i].x + r[i].w + MCU - 1) / MCU * MCU + UPSAMPLING_REACH;
        int y1 = (r[i].y + r[i].h + MCU - 1) / MCU * MCU + UPSAMPLING_REACH;
        if (x >= x0 && x < x1 && y >= y0 && y < y1)
            return true;
    }
    return false;
}

struct redact_result {
    long outside, outside_diff, core, core_changed;
    double core_error;    /* mean |output - anonymized| in the cores */
    int app_segments;     /* APP1..APP15 and COM in the output */
};

/* Anonymizes `boxes` in the decoded source, redacts, compares. */
static int redact_and_compare(const anon_buffer *src, const anon_box *boxes, size_t n,
                              bool keep, struct redact_result *res, anon_error *err)
{
    memset(res, 0, sizeof *res);
    anon_image orig = {0}, blurred = {0}, got = {0};
    anon_buffer out = ANON_BUFFER_INIT;
    anon_rect regions[8];
    size_t nr = 0;
    anon_blur_options o;
    anon_blur_options_default(&o);
    int rc = -1;
    if (anon_decode(src->data, src->len, NULL, &orig, NULL, err) < 0 ||
        anon_decode(src->data, src->len, NULL, &blurred, NULL, err) < 0 ||
        anon_anonymize(&blurred, boxes, n, &o, err) < 0)
        goto done;
    for (size_t i = 0; i < n && nr < 8; i++)
        nr += anon_box_region(&boxes[i], &o, orig.width, orig.height, &regions[nr]);
    if (anon_jpeg_redact(src->data, src->len, &blurred, regions, nr, 90, keep, &out, err) < 0 ||
        anon_decode(out.data, out.len, NULL, &got, NULL, err) < 0)
        goto done;
    if (got.width != orig.width || got.height != orig.height) {
        anon_fail(err, "output is %dx%d", got.width, got.height);
        goto done;
    }
    size_t pos = 0;
    anon_jpeg_segment seg;
    while (anon_jpeg_segment_next(out.data, out.len, &pos, &seg) == 1)
        res->app_segments += (seg.marker > 0xE0 && seg.marker <= 0xEF) || seg.marker == 0xFE;
    for (int y = 0; y < orig.height; y++)
        for (int x = 0; x < orig.width; x++) {
            size_t i = ((size_t)y * (size_t)orig.width + (size_t)x) * 3;
            bool differs = memcmp(orig.pixels + i, got.pixels + i, 3) != 0;
            bool core = false;
            for (size_t b = 0; b < n; b++) {
                anon_mask m;
                core = core || (anon_mask_for_box(&boxes[b], &o, orig.width, orig.height, &m) &&
                                anon_mask_weight(&m, x, y) >= 1);
            }
            if (core) {
                res->core++;
                res->core_changed += differs;
                for (int c = 0; c < 3; c++)
                    res->core_error += abs(got.pixels[i + (size_t)c] - blurred.pixels[i + (size_t)c]);
            } else if (!near_region(regions, nr, x, y)) {
                res->outside++;
                res->outside_diff += differs;
            }
        }
    if (res->core)
        res->core_error /= (double)res->core * 3;
    rc = 0;
done:
    anon_image_free(&orig);
    anon_image_free(&blurred);
    anon_image_free(&got);
    anon_buffer_free(&out);
    return rc;
}

static void check_redacted(struct check_state *check_ctx_, const struct redact_result *r)
{
    CHECKF(r->outside > 0 && r->outside_diff == 0, "%ld of %ld pixels outside changed",
           r->outside_diff, r->outside);
    CHECKF(r->core > 0 && r->core_changed > r->core * 9 / 10, "%ld of %ld core pixels changed",
           r->core_changed, r->core);
    CHECKF(r->core_error < 6, "cores differ from the anonymized pixels by %.1f", r->core_error);
}

TEST(baseline_outside_blocks_identical)
{
    anon_image photo;
    CHECK(make_photo(&photo, 640, 480) == 0);
    anon_buffer src = ANON_BUFFER_INIT;
    anon_encode_options eo = {90, false, NULL, 0};
    CHECK(anon_encode(&photo, ANON_FMT_JPEG, &eo, &src, NULL) == 0);
    anon_image_free(&photo);
    CHECK(anon_jpeg_redact_supported(src.data, src.len));
    /* Faces anywhere, including across MCU lines and the image edge. */
    anon_box faces[] = {{101, 77, 60, 80, 0.9f}, {400, 300, 37, 45, 0.9f},
                        {600, 440, 50, 60, 0.9f}};
    struct redact_result r;
    anon_error err;
    int rc = redact_and_compare(&src, faces, 3, false, &r, &err);
    anon_buffer_free(&src);
    CHECKF(rc == 0, "%.300s", err.msg);
    check_redacted(check_ctx_, &r);
    CHECK(r.app_segments == 0);
}

TEST(progressive_and_gray_sources)
{
    static const char *const names[] = {"ok-progressive.jpg", "gray.jpg", "ok-arithmetic.jpg"};
    anon_box face = {30, 20, 24, 24, 0.9f};
    for (int i = 0; i < 3; i++) {
        anon_buffer src = ANON_BUFFER_INIT;
        CHECK(corpus_read(names[i], &src) == 0);
        CHECKF(anon_jpeg_redact_supported(src.data, src.len), "%s", names[i]);
        struct redact_result r;
        anon_error err;
        int rc = redact_and_compare(&src, &face, 1, false, &r, &err);
        anon_buffer_free(&src);
        CHECKF(rc == 0, "%s: %.300s", names[i], err.msg);
        check_redacted(check_ctx_, &r);
    }
}

TEST(metadata_rules_apply)
{
    anon_buffer src = ANON_BUFFER_INIT;
    CHECK(corpus_read("ok-metadata.jpg", &src) == 0);
    anon_box face = {30, 20, 24, 24, 0.9f};
    struct redact_result stripped, kept;
    CHECK(redact_and_compare(&src, &face, 1, false, &stripped, NULL) == 0);
    CHECK(redact_and_compare(&src, &face, 1, true, &kept, NULL) == 0);
    anon_buffer_free(&src);
    CHECK(stripped.app_segments == 0);
    CHECK(kept.app_segments == 1);    /* the fresh, whitelisted EXIF */
}

TEST(rotated_source_falls_back_to_reencode)
{
    anon_buffer src = ANON_BUFFER_INIT;
    CHECK(corpus_read("ok-orient-6.jpg", &src) == 0);
    CHECK(!anon_jpeg_redact_supported(src.data, src.len));
    anon_image img;
    CHECK(anon_decode(src.data, src.len, NULL, &img, NULL, NULL) == 0);
    anon_rect r = {0, 0, 10, 10};
    anon_buffer out = ANON_BUFFER_INIT;
    anon_image_info info;
    anon_image back;
    int rc = anon_jpeg_redact(src.data, src.len, &img, &r, 1, 90, false, &out, NULL);
    int drc = rc == 0 ? anon_decode(out.data, out.len, NULL, &back, &info, NULL) : -1;
    int dist = drc == 0 ? pattern_distance(&back) : 999;
    if (drc == 0)
        anon_image_free(&back);
    anon_image_free(&img);
    anon_buffer_free(&out);
    anon_buffer_free(&src);
    CHECK(rc == 0 && drc == 0);
    CHECK(info.orientation == 1 && dist < 40);
}

TEST(no_regions_copies_every_block)
{
    anon_buffer src = ANON_BUFFER_INIT;
    CHECK(corpus_read("ok-textured.jpg", &src) == 0);
    anon_image img, back;
    CHECK(anon_decode(src.data, src.len, NULL, &img, NULL, NULL) == 0);
    anon_buffer out = ANON_BUFFER_INIT;
    CHECK(anon_jpeg_redact(src.data, src.len, &img, NULL, 0, 90, false, &out, NULL) == 0);
    CHECK(anon_decode(out.data, out.len, NULL, &back, NULL, NULL) == 0);
    bool same = memcmp(img.pixels, back.pixels, (size_t)img.width * (size_t)img.height * 3) == 0;
    anon_image_free(&img);
    anon_image_free(&back);
    anon_buffer_free(&out);
    anon_buffer_free(&src);
    CHECK(same);
}

TEST(zero_quantisation_step_falls_back)
{
    /* Found by fuzzing: reusing such a table made libjpeg divide by zero. */
    anon_buffer src = ANON_BUFFER_INIT;
    CHECK(corpus_read("recover-zero-quant.jpg", &src) == 0);
    anon_image img, back;
    CHECK(anon_decode(src.data, src.len, NULL, &img, NULL, NULL) == 0);
    anon_rect r = {40, 40, 64, 64};
    anon_buffer out = ANON_BUFFER_INIT;
    anon_error err;
    int rc = anon_jpeg_redact(src.data, src.len, &img, &r, 1, 90, false, &out, &err);
    int drc = rc == 0 ? anon_decode(out.data, out.len, NULL, &back, NULL, NULL) : -1;
    if (drc == 0)
        anon_image_free(&back);
    anon_image_free(&img);
    anon_buffer_free(&out);
    anon_buffer_free(&src);
    CHECKF(rc == 0 && drc == 0, "%.300s", err.msg);
}

/* make_photo as a JPEG from libjpeg with a restart marker every
 * `restart` MCUs (0: none) and, with optimize, Huffman tables made for
 * the image (they lack codes for the symbols it does not use). */
static int encode_photo(int w, int h, int restart, bool optimize, anon_buffer *out)
{
    anon_image img;
    if (make_photo(&img, w, h) < 0)
        return -1;
    test_jpeg_coding how = {.quality = 88, .h_samp = 2, .v_samp = 2, .restart = restart,
                            .optimize = optimize};
    int rc = test_jpeg_encode(&img, &how, out);
    anon_image_free(&img);
    return rc;
}

/* The bytes from the end of the scan header to the end of the file. */
static bool scan_data(const anon_buffer *b, const uint8_t **at, size_t *len)
{
    size_t pos = 0;
    anon_jpeg_segment seg;
    while (anon_jpeg_segment_next(b->data, b->len, &pos, &seg) == 1)
        if (seg.marker == 0xDA) {
            *at = seg.data + seg.len;
            *len = b->len - (size_t)(*at - b->data);
            return true;
        }
    return false;
}

static int count_restarts(const uint8_t *p, size_t len)
{
    int n = 0;
    for (size_t i = 0; i + 1 < len; i++)
        n += p[i] == 0xFF && p[i + 1] >= 0xD0 && p[i + 1] <= 0xD7;
    return n;
}

TEST(unchanged_scan_is_copied_bit_for_bit)
{
    /* With nothing to replace, the scan is the source's, byte for byte
     * (libjpeg pads with 1 bits, as the writer does), restart markers too. */
    for (int restart = 0; restart <= 3; restart += 3) {
        anon_buffer src = ANON_BUFFER_INIT, out = ANON_BUFFER_INIT;
        CHECK(encode_photo(333, 250, restart, restart > 0, &src) == 0);
        anon_image img;
        CHECK(anon_decode(src.data, src.len, NULL, &img, NULL, NULL) == 0);
        CHECK(anon_jpeg_redact(src.data, src.len, &img, NULL, 0, 90, false, &out, NULL) == 0);
        const uint8_t *a, *b;
        size_t alen, blen;
        CHECK(scan_data(&src, &a, &alen) && scan_data(&out, &b, &blen));
        CHECKF(alen == blen && memcmp(a, b, alen) == 0, "restart %d: scans differ (%zu vs %zu bytes)",
               restart, alen, blen);
        CHECK(count_restarts(b, blen) == (restart ? count_restarts(a, alen) : 0));
        anon_image_free(&img);
        anon_buffer_free(&src);
        anon_buffer_free(&out);
    }
}

TEST(restart_markers_and_own_tables)
{
    anon_box faces[] = {{101, 77, 60, 80, 0.9f}, {400, 300, 37, 45, 0.9f},
                        {600, 440, 50, 60, 0.9f}};
    for (int optimize = 0; optimize <= 1; optimize++) {
        anon_buffer src = ANON_BUFFER_INIT;
        CHECK(encode_photo(640, 480, 5, optimize, &src) == 0);
        struct redact_result r;
        anon_error err;
        int rc = redact_and_compare(&src, faces, 3, false, &r, &err);
        anon_buffer_free(&src);
        CHECKF(rc == 0, "optimize %d: %.300s", optimize, err.msg);
        check_redacted(check_ctx_, &r);
    }
}

TEST(mismatched_image_is_an_error)
{
    anon_buffer src = ANON_BUFFER_INIT;
    CHECK(corpus_read("ok-textured.jpg", &src) == 0);
    anon_image small;
    CHECK(anon_image_alloc(&small, 10, 10, 3, NULL) == 0);
    memset(small.pixels, 0, 300);
    anon_buffer out = ANON_BUFFER_INIT;
    anon_error err;
    int rc = anon_jpeg_redact(src.data, src.len, &small, NULL, 0, 90, false, &out, &err);
    anon_image_free(&small);
    anon_buffer_free(&out);
    anon_buffer_free(&src);
    CHECK(rc < 0 && strstr(err.msg, "size") != NULL);
}

RUN_TESTS("jpeg_redact",
          CASE(baseline_outside_blocks_identical),
          CASE(progressive_and_gray_sources),
          CASE(metadata_rules_apply),
          CASE(rotated_source_falls_back_to_reencode),
          CASE(no_regions_copies_every_block),
          CASE(unchanged_scan_is_copied_bit_for_bit),
          CASE(restart_markers_and_own_tables),
          CASE(zero_quantisation_step_falls_back),
          CASE(mismatched_image_is_an_error))
