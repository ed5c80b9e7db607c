/* jpeg_coef_private.h - full-size pixels of a few MCUs from their DCT
 * coefficients (jpeg_coef.c), read through an MCU reader that the
 * indexed scan (jpeg_scan.c) or libjpeg's coefficient arrays
 * (jpeg_transcode.c) provide. */
#ifndef ANON_JPEG_COEF_PRIVATE_H
#define ANON_JPEG_COEF_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "codec/jpeg_lib_private.h"

/* The decompressor with libjpeg's inverse DCT set up (for full size when
 * full_size_idct, else for a reduced pass, whose multiplier tables
 * jpeg_idct_islow can still use), the MCUs across and down, and a reader
 * of any MCU's blocks (in an interleaved scan's order, coefficients in
 * natural order). */
typedef struct anon_jpeg_mcu_reader {
    j_decompress_ptr ci;
    anon_jpeg_errmgr *err;
    int mcus_x, mcus_y;
    bool (*read)(void *ctx, int mx, int my, JBLOCK *blocks);
    void *ctx;
    bool full_size_idct;
} anon_jpeg_mcu_reader;

/* At full size, the pixels of the whole MCUs covering the regions, as
 * libjpeg decodes them; the other pixels are left unset. Returns
 * ANON_DECLINED for a layout it does not take (other than 8-bit YCbCr or
 * gray, chroma 4:4:4, 4:2:2 or 4:2:0). */
int anon_jpeg_coef_regions(const anon_jpeg_mcu_reader *r, const anon_rect *regions, size_t n,
                           anon_image *img, anon_error *err);

#endif
