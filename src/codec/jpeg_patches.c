/* jpeg_patches.c - the replacement blocks of the block-wise JPEG path.
 *
 * Replacement blocks come from encoding the region's MCU-aligned crop of
 * the anonymized pixels into a temporary JPEG with the source's own
 * quantisation tables and sampling factors, then reading that file's
 * coefficients: libjpeg does the colour conversion, downsampling and
 * forward DCT exactly as it would for the whole image, and because the
 * crop starts on an MCU boundary its blocks line up with the source's.
 * These patches are made from the header's tables before the source is
 * read again (anon_jpeg_patches_make, then _apply), so a caller can free
 * its pixels in between. For the indexed writer the crop's quantised
 * blocks are kept as libjpeg makes them instead, with no Huffman coding
 * of a file that would only be decoded again. */
#include <stdlib.h>
#include <string.h>

#include "codec/jpeg_patches_private.h"

/* The source's header and the crop being encoded. */
typedef struct patches_ctx {
    anon_jpeg_errmgr err;
    struct jpeg_decompress_struct src;
    struct jpeg_compress_struct crop_enc;
    unsigned char *crop;
    unsigned long crop_size;
} patches_ctx;

/* libjpeg's entropy encoder module, as its private jpegint.h declares it
 * (the same three fields since libjpeg 6b). A crop whose blocks go
 * straight to the indexed writer swaps in its own encode_mcu, which keeps
 * the quantised blocks libjpeg made. */
struct jpeg_entropy_encoder {
    void (*start_pass)(j_compress_ptr cinfo, boolean gather_statistics);
    boolean (*encode_mcu)(j_compress_ptr cinfo, JBLOCKROW *MCU_data);
    void (*finish_pass)(j_compress_ptr cinfo);
};

static boolean keep_mcu(j_compress_ptr ci, JBLOCKROW *mcu)
{
    anon_jpeg_crop_blocks *cb = ci->client_data;
    if (cb->at >= cb->mcus)
        return TRUE;    /* cannot happen: libjpeg makes exactly mcus */
    JBLOCK *out = cb->v + cb->at++ * (size_t)cb->per_mcu;
    for (int b = 0; b < ci->blocks_in_MCU; b++)
        for (int k = 0; k < DCTSIZE2; k++)
            out[b][k] = mcu[b][0][anon_jpeg_zigzag[k]];
    return TRUE;
}

/* Sets ce up to hand its blocks to cb (after jpeg_start_compress). */
static void keep_blocks(patches_ctx *ctx, struct jpeg_compress_struct *ce,
                        anon_jpeg_crop_blocks *cb)
{
    cb->per_mcu = ce->blocks_in_MCU;
    cb->mcus_x = (int)ce->MCUs_per_row;
    cb->mcus = (size_t)ce->MCUs_per_row * ce->MCU_rows_in_scan;
    cb->at = 0;
    cb->v = malloc(cb->mcus * (size_t)cb->per_mcu * sizeof *cb->v);
    if (cb->v == NULL)
        anon_jpeg_fail(&ctx->err, "out of memory");
    ce->client_data = cb;
    ce->entropy->encode_mcu = keep_mcu;
}

/* Encodes the crop c of img like the source would be: into ctx->crop as
 * a JPEG, or with blocks (else NULL) into them. */
