/* test_blur.c - mask geometry, what changes and what does not, and an
 * irreversibility proxy for the default method. Images are synthetic:
 * noise (the hardest case to hide) and a drawn face-like ellipse. */
#include <math.h>

#include "redact/blur.h"
#include "check.h"

static int make_noise(anon_image *img, int w, int h, int channels, uint32_t seed)
{
    if (anon_image_alloc(img, w, h, channels, NULL) < 0)
        return -1;
    for (size_t i = 0; i < (size_t)w * (size_t)h * (size_t)channels; i++) {
        seed = seed * 1664525u + 1013904223u;
        img->pixels[i] = (uint8_t)(seed >> 24);
    }
    return 0;
}

static int copy_image(const anon_image *src, anon_image *dst)
{
    if (anon_image_alloc(dst, src->width, src->height, src->channels, NULL) < 0)
        return -1;
    memcpy(dst->pixels, src->pixels,
           (size_t)src->width * (size_t)src->height * (size_t)src->channels);
    return 0;
}

static const uint8_t *px(const anon_image *img, int x, int y)
{
    return img->pixels + ((size_t)y * (size_t)img->width + (size_t)x) * (size_t)img->channels;
}

/* Pixels of the core, untouched outside the mask, counts of each. */
struct mask_stats {
    long core, core_changed, outside_changed, outside;
};

static struct mask_stats compare(const anon_image *before, const anon_image *after,
                                 const anon_mask *m)
{
    struct mask_stats s = {0, 0, 0, 0};
    for (int y = 0; y < before->height; y++)
        for (int x = 0; x < before->width; x++) {
            float w = anon_mask_weight(m, x, y);
            bool changed = memcmp(px(before, x, y), px(after, x, y), 3) != 0;
            if (w >= 1) {
                s.core++;
                s.core_changed += changed;
            } else if (w <= 0) {
                s.outside++;
                s.outside_changed += changed;
            }
        }
    return s;
}

/* Sum of |Laplacian| over the core, per pixel and channel. */
static double core_detail(const anon_image *img, const anon_mask *m)
{
    double sum = 0;
    long n = 0;
    for (int y = 1; y < img->height - 1; y++)
        for (int x = 1; x < img->width - 1; x++) {
            if (anon_mask_weight(m, x, y) < 1)
                continue;
            for (int c = 0; c < 3; c++) {
                int lap = 4 * px(img, x, y)[c] - px(img, x - 1, y)[c] - px(img, x + 1, y)[c] -
                          px(img, x, y - 1)[c] - px(img, x, y + 1)[c];
                sum += abs(lap);
                n++;
            }
        }
    return n ? sum / (double)n : 0;
}

/* Pearson correlation of the core's pixels before and after. */
static double core_correlation(const anon_image *a, const anon_image *b, const anon_mask *m)
{
    double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
    long n = 0;
    for (int y = 0; y < a->height; y++)
        for (int x = 0; x < a->width; x++) {
            if (anon_mask_weight(m, x, y) < 1)
                continue;
            for (int c = 0; c < 3; c++) {
                double u = px(a, x, y)[c], v = px(b, x, y)[c];
                sa += u; sb += v; saa += u * u; sbb += v * v; sab += u * v;
                n++;
            }
        }
    double cov = sab / (double)n - sa * sb / ((double)n * (double)n);
    double va = saa / (double)n - sa * sa / ((double)n * (double)n);
    double vb = sbb / (double)n - sb * sb / ((double)n * (double)n);
    return vb <= 0 ? 0 : cov / sqrt(va * vb);
}

