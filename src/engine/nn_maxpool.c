/* nn_maxpool.c - Darknet max pooling for the anon engine (see nn.h).
 *
 * The window of output (oy, ox) starts at input (oy, ox) * stride - padding/2;
 * pixels outside the input are skipped (libdarknet treats them as -FLT_MAX).
 * Interior windows take a loop without bounds checks. */
#include <float.h>
#include <string.h>

#include "engine/nn.h"

static float window_max(const float *in, int h, int w, int y0, int x0, int size)
{
    float m = -FLT_MAX;
    for (int y = y0; y < y0 + size; y++)
        for (int x = x0; x < x0 + size; x++)
            if (y >= 0 && y < h && x >= 0 && x < w && in[(size_t)y * (size_t)w + (size_t)x] > m)
                m = in[(size_t)y * (size_t)w + (size_t)x];
    return m;
}

/* Output columns [lo, hi) whose windows lie inside the input row. */
static void interior(int w, int size, int stride, int off, int ow, int *lo, int *hi)
{
    *lo = off < 0 ? (-off + stride - 1) / stride : 0;
    int last = (w - size - off) >= 0 ? (w - size - off) / stride + 1 : 0;
    *hi = last < ow ? last : ow;
    if (*hi < *lo)
        *hi = *lo;
}

/* 2x2 windows of one output row, no bounds checks; stride is 1 or 2 at the
 * call sites, so each gets its own vectorized copy. */
static inline __attribute__((always_inline)) void
pool_row_2x2(const float *restrict r0, const float *restrict r1, int stride, float *restrict o,
             int lo, int hi)
{
    for (int x = lo; x < hi; x++) {
        int ix = x * stride;
        float a = r0[ix] > r0[ix + 1] ? r0[ix] : r0[ix + 1];
        float b = r1[ix] > r1[ix + 1] ? r1[ix] : r1[ix + 1];
        o[x] = a > b ? a : b;
    }
}

NN_VECTORIZED static void pool_rows_2x2(const float *r0, const float *r1, int stride, float *o,
                                        int lo, int hi)
{
    if (stride == 2)
        pool_row_2x2(r0, r1, 2, o, lo, hi);
    else if (stride == 1)
        pool_row_2x2(r0, r1, 1, o, lo, hi);
    else
        pool_row_2x2(r0, r1, stride, o, lo, hi);
}

static inline int clamp(int v, int n)
{
    return v < 0 ? 0 : v >= n ? n - 1 : v;
}

/* 1 if every 2x2 window holds at least one input pixel: then reading the
 * nearest pixel inside for the ones outside gives the same maximum. */
static int windows_touch_input(int h, int w, int stride, int off, int out_h, int out_w)
{
    return off >= -1 && (out_h - 1) * stride + off < h && (out_w - 1) * stride + off < w;
}

static inline float edge_max_2x2(const float *r0, const float *r1, int w, int ix)
{
    int a = clamp(ix, w), b = clamp(ix + 1, w);
    float m0 = r0[a] > r0[b] ? r0[a] : r0[b], m1 = r1[a] > r1[b] ? r1[a] : r1[b];
    return m0 > m1 ? m0 : m1;
}

/* One output row of 2x2 windows from input rows r0, r1 (clamped): the
 * interior [lo, hi) vectorized, the few edge windows with clamped columns. */
static void pool_row_edges_2x2(const float *r0, const float *r1, int w, int stride, int off,
                               float *o, int out_w, int lo, int hi)
{
    for (int x = 0; x < lo && x < out_w; x++)
        o[x] = edge_max_2x2(r0, r1, w, x * stride + off);
    for (int x = hi; x < out_w; x++)
        o[x] = edge_max_2x2(r0, r1, w, x * stride + off);
    if (hi > lo)
        pool_rows_2x2(r0 + off, r1 + off, stride, o, lo, hi);
}

int nn_maxpool_by_rows(int h, int w, int size, int stride, int padding, int out_h, int out_w)
{
    return size == 2 && windows_touch_input(h, w, stride, -padding / 2, out_h, out_w);
}

void nn_maxpool_rows(int h, int stride, int padding, int oy, int *top, int *bottom)
{
    int y = oy * stride - padding / 2;
    *top = clamp(y, h);
    *bottom = clamp(y + 1, h);
}

