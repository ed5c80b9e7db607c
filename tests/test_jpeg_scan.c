/* test_jpeg_scan.c - the indexed scan (jpeg_scan.c) and its writer
 * (jpeg_repack.c): Huffman coding a block back gives the encoder's own
 * bits, every MCU decodes again from the index as in one pass, and
 * damaged or cut data is refused (ANON_DECLINED, for libjpeg's path) without
 * ever reading out of bounds (the suite runs under ASan). */
#include <stdio.h>

#include "check.h"
#include "codec/codec.h"
#include "codec/jpeg_repack_private.h"
#include "corpus.h"
#include "image/container.h"
#include "jpeg_make.h"

/* A w x h JPEG of a busy pattern from libjpeg, restart marker every
 * `restart` MCUs (0: none), 4:2:0 or gray, Huffman tables standard or
 * made for the image. */
static int encode_coded(int w, int h, int restart, bool gray, bool optimize, anon_buffer *out)
{
    anon_image img;
    if (anon_image_alloc(&img, w, h, 3, NULL) < 0)
        return -1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = img.pixels + ((size_t)y * (size_t)w + (size_t)x) * 3;
            p[0] = (uint8_t)(x * 5 + ((x / 7 + y / 3) % 2) * 120);
            p[1] = (uint8_t)(y * 3 + (x * y) % 31);
            p[2] = (uint8_t)((x ^ y) * 2);
        }
    test_jpeg_coding how = {.quality = 92, .h_samp = gray ? 0 : 2, .v_samp = 2,
                            .restart = restart, .optimize = optimize};
    int rc = test_jpeg_encode(&img, &how, out);
    anon_image_free(&img);
    return rc;
}

static int encode_pattern(int w, int h, int restart, bool gray, anon_buffer *out)
{
    return encode_coded(w, h, restart, gray, false, out);
}

/* Replaces every third MCU by its own coefficients, decoded again (and
 * the natural-order decode must agree with the zigzag one). */
static bool same_mcu_every_third(void *ctx, int mx, int my, JBLOCK *blocks)
{
    const anon_jpeg_scan *s = ctx;
    if ((mx + my) % 3 != 0)
        return false;
    JBLOCK natural[10];
    if (!anon_jpeg_scan_decode_mcu(s, mx, my, natural) ||
        !anon_jpeg_scan_decode_mcu_zigzag(s, mx, my, blocks))
        return false;
    for (int b = 0; b < anon_jpeg_scan_mcu_blocks(s); b++)
        for (int k = 0; k < 64; k++)
            if (natural[b][anon_jpeg_zigzag[k]] != blocks[b][k])
                abort();
    return true;
}

/* Replaces the top-left quarter of the MCUs by flat grey. */
static bool flat_quarter(void *ctx, int mx, int my, JBLOCK *blocks)
{
    const anon_jpeg_scan *s = ctx;
    if (mx >= anon_jpeg_scan_mcus_x(s) / 2 || my >= anon_jpeg_scan_mcus_y(s) / 2)
        return false;
    memset(blocks, 0, (size_t)anon_jpeg_scan_mcu_blocks(s) * sizeof *blocks);
    return true;
}

/* The bytes from the end of the scan header to the end of the file. */
static bool scan_bytes(const uint8_t *data, size_t len, const uint8_t **at, size_t *n)
{
    size_t pos = 0;
    anon_jpeg_segment seg;
    while (anon_jpeg_segment_next(data, len, &pos, &seg) == 1)
        if (seg.marker == 0xDA) {
            *at = seg.data + seg.len;
            *n = len - (size_t)(*at - data);
            return true;
        }
    return false;
}

TEST(recoding_an_mcu_gives_the_encoders_bits)
{
    /* The replaced MCUs and the ones after them (new DC predictors) are
     * Huffman-coded here; with their own coefficients the scan must come
     * out as libjpeg wrote it, restart markers and padding included. */
    static const struct { int restart; bool gray; } cases[] = {{0, false}, {5, false}, {0, true},
                                                              {3, true}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        anon_buffer src = ANON_BUFFER_INIT, out = ANON_BUFFER_INIT;
        CHECK(encode_pattern(203, 157, cases[i].restart, cases[i].gray, &src) == 0);
        anon_jpeg_scan *s;
        CHECK(anon_jpeg_scan_open(src.data, src.len, 1, NULL, &s, NULL) == 0);
        CHECK(anon_jpeg_repack_write(s, same_mcu_every_third, s, NULL, &out, NULL) == 0);
        const uint8_t *a, *b;
        size_t alen, blen;
        CHECK(scan_bytes(src.data, src.len, &a, &alen) && scan_bytes(out.data, out.len, &b, &blen));
        CHECKF(alen == blen && memcmp(a, b, alen) == 0, "case %zu: scans differ", i);
        anon_jpeg_scan_free(s);
        anon_buffer_free(&src);
        anon_buffer_free(&out);
    }
}

