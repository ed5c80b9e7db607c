/* jpeg_scan_private.h - a baseline JPEG's entropy-coded data, indexed and re-packed.
 *
 * The block-wise writer (jpeg_source.c) used to hand the whole photo's
 * DCT coefficients to libjpeg (jpeg_read_coefficients, then
 * jpeg_write_coefficients), which Huffman-decodes every block, holds all
 * of them (3 bytes per pixel at 4:2:0: 72 MB for 24 MP) and Huffman-codes
 * every block again, although only the few MCUs under the faces change.
 *
 * Here the scan is decoded once, by our own Huffman decoder (jpeg_scan.c),
 * which keeps no coefficients: it records where each MCU starts (bit
 * offset, DC predictors), and on the way builds the reduced detection
 * image from each block's low frequencies. Any MCU can then be decoded
 * again on its own (the face regions, jpeg_coef.c), and the file is
 * written by copying the bits of every unchanged MCU and Huffman-coding
 * only the replaced MCUs and the one after each of them, whose DC
 * difference changed (jpeg_repack.c). The output's unchanged blocks are
 * the source's bits, so they decode identically.
 *
 * Taken: one interleaved baseline (or extended 8-bit) Huffman scan over
 * all components, 8-bit YCbCr or grayscale, with or without restart
 * markers. Anything else (progressive, arithmetic, several scans, a
 * damaged stream, a table missing a symbol a replacement needs) returns
 * ANON_DECLINED so that the caller takes libjpeg's path. */
#ifndef ANON_JPEG_SCAN_PRIVATE_H
#define ANON_JPEG_SCAN_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/jpeg_lib_private.h"

typedef struct anon_jpeg_scan anon_jpeg_scan;

/* Indexes src's scan. With small (else NULL) also makes the whole image at
 * 1/denom (1, 2, 4 or 8; ceil(width / denom) wide, like libjpeg's scaled
 * decode) for detection. Returns ANON_DECLINED (*out NULL) when src is not
 * taken. */
int anon_jpeg_scan_open(const uint8_t *src, size_t len, int denom, anon_image *small,
                        anon_jpeg_scan **out, anon_error *err);
void anon_jpeg_scan_free(anon_jpeg_scan *s);

/* Sets up libjpeg's inverse DCT for a full-size output pass (once;
 * ANON_DECLINED if libjpeg refuses), for jpeg_coef.c. */
int anon_jpeg_scan_start_idct(anon_jpeg_scan *s);

/* The decompressor holding the parsed header (and after
 * anon_jpeg_scan_start_idct, the inverse DCT), and its error manager. */
j_decompress_ptr anon_jpeg_scan_cinfo(anon_jpeg_scan *s, anon_jpeg_errmgr **errmgr);

/* MCUs across and down. */
int anon_jpeg_scan_mcus_x(const anon_jpeg_scan *s);
int anon_jpeg_scan_mcus_y(const anon_jpeg_scan *s);

/* Blocks per MCU, in scan order (component by component, each
 * v_samp x h_samp blocks row by row). */
int anon_jpeg_scan_mcu_blocks(const anon_jpeg_scan *s);

/* Decodes MCU (mx, my) again: its blocks in scan order, coefficients in
 * natural (row-major) order, as stored (quantised). False if the data
 * there is broken (cannot happen after a successful open). */
bool anon_jpeg_scan_decode_mcu(const anon_jpeg_scan *s, int mx, int my, JBLOCK *blocks);

/* The same with each block's coefficients in zigzag order, as they are
 * coded: what anon_jpeg_repack_write takes. */
bool anon_jpeg_scan_decode_mcu_zigzag(const anon_jpeg_scan *s, int mx, int my, JBLOCK *blocks);

/* ---- shared by jpeg_scan.c and jpeg_repack.c */

/* The scan's data without byte stuffing and markers, followed by zero
 * bytes (more than one MCU can read), so that a reader may load 8 bytes
 * anywhere in it and a damaged MCU is caught after it is decoded. */
typedef struct anon_jpeg_bits {
    uint8_t *data;
    size_t len;    /* bytes of data */
} anon_jpeg_bits;

/* The next 32 bits from bit position pos. */
static inline uint32_t anon_jpeg_peek32(const uint8_t *data, uint64_t pos)
{
    const uint8_t *p = data + (pos >> 3);
    uint64_t v = ((uint64_t)p[0] << 56) | ((uint64_t)p[1] << 48) | ((uint64_t)p[2] << 40) |
                 ((uint64_t)p[3] << 32) | ((uint64_t)p[4] << 24) | ((uint64_t)p[5] << 16) |
                 ((uint64_t)p[6] << 8) | (uint64_t)p[7];
    return (uint32_t)((v << (pos & 7)) >> 32);
}

/* What jpeg_repack.c needs of an open scan. */
typedef struct anon_jpeg_scan_layout {
    const uint8_t *src;          /* the file */
    size_t header_end;           /* offset of the first entropy-coded byte */
    const anon_jpeg_bits *bits;
    const uint64_t *mcu_pos;     /* bit offset of each MCU */
    const uint64_t *interval_end;    /* where each restart interval's last MCU ends */
    const int16_t *mcu_pred;     /* DC predictors at each MCU's start, per component */
    int n_mcus, mcus_x, restart_interval, comps;
    int blocks_in_mcu;
    int block_comp[10];          /* the component of each block of an MCU */
    const JHUFF_TBL *dc[4], *ac[4];    /* per component */
} anon_jpeg_scan_layout;

const anon_jpeg_scan_layout *anon_jpeg_scan_layout_of(const anon_jpeg_scan *s);

#endif
