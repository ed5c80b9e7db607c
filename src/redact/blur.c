/* blur.c - irreversible face anonymization under elliptical masks (blur.h).
 *
 * Each face is handled in a small patch around its mask, never the whole
 * image. The default method first pixelates the patch into blocks of about
 * 1/8 of the face width (at least 4 px): that averages the face down to
 * roughly 8x8 values, which is what makes it irreversible; no deblurring
 * can restore detail that is no longer in the data. A three-pass box blur
 * one block in radius (close to a gaussian of sigma ~ one block) then
 * hides the block edges and smears what is left of the eyes and mouth, so
 * the result looks like a blur rather than a mosaic. `pixelate` stops after the first step,
 * `fill` paints the mask black. The result replaces the core of the mask
 * completely and is blended into the original only across the soft edge
 * outside it. */
#include "redact/blur.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_MASK_SCALE 1.3f
#define BLUR_PASSES 3

void anon_blur_options_default(anon_blur_options *o)
{
    o->method = ANON_METHOD_BLUR;
    o->mask_scale = DEFAULT_MASK_SCALE;
    o->rectangles = false;
}

int anon_method_parse(const char *name, anon_method *out)
{
    static const char *const names[] = {"blur", "pixelate", "fill"};
    for (int i = 0; i < 3; i++)
        if (name != NULL && strcmp(name, names[i]) == 0) {
            *out = (anon_method)i;
            return 0;
        }
    return -1;
}

/* ---------------------------------------------------------------- mask */

/* ---------------------------------------------------------------- masks (mask.h) */

bool anon_mask_for_box(const anon_box *box, const anon_blur_options *o, int width,
                       int height, anon_mask *m)
{
    return anon_mask_make(box, o->mask_scale, o->rectangles, width, height, m);
}

bool anon_box_region(const anon_box *box, const anon_blur_options *o, int width,
                     int height, anon_rect *r)
{
    anon_mask m;
    if (!anon_mask_for_box(box, o, width, height, &m))
        return false;
    *r = (anon_rect){m.x0, m.y0, m.x1 - m.x0, m.y1 - m.y0};
    return true;
}

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* ---------------------------------------------------------------- the blur, block-wise
 *
 * Pixelating leaves a grid of block means; the box blur that follows is
 * linear and separable (edges replicated), so its result is the grid
 * weighted, per axis, by each block's blurred footprint. Those responses
 * are computed once per axis (a few block-sized 1-D blurs), then every
 * output pixel costs a handful of multiply-adds, and only the pixels that
 * actually change are written. Same result as blurring the pixelated patch
 * in place, at a fraction of the memory traffic.
 *
 * The pixel loops run over whole rows in vectors, in clones for the CPU
 * at hand, without changing the order of any floating-point operation
 * (ISO C mode: no contraction into fused multiply-adds either), so every
 * clone writes the same bytes as plain per-pixel loops would. */

/* Per position along one axis: the blocks that reach it, with weights. */
#define MAX_TAPS 12
typedef struct axis_taps {
    int *first;      /* first block index, per position */
    int *count;      /* taps used, per position (<= MAX_TAPS) */
    float *weight;   /* MAX_TAPS weights per position */
} axis_taps;

/* One box pass of radius r over a[0..n) with edges replicated, into out. */
static void box_pass_1d(const float *a, float *out, int n, int r)
{
    float sum = 0, inv = 1.0f / (float)(2 * r + 1);
    for (int i = -r; i <= r; i++)
        sum += a[clampi(i, 0, n - 1)];
    for (int x = 0; x < n; x++) {
        out[x] = sum * inv;
        sum += a[clampi(x + r + 1, 0, n - 1)] - a[clampi(x - r, 0, n - 1)];
    }
}

/* Responses along an axis of `len` pixels cut into blocks of `block`,
 * after `passes` box blurs of radius r (0 passes: pixelation alone).
 * scratch holds 2 * len floats. */
