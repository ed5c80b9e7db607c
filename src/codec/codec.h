/* codec.h - decoding and encoding images: what the pipeline and the CLI use.
 *
 * Every decoder returns 8-bit RGB (or RGBA when the source has alpha),
 * already turned upright according to the EXIF orientation, so that the
 * detector sees faces the way a person viewing the photo does. Metadata is
 * not carried along: the encoders write none unless asked to keep the
 * harmless subset (image/metadata.h).
 *
 * Besides the generic decode/encode, the block-wise JPEG path: the output
 * re-encodes only the MCUs under the faces and keeps every other block of
 * the source bit for bit. Its functions return ANON_DECLINED (writing
 * nothing) where a file needs another path: the caller then takes the
 * full decode and encode. The format modules behind this header have
 * private ones (*_private.h). */
#ifndef ANON_CODEC_H
#define ANON_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buffer.h"
#include "base/error.h"
#include "image/image.h"

/* ---------------------------------------------------------------- decode */

/* Whatever max_pixels says, no decode allocates more than this (1 GP,
 * 3-4 GB of pixels): a forged header must not take the machine down. */
#define ANON_HARD_MAX_PIXELS (1LL << 30)

typedef struct anon_decode_options {
    long max_pixels;    /* refuse before decoding when width*height exceeds it (0 = only the hard cap) */
    int scale_denom;    /* JPEG DCT scaling 1,2,4,8 (1 or 0 = full size; PNG ignores it) */
} anon_decode_options;

/* Decodes to 8-bit RGB (RGBA when the source has alpha), upright per EXIF
 * orientation. info (may be NULL) receives the probe result plus the
 * decoder's warnings. A damaged file (truncated, corrupt entropy or
 * image data) decodes to what the decoder recovers, like every viewer
 * shows it: info->warnings counts the problems and info->damaged is the
 * part (the rows from the first the damage spoilt, to the bottom of the
 * stored image) that the decoder could not read, or decoded from data
 * gone wrong: filled grey here. Anything worse, or a file of which not a
 * row arrived, fails with a message. */
int anon_decode(const uint8_t *data, size_t len, const anon_decode_options *o,
                anon_image *img, anon_image_info *info, anon_error *err);

/* ---------------------------------------------------------------- encode */

typedef struct anon_encode_options {
    int jpeg_quality;            /* default 90 (0 = default) */
    bool keep_metadata;          /* keep harmless tags only; never GPS, serials, maker notes, thumbnails, XMP, IPTC */
    const uint8_t *source;       /* the original file, where kept tags come from (may be NULL) */
    size_t source_len;
} anon_encode_options;

/* Encodes img as fmt with no metadata except the kept subset (metadata.h);
 * orientation is baked into the pixels, so no orientation tag is written.
 * JPEG output of an RGBA image drops the alpha channel. out is appended to. */
int anon_encode(const anon_image *img, anon_format fmt, const anon_encode_options *o,
                anon_buffer *out, anon_error *err);

/* ---------------------------------------------------------------- JPEG block-wise output */

/* True when src can take the block-wise path of anon_jpeg_redact: an
 * undamaged 8-bit JPEG in YCbCr or grayscale (baseline, progressive or
 * arithmetic), orientation 1. */
bool anon_jpeg_redact_supported(const uint8_t *src, size_t len);

/* Writes src with only the changed regions re-encoded: reads the source's
 * DCT coefficients, replaces the blocks (whole MCUs) covering `regions`
 * with blocks encoded from the same pixels of upright_blurred (the decoded
 * source after anonymization) using the source's own quantisation tables
 * and sampling factors, and writes every other block unchanged. Pixels
 * outside those MCUs decode exactly as before (up to one pixel next to
 * them, where the decoder's chroma upsampling mixes neighbours), with no
 * generation loss and a fraction of the encoding work. Metadata follows
 * anon_encode's rules. When src is not supported (see above) it falls back
 * to anon_encode(upright_blurred) with `quality`; otherwise `quality` is
 * unused: the source's tables decide. */
int anon_jpeg_redact(const uint8_t *src, size_t len, const anon_image *upright_blurred,
                     const anon_rect *regions, size_t n, int quality, bool keep_metadata,
                     anon_buffer *out, anon_error *err);

