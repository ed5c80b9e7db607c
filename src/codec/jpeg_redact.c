/* jpeg_redact.c - block-wise JPEG output: re-encode only the faces.
 *
 * The fast path for JPEG in, JPEG out (image.h, anon_jpeg_redact). A full
 * re-encode costs a whole-image DCT, quantisation and Huffman coding and
 * loses a generation of quality everywhere. Here only the MCUs under each
 * changed region are replaced: for a baseline source the scan is indexed
 * and re-packed (jpeg_scan.h: the bits of every other MCU are copied as
 * they are, no coefficient arrays are held); for what that does not take
 * (progressive, arithmetic, several scans) libjpeg reads every block's
 * coefficients, the replaced ones are pasted and all are written back
 * (jpeg_read_coefficients / jpeg_write_coefficients). Either way every
 * other block stays bit-exact.
 *
 * Replacement blocks come from encoding the region's MCU-aligned crop of
 * the anonymized pixels into a temporary JPEG with the source's own
 * quantisation tables and sampling factors, then reading that file's
 * coefficients: libjpeg does the colour conversion, downsampling and
 * forward DCT exactly as it would for the whole image, and because the
 * crop starts on an MCU boundary its blocks line up with the source's.
 * These patches are made from the header's tables before the source is
 * read again (anon_jpeg_patches_make, then _apply), so a caller can free
 * its pixels in between.
 *
 * Cost (scripts/bench-redact): for a baseline source, one Huffman decode
 * of the scan plus the coding of the replaced MCUs, a fraction of a full
 * re-encode; libjpeg's route costs a whole entropy decode and re-encode. */
#include <stdlib.h>
#include <string.h>

#include <jerror.h>

#include "codec/codec.h"
#include "codec/jpeg_internal.h"
#include "codec/jpeg_scan.h"

typedef struct redact_ctx {
    anon_jpeg_errmgr err;
    anon_image_info info;            /* warnings while reading the source */
    struct jpeg_decompress_struct src;
    jvirt_barray_ptr *src_coefs;
    bool decoded;                    /* a reduced output pass ran (buffered mode) */
    struct jpeg_compress_struct dst;
    unsigned char *out;
    unsigned long out_size;
    /* the region being encoded */
    struct jpeg_compress_struct crop_enc;
    struct jpeg_decompress_struct crop_dec;
    unsigned char *crop;
    unsigned long crop_size;
    anon_buffer exif;
} redact_ctx;

static void fail_with(redact_ctx *ctx, const char *msg)
{
    snprintf(ctx->err.why, sizeof ctx->err.why, "%s", msg);
    longjmp(ctx->err.jump, 1);
}

/* A failure while reading or rewriting the source is the input's fault:
 * the same file fails the same way every time. Only memory is not. */
static anon_error_kind failure_kind(const redact_ctx *ctx)
{
    return ctx->err.pub.msg_code == JERR_OUT_OF_MEMORY ||
                   strcmp(ctx->err.why, "out of memory") == 0
               ? ANON_ERR_FAILED
               : ANON_ERR_INPUT;
}

/* ---------------------------------------------------------------- support */

static bool colour_space_supported(const struct jpeg_decompress_struct *ci)
{
    return ci->data_precision == 8 &&
           ((ci->jpeg_color_space == JCS_YCbCr && ci->num_components == 3) ||
            (ci->jpeg_color_space == JCS_GRAYSCALE && ci->num_components == 1));
}

bool anon_jpeg_redact_supported(const uint8_t *src, size_t len)
{
    anon_image_info info;
    if (anon_probe(src, len, &info, NULL) < 0 || info.format != ANON_FMT_JPEG ||
        info.orientation != 1)
        return false;
    redact_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL)
        return false;
    anon_jpeg_errmgr_init(&ctx->err, NULL);
    ctx->src.err = &ctx->err.pub;
    bool ok = false;
    if (setjmp(ctx->err.jump) == 0) {
        jpeg_create_decompress(&ctx->src);
        jpeg_mem_src(&ctx->src, src, (unsigned long)len);
        jpeg_read_header(&ctx->src, TRUE);
        ok = colour_space_supported(&ctx->src);
    }
    jpeg_destroy_decompress(&ctx->src);
    free(ctx);
    return ok;
}

const JQUANT_TBL *anon_jpeg_component_table(const struct jpeg_decompress_struct *ci, int c)
{
    const jpeg_component_info *comp = &ci->comp_info[c];
    return comp->quant_table != NULL ? comp->quant_table
                                     : ci->quant_tbl_ptrs[comp->quant_tbl_no];
}

/* The encoder divides by every table entry: a zero (legal to decode,
 * fatal to encode) sends the file to the full re-encode. */
