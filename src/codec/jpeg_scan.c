/* jpeg_scan.c - decode a baseline JPEG's scan once, keep only an index.
 *
 * See jpeg_scan_private.h for why. libjpeg still parses the header (tables,
 * frame, scan, restart interval) and sets up its inverse DCT for
 * jpeg_coef.c; the entropy-coded data is decoded here: byte stuffing and
 * restart markers are removed first (unstuff), so that the Huffman decoder
 * reads a plain bit string, one 8-byte load per symbol. While indexing,
 * each block's k x k lowest frequencies (k = 8 / denom) give its k x k
 * pixels of the reduced detection image: the 8-point inverse DCT's basis
 * evaluated at the centres of the k output pixels, the other frequencies
 * dropped, as libjpeg's scaled decode does. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codec/jpeg_scan_private.h"

/* The identity, with the same guard: for blocks kept in zigzag order. */
static const uint8_t scan_order[64 + 16] = {
    0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
    32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
    48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63,
    63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
};

/* Zero bytes after the unstuffed data: more than one MCU can read (10
 * blocks x 64 symbols x 32 bits), so that a corrupt MCU, checked after it
 * is decoded, never reads past the buffer. */
#define SCAN_PAD 4096
#define FAST_BITS 10

/* A Huffman table for decoding (JPEG Annex C / F.2.2.3). */
typedef struct huff_dec {
    uint16_t fast[1 << FAST_BITS];    /* (length << 8) | symbol; 0: longer code */
    /* For AC tables, a coefficient whose code and value bits both fit in
     * FAST_BITS, in one lookup: value << 16 | run << 8 | bits; else 0. */
    int32_t fast_ac[1 << FAST_BITS];
    int32_t maxcode[17];              /* largest code of each length, -1 if none */
    int32_t valoff[17];               /* symbol index = code + valoff[length] */
    uint8_t huffval[256];
} huff_dec;

struct anon_jpeg_scan {
    anon_jpeg_errmgr err;
    struct jpeg_decompress_struct ci;
    bool ci_made;
    bool idct_ready;                 /* jpeg_start_decompress has run */
    anon_jpeg_bits bits;
    uint64_t *mcu_pos;
    int16_t *mcu_pred;
    uint64_t *interval_end;          /* where each restart interval's data ends */
    size_t *rst_at;                  /* unstuffed byte offset of each interval after the first */
    size_t n_rst;
    huff_dec tables[8];              /* DC tables 0-3, AC tables 4-7 */
    const huff_dec *dc[4], *ac[4];   /* per component: components share tables */
    anon_jpeg_scan_layout layout;
};

/* ---------------------------------------------------------------- Huffman tables */

/* The s-bit value v as a coefficient (F.12: EXTEND). */
static inline int extend(uint32_t v, int s)
{
    return v < (1u << (s - 1)) ? (int)v - (1 << s) + 1 : (int)v;
}

static void fast_ac_build(huff_dec *h)
{
    for (int i = 0; i < (1 << FAST_BITS); i++) {
        unsigned e = h->fast[i];
        int len = (int)(e >> 8), rs = (int)(e & 0xFF), run = rs >> 4, s = rs & 15;
        h->fast_ac[i] = 0;
        if (e == 0 || s == 0 || len + s > FAST_BITS)
            continue;
        uint32_t v = ((uint32_t)i >> (FAST_BITS - len - s)) & ((1u << s) - 1);
        h->fast_ac[i] = (int32_t)((uint32_t)extend(v, s) << 16) | run << 8 | (len + s);
    }
}

/* Builds h from t; false for a table libjpeg would refuse too (a code of
 * all ones, a DC size over 15), or an empty one. */
static bool huff_dec_build(const JHUFF_TBL *t, bool dc, huff_dec *h)
{
    if (t == NULL)
        return false;
    memset(h, 0, sizeof *h);
    int code = 0, k = 0;
    for (int len = 1; len <= 16; len++) {
        int count = t->bits[len];
        h->valoff[len] = k - code;
        for (int i = 0; i < count; i++, k++, code++) {
            if (k >= 256 || code >= (1 << len))
                return false;    /* more codes than the length allows */
            if (dc && t->huffval[k] > 15)
                return false;
            h->huffval[k] = t->huffval[k];
            if (len <= FAST_BITS) {
                int shift = FAST_BITS - len;
                for (int fill = 0; fill < (1 << shift); fill++)
                    h->fast[(code << shift) | fill] = (uint16_t)(len << 8 | t->huffval[k]);
            }
        }
        if (count > 0 && code >= (1 << len))
            return false;    /* its last code is all ones */
        h->maxcode[len] = count ? code - 1 : -1;
        code <<= 1;
    }
    fast_ac_build(h);
    return k > 0;
}