static void axis_taps_fill(axis_taps *t, int len, int block, int r, int passes, float *scratch)
{
    for (int x = 0; x < len; x++) {
        t->first[x] = x / block;
        t->count[x] = 0;
    }
    int nblocks = (len + block - 1) / block, reach = passes * r + 1;
    float *a = scratch, *b = scratch + len;
    bool previous_inside = false;
    for (int i = 0; i < nblocks; i++) {
        int s = i * block, e = s + block < len ? s + block : len;
        /* The response is 0 beyond `reach` of the block, so a window that
         * wide (edges replicated only where they are the patch's) is exact. */
        int w0 = s - reach > 0 ? s - reach : 0, w1 = e + reach < len ? e + reach : len;
        int n = w1 - w0;
        /* A full block whose window is not clipped has the same response
         * as the previous one if that was such a block too: reuse it. */
        bool inside = w0 == s - reach && w1 == e + reach && e - s == block;
        if (!(inside && previous_inside)) {
            for (int x = 0; x < n; x++)
                a[x] = w0 + x >= s && w0 + x < e ? 1.0f : 0.0f;
            for (int p = 0; p < passes; p++) {
                box_pass_1d(a, b, n, r);
                float *swap = a;
                a = b;
                b = swap;
            }
        }
        previous_inside = inside;
        for (int x = 0; x < n; x++) {
            int pos = w0 + x;
            if (a[x] <= 1e-6f)
                continue;
            if (t->count[pos] == 0)
                t->first[pos] = i;
            int k = i - t->first[pos];
            if (k >= MAX_TAPS)
                continue;    /* cannot happen with r = block, passes = 3 */
            while (t->count[pos] < k)
                t->weight[(size_t)pos * MAX_TAPS + (size_t)t->count[pos]++] = 0;
            t->weight[(size_t)pos * MAX_TAPS + (size_t)k] = a[x];
            t->count[pos] = k + 1;
        }
    }
}

/* Everything one face needs, in one allocation. The per-row buffers have
 * ROW_PAD spare elements so that the vector loops can run in whole
 * vectors past the end of a span; those are zeroed once, so that padding
 * lanes only ever compute with finite numbers. */
#define ROW_PAD 64

/* n rounded up to a multiple of `to` (at most ROW_PAD). */
static size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

typedef struct face_work {
    int w, h, gw, gh;   /* region size, block grid size */
    float *grid;        /* gw x gh x 3 block means, a block column's contiguous */
    float *column;      /* gh x 3: one column of cols */
    float *cols;        /* gh x w x 3: grid rows spread along x */
    float *scratch;     /* 2 * max(w, h) */
    axis_taps tx, ty;
    uint32_t *colsum;   /* w x 4: per-column sums of one block row */
    uint16_t *colpart;  /* w x 4: the same over part of the rows */
    /* Per row, padded: */
    anon_mask_rows rows;   /* w each: the soft edge's weights of one row, and scratch */
    float *weight3;     /* w x 3: the weights, once per channel */
    uint8_t *bytes;     /* w x 3: one anonymized row, as bytes */
    uint8_t *edge;      /* w x 3: image bytes being blended */
    void *mem;
} face_work;

static int face_work_alloc(face_work *f, const anon_mask *m, anon_error *err)
{
    f->w = m->x1 - m->x0;
    f->h = m->y1 - m->y0;
    f->gw = (f->w + m->block - 1) / m->block;
    f->gh = (f->h + m->block - 1) / m->block;
    size_t w = (size_t)f->w, h = (size_t)f->h, longer = w > h ? w : h;
    size_t floats = (size_t)f->gh * (size_t)f->gw * 3 + (size_t)f->gh * 3 + 3 * ROW_PAD +
                    (size_t)f->gh * w * 3 + 2 * longer + (w + h) * MAX_TAPS;
    size_t row_floats = w * 8 + 6 * ROW_PAD, row_bytes = 2 * (w * 3 + ROW_PAD);
    size_t ints = 2 * (w + h) + w * 6;
    f->mem = malloc((floats + row_floats) * sizeof(float) + ints * sizeof(int) + row_bytes);
    if (f->mem == NULL)
        return anon_fail(err, "out of memory for a %dx%d face region", f->w, f->h);
    float *p = f->mem;
    f->grid = p;       p += (size_t)f->gh * (size_t)f->gw * 3 + ROW_PAD;
    memset(p - ROW_PAD, 0, ROW_PAD * sizeof *p);    /* read past the end (spread_columns) */
    f->column = p;     p += (size_t)f->gh * 3 + ROW_PAD;
    f->cols = p;       p += (size_t)f->gh * w * 3 + ROW_PAD;
    memset(p - ROW_PAD, 0, ROW_PAD * sizeof *p);    /* read past the end (blend_rows) */
    f->scratch = p;    p += 2 * longer;
    f->tx.weight = p;  p += w * MAX_TAPS;
    f->ty.weight = p;  p += h * MAX_TAPS;
    memset(p, 0, row_floats * sizeof *p);
    f->rows.weight = p; p += w + ROW_PAD;
    f->weight3 = p;    p += w * 3 + ROW_PAD;
    f->rows.uu = p;    p += w + ROW_PAD;
    f->rows.gg = p;    p += w + ROW_PAD;
    f->rows.d = p;     p += w + ROW_PAD;
    f->rows.g = p;     p += w + ROW_PAD;
    int *q = (int *)p;
    f->tx.first = q;   q += w;
    f->tx.count = q;   q += w;
    f->ty.first = q;   q += h;
    f->ty.count = q;   q += h;
    f->colsum = (uint32_t *)q;
    f->colpart = (uint16_t *)(f->colsum + w * 4);
    uint8_t *b = (uint8_t *)(f->colpart + w * 4);
    memset(b, 0, row_bytes);
    f->bytes = b;      b += w * 3 + ROW_PAD;
    f->edge = b;
    return 0;
}