static bool quant_tables_usable(const struct jpeg_decompress_struct *ci)
{
    for (int c = 0; c < ci->num_components; c++) {
        const JQUANT_TBL *t = anon_jpeg_component_table(ci, c);
        if (t == NULL)
            return false;
        for (int k = 0; k < DCTSIZE2; k++)
            if (t->quantval[k] == 0 || t->quantval[k] > 32767)
                return false;
    }
    return true;
}

/* ---------------------------------------------------------------- one region */

/* libjpeg's entropy encoder module, as its private jpegint.h declares it
 * (the same three fields since libjpeg 6b). A crop whose blocks go
 * straight to the indexed writer swaps in its own encode_mcu, which keeps
 * the quantised blocks libjpeg made, instead of Huffman-coding them into
 * a file that would only be decoded again. */
struct jpeg_entropy_encoder {
    void (*start_pass)(j_compress_ptr cinfo, boolean gather_statistics);
    boolean (*encode_mcu)(j_compress_ptr cinfo, JBLOCKROW *MCU_data);
    void (*finish_pass)(j_compress_ptr cinfo);
};

/* A crop's blocks as libjpeg makes them: MCU by MCU, each block's
 * coefficients in zigzag order (what anon_jpeg_scan_write takes). */
typedef struct crop_blocks {
    JBLOCK *v;
    size_t mcus, at;
    int per_mcu, mcus_x;
} crop_blocks;

static boolean keep_mcu(j_compress_ptr ci, JBLOCKROW *mcu)
{
    crop_blocks *cb = ci->client_data;
    if (cb->at >= cb->mcus)
        return TRUE;    /* cannot happen: libjpeg makes exactly mcus */
    JBLOCK *out = cb->v + cb->at++ * (size_t)cb->per_mcu;
    for (int b = 0; b < ci->blocks_in_MCU; b++)
        for (int k = 0; k < DCTSIZE2; k++)
            out[b][k] = mcu[b][0][anon_jpeg_zigzag[k]];
    return TRUE;
}

/* Sets ce up to hand its blocks to cb (after jpeg_start_compress). */
static void keep_blocks(redact_ctx *ctx, struct jpeg_compress_struct *ce, crop_blocks *cb)
{
    cb->per_mcu = ce->blocks_in_MCU;
    cb->mcus_x = (int)ce->MCUs_per_row;
    cb->mcus = (size_t)ce->MCUs_per_row * ce->MCU_rows_in_scan;
    cb->at = 0;
    cb->v = malloc(cb->mcus * (size_t)cb->per_mcu * sizeof *cb->v);
    if (cb->v == NULL)
        fail_with(ctx, "out of memory");
    ce->client_data = cb;
    ce->entropy->encode_mcu = keep_mcu;
}

/* Encodes the crop [x0,x1) x [y0,y1) of img like the source would be:
 * into ctx->crop as a JPEG, or with blocks (else NULL) into them. */
static void encode_crop(redact_ctx *ctx, const anon_image *img, int x0, int y0, int x1, int y1,
                        crop_blocks *blocks)
{
    struct jpeg_compress_struct *ce = &ctx->crop_enc;
    const struct jpeg_decompress_struct *src = &ctx->src;
    jpeg_create_compress(ce);
    free(ctx->crop);
    ctx->crop = NULL;
    ctx->crop_size = 0;
    jpeg_mem_dest(ce, &ctx->crop, &ctx->crop_size);
    ce->image_width = (JDIMENSION)(x1 - x0);
    ce->image_height = (JDIMENSION)(y1 - y0);
    ce->input_components = img->channels;
    ce->in_color_space = img->channels == 4 ? JCS_EXT_RGBX : JCS_RGB;
    jpeg_set_defaults(ce);
    jpeg_set_colorspace(ce, src->jpeg_color_space);
    for (int c = 0; c < src->num_components; c++) {
        ce->comp_info[c].h_samp_factor = src->comp_info[c].h_samp_factor;
        ce->comp_info[c].v_samp_factor = src->comp_info[c].v_samp_factor;
        ce->comp_info[c].quant_tbl_no = src->comp_info[c].quant_tbl_no;
    }
    for (int c = 0; c < src->num_components; c++) {
        int q = src->comp_info[c].quant_tbl_no;
        if (ce->quant_tbl_ptrs[q] == NULL)
            ce->quant_tbl_ptrs[q] = jpeg_alloc_quant_table((j_common_ptr)ce);
        memcpy(ce->quant_tbl_ptrs[q]->quantval, anon_jpeg_component_table(src, c)->quantval,
               sizeof ce->quant_tbl_ptrs[q]->quantval);
    }
    jpeg_start_compress(ce, TRUE);
    if (blocks != NULL)
        keep_blocks(ctx, ce, blocks);
    size_t stride = (size_t)img->width * (size_t)img->channels;
    while (ce->next_scanline < ce->image_height) {
        JSAMPROW row = img->pixels + (size_t)(y0 + (int)ce->next_scanline) * stride +
                       (size_t)x0 * (size_t)img->channels;
        jpeg_write_scanlines(ce, &row, 1);
    }
    jpeg_finish_compress(ce);
    jpeg_destroy_compress(ce);
}

