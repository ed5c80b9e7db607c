/* jpeg_patches_private.h - the replacement blocks of the block-wise path.
 *
 * A patch is one region's MCU-aligned crop of the anonymized pixels,
 * encoded with the source's own quantisation tables and sampling factors
 * (jpeg_patches.c), kept as a small JPEG or as its quantised blocks. The
 * writers (jpeg_source.c, jpeg_transcode.c) paste them over the source's
 * blocks at MCU column/row mx, my. */
#ifndef ANON_JPEG_PATCHES_PRIVATE_H
#define ANON_JPEG_PATCHES_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "codec/codec.h"
#include "codec/jpeg_lib_private.h"

/* A crop's blocks as libjpeg makes them: MCU by MCU, each block's
 * coefficients in zigzag order (what anon_jpeg_repack_write takes). */
typedef struct anon_jpeg_crop_blocks {
    JBLOCK *v;
    size_t mcus, at;
    int per_mcu, mcus_x;
} anon_jpeg_crop_blocks;

/* One re-encoded region: a small JPEG of its MCU-aligned crop, or its
 * blocks, to be pasted at MCU column/row mx, my of the source. */
typedef struct anon_jpeg_patch {
    unsigned char *jpeg;
    unsigned long size;
    anon_jpeg_crop_blocks blocks;    /* .v NULL for a JPEG patch */
    int mx, my;
} anon_jpeg_patch;

struct anon_jpeg_patches {
    size_t n, cap;    /* made, room for (a failed one may hold memory) */
    anon_jpeg_patch *v;
    int width, height;     /* the image's */
    int components;
    UINT16 quant[MAX_COMPONENTS][DCTSIZE2];    /* the tables the crops used */
};

/* Whether p was quantised with the tables the source's blocks use (a
 * table redefined between scans is latched only when its scan starts). */
bool anon_jpeg_patches_match(const anon_jpeg_patches *p, j_decompress_ptr ci);

#endif
