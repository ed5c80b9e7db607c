/* jpeg.c - JPEG decode and encode through libjpeg-turbo.
 *
 * Part of the codec layer behind codec.h. Decoding yields RGB for every
 * colour space libjpeg reads (gray, YCbCr, RGB, CMYK and YCCK including
 * Adobe's inverted CMYK); encoding writes baseline YCbCr with a JFIF
 * header and no other metadata than the kept EXIF subset (plus the
 * source's RGB colour profile, see image/metadata.h). Damaged entropy
 * data is decoded the way libjpeg recovers it and counted as warnings. */
#include <stdlib.h>
#include <string.h>

#include "codec/jpeg_private.h"
#include "codec/jpeg_lib_private.h"
#include "codec/jpeg_markers_private.h"
#include "image/orient.h"

/* ---------------------------------------------------------------- decode */

/* CMYK as libjpeg delivers it: Adobe files (Photoshop) store inverted
 * values (255 = no ink), others plain ink amounts. */
static void cmyk_row_to_rgb(const uint8_t *in, uint8_t *out, int width, bool inverted)
{
    for (int x = 0; x < width; x++, in += 4, out += 3) {
        int c = in[0], m = in[1], y = in[2], k = in[3];
        if (!inverted) {
            c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k;
        }
        out[0] = (uint8_t)((c * k + 127) / 255);
        out[1] = (uint8_t)((m * k + 127) / 255);
        out[2] = (uint8_t)((y * k + 127) / 255);
    }
}

typedef struct jpeg_decode_ctx {
    struct jpeg_decompress_struct cinfo;
    anon_jpeg_errmgr err;
    int orientation;
    anon_image img;         /* upright */
    int stored_w, stored_h;
    uint8_t *strip;         /* stored rows on their way to upright places */
    uint8_t *cmyk_row;
    bool scanning;          /* rows are being delivered into img (or were) */
    int rows_placed;        /* stored rows already in img */
    struct row_span *spans; /* anon_jpeg_decode_regions: rows to decode */
} jpeg_decode_ctx;

static void *alloc_or_jump(jpeg_decode_ctx *ctx, size_t bytes)
{
    void *p = malloc(bytes);
    if (p == NULL) {
        snprintf(ctx->err.why, sizeof ctx->err.why, "out of memory");
        longjmp(ctx->err.jump, 1);
    }
    return p;
}

/* Reads up to a strip of rows straight into the image (upright already). */
static int read_direct(jpeg_decode_ctx *ctx, size_t stride)
{
    struct jpeg_decompress_struct *ci = &ctx->cinfo;
    JSAMPROW rows[ANON_ORIENT_STRIP];
    int n = ctx->stored_h - (int)ci->output_scanline;
    n = n < ANON_ORIENT_STRIP ? n : ANON_ORIENT_STRIP;
    for (int r = 0; r < n; r++)
        rows[r] = ctx->img.pixels + (ci->output_scanline + (size_t)r) * stride;
    return (int)jpeg_read_scanlines(ci, rows, (JDIMENSION)n);
}

/* Reads a strip of rows (converting CMYK) and puts them upright. */
static int read_strip(jpeg_decode_ctx *ctx, bool cmyk, size_t stride)
{
    struct jpeg_decompress_struct *ci = &ctx->cinfo;
    int sy0 = (int)ci->output_scanline, n = 0;
    while (n < ANON_ORIENT_STRIP && ci->output_scanline < ci->output_height) {
        uint8_t *row = ctx->strip + (size_t)n * stride;
        JSAMPROW rp = cmyk ? ctx->cmyk_row : row;
        if (jpeg_read_scanlines(ci, &rp, 1) != 1)
            break;
        if (cmyk)
            cmyk_row_to_rgb(ctx->cmyk_row, row, ctx->stored_w, ci->saw_Adobe_marker);
        n++;
    }
    anon_orient_rows(&ctx->img, ctx->orientation, sy0, n, ctx->strip, stride);
    return n;
}

