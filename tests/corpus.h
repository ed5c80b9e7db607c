/* corpus.h - the generated image corpus (scripts/make-bad-inputs) and what
 * each of its files must decode to. Shared by test_image.c and
 * test_bad_inputs.c. */
#ifndef ANON_TEST_CORPUS_H
#define ANON_TEST_CORPUS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buffer.h"
#include "image/image.h"

/* The upright test pattern every "pattern" file shows (tests/tools/make_bad_inputs.c). */
#define PATTERN_W 96
#define PATTERN_H 64

enum corpus_expect {
    EXPECT_PATTERN,   /* decodes to the upright pattern */
    EXPECT_DECODES,   /* decodes without a warning */
    EXPECT_DAMAGED,   /* decodes with warnings and the part it could not read
                         named (info.damaged): anon_process refuses it unless
                         accept_damaged, which fills that part */
    EXPECT_FAILS,     /* a clear one-line error */
};

struct corpus_file {
    const char *name;
    enum corpus_expect expect;
    int channels;
};

static const struct corpus_file corpus_files[] = {
    {"ok-baseline.jpg", EXPECT_PATTERN, 3},
    {"ok-progressive.jpg", EXPECT_PATTERN, 3},
    {"ok-arithmetic.jpg", EXPECT_PATTERN, 3},
    {"ok-cmyk-adobe.jpg", EXPECT_PATTERN, 3},
    {"ok-ycck-adobe.jpg", EXPECT_PATTERN, 3},
    {"ok-cmyk-plain.jpg", EXPECT_PATTERN, 3},
    {"ok-orient-1.jpg", EXPECT_PATTERN, 3},
    {"ok-orient-2.jpg", EXPECT_PATTERN, 3},
    {"ok-orient-3.jpg", EXPECT_PATTERN, 3},
    {"ok-orient-4.jpg", EXPECT_PATTERN, 3},
    {"ok-orient-5.jpg", EXPECT_PATTERN, 3},
    {"ok-orient-6.jpg", EXPECT_PATTERN, 3},
    {"ok-orient-7.jpg", EXPECT_PATTERN, 3},
    {"ok-orient-8.jpg", EXPECT_PATTERN, 3},
    {"ok-metadata.jpg", EXPECT_PATTERN, 3},
    {"ok-icc.jpg", EXPECT_PATTERN, 3},
    {"ok-textured.jpg", EXPECT_DECODES, 3},
    {"gray.jpg", EXPECT_DECODES, 3},
    {"ok-rgb8.png", EXPECT_PATTERN, 3},
    {"ok-rgb16.png", EXPECT_PATTERN, 3},
    {"ok-rgba16.png", EXPECT_PATTERN, 4},
    {"ok-interlaced.png", EXPECT_PATTERN, 3},
    {"ok-palette-trns.png", EXPECT_PATTERN, 4},
    {"ok-orient-1.png", EXPECT_PATTERN, 3},
    {"ok-orient-2.png", EXPECT_PATTERN, 3},
    {"ok-orient-3.png", EXPECT_PATTERN, 3},
    {"ok-orient-4.png", EXPECT_PATTERN, 3},
    {"ok-orient-5.png", EXPECT_PATTERN, 3},
    {"ok-orient-6.png", EXPECT_PATTERN, 3},
    {"ok-orient-7.png", EXPECT_PATTERN, 3},
    {"ok-orient-8.png", EXPECT_PATTERN, 3},
    {"ok-metadata.png", EXPECT_PATTERN, 3},
    {"ok-icc.png", EXPECT_PATTERN, 3},
    {"ok-textured.png", EXPECT_DECODES, 3},
    {"gray16.png", EXPECT_DECODES, 3},
    {"gray-alpha.png", EXPECT_DECODES, 4},
    {"recover-truncated.jpg", EXPECT_DAMAGED, 3},
    {"recover-truncated-progressive.jpg", EXPECT_DAMAGED, 3},
    {"recover-truncated-large.jpg", EXPECT_DAMAGED, 3},
    {"recover-corrupt-entropy.jpg", EXPECT_DAMAGED, 3},
    {"recover-corrupt-restart.jpg", EXPECT_DAMAGED, 3},
    {"recover-corrupt-large.jpg", EXPECT_DAMAGED, 3},
    {"recover-bogus-marker.jpg", EXPECT_DAMAGED, 3},
    {"recover-no-eoi-large.jpg", EXPECT_DAMAGED, 3},
    {"recover-rst-order-large.jpg", EXPECT_DAMAGED, 3},
    {"recover-zero-quant.jpg", EXPECT_DECODES, 3},
    {"recover-truncated.png", EXPECT_DAMAGED, 3},
    {"recover-truncated-interlaced.png", EXPECT_DAMAGED, 3},
    {"recover-idat-crc.png", EXPECT_DAMAGED, 3},
    {"bad-zero-bytes.jpg", EXPECT_FAILS, 0},
    {"bad-not-an-image.jpg", EXPECT_FAILS, 0},
    {"bad-truncated-interlaced-early.png", EXPECT_FAILS, 0},
    {"bad-truncated-header.jpg", EXPECT_FAILS, 0},
    {"bad-soi-only.jpg", EXPECT_FAILS, 0},
    {"bad-huge-header.jpg", EXPECT_FAILS, 0},
    {"bad-lossless-sof3.jpg", EXPECT_FAILS, 0},
    {"bad-many-scans.jpg", EXPECT_FAILS, 0},
    {"bad-bomb.png", EXPECT_FAILS, 0},
    {"bad-huge-header.png", EXPECT_FAILS, 0},
    {"bad-ihdr-crc.png", EXPECT_FAILS, 0},
    {"bad-signature-only.png", EXPECT_FAILS, 0},
    /* the defect classes of the block-wise path's own scan code (issue 14):
     * libjpeg's verdict here, and never a crash anywhere */
    {"crash-scan-ac-size.jpg", EXPECT_DECODES, 3},
    {"crash-repack-room.jpg", EXPECT_FAILS, 0},
    {"crash-repack-max-mcu.jpg", EXPECT_DECODES, 3},
    {"crash-huff-selector.jpg", EXPECT_FAILS, 0},
    {"crash-quant-selector.jpg", EXPECT_FAILS, 0},
    {"crash-sampling-11-22-11.jpg", EXPECT_DECODES, 3},
    {"crash-sampling-11-11-22.jpg", EXPECT_DECODES, 3},
    {"crash-scan-approximation.jpg", EXPECT_DAMAGED, 3},
};
#define CORPUS_COUNT (sizeof corpus_files / sizeof corpus_files[0])