/* Copies the crop's blocks over the source's, at MCU column/row mx, my. */
static void copy_blocks(redact_ctx *ctx, jvirt_barray_ptr *crop_coefs, int mx, int my)
{
    struct jpeg_decompress_struct *src = &ctx->src, *cd = &ctx->crop_dec;
    for (int c = 0; c < src->num_components; c++) {
        jpeg_component_info *sc = &src->comp_info[c], *cc = &cd->comp_info[c];
        if (cc->h_samp_factor != sc->h_samp_factor || cc->v_samp_factor != sc->v_samp_factor)
            fail_with(ctx, "re-encoded region does not match the source's sampling");
        JDIMENSION bx = (JDIMENSION)mx * (JDIMENSION)sc->h_samp_factor;
        JDIMENSION by = (JDIMENSION)my * (JDIMENSION)sc->v_samp_factor;
        if (bx >= sc->width_in_blocks || by >= sc->height_in_blocks)
            continue;
        JDIMENSION cols = cc->width_in_blocks, rows = cc->height_in_blocks;
        if (cols > sc->width_in_blocks - bx)
            cols = sc->width_in_blocks - bx;
        if (rows > sc->height_in_blocks - by)
            rows = sc->height_in_blocks - by;
        for (JDIMENSION r = 0; r < rows; r++) {
            JBLOCKARRAY to = src->mem->access_virt_barray((j_common_ptr)src, ctx->src_coefs[c],
                                                          by + r, 1, TRUE);
            JBLOCKARRAY from = cd->mem->access_virt_barray((j_common_ptr)cd, crop_coefs[c],
                                                           r, 1, FALSE);
            memcpy(to[0] + bx, from[0], cols * sizeof(JBLOCK));
        }
    }
}

/* One re-encoded region: a small JPEG of its MCU-aligned crop, or its
 * blocks, to be pasted at MCU column/row mx, my of the source. */
typedef struct patch {
    unsigned char *jpeg;
    unsigned long size;
    crop_blocks blocks;    /* .v NULL for a JPEG patch */
    int mx, my;
} patch;

struct anon_jpeg_patches {
    size_t n, cap;    /* made, room for (a failed one may hold memory) */
    patch *v;
    int width, height;     /* the image's */
    int components;
    UINT16 quant[MAX_COMPONENTS][DCTSIZE2];    /* the tables the crops used */
};

/* Encodes the crop covering r (out to whole MCUs) into p: a JPEG, or
 * with as_blocks its blocks. */
static void make_patch(redact_ctx *ctx, const anon_image *img, const anon_rect *r, bool as_blocks,
                       patch *p)
{
    int mcu_w = 8 * ctx->src.max_h_samp_factor, mcu_h = 8 * ctx->src.max_v_samp_factor;
    int x0 = r->x < 0 ? 0 : r->x, y0 = r->y < 0 ? 0 : r->y;
    long x1l = (long)r->x + r->w, y1l = (long)r->y + r->h;
    int x1 = x1l > img->width ? img->width : (int)x1l;
    int y1 = y1l > img->height ? img->height : (int)y1l;
    if (r->w <= 0 || r->h <= 0 || x1 <= x0 || y1 <= y0)
        return;
    /* Out to whole MCUs, clipped to the image. */
    int mx = x0 / mcu_w, my = y0 / mcu_h;
    x0 = mx * mcu_w;
    y0 = my * mcu_h;
    x1 = (x1 + mcu_w - 1) / mcu_w * mcu_w;
    y1 = (y1 + mcu_h - 1) / mcu_h * mcu_h;
    x1 = x1 > img->width ? img->width : x1;
    y1 = y1 > img->height ? img->height : y1;
    *p = (patch){.mx = mx, .my = my};
    encode_crop(ctx, img, x0, y0, x1, y1, as_blocks ? &p->blocks : NULL);
    if (as_blocks)
        return;
    p->jpeg = ctx->crop;    /* now the patch's */
    p->size = ctx->crop_size;
    ctx->crop = NULL;
    ctx->crop_size = 0;
}

