/* jpeg_transcode.c - block-wise JPEG output through libjpeg's coefficients.
 *
 * For what the indexed scan (jpeg_scan.c) does not take (progressive,
 * arithmetic, several scans) libjpeg reads every block's coefficients
 * (jpeg_read_coefficients), the replaced ones are pasted and all are
 * written back (jpeg_write_coefficients): every other block stays
 * bit-exact, at the cost of a whole entropy decode and re-encode. When
 * the pipeline detects on a reduced image, libjpeg's buffered-image mode
 * makes it from the same entropy decode, and the face regions' pixels
 * come from the coefficients kept (jpeg_coef.c). */
#include <stdlib.h>
#include <string.h>

#include "codec/jpeg_markers_private.h"
#include "codec/jpeg_transcode_private.h"

struct anon_jpeg_transcode {
    anon_jpeg_errmgr err;
    anon_image_info info;            /* warnings while reading the source */
    struct jpeg_decompress_struct src;
    jvirt_barray_ptr *src_coefs;
    bool decoded;                    /* a reduced output pass ran (buffered mode) */
    struct jpeg_compress_struct dst;
    unsigned char *out;
    unsigned long out_size;
    struct jpeg_decompress_struct crop_dec;    /* the patch being pasted */
    anon_buffer exif;
};

/* ---------------------------------------------------------------- reading */

/* Decodes the source at 1/scale_denom into small in libjpeg's
 * buffered-image mode, which keeps every coefficient it decodes: for the
 * files jpeg_scan.c does not take (progressive ones, say), one entropy
 * decode still serves the detection image, the face regions and the
 * block-wise output (libjpeg.txt: jpeg_read_coefficients after the last
 * jpeg_finish_output). */
static void decode_keeping_coefs(anon_jpeg_transcode *t, int scale_denom, anon_image *small)
{
    struct jpeg_decompress_struct *src = &t->src;
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
        anon_jpeg_fail(&t->err, aerr.msg);
    jpeg_start_output(src, src->input_scan_number);
    size_t stride = (size_t)small->width * 3;
    while (src->output_scanline < src->output_height) {
        JSAMPROW row = small->pixels + src->output_scanline * stride;
        if (jpeg_read_scanlines(src, &row, 1) != 1)
            anon_jpeg_fail(&t->err, "JPEG data ends early");
    }
    jpeg_finish_output(src);
    t->decoded = true;
}

/* Whether every coefficient can be Huffman-coded again with 8-bit tables:
 * AC values of at most 10 bits, DC values whose differences take at most
 * 11. A crafted file's tables can code larger ones, and libjpeg's encoder
 * would then write codes its own tables lack (a corrupt file) instead of
 * failing. */
static bool coefficients_in_range(anon_jpeg_transcode *t)
{
    struct jpeg_decompress_struct *src = &t->src;
    for (int c = 0; c < src->num_components; c++) {
        const jpeg_component_info *comp = &src->comp_info[c];
        for (JDIMENSION by = 0; by < comp->height_in_blocks; by++) {
            JBLOCKARRAY row = src->mem->access_virt_barray((j_common_ptr)src, t->src_coefs[c],
                                                           by, 1, FALSE);
            for (JDIMENSION bx = 0; bx < comp->width_in_blocks; bx++) {
                const JCOEF *b = row[0][bx];
                if (b[0] < -1024 || b[0] > 1023)
                    return false;
                for (int k = 1; k < DCTSIZE2; k++)
                    if (b[k] < -1023 || b[k] > 1023)
                        return false;
            }
        }
    }
    return true;
}

/* Reads the source's coefficients (with small, after its reduced decode):
 * false when damaged or unusable. */
static bool read_body(anon_jpeg_transcode *t, const uint8_t *data, size_t len, int width,
                      int height, int scale_denom, anon_image *small)
{
    if (!anon_jpeg_open_source(&t->src, &t->err, data, len, width, height))
        return false;
    if (small != NULL)
        decode_keeping_coefs(t, scale_denom, small);
    t->src_coefs = jpeg_read_coefficients(&t->src);
    /* damaged: what libjpeg recovers is the better source */
    return t->src_coefs != NULL && t->info.warnings.count == 0 &&
           anon_jpeg_quant_tables_usable(&t->src) && coefficients_in_range(t);
}

