/* jpeg_transcode_private.h - the block-wise JPEG path through libjpeg's
 * coefficient arrays (jpeg_transcode.c), for the files the indexed scan
 * does not take: progressive, arithmetic, several scans. */
#ifndef ANON_JPEG_TRANSCODE_PRIVATE_H
#define ANON_JPEG_TRANSCODE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/jpeg_coef_private.h"
#include "codec/jpeg_patches_private.h"

typedef struct anon_jpeg_transcode anon_jpeg_transcode;

/* Reads every coefficient of src; width/height (-1: any) must match the
 * frame. With small (else NULL) the same entropy decode first yields the
 * image at 1/scale_denom. ANON_DECLINED when src is damaged or not for
 * the block-wise path. */
int anon_jpeg_transcode_read(const uint8_t *src, size_t len, int width, int height,
                             int scale_denom, anon_image *small, anon_jpeg_transcode **out,
                             anon_error *err);

/* A reader of the MCUs read (ANON_DECLINED when no reduced decode ran:
 * libjpeg's inverse DCT tables are then not set up). */
int anon_jpeg_transcode_mcus(anon_jpeg_transcode *t, anon_jpeg_mcu_reader *r);

/* Pastes p over the coefficients and writes the file (ANON_DECLINED when
 * p was quantised with other tables). */
int anon_jpeg_transcode_write(anon_jpeg_transcode *t, const uint8_t *src, size_t len,
                              const anon_jpeg_patches *p, bool keep_metadata, anon_buffer *out,
                              anon_error *err);

void anon_jpeg_transcode_free(anon_jpeg_transcode *t);

#endif
