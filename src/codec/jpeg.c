/* jpeg.c - JPEG header probe, decode and encode through libjpeg-turbo.
 *
 * Part of the codec layer behind image.h. Decoding yields RGB for every
 * colour space libjpeg reads (gray, YCbCr, RGB, CMYK and YCCK including
 * Adobe's inverted CMYK); encoding writes baseline YCbCr with a JFIF
 * header and no other metadata than the kept EXIF subset (plus the
 * source's RGB colour profile, see metadata.h). Damaged entropy
 * data is decoded the way libjpeg recovers it and counted as warnings. */
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "codec/jpeg_internal.h"
#include "image/metadata.h"

/* ---------------------------------------------------------------- segments */

static bool marker_has_length(uint8_t m)
{
    return !(m == 0xD8 || m == 0xD9 || m == 0x01 || (m >= 0xD0 && m <= 0xD7));
}

/* Skips entropy-coded data (and RSTn markers inside it) up to the next
 * real marker. */
static size_t skip_entropy(const uint8_t *buf, size_t len, size_t pos)
{
    while (pos + 1 < len) {
        if (buf[pos] == 0xFF) {
            uint8_t m = buf[pos + 1];
            if (m != 0x00 && m != 0xFF && !(m >= 0xD0 && m <= 0xD7))
                return pos;
            pos += m == 0xFF ? 1 : 2;
        } else {
            pos++;
        }
    }
    return len;
}

int anon_jpeg_segment_next(const uint8_t *buf, size_t len, size_t *pos,
                           anon_jpeg_segment *seg)
{
    size_t p = *pos;
    if (p == 0) {
        if (len < 2 || buf[0] != 0xFF || buf[1] != 0xD8)
            return -1;
        *pos = 2;
        *seg = (anon_jpeg_segment){0xD8, NULL, 0};
        return 1;
    }
    if (p < len && buf[p] != 0xFF)
        p = skip_entropy(buf, len, p);
    while (p + 1 < len && buf[p] == 0xFF && buf[p + 1] == 0xFF)
        p++;    /* fill bytes */
    if (p + 1 >= len)
        return 0;
    uint8_t m = buf[p + 1];
    if (m == 0xD9) {
        *pos = p + 2;
        return 0;
    }
    if (!marker_has_length(m)) {
        *pos = p + 2;
        *seg = (anon_jpeg_segment){m, NULL, 0};
        return 1;
    }
    if (p + 4 > len)
        return -1;
    size_t seglen = (size_t)buf[p + 2] << 8 | buf[p + 3];
    if (seglen < 2 || p + 2 + seglen > len)
        return -1;
    *seg = (anon_jpeg_segment){m, buf + p + 4, seglen - 2};
    *pos = p + 2 + seglen;
    return 1;
}

/* ---------------------------------------------------------------- probe */