TEST(replaced_mcus_decode_as_replaced)
{
    anon_buffer src = ANON_BUFFER_INIT, out = ANON_BUFFER_INIT;
    CHECK(encode_pattern(203, 157, 4, false, &src) == 0);
    anon_jpeg_scan *s;
    CHECK(anon_jpeg_scan_open(src.data, src.len, 1, NULL, &s, NULL) == 0);
    CHECK(anon_jpeg_repack_write(s, flat_quarter, s, NULL, &out, NULL) == 0);
    anon_image before, after;
    CHECK(anon_decode(src.data, src.len, NULL, &before, NULL, NULL) == 0);
    CHECK(anon_decode(out.data, out.len, NULL, &after, NULL, NULL) == 0);
    /* flat grey in the 6 x 5 MCUs replaced (96 x 80 pixels), the source
     * beyond them (chroma upsampling reaches one pixel over) */
    int grey_ok = 1, same_ok = 1;
    for (int y = 0; y < 157; y++)
        for (int x = 0; x < 203; x++) {
            const uint8_t *p = after.pixels + ((size_t)y * 203 + (size_t)x) * 3;
            const uint8_t *q = before.pixels + ((size_t)y * 203 + (size_t)x) * 3;
            if (x < 95 && y < 79)
                grey_ok &= abs(p[0] - 128) <= 1 && abs(p[1] - 128) <= 1 && abs(p[2] - 128) <= 1;
            if (x >= 97 || y >= 81)
                same_ok &= memcmp(p, q, 3) == 0;
        }
    CHECK(grey_ok);
    CHECK(same_ok);
    anon_image_free(&before);
    anon_image_free(&after);
    anon_jpeg_scan_free(s);
    anon_buffer_free(&src);
    anon_buffer_free(&out);
}

/* Replaces MCU (1, 1) by a block whose DC jumps to 1000 (DC differences
 * of size category 10 or 11), which the pattern never has. */
static bool dc_jump(void *ctx, int mx, int my, JBLOCK *blocks)
{
    const anon_jpeg_scan *s = ctx;
    if (mx != 1 || my != 1)
        return false;
    memset(blocks, 0, (size_t)anon_jpeg_scan_mcu_blocks(s) * sizeof *blocks);
    blocks[0][0] = 1000;
    return true;
}

TEST(a_code_the_tables_lack_is_reported)
{
    /* Tables made for the image lack it: the writer declines (the caller
     * then writes libjpeg's way) and leaves out as it was; the standard
     * tables have every code. */
    for (int optimize = 1; optimize >= 0; optimize--) {
        anon_buffer src = ANON_BUFFER_INIT, out = ANON_BUFFER_INIT;
        CHECK(encode_coded(203, 157, 0, false, optimize, &src) == 0);
        anon_jpeg_scan *s;
        CHECK(anon_jpeg_scan_open(src.data, src.len, 1, NULL, &s, NULL) == 0);
        int rc = anon_jpeg_repack_write(s, dc_jump, s, NULL, &out, NULL);
        CHECKF(rc == (optimize ? ANON_DECLINED : 0), "optimize %d: rc %d", optimize, rc);
        CHECK(optimize ? out.len == 0 : out.len > 0);
        anon_jpeg_scan_free(s);
        anon_buffer_free(&src);
        anon_buffer_free(&out);
    }
}

TEST(cut_data_is_not_taken)
{
    anon_buffer src = ANON_BUFFER_INIT;
    CHECK(encode_pattern(203, 157, 0, false, &src) == 0);
    const uint8_t *a;
    size_t alen;
    CHECK(scan_bytes(src.data, src.len, &a, &alen));
    size_t header = src.len - alen;
    int taken = 0;
    for (size_t cut = header; cut < src.len - 2; cut += 97) {
        anon_jpeg_scan *s = NULL;
        anon_image small;
        taken += anon_jpeg_scan_open(src.data, cut, 4, &small, &s, NULL) != ANON_DECLINED;
        anon_jpeg_scan_free(s);
    }
    CHECKF(taken == 0, "%d cut files taken", taken);
    anon_buffer_free(&src);
}

