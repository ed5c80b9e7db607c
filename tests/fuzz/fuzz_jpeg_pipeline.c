/* fuzz_jpeg_pipeline.c - libFuzzer harness: the one-image pipeline on JPEG
 * input, with fixed face regions instead of a detector.
 *
 * Calls the codec functions anon_process (src/redact/anonymize.c) calls,
 * in its order: the one-decode path (the scan index and reduced image, the
 * regions' MCUs decoded again from their coefficients, replacement blocks,
 * the re-packer, and libjpeg's coefficient route where the index
 * declines), the reduced path's fallback (libjpeg decodes the regions,
 * patches as small JPEGs, the source read again), and the full decode
 * with the block-wise writer and its re-encode fallback: one of them per
 * input, chosen by its length, so that each execution stays short. Every
 * file written must decode (fuzz_jpeg.h). */
#include <stdint.h>
#include <string.h>

#include "fuzz_jpeg.h"

/* process_jpeg_source: one entropy decode for everything. */
static void one_decode(const uint8_t *data, size_t size, const anon_image_info *info,
                       int denom, bool keep_metadata)
{
    anon_jpeg_source *src = NULL;
    anon_image small = {0}, img = {0};
    anon_rect r[2];
    size_t n = fuzz_regions(info->width, info->height, r);
    anon_jpeg_patches *p = NULL;
    anon_buffer out = ANON_BUFFER_INIT;
    if (anon_jpeg_source_read(data, size, info->width, info->height, denom, &small, &src,
                              NULL) != 0)
        return;
    anon_image_free(&small);
    if (anon_jpeg_source_regions(src, r, n, &img, NULL) == 0) {
        fuzz_blur(&img, r, n);
        if (anon_jpeg_patches_make_blocks(data, size, &img, r, n, &p, NULL) == 0 &&
            anon_jpeg_source_write(src, data, size, p, keep_metadata, &out, NULL) == 0)
            fuzz_check_output(&out, info->width, info->height);
    }
    anon_image_free(&img);
    anon_jpeg_patches_free(p);
    anon_jpeg_source_free(src);
    anon_buffer_free(&out);
}

/* process_jpeg_reduced's writer: libjpeg decodes the regions, the patches
 * are small JPEGs, the source is read again to write them. */
static void regions_decode(const uint8_t *data, size_t size, const anon_image_info *info,
                           bool keep_metadata)
{
    anon_image img = {0};
    anon_rect r[2];
    size_t n = fuzz_regions(info->width, info->height, r);
    anon_jpeg_patches *p = NULL;
    anon_buffer out = ANON_BUFFER_INIT;
    if (anon_jpeg_decode_regions(data, size, r, n, &img, NULL) == 0) {
        fuzz_blur(&img, r, n);
        if (anon_jpeg_patches_make(data, size, &img, r, n, &p, NULL) == 0 &&
            anon_jpeg_patches_apply(data, size, p, keep_metadata, &out, NULL) == 0)
            fuzz_check_output(&out, info->width, info->height);
    }
    anon_image_free(&img);
    anon_jpeg_patches_free(p);
    anon_buffer_free(&out);
}

/* The full path: decode, blur, and the block-wise writer with its
 * re-encode fallback (encode_output). */
static void full_decode(const uint8_t *data, size_t size, bool keep_metadata)
{
    anon_decode_options o = {FUZZ_MAX_PIXELS, 1};
    anon_image img;
    anon_image_info info;
    if (anon_decode(data, size, &o, &img, &info, NULL) != 0)
        return;
    anon_rect r[2];
    size_t n = fuzz_regions(img.width, img.height, r);
    fuzz_blur(&img, r, n);
    anon_buffer out = ANON_BUFFER_INIT;
    int rc = anon_jpeg_redact_supported(data, size)
                 ? anon_jpeg_redact(data, size, &img, r, n, 90, keep_metadata, &out, NULL)
                 : anon_encode(&img, ANON_FMT_JPEG, NULL, &out, NULL);
    if (rc == 0)
        fuzz_check_output(&out, img.width, img.height);
    anon_image_free(&img);
    anon_buffer_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    anon_image_info info;
    if (anon_probe(data, size, &info, NULL) != 0 || info.format != ANON_FMT_JPEG ||
        (long)info.width * info.height > FUZZ_MAX_PIXELS)
        return 0;
    bool keep_metadata = size & 1;    /* options and path chosen by the input */
    switch (size / 2 % 4) {
    case 0:
    case 1:
        if (anon_jpeg_redact_supported(data, size))
            one_decode(data, size, &info, size & 8 ? 8 : 2, keep_metadata);
        break;
    case 2:
        if (anon_jpeg_redact_supported(data, size))
            regions_decode(data, size, &info, keep_metadata);
        break;
    default:
        full_decode(data, size, keep_metadata);
        break;
    }
    return 0;
}