/* Pastes p's blocks over the source's. */
static void apply_patch(redact_ctx *ctx, const patch *p)
{
    struct jpeg_decompress_struct *cd = &ctx->crop_dec;
    jpeg_create_decompress(cd);
    jpeg_mem_src(cd, p->jpeg, p->size);
    jpeg_read_header(cd, TRUE);
    jvirt_barray_ptr *crop_coefs = jpeg_read_coefficients(cd);
    copy_blocks(ctx, crop_coefs, p->mx, p->my);
    jpeg_destroy_decompress(cd);
}

/* ---------------------------------------------------------------- whole file */

/* Reads the source's header; false when it needs the full re-encode. */
static bool open_source(redact_ctx *ctx, const uint8_t *data, size_t len, int width, int height)
{
    struct jpeg_decompress_struct *src = &ctx->src;
    jpeg_create_decompress(src);
    anon_jpeg_limit_scans(src, &ctx->err);
    jpeg_mem_src(src, data, (unsigned long)len);
    jpeg_read_header(src, TRUE);
    if (!colour_space_supported(src))
        return false;
    if (width >= 0 && ((int)src->image_width != width || (int)src->image_height != height))
        fail_with(ctx, "anonymized image does not match the source's size");
    return true;
}

/* Encodes every region's crop with the tables of the source's header. */
static bool patches_body(redact_ctx *ctx, const uint8_t *data, size_t len,
                         const anon_image *img, const anon_rect *regions, size_t n,
                         bool as_blocks, anon_jpeg_patches *p)
{
    /* No image (no regions): the header gives the size. */
    if (!open_source(ctx, data, len, img ? img->width : -1, img ? img->height : -1) ||
        !quant_tables_usable(&ctx->src))
        return false;
    p->width = (int)ctx->src.image_width;
    p->height = (int)ctx->src.image_height;
    p->components = ctx->src.num_components;
    for (int c = 0; c < p->components; c++)
        memcpy(p->quant[c], anon_jpeg_component_table(&ctx->src, c)->quantval, sizeof p->quant[c]);
    for (size_t i = 0; i < n; i++) {
        make_patch(ctx, img, &regions[i], as_blocks, &p->v[p->n]);
        if (p->v[p->n].jpeg != NULL || p->v[p->n].blocks.v != NULL)
            p->n++;
    }
    return true;
}

/* Decodes the source at 1/scale_denom into small in libjpeg's
 * buffered-image mode, which keeps every coefficient it decodes: for the
 * files jpeg_scan.c does not take (progressive ones, say), one entropy
 * decode still serves the detection image, the face regions and the
 * block-wise output (libjpeg.txt: jpeg_read_coefficients after the last
 * jpeg_finish_output). */
static void decode_keeping_coefs(redact_ctx *ctx, int scale_denom, anon_image *small)
{
    struct jpeg_decompress_struct *src = &ctx->src;
    src->buffered_image = TRUE;
    src->out_color_space = JCS_RGB;
    src->scale_num = 1;
    src->scale_denom = (unsigned)scale_denom;
    jpeg_start_decompress(src);
    int r;
    do    /* a memory source never suspends: it ends in a (faked) EOI */
        r = jpeg_consume_input(src);
    while (r != JPEG_REACHED_EOI && r != JPEG_SUSPENDED);
    anon_error aerr;
    if (anon_image_alloc(small, (int)src->output_width, (int)src->output_height, 3, &aerr) < 0)
        fail_with(ctx, aerr.msg);
    jpeg_start_output(src, src->input_scan_number);
    size_t stride = (size_t)small->width * 3;
    while (src->output_scanline < src->output_height) {
        JSAMPROW row = small->pixels + src->output_scanline * stride;
        if (jpeg_read_scanlines(src, &row, 1) != 1)
            fail_with(ctx, "JPEG data ends early");
    }
    jpeg_finish_output(src);
    ctx->decoded = true;
}

/* Reads the source's coefficients (with small, after its reduced decode):
 * false when damaged or unusable. */
static bool read_body(redact_ctx *ctx, const uint8_t *data, size_t len, int width, int height,
                      int scale_denom, anon_image *small)
{
    if (!open_source(ctx, data, len, width, height))
        return false;
    if (small != NULL)
        decode_keeping_coefs(ctx, scale_denom, small);
    ctx->src_coefs = jpeg_read_coefficients(&ctx->src);
    /* damaged: what libjpeg recovers is the better source */
    return ctx->src_coefs != NULL && ctx->info.warnings == 0 && quant_tables_usable(&ctx->src);
}

/* Whether p was quantised with the tables the source's blocks use (a
 * table redefined between scans is latched only when its scan starts). */
static bool patches_match(const anon_jpeg_patches *p, j_decompress_ptr ci)
{
    if (ci->num_components != p->components)
        return false;
    for (int c = 0; c < p->components; c++) {
        const JQUANT_TBL *t = anon_jpeg_component_table(ci, c);
        if (t == NULL || memcmp(p->quant[c], t->quantval, sizeof p->quant[c]) != 0)
            return false;
    }
    return true;
}

