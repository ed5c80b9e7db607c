/* jpeg_repack_private.h - writing a JPEG whose scan is an indexed source's
 * (jpeg_scan_private.h) but for some MCUs (jpeg_repack.c). */
#ifndef ANON_JPEG_REPACK_PRIVATE_H
#define ANON_JPEG_REPACK_PRIVATE_H

#include <stdbool.h>

#include "base/buffer.h"
#include "base/error.h"
#include "codec/jpeg_scan_private.h"

/* Replacement MCUs for anon_jpeg_repack_write: fills blocks (scan order,
 * coefficients in zigzag order) and returns true when MCU (mx, my) is
 * replaced. */
typedef bool (*anon_jpeg_mcu_source)(void *ctx, int mx, int my, JBLOCK *blocks);

/* Writes the file: SOI, JFIF, `markers` (whole segments, as
 * anon_jpeg_source_segments makes them), the source's tables, frame and
 * scan headers as they were, the scan with the replaced MCUs, EOI.
 * Returns ANON_DECLINED (out as it was) when a replacement needs a
 * Huffman code the source's tables lack, or a coefficient out of the
 * baseline range. */
int anon_jpeg_repack_write(const anon_jpeg_scan *s, anon_jpeg_mcu_source replaced, void *ctx,
                           const anon_buffer *markers, anon_buffer *out, anon_error *err);

#endif