/* The part that may longjmp: everything it allocates hangs off ctx. */
static void decode_body(jpeg_decode_ctx *ctx, const uint8_t *data, size_t len,
                        int scale_denom)
{
    struct jpeg_decompress_struct *ci = &ctx->cinfo;
    jpeg_mem_src(ci, data, (unsigned long)len);
    jpeg_read_header(ci, TRUE);
    bool cmyk = ci->jpeg_color_space == JCS_CMYK || ci->jpeg_color_space == JCS_YCCK;
    ci->out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    ci->scale_num = 1;
    ci->scale_denom = (unsigned)(scale_denom == 2 || scale_denom == 4 || scale_denom == 8
                                     ? scale_denom : 1);
    jpeg_start_decompress(ci);
    ctx->stored_w = (int)ci->output_width;
    ctx->stored_h = (int)ci->output_height;
    bool swap = ctx->orientation >= 5;
    anon_error aerr;
    if (anon_image_alloc(&ctx->img, swap ? ctx->stored_h : ctx->stored_w,
                         swap ? ctx->stored_w : ctx->stored_h, 3, &aerr) < 0) {
        snprintf(ctx->err.why, sizeof ctx->err.why, "%s", aerr.msg);
        longjmp(ctx->err.jump, 1);
    }
    size_t stride = (size_t)ctx->stored_w * 3;
    bool direct = ctx->orientation == 1 && !cmyk;
    if (!direct)
        ctx->strip = alloc_or_jump(ctx, stride * ANON_ORIENT_STRIP);
    if (cmyk)
        ctx->cmyk_row = alloc_or_jump(ctx, (size_t)ctx->stored_w * 4);
    ctx->scanning = true;
    while (ci->output_scanline < ci->output_height) {
        int n = direct ? read_direct(ctx, stride) : read_strip(ctx, cmyk, stride);
        if (n == 0)
            break;
        ctx->rows_placed += n;
    }
    jpeg_finish_decompress(ci);
}

/* A fatal error in the middle of the scan data (a bogus marker, say) or
 * after it (libjpeg reads the marker that ends the scan in
 * jpeg_finish_decompress) keeps the rows decoded so far, like a truncated
 * file: the rest is damaged (anon_decode greys it, as libjpeg itself does
 * for missing data), and the error becomes a warning. */
static bool recover_partial(jpeg_decode_ctx *ctx, anon_image_info *info)
{
    if (!ctx->scanning || ctx->rows_placed == 0)
        return false;
    if (info != NULL)
        anon_info_warn(info, ctx->err.why);
    return true;
}

/* The stored rows the damage spoilt, from the first down, as
 * info->damaged (stored coordinates: anon_decode turns it upright). */
static void note_damaged_rows(const jpeg_decode_ctx *ctx, bool recovered, anon_image_info *info)
{
    const struct jpeg_decompress_struct *ci = &ctx->cinfo;
    long y0 = ctx->stored_h;
    if (ctx->err.damage_row >= 0) {
        long rows = (long)ctx->err.damage_row * ci->max_v_samp_factor * ci->min_DCT_scaled_size;
        y0 = rows < y0 ? rows : y0;
    }
    if (recovered && ctx->rows_placed < y0)
        y0 = ctx->rows_placed;    /* the rest was never written */
    if (info != NULL && y0 < ctx->stored_h)
        info->damaged = (anon_rect){0, (int)y0, ctx->stored_w, ctx->stored_h - (int)y0};
}

int anon_jpeg_decode(const uint8_t *data, size_t len, int scale_denom, int orientation,
                     anon_image *img, anon_image_info *info, anon_error *err)
{
    jpeg_decode_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL)
        return anon_fail(err, "out of memory");
    anon_jpeg_errmgr_init(&ctx->err, info);
    ctx->cinfo.err = &ctx->err.pub;
    ctx->orientation = orientation >= 1 && orientation <= 8 ? orientation : 1;
    int rc = 0;
    if (setjmp(ctx->err.jump) == 0) {
        jpeg_create_decompress(&ctx->cinfo);
        anon_jpeg_limit_scans(&ctx->cinfo, &ctx->err);
        decode_body(ctx, data, len, scale_denom);
        note_damaged_rows(ctx, false, info);
        *img = ctx->img;
    } else if (recover_partial(ctx, info)) {
        note_damaged_rows(ctx, true, info);
        *img = ctx->img;
    } else {
        anon_image_free(&ctx->img);
        rc = anon_fail_kind(err, anon_jpeg_error_kind(&ctx->err), "JPEG: %s", ctx->err.why);
    }
    jpeg_destroy_decompress(&ctx->cinfo);
    free(ctx->strip);
    free(ctx->cmyk_row);
    free(ctx);
    return rc;
}

