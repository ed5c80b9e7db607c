/* test_draw.c - review copies: detections outlined with their score,
 * everything else of the photo left as it was. */
#include <math.h>

#include "check.h"
#include "redact/draw.h"

static int is_green(const anon_image *img, int x, int y)
{
    const uint8_t *p = img->pixels + ((size_t)y * img->width + x) * img->channels;
    return p[0] == 0 && p[1] == 255 && p[2] == 0;
}

static int is_gray(const anon_image *img, int x, int y)
{
    const uint8_t *p = img->pixels + ((size_t)y * img->width + x) * img->channels;
    return p[0] == 128 && p[1] == 128 && p[2] == 128;
}

static void gray_image(anon_image *img, int w, int h, int channels)
{
    anon_error err;
    if (anon_image_alloc(img, w, h, channels, &err) == 0)
        memset(img->pixels, 128, (size_t)w * h * channels);
}

TEST(box_outlined_inside_untouched)
{
    anon_image img = {0};
    gray_image(&img, 400, 300, 3);
    CHECK(img.pixels != NULL);
    anon_box box = {.x = 100, .y = 100, .w = 80, .h = 100, .score = 0.87f};
    anon_draw_detections(&img, &box, 1);
    CHECK(is_green(&img, 99, 150));      /* left edge, just outside */
    CHECK(is_green(&img, 180, 150));     /* right edge */
    CHECK(is_green(&img, 140, 200));     /* bottom edge */
    CHECK(is_gray(&img, 140, 150));      /* the face itself is not touched */
    CHECK(is_gray(&img, 300, 250));      /* nor the rest of the photo */
    CHECK(is_gray(&img, 140, 60));       /* above the label */
    int label = 0;                       /* the score's label above the box */
    for (int x = 96; x < 180; x++)
        label += is_green(&img, x, 90);
    CHECK(label > 10);
    anon_image_free(&img);
}

TEST(boxes_off_the_edge_and_degenerate_are_safe)
{
    anon_image img = {0};
    gray_image(&img, 64, 48, 4);
    CHECK(img.pixels != NULL);
    anon_box boxes[] = {
        {.x = -30, .y = -30, .w = 50, .h = 50, .score = 1.0f},
        {.x = 50, .y = 40, .w = 500, .h = 500, .score = 0.5f},
        {.x = 10, .y = 10, .w = 0, .h = 5, .score = 0.9f},
        {.x = 10, .y = 10, .w = NAN, .h = 5, .score = 0.9f},
    };
    anon_draw_detections(&img, boxes, sizeof boxes / sizeof boxes[0]);
    CHECK(is_green(&img, 20, 5));         /* the first box's right edge, clipped */
    CHECK(img.pixels[(5 * 64 + 20) * 4 + 3] == 255);   /* drawn opaque */
    anon_image_free(&img);
}

RUN_TESTS("draw",
          CASE(box_outlined_inside_untouched),
          CASE(boxes_off_the_edge_and_degenerate_are_safe))
