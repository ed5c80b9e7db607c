/* pipeline.h - one image in, one anonymized image out.
 *
 * The single pipeline that both `anonctl blur` and the `drain` worker call:
 * probe (size limits) -> decode (upright) -> detect -> blur -> encode
 * without metadata. Bytes in, bytes out, no files and no services, so the
 * same code runs on a laptop and in a Kubernetes Job. */
#ifndef ANON_PIPELINE_H
#define ANON_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redact/blur.h"
#include "base/buffer.h"
#include "detect/detect.h"
#include "base/error.h"
#include "image/image.h"

typedef struct anon_process_options {
    anon_detect_options detect;
    anon_blur_options blur;
    long max_pixels;       /* refuse larger images before decoding */
    bool keep_metadata;    /* keep harmless tags; never GPS or thumbnails */
    int jpeg_quality;      /* for re-encoded JPEG output */
    bool reencode;         /* JPEG: re-encode the whole image instead of only
                              the blocks under the masks */
    int detect_input;      /* the model's input size N: a JPEG whose only
                              detection pass is the whole frame is decoded at
                              the DCT scale (1/2, 1/4, 1/8) that still gives
                              N pixels (or detect.input_size, if larger) on
                              its longer side; 0 = full size */
    bool accept_damaged;   /* a photo its decoder reports damaged (cut short,
                              corrupt data, any warning) is refused by
                              default, since the detector cannot see what the
                              decoder could not read; with this it is
                              processed as decoded and the part the decoder
                              could not read (anon_image_info.damaged) is
                              filled before detection */
} anon_process_options;

typedef struct anon_result {
    anon_format format;
    int width, height;     /* upright output size */
    anon_boxes faces;
    double ms_decode, ms_detect, ms_blur, ms_encode;
    /* The decoder's warnings (anon_image_info's), also when anon_process
     * fails on them: 0 for a clean photo. */
    anon_warnings warnings;
    anon_rect covered;     /* accept_damaged: the part filled (w == 0: none) */
} anon_result;

/* The default preset for the model (NULL: the default model), default blur,
 * limits and quality. */
void anon_process_options_default(anon_process_options *o, const anon_model *model);

/* A photo that cannot be read (not decodable, too many pixels, damaged
 * without accept_damaged) fails with ANON_ERR_INPUT in err: retrying will
 * not help. Every path (the one-decode scan index, the reduced decode, the
 * full decode and the region decode) reaches the same verdict on a file:
 * the fast ones take only files libjpeg decodes without a warning and
 * leave any other to the full decode, which decides. */
int anon_process(anon_detector *d, const uint8_t *in, size_t in_len,
                 const anon_process_options *o, anon_buffer *out,
                 anon_result *res, anon_error *err);

void anon_result_free(anon_result *res);

#endif
