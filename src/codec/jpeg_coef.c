/* jpeg_coef.c - full-size pixels of a few MCUs from a JPEG's DCT coefficients.
 *
 * Part of the one-decode fast path (anonymize.c, jpeg_source.c): the
 * source is entropy-decoded once (a baseline scan indexed by jpeg_scan.c,
 * anything else by libjpeg in buffered-image mode, keeping every
 * coefficient), which yields the reduced-scale detection image. The blur
 * needs the full-size pixels of the MCUs under the faces; they are made
 * here from those MCUs' coefficients (an anon_jpeg_mcu_reader reads them),
 * the way libjpeg would:
 * its own accurate integer inverse DCT (the method its decompressor
 * chose for a full-size pass, SIMD where the CPU has it, with its
 * multiplier tables and range limit), its "fancy" triangle upsampling of
 * subsampled chroma, and its integer YCbCr -> RGB. The result equals
 * libjpeg's decode (tests/test_fastpath.c).
 *
 * Supported: 8-bit YCbCr or grayscale with chroma subsampled 1x1, 2x1
 * (4:2:2) or 2x2 (4:2:0); anything else returns ANON_DECLINED for the
 * caller's libjpeg path. */
#include <stdlib.h>
#include <string.h>

#include "codec/jpeg_coef_private.h"

/* libjpeg's inverse DCT module, as its private jpegint.h declares it (the
 * same two fields since libjpeg 6b): jpeg_start_decompress has put the
 * method for each component's full-size blocks in inverse_DCT, for the
 * islow method libjpeg-turbo's SIMD version, bit-exact with jidctint.c. */
typedef void (*idct_method)(j_decompress_ptr cinfo, jpeg_component_info *compptr,
                            JCOEFPTR coef_block, JSAMPARRAY output_buf, JDIMENSION output_col);
struct jpeg_inverse_dct {
    void (*start_pass)(j_decompress_ptr cinfo);
    idct_method inverse_DCT[MAX_COMPONENTS];
};
/* libjpeg-turbo's accurate integer inverse DCT in C (jidctint.c;
 * exported, declared only in its private jdct.h). */
void jpeg_idct_islow(j_decompress_ptr cinfo, jpeg_component_info *compptr, JCOEFPTR coef_block,
                     JSAMPARRAY output_buf, JDIMENSION output_col);

/* One component's samples over a rectangle of its blocks. */
typedef struct plane {
    JSAMPLE *v;
    int sx0, sy0;        /* first sample, in the component's coordinates */
    int w, h;            /* samples held */
    int dw, dh;          /* the component's real size (libjpeg's downsampled_width) */
    int ux, uy;          /* output pixels per sample: 1, or 2 (upsampled) */
} plane;

/* The coefficients of a rectangle of MCUs, per component: blocks
 * [bx0, bx0 + w) x [by0, by0 + h) of the component, row by row. */
typedef struct block_grid {
    JBLOCK *v;
    int bx0, by0, w, h;
} block_grid;

/* Reads the MCUs [mx0, mx1) x [my0, my1) into g (one per component):
 * each MCU holds, component by component, v_samp rows of h_samp blocks. */
static bool grid_fill(const anon_jpeg_mcu_reader *r, int mx0, int my0, int mx1, int my1,
                      block_grid *g)
{
    j_decompress_ptr ci = r->ci;
    for (int c = 0; c < ci->num_components; c++) {
        const jpeg_component_info *comp = &ci->comp_info[c];
        g[c].bx0 = mx0 * comp->h_samp_factor;
        g[c].by0 = my0 * comp->v_samp_factor;
        g[c].w = (mx1 - mx0) * comp->h_samp_factor;
        g[c].h = (my1 - my0) * comp->v_samp_factor;
        g[c].v = malloc((size_t)g[c].w * (size_t)g[c].h * sizeof(JBLOCK));
        if (g[c].v == NULL)
            return false;
    }
    JBLOCK mcu[D_MAX_BLOCKS_IN_MCU];
    for (int my = my0; my < my1; my++)
        for (int mx = mx0; mx < mx1; mx++) {
            if (!r->read(r->ctx, mx, my, mcu))
                return false;
            const JBLOCK *b = mcu;
            for (int c = 0; c < ci->num_components; c++) {
                const jpeg_component_info *comp = &ci->comp_info[c];
                for (int v = 0; v < comp->v_samp_factor; v++)
                    for (int h = 0; h < comp->h_samp_factor; h++, b++) {
                        int gx = (mx - mx0) * comp->h_samp_factor + h;
                        int gy = (my - my0) * comp->v_samp_factor + v;
                        memcpy(g[c].v[(size_t)gy * (size_t)g[c].w + (size_t)gx], *b,
                               sizeof(JBLOCK));
                    }
            }
        }
    return true;
}