/* Rows a 16-bit sum of bytes can take without overflow. */
#define ROWS_PER_U16_SUM 257

/* sum[0..n) = the column sums of `rows` rows of n bytes, stride apart:
 * in 16 bits over up to ROWS_PER_U16_SUM rows at a time (twice the
 * columns per vector), then widened. part holds n. */
ANON_REDACT_VECTORIZED
static void column_sums(const uint8_t *first, size_t stride, int rows, size_t n,
                        uint16_t *restrict part, uint32_t *restrict sum)
{
    for (size_t i = 0; i < n; i++)
        sum[i] = 0;
    for (int r0 = 0; r0 < rows; r0 += ROWS_PER_U16_SUM) {
        int r1 = r0 + ROWS_PER_U16_SUM < rows ? r0 + ROWS_PER_U16_SUM : rows;
        const uint8_t *in = first + (size_t)r0 * stride;
        for (size_t i = 0; i < n; i++)
            part[i] = in[i];
        for (int r = r0 + 1; r < r1; r++) {
            in = first + (size_t)r * stride;
            for (size_t i = 0; i < n; i++)
                part[i] = (uint16_t)(part[i] + in[i]);
        }
        for (size_t i = 0; i < n; i++)
            sum[i] += part[i];
    }
}

/* The mean of each block of the region, blocks aligned on its top-left:
 * each block row's columns are summed first (whole rows, vectorized), then
 * each block's columns. Integer sums, so the order does not matter. */
static void block_means(const anon_image *img, const anon_mask *m, face_work *f)
{
    const int block = m->block;
    const size_t ch = (size_t)img->channels, stride = (size_t)img->width * ch;
    for (int gy = 0; gy < f->gh; gy++) {
        int y0 = gy * block, y1 = y0 + block < f->h ? y0 + block : f->h;
        const uint8_t *first = img->pixels + (size_t)(m->y0 + y0) * stride + (size_t)m->x0 * ch;
        column_sums(first, stride, y1 - y0, (size_t)f->w * ch, f->colpart, f->colsum);
        float *out = f->grid + (size_t)gy * 3;
        const size_t next = (size_t)f->gh * 3;
        for (int gx = 0, x = 0; gx < f->gw; gx++, out += next) {
            int end = x + block < f->w ? x + block : f->w;
            float inv = 1.0f / (float)((end - x) * (y1 - y0));
            uint64_t s0 = 0, s1 = 0, s2 = 0;
            for (const uint32_t *c = f->colsum + (size_t)x * ch; x < end; x++, c += ch) {
                s0 += c[0];
                s1 += c[1];
                s2 += c[2];
            }
            out[0] = (float)s0 * inv;
            out[1] = (float)s1 * inv;
            out[2] = (float)s2 * inv;
        }
    }
}

/* 16 floats: one AVX-512 register, two AVX ones or four SSE ones. */
typedef float f32x16 __attribute__((vector_size(64)));
typedef int32_t i32x16 __attribute__((vector_size(64)));
typedef uint8_t u8x16 __attribute__((vector_size(16)));

/* out[0..n) = sum_k wt[k] * src[k * n + 0..n), taps added in order, in
 * whole vectors of 16 (src and out have room past n). */
ANON_REDACT_VECTORIZED
static void weighted_sum(const float *src, size_t n, const float *wt, int taps,
                         float *restrict out)
{
    for (size_t j = 0; j < n; j += 16) {
        f32x16 s = {0}, r;
        for (int k = 0; k < taps; k++) {
            memcpy(&r, src + (size_t)k * n + j, sizeof r);
            s += wt[k] * r;
        }
        memcpy(out + j, &s, sizeof s);
    }
}

/* cols[gy][x] = sum over the blocks reaching column x of weight *
 * grid[block][gy]: all block rows of a column at once. */
