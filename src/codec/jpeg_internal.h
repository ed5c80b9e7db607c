/* jpeg_internal.h - libjpeg plumbing shared by jpeg.c and jpeg_redact.c.
 *
 * libjpeg reports fatal errors by calling error_exit, which by default
 * prints and calls exit(). The library must do neither, so every libjpeg
 * object here gets this error manager: fatal errors longjmp back to the
 * caller's setjmp with the message kept, warnings (corrupt data) are
 * counted into an anon_image_info, and a progress monitor stops
 * progressive files with absurd scan counts (a known CPU-exhaustion
 * trick) before they burn minutes of CPU. */
#ifndef ANON_JPEG_INTERNAL_H
#define ANON_JPEG_INTERNAL_H

#include <setjmp.h>
#include <stdio.h>

#include <jpeglib.h>

#include "base/buffer.h"
#include "image/image.h"

/* Progressive scans allowed per file; real encoders write about 10. */
#define ANON_JPEG_MAX_SCANS 500

typedef struct anon_jpeg_errmgr {
    struct jpeg_error_mgr pub;
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    char why[520];    /* longer than any anon_error message copied in */
    anon_image_info *info;    /* where warnings go (may be NULL) */
} anon_jpeg_errmgr;

/* Sets up e and attaches it to cinfo (before jpeg_create_*). */
void anon_jpeg_errmgr_init(anon_jpeg_errmgr *e, anon_image_info *info);
/* Attaches the scan-limit progress monitor (after jpeg_create_decompress). */
void anon_jpeg_limit_scans(j_decompress_ptr cinfo, anon_jpeg_errmgr *e);

/* Writes what an output takes over from its source file, after
 * jpeg_start_compress or jpeg_write_coefficients: the kept EXIF subset as
 * a fresh APP1 segment when keep_metadata, and the RGB colour profile
 * (metadata.h). scratch holds a segment while it is written. */
int anon_jpeg_write_source_markers(j_compress_ptr ci, const uint8_t *source, size_t len,
                                   bool keep_metadata, anon_buffer *scratch, anon_error *err);

/* The same as whole marker segments (FF, marker, length, data), appended
 * to out, for writers that assemble the file themselves (jpeg_repack.c). */
int anon_jpeg_source_segments(const uint8_t *source, size_t len, bool keep_metadata,
                              anon_buffer *out, anon_error *err);

/* Widens r to whole MCUs of mcu_w x mcu_h, clipped to the image (false
 * when r misses it): the pixels the block-wise path decodes under r. */
bool anon_jpeg_mcu_cover(const anon_rect *r, int mcu_w, int mcu_h, int width, int height,
                         anon_rect *out);

/* The table a component's coefficients were quantised with: the one
 * latched when its scan started, which a later DQT may have replaced. */
const JQUANT_TBL *anon_jpeg_component_table(const struct jpeg_decompress_struct *ci, int c);

/* What jpeg_coef.c needs of an anon_jpeg_source (image.h): the
 * decompressor with libjpeg's inverse DCT set up (for full size when
 * full_size_idct, else for a reduced pass, whose multiplier tables
 * jpeg_idct_islow can still use), the MCUs across and down, and a reader
 * of any MCU's blocks (in an interleaved scan's order, coefficients in
 * natural order). Returns 1 when the source cannot give pixels. */
typedef struct anon_jpeg_mcu_reader {
    j_decompress_ptr ci;
    anon_jpeg_errmgr *err;
    int mcus_x, mcus_y;
    bool (*read)(void *ctx, int mx, int my, JBLOCK *blocks);
    void *ctx;
    bool full_size_idct;
} anon_jpeg_mcu_reader;
int anon_jpeg_source_mcus(anon_jpeg_source *s, anon_jpeg_mcu_reader *r);

#endif