TEST(defaults_and_method_names)
{
    anon_blur_options o;
    anon_blur_options_default(&o);
    CHECK(o.method == ANON_METHOD_BLUR && fabsf(o.mask_scale - 1.3f) < 1e-6f && !o.rectangles);
    anon_method m;
    CHECK(anon_method_parse("pixelate", &m) == 0 && m == ANON_METHOD_PIXELATE);
    CHECK(anon_method_parse("fill", &m) == 0 && m == ANON_METHOD_FILL);
    CHECK(anon_method_parse("blur", &m) == 0 && m == ANON_METHOD_BLUR);
    CHECK(anon_method_parse("smudge", &m) < 0 && anon_method_parse(NULL, &m) < 0);
}

TEST(mask_geometry)
{
    anon_blur_options o;
    anon_blur_options_default(&o);
    anon_box box = {100, 100, 40, 60, 0.9f};
    anon_mask m;
    CHECK(anon_mask_for_box(&box, &o, 400, 300, &m));
    CHECK(fabsf(m.cx - 120) < 1e-4f && fabsf(m.cy - 130) < 1e-4f);
    CHECK(fabsf(m.rx - 26) < 1e-4f && fabsf(m.ry - 39) < 1e-4f);
    CHECK(m.feather >= 2 && m.feather <= 16 && m.block == 5);
    CHECK(anon_mask_weight(&m, 120, 130) == 1);
    CHECK(anon_mask_weight(&m, 120 + 24, 130) == 1);           /* inside the ellipse */
    CHECK(anon_mask_weight(&m, 100 - 4, 100 - 6) == 0);        /* box corner: outside it */
    float edge = anon_mask_weight(&m, 120 + 26 + 1, 130);      /* soft edge */
    CHECK(edge > 0 && edge < 1);
    CHECK(anon_mask_weight(&m, 120 + 26 + (int)m.feather + 1, 130) == 0);
    o.rectangles = true;
    CHECK(anon_mask_for_box(&box, &o, 400, 300, &m));
    CHECK(anon_mask_weight(&m, 100 - 4, 100 - 6) == 1);        /* corners covered */
    /* Partly outside: the region is clipped to the image. */
    anon_box edge_box = {-20, 280, 50, 50, 0.9f};
    CHECK(anon_mask_for_box(&edge_box, &o, 400, 300, &m));
    CHECK(m.x0 == 0 && m.y1 == 300 && m.x1 < 60);
    /* Degenerate or outside: no mask. */
    anon_box none[] = {{500, 10, 20, 20, 1}, {10, 10, 0, 20, 1}, {10, 10, -5, 20, 1},
                       {NAN, 10, 20, 20, 1}, {10, 10, INFINITY, 20, 1}};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
        CHECKF(!anon_mask_for_box(&none[i], &o, 400, 300, &m), "box %zu", i);
}

TEST(blur_replaces_core_and_leaves_outside_alone)
{
    anon_image img, orig;
    CHECK(make_noise(&img, 320, 240, 3, 1) == 0 && copy_image(&img, &orig) == 0);
    anon_box face = {110, 70, 80, 100, 0.9f};
    anon_blur_options o;
    anon_blur_options_default(&o);
    anon_error err;
    CHECK(anon_anonymize(&img, &face, 1, &o, &err) == 0);
    anon_mask m;
    CHECK(anon_mask_for_box(&face, &o, 320, 240, &m));
    struct mask_stats s = compare(&orig, &img, &m);
    double detail_before = core_detail(&orig, &m), detail_after = core_detail(&img, &m);
    double corr = core_correlation(&orig, &img, &m);
    anon_image_free(&img);
    anon_image_free(&orig);
    CHECK(s.outside > 0 && s.outside_changed == 0);
    CHECKF(s.core_changed > s.core * 95 / 100, "%ld of %ld core pixels changed",
           s.core_changed, s.core);
    /* Irreversibility proxies: no fine detail left, nothing that tracks
     * the original pixel by pixel. */
    CHECKF(detail_after < detail_before * 0.02, "detail %.2f -> %.2f", detail_before,
           detail_after);
    CHECKF(fabs(corr) < 0.15, "correlation with the original %.3f", corr);
}