/* Reads the unstuffed bits, most significant first: acc holds cnt valid
 * bits at its top (and zeros below), refilled 8 bytes at a time without
 * branches (at least 56 bits after br_refill). */
typedef struct bit_reader {
    uint64_t acc;
    int cnt;
    const uint8_t *ptr, *base;
} bit_reader;

static inline uint64_t load_be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}

static inline void br_refill(bit_reader *br)
{
    br->acc |= load_be64(br->ptr) >> br->cnt;
    br->ptr += (63 - br->cnt) >> 3;
    br->cnt |= 56;
}

static inline void br_skip(bit_reader *br, int n)
{
    br->acc <<= n;
    br->cnt -= n;
}

static inline void br_seek(bit_reader *br, const uint8_t *base, uint64_t pos)
{
    br->base = base;
    br->ptr = base + (pos >> 3);
    br->acc = 0;
    br->cnt = 0;
    br_refill(br);
    br_skip(br, (int)(pos & 7));
}

static inline uint64_t br_tell(const bit_reader *br)
{
    return (uint64_t)(br->ptr - br->base) * 8 - (uint64_t)br->cnt;
}

/* Decodes a symbol (the reader holds at least 16 bits); -1: no such code. */
static inline int huff_decode(const huff_dec *h, bit_reader *br)
{
    unsigned e = h->fast[br->acc >> (64 - FAST_BITS)];
    if (e != 0) {
        br_skip(br, (int)(e >> 8));
        return (int)(e & 0xFF);
    }
    for (int l = FAST_BITS + 1; l <= 16; l++) {
        int32_t code = (int32_t)(br->acc >> (64 - l));
        if (code <= h->maxcode[l]) {
            br_skip(br, l);
            return h->huffval[code + h->valoff[l]];
        }
    }
    return -1;
}

/* The next s (1..15) bits as a coefficient. */
static inline int br_value(bit_reader *br, int s)
{
    uint32_t v = (uint32_t)(br->acc >> (64 - s));
    br_skip(br, s);
    return extend(v, s);
}

/* One AC coefficient (or run) of a block at *k; takes at most 26 bits of
 * the reader (a 16-bit code and 10 value bits: a table's larger sizes are
 * refused, or two steps could drain the reader below zero). Returns 0 to
 * go on, 1 at the end of the block, -1 on an invalid code. */
static inline int ac_step(bit_reader *br, const huff_dec *ac, const uint8_t *order, JCOEF *blk,
                          int *k)
{
    int32_t f = ac->fast_ac[br->acc >> (64 - FAST_BITS)];
    if (f != 0) {
        *k += (f >> 8) & 15;
        blk[order[*k < 64 ? *k : 64]] = (JCOEF)(f >> 16);
        br_skip(br, f & 0xFF);
        return ++*k >= 64;
    }
    int rs = huff_decode(ac, br);
    if (rs < 0)
        return -1;
    int r = rs >> 4, s = rs & 15;
    if (s == 0) {
        if (r != 15)
            return 1;    /* end of block */
        *k += 16;
        return *k >= 64;
    }
    if (s > 10)
        return -1;    /* larger than any 8-bit AC coefficient */
    *k += r;
    blk[order[*k < 64 ? *k : 64]] = (JCOEF)br_value(br, s);
    return ++*k >= 64;
}

/* Decodes one block into blk (all zero on entry) in `order` (natural:
 * anon_jpeg_zigzag, or scan_order); pred is the component's DC predictor.
 * False on an invalid code. A refill leaves at least 56 bits: enough for
 * the DC (a 16-bit code and at most 11 bits) or two AC steps of 26. */