/* Copies the blocks of MCU (mx, my) between buf (an interleaved scan's
 * order; coefficient k at buf position k, or with zigzag at its zigzag
 * position) and the source's coefficient arrays: into the arrays with
 * to_arrays, else out of them. Blocks past a component's edge are
 * skipped, or read as zeros. */
static void mcu_transfer(redact_ctx *ctx, int mx, int my, JBLOCK *buf, bool zigzag,
                         bool to_arrays)
{
    struct jpeg_decompress_struct *src = &ctx->src;
    for (int c = 0; c < src->num_components; c++) {
        jpeg_component_info *comp = &src->comp_info[c];
        for (int v = 0; v < comp->v_samp_factor; v++) {
            JDIMENSION by = (JDIMENSION)(my * comp->v_samp_factor + v);
            JBLOCKARRAY row = by < comp->height_in_blocks
                ? src->mem->access_virt_barray((j_common_ptr)src, ctx->src_coefs[c], by, 1,
                                               to_arrays)
                : NULL;
            for (int h = 0; h < comp->h_samp_factor; h++, buf++) {
                JDIMENSION bx = (JDIMENSION)(mx * comp->h_samp_factor + h);
                JCOEF *arr = row != NULL && bx < comp->width_in_blocks ? row[0][bx] : NULL;
                if (arr == NULL && !to_arrays)
                    memset(*buf, 0, sizeof *buf);
                for (int k = 0; arr != NULL && k < DCTSIZE2; k++) {
                    int at = zigzag ? anon_jpeg_zigzag[k] : k;
                    if (to_arrays)
                        arr[at] = (*buf)[k];
                    else
                        (*buf)[k] = arr[at];
                }
            }
        }
    }
}

/* Pastes a patch kept as blocks (zigzag order, MCU by MCU) over the
 * source's coefficient arrays. */
static void paste_blocks(redact_ctx *ctx, const patch *pt)
{
    const crop_blocks *cb = &pt->blocks;
    for (size_t i = 0; i < cb->mcus; i++)
        mcu_transfer(ctx, pt->mx + (int)(i % (size_t)cb->mcus_x),
                     pt->my + (int)(i / (size_t)cb->mcus_x), cb->v + i * (size_t)cb->per_mcu,
                     true, true);
}

/* Pastes the patches over the coefficients read and writes the file. */
static bool write_body(redact_ctx *ctx, const uint8_t *data, size_t len,
                       const anon_jpeg_patches *p, bool keep_metadata)
{
    struct jpeg_decompress_struct *src = &ctx->src;
    if (!patches_match(p, src))
        return false;
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].jpeg != NULL)
            apply_patch(ctx, &p->v[i]);
        else
            paste_blocks(ctx, &p->v[i]);

    struct jpeg_compress_struct *dst = &ctx->dst;
    jpeg_create_compress(dst);
    jpeg_mem_dest(dst, &ctx->out, &ctx->out_size);
    jpeg_copy_critical_parameters(src, dst);
    if (src->progressive_mode)
        jpeg_simple_progression(dst);
    /* Standard Huffman tables: optimising them costs a second pass over
     * every block for a few percent of size (progressive output always
     * optimises, libjpeg insists). */
    dst->optimize_coding = FALSE;
    jpeg_write_coefficients(dst, ctx->src_coefs);
    anon_error aerr;
    if (anon_jpeg_write_source_markers(dst, data, len, keep_metadata, &ctx->exif, &aerr) < 0)
        fail_with(ctx, aerr.msg);
    jpeg_finish_compress(dst);
    jpeg_finish_decompress(src);
    return true;
}

static void redact_ctx_free(redact_ctx *ctx)
{
    jpeg_destroy_decompress(&ctx->crop_dec);
    jpeg_destroy_compress(&ctx->crop_enc);
    jpeg_destroy_compress(&ctx->dst);
    jpeg_destroy_decompress(&ctx->src);
    free(ctx->crop);
    free(ctx->out);
    anon_buffer_free(&ctx->exif);
    free(ctx);
}

static redact_ctx *redact_ctx_new(void)
{
    redact_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL)
        return NULL;
    anon_jpeg_errmgr_init(&ctx->err, &ctx->info);
    ctx->src.err = ctx->dst.err = &ctx->err.pub;
    ctx->crop_enc.err = ctx->crop_dec.err = &ctx->err.pub;
    return ctx;
}

void anon_jpeg_patches_free(anon_jpeg_patches *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->cap; i++) {
        free(p->v[i].jpeg);
        free(p->v[i].blocks.v);
    }
    free(p->v);
    free(p);
}

