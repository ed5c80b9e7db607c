/* fuzz_png.c - libFuzzer harness: PNG decode (png.c through codec.h), and
 * the decoded image written again as PNG and JPEG with the source's kept
 * metadata (its eXIf and iCCP chunks read, the kept EXIF built). A PNG
 * written from a decoded image must decode to the same pixels. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"

#define FUZZ_MAX_PIXELS (1L << 20)

/* out must decode to img exactly (PNG is lossless). */
static void check_png(const anon_buffer *out, const anon_image *img)
{
    anon_image back;
    if (anon_decode(out->data, out->len, NULL, &back, NULL, NULL) != 0)
        abort();
    size_t bytes = (size_t)img->width * (size_t)img->height * (size_t)img->channels;
    if (back.width != img->width || back.height != img->height ||
        back.channels != img->channels || memcmp(back.pixels, img->pixels, bytes) != 0)
        abort();
    anon_image_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    anon_decode_options o = {FUZZ_MAX_PIXELS, 1};
    anon_image img;
    anon_image_info info;
    if (anon_decode(data, size, &o, &img, &info, NULL) != 0)
        return 0;
    anon_encode_options eo = {90, size & 1, data, size};
    anon_buffer out = ANON_BUFFER_INIT;
    if (anon_encode(&img, ANON_FMT_PNG, &eo, &out, NULL) != 0)
        abort();    /* a decoded image always encodes */
    check_png(&out, &img);
    out.len = 0;
    if (anon_encode(&img, ANON_FMT_JPEG, &eo, &out, NULL) != 0)
        abort();
    anon_buffer_free(&out);
    anon_image_free(&img);
    return 0;
}
