/* jpeg_lib_private.h - libjpeg plumbing shared by every JPEG file of the codec.
 *
 * libjpeg reports fatal errors by calling error_exit, which by default
 * prints and calls exit(). The library must do neither, so every libjpeg
 * object here gets this error manager: fatal errors longjmp back to the
 * caller's setjmp with the message kept, warnings (corrupt data) are
 * counted into an anon_image_info, and a progress monitor stops
 * progressive files with absurd scan counts (a known CPU-exhaustion
 * trick) before they burn minutes of CPU. Also here: the checks that
 * decide whether a header can take the block-wise path, and the JPEG
 * facts the block-wise files share (MCU cover, zigzag order). */
#ifndef ANON_JPEG_LIB_PRIVATE_H
#define ANON_JPEG_LIB_PRIVATE_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>

#include <jpeglib.h>

#include "image/image.h"

/* Progressive scans allowed per file; real encoders write about 10. */
#define ANON_JPEG_MAX_SCANS 500

typedef struct anon_jpeg_errmgr {
    struct jpeg_error_mgr pub;
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    char why[520];    /* longer than any anon_error message copied in */
    anon_image_info *info;    /* where warnings go (may be NULL) */
    /* The first iMCU row (of the decompressor's frame) that a warning or
     * error may have spoilt: every row from it down is untrustworthy
     * (jpeg_lib.c's damage_row says how it is found); -1 while none is. */
    int damage_row;
    bool cut;    /* the file ended early: what libjpeg reports after that
                    (a "premature end of data segment" at its fake EOI) is
                    the missing data, not corrupt data */
} anon_jpeg_errmgr;

/* iMCU rows above the damage also covered: libjpeg's fancy upsampling
 * reads the chroma row below, and its block smoothing of progressive
 * files the DC of two block rows around. */
#define ANON_JPEG_DAMAGE_MARGIN 2

/* Sets up e and attaches it to cinfo (before jpeg_create_*). */
void anon_jpeg_errmgr_init(anon_jpeg_errmgr *e, anon_image_info *info);
/* Attaches the scan-limit progress monitor (after jpeg_create_decompress). */
void anon_jpeg_limit_scans(j_decompress_ptr cinfo, anon_jpeg_errmgr *e);
/* The kind of the failure e caught: the input's fault (a file that fails
 * once fails the same way every time), but for libjpeg running out of
 * memory. */
anon_error_kind anon_jpeg_error_kind(const anon_jpeg_errmgr *e);

/* Fails the libjpeg work under e's setjmp with msg. */
_Noreturn void anon_jpeg_fail(anon_jpeg_errmgr *e, const char *msg);

/* The table a component's coefficients were quantised with: the one
 * latched when its scan started, which a later DQT may have replaced.
 * NULL when c is not a component or the file names a table it never
 * defined (or one out of range: the selector is unchecked before then). */
const JQUANT_TBL *anon_jpeg_component_table(const struct jpeg_decompress_struct *ci, int c);

/* 8-bit YCbCr or grayscale: what the block-wise path re-encodes. */
bool anon_jpeg_colour_supported(const struct jpeg_decompress_struct *ci);

/* Creates src (its err already set to e's), reads data's header, and
 * says whether the block-wise path takes its colour space; fails under
 * e's setjmp when width/height (-1: any) do not match the frame. */
bool anon_jpeg_open_source(j_decompress_ptr src, anon_jpeg_errmgr *e, const uint8_t *data,
                           size_t len, int width, int height);

/* The encoder divides by every table entry: a zero (legal to decode,
 * fatal to encode) sends the file to the full re-encode. */
bool anon_jpeg_quant_tables_usable(const struct jpeg_decompress_struct *ci);

/* Widens r to whole MCUs of mcu_w x mcu_h, clipped to the image (false
 * when r misses it): the pixels the block-wise path decodes under r. */
bool anon_jpeg_mcu_cover(const anon_rect *r, int mcu_w, int mcu_h, int width, int height,
                         anon_rect *out);

/* Natural-order index of the k-th coefficient in zigzag (scan) order; 16
 * more entries of 63 after the 64, so that a corrupt run past the end of
 * a block writes a harmless slot. */
extern const uint8_t anon_jpeg_zigzag[64 + 16];

#endif