static void encode_crop(patches_ctx *ctx, const anon_image *img, const anon_rect *c,
                        anon_jpeg_crop_blocks *blocks)
{
    struct jpeg_compress_struct *ce = &ctx->crop_enc;
    const struct jpeg_decompress_struct *src = &ctx->src;
    jpeg_create_compress(ce);
    free(ctx->crop);
    ctx->crop = NULL;
    ctx->crop_size = 0;
    jpeg_mem_dest(ce, &ctx->crop, &ctx->crop_size);
    ce->image_width = (JDIMENSION)c->w;
    ce->image_height = (JDIMENSION)c->h;
    ce->input_components = img->channels;
    ce->in_color_space = img->channels == 4 ? JCS_EXT_RGBX : JCS_RGB;
    jpeg_set_defaults(ce);
    jpeg_set_colorspace(ce, src->jpeg_color_space);
    for (int k = 0; k < src->num_components; k++) {
        ce->comp_info[k].h_samp_factor = src->comp_info[k].h_samp_factor;
        ce->comp_info[k].v_samp_factor = src->comp_info[k].v_samp_factor;
        ce->comp_info[k].quant_tbl_no = src->comp_info[k].quant_tbl_no;
    }
    for (int k = 0; k < src->num_components; k++) {
        int q = src->comp_info[k].quant_tbl_no;
        if (q < 0 || q >= NUM_QUANT_TBLS || anon_jpeg_component_table(src, k) == NULL)
            anon_jpeg_fail(&ctx->err, "JPEG names a quantization table it does not define");
        if (ce->quant_tbl_ptrs[q] == NULL)
            ce->quant_tbl_ptrs[q] = jpeg_alloc_quant_table((j_common_ptr)ce);
        memcpy(ce->quant_tbl_ptrs[q]->quantval, anon_jpeg_component_table(src, k)->quantval,
               sizeof ce->quant_tbl_ptrs[q]->quantval);
    }
    jpeg_start_compress(ce, TRUE);
    if (blocks != NULL)
        keep_blocks(ctx, ce, blocks);
    size_t stride = (size_t)img->width * (size_t)img->channels;
    while (ce->next_scanline < ce->image_height) {
        JSAMPROW row = img->pixels + (size_t)(c->y + (int)ce->next_scanline) * stride +
                       (size_t)c->x * (size_t)img->channels;
        jpeg_write_scanlines(ce, &row, 1);
    }
    jpeg_finish_compress(ce);
    jpeg_destroy_compress(ce);
}

/* Encodes the crop covering r (out to whole MCUs) into p: a JPEG, or
 * with as_blocks its blocks. */
static void make_patch(patches_ctx *ctx, const anon_image *img, const anon_rect *r,
                       bool as_blocks, anon_jpeg_patch *p)
{
    int mcu_w = 8 * ctx->src.max_h_samp_factor, mcu_h = 8 * ctx->src.max_v_samp_factor;
    anon_rect c;
    if (!anon_jpeg_mcu_cover(r, mcu_w, mcu_h, img->width, img->height, &c))
        return;
    *p = (anon_jpeg_patch){.mx = c.x / mcu_w, .my = c.y / mcu_h};
    encode_crop(ctx, img, &c, as_blocks ? &p->blocks : NULL);
    if (as_blocks)
        return;
    p->jpeg = ctx->crop;    /* now the patch's */
    p->size = ctx->crop_size;
    ctx->crop = NULL;
    ctx->crop_size = 0;
}

/* Encodes every region's crop with the tables of the source's header;
 * false when the source needs the full re-encode. */
static bool patches_body(patches_ctx *ctx, const uint8_t *data, size_t len,
                         const anon_image *img, const anon_rect *regions, size_t n,
                         bool as_blocks, anon_jpeg_patches *p)
{
    /* No image (no regions): the header gives the size. */
    if (!anon_jpeg_open_source(&ctx->src, &ctx->err, data, len, img ? img->width : -1,
                               img ? img->height : -1) ||
        !anon_jpeg_quant_tables_usable(&ctx->src))
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

bool anon_jpeg_patches_match(const anon_jpeg_patches *p, j_decompress_ptr ci)
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

static void patches_ctx_free(patches_ctx *ctx)
{
    jpeg_destroy_compress(&ctx->crop_enc);
    jpeg_destroy_decompress(&ctx->src);
    free(ctx->crop);
    free(ctx);
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
        return ANON_DECLINED;
    anon_jpeg_patches *p = calloc(1, sizeof *p);
    patches_ctx *ctx = calloc(1, sizeof *ctx);
    if (p != NULL) {
        p->cap = n ? n : 1;
        p->v = calloc(p->cap, sizeof *p->v);
    }
    if (p == NULL || p->v == NULL || ctx == NULL) {
        anon_jpeg_patches_free(p);
        free(ctx);
        return anon_fail(err, "out of memory");
    }
    anon_jpeg_errmgr_init(&ctx->err, NULL);
    ctx->src.err = ctx->crop_enc.err = &ctx->err.pub;
    int rc;
    if (setjmp(ctx->err.jump) == 0)
        rc = patches_body(ctx, src, len, have_image ? upright_blurred : NULL, regions, n,
                          as_blocks, p) ? 0 : ANON_DECLINED;
    else
        rc = anon_fail_kind(err, anon_jpeg_error_kind(&ctx->err), "JPEG redact: %s", ctx->err.why);
    patches_ctx_free(ctx);
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