/* Inverse DCTs of the blocks [bx0, bx1) x [by0, by1) of component c:
 * with libjpeg's method for a full-size pass where it set one up, else
 * its C islow (the multiplier tables are the same for a reduced pass). */
static void plane_fill(const anon_jpeg_mcu_reader *r, const block_grid *g, int c, plane *p,
                       int bx0, int by0, int bx1, int by1)
{
    j_decompress_ptr ci = r->ci;
    jpeg_component_info *comp = &ci->comp_info[c];
    p->sx0 = bx0 * DCTSIZE;
    p->sy0 = by0 * DCTSIZE;
    p->w = (bx1 - bx0) * DCTSIZE;
    p->h = (by1 - by0) * DCTSIZE;
    idct_method idct = r->full_size_idct ? ci->idct->inverse_DCT[c] : jpeg_idct_islow;
    for (int by = by0; by < by1; by++) {
        JBLOCK *row = g->v + (size_t)(by - g->by0) * (size_t)g->w - g->bx0;
        JSAMPROW out[DCTSIZE];
        for (int r = 0; r < DCTSIZE; r++)
            out[r] = p->v + ((size_t)(by - by0) * DCTSIZE + (size_t)r) * (size_t)p->w;
        for (int bx = bx0; bx < bx1; bx++)
            idct(ci, comp, row[bx], out, (JDIMENSION)((bx - bx0) * DCTSIZE));
    }
}