static inline bool decode_block(bit_reader *br, const huff_dec *dc, const huff_dec *ac,
                                const uint8_t *order, int *pred, JCOEF *blk)
{
    br_refill(br);
    int s = huff_decode(dc, br);
    if (s < 0 || s > 11)
        return false;
    if (s > 0)
        *pred += br_value(br, s);
    blk[0] = (JCOEF)*pred;
    int k = 1, rc;
    for (;;) {
        br_refill(br);
        if ((rc = ac_step(br, ac, order, blk, &k)) != 0 ||
            (rc = ac_step(br, ac, order, blk, &k)) != 0)
            break;
    }
    return rc > 0 && *pred >= -32768 && *pred <= 32767;
}

/* ---------------------------------------------------------------- unstuffing */

/* Copies the entropy-coded data from src[at..] without stuffing and
 * restart markers, recording where each restart interval starts. False
 * unless it ends in EOI with restart markers in sequence. */
static bool unstuff(anon_jpeg_scan *s, const uint8_t *src, size_t len, size_t at)
{
    s->bits.data = malloc(len - at + SCAN_PAD);
    s->rst_at = malloc(((len - at) / 2 + 1) * sizeof *s->rst_at);
    if (s->bits.data == NULL || s->rst_at == NULL)
        return false;
    uint8_t *out = s->bits.data;
    const uint8_t *p = src + at, *end = src + len;
    for (;;) {
        const uint8_t *ff = memchr(p, 0xFF, (size_t)(end - p));
        if (ff == NULL || ff + 1 >= end)
            return false;    /* no EOI: truncated */
        memcpy(out, p, (size_t)(ff - p));
        out += ff - p;
        uint8_t m = ff[1];
        if (m == 0x00) {
            *out++ = 0xFF;
            p = ff + 2;
        } else if (m == 0xFF) {
            p = ff + 1;    /* fill byte */
        } else if (m >= 0xD0 && m <= 0xD7) {
            if ((size_t)(m - 0xD0) != (s->n_rst & 7))
                return false;
            s->rst_at[s->n_rst++] = (size_t)(out - s->bits.data);
            p = ff + 2;
        } else {
            if (m != 0xD9)
                return false;
            break;
        }
    }
    s->bits.len = (size_t)(out - s->bits.data);
    memset(out, 0, SCAN_PAD);
    return true;
}

/* ---------------------------------------------------------------- the reduced image */

/* Per component: the k x k samples of each block, over the whole frame. */
typedef struct reduced {
    int k;                    /* samples per block side: 8 / denom */
    float basis[8][8];        /* basis[x][u]: weight of frequency u at sample x */
    uint8_t *plane[3];
    int stride[3], rows[3];
    float q[3][64];           /* dequantisation, natural order */
    int qi[3][64];
} reduced;

static bool reduced_init(reduced *r, j_decompress_ptr ci, int denom)
{
    r->k = 8 / denom;
    for (int x = 0; x < r->k; x++)
        for (int u = 0; u < r->k; u++)
            r->basis[x][u] = (float)((u == 0 ? sqrt(0.5) : 1.0) / 2.0 *
                                     cos((2 * x + 1) * u * M_PI / (2.0 * r->k)));
    for (int c = 0; c < ci->num_components; c++) {
        const jpeg_component_info *comp = &ci->comp_info[c];
        const JQUANT_TBL *t = anon_jpeg_component_table(ci, c);
        if (t == NULL)
            return false;
        for (int i = 0; i < 64; i++)
            r->qi[c][i] = (int)(r->q[c][i] = t->quantval[i]);
        r->stride[c] = (int)comp->width_in_blocks * r->k;
        r->rows[c] = (int)comp->height_in_blocks * r->k;
        r->plane[c] = malloc((size_t)r->stride[c] * (size_t)r->rows[c]);
        if (r->plane[c] == NULL)
            return false;
    }
    return true;
}

static void reduced_free(reduced *r)
{
    for (int c = 0; c < 3; c++)
        free(r->plane[c]);
}

static inline uint8_t clamp_u8i(int v)
{
    v = v > 0 ? v : 0;
    return (uint8_t)(v < 255 ? v : 255);
}

static inline uint8_t clamp_u8f(float v)
{
    v = v > 0.f ? v : 0.f;    /* written so that it compiles to maxss/minss, no branch */
    v = v < 255.f ? v : 255.f;
    return (uint8_t)(v + 0.5f);
}

/* A block's 2 x 2 samples (k = 2): the basis is +-1/(2 sqrt 2), so they
 * are sums and differences of the four lowest frequencies, / 8. */
