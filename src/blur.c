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
#include "blur.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MASK_SCALE 1.3f
#define BLOCKS_PER_FACE 8
#define MIN_BLOCK 4
#define BLUR_PASSES 3
/* Soft edge: 15 % of the smaller half-axis, between 2 and 16 pixels. */
#define FEATHER_FRACTION 0.15f
#define FEATHER_MIN 2.0f
#define FEATHER_MAX 16.0f

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

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

bool anon_mask_for_box(const anon_box *box, const anon_blur_options *o, int width,
                       int height, anon_mask *m)
{
    if (!(isfinite(box->x) && isfinite(box->y) && box->w > 0 && box->h > 0 &&
          isfinite(box->w) && isfinite(box->h)))
        return false;
    float scale = o->mask_scale > 0 && isfinite(o->mask_scale) ? o->mask_scale : 1.0f;
    m->cx = box->x + box->w / 2;
    m->cy = box->y + box->h / 2;
    m->rx = box->w * scale / 2;
    m->ry = box->h * scale / 2;
    m->rectangle = o->rectangles;
    float f = FEATHER_FRACTION * fminf(m->rx, m->ry);
    m->feather = fminf(fmaxf(f, FEATHER_MIN), FEATHER_MAX);
    int block = (int)lroundf(box->w / BLOCKS_PER_FACE);
    m->block = block < MIN_BLOCK ? MIN_BLOCK : block;
    float reach_x = m->rx + m->feather, reach_y = m->ry + m->feather;
    /* Bounds in float first: a box far outside must not overflow int. */
    float fx0 = floorf(m->cx - reach_x), fx1 = ceilf(m->cx + reach_x);
    float fy0 = floorf(m->cy - reach_y), fy1 = ceilf(m->cy + reach_y);
    if (fx1 <= 0 || fy1 <= 0 || fx0 >= (float)width || fy0 >= (float)height)
        return false;
    m->x0 = clampi((int)fmaxf(fx0, 0), 0, width);
    m->y0 = clampi((int)fmaxf(fy0, 0), 0, height);
    m->x1 = clampi((int)fminf(fx1, (float)width), 0, width);
    m->y1 = clampi((int)fminf(fy1, (float)height), 0, height);
    return m->x1 > m->x0 && m->y1 > m->y0;
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

/* Distance in pixels from the pixel centre to the core (0 inside). */
static float distance_outside(const anon_mask *m, int x, int y)
{
    float dx = (float)x + 0.5f - m->cx, dy = (float)y + 0.5f - m->cy;
    if (m->rectangle) {
        float ox = fmaxf(fabsf(dx) - m->rx, 0), oy = fmaxf(fabsf(dy) - m->ry, 0);
        return sqrtf(ox * ox + oy * oy);
    }
    float u = dx / m->rx, v = dy / m->ry;
    float d = sqrtf(u * u + v * v);
    if (d <= 1)
        return 0;
    /* First-order distance to the ellipse: (d - 1) / |grad d|. */
    float gu = u / m->rx, gv = v / m->ry;
    return (d - 1) * d / sqrtf(gu * gu + gv * gv);
}

static float weight_at_distance(const anon_mask *m, float dist)
{
    if (dist <= 0)
        return 1;
    float w = 1 - dist / m->feather;
    return w > 0 ? w : 0;
}

float anon_mask_weight(const anon_mask *m, int x, int y)
{
    if (x < m->x0 || x >= m->x1 || y < m->y0 || y >= m->y1)
        return 0;
    return weight_at_distance(m, distance_outside(m, x, y));
}

/* The columns [*c0, *c1) of row y (inside the region) whose weight is 1:
 * there the anonymized value is copied without evaluating the weight, so
 * only the soft edge pays for square roots. Same test as distance_outside,
 * solved for x, then nudged so that every column inside passes it. */
static void core_span(const anon_mask *m, int y, int *c0, int *c1)
{
    float dy = (float)y + 0.5f - m->cy;
    float half;
    if (m->rectangle) {
        half = fabsf(dy) <= m->ry ? m->rx : -1;
    } else {
        float v = dy / m->ry;
        half = v * v <= 1 ? m->rx * sqrtf(1 - v * v) : -1;
    }
    *c0 = *c1 = m->x0;
    if (half < 0)
        return;
    int a = clampi((int)ceilf(m->cx - half - 0.5f), m->x0, m->x1);
    int b = clampi((int)floorf(m->cx + half - 0.5f) + 1, a, m->x1);
    while (a < b && distance_outside(m, a, y) > 0)
        a++;
    while (b > a && distance_outside(m, b - 1, y) > 0)
        b--;
    *c0 = a;
    *c1 = b;
}

/* ---------------------------------------------------------------- the blur, block-wise
 *
 * Pixelating leaves a grid of block means; the box blur that follows is
 * linear and separable (edges replicated), so its result is the grid
 * weighted, per axis, by each block's blurred footprint. Those responses
 * are computed once per axis (a few block-sized 1-D blurs), then every
 * output pixel costs a handful of multiply-adds, and only the pixels that
 * actually change are written. Same result as blurring the pixelated patch
 * in place, at a fraction of the memory traffic. */

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
    for (int i = 0; i < nblocks; i++) {
        int s = i * block, e = s + block < len ? s + block : len;
        /* The response is 0 beyond `reach` of the block, so a window that
         * wide (edges replicated only where they are the patch's) is exact. */
        int w0 = s - reach > 0 ? s - reach : 0, w1 = e + reach < len ? e + reach : len;
        int n = w1 - w0;
        for (int x = 0; x < n; x++)
            a[x] = w0 + x >= s && w0 + x < e ? 1.0f : 0.0f;
        for (int p = 0; p < passes; p++) {
            box_pass_1d(a, b, n, r);
            float *swap = a;
            a = b;
            b = swap;
        }
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

/* Everything one face needs, in one allocation. */
typedef struct face_work {
    int w, h, gw, gh;   /* region size, block grid size */
    float *grid;        /* gh x gw x 3 block means */
    float *cols;        /* gh x w x 3: grid rows spread along x */
    float *row;         /* w x 3: one output row */
    uint8_t *bytes;     /* w x 3: the same as bytes */
    float *scratch;     /* 2 * max(w, h) */
    axis_taps tx, ty;
    void *mem;
} face_work;

static int face_work_alloc(face_work *f, const anon_mask *m, anon_error *err)
{
    f->w = m->x1 - m->x0;
    f->h = m->y1 - m->y0;
    f->gw = (f->w + m->block - 1) / m->block;
    f->gh = (f->h + m->block - 1) / m->block;
    size_t w = (size_t)f->w, h = (size_t)f->h, longer = w > h ? w : h;
    size_t floats = (size_t)f->gh * (size_t)f->gw * 3 + (size_t)f->gh * w * 3 + w * 3 +
                    2 * longer + (w + h) * MAX_TAPS;
    size_t ints = 2 * (w + h);
    f->mem = malloc(floats * sizeof(float) + ints * sizeof(int) + w * 3);
    if (f->mem == NULL)
        return anon_fail(err, "out of memory for a %dx%d face region", f->w, f->h);
    float *p = f->mem;
    f->grid = p;       p += (size_t)f->gh * (size_t)f->gw * 3;
    f->cols = p;       p += (size_t)f->gh * w * 3;
    f->row = p;        p += w * 3;
    f->scratch = p;    p += 2 * longer;
    f->tx.weight = p;  p += w * MAX_TAPS;
    f->ty.weight = p;  p += h * MAX_TAPS;
    int *q = (int *)p;
    f->tx.first = q;   q += w;
    f->tx.count = q;   q += w;
    f->ty.first = q;   q += h;
    f->ty.count = q;   q += h;
    f->bytes = (uint8_t *)q;
    return 0;
}

/* The mean of each block of the region, blocks aligned on its top-left. */
static void block_means(const anon_image *img, const anon_mask *m, face_work *f)
{
    const int block = m->block, ch = img->channels;
    memset(f->grid, 0, (size_t)f->gh * (size_t)f->gw * 3 * sizeof *f->grid);
    unsigned *acc = (unsigned *)f->row;    /* gw x 3 sums; row is >= that big */
    for (int gy = 0; gy < f->gh; gy++) {
        int y0 = gy * block, y1 = y0 + block < f->h ? y0 + block : f->h;
        memset(acc, 0, (size_t)f->gw * 3 * sizeof *acc);
        for (int y = y0; y < y1; y++) {
            const uint8_t *in = img->pixels +
                                ((size_t)(m->y0 + y) * (size_t)img->width + (size_t)m->x0) * (size_t)ch;
            for (int gx = 0, x = 0; gx < f->gw; gx++) {
                int end = x + block < f->w ? x + block : f->w;
                unsigned s0 = 0, s1 = 0, s2 = 0;
                for (; x < end; x++, in += ch) {
                    s0 += in[0];
                    s1 += in[1];
                    s2 += in[2];
                }
                acc[gx * 3 + 0] += s0;
                acc[gx * 3 + 1] += s1;
                acc[gx * 3 + 2] += s2;
            }
        }
        for (int gx = 0; gx < f->gw; gx++) {
            int bw = (gx + 1) * block < f->w ? block : f->w - gx * block;
            float inv = 1.0f / (float)(bw * (y1 - y0));
            for (int c = 0; c < 3; c++)
                f->grid[((size_t)gy * (size_t)f->gw + (size_t)gx) * 3 + (size_t)c] =
                    (float)acc[(size_t)gx * 3 + (size_t)c] * inv;
        }
    }
}

/* cols[gy][x] = sum over the blocks reaching column x of weight * grid[gy][block]. */
static void spread_columns(face_work *f)
{
    for (int gy = 0; gy < f->gh; gy++) {
        const float *g = f->grid + (size_t)gy * (size_t)f->gw * 3;
        float *out = f->cols + (size_t)gy * (size_t)f->w * 3;
        for (int x = 0; x < f->w; x++) {
            const float *wt = f->tx.weight + (size_t)x * MAX_TAPS;
            const float *src = g + (size_t)f->tx.first[x] * 3;
            float s0 = 0, s1 = 0, s2 = 0;
            for (int k = 0; k < f->tx.count[x]; k++, src += 3) {
                s0 += wt[k] * src[0];
                s1 += wt[k] * src[1];
                s2 += wt[k] * src[2];
            }
            out[x * 3 + 0] = s0;
            out[x * 3 + 1] = s1;
            out[x * 3 + 2] = s2;
        }
    }
}

/* Several clones of the pixel loops, picked at load time for the CPU
 * (AVX2 / AVX-512 where present), as in the engine's kernels (nn.h). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define BLUR_VECTORIZED __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define BLUR_VECTORIZED
#endif

/* acc[0..n) += a * src[0..n); a function of its own so that GCC cannot
 * jam two taps into one scalar loop. */
BLUR_VECTORIZED __attribute__((noinline))
static void axpy(float *restrict acc, const float *restrict src, float a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        acc[i] += a * src[i];
}

/* out[0..n) = rounded, clamped bytes of the anonymized values
 * sum_k wt[k] * rows[k][0..n), for one output row. */
BLUR_VECTORIZED
static void blend_rows(const float *const *rows, const float *wt, int taps, size_t n,
                       float *restrict acc, uint8_t *restrict out)
{
    memset(acc, 0, n * sizeof *acc);
    for (int k = 0; k < taps; k++)
        axpy(acc, rows[k], wt[k], n);
    for (size_t i = 0; i < n; i++) {
        float v = acc[i] + 0.5f;
        v = v < 0 ? 0 : v > 255 ? 255 : v;
        out[i] = (uint8_t)(int)v;
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
    blend_rows(rows, f->ty.weight + (size_t)y * MAX_TAPS, taps, n, f->row + (size_t)c0 * 3, out);
}

/* Columns [*lo, *hi) of row y that may have a weight above 0, a few
 * pixels generous: distance_outside is at least (d - 1) * min(rx, ry) for
 * an ellipse (d its normalised radius), so the soft edge lies inside the
 * core scaled by 1 + feather / min(rx, ry); a rectangle's lies within
 * feather of it. */
static void outer_span(const anon_mask *m, int y, int *lo, int *hi)
{
    float dy = (float)y + 0.5f - m->cy, half;
    if (m->rectangle) {
        half = fabsf(dy) < m->ry + m->feather ? m->rx + m->feather : -1;
    } else {
        float s = 1 + m->feather / fminf(m->rx, m->ry), v = dy / (m->ry * s);
        half = v * v < 1 ? m->rx * s * sqrtf(1 - v * v) : -1;
    }
    if (half < 0) {
        *lo = *hi = m->x0;
        return;
    }
    *lo = clampi((int)floorf(m->cx - half - 0.5f) - 1, m->x0, m->x1);
    *hi = clampi((int)ceilf(m->cx + half - 0.5f) + 2, *lo, m->x1);
}

/* Blends columns [from, to) of row iy by the mask's weight: the soft edge. */
static void blend_span(uint8_t *row, size_t ch, const uint8_t *region, const anon_mask *m,
                       int iy, int from, int to)
{
    for (int x = from; x < to; x++) {
        float a = weight_at_distance(m, distance_outside(m, x, iy));
        if (a <= 0)
            continue;
        const uint8_t *p = region + (size_t)(x - m->x0) * 3;
        uint8_t *o = row + (size_t)x * ch;
        for (int c = 0; c < 3; c++)
            o[c] = (uint8_t)(a * (float)p[c] + (1 - a) * (float)o[c] + 0.5f);
    }
}

/* Writes the anonymized region into the image: copied in the core, blended
 * across the soft edge, nothing where the weight is 0. */
static void write_back(anon_image *img, const anon_mask *m, face_work *f, bool fill)
{
    const size_t ch = (size_t)img->channels;
    for (int y = 0; y < f->h; y++) {
        int iy = m->y0 + y, c0, c1;
        core_span(m, iy, &c0, &c1);
        /* The row's changed columns: the core plus what the soft edge reaches. */
        int lo, hi, lo_end = c1 > c0 ? c0 : m->x1;
        outer_span(m, iy, &lo, &hi);
        while (lo < lo_end && weight_at_distance(m, distance_outside(m, lo, iy)) <= 0)
            lo++;
        while (hi > (c1 > lo ? c1 : lo) && weight_at_distance(m, distance_outside(m, hi - 1, iy)) <= 0)
            hi--;
        if (hi <= lo)
            continue;
        region_row(f, y, lo - m->x0, hi - m->x0, fill);
        uint8_t *row = img->pixels + (size_t)iy * (size_t)img->width * ch;
        blend_span(row, ch, f->bytes, m, iy, lo, c0 < hi ? c0 : hi);
        const uint8_t *core = f->bytes + (size_t)(c0 - m->x0) * 3;    /* replaced */
        if (ch == 3 && c1 > c0)
            memcpy(row + (size_t)c0 * 3, core, (size_t)(c1 - c0) * 3);
        for (int x = c0; ch != 3 && x < c1; x++)
            memcpy(row + (size_t)x * ch, core + (size_t)(x - c0) * 3, 3);
        blend_span(row, ch, f->bytes, m, iy, c1 > lo ? c1 : lo, hi);
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
