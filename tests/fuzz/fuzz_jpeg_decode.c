/* fuzz_jpeg_decode.c - libFuzzer harness: JPEG decoding through codec.h
 * (jpeg.c around libjpeg: the header probe, every colour space to RGB,
 * rows turned upright for each EXIF orientation as they arrive, damaged
 * data recovered, DCT scaling, the regions-only decode) and the JPEG
 * encoder with the source's kept metadata (EXIF subset, RGB profile). */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_jpeg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int denoms[4] = {1, 2, 4, 8};
    anon_decode_options o = {FUZZ_MAX_PIXELS, denoms[size & 3]};
    anon_image img;
    anon_image_info info;
    if (anon_decode(data, size, &o, &img, &info, NULL) == 0) {
        anon_encode_options eo = {90, size & 4, data, size};
        anon_buffer out = ANON_BUFFER_INIT;
        if (anon_encode(&img, ANON_FMT_JPEG, &eo, &out, NULL) != 0)
            abort();    /* a decoded image always encodes */
        anon_buffer_free(&out);
        anon_image_free(&img);
    }
    if (info.format == ANON_FMT_JPEG && (long)info.width * info.height <= FUZZ_MAX_PIXELS) {
        anon_rect r[2];
        size_t n = fuzz_regions(info.width, info.height, r);
        if (anon_jpeg_decode_regions(data, size, r, n, &img, NULL) == 0)
            anon_image_free(&img);
    }
    return 0;
}