static void spread_columns(face_work *f)
{
    const size_t n = (size_t)f->gh * 3, w = (size_t)f->w;
    for (size_t x = 0; x < w; x++) {
        weighted_sum(f->grid + (size_t)f->tx.first[x] * n, n, f->tx.weight + x * MAX_TAPS,
                     f->tx.count[x], f->column);
        for (size_t gy = 0; gy < (size_t)f->gh; gy++)
            memcpy(f->cols + (gy * w + x) * 3, f->column + gy * 3, 3 * sizeof *f->column);
    }
}

/* 16 values rounded and clamped to bytes, stored at out: the same as
 * (uint8_t)(int)fminf(fmaxf(v + 0.5f, 0), 255) for values within int
 * range (these are weighted means of bytes), with the clamp on the
 * truncated integers, by shifts rather than compares. */
static inline void to_bytes16(const f32x16 *v, uint8_t *out)
{
    i32x16 i = __builtin_convertvector(*v + 0.5f, i32x16);
    i &= ~(i >> 31);          /* below 0: 0 */
    i |= (255 - i) >> 31;     /* above 255: all ones, 255 as a byte */
    u8x16 b = __builtin_convertvector(i, u8x16);
    memcpy(out, &b, sizeof b);
}

/* out[0..n) = rounded, clamped bytes of the anonymized values
 * sum_k wt[k] * rows[k][0..n), for one output row, in whole chunks of 32
 * (rows and out have room past n). The sums stay in registers while the
 * taps are added in order, so each value sees the same operations as with
 * one tap-by-tap pass over the row. Explicit vectors: the loop vectorizer
 * would jam two taps into one scalar loop instead. */
ANON_REDACT_VECTORIZED
static void blend_rows(const float *const *rows, const float *wt, int taps, size_t n,
                       uint8_t *restrict out)
{
    for (size_t i = 0; i < n; i += 32) {
        f32x16 s0 = {0}, s1 = {0}, r0, r1;
        for (int k = 0; k < taps; k++) {
            memcpy(&r0, rows[k] + i, sizeof r0);
            memcpy(&r1, rows[k] + i + 16, sizeof r1);
            s0 += wt[k] * r0;
            s1 += wt[k] * r1;
        }
        to_bytes16(&s0, out + i);
        to_bytes16(&s1, out + i + 16);
    }
}

/* Output row y of the anonymized region, columns [c0, c1), as bytes in
 * f->bytes (indexed from the region's left edge). */
static void region_row(face_work *f, int y, int c0, int c1, bool fill)
{
    uint8_t *out = f->bytes + (size_t)c0 * 3;
    size_t n = (size_t)(c1 - c0) * 3;
    if (fill) {
        memset(out, 0, n);
        return;
    }
    const float *rows[MAX_TAPS];
    int taps = f->ty.count[y];
    for (int k = 0; k < taps; k++)
        rows[k] = f->cols + ((size_t)(f->ty.first[y] + k) * (size_t)f->w + (size_t)c0) * 3;
    blend_rows(rows, f->ty.weight + (size_t)y * MAX_TAPS, taps, n, out);
}

/* o[0..n) = a * p + (1 - a) * o, rounded: the soft edge's blend, per
 * byte. n is a multiple of 64, so that the loop has no scalar tail. */
ANON_REDACT_VECTORIZED
static void blend_bytes(uint8_t *restrict o, const uint8_t *restrict p, const float *restrict a,
                        size_t n)
{
    for (size_t i = 0; i < n; i++)
        o[i] = (uint8_t)(int)(a[i] * (float)p[i] + (1 - a[i]) * (float)o[i] + 0.5f);
}

/* out[3 i + 0..2] = a[i] for i < n, n a multiple of 16: one weight per channel. */
ANON_REDACT_VECTORIZED
static void triple(const float *restrict a, size_t n, float *restrict out)
{
    for (size_t i = 0; i < n; i++)
        out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = a[i];
}

/* Blends columns [from, to) of the image row by their weights in
 * f->rows.weight, from the anonymized bytes in f->bytes: the soft edge. A
 * weight of 0 leaves the byte as it was. */