/* ---------------------------------------------------------------- decode: regions only */

/* Rows [y0, y1) of the image that must be decoded. */
typedef struct row_span {
    int y0, y1;
} row_span;

static int compare_spans(const void *a, const void *b)
{
    const row_span *p = a, *q = b;
    return (p->y0 > q->y0) - (p->y0 < q->y0);
}

static void decode_regions_body(jpeg_decode_ctx *ctx, const uint8_t *data, size_t len,
                                const anon_rect *regions, size_t n)
{
    struct jpeg_decompress_struct *ci = &ctx->cinfo;
    jpeg_mem_src(ci, data, (unsigned long)len);
    jpeg_read_header(ci, TRUE);
    if (ci->jpeg_color_space == JCS_CMYK || ci->jpeg_color_space == JCS_YCCK) {
        snprintf(ctx->err.why, sizeof ctx->err.why, "CMYK is decoded whole");
        longjmp(ctx->err.jump, 1);
    }
    ci->out_color_space = JCS_RGB;
    jpeg_start_decompress(ci);
    int width = (int)ci->output_width, height = (int)ci->output_height;
    anon_error aerr;
    /* Full size, but only the decoded rows are ever touched: the pages of
     * the rest are never faulted in. */
    if (anon_image_alloc(&ctx->img, width, height, 3, &aerr) < 0) {
        snprintf(ctx->err.why, sizeof ctx->err.why, "%s", aerr.msg);
        longjmp(ctx->err.jump, 1);
    }
    row_span *spans = ctx->spans;
    int mcu_w = 8 * ci->max_h_samp_factor, mcu_h = 8 * ci->max_v_samp_factor;
    int cx0 = width, cx1 = 0;
    size_t ns = 0;
    for (size_t i = 0; i < n; i++) {
        anon_rect c;
        if (!anon_jpeg_mcu_cover(&regions[i], mcu_w, mcu_h, width, height, &c))
            continue;
        spans[ns++] = (row_span){c.y, c.y + c.h};
        cx0 = c.x < cx0 ? c.x : cx0;
        cx1 = c.x + c.w > cx1 ? c.x + c.w : cx1;
    }
    if (ns == 0)
        return;
    qsort(spans, ns, sizeof *spans, compare_spans);
    JDIMENSION xoff = (JDIMENSION)cx0, xw = (JDIMENSION)(cx1 - cx0);
    jpeg_crop_scanline(ci, &xoff, &xw);    /* widened to iMCU columns */
    size_t stride = (size_t)width * 3;
    for (size_t i = 0; i < ns; i++) {
        if ((int)ci->output_scanline < spans[i].y0)
            jpeg_skip_scanlines(ci, (JDIMENSION)spans[i].y0 - ci->output_scanline);
        while ((int)ci->output_scanline < spans[i].y1) {
            JSAMPROW row = ctx->img.pixels + ci->output_scanline * stride + xoff * 3;
            if (jpeg_read_scanlines(ci, &row, 1) != 1) {
                snprintf(ctx->err.why, sizeof ctx->err.why, "JPEG data ends early");
                longjmp(ctx->err.jump, 1);
            }
        }
    }
}