static inline uint8_t clamp_u8l(int64_t v)
{
    v = v > 0 ? v : 0;
    return (uint8_t)(v < 255 ? v : 255);
}

/* In 64 bits: a DC of 32767 times a 16-bit table entry (SOF1 allows
 * them) nearly fills an int on its own. */
static inline void reduced_2x2(uint8_t *out, int stride, const int *qi, const JCOEF *blk)
{
    int64_t a = (int64_t)blk[0] * qi[0], b = (int64_t)blk[1] * qi[1];
    int64_t c = (int64_t)blk[8] * qi[8], d = (int64_t)blk[9] * qi[9];
    out[0] = clamp_u8l(((a + b + c + d + 4) >> 3) + 128);
    out[1] = clamp_u8l(((a - b + c - d + 4) >> 3) + 128);
    out[stride] = clamp_u8l(((a + b - c - d + 4) >> 3) + 128);
    out[stride + 1] = clamp_u8l(((a - b - c + d + 4) >> 3) + 128);
}

/* The block's k x k samples at block (bx, by) of component c. */
static void reduced_block(reduced *r, int c, int bx, int by, const JCOEF *blk)
{
    int k = r->k;
    uint8_t *out = r->plane[c] + (size_t)by * (size_t)k * (size_t)r->stride[c] + (size_t)bx * (size_t)k;
    const float *q = r->q[c];
    float rowsum[8][8];    /* [v][x]: frequencies v of row, transformed along x */
    for (int v = 0; v < k; v++)
        for (int x = 0; x < k; x++) {
            float acc = 0.f;
            for (int u = 0; u < k; u++)
                acc += r->basis[x][u] * (float)blk[v * 8 + u] * q[v * 8 + u];
            rowsum[v][x] = acc;
        }
    for (int y = 0; y < k; y++, out += r->stride[c])
        for (int x = 0; x < k; x++) {
            float acc = 128.f;
            for (int v = 0; v < k; v++)
                acc += r->basis[y][v] * rowsum[v][x];
            out[x] = clamp_u8f(acc);
        }
}

/* The reduced planes as RGB, chroma taken from the nearest sample. */
static bool reduced_to_rgb(const reduced *r, j_decompress_ptr ci, int denom, anon_image *small,
                           anon_error *err)
{
    int w = (int)((ci->image_width + (unsigned)denom - 1) / (unsigned)denom);
    int h = (int)((ci->image_height + (unsigned)denom - 1) / (unsigned)denom);
    if (anon_image_alloc(small, w, h, 3, err) < 0)
        return false;
    int mh = ci->max_h_samp_factor, mv = ci->max_v_samp_factor;
    int *cx = NULL;    /* per output column: its chroma sample (Cb's; Cr's the same or checked) */
    if (ci->num_components == 3) {
        cx = malloc((size_t)w * 2 * sizeof *cx);
        if (cx == NULL) {
            anon_image_free(small);
            anon_fail(err, "out of memory");
            return false;
        }
        for (int x = 0; x < w; x++) {
            cx[x] = x * ci->comp_info[1].h_samp_factor / mh;
            cx[w + x] = x * ci->comp_info[2].h_samp_factor / mh;
        }
    }
    for (int y = 0; y < h; y++) {
        uint8_t *px = small->pixels + (size_t)y * (size_t)w * 3;
        const uint8_t *ys = r->plane[0] + (size_t)y * (size_t)r->stride[0];
        if (cx == NULL) {
            for (int x = 0; x < w; x++, px += 3)
                px[0] = px[1] = px[2] = ys[x];
            continue;
        }
        const uint8_t *cbs = r->plane[1] +
            (size_t)(y * ci->comp_info[1].v_samp_factor / mv) * (size_t)r->stride[1];
        const uint8_t *crs = r->plane[2] +
            (size_t)(y * ci->comp_info[2].v_samp_factor / mv) * (size_t)r->stride[2];
        for (int x = 0; x < w; x++, px += 3) {    /* JFIF's YCbCr, 16-bit fixed point */
            int yy = ys[x] << 16, u = cbs[cx[x]] - 128, v = crs[cx[w + x]] - 128;
            px[0] = clamp_u8i((yy + 91881 * v + 32768) >> 16);
            px[1] = clamp_u8i((yy - 22554 * u - 46802 * v + 32768) >> 16);
            px[2] = clamp_u8i((yy + 116130 * u + 32768) >> 16);
        }
    }
    free(cx);
    return true;
}