void nn_maxpool_band(const nn_pool_band *b, int oy0, int n, float *out)
{
    int off = -b->padding / 2, lo, hi;
    interior(b->w, 2, b->stride, off, b->out_w, &lo, &hi);
    size_t plane = (size_t)b->out_h * (size_t)b->out_w;
    for (int ch = 0; ch < b->c; ch++) {
        const float *p = b->in + (size_t)ch * b->in_stride;
        for (int oy = oy0; oy < oy0 + n; oy++) {
            int y0, y1;
            nn_maxpool_rows(b->h, b->stride, b->padding, oy, &y0, &y1);
            pool_row_edges_2x2(p + (size_t)(y0 - b->first) * (size_t)b->w,
                               p + (size_t)(y1 - b->first) * (size_t)b->w, b->w, b->stride, off,
                               out + (size_t)ch * plane + (size_t)oy * (size_t)b->out_w,
                               b->out_w, lo, hi);
        }
    }
}

void nn_maxpool_forward(const float *in, int c, int h, int w, int size, int stride,
                        int padding, float *out, int out_h, int out_w)
{
    if (nn_maxpool_by_rows(h, w, size, stride, padding, out_h, out_w)) {
        nn_pool_band b = {in, (size_t)h * (size_t)w, 0, c, h, w, stride, padding, out_h, out_w};
        nn_maxpool_band(&b, 0, out_h, out);
        return;
    }
    int off = -padding / 2;
    for (int ch = 0; ch < c; ch++) {
        const float *p = in + (size_t)ch * (size_t)h * (size_t)w;
        float *q = out + (size_t)ch * (size_t)out_h * (size_t)out_w;
        for (int oy = 0; oy < out_h; oy++)
            for (int x = 0; x < out_w; x++)
                q[(size_t)oy * (size_t)out_w + (size_t)x] =
                    window_max(p, h, w, oy * stride + off, x * stride + off, size);
    }
}

/* ---------------------------------------------------------------- SPPF pools
 *
 * An odd window, stride 1, padding size - 1: each output is the max over
 * the window centred on it. The max is separable: along each row into
 * `work`, then down the columns, a whole row of outputs at a time. Each
 * row is first copied between -FLT_MAX margins, so the loops have no
 * bounds checks and vectorize. */

int nn_maxpool_same(int size, int stride, int padding)
{
    return size >= 3 && size % 2 == 1 && stride == 1 && padding == size - 1;
}

size_t nn_maxpool_same_work_size(int h, int w, int size)
{
    return (size_t)h * (size_t)w + (size_t)w + (size_t)size;   /* rows, one padded row */
}

/* o[x] = max(pad[x .. x + size)) for x < n. */
static inline __attribute__((always_inline)) void
window_max_row(const float *restrict pad, int size, float *restrict o, int n)
{
    for (int x = 0; x < n; x++)
        o[x] = pad[x];
    for (int k = 1; k < size; k++)
        for (int x = 0; x < n; x++)
            o[x] = o[x] > pad[x + k] ? o[x] : pad[x + k];
}

NN_VECTORIZED static void pool_plane_same(const float *in, int h, int w, int size, float *out,
                                          float *rows, float *pad)
{
    int r = size / 2;
    for (int k = 0; k < r; k++)
        pad[k] = pad[r + w + k] = -FLT_MAX;
    for (int y = 0; y < h; y++) {
        memcpy(pad + r, in + (size_t)y * (size_t)w, (size_t)w * sizeof *pad);
        window_max_row(pad, size, rows + (size_t)y * (size_t)w, w);
    }
    for (int y = 0; y < h; y++) {
        int y0 = y - r < 0 ? 0 : y - r, y1 = y + r >= h ? h - 1 : y + r;
        float *o = out + (size_t)y * (size_t)w;
        memcpy(o, rows + (size_t)y0 * (size_t)w, (size_t)w * sizeof *o);
        for (int yy = y0 + 1; yy <= y1; yy++) {
            const float *q = rows + (size_t)yy * (size_t)w;
            for (int x = 0; x < w; x++)
                o[x] = o[x] > q[x] ? o[x] : q[x];
        }
    }
}

void nn_maxpool_same_forward(const float *in, int c, int h, int w, int size, float *out,
                             float *work)
{
    size_t plane = (size_t)h * (size_t)w;
    for (int ch = 0; ch < c; ch++)
        pool_plane_same(in + (size_t)ch * plane, h, w, size, out + (size_t)ch * plane, work,
                        work + plane);
}