int anon_jpeg_decode_regions(const uint8_t *data, size_t len, const anon_rect *regions,
                             size_t n, anon_image *img, anon_error *err)
{
    jpeg_decode_ctx *ctx = calloc(1, sizeof *ctx);
    row_span *spans = malloc((n ? n : 1) * sizeof *spans);
    anon_image_info info = {0};
    if (ctx == NULL || spans == NULL) {
        free(ctx);
        free(spans);
        return anon_fail(err, "out of memory");
    }
    ctx->spans = spans;
    anon_jpeg_errmgr_init(&ctx->err, &info);
    ctx->cinfo.err = &ctx->err.pub;
    int rc = 0;
    if (setjmp(ctx->err.jump) == 0) {
        jpeg_create_decompress(&ctx->cinfo);
        anon_jpeg_limit_scans(&ctx->cinfo, &ctx->err);
        decode_regions_body(ctx, data, len, regions, n);
        if (info.warnings.count > 0) {
            anon_image_free(&ctx->img);
            rc = anon_fail_kind(err, ANON_ERR_INPUT, "JPEG: %s", info.warnings.msg[0]);
        } else {
            *img = ctx->img;
        }
    } else {
        anon_image_free(&ctx->img);
        rc = anon_fail_kind(err, anon_jpeg_error_kind(&ctx->err), "JPEG: %s", ctx->err.why);
    }
    /* The rows below the last region are not needed: abort, not finish. */
    jpeg_destroy_decompress(&ctx->cinfo);
    free(spans);
    free(ctx);
    return rc;
}

/* ---------------------------------------------------------------- encode */

typedef struct jpeg_encode_ctx {
    struct jpeg_compress_struct cinfo;
    anon_jpeg_errmgr err;
    unsigned char *buf;
    unsigned long size;
    anon_buffer exif;
} jpeg_encode_ctx;

static void encode_body(jpeg_encode_ctx *ctx, const anon_image *img,
                        const anon_encode_options *o)
{
    struct jpeg_compress_struct *ci = &ctx->cinfo;
    jpeg_mem_dest(ci, &ctx->buf, &ctx->size);
    ci->image_width = (JDIMENSION)img->width;
    ci->image_height = (JDIMENSION)img->height;
    ci->input_components = img->channels;
    ci->in_color_space = img->channels == 4 ? JCS_EXT_RGBX : JCS_RGB;
    jpeg_set_defaults(ci);
    int q = o->jpeg_quality > 0 ? o->jpeg_quality : 90;
    jpeg_set_quality(ci, q > 100 ? 100 : q, TRUE);
    jpeg_start_compress(ci, TRUE);
    anon_error aerr;
    if (anon_jpeg_write_source_markers(ci, o->source, o->source_len, o->keep_metadata,
                                       &ctx->exif, &aerr) < 0) {
        snprintf(ctx->err.why, sizeof ctx->err.why, "%s", aerr.msg);
        longjmp(ctx->err.jump, 1);
    }
    size_t stride = (size_t)img->width * (size_t)img->channels;
    while (ci->next_scanline < ci->image_height) {
        JSAMPROW row = img->pixels + (size_t)ci->next_scanline * stride;
        jpeg_write_scanlines(ci, &row, 1);
    }
    jpeg_finish_compress(ci);
}

int anon_jpeg_encode(const anon_image *img, const anon_encode_options *o,
                     anon_buffer *out, anon_error *err)
{
    if (img->width > ANON_MAX_DIMENSION || img->height > ANON_MAX_DIMENSION)
        return anon_fail(err, "image is %dx%d, too large for JPEG", img->width, img->height);
    jpeg_encode_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL)
        return anon_fail(err, "out of memory");
    anon_jpeg_errmgr_init(&ctx->err, NULL);
    ctx->cinfo.err = &ctx->err.pub;
    int rc = 0;
    if (setjmp(ctx->err.jump) == 0) {
        jpeg_create_compress(&ctx->cinfo);
        encode_body(ctx, img, o);
        rc = anon_buffer_append(out, ctx->buf, ctx->size, err);
    } else {
        rc = anon_fail(err, "JPEG encode: %s", ctx->err.why);
    }
    jpeg_destroy_compress(&ctx->cinfo);
    free(ctx->buf);
    anon_buffer_free(&ctx->exif);
    free(ctx);
    return rc;
}
