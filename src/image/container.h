/* container.h - walking the structure of JPEG and PNG files, no decoding.
 *
 * A JPEG is a sequence of marker segments (APPn metadata, tables, frame
 * and scan headers) around its entropy-coded data; a PNG is a signature
 * followed by chunks. The header probe (image.h), the metadata readers
 * (metadata.h) and the codecs' writers walk them with these two
 * iterators, which never read outside the buffer they are given: files
 * are untrusted. */
#ifndef ANON_CONTAINER_H
#define ANON_CONTAINER_H

#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- JPEG */

/* One marker segment. For markers without a payload (SOI, EOI, RSTn) data
 * is NULL and len 0. After SOS the walker skips the entropy-coded data. */
typedef struct anon_jpeg_segment {
    uint8_t marker;          /* the byte after 0xFF, e.g. 0xE1 for APP1 */
    const uint8_t *data;     /* payload after the 2-byte length */
    size_t len;
} anon_jpeg_segment;

/* Iterates the segments of a JPEG file; *pos starts at 0. Returns 1 with a
 * segment, 0 after EOI or at the end of the data, -1 when malformed. */
int anon_jpeg_segment_next(const uint8_t *buf, size_t len, size_t *pos,
                           anon_jpeg_segment *seg);

/* ---------------------------------------------------------------- PNG */

typedef struct anon_png_chunk {
    char type[5];
    const uint8_t *data;
    size_t len;
} anon_png_chunk;

/* Iterates the chunks of a PNG file after the signature; *pos starts at 0.
 * Returns 1 with a chunk, 0 after IEND or at the end, -1 when malformed. */
int anon_png_chunk_next(const uint8_t *buf, size_t len, size_t *pos,
                        anon_png_chunk *chunk);

#endif