static bool jpeg_orientation_1(const uint8_t *src, size_t len)
{
    anon_image_info probe;
    return anon_probe(src, len, &probe, NULL) == 0 && probe.format == ANON_FMT_JPEG &&
           probe.orientation == 1;
}

static int patches_make(const uint8_t *src, size_t len, const anon_image *upright_blurred,
                        const anon_rect *regions, size_t n, bool as_blocks,
                        anon_jpeg_patches **out, anon_error *err)
{
    *out = NULL;
    bool have_image = upright_blurred != NULL && upright_blurred->pixels != NULL;
    if (n > 0 && !have_image)
        return anon_fail(err, "no image to encode");
    if (!jpeg_orientation_1(src, len))
        return 1;
    anon_jpeg_patches *p = calloc(1, sizeof *p);
    redact_ctx *ctx = redact_ctx_new();
    if (p != NULL) {
        p->cap = n ? n : 1;
        p->v = calloc(p->cap, sizeof *p->v);
    }
    if (p == NULL || p->v == NULL || ctx == NULL) {
        anon_jpeg_patches_free(p);
        free(ctx);
        return anon_fail(err, "out of memory");
    }
    int rc = 1;
    if (setjmp(ctx->err.jump) == 0)
        rc = patches_body(ctx, src, len, have_image ? upright_blurred : NULL, regions, n,
                          as_blocks, p) ? 0 : 1;
    else
        rc = anon_fail_kind(err, failure_kind(ctx), "JPEG redact: %s", ctx->err.why);
    redact_ctx_free(ctx);
    if (rc == 0)
        *out = p;
    else
        anon_jpeg_patches_free(p);
    return rc;
}

int anon_jpeg_patches_make(const uint8_t *src, size_t len, const anon_image *upright_blurred,
                           const anon_rect *regions, size_t n, anon_jpeg_patches **out,
                           anon_error *err)
{
    return patches_make(src, len, upright_blurred, regions, n, false, out, err);
}

int anon_jpeg_patches_make_blocks(const uint8_t *src, size_t len,
                                  const anon_image *upright_blurred, const anon_rect *regions,
                                  size_t n, anon_jpeg_patches **out, anon_error *err)
{
    return patches_make(src, len, upright_blurred, regions, n, true, out, err);
}

int anon_jpeg_patches_apply(const uint8_t *src, size_t len, const anon_jpeg_patches *p,
                            bool keep_metadata, anon_buffer *out, anon_error *err)
{
    anon_jpeg_source *s;
    int rc = anon_jpeg_source_read(src, len, p->width, p->height, 1, NULL, &s, err);
    if (rc == 0)
        rc = anon_jpeg_source_write(s, src, len, p, keep_metadata, out, err);
    anon_jpeg_source_free(s);
    return rc;
}

/* ---------------------------------------------------------------- the source, decoded once */

/* A baseline source is indexed (jpeg_scan.c); any other libjpeg keeps
 * every coefficient of (buffered-image mode). */
struct anon_jpeg_source {
    anon_jpeg_scan *scan;
    redact_ctx *ctx;
};

/* The libjpeg backend: 1 when damaged or not for the block-wise path. */
static int source_read_libjpeg(const uint8_t *src, size_t len, int width, int height,
                               int scale_denom, anon_image *small, redact_ctx **out,
                               anon_error *err)
{
    redact_ctx *ctx = redact_ctx_new();
    if (ctx == NULL)
        return anon_fail(err, "out of memory");
    int rc = 1;
    if (setjmp(ctx->err.jump) == 0)
        rc = read_body(ctx, src, len, width, height, scale_denom, small) ? 0 : 1;
    else
        rc = anon_fail_kind(err, failure_kind(ctx), "JPEG redact: %s", ctx->err.why);
    if (rc != 0) {
        redact_ctx_free(ctx);
        return rc;
    }
    *out = ctx;
    return 0;
}

