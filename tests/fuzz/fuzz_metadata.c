/* fuzz_metadata.c - libFuzzer harness: the metadata readers and the
 * kept-metadata writer (image/metadata.c, codec/jpeg_markers.c).
 *
 * The input is taken both as an EXIF block (the TIFF structure after
 * "Exif\0\0") and as a file whose EXIF and ICC profile are looked up in
 * its JPEG segments or PNG chunks. What the writer keeps must hold only
 * tags of the keep-list, and keeping it again must give the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/jpeg_markers_private.h"
#include "image/image.h"
#include "image/metadata.h"

static void only_kept(void *ctx, const anon_exif_entry *e)
{
    (void)ctx;
    if (!anon_exif_tag_kept(e->ifd, e->tag) && !(e->ifd == ANON_IFD0 && e->tag == 0x8769))
        abort();    /* the writer let a tag through that is not on the keep-list */
}

/* Builds the kept subset of a TIFF block and checks it. */
static void keep(const uint8_t *tiff, size_t len)
{
    anon_exif_walk(tiff, len, NULL, NULL);
    (void)anon_exif_orientation(tiff, len);
    anon_buffer kept = ANON_BUFFER_INIT, again = ANON_BUFFER_INIT;
    if (anon_exif_build_kept(tiff, len, &kept, NULL) != 0)
        abort();
    if (kept.len > 0) {
        if (anon_exif_walk(kept.data, kept.len, only_kept, NULL) < 0 ||
            anon_exif_orientation(kept.data, kept.len) != 1)
            abort();
        if (anon_exif_build_kept(kept.data, kept.len, &again, NULL) != 0 ||
            again.len != kept.len || memcmp(again.data, kept.data, kept.len) != 0)
            abort();    /* the kept subset is a fixed point */
    }
    anon_buffer_free(&kept);
    anon_buffer_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    keep(data, size);
    const uint8_t *tiff;
    size_t tiff_len;
    if (anon_find_exif(data, size, &tiff, &tiff_len))
        keep(tiff, tiff_len);
    anon_buffer icc = ANON_BUFFER_INIT, segments = ANON_BUFFER_INIT;
    if (anon_find_icc_rgb(data, size, &icc, NULL) != 0)
        abort();
    if (anon_jpeg_source_segments(data, size, size & 1, &segments, NULL) != 0)
        abort();
    anon_buffer_free(&icc);
    anon_buffer_free(&segments);
    anon_image_info info;
    (void)anon_probe(data, size, &info, NULL);
    return 0;
}