static void blend_span(uint8_t *row, size_t ch, face_work *f, const anon_mask *m, int from,
                       int to)
{
    if (to <= from)
        return;
    const float *a = f->rows.weight + (from - m->x0);
    const uint8_t *p = f->bytes + (size_t)(from - m->x0) * 3;
    size_t n = (size_t)(to - from);
    if (ch == 3) {
        /* Blended in a copy, in whole vectors (the buffers are padded):
         * nothing beyond the span is read or written in the image. */
        size_t bytes = n * 3;
        triple(a, round_up(n, 16), f->weight3);
        memcpy(f->edge, row + (size_t)from * 3, bytes);
        blend_bytes(f->edge, p, f->weight3, round_up(bytes, 64));
        memcpy(row + (size_t)from * 3, f->edge, bytes);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t *o = row + ((size_t)from + i) * ch;
        for (int c = 0; a[i] > 0 && c < 3; c++)
            o[c] = (uint8_t)(a[i] * (float)p[i * 3 + c] + (1 - a[i]) * (float)o[c] + 0.5f);
    }
}

/* Writes the anonymized region into the image: copied in the core, blended
 * across the soft edge, nothing where the weight is 0. Weights are only
 * evaluated between the generous outer span and the core. */
static void write_back(anon_image *img, const anon_mask *m, face_work *f, bool fill)
{
    const size_t ch = (size_t)img->channels;
    if (!m->rectangle)
        anon_mask_column_terms(m, &f->rows);
    for (int y = 0; y < f->h; y++) {
        int iy = m->y0 + y, c0, c1, lo, hi;
        anon_mask_core_span(m, iy, &c0, &c1);
        anon_mask_outer_span(m, iy, &lo, &hi);
        bool core = c1 > c0;
        /* The soft edge: [lo, left_end) and [right_start, hi). */
        int left_end = core ? clampi(c0, lo, hi) : hi;
        int right_start = core ? clampi(c1, left_end, hi) : hi;
        anon_mask_edge_weights(m, &f->rows, iy, lo, left_end);
        anon_mask_edge_weights(m, &f->rows, iy, right_start, hi);
        /* The row's changed columns: the core plus what the soft edge reaches. */
        const float *wt = f->rows.weight;
        while (lo < left_end && wt[lo - m->x0] <= 0)
            lo++;
        while (hi > (core ? right_start : lo) && wt[hi - 1 - m->x0] <= 0)
            hi--;
        if (hi <= lo)
            continue;
        region_row(f, y, lo - m->x0, hi - m->x0, fill);
        uint8_t *row = img->pixels + (size_t)iy * (size_t)img->width * ch;
        if (!core) {
            blend_span(row, ch, f, m, lo, hi);
            continue;
        }
        blend_span(row, ch, f, m, lo, left_end);
        const uint8_t *src = f->bytes + (size_t)(left_end - m->x0) * 3;    /* replaced */
        if (ch == 3)
            memcpy(row + (size_t)left_end * 3, src, (size_t)(right_start - left_end) * 3);
        for (int x = left_end; ch != 3 && x < right_start; x++)
            memcpy(row + (size_t)x * ch, src + (size_t)(x - left_end) * 3, 3);
        blend_span(row, ch, f, m, right_start, hi);
    }
}

static int anonymize_box(anon_image *img, const anon_mask *m, anon_method method,
                         anon_error *err)
{
    face_work f;
    if (face_work_alloc(&f, m, err) < 0)
        return -1;
    bool fill = method == ANON_METHOD_FILL;
    if (!fill) {
        int passes = method == ANON_METHOD_BLUR ? BLUR_PASSES : 0;
        axis_taps_fill(&f.tx, f.w, m->block, m->block, passes, f.scratch);
        axis_taps_fill(&f.ty, f.h, m->block, m->block, passes, f.scratch);
        block_means(img, m, &f);
        spread_columns(&f);
    }
    write_back(img, m, &f, fill);
    free(f.mem);
    return 0;
}

int anon_anonymize(anon_image *img, const anon_box *boxes, size_t n,
                   const anon_blur_options *o, anon_error *err)
{
    anon_blur_options defaults;
    if (o == NULL) {
        anon_blur_options_default(&defaults);
        o = &defaults;
    }
    if (img == NULL || img->pixels == NULL || (img->channels != 3 && img->channels != 4))
        return anon_fail(err, "no image to anonymize");
    if (o->method != ANON_METHOD_BLUR && o->method != ANON_METHOD_PIXELATE &&
        o->method != ANON_METHOD_FILL)
        return anon_fail(err, "unknown anonymization method %d", (int)o->method);
    for (size_t i = 0; i < n; i++) {
        anon_mask m;
        if (!anon_mask_for_box(&boxes[i], o, img->width, img->height, &m))
            continue;
        if (anonymize_box(img, &m, o->method, err) < 0)
            return -1;
    }
    return 0;
}