TEST(blur_hides_a_drawn_face)
{
    /* A bright face with dark eyes and mouth on a mid-gray background: after
     * blurring, the eyes must be gone (the face area nearly uniform). */
    anon_image img;
    CHECK(anon_image_alloc(&img, 200, 200, 3, NULL) == 0);
    for (int y = 0; y < 200; y++)
        for (int x = 0; x < 200; x++) {
            double dx = (x - 100) / 40.0, dy = (y - 100) / 50.0;
            bool face = dx * dx + dy * dy <= 1;
            bool eye = (abs(x - 85) < 6 || abs(x - 115) < 6) && abs(y - 88) < 5;
            bool mouth = abs(x - 100) < 15 && abs(y - 125) < 3;
            uint8_t v = face ? (eye || mouth ? 20 : 220) : 128;
            memset(img.pixels + ((size_t)y * 200 + (size_t)x) * 3, v, 3);
        }
    anon_box box = {60, 50, 80, 100, 0.9f};
    CHECK(anon_anonymize(&img, &box, 1, NULL, NULL) == 0);
    int eye = px(&img, 85, 88)[0], cheek = px(&img, 100, 100)[0];
    anon_image_free(&img);
    CHECKF(abs(eye - cheek) < 25, "eye %d vs cheek %d", eye, cheek);
}

TEST(pixelate_is_blockwise_constant)
{
    anon_image img, orig;
    CHECK(make_noise(&img, 160, 160, 3, 2) == 0 && copy_image(&img, &orig) == 0);
    anon_box face = {40, 40, 64, 64, 0.9f};
    anon_blur_options o = {ANON_METHOD_PIXELATE, 1.3f, false};
    CHECK(anon_anonymize(&img, &face, 1, &o, NULL) == 0);
    anon_mask m;
    CHECK(anon_mask_for_box(&face, &o, 160, 160, &m));
    CHECK(m.block == 8);
    /* Inside the core, each pixel equals its block's top-left pixel when
     * that one is in the core too. */
    long checked = 0, differs = 0;
    for (int y = m.y0; y < m.y1; y++)
        for (int x = m.x0; x < m.x1; x++) {
            int bx = m.x0 + (x - m.x0) / m.block * m.block;
            int by = m.y0 + (y - m.y0) / m.block * m.block;
            if (anon_mask_weight(&m, x, y) < 1 || anon_mask_weight(&m, bx, by) < 1)
                continue;
            checked++;
            differs += memcmp(px(&img, x, y), px(&img, bx, by), 3) != 0;
        }
    struct mask_stats s = compare(&orig, &img, &m);
    anon_image_free(&img);
    anon_image_free(&orig);
    CHECK(checked > 1000 && differs == 0);
    CHECK(s.outside_changed == 0);
}

TEST(fill_paints_core_black)
{
    anon_image img;
    CHECK(make_noise(&img, 100, 100, 3, 3) == 0);
    anon_box face = {30, 30, 40, 40, 0.9f};
    anon_blur_options o = {ANON_METHOD_FILL, 1.0f, true};
    CHECK(anon_anonymize(&img, &face, 1, &o, NULL) == 0);
    bool black = true;
    for (int y = 30; y < 70; y++)
        for (int x = 30; x < 70; x++)
            black = black && px(&img, x, y)[0] == 0 && px(&img, x, y)[1] == 0 &&
                    px(&img, x, y)[2] == 0;
    anon_image_free(&img);
    CHECK(black);
}

TEST(rgba_alpha_untouched)
{
    anon_image img, orig;
    CHECK(make_noise(&img, 120, 90, 4, 4) == 0 && copy_image(&img, &orig) == 0);
    anon_box face = {30, 20, 50, 50, 0.9f};
    CHECK(anon_anonymize(&img, &face, 1, NULL, NULL) == 0);
    bool alpha_same = true, rgb_changed = false;
    for (size_t i = 0; i < 120 * 90; i++) {
        alpha_same = alpha_same && img.pixels[i * 4 + 3] == orig.pixels[i * 4 + 3];
        rgb_changed = rgb_changed || memcmp(img.pixels + i * 4, orig.pixels + i * 4, 3) != 0;
    }
    anon_image_free(&img);
    anon_image_free(&orig);
    CHECK(alpha_same && rgb_changed);
}