/* Generates the corpus once per test program into a private directory. */
static char corpus_dir_[64];

static inline void corpus_remove(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", corpus_dir_);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", corpus_dir_);
}

static inline const char *corpus_dir(void)
{
    if (corpus_dir_[0] != '\0')
        return corpus_dir_;
    snprintf(corpus_dir_, sizeof corpus_dir_, "/tmp/anon-corpus-XXXXXX");
    if (mkdtemp(corpus_dir_) == NULL)
        return NULL;
    const char *root = getenv("ROOT");
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "'%s/scripts/make-bad-inputs' '%s' >&2",
             root ? root : ".", corpus_dir_);
    if (system(cmd) != 0)
        return NULL;
    atexit(corpus_remove);
    return corpus_dir_;
}

/* Reads a corpus file into b; returns 0 on success. */
static inline int corpus_read(const char *name, anon_buffer *b)
{
    const char *dir = corpus_dir();
    if (dir == NULL)
        return -1;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return anon_buffer_read_file(b, path, 0, NULL);
}

/* How far img is from the pattern: the largest difference of a quadrant's
 * mean colour (sampled away from the edges, where JPEG chroma bleeds)
 * from the expected one; 999 when the size is wrong. */
static inline int pattern_distance(const anon_image *img)
{
    static const int expected[4][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};
    if (img->width != PATTERN_W || img->height != PATTERN_H)
        return 999;
    int worst = 0;
    for (int q = 0; q < 4; q++) {
        int qx = (q % 2) * PATTERN_W / 2, qy = (q / 2) * PATTERN_H / 2;
        long sum[3] = {0, 0, 0}, n = 0;
        for (int y = qy + PATTERN_H / 8; y < qy + PATTERN_H * 3 / 8; y++)
            for (int x = qx + PATTERN_W / 8; x < qx + PATTERN_W * 3 / 8; x++, n++)
                for (int c = 0; c < 3; c++)
                    sum[c] += img->pixels[((size_t)y * (size_t)img->width + (size_t)x) *
                                          (size_t)img->channels + (size_t)c];
        for (int c = 0; c < 3; c++) {
            int d = abs((int)(sum[c] / n) - expected[q][c]);
            if (d > worst)
                worst = d;
        }
    }
    return worst;
}

#endif