static inline int clamp_int(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The row of samples (component coordinates, clamped to the component
 * like libjpeg's edge replication, then to what the plane holds). */
static const JSAMPLE *plane_line(const plane *p, int sy)
{
    sy = clamp_int(clamp_int(sy, 0, p->dh - 1), p->sy0, p->sy0 + p->h - 1);
    return p->v + (size_t)(sy - p->sy0) * (size_t)p->w;
}

static inline int plane_col(const plane *p, int sx)
{
    return clamp_int(clamp_int(sx, 0, p->dw - 1), p->sx0, p->sx0 + p->w - 1) - p->sx0;
}

/* The component's values for output pixels [x0, x1) of output row y, as
 * libjpeg's upsampler gives them (jdsample.c: h2v1_fancy_upsample,
 * h2v2_fancy_upsample: 3/4 of the nearer sample, 1/4 of the farther, with
 * its rounding biases). sums is scratch for x1 - x0 + 4 values. */
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
static void plane_row(const plane *p, int y, int x0, int x1, int *out, int *sums)
{
    const JSAMPLE *near, *far;
    if (p->uy == 2) {
        near = plane_line(p, y >> 1);
        far = plane_line(p, y & 1 ? (y >> 1) + 1 : (y >> 1) - 1);
    } else {
        near = far = plane_line(p, y);
    }
    /* The samples the outputs read, edges clamped once here. */
    int lo = p->ux == 2 ? (x0 >> 1) - 1 : x0, hi = p->ux == 2 ? ((x1 - 1) >> 1) + 1 : x1 - 1;
    int *dst = p->ux == 2 ? sums : out;
    int first = clamp_int(lo, p->sx0, p->sx0 + p->w - 1), last = clamp_int(hi, first, p->sx0 + p->w - 1);
    last = last > p->dw - 1 ? (p->dw - 1 > first ? p->dw - 1 : first) : last;
    const JSAMPLE *na = near - p->sx0, *fa = far - p->sx0;
    for (int i = lo; i < first && i <= hi; i++)
        dst[i - lo] = p->uy == 2 ? na[plane_col(p, i) + p->sx0] * 3 + fa[plane_col(p, i) + p->sx0]
                                 : na[plane_col(p, i) + p->sx0];
    if (p->uy == 2)
        for (int i = first; i <= last && i <= hi; i++)
            dst[i - lo] = na[i] * 3 + fa[i];
    else
        for (int i = first; i <= last && i <= hi; i++)
            dst[i - lo] = na[i];
    for (int i = last + 1; i <= hi; i++)
        dst[i - lo] = p->uy == 2 ? na[plane_col(p, i) + p->sx0] * 3 + fa[plane_col(p, i) + p->sx0]
                                 : na[plane_col(p, i) + p->sx0];
    if (p->ux == 1)
        return;
    /* Pairs of outputs from each sample (x0 is even: MCUs start there).
     * Biases: 8 and 7 of 16 (h2v2), 1 and 2 of 4 (h2v1). */
    int shift = p->uy == 2 ? 4 : 2;
    int even_bias = p->uy == 2 ? 8 : 1, odd_bias = p->uy == 2 ? 7 : 2;
    int pairs = (x1 - x0 + 1) / 2;
    for (int k = 0; k < pairs; k++) {
        int c3 = sums[k + 1] * 3;
        out[2 * k] = (c3 + sums[k] + even_bias) >> shift;
        out[2 * k + 1] = (c3 + sums[k + 2] + odd_bias) >> shift;
    }
}

/* libjpeg's YCbCr -> RGB (jdcolor.c): 16-bit fixed point, rounded. */
#define FIX16(x) ((int)((x) * 65536.0 + 0.5))

static inline uint8_t clamp_u8(int v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
static void ycc_row_to_rgb(const int *ys, const int *cbs, const int *crs, int n, uint8_t *px)
{
    for (int x = 0; x < n; x++, px += 3) {
        int y = ys[x], cb = cbs[x] - 128, cr = crs[x] - 128;
        /* >> of a negative value floors, as libjpeg's RIGHT_SHIFT does. */
        px[0] = clamp_u8(y + ((FIX16(1.40200) * cr + 32768) >> 16));
        px[1] = clamp_u8(y + ((-FIX16(0.34414) * cb - FIX16(0.71414) * cr + 32768) >> 16));
        px[2] = clamp_u8(y + ((FIX16(1.77200) * cb + 32768) >> 16));
    }
}

/* Whether the pixels can be made here (see the header comment). */
static bool layout_supported(const anon_jpeg_mcu_reader *r)
{
    j_decompress_ptr ci = r->ci;
    if (ci->data_precision != 8 || ci->sample_range_limit == NULL ||
        !((ci->jpeg_color_space == JCS_YCbCr && ci->num_components == 3) ||
          (ci->jpeg_color_space == JCS_GRAYSCALE && ci->num_components == 1)))
        return false;
    /* An MCU's blocks go through a buffer of an interleaved scan's most
     * (grid_fill); a progressive file's frame may ask for more, as long
     * as none of its scans interleaves them. */
    int blocks = 0;
    for (int c = 0; c < ci->num_components; c++)
        blocks += ci->comp_info[c].h_samp_factor * ci->comp_info[c].v_samp_factor;
    if (blocks > D_MAX_BLOCKS_IN_MCU)
        return false;
    for (int c = 0; c < ci->num_components; c++) {
        const jpeg_component_info *comp = &ci->comp_info[c];
        int rx = ci->max_h_samp_factor / comp->h_samp_factor;
        int ry = ci->max_v_samp_factor / comp->v_samp_factor;
        if (rx * comp->h_samp_factor != ci->max_h_samp_factor ||
            ry * comp->v_samp_factor != ci->max_v_samp_factor || rx > 2 || ry > rx ||
            comp->dct_table == NULL ||
            (r->full_size_idct && (ci->idct == NULL || ci->idct->inverse_DCT[c] == NULL)))
            return false;
    }
    return true;
}

static void fail_oom(anon_jpeg_errmgr *e, plane *planes, block_grid *grids)
{
    for (int c = 0; c < 3; c++) {
        free(planes[c].v);
        free(grids[c].v);
    }
    snprintf(e->why, sizeof e->why, "out of memory or broken data");
    longjmp(e->jump, 1);
}

/* Decodes the MCUs [mx0, mx1) x [my0, my1) into img (full size). */
static void decode_mcus(const anon_jpeg_mcu_reader *r, int mx0, int my0, int mx1, int my1,
                        anon_image *img, anon_jpeg_errmgr *e)
{
    j_decompress_ptr ci = r->ci;
    plane planes[3] = {{0}};
    block_grid grids[3] = {{0}};
    int nc = ci->num_components;
    /* An upsampled plane reaches one MCU further for its filter. */
    bool ring = ci->max_h_samp_factor > 1 || ci->max_v_samp_factor > 1;
    int gx0 = mx0 - ring < 0 ? 0 : mx0 - ring, gy0 = my0 - ring < 0 ? 0 : my0 - ring;
    int gx1 = mx1 + ring, gy1 = my1 + ring;
    gx1 = gx1 > r->mcus_x ? r->mcus_x : gx1;
    gy1 = gy1 > r->mcus_y ? r->mcus_y : gy1;
    if (!grid_fill(r, gx0, gy0, gx1, gy1, grids))
        fail_oom(e, planes, grids);
    for (int c = 0; c < nc; c++) {
        jpeg_component_info *comp = &ci->comp_info[c];
        plane *p = &planes[c];
        p->ux = ci->max_h_samp_factor / comp->h_samp_factor;
        p->uy = ci->max_v_samp_factor / comp->v_samp_factor;
        p->dw = (int)(((long)ci->image_width * comp->h_samp_factor + ci->max_h_samp_factor - 1) /
                      ci->max_h_samp_factor);
        p->dh = (int)(((long)ci->image_height * comp->v_samp_factor + ci->max_v_samp_factor - 1) /
                      ci->max_v_samp_factor);
        int mx0c = mx0 - (p->ux > 1), my0c = my0 - (p->uy > 1);
        int mx1c = mx1 + (p->ux > 1), my1c = my1 + (p->uy > 1);
        int bx0 = (mx0c < 0 ? 0 : mx0c) * comp->h_samp_factor;
        int by0 = (my0c < 0 ? 0 : my0c) * comp->v_samp_factor;
        int bx1 = mx1c * comp->h_samp_factor, by1 = my1c * comp->v_samp_factor;
        bx1 = bx1 > (int)comp->width_in_blocks ? (int)comp->width_in_blocks : bx1;
        by1 = by1 > (int)comp->height_in_blocks ? (int)comp->height_in_blocks : by1;
        if (bx1 <= bx0 || by1 <= by0)
            bx1 = bx0 + 1, by1 = by0 + 1;    /* cannot happen in a valid frame */
        p->v = malloc((size_t)(bx1 - bx0) * (size_t)(by1 - by0) * DCTSIZE2);
        if (p->v == NULL)
            fail_oom(e, planes, grids);
        plane_fill(r, &grids[c], c, p, bx0, by0, bx1, by1);
    }
    for (int c = 0; c < nc; c++) {
        free(grids[c].v);
        grids[c].v = NULL;
    }
    int mcu_w = DCTSIZE * ci->max_h_samp_factor, mcu_h = DCTSIZE * ci->max_v_samp_factor;
    int x0 = mx0 * mcu_w, y0 = my0 * mcu_h;
    int x1 = mx1 * mcu_w, y1 = my1 * mcu_h;
    x1 = x1 > img->width ? img->width : x1;
    y1 = y1 > img->height ? img->height : y1;
    int w = x1 - x0, widest = w + 4;
    int *rows = malloc((size_t)widest * 4 * sizeof *rows);    /* 3 rows and the sums */
    if (rows == NULL)
        fail_oom(e, planes, grids);
    int *ch[3] = {rows, rows + widest, rows + 2 * (size_t)widest}, *sums = rows + 3 * (size_t)widest;
    for (int y = y0; y < y1; y++) {
        for (int c = 0; c < nc; c++)
            plane_row(&planes[c], y, x0, x1, ch[c], sums);
        uint8_t *px = img->pixels + ((size_t)y * (size_t)img->width + (size_t)x0) * 3;
        if (nc == 3) {
            ycc_row_to_rgb(ch[0], ch[1], ch[2], w, px);
            continue;
        }
        for (int x = 0; x < w; x++, px += 3)
            px[0] = px[1] = px[2] = (uint8_t)ch[0][x];
    }
    free(rows);
    for (int c = 0; c < nc; c++)
        free(planes[c].v);
}

int anon_jpeg_coef_regions(const anon_jpeg_mcu_reader *r, const anon_rect *regions, size_t n,
                           anon_image *img, anon_error *err)
{
    memset(img, 0, sizeof *img);
    if (!layout_supported(r))
        return ANON_DECLINED;
    j_decompress_ptr ci = r->ci;
    anon_jpeg_errmgr *e = r->err;
    int width = (int)ci->image_width, height = (int)ci->image_height;
    /* Full size, but only the decoded MCUs are ever touched: the pages of
     * the rest are never faulted in. */
    if (anon_image_alloc(img, width, height, 3, err) < 0)
        return -1;
    if (setjmp(e->jump) != 0) {
        anon_image_free(img);
        return anon_fail_kind(err, anon_jpeg_error_kind(e), "JPEG: %s", e->why);
    }
    int mcu_w = DCTSIZE * ci->max_h_samp_factor, mcu_h = DCTSIZE * ci->max_v_samp_factor;
    for (size_t i = 0; i < n; i++) {
        anon_rect c;
        if (anon_jpeg_mcu_cover(&regions[i], mcu_w, mcu_h, width, height, &c))
            decode_mcus(r, c.x / mcu_w, c.y / mcu_h, (c.x + c.w + mcu_w - 1) / mcu_w,
                        (c.y + c.h + mcu_h - 1) / mcu_h, img, e);
    }
    return 0;
}
