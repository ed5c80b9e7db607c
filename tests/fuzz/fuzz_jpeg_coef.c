/* fuzz_jpeg_coef.c - libFuzzer harness: the block-wise JPEG path through
 * libjpeg's coefficient arrays (jpeg_transcode.c, jpeg_coef.c), the one
 * progressive and arithmetic files take, called directly so that every
 * input goes through it (the pipeline sends baseline files to the scan
 * index instead): a reduced decode keeping every coefficient, the
 * regions' pixels made from the coefficients, replacement blocks pasted
 * (kept as blocks or as small JPEGs) and all coefficients written back. */
#include <stdint.h>
#include <string.h>

#include "codec/jpeg_transcode_private.h"
#include "fuzz_jpeg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    anon_image_info info;
    if (anon_probe(data, size, &info, NULL) != 0 || info.format != ANON_FMT_JPEG ||
        (long)info.width * info.height > FUZZ_MAX_PIXELS || !anon_jpeg_redact_supported(data, size))
        return 0;
    bool keep_metadata = size & 1, as_blocks = size & 2;    /* chosen by the input */
    anon_jpeg_transcode *t = NULL;
    anon_image small = {0}, img = {0};
    anon_jpeg_mcu_reader reader;
    anon_rect r[2];
    size_t n = fuzz_regions(info.width, info.height, r);
    anon_jpeg_patches *p = NULL;
    anon_buffer out = ANON_BUFFER_INIT;
    if (anon_jpeg_transcode_read(data, size, info.width, info.height, size & 4 ? 8 : 2, &small,
                                 &t, NULL) == 0 &&
        anon_jpeg_transcode_mcus(t, &reader) == 0 &&
        anon_jpeg_coef_regions(&reader, r, n, &img, NULL) == 0) {
        fuzz_blur(&img, r, n);
        int rc = as_blocks ? anon_jpeg_patches_make_blocks(data, size, &img, r, n, &p, NULL)
                           : anon_jpeg_patches_make(data, size, &img, r, n, &p, NULL);
        if (rc == 0 && anon_jpeg_transcode_write(t, data, size, p, keep_metadata, &out, NULL) == 0)
            fuzz_check_output(&out, info.width, info.height);
    }
    anon_image_free(&small);
    anon_image_free(&img);
    anon_jpeg_patches_free(p);
    anon_jpeg_transcode_free(t);
    anon_buffer_free(&out);
    return 0;
}
