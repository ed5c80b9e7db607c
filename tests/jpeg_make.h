/* jpeg_make.h - JPEGs for tests, coded by libjpeg the ways cameras and
 * editors do (sampling, progressive, restart markers, optimised tables),
 * so that the JPEG paths can be checked on each. */
#ifndef ANON_TEST_JPEG_MAKE_H
#define ANON_TEST_JPEG_MAKE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <jpeglib.h>

#include "base/buffer.h"
#include "image/image.h"

typedef struct test_jpeg_coding {
    int quality;
    int h_samp, v_samp;    /* of luma: 1x1 4:4:4, 2x1 4:2:2, 2x2 4:2:0; 0: grayscale */
    bool progressive;
    int restart;           /* a restart marker every this many MCUs; 0 none */
    bool optimize;         /* Huffman tables made for the image (missing unused codes) */
} test_jpeg_coding;

/* Codes img (RGB) as `how` says and appends the file to out. */
static inline int test_jpeg_encode(const anon_image *img, const test_jpeg_coding *how,
                                   anon_buffer *out)
{
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&ci);
    unsigned char *buf = NULL;
    unsigned long size = 0;
    jpeg_mem_dest(&ci, &buf, &size);
    ci.image_width = (JDIMENSION)img->width;
    ci.image_height = (JDIMENSION)img->height;
    ci.input_components = 3;
    ci.in_color_space = JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, how->quality, TRUE);
    if (how->h_samp == 0) {
        jpeg_set_colorspace(&ci, JCS_GRAYSCALE);
    } else {
        ci.comp_info[0].h_samp_factor = how->h_samp;
        ci.comp_info[0].v_samp_factor = how->v_samp;
    }
    if (how->progressive)
        jpeg_simple_progression(&ci);
    ci.restart_interval = (unsigned)how->restart;
    ci.optimize_coding = how->optimize;
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = img->pixels + (size_t)ci.next_scanline * (size_t)img->width * 3;
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    int rc = anon_buffer_append(out, buf, size, NULL);
    free(buf);
    return rc;
}

#endif