void anon_jpeg_transcode_free(anon_jpeg_transcode *t)
{
    if (t == NULL)
        return;
    jpeg_destroy_decompress(&t->crop_dec);
    jpeg_destroy_compress(&t->dst);
    jpeg_destroy_decompress(&t->src);
    free(t->out);
    anon_buffer_free(&t->exif);
    free(t);
}

int anon_jpeg_transcode_read(const uint8_t *src, size_t len, int width, int height,
                             int scale_denom, anon_image *small, anon_jpeg_transcode **out,
                             anon_error *err)
{
    *out = NULL;
    anon_jpeg_transcode *t = calloc(1, sizeof *t);
    if (t == NULL)
        return anon_fail(err, "out of memory");
    anon_jpeg_errmgr_init(&t->err, &t->info);
    t->src.err = t->dst.err = t->crop_dec.err = &t->err.pub;
    int rc;
    if (setjmp(t->err.jump) == 0)
        rc = read_body(t, src, len, width, height, scale_denom, small) ? 0 : ANON_DECLINED;
    else
        rc = anon_fail_kind(err, anon_jpeg_error_kind(&t->err), "JPEG redact: %s", t->err.why);
    if (rc != 0) {
        anon_jpeg_transcode_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

/* ---------------------------------------------------------------- MCUs */

/* Copies the blocks of MCU (mx, my) between buf (an interleaved scan's
 * order; coefficient k at buf position k, or with zigzag at its zigzag
 * position) and the source's coefficient arrays: into the arrays with
 * to_arrays, else out of them. Blocks past a component's edge are
 * skipped, or read as zeros. */
static void mcu_transfer(anon_jpeg_transcode *t, int mx, int my, JBLOCK *buf, bool zigzag,
                         bool to_arrays)
{
    struct jpeg_decompress_struct *src = &t->src;
    for (int c = 0; c < src->num_components; c++) {
        jpeg_component_info *comp = &src->comp_info[c];
        for (int v = 0; v < comp->v_samp_factor; v++) {
            JDIMENSION by = (JDIMENSION)(my * comp->v_samp_factor + v);
            JBLOCKARRAY row = by < comp->height_in_blocks
                ? src->mem->access_virt_barray((j_common_ptr)src, t->src_coefs[c], by, 1,
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

/* Blocks of MCU (mx, my) from libjpeg's coefficient arrays, in the order
 * an interleaved scan would hold them; natural order. */
static bool read_mcu(void *arg, int mx, int my, JBLOCK *blocks)
{
    mcu_transfer(arg, mx, my, blocks, false, false);
    return true;
}

int anon_jpeg_transcode_mcus(anon_jpeg_transcode *t, anon_jpeg_mcu_reader *r)
{
    memset(r, 0, sizeof *r);
    if (!t->decoded)
        return ANON_DECLINED;    /* no output pass: libjpeg's IDCT tables are not set up */
    j_decompress_ptr ci = &t->src;
    r->ci = ci;
    r->err = &t->err;
    r->mcus_x = (int)((ci->image_width + (unsigned)ci->max_h_samp_factor * DCTSIZE - 1) /
                      ((unsigned)ci->max_h_samp_factor * DCTSIZE));
    r->mcus_y = (int)((ci->image_height + (unsigned)ci->max_v_samp_factor * DCTSIZE - 1) /
                      ((unsigned)ci->max_v_samp_factor * DCTSIZE));
    r->read = read_mcu;
    r->ctx = t;
    return 0;
}

/* ---------------------------------------------------------------- writing */

/* Copies the crop's blocks over the source's, at MCU column/row mx, my. */
static void copy_blocks(anon_jpeg_transcode *t, jvirt_barray_ptr *crop_coefs, int mx, int my)
{
    struct jpeg_decompress_struct *src = &t->src, *cd = &t->crop_dec;
    for (int c = 0; c < src->num_components; c++) {
        jpeg_component_info *sc = &src->comp_info[c], *cc = &cd->comp_info[c];
        if (cc->h_samp_factor != sc->h_samp_factor || cc->v_samp_factor != sc->v_samp_factor)
            anon_jpeg_fail(&t->err, "re-encoded region does not match the source's sampling");
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
            JBLOCKARRAY to = src->mem->access_virt_barray((j_common_ptr)src, t->src_coefs[c],
                                                          by + r, 1, TRUE);
            JBLOCKARRAY from = cd->mem->access_virt_barray((j_common_ptr)cd, crop_coefs[c],
                                                           r, 1, FALSE);
            memcpy(to[0] + bx, from[0], cols * sizeof(JBLOCK));
        }
    }
}

/* Pastes a patch kept as a small JPEG over the source's blocks. */
static void apply_patch(anon_jpeg_transcode *t, const anon_jpeg_patch *p)
{
    struct jpeg_decompress_struct *cd = &t->crop_dec;
    jpeg_create_decompress(cd);
    jpeg_mem_src(cd, p->jpeg, p->size);
    jpeg_read_header(cd, TRUE);
    jvirt_barray_ptr *crop_coefs = jpeg_read_coefficients(cd);
    copy_blocks(t, crop_coefs, p->mx, p->my);
    jpeg_destroy_decompress(cd);
}

/* Blocks per MCU of the source's frame, as mcu_transfer walks them. */
static int frame_mcu_blocks(const struct jpeg_decompress_struct *src)
{
    int n = 0;
    for (int c = 0; c < src->num_components; c++)
        n += src->comp_info[c].h_samp_factor * src->comp_info[c].v_samp_factor;
    return n;
}

/* Pastes a patch kept as blocks (zigzag order, MCU by MCU) over the
 * source's coefficient arrays. */
static void paste_blocks(anon_jpeg_transcode *t, const anon_jpeg_patch *pt)
{
    const anon_jpeg_crop_blocks *cb = &pt->blocks;
    if (cb->per_mcu != frame_mcu_blocks(&t->src))
        anon_jpeg_fail(&t->err, "re-encoded region does not match the source's sampling");
    for (size_t i = 0; i < cb->mcus; i++)
        mcu_transfer(t, pt->mx + (int)(i % (size_t)cb->mcus_x),
                     pt->my + (int)(i / (size_t)cb->mcus_x), cb->v + i * (size_t)cb->per_mcu,
                     true, true);
}

/* Pastes the patches over the coefficients read and writes the file. */
static bool write_body(anon_jpeg_transcode *t, const uint8_t *data, size_t len,
                       const anon_jpeg_patches *p, bool keep_metadata)
{
    struct jpeg_decompress_struct *src = &t->src;
    if (!anon_jpeg_patches_match(p, src))
        return false;
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].jpeg != NULL)
            apply_patch(t, &p->v[i]);
        else
            paste_blocks(t, &p->v[i]);

    struct jpeg_compress_struct *dst = &t->dst;
    jpeg_create_compress(dst);
    jpeg_mem_dest(dst, &t->out, &t->out_size);
    jpeg_copy_critical_parameters(src, dst);
    if (src->progressive_mode)
        jpeg_simple_progression(dst);
    /* Standard Huffman tables: optimising them costs a second pass over
     * every block for a few percent of size (progressive output always
     * optimises, libjpeg insists). */
    dst->optimize_coding = FALSE;
    jpeg_write_coefficients(dst, t->src_coefs);
    anon_error aerr;
    if (anon_jpeg_write_source_markers(dst, data, len, keep_metadata, &t->exif, &aerr) < 0)
        anon_jpeg_fail(&t->err, aerr.msg);
    jpeg_finish_compress(dst);
    jpeg_finish_decompress(src);
    return true;
}

int anon_jpeg_transcode_write(anon_jpeg_transcode *t, const uint8_t *src, size_t len,
                              const anon_jpeg_patches *p, bool keep_metadata, anon_buffer *out,
                              anon_error *err)
{
    int rc = ANON_DECLINED;
    if (setjmp(t->err.jump) == 0) {
        if (write_body(t, src, len, p, keep_metadata))
            rc = anon_buffer_append(out, t->out, t->out_size, err);
    } else {
        rc = anon_fail_kind(err, anon_jpeg_error_kind(&t->err), "JPEG redact: %s", t->err.why);
    }
    return rc;
}