/* ---------------------------------------------------------------- header */

/* libjpeg's MCU layout of the scan, as jpeg_start_decompress would set it
 * (jdinput.c, per_scan_setup): an index needs nothing else of it, so a
 * decompressor is started only when pixels are wanted
 * (anon_jpeg_scan_start_idct). */
static bool set_mcu_layout(j_decompress_ptr ci)
{
    if (ci->comps_in_scan == 1) {
        jpeg_component_info *comp = ci->cur_comp_info[0];
        comp->MCU_width = comp->MCU_height = comp->MCU_blocks = 1;
        ci->MCUs_per_row = comp->width_in_blocks;
        ci->MCU_rows_in_scan = comp->height_in_blocks;
        ci->blocks_in_MCU = 1;
        ci->MCU_membership[0] = 0;
        return true;
    }
    JDIMENSION mcu_w = (JDIMENSION)ci->max_h_samp_factor * DCTSIZE;
    JDIMENSION mcu_h = (JDIMENSION)ci->max_v_samp_factor * DCTSIZE;
    ci->MCUs_per_row = (ci->image_width + mcu_w - 1) / mcu_w;
    ci->MCU_rows_in_scan = (ci->image_height + mcu_h - 1) / mcu_h;
    ci->blocks_in_MCU = 0;
    for (int c = 0; c < ci->comps_in_scan; c++) {
        jpeg_component_info *comp = ci->cur_comp_info[c];
        comp->MCU_width = comp->h_samp_factor;
        comp->MCU_height = comp->v_samp_factor;
        comp->MCU_blocks = comp->MCU_width * comp->MCU_height;
        if (ci->blocks_in_MCU + comp->MCU_blocks > D_MAX_BLOCKS_IN_MCU)
            return false;
        for (int b = 0; b < comp->MCU_blocks; b++)
            ci->MCU_membership[ci->blocks_in_MCU++] = c;
    }
    return true;
}

/* The sampling the reduced image and jpeg_coef.c assume: the first
 * component (luma) at the largest factors, every other one at a whole
 * fraction of them. Anything else is legal but written by no camera, and
 * libjpeg's own path decodes it. */
static bool sampling_taken(j_decompress_ptr ci)
{
    const jpeg_component_info *luma = &ci->comp_info[0];
    if (luma->h_samp_factor != ci->max_h_samp_factor ||
        luma->v_samp_factor != ci->max_v_samp_factor)
        return false;
    for (int c = 1; c < ci->num_components; c++) {
        const jpeg_component_info *comp = &ci->comp_info[c];
        if (comp->h_samp_factor <= 0 || comp->v_samp_factor <= 0 ||
            ci->max_h_samp_factor % comp->h_samp_factor != 0 ||
            ci->max_v_samp_factor % comp->v_samp_factor != 0)
            return false;
    }
    return true;
}

/* The header as libjpeg reads it; false when the scan is not one this
 * file decodes. */
static bool read_header(anon_jpeg_scan *s, const uint8_t *src, size_t len, size_t *data_at)
{
    j_decompress_ptr ci = &s->ci;
    jpeg_create_decompress(ci);
    s->ci_made = true;
    jpeg_mem_src(ci, src, (unsigned long)len);
    if (jpeg_read_header(ci, TRUE) != JPEG_HEADER_OK)
        return false;
    /* A header cut short makes libjpeg warn and read on in a fake EOI of
     * its own, where the scan data cannot start. */
    const uint8_t *next = ci->src->next_input_byte;
    if (s->err.pub.num_warnings > 0 || next < src || next > src + len)
        return false;
    *data_at = (size_t)(next - src);
    bool colour = (ci->jpeg_color_space == JCS_YCbCr && ci->num_components == 3) ||
                  (ci->jpeg_color_space == JCS_GRAYSCALE && ci->num_components == 1);
    /* A sequential scan whose successive-approximation fields are set is
     * one libjpeg decodes with a warning (when it starts decoding, which
     * the index does not make it do): damaged, so not taken. */
    if (!colour || ci->progressive_mode || ci->arith_code || ci->data_precision != 8 ||
        ci->comps_in_scan != ci->num_components || ci->Ss != 0 || ci->Se != 63 ||
        ci->Ah != 0 || ci->Al != 0)
        return false;
    /* A lone component's MCU is one block whatever its sampling factors
     * say; jpeg_coef.c counts MCUs of max_h_samp_factor blocks. */
    if (ci->num_components == 1 &&
        (ci->comp_info[0].h_samp_factor != 1 || ci->comp_info[0].v_samp_factor != 1))
        return false;
    if (!sampling_taken(ci))
        return false;
    ci->out_color_space = ci->jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
    ci->dct_method = JDCT_ISLOW;
    return set_mcu_layout(ci) && ci->blocks_in_MCU <= 10;
}