/* The block-wise path without its fallback: returns ANON_DECLINED
 * (writing nothing) where anon_jpeg_redact would fall back to a full
 * encode of upright_blurred, e.g. for a damaged source. For callers whose
 * image is only valid under the regions (anon_jpeg_decode_regions). */
int anon_jpeg_redact_blocks(const uint8_t *src, size_t len, const anon_image *upright_blurred,
                            const anon_rect *regions, size_t n, bool keep_metadata,
                            anon_buffer *out, anon_error *err);

/* anon_jpeg_redact_blocks in two steps, for callers that free the
 * anonymized image in between, so that its pixels and the source's DCT
 * coefficients are never in memory together: first the replacement blocks
 * are encoded from the image (small JPEGs of the regions' MCUs, with the
 * source's tables), then the source is read and written with them. Both
 * return ANON_DECLINED where anon_jpeg_redact would fall back to a full
 * encode. With no regions, upright_blurred may be NULL: the file is only
 * rewritten. */
typedef struct anon_jpeg_patches anon_jpeg_patches;
int anon_jpeg_patches_make(const uint8_t *src, size_t len, const anon_image *upright_blurred,
                           const anon_rect *regions, size_t n, anon_jpeg_patches **out,
                           anon_error *err);
int anon_jpeg_patches_apply(const uint8_t *src, size_t len, const anon_jpeg_patches *p,
                            bool keep_metadata, anon_buffer *out, anon_error *err);
/* Patches kept as their quantised blocks rather than as small JPEGs: no
 * Huffman coding and decoding of the crops, but 3 bytes per pixel of the
 * regions (at 4:2:0) where a JPEG takes a fraction of one. For
 * anon_jpeg_source_write only (patches_apply declines them). */
int anon_jpeg_patches_make_blocks(const uint8_t *src, size_t len,
                                  const anon_image *upright_blurred, const anon_rect *regions,
                                  size_t n, anon_jpeg_patches **out, anon_error *err);
void anon_jpeg_patches_free(anon_jpeg_patches *p);

/* Decodes only what the block-wise path needs of a JPEG (orientation 1,
 * not CMYK): the pixels of the whole MCUs covering `regions`, into an RGB
 * image of the full size whose other pixels are left unset (and, being
 * never written, cost no memory). Fails on any damage in the data it
 * reads, so that the caller can take the full decode instead. */
int anon_jpeg_decode_regions(const uint8_t *data, size_t len, const anon_rect *regions,
                             size_t n, anon_image *img, anon_error *err);

/* The one-decode path: a baseline JPEG's scan entropy-decoded once and
 * indexed (jpeg_scan.c), the pixels the pipeline needs made from the
 * MCUs under the faces (jpeg_coef.c), and the file written back with the
 * patches pasted and every other MCU's bits copied. */
typedef struct anon_jpeg_source anon_jpeg_source;
/* Indexes src's scan; width/height (-1: any) must match the frame. With
 * small (else NULL) the same single decode also yields the whole image at
 * 1/scale_denom (1, 2, 4, 8; ceil(width / scale_denom) wide, like
 * libjpeg's scaled decode) from each block's lowest frequencies. Returns
 * ANON_DECLINED (*out NULL) when src needs another path: damaged data, a
 * colour space the path does not take. */
int anon_jpeg_source_read(const uint8_t *src, size_t len, int width, int height,
                          int scale_denom, anon_image *small, anon_jpeg_source **out,
                          anon_error *err);
/* At full size, the pixels of the whole MCUs covering the regions, made
 * from their coefficients as libjpeg decodes them (jpeg_coef.c); the other
 * pixels are left unset. Returns ANON_DECLINED for a layout it does not
 * take (other than 8-bit YCbCr or gray, chroma 4:4:4, 4:2:2 or 4:2:0). */
int anon_jpeg_source_regions(anon_jpeg_source *s, const anon_rect *regions, size_t n,
                             anon_image *img, anon_error *err);
/* Writes the file with p's MCUs in place of the source's (ANON_DECLINED
 * when p does not fit the source). */
int anon_jpeg_source_write(anon_jpeg_source *s, const uint8_t *src, size_t len,
                           const anon_jpeg_patches *p, bool keep_metadata, anon_buffer *out,
                           anon_error *err);
void anon_jpeg_source_free(anon_jpeg_source *s);

#endif