TEST(odd_boxes_do_not_crash)
{
    anon_image img;
    CHECK(make_noise(&img, 64, 48, 3, 5) == 0);
    anon_box boxes[] = {
        {10, 10, 0.5f, 0.5f, 1},      /* tiny */
        {-100, -100, 120, 120, 1},    /* mostly outside, top-left */
        {60, 40, 200, 200, 1},        /* mostly outside, bottom-right */
        {-1000, -1000, 5000, 5000, 1},/* covers everything */
        {1e30f, 5, 10, 10, 1},        /* absurd position */
        {5, 5, NAN, 10, 1},
        {100, 100, 10, 10, 1},        /* outside */
        {0, 0, 64, 48, 1},            /* exactly the image */
    };
    anon_error err;
    for (int method = 0; method < 3; method++) {
        anon_blur_options o = {(anon_method)method, 1.3f, method == 2};
        CHECKF(anon_anonymize(&img, boxes, sizeof boxes / sizeof boxes[0], &o, &err) == 0,
               "method %d: %.300s", method, err.msg);
    }
    anon_image_free(&img);
}

TEST(tiny_face_still_anonymized)
{
    anon_image img, orig;
    CHECK(make_noise(&img, 64, 64, 3, 6) == 0 && copy_image(&img, &orig) == 0);
    anon_box face = {30, 30, 6, 6, 0.9f};
    CHECK(anon_anonymize(&img, &face, 1, NULL, NULL) == 0);
    anon_blur_options o;
    anon_blur_options_default(&o);
    anon_mask m;
    CHECK(anon_mask_for_box(&face, &o, 64, 64, &m));
    struct mask_stats s = compare(&orig, &img, &m);
    anon_image_free(&img);
    anon_image_free(&orig);
    CHECK(m.block == 4 && s.core > 0 && s.core_changed == s.core && s.outside_changed == 0);
}

/* ---------------------------------------------------------------- reference
 *
 * The blur spelled out the slow way, in doubles, for one box: pixelate the
 * mask's region into blocks (aligned on its top-left), blur it with three
 * box passes one block in radius along each axis (edges replicated), then
 * write it through the mask's weights. anon_anonymize computes the same
 * thing block-wise in floats, so the two agree within one level. */

static void box_pass(double *v, int n, size_t step, int r, double *tmp)
{
    for (int i = 0; i < n; i++) {
        double sum = 0;
        for (int k = i - r; k <= i + r; k++)
            sum += v[(size_t)(k < 0 ? 0 : k >= n ? n - 1 : k) * step];
        tmp[i] = sum / (2 * r + 1);
    }
    for (int i = 0; i < n; i++)
        v[(size_t)i * step] = tmp[i];
}