int anon_jpeg_scan_start_idct(anon_jpeg_scan *s)
{
    if (s->idct_ready)
        return 0;
    if (setjmp(s->err.jump) != 0)
        return ANON_DECLINED;
    /* Sets up the inverse DCT for a full-size pass; a single-scan file is
     * not read until the first jpeg_read_scanlines, which never comes. */
    jpeg_start_decompress(&s->ci);
    s->idct_ready = true;
    return 0;
}

/* Fills the layout and the Huffman decoders from the parsed header. */
static bool layout_init(anon_jpeg_scan *s, const uint8_t *src, size_t data_at)
{
    j_decompress_ptr ci = &s->ci;
    anon_jpeg_scan_layout *l = &s->layout;
    l->src = src;
    l->header_end = data_at;
    l->bits = &s->bits;
    l->comps = ci->comps_in_scan;
    l->mcus_x = (int)ci->MCUs_per_row;
    long n = (long)ci->MCUs_per_row * (long)ci->MCU_rows_in_scan;
    if (n <= 0 || n > 0x7FFFFFFF)
        return false;
    l->n_mcus = (int)n;
    l->restart_interval = (int)ci->restart_interval;
    l->blocks_in_mcu = ci->blocks_in_MCU;
    for (int b = 0; b < ci->blocks_in_MCU; b++)
        l->block_comp[b] = ci->MCU_membership[b];
    for (int c = 0; c < l->comps; c++) {
        const jpeg_component_info *comp = ci->cur_comp_info[c];
        if (comp->component_index != c)
            return false;    /* scan order differs from frame order */
        /* The scan header's table selectors are 4-bit fields of the file
         * that libjpeg checks only when it decodes. */
        if (comp->dc_tbl_no < 0 || comp->dc_tbl_no >= NUM_HUFF_TBLS ||
            comp->ac_tbl_no < 0 || comp->ac_tbl_no >= NUM_HUFF_TBLS)
            return false;
        l->dc[c] = ci->dc_huff_tbl_ptrs[comp->dc_tbl_no];
        l->ac[c] = ci->ac_huff_tbl_ptrs[comp->ac_tbl_no];
        s->dc[c] = &s->tables[comp->dc_tbl_no];
        s->ac[c] = &s->tables[4 + comp->ac_tbl_no];
        if (!huff_dec_build(l->dc[c], true, &s->tables[comp->dc_tbl_no]) ||
            !huff_dec_build(l->ac[c], false, &s->tables[4 + comp->ac_tbl_no]))
            return false;
    }
    return true;
}

/* ---------------------------------------------------------------- indexing */

/* Interval i's data: bits [start, limit). */
static uint64_t interval_start(const anon_jpeg_scan *s, int i)
{
    return i == 0 ? 0 : (uint64_t)s->rst_at[i - 1] * 8;
}

static uint64_t interval_limit(const anon_jpeg_scan *s, int i)
{
    return (size_t)i < s->n_rst ? (uint64_t)s->rst_at[i] * 8 : (uint64_t)s->bits.len * 8;
}

/* Whether an interval's MCUs took its data but for the padding of its
 * last byte: a whole byte more is data libjpeg skips with a warning
 * ("extraneous bytes before marker"), the sign of a corrupt scan. */
static bool interval_used_up(const bit_reader *br, uint64_t limit)
{
    return limit - br_tell(br) < 8;
}

