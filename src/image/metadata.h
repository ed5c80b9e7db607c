/* metadata.h - reading EXIF for orientation and building the kept subset.
 *
 * The decoders need one thing from the metadata: the EXIF orientation, so
 * that pixels come out upright. The encoders write no metadata at all,
 * unless asked to keep the harmless subset; then they get a freshly built,
 * minimal EXIF block (never the original one) holding only whitelisted
 * tags: no GPS, no serial numbers, no maker notes, no owner names, no
 * thumbnail, no orientation (pixels are already upright).
 *
 * EXIF data here means the TIFF structure as stored after "Exif\0\0" in a
 * JPEG APP1 segment or in a PNG eXIf chunk. Every reader is bounds-checked:
 * metadata comes from untrusted files. */
#ifndef ANON_METADATA_H
#define ANON_METADATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buffer.h"
#include "base/error.h"

/* The IFDs of an EXIF block, as reported by anon_exif_walk. */
enum { ANON_IFD0 = 0, ANON_IFD_EXIF, ANON_IFD_GPS, ANON_IFD_INTEROP, ANON_IFD1 };

/* One tag as stored. value points into the block (value_len bytes, in the
 * block's byte order, big_endian tells which). */
typedef struct anon_exif_entry {
    int ifd;
    uint16_t tag, type;
    uint32_t count;
    const uint8_t *value;
    size_t value_len;
    bool big_endian;
} anon_exif_entry;

/* Calls fn for every readable tag of IFD0, the Exif, GPS and Interop IFDs
 * and IFD1 (the thumbnail's). Malformed parts are skipped. Returns the
 * number of entries visited, -1 when the block has no TIFF header. */
typedef void (*anon_exif_visit)(void *ctx, const anon_exif_entry *e);
int anon_exif_walk(const uint8_t *tiff, size_t len, anon_exif_visit fn, void *ctx);

/* The orientation tag (1..8), 1 when absent or invalid. */
int anon_exif_orientation(const uint8_t *tiff, size_t len);

/* Finds the EXIF block of a JPEG (APP1 "Exif\0\0") or PNG (eXIf chunk)
 * file. Returns false when there is none. */
bool anon_find_exif(const uint8_t *file, size_t len, const uint8_t **tiff,
                    size_t *tiff_len);

/* True when tag in ifd is on the keep-list (see metadata.c for the list). */
bool anon_exif_tag_kept(int ifd, uint16_t tag);

/* Builds a fresh EXIF block (TIFF structure, source byte order) holding the
 * kept tags of tiff. Leaves out->len unchanged when nothing is kept. */
int anon_exif_build_kept(const uint8_t *tiff, size_t len, anon_buffer *out,
                         anon_error *err);

/* ---------------------------------------------------------------- colour */

/* The embedded ICC colour profile of a JPEG (APP2 "ICC_PROFILE" chunks) or
 * PNG (iCCP, inflated) file, appended to out, but only when it describes
 * RGB: the decoders deliver RGB, so a gray or CMYK profile would be wrong
 * for the output. A profile is colour data, not personal data, and the
 * encoders carry it over so that wide-gamut photos (Display P3 phones)
 * keep their colours; it is the one thing besides pixels they keep by
 * default. Leaves out->len unchanged when there is none; malformed or
 * oversized profiles are ignored. */
int anon_find_icc_rgb(const uint8_t *file, size_t len, anon_buffer *out, anon_error *err);

#endif
