/* image.h - decoded pixels and the codec interface shared by jpeg.c/png.c.
 *
 * Every decoder returns 8-bit RGB (or RGBA when the source has alpha),
 * already turned upright according to the EXIF orientation, so that the
 * detector sees faces the way a person viewing the photo does. Metadata is
 * not carried along: the encoders write none unless asked to keep the
 * harmless subset (see metadata.h). */
#ifndef ANON_IMAGE_H
#define ANON_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buffer.h"
#include "base/error.h"

typedef enum { ANON_FMT_UNKNOWN = 0, ANON_FMT_JPEG, ANON_FMT_PNG } anon_format;

typedef struct anon_image {
    int width;
    int height;
    int channels;      /* 3 (RGB) or 4 (RGBA) */
    uint8_t *pixels;   /* row-major, stride = width * channels */
} anon_image;

typedef struct anon_image_info {
    anon_format format;
    int width;         /* as stored, before orientation */
    int height;
    int orientation;   /* EXIF orientation 1..8 (1 when absent) */
    int components;    /* colour channels as stored (1 gray, 3, 4 CMYK; PNG: 1-4) */
    bool has_alpha;    /* PNG alpha channel or tRNS */
    bool progressive;  /* JPEG progressive, PNG interlaced */
    int warnings;      /* anon_decode: recoverable problems in the data (0 = clean) */
    char warning[160]; /* anon_decode: the first of them, for logs */
} anon_image_info;

/* Recognises JPEG and PNG by their magic bytes. */
anon_format anon_sniff(const uint8_t *data, size_t len);
const char *anon_format_name(anon_format fmt);        /* "jpeg", "png" */
const char *anon_format_mime(anon_format fmt);        /* "image/jpeg", ... */

/* Reads only the header: format, dimensions, orientation. Cheap; used for
 * --max-pixels and by the intake before anything is decoded. */
int anon_probe(const uint8_t *data, size_t len, anon_image_info *info,
               anon_error *err);

int anon_image_alloc(anon_image *img, int width, int height, int channels,
                     anon_error *err);
void anon_image_free(anon_image *img);

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
 * decoder's warnings. A damaged JPEG (truncated, corrupt entropy data)
 * decodes to what libjpeg recovers, like every viewer shows it, and
 * info->warnings counts the problems; anything worse fails with a message. */
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

typedef struct anon_rect {
    int x, y, w, h;    /* pixels, upright image coordinates */
} anon_rect;

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

/* The block-wise path without its fallback: returns 1 (writing nothing)
 * where anon_jpeg_redact would fall back to a full encode of
 * upright_blurred, e.g. for a damaged source. For callers whose image is
 * only valid under the regions (anon_jpeg_decode_regions). */
int anon_jpeg_redact_blocks(const uint8_t *src, size_t len, const anon_image *upright_blurred,
                            const anon_rect *regions, size_t n, bool keep_metadata,
                            anon_buffer *out, anon_error *err);

/* anon_jpeg_redact_blocks in two steps, for callers that free the
 * anonymized image in between, so that its pixels and the source's DCT
 * coefficients are never in memory together: first the replacement blocks
 * are encoded from the image (small JPEGs of the regions' MCUs, with the
 * source's tables), then the source is read and written with them. Both
 * return 1 where anon_jpeg_redact would fall back to a full encode. With
 * no regions, upright_blurred may be NULL: the file is only rewritten. */
typedef struct anon_jpeg_patches anon_jpeg_patches;
int anon_jpeg_patches_make(const uint8_t *src, size_t len, const anon_image *upright_blurred,
                           const anon_rect *regions, size_t n, anon_jpeg_patches **out,
                           anon_error *err);
int anon_jpeg_patches_apply(const uint8_t *src, size_t len, const anon_jpeg_patches *p,
                            bool keep_metadata, anon_buffer *out, anon_error *err);
/* Patches kept as their quantised blocks rather than as small JPEGs: no
 * Huffman coding and decoding of the crops, but 3 bytes per pixel of the
 * regions (at 4:2:0) where a JPEG takes a fraction of one. For
 * anon_jpeg_source_write only (patches_apply returns 1 for them). */
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
 * indexed (jpeg_scan.h), the pixels the pipeline needs made from the
 * MCUs under the faces (jpeg_coef.c), and the file written back with the
 * patches pasted and every other MCU's bits copied. */
typedef struct anon_jpeg_source anon_jpeg_source;
/* Indexes src's scan; width/height (-1: any) must match the frame. With
 * small (else NULL) the same single decode also yields the whole image at
 * 1/scale_denom (1, 2, 4, 8; ceil(width / scale_denom) wide, like
 * libjpeg's scaled decode) from each block's lowest frequencies. Returns 1
 * (*out NULL) when src needs another path: progressive, arithmetic or
 * several scans, damaged data, a colour space the path does not take. */
int anon_jpeg_source_read(const uint8_t *src, size_t len, int width, int height,
                          int scale_denom, anon_image *small, anon_jpeg_source **out,
                          anon_error *err);
/* At full size, the pixels of the whole MCUs covering the regions, made
 * from their coefficients as libjpeg decodes them (jpeg_coef.c); the other
 * pixels are left unset. Returns 1 for a layout it does not take (other
 * than 8-bit YCbCr or gray, chroma 4:4:4, 4:2:2 or 4:2:0). */
int anon_jpeg_source_regions(anon_jpeg_source *s, const anon_rect *regions, size_t n,
                             anon_image *img, anon_error *err);
/* Writes the file with p's MCUs in place of the source's (returns 1 when
 * a replacement needs a Huffman code the source's tables lack). */
int anon_jpeg_source_write(anon_jpeg_source *s, const uint8_t *src, size_t len,
                           const anon_jpeg_patches *p, bool keep_metadata, anon_buffer *out,
                           anon_error *err);
void anon_jpeg_source_free(anon_jpeg_source *s);

/* ---------------------------------------------------------------- orientation */

/* dst = src turned upright for EXIF orientation 1..8 (dst is allocated;
 * orientations 5..8 swap width and height). */
int anon_image_orient(const anon_image *src, int orientation, anon_image *dst,
                      anon_error *err);
/* The orientation that undoes `orientation` (6 <-> 8, the others are their own inverse). */
int anon_orientation_inverse(int orientation);

#endif