/* Decodes every MCU, recording the index, and with r the reduced image. */
static bool index_scan(anon_jpeg_scan *s, reduced *r)
{
    j_decompress_ptr ci = &s->ci;
    anon_jpeg_scan_layout *l = &s->layout;
    int per = l->restart_interval > 0 ? l->restart_interval : l->n_mcus;
    int intervals = (l->n_mcus + per - 1) / per;
    if ((size_t)intervals != s->n_rst + 1)
        return false;
    s->mcu_pos = malloc((size_t)l->n_mcus * sizeof *s->mcu_pos);
    s->mcu_pred = malloc((size_t)l->n_mcus * (size_t)l->comps * sizeof *s->mcu_pred);
    s->interval_end = malloc((size_t)intervals * sizeof *s->interval_end);
    if (s->mcu_pos == NULL || s->mcu_pred == NULL || s->interval_end == NULL)
        return false;
    bit_reader br = {0};
    /* Where each block of an MCU goes, for r: MCU width in blocks, column
     * in it, MCU height, row, the component's width and height in blocks
     * (an MCU holds each component's MCU_height rows of MCU_width blocks). */
    int place[D_MAX_BLOCKS_IN_MCU][6], at_b = 0;
    for (int c = 0; c < l->comps; c++) {
        const jpeg_component_info *cp = ci->cur_comp_info[c];
        for (int v = 0; v < cp->MCU_height; v++)
            for (int h = 0; h < cp->MCU_width; h++, at_b++) {
                int *at = place[at_b];
                at[0] = cp->MCU_width, at[1] = h, at[2] = cp->MCU_height, at[3] = v;
                at[4] = (int)cp->width_in_blocks, at[5] = (int)cp->height_in_blocks;
            }
    }
    int pred[4] = {0};
    uint64_t limit = 0;
    JCOEF blk[DCTSIZE2] = {0};
    for (int i = 0; i < l->n_mcus; i++) {
        if (i % per == 0) {
            if (i > 0) {
                if (!interval_used_up(&br, limit))
                    return false;
                s->interval_end[i / per - 1] = br_tell(&br);
            }
            br_seek(&br, s->bits.data, interval_start(s, i / per));
            limit = interval_limit(s, i / per);
            memset(pred, 0, sizeof pred);
        }
        s->mcu_pos[i] = br_tell(&br);
        for (int c = 0; c < l->comps; c++)
            s->mcu_pred[(size_t)i * (size_t)l->comps + (size_t)c] = (int16_t)pred[c];
        int mx = i % l->mcus_x, my = i / l->mcus_x;
        for (int b = 0; b < l->blocks_in_mcu; b++) {
            int c = l->block_comp[b];
            /* only the coefficients the reduced image reads need clearing:
             * the others are written but never read */
            for (int v = 0; r != NULL && v < r->k; v++)
                for (int u = 0; u < r->k; u++)
                    blk[v * 8 + u] = 0;
            if (!decode_block(&br, s->dc[c], s->ac[c], anon_jpeg_zigzag, &pred[c], blk))
                return false;
            if (r == NULL)
                continue;
            const int *at = place[b];
            int bx = mx * at[0] + at[1], by = my * at[2] + at[3];
            if (bx >= at[4] || by >= at[5])
                continue;    /* a dummy block past the component's edge */
            if (r->k == 2)
                reduced_2x2(r->plane[c] + (size_t)by * 2 * (size_t)r->stride[c] + (size_t)bx * 2,
                            r->stride[c], r->qi[c], blk);
            else
                reduced_block(r, c, bx, by, blk);
        }
        if (br_tell(&br) > limit)
            return false;    /* ran past its data: damaged */
    }
    if (!interval_used_up(&br, limit))
        return false;
    s->interval_end[intervals - 1] = br_tell(&br);
    return true;
}

/* ---------------------------------------------------------------- API */

void anon_jpeg_scan_free(anon_jpeg_scan *s)
{
    if (s == NULL)
        return;
    if (s->ci_made)
        jpeg_destroy_decompress(&s->ci);
    free(s->bits.data);
    free(s->rst_at);
    free(s->mcu_pos);
    free(s->mcu_pred);
    free(s->interval_end);
    free(s);
}

/* The body of anon_jpeg_scan_open, under its setjmp: ANON_DECLINED not
 * taken, -1 error. */
