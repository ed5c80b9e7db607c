/* bench_redact.c - block-wise JPEG output against a full re-encode.
 *
 * Built by make (build/bench_redact), run by scripts/bench-redact. A
 * generated 4000x3000 photo-like JPEG with three faces: both ways of
 * writing the anonymized result are timed in the same run (best of
 * ROUNDS), and the ratio printed. Decode and blur are
 * shared by both paths and reported separately. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "redact/blur.h"
#include "codec/codec.h"
#include "image/image.h"

#define W 4000
#define H 3000
#define ROUNDS 7

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *what, const anon_error *err)
{
    fprintf(stderr, "bench-redact: %s: %s\n", what, err->msg);
    exit(1);
}

int main(void)
{
    anon_image photo, img;
    anon_error err;
    if (anon_image_alloc(&photo, W, H, 3, &err) < 0)
        die("alloc", &err);
    uint32_t seed = 5;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *p = photo.pixels + ((size_t)y * W + (size_t)x) * 3;
            seed = seed * 1664525u + 1013904223u;
            p[0] = (uint8_t)(128 + 90 * sin(x / 40.0) + (seed >> 28));
            p[1] = (uint8_t)(128 + 90 * cos(y / 55.0) + (seed >> 28));
            p[2] = (uint8_t)((x / 8 + y / 8) % 160 + (seed >> 27));
        }
    anon_buffer src = ANON_BUFFER_INIT;
    anon_encode_options eo = {90, false, NULL, 0};
    if (anon_encode(&photo, ANON_FMT_JPEG, &eo, &src, &err) < 0)
        die("encode source", &err);
    anon_image_free(&photo);

    anon_box faces[3] = {{800, 600, 240, 300, 0.9f}, {2000, 1200, 120, 150, 0.9f},
                         {3300, 2200, 400, 480, 0.9f}};
    anon_blur_options bo;
    anon_blur_options_default(&bo);
    anon_rect regions[3];
    size_t nr = 0;
    for (int i = 0; i < 3; i++)
        nr += anon_box_region(&faces[i], &bo, W, H, &regions[nr]);

    double best_dec = 1e9, best_blur = 1e9, best_full = 1e9, best_redact = 1e9;
    size_t full_len = 0, redact_len = 0;
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = now_ms();
        if (anon_decode(src.data, src.len, NULL, &img, NULL, &err) < 0)
            die("decode", &err);
        double t1 = now_ms();
        if (anon_anonymize(&img, faces, 3, &bo, &err) < 0)
            die("blur", &err);
        double t2 = now_ms();
        anon_buffer full = ANON_BUFFER_INIT, part = ANON_BUFFER_INIT;
        if (anon_encode(&img, ANON_FMT_JPEG, &eo, &full, &err) < 0)
            die("full encode", &err);
        double t3 = now_ms();
        if (anon_jpeg_redact(src.data, src.len, &img, regions, nr, 90, false, &part, &err) < 0)
            die("redact", &err);
        double t4 = now_ms();
        best_dec = fmin(best_dec, t1 - t0);
        best_blur = fmin(best_blur, t2 - t1);
        best_full = fmin(best_full, t3 - t2);
        best_redact = fmin(best_redact, t4 - t3);
        full_len = full.len;
        redact_len = part.len;
        anon_buffer_free(&full);
        anon_buffer_free(&part);
        anon_image_free(&img);
    }
    printf("jpeg %dx%d, 3 faces, best of %d, CPU time: decode %.1f ms, blur %.1f ms\n", W, H, ROUNDS,
           best_dec, best_blur);
    printf("  full re-encode (q90): %7.1f ms  %zu bytes\n", best_full, full_len);
    printf("  block-wise redact:    %7.1f ms  %zu bytes (source %zu)\n", best_redact,
           redact_len, src.len);
    printf("  redact speed-up: %.2fx\n", best_full / best_redact);
    anon_buffer_free(&src);
    return 0;
}