static void reference_box(anon_image *img, const anon_box *box, const anon_blur_options *o)
{
    anon_mask m;
    if (!anon_mask_for_box(box, o, img->width, img->height, &m))
        return;
    int w = m.x1 - m.x0, h = m.y1 - m.y0, b = m.block, ch = img->channels;
    double *v = calloc((size_t)w * (size_t)h * 3, sizeof *v);
    double *tmp = calloc((size_t)(w > h ? w : h), sizeof *tmp);
    for (int by = 0; by < h; by += b)
        for (int bx = 0; bx < w; bx += b)
            for (int c = 0; c < 3; c++) {
                int ey = by + b < h ? by + b : h, ex = bx + b < w ? bx + b : w;
                double sum = 0;
                for (int y = by; y < ey; y++)
                    for (int x = bx; x < ex; x++)
                        sum += px(img, m.x0 + x, m.y0 + y)[c];
                for (int y = by; y < ey; y++)
                    for (int x = bx; x < ex; x++)
                        v[((size_t)y * (size_t)w + (size_t)x) * 3 + (size_t)c] =
                            sum / ((ey - by) * (ex - bx));
            }
    for (int pass = 0; o->method == ANON_METHOD_BLUR && pass < 3; pass++)
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < h; y++)
                box_pass(v + (size_t)y * (size_t)w * 3 + (size_t)c, w, 3, b, tmp);
            for (int x = 0; x < w; x++)
                box_pass(v + (size_t)x * 3 + (size_t)c, h, (size_t)w * 3, b, tmp);
        }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double a = anon_mask_weight(&m, m.x0 + x, m.y0 + y);
            uint8_t *p = img->pixels +
                         ((size_t)(m.y0 + y) * (size_t)img->width + (size_t)(m.x0 + x)) * (size_t)ch;
            for (int c = 0; a > 0 && c < 3; c++) {
                double anon = o->method == ANON_METHOD_FILL ? 0 : v[((size_t)y * (size_t)w + (size_t)x) * 3 + (size_t)c];
                anon = floor(fmin(fmax(anon + 0.5, 0), 255));
                p[c] = (uint8_t)(a * anon + (1 - a) * p[c] + 0.5);
            }
        }
    free(v);
    free(tmp);
}

TEST(matches_a_straightforward_reference)
{
    /* Separate boxes (each box reads pixels the previous ones left), some
     * clipped by the image edges, on noise and on a smooth gradient, RGB
     * and RGBA, every method, ellipses and rectangles. */
    const anon_box boxes[] = {{20, 15, 70, 90, 0.9f}, {150, 40, 33, 41, 0.9f},
                              {-25, 130, 60, 70, 0.9f}, {200, 150, 90, 80, 0.9f},
                              {110, 150, 9, 12, 0.9f}};
    const size_t n = sizeof boxes / sizeof boxes[0];
    for (int variant = 0; variant < 12; variant++) {
        int channels = variant % 2 ? 4 : 3;
        anon_blur_options o = {(anon_method)(variant / 2 % 3), 1.3f, variant >= 6};
        anon_image got, want;
        CHECK(make_noise(&got, 260, 210, channels, (uint32_t)variant + 10) == 0);
        if (variant % 4 >= 2)
            for (int y = 0; y < 210; y++)
                for (int x = 0; x < 260; x++)
                    for (int c = 0; c < channels; c++)
                        got.pixels[((size_t)y * 260 + (size_t)x) * (size_t)channels + (size_t)c] =
                            (uint8_t)(x / 2 + y / 3 + 40 * c + (got.pixels[(size_t)y * 260 + (size_t)x] >> 5));
        CHECK(copy_image(&got, &want) == 0);
        CHECK(anon_anonymize(&got, boxes, n, &o, NULL) == 0);
        for (size_t i = 0; i < n; i++)
            reference_box(&want, &boxes[i], &o);
        long off = 0, changed = 0;
        for (size_t i = 0; i < (size_t)260 * 210 * (size_t)channels; i++) {
            off += abs(got.pixels[i] - want.pixels[i]) > 1;
            changed += got.pixels[i] != want.pixels[i];
        }
        anon_image_free(&got);
        anon_image_free(&want);
        CHECKF(off == 0, "variant %d: %ld bytes differ by more than 1 (%ld differ)", variant, off,
               changed);
    }
}

RUN_TESTS("blur",
          CASE(defaults_and_method_names),
          CASE(mask_geometry),
          CASE(blur_replaces_core_and_leaves_outside_alone),
          CASE(blur_hides_a_drawn_face),
          CASE(pixelate_is_blockwise_constant),
          CASE(fill_paints_core_black),
          CASE(rgba_alpha_untouched),
          CASE(odd_boxes_do_not_crash),
          CASE(tiny_face_still_anonymized),
          CASE(matches_a_straightforward_reference))