static int scan_open_body(anon_jpeg_scan *s, const uint8_t *src, size_t len, int denom,
                          anon_image *small, anon_error *err)
{
    size_t data_at;
    if (!read_header(s, src, len, &data_at) || !layout_init(s, src, data_at))
        return ANON_DECLINED;
    if (!unstuff(s, src, len, data_at)) {
        if (s->bits.data == NULL || s->rst_at == NULL)
            return anon_fail(err, "out of memory");
        return ANON_DECLINED;
    }
    reduced r = {0};
    bool ok = small == NULL || reduced_init(&r, &s->ci, denom);
    ok = ok && index_scan(s, small ? &r : NULL);
    ok = ok && (small == NULL || reduced_to_rgb(&r, &s->ci, denom, small, err));
    reduced_free(&r);
    return ok ? 0 : ANON_DECLINED;
}

int anon_jpeg_scan_open(const uint8_t *src, size_t len, int denom, anon_image *small,
                        anon_jpeg_scan **out, anon_error *err)
{
    *out = NULL;
    if (small != NULL)
        memset(small, 0, sizeof *small);
    if (!(denom == 1 || denom == 2 || denom == 4 || denom == 8))
        return anon_fail(err, "JPEG scale 1/%d is not one of 1, 1/2, 1/4, 1/8", denom);
    anon_jpeg_scan *s = calloc(1, sizeof *s);
    if (s == NULL)
        return anon_fail(err, "out of memory");
    anon_jpeg_errmgr_init(&s->err, NULL);
    s->ci.err = &s->err.pub;
    int rc;
    if (setjmp(s->err.jump) == 0)
        rc = scan_open_body(s, src, len, denom, small, err);
    else
        rc = ANON_DECLINED;    /* libjpeg refused the header: its own path will say why */
    if (rc == 0 && s->err.pub.num_warnings > 0)
        rc = ANON_DECLINED;
    if (rc != 0) {
        if (small != NULL)
            anon_image_free(small);
        anon_jpeg_scan_free(s);
        return rc;
    }
    s->layout.mcu_pos = s->mcu_pos;
    s->layout.mcu_pred = s->mcu_pred;
    s->layout.interval_end = s->interval_end;
    *out = s;
    return 0;
}

j_decompress_ptr anon_jpeg_scan_cinfo(anon_jpeg_scan *s, anon_jpeg_errmgr **errmgr)
{
    *errmgr = &s->err;
    return &s->ci;
}

int anon_jpeg_scan_mcus_x(const anon_jpeg_scan *s)
{
    return s->layout.mcus_x;
}

int anon_jpeg_scan_mcus_y(const anon_jpeg_scan *s)
{
    return s->layout.n_mcus / s->layout.mcus_x;
}

int anon_jpeg_scan_mcu_blocks(const anon_jpeg_scan *s)
{
    return s->layout.blocks_in_mcu;
}

const anon_jpeg_scan_layout *anon_jpeg_scan_layout_of(const anon_jpeg_scan *s)
{
    return &s->layout;
}

/* Decodes MCU (mx, my) from the index into blocks, in `order`. */
static bool decode_mcu(const anon_jpeg_scan *s, int mx, int my, const uint8_t *order,
                       JBLOCK *blocks)
{
    const anon_jpeg_scan_layout *l = &s->layout;
    if (mx < 0 || my < 0 || mx >= l->mcus_x || (long)my * l->mcus_x + mx >= l->n_mcus)
        return false;
    size_t i = (size_t)my * (size_t)l->mcus_x + (size_t)mx;
    bit_reader br = {0};
    br_seek(&br, s->bits.data, s->mcu_pos[i]);
    int pred[4];
    for (int c = 0; c < l->comps; c++)
        pred[c] = s->mcu_pred[i * (size_t)l->comps + (size_t)c];
    memset(blocks, 0, (size_t)l->blocks_in_mcu * sizeof *blocks);
    for (int b = 0; b < l->blocks_in_mcu; b++) {
        int c = l->block_comp[b];
        if (!decode_block(&br, s->dc[c], s->ac[c], order, &pred[c], blocks[b]))
            return false;
    }
    return true;
}

bool anon_jpeg_scan_decode_mcu(const anon_jpeg_scan *s, int mx, int my, JBLOCK *blocks)
{
    return decode_mcu(s, mx, my, anon_jpeg_zigzag, blocks);
}

bool anon_jpeg_scan_decode_mcu_zigzag(const anon_jpeg_scan *s, int mx, int my, JBLOCK *blocks)
{
    return decode_mcu(s, mx, my, scan_order, blocks);
}