static bool is_sof(uint8_t m)
{
    return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

int anon_jpeg_probe(const uint8_t *data, size_t len, anon_image_info *info,
                    anon_error *err)
{
    size_t pos = 0;
    anon_jpeg_segment seg;
    int rc;
    /* The frame header may follow any number of APPn, DQT, DHT, COM...
     * segments; EXIF sits before it in every real file. */
    while ((rc = anon_jpeg_segment_next(data, len, &pos, &seg)) == 1) {
        if (seg.marker == 0xE1 && seg.len >= 6 && memcmp(seg.data, "Exif\0\0", 6) == 0
            && info->orientation == 1)
            info->orientation = anon_exif_orientation(seg.data + 6, seg.len - 6);
        if (seg.marker == 0xDA)
            return anon_fail(err, "JPEG has no frame header before its scan data");
        if (is_sof(seg.marker)) {
            if (seg.len < 6)
                return anon_fail(err, "JPEG frame header too short");
            info->height = seg.data[1] << 8 | seg.data[2];
            info->width = seg.data[3] << 8 | seg.data[4];
            info->components = seg.data[5];
            info->progressive = seg.marker == 0xC2 || seg.marker == 0xC6 ||
                                seg.marker == 0xCA || seg.marker == 0xCE;
            if (info->height == 0)
                return anon_fail(err, "JPEG with its height in a DNL marker is not supported");
            return 0;
        }
    }
    return anon_fail(err, rc < 0 ? "truncated or malformed JPEG header"
                                 : "JPEG ends before its frame header");
}

/* ---------------------------------------------------------------- error manager */

static void on_error_exit(j_common_ptr c)
{
    anon_jpeg_errmgr *e = (anon_jpeg_errmgr *)c->err;
    c->err->format_message(c, e->why);
    longjmp(e->jump, 1);
}

static void on_emit_message(j_common_ptr c, int level)
{
    anon_jpeg_errmgr *e = (anon_jpeg_errmgr *)c->err;
    if (level >= 0)
        return;    /* trace messages */
    c->err->num_warnings++;
    if (e->info != NULL) {
        char msg[JMSG_LENGTH_MAX];
        c->err->format_message(c, msg);
        anon_info_warn(e->info, msg);
    }
}

static void on_output_message(j_common_ptr c)
{
    (void)c;    /* the library never prints */
}

static void on_progress(j_common_ptr c)
{
    if (!c->is_decompressor)
        return;
    j_decompress_ptr d = (j_decompress_ptr)c;
    anon_jpeg_errmgr *e = (anon_jpeg_errmgr *)c->err;
    if (d->input_scan_number > ANON_JPEG_MAX_SCANS) {
        snprintf(e->why, sizeof e->why, "JPEG has over %d progressive scans",
                 ANON_JPEG_MAX_SCANS);
        longjmp(e->jump, 1);
    }
}

void anon_jpeg_errmgr_init(anon_jpeg_errmgr *e, anon_image_info *info)
{
    memset(e, 0, sizeof *e);
    jpeg_std_error(&e->pub);
    e->pub.error_exit = on_error_exit;
    e->pub.emit_message = on_emit_message;
    e->pub.output_message = on_output_message;
    e->progress.progress_monitor = on_progress;
    e->info = info;
}

void anon_jpeg_limit_scans(j_decompress_ptr cinfo, anon_jpeg_errmgr *e)
{
    cinfo->progress = &e->progress;
}

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
 * file: the rest turns gray, as libjpeg itself does for missing data, and
 * the error becomes a warning. */
static bool recover_partial(jpeg_decode_ctx *ctx, anon_image_info *info)
{
    if (!ctx->scanning || ctx->rows_placed == 0)
        return false;
    size_t stride = (size_t)ctx->stored_w * 3;
    if (ctx->strip == NULL) {    /* orientation 1: stored rows are image rows */
        memset(ctx->img.pixels + (size_t)ctx->rows_placed * stride, 128,
               (size_t)(ctx->stored_h - ctx->rows_placed) * stride);
    } else {
        memset(ctx->strip, 128, stride * ANON_ORIENT_STRIP);
        for (int y = ctx->rows_placed; y < ctx->stored_h; y += ANON_ORIENT_STRIP) {
            int n = ctx->stored_h - y < ANON_ORIENT_STRIP ? ctx->stored_h - y : ANON_ORIENT_STRIP;
            anon_orient_rows(&ctx->img, ctx->orientation, y, n, ctx->strip, stride);
        }
    }
    if (info != NULL)
        anon_info_warn(info, ctx->err.why);
    return true;
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
        *img = ctx->img;
    } else if (recover_partial(ctx, info)) {
        *img = ctx->img;
    } else {
        anon_image_free(&ctx->img);
        rc = anon_fail(err, "JPEG: %s", ctx->err.why);
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

/* Widens r to whole MCUs of mcu_w x mcu_h, clipped to the image: the
 * pixels anon_jpeg_redact reads to re-encode the blocks under r. */
bool anon_jpeg_mcu_cover(const anon_rect *r, int mcu_w, int mcu_h, int width, int height,
                         anon_rect *out)
{
    long x0 = r->x < 0 ? 0 : r->x, y0 = r->y < 0 ? 0 : r->y;
    long x1 = (long)r->x + r->w, y1 = (long)r->y + r->h;
    x1 = x1 > width ? width : x1;
    y1 = y1 > height ? height : y1;
    if (r->w <= 0 || r->h <= 0 || x1 <= x0 || y1 <= y0)
        return false;
    x0 = x0 / mcu_w * mcu_w;
    y0 = y0 / mcu_h * mcu_h;
    x1 = (x1 + mcu_w - 1) / mcu_w * mcu_w;
    y1 = (y1 + mcu_h - 1) / mcu_h * mcu_h;
    *out = (anon_rect){(int)x0, (int)y0, (int)((x1 > width ? width : x1) - x0),
                       (int)((y1 > height ? height : y1) - y0)};
    return true;
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
        if (info.warnings > 0) {
            anon_image_free(&ctx->img);
            rc = anon_fail(err, "JPEG: %s", info.warning);
        } else {
            *img = ctx->img;
        }
    } else {
        anon_image_free(&ctx->img);
        rc = anon_fail(err, "JPEG: %s", ctx->err.why);
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
