/* fuzz_jpeg.h - what the JPEG harnesses share: the fixed face regions the
 * pipeline would blur (no model: the same two boxes for every image), a
 * stand-in for the blur, and the check that every file written decodes.
 * Header-only, for tests/fuzz/fuzz_*.c. */
#ifndef ANON_FUZZ_JPEG_H
#define ANON_FUZZ_JPEG_H

#include <stdlib.h>

#include "codec/codec.h"

/* Images larger than this are refused from the header, as the pipeline's
 * --max-pixels does (and a fuzzer wants many small executions). */
#define FUZZ_MAX_PIXELS (1L << 20)

/* Two regions: one inside the image away from its edges, one over its
 * bottom-right corner and partly outside, which the writers must clip. */
static inline size_t fuzz_regions(int width, int height, anon_rect r[2])
{
    r[0] = (anon_rect){width / 4, height / 3, width / 3 + 1, height / 4 + 1};
    r[1] = (anon_rect){width - width / 5 - 3, height - height / 6 - 2, width / 3 + 9,
                       height / 3 + 9};
    return 2;
}

/* The blur's stand-in: changes every pixel of the regions (clipped). */
static inline void fuzz_blur(anon_image *img, const anon_rect *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (int y = r[i].y < 0 ? 0 : r[i].y; y < r[i].y + r[i].h && y < img->height; y++)
            for (int x = r[i].x < 0 ? 0 : r[i].x; x < r[i].x + r[i].w && x < img->width; x++) {
                uint8_t *p = img->pixels + ((size_t)y * (size_t)img->width + (size_t)x) *
                                               (size_t)img->channels;
                p[0] = (uint8_t)~p[0];
                p[1] = (uint8_t)(p[1] / 2 + 64);
            }
}

/* A file the block-wise writer made from a source that decoded cleanly
 * must decode again: anything else is a writer bug (abort: a finding). */
static inline void fuzz_check_output(const anon_buffer *out, int width, int height)
{
    if (out->len == 0)
        return;
    anon_image img;
    anon_image_info info;
    anon_error err;
    if (anon_decode(out->data, out->len, NULL, &img, &info, &err) != 0)
        abort();
    if (img.width != width || img.height != height || info.warnings.count != 0)
        abort();
    anon_image_free(&img);
}

#endif
