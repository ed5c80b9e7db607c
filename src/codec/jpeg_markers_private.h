/* jpeg_markers_private.h - the marker segments an output JPEG takes over
 * from its source: the kept EXIF subset as a fresh APP1 segment when
 * asked, and the RGB colour profile as APP2 chunks (image/metadata.h). */
#ifndef ANON_JPEG_MARKERS_PRIVATE_H
#define ANON_JPEG_MARKERS_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jpeglib.h>

#include "base/buffer.h"
#include "base/error.h"

/* Writes them through libjpeg, after jpeg_start_compress or
 * jpeg_write_coefficients. scratch holds a segment while it is written. */
int anon_jpeg_write_source_markers(j_compress_ptr ci, const uint8_t *source, size_t len,
                                   bool keep_metadata, anon_buffer *scratch, anon_error *err);

/* The same as whole marker segments (FF, marker, length, data), appended
 * to out, for writers that assemble the file themselves (jpeg_repack.c). */
int anon_jpeg_source_segments(const uint8_t *source, size_t len, bool keep_metadata,
                              anon_buffer *out, anon_error *err);

#endif