TEST(damaged_data_never_reads_astray)
{
    /* Seeded mutations of the scan: each open is taken (0) or declined,
     * and what is taken decodes and writes without a fault. */
    uint32_t seed = 20261122;
    int taken = 0, refused = 0;
    for (int restart = 0; restart <= 2; restart += 2) {
        anon_buffer src = ANON_BUFFER_INIT;
        CHECK(encode_pattern(120, 90, restart, false, &src) == 0);
        const uint8_t *a;
        size_t alen;
        CHECK(scan_bytes(src.data, src.len, &a, &alen));
        size_t header = src.len - alen;
        for (int round = 0; round < 300; round++) {
            anon_buffer bad = ANON_BUFFER_INIT, out = ANON_BUFFER_INIT;
            CHECK(anon_buffer_append(&bad, src.data, src.len, NULL) == 0);
            for (int k = 0; k <= round % 4; k++) {
                seed = seed * 1664525u + 1013904223u;
                size_t at = header + (seed >> 8) % (alen - 2);
                bad.data[at] = (uint8_t)(seed >> 24);
            }
            anon_jpeg_scan *s = NULL;
            anon_image small;
            int rc = anon_jpeg_scan_open(bad.data, bad.len, 2, &small, &s, NULL);
            CHECK(rc == 0 || rc == ANON_DECLINED);
            if (rc == 0) {
                taken++;
                anon_image_free(&small);
                CHECK(anon_jpeg_repack_write(s, same_mcu_every_third, s, NULL, &out, NULL) >= 0);
            } else {
                refused++;
            }
            anon_jpeg_scan_free(s);
            anon_buffer_free(&bad);
            anon_buffer_free(&out);
        }
        anon_buffer_free(&src);
    }
    CHECKF(taken > 0 && refused > 0, "%d taken, %d refused", taken, refused);
}

TEST(other_codings_are_not_taken)
{
    static const char *const names[] = {"ok-progressive.jpg", "ok-arithmetic.jpg"};
    for (int i = 0; i < 2; i++) {
        anon_buffer src = ANON_BUFFER_INIT;
        if (corpus_read(names[i], &src) < 0) {
            CHECKF(false, "no %s in the bad-inputs corpus", names[i]);
            continue;
        }
        anon_jpeg_scan *s = NULL;
        CHECKF(anon_jpeg_scan_open(src.data, src.len, 1, NULL, &s, NULL) == ANON_DECLINED, "%s",
               names[i]);
        anon_jpeg_scan_free(s);
        anon_buffer_free(&src);
    }
}

TEST(hostile_scans_are_declined)
{
    /* The defect classes fuzzing found (issue 14, tests/tools/make_bad_inputs.c):
     * table selectors out of range, AC sizes over 10, a code of all ones,
     * luma sampled below chroma, successive approximation in a sequential
     * scan. Libjpeg's path gets them. */
    static const char *const names[] = {"crash-scan-ac-size.jpg", "crash-repack-room.jpg",
                                        "crash-huff-selector.jpg", "crash-quant-selector.jpg",
                                        "crash-sampling-11-22-11.jpg",
                                        "crash-sampling-11-11-22.jpg",
                                        "crash-scan-approximation.jpg"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        anon_buffer src = ANON_BUFFER_INIT;
        CHECKF(corpus_read(names[i], &src) == 0, "no %s in the corpus", names[i]);
        anon_jpeg_scan *s = NULL;
        anon_image small;
        int rc = anon_jpeg_scan_open(src.data, src.len, 2, &small, &s, NULL);
        anon_jpeg_scan_free(s);
        anon_buffer_free(&src);
        CHECKF(rc == ANON_DECLINED, "%s: %d", names[i], rc);
    }
}

TEST(largest_mcus_are_copied_and_coded)
{
    /* Ten blocks of 16-bit codes and the largest values per MCU, nearly
     * every byte stuffed: the re-packer's room for a copied and a coded
     * MCU, under ASan; recoded with their own coefficients they come out
     * as they were. */
    anon_buffer src = ANON_BUFFER_INIT, out = ANON_BUFFER_INIT;
    CHECK(corpus_read("crash-repack-max-mcu.jpg", &src) == 0);
    anon_jpeg_scan *s;
    anon_image small;
    CHECK(anon_jpeg_scan_open(src.data, src.len, 2, &small, &s, NULL) == 0);
    anon_image_free(&small);
    CHECK(anon_jpeg_repack_write(s, same_mcu_every_third, s, NULL, &out, NULL) == 0);
    const uint8_t *a, *b;
    size_t alen, blen;
    CHECK(scan_bytes(src.data, src.len, &a, &alen) && scan_bytes(out.data, out.len, &b, &blen));
    CHECK(alen == blen && memcmp(a, b, alen) == 0);
    anon_jpeg_scan_free(s);
    anon_buffer_free(&src);
    anon_buffer_free(&out);
}

RUN_TESTS("jpeg_scan",
          CASE(recoding_an_mcu_gives_the_encoders_bits),
          CASE(replaced_mcus_decode_as_replaced),
          CASE(a_code_the_tables_lack_is_reported),
          CASE(cut_data_is_not_taken),
          CASE(damaged_data_never_reads_astray),
          CASE(other_codings_are_not_taken),
          CASE(hostile_scans_are_declined),
          CASE(largest_mcus_are_copied_and_coded))