int anon_jpeg_source_read(const uint8_t *src, size_t len, int width, int height,
                          int scale_denom, anon_image *small, anon_jpeg_source **out,
                          anon_error *err)
{
    *out = NULL;
    if (small != NULL)
        memset(small, 0, sizeof *small);
    anon_jpeg_source *s = calloc(1, sizeof *s);
    if (s == NULL)
        return anon_fail(err, "out of memory");
    int rc = anon_jpeg_scan_open(src, len, scale_denom, small, &s->scan, err);
    if (rc == 1 && anon_jpeg_redact_supported(src, len))
        rc = source_read_libjpeg(src, len, width, height, scale_denom, small, &s->ctx, err);
    if (rc == 0 && s->scan != NULL) {
        anon_jpeg_errmgr *e;
        j_decompress_ptr ci = anon_jpeg_scan_cinfo(s->scan, &e);
        if (width >= 0 && ((int)ci->image_width != width || (int)ci->image_height != height))
            rc = anon_fail(err, "anonymized image does not match the source's size");
    }
    if (rc != 0) {
        if (small != NULL)
            anon_image_free(small);
        anon_jpeg_source_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* Blocks of MCU (mx, my) from libjpeg's coefficient arrays, in the order
 * an interleaved scan would hold them; natural order. */
static bool libjpeg_mcu(void *arg, int mx, int my, JBLOCK *blocks)
{
    mcu_transfer(arg, mx, my, blocks, false, false);
    return true;
}

static bool scan_mcu(void *arg, int mx, int my, JBLOCK *blocks)
{
    return anon_jpeg_scan_decode_mcu(arg, mx, my, blocks);
}

int anon_jpeg_source_mcus(anon_jpeg_source *s, anon_jpeg_mcu_reader *r)
{
    memset(r, 0, sizeof *r);
    if (s->scan != NULL) {
        if (anon_jpeg_scan_start_idct(s->scan) != 0)
            return 1;
        r->ci = anon_jpeg_scan_cinfo(s->scan, &r->err);
        r->mcus_x = anon_jpeg_scan_mcus_x(s->scan);
        r->mcus_y = anon_jpeg_scan_mcus_y(s->scan);
        r->read = scan_mcu;
        r->ctx = s->scan;
        r->full_size_idct = true;
        return 0;
    }
    if (!s->ctx->decoded)
        return 1;    /* no output pass: libjpeg's IDCT tables are not set up */
    j_decompress_ptr ci = &s->ctx->src;
    r->ci = ci;
    r->err = &s->ctx->err;
    r->mcus_x = (int)((ci->image_width + (unsigned)ci->max_h_samp_factor * DCTSIZE - 1) /
                      ((unsigned)ci->max_h_samp_factor * DCTSIZE));
    r->mcus_y = (int)((ci->image_height + (unsigned)ci->max_v_samp_factor * DCTSIZE - 1) /
                      ((unsigned)ci->max_v_samp_factor * DCTSIZE));
    r->read = libjpeg_mcu;
    r->ctx = s->ctx;
    return 0;
}

/* The patches, indexed: which one replaces each MCU of the source. */
typedef struct patch_map {
    anon_jpeg_scan **scans;    /* one per patch */
    const anon_jpeg_patches *p;
    int *owner;                /* per source MCU: patch index or -1 */
    int mcus_x;
} patch_map;

static bool patch_mcu(void *ctx, int mx, int my, JBLOCK *blocks)
{
    const patch_map *m = ctx;
    int j = m->owner[(size_t)my * (size_t)m->mcus_x + (size_t)mx];
    if (j < 0)
        return false;
    const patch *pt = &m->p->v[j];
    if (pt->blocks.v == NULL)
        return anon_jpeg_scan_decode_mcu_zigzag(m->scans[j], mx - pt->mx, my - pt->my, blocks);
    size_t at = (size_t)(my - pt->my) * (size_t)pt->blocks.mcus_x + (size_t)(mx - pt->mx);
    memcpy(blocks, pt->blocks.v + at * (size_t)pt->blocks.per_mcu,
           (size_t)pt->blocks.per_mcu * sizeof *blocks);
    return true;
}

static void patch_map_free(patch_map *m)
{
    for (size_t j = 0; m->scans != NULL && j < m->p->n; j++)
        anon_jpeg_scan_free(m->scans[j]);
    free(m->scans);
    free(m->owner);
}

/* Opens every patch and marks the MCUs it covers (a later patch wins
 * where two overlap; both were made from the same pixels). */
static int patch_map_make(patch_map *m, anon_jpeg_scan *src, const anon_jpeg_patches *p,
                          anon_error *err)
{
    int mx_n = anon_jpeg_scan_mcus_x(src), my_n = anon_jpeg_scan_mcus_y(src);
    *m = (patch_map){.p = p, .mcus_x = mx_n};
    m->scans = calloc(p->n ? p->n : 1, sizeof *m->scans);
    m->owner = malloc((size_t)mx_n * (size_t)my_n * sizeof *m->owner);
    if (m->scans == NULL || m->owner == NULL)
        return anon_fail(err, "out of memory");
    memset(m->owner, 0xFF, (size_t)mx_n * (size_t)my_n * sizeof *m->owner);
    for (size_t j = 0; j < p->n; j++) {
        const crop_blocks *cb = &p->v[j].blocks;
        int w, h;
        if (cb->v != NULL) {
            if (cb->per_mcu != anon_jpeg_scan_mcu_blocks(src))
                return 1;
            w = cb->mcus_x;
            h = (int)(cb->mcus / (size_t)cb->mcus_x);
        } else {
            int rc = anon_jpeg_scan_open(p->v[j].jpeg, p->v[j].size, 1, NULL, &m->scans[j], err);
            if (rc != 0)
                return rc;
            if (anon_jpeg_scan_mcu_blocks(m->scans[j]) != anon_jpeg_scan_mcu_blocks(src))
                return 1;
            w = anon_jpeg_scan_mcus_x(m->scans[j]);
            h = anon_jpeg_scan_mcus_y(m->scans[j]);
        }
        int x1 = p->v[j].mx + w, y1 = p->v[j].my + h;
        for (int my = p->v[j].my; my < y1 && my < my_n; my++)
            for (int mx = p->v[j].mx; mx < x1 && mx < mx_n; mx++)
                m->owner[(size_t)my * (size_t)mx_n + (size_t)mx] = (int)j;
    }
    return 0;
}

/* libjpeg's way: the patches pasted over all the coefficients, all
 * written again. */
static int write_libjpeg(redact_ctx *ctx, const uint8_t *src, size_t len,
                         const anon_jpeg_patches *p, bool keep_metadata, anon_buffer *out,
                         anon_error *err)
{
    int rc = 1;
    if (setjmp(ctx->err.jump) == 0) {
        if (write_body(ctx, src, len, p, keep_metadata))
            rc = anon_buffer_append(out, ctx->out, ctx->out_size, err);
    } else {
        rc = anon_fail_kind(err, failure_kind(ctx), "JPEG redact: %s", ctx->err.why);
    }
    return rc;
}

/* The indexed way; 1 when a replacement needs a code the source's
 * Huffman tables lack (or does not fit the source). */
static int write_indexed(anon_jpeg_scan *scan, const uint8_t *src, size_t len,
                      const anon_jpeg_patches *p, bool keep_metadata, anon_buffer *out,
                      anon_error *err)
{
    anon_jpeg_errmgr *e;
    if (!patches_match(p, anon_jpeg_scan_cinfo(scan, &e)))
        return 1;
    anon_buffer markers = ANON_BUFFER_INIT;
    patch_map m;
    int rc = patch_map_make(&m, scan, p, err);
    if (rc == 0)
        rc = anon_jpeg_source_segments(src, len, keep_metadata, &markers, err);
    if (rc == 0)
        rc = anon_jpeg_scan_write(scan, patch_mcu, &m, &markers, out, err);
    patch_map_free(&m);
    anon_buffer_free(&markers);
    return rc;
}

int anon_jpeg_source_write(anon_jpeg_source *s, const uint8_t *src, size_t len,
                           const anon_jpeg_patches *p, bool keep_metadata, anon_buffer *out,
                           anon_error *err)
{
    if (s->scan != NULL) {
        int rc = write_indexed(s->scan, src, len, p, keep_metadata, out, err);
        if (rc != 1)
            return rc;
        /* libjpeg codes with standard tables: read its way after all */
        rc = source_read_libjpeg(src, len, p->width, p->height, 1, NULL, &s->ctx, err);
        if (rc != 0)
            return rc;
    }
    return write_libjpeg(s->ctx, src, len, p, keep_metadata, out, err);
}

void anon_jpeg_source_free(anon_jpeg_source *s)
{
    if (s == NULL)
        return;
    anon_jpeg_scan_free(s->scan);
    if (s->ctx != NULL)
        redact_ctx_free(s->ctx);
    free(s);
}

int anon_jpeg_redact_blocks(const uint8_t *src, size_t len, const anon_image *upright_blurred,
                            const anon_rect *regions, size_t n, bool keep_metadata,
                            anon_buffer *out, anon_error *err)
{
    anon_jpeg_patches *p;
    int rc = anon_jpeg_patches_make(src, len, upright_blurred, regions, n, &p, err);
    if (rc == 0)
        rc = anon_jpeg_patches_apply(src, len, p, keep_metadata, out, err);
    anon_jpeg_patches_free(p);
    return rc;
}

int anon_jpeg_redact(const uint8_t *src, size_t len, const anon_image *upright_blurred,
                     const anon_rect *regions, size_t n, int quality, bool keep_metadata,
                     anon_buffer *out, anon_error *err)
{
    if (upright_blurred == NULL || upright_blurred->pixels == NULL)
        return anon_fail(err, "no image to encode");
    int rc = anon_jpeg_redact_blocks(src, len, upright_blurred, regions, n, keep_metadata,
                                     out, err);
    if (rc <= 0)
        return rc;
    anon_encode_options eo = {quality, keep_metadata, src, len};
    return anon_encode(upright_blurred, ANON_FMT_JPEG, &eo, out, err);
}
