/* nn_direct.c - direct convolutions for layers with few taps per output:
 * the RGB input layer (3 x 3 x 3 = 27 taps) and 1x1 layers over up to 128
 * channels (see nn.h).
 *
 * These layers are memory-bound as im2col + GEMM (the unrolled matrix is 9x
 * the input, OpenBLAS gains little on a 27- to 128-deep product, and the
 * bias and activation would take one more pass over the output). Here each
 * block of 8 output channels x 32 pixels is summed in registers over all
 * taps, reading the input in place, and gets its bias and activation before
 * it is stored once. The block is written with GCC vector types and compiled
 * for AVX-512, AVX2 and baseline x86-64, chosen at run time. The same
 * blocks also run fused with the layers around them (see
 * nn_direct_forward_fused in nn.h). */
#include <string.h>

#include "engine/nn.h"

#define OB 8                /* output channels per block */
#define MAX_TAPS 128        /* taps per output (input channels x size x size) */

/* One block: dst[o][x] = act(bias[o] + sum_t w[o * wstride + t] * base[toff[t] + x])
 * for o < nb, x < valid (valid <= XV * LANES). */
#define DEFINE_BLOCK(NAME, TARGET, LANES, XV)                                                 \
    typedef float NAME##_v __attribute__((vector_size(LANES * 4)));                           \
    typedef int NAME##_m __attribute__((vector_size(LANES * 4)));                             \
    __attribute__((target(TARGET))) static void NAME(                                         \
        const float *base, const ptrdiff_t *toff, int taps, const float *w, size_t wstride,   \
        const float *bias, int nb, nn_activation act, float *dst, size_t dst_stride,          \
        int valid)                                                                            \
    {                                                                                         \
        NAME##_v acc[OB][XV];                                                                 \
        for (int o = 0; o < OB; o++)                                                          \
            for (int j = 0; j < XV; j++)                                                      \
                acc[o][j] = (NAME##_v){0};                                                    \
        for (int t = 0; t < taps; t++) {                                                      \
            const float *s = base + toff[t];                                                  \
            NAME##_v x[XV];                                                                   \
            for (int j = 0; j < XV; j++)                                                      \
                memcpy(&x[j], s + j * LANES, sizeof x[j]);                                    \
            for (int o = 0; o < OB; o++) {                                                    \
                float wv = w[(size_t)o * wstride + (size_t)t];                                \
                for (int j = 0; j < XV; j++)                                                  \
                    acc[o][j] += wv * x[j];                                                   \
            }                                                                                 \
        }                                                                                     \
        /* acc is only ever indexed by constants, so it stays in registers; a                \
         * partial block goes through tmp. */                                                 \
        int whole = nb >= OB && valid >= XV * LANES;                                          \
        float tmp[OB][XV * LANES];                                                            \
        _Pragma("GCC unroll 8") for (int o = 0; o < OB; o++)                                  \
            _Pragma("GCC unroll 4") for (int j = 0; j < XV; j++) {                            \
                NAME##_v v = acc[o][j] + (o < nb ? bias[o] : 0.0f);                           \
                NN_ACTIVATE_VEC(NAME##_v, NAME##_m, v, act);                                         \
                memcpy(whole ? dst + (size_t)o * dst_stride + j * LANES : &tmp[o][j * LANES], \
                       &v, sizeof v);                                                         \
            }                                                                                 \
        for (int o = 0; !whole && o < OB && o < nb; o++)                                      \
            memcpy(dst + (size_t)o * dst_stride, tmp[o], (size_t)valid * sizeof(float));      \
    }

DEFINE_BLOCK(block_avx512, "arch=x86-64-v4", 16, 2)
DEFINE_BLOCK(block_avx2, "arch=x86-64-v3", 8, 1)
DEFINE_BLOCK(block_sse, "arch=x86-64", 4, 1)

typedef void block_fn(const float *, const ptrdiff_t *, int, const float *, size_t,
                      const float *, int, nn_activation, float *, size_t, int);

typedef struct kernel {
    block_fn *run;
    int width;          /* pixels per block */
} kernel;

static kernel pick_kernel(void)
{
    static const kernel by_level[] = {{block_sse, 4}, {block_avx2, 8}, {block_avx512, 32}};
    return by_level[nn_vector_level()];
}

#define BLOCK_MAX 32        /* the widest kernel's block */

/* ---------------------------------------------------------------- 1x1 */

#define STRIP 1024          /* pixels of each input row packed together */
/* Packed rows lie a cache line more than a power of two apart: at exactly
 * 4 KB the taps of one block would all map to the same L1 sets (measured:
 * the 1x1 layers of the tiny model run 1.3-1.5x faster with the offset). */
#define PITCH_SKEW 16
#define STRIP_PITCH (STRIP + PITCH_SKEW)

/* out[O][n] = act(W[O][K] x in[K][n] + b), the n pixels as one flat row, in
 * strips of STRIP pixels. Each strip of the K input rows is first packed
 * into `work`: the rows lie a whole plane apart, and planes of a power-of-
 * two size would all fall into the same cache sets. Within a strip, each
 * block of 8 output rows is finished before the next, so the stores run
 * along 8 rows at a time rather than hopping across all of them. */

/* Copies pixels [x0, x0 + len) of the c input rows into work, `pitch`
 * floats apart. */
static void pack_strip(const nn_conv *cv, const float *in, size_t x0, size_t len, size_t pitch,
                       float *work)
{
    size_t n = (size_t)cv->h * (size_t)cv->w;
    for (int t = 0; t < cv->c; t++)
        memcpy(work + (size_t)t * pitch, in + (size_t)t * n + x0, len * sizeof *work);
}

/* Pixels [0, len) of every output channel from the packed strip, channel o
 * at out + o * out_stride. The packed rows are first zero padded to whole
 * blocks (what the kernel reads; pitch >= len rounded up to a block). */
static void pointwise_packed(const nn_conv *cv, kernel k, float *packed, size_t len,
                             size_t pitch, float *out, size_t out_stride)
{
    int taps = cv->c;
    size_t blocks = (len + BLOCK_MAX - 1) / BLOCK_MAX * BLOCK_MAX;
    ptrdiff_t toff[MAX_TAPS];
    for (int t = 0; t < taps; t++) {
        toff[t] = (ptrdiff_t)t * (ptrdiff_t)pitch;
        memset(packed + (size_t)t * pitch + len, 0, (blocks - len) * sizeof *packed);
    }
    for (int ob = 0; ob < cv->out_c; ob += OB)
        for (size_t x = 0; x < len; x += (size_t)k.width) {
            int valid = len - x < (size_t)k.width ? (int)(len - x) : k.width;
            k.run(packed + x, toff, taps, cv->weights + (size_t)ob * (size_t)taps, (size_t)taps,
                  cv->biases + ob, cv->out_c - ob, cv->act,
                  out + (size_t)ob * out_stride + x, out_stride, valid);
        }
}

static void pointwise(const nn_conv *cv, const float *in, float *out, float *work)
{
    kernel k = pick_kernel();
    size_t n = (size_t)cv->h * (size_t)cv->w;
    for (size_t x0 = 0; x0 < n; x0 += STRIP) {
        size_t len = n - x0 < STRIP ? n - x0 : STRIP;
        pack_strip(cv, in, x0, len, STRIP_PITCH, work);
        pointwise_packed(cv, k, work, len, STRIP_PITCH, out + x0, n);
    }
}

/* ---------------------------------------------------------------- k x k */

/* The input as `stride` phase planes per channel, zero padded: plane (ic, p)
 * holds padded columns p, p + stride, p + 2 * stride, ... so that every tap
 * reads a contiguous run of pixels for consecutive outputs. */
typedef struct phases {
    int rows, cols;     /* of each plane */
} phases;

static phases phase_size(const nn_conv *cv)
{
    int blocks = (cv->out_w + BLOCK_MAX - 1) / BLOCK_MAX;
    return (phases){(cv->out_h - 1) * cv->stride + cv->size,
                    blocks * BLOCK_MAX + (cv->size - 1) / cv->stride + 1};
}

static inline __attribute__((always_inline)) void
fill_phases_step(const nn_conv *cv, const float *in, phases ph, int s, float *planes)
{
    for (int ic = 0; ic < cv->c; ic++)
        for (int p = 0; p < s; p++)
            for (int y = 0; y < ph.rows; y++) {
                float *d = planes + (((size_t)ic * (size_t)s + (size_t)p) * (size_t)ph.rows +
                                     (size_t)y) * (size_t)ph.cols;
                int iy = y - cv->pad_top;
                if (iy < 0 || iy >= cv->h)
                    memset(d, 0, (size_t)ph.cols * sizeof *d);
                else
                    nn_gather_row(in + ((size_t)ic * (size_t)cv->h + (size_t)iy) * (size_t)cv->w,
                                  cv->w, p - cv->pad_left, s, d, ph.cols);
            }
}

NN_VECTORIZED static void fill_phases(const nn_conv *cv, const float *in, phases ph,
                                      float *planes)
{
    if (cv->stride == 1)
        fill_phases_step(cv, in, ph, 1, planes);
    else if (cv->stride == 2)
        fill_phases_step(cv, in, ph, 2, planes);
    else
        fill_phases_step(cv, in, ph, cv->stride, planes);
}

/* Where each tap (ic, ky, kx) reads in the phase planes, from an output
 * row's start. */
static void phase_taps(const nn_conv *cv, phases ph, ptrdiff_t *toff)
{
    int s = cv->stride;
    for (int ic = 0, t = 0; ic < cv->c; ic++)
        for (int ky = 0; ky < cv->size; ky++)
            for (int kx = 0; kx < cv->size; kx++)
                toff[t++] = ((ptrdiff_t)(ic * s + kx % s) * ph.rows + ky) * ph.cols + kx / s;
}

/* Output row oy of every channel, channel o at out + o * out_stride. */
static void convolve_row(const nn_conv *cv, kernel k, phases ph, const ptrdiff_t *toff,
                         const float *planes, int oy, float *out, size_t out_stride)
{
    int taps = cv->c * cv->size * cv->size;
    const float *row = planes + (size_t)oy * (size_t)cv->stride * (size_t)ph.cols;
    for (int x = 0; x < cv->out_w; x += k.width) {
        int valid = cv->out_w - x < k.width ? cv->out_w - x : k.width;
        for (int ob = 0; ob < cv->out_c; ob += OB)
            k.run(row + x, toff, taps, cv->weights + (size_t)ob * (size_t)taps, (size_t)taps,
                  cv->biases + ob, cv->out_c - ob, cv->act,
                  out + (size_t)ob * out_stride + (size_t)x, out_stride, valid);
    }
}

static void convolve(const nn_conv *cv, const float *in, float *out, float *work)
{
    kernel k = pick_kernel();
    phases ph = phase_size(cv);
    ptrdiff_t toff[MAX_TAPS];
    phase_taps(cv, ph, toff);
    fill_phases(cv, in, ph, work);
    size_t n = (size_t)cv->out_h * (size_t)cv->out_w;
    for (int oy = 0; oy < cv->out_h; oy++)
        convolve_row(cv, k, ph, toff, work, oy, out + (size_t)oy * (size_t)cv->out_w, n);
}

static int is_pointwise(const nn_conv *cv)
{
    return cv->size == 1 && cv->stride == 1 && cv->pad_top == 0 && cv->pad_left == 0 &&
           cv->out_h == cv->h && cv->out_w == cv->w;
}

/* Measured on the face models: up to 128 input channels the direct kernel
 * beats OpenBLAS on 1x1 layers (1.2-3x: the wide early layers are
 * memory-bound and it reads and writes each value once, bias and activation
 * included); at 256 they are even, and beyond OpenBLAS's packed GEMM wins. */
int nn_direct_suits(const nn_conv *cv)
{
    return cv->groups == 1 && cv->c * cv->size * cv->size <= MAX_TAPS;
}

/* Floats of `work` the input copy takes: the packed strip or the phase
 * planes. */
static size_t input_work_size(const nn_conv *cv, size_t pitch)
{
    if (is_pointwise(cv))
        return (size_t)cv->c * pitch;
    phases ph = phase_size(cv);
    return (size_t)cv->c * (size_t)cv->stride * (size_t)ph.rows * (size_t)ph.cols;
}

size_t nn_direct_work_size(const nn_conv *cv)
{
    return input_work_size(cv, STRIP_PITCH);
}

void nn_direct_forward(const nn_conv *cv, const float *in, float *out, float *work)
{
    if (is_pointwise(cv))
        pointwise(cv, in, out, work);
    else
        convolve(cv, in, out, work);
}

/* ---------------------------------------------------------------- fused */

/* Pooled rows computed per step: enough that a step's convolution rows
 * give the pointwise kernel a few hundred pixels (whole blocks, few
 * calls), since they are as narrow as 26 pixels. */
static int pooled_step(const nn_conv *cv)
{
    int step = STRIP / 2 / (2 * cv->out_w);
    return step > 1 ? step : 1;
}

/* Convolution rows one step spans (without a pool: about a strip), and
 * the packing pitch for them: a block past the pixels, plus a cache line
 * so the packed rows do not all fall into the same cache sets. */
static int step_rows(const nn_conv *cv, const nn_pool *pool)
{
    int rows = STRIP / cv->out_w;
    if (pool)
        return (pooled_step(cv) - 1) * pool->stride + 2;
    return rows > 1 ? rows : 1;
}

static size_t step_pitch(const nn_conv *cv, const nn_pool *pool)
{
    size_t px = (size_t)step_rows(cv, pool) * (size_t)cv->out_w;
    return (px + BLOCK_MAX - 1) / BLOCK_MAX * BLOCK_MAX + PITCH_SKEW;
}

int nn_direct_pointwise(const nn_conv *cv)
{
    return is_pointwise(cv);
}

size_t nn_direct_fused_work_size(const nn_conv *cv, const nn_conv *dw, const nn_pool *pool)
{
    size_t rows = pool ? (size_t)cv->out_c * (size_t)step_rows(cv, pool) * (size_t)cv->out_w : 0;
    return input_work_size(cv, step_pitch(cv, pool)) + rows +
           (dw ? nn_depthwise_work_size(dw) : 0);
}

/* Convolution rows [first, last] of every channel into rows, channel o at
 * rows + o * cs; the input packed, or computed by dw, or as phase planes
 * (already filled) in work. */
static void conv_rows(const nn_conv *cv, const nn_conv *dw, kernel k, const float *in,
                      int first, int last, size_t pitch, float *rows, size_t cs, float *work,
                      float *dw_work)
{
    size_t ow = (size_t)cv->out_w, len = (size_t)(last - first + 1) * ow;
    if (is_pointwise(cv)) {
        if (dw)
            nn_depthwise_rows(dw, in, first, last + 1, work, pitch, dw_work);
        else
            pack_strip(cv, in, (size_t)first * ow, len, pitch, work);
        pointwise_packed(cv, k, work, len, pitch, rows, cs);
        return;
    }
    phases ph = phase_size(cv);
    ptrdiff_t toff[MAX_TAPS];
    phase_taps(cv, ph, toff);
    for (int y = first; y <= last; y++)
        convolve_row(cv, k, ph, toff, work, y, rows + (size_t)(y - first) * ow, cs);
}

/* Without a pool: the rows go straight to out, a strip at a time. */
static void forward_rows(const nn_conv *cv, const nn_conv *dw, kernel k, const float *in,
                         float *out, float *work, float *dw_work)
{
    int step = step_rows(cv, NULL);
    size_t pitch = step_pitch(cv, NULL), ow = (size_t)cv->out_w;
    size_t plane = (size_t)cv->out_h * ow;
    for (int y = 0; y < cv->out_h; y += step) {
        int last = cv->out_h - y < step ? cv->out_h - 1 : y + step - 1;
        conv_rows(cv, dw, k, in, y, last, pitch, out + (size_t)y * ow, plane, work, dw_work);
    }
}

void nn_direct_forward_fused(const nn_conv *cv, const nn_conv *dw, const nn_pool *pool,
                             const float *in, float *out, float *work)
{
    kernel k = pick_kernel();
    size_t pitch = step_pitch(cv, pool), ow = (size_t)cv->out_w;
    size_t cs = pool ? (size_t)step_rows(cv, pool) * ow : 0;   /* channel stride of rows */
    float *rows = work + input_work_size(cv, pitch), *dw_work = rows + (size_t)cv->out_c * cs;
    if (!is_pointwise(cv))
        fill_phases(cv, in, phase_size(cv), work);
    if (pool == NULL) {
        forward_rows(cv, dw, k, in, out, work, dw_work);
        return;
    }
    for (int oy0 = 0; oy0 < pool->out_h; oy0 += pooled_step(cv)) {
        int n = pool->out_h - oy0 < pooled_step(cv) ? pool->out_h - oy0 : pooled_step(cv);
        int first, last, y0, y1;
        nn_maxpool_rows(cv->out_h, pool->stride, pool->padding, oy0, &first, &y1);
        nn_maxpool_rows(cv->out_h, pool->stride, pool->padding, oy0 + n - 1, &y0, &last);
        conv_rows(cv, dw, k, in, first, last, pitch, rows, cs, work, dw_work);
        nn_pool_band band = {rows, cs, first, cv->out_c, cv->out_h, cv->out_w,
                             pool->stride, pool->padding, pool->out_h, pool->out_w};
        nn_maxpool_band(&band, oy0, n, out);
    }
}
