/* jpeg_markers.c - the source's kept metadata as JPEG marker segments
 * (see jpeg_markers_private.h). */
#include "codec/jpeg_markers_private.h"

#include "image/metadata.h"

/* Appends one whole segment: marker, length, prefix, data. */
static int append_segment(anon_buffer *out, int marker, const uint8_t *prefix, size_t plen,
                          const uint8_t *data, size_t len, anon_error *err)
{
    size_t seglen = 2 + plen + len;
    uint8_t head[4] = {0xFF, (uint8_t)marker, (uint8_t)(seglen >> 8), (uint8_t)seglen};
    if (anon_buffer_append(out, head, sizeof head, err) < 0 ||
        anon_buffer_append(out, prefix, plen, err) < 0)
        return -1;
    return anon_buffer_append(out, data, len, err);
}

/* An ICC profile as APP2 chunks, the way jpeg_write_icc_profile splits it. */
static int append_icc(anon_buffer *out, const uint8_t *icc, size_t len, anon_error *err)
{
    enum { CHUNK = 65519 };
    size_t chunks = (len + CHUNK - 1) / CHUNK;
    if (chunks > 255)
        return 0;    /* too large for the APP2 convention: dropped, like libjpeg */
    for (size_t i = 0; i < chunks; i++) {
        uint8_t prefix[14] = "ICC_PROFILE";
        prefix[12] = (uint8_t)(i + 1);
        prefix[13] = (uint8_t)chunks;
        size_t n = len - i * CHUNK < CHUNK ? len - i * CHUNK : CHUNK;
        if (append_segment(out, 0xE2, prefix, sizeof prefix, icc + i * CHUNK, n, err) < 0)
            return -1;
    }
    return 0;
}

int anon_jpeg_source_segments(const uint8_t *source, size_t len, bool keep_metadata,
                              anon_buffer *out, anon_error *err)
{
    const uint8_t *tiff;
    size_t tiff_len;
    anon_buffer scratch = ANON_BUFFER_INIT;
    int rc = 0;
    if (source == NULL)
        return 0;
    if (keep_metadata && anon_find_exif(source, len, &tiff, &tiff_len)) {
        rc = anon_exif_build_kept(tiff, tiff_len, &scratch, err);
        if (rc == 0 && scratch.len > 0 && scratch.len + 6 <= 65533)
            rc = append_segment(out, 0xE1, (const uint8_t *)"Exif\0\0", 6, scratch.data,
                                scratch.len, err);
    }
    scratch.len = 0;
    if (rc == 0)
        rc = anon_find_icc_rgb(source, len, &scratch, err);
    if (rc == 0 && scratch.len > 0)
        rc = append_icc(out, scratch.data, scratch.len, err);
    anon_buffer_free(&scratch);
    return rc;
}

int anon_jpeg_write_source_markers(j_compress_ptr ci, const uint8_t *source, size_t len,
                                   bool keep_metadata, anon_buffer *scratch, anon_error *err)
{
    scratch->len = 0;
    if (anon_jpeg_source_segments(source, len, keep_metadata, scratch, err) < 0)
        return -1;
    size_t pos = 0;
    while (pos + 4 <= scratch->len) {
        size_t seglen = (size_t)scratch->data[pos + 2] << 8 | scratch->data[pos + 3];
        jpeg_write_marker(ci, scratch->data[pos + 1], scratch->data + pos + 4,
                          (unsigned)(seglen - 2));
        pos += 2 + seglen;
    }
    return 0;
}
