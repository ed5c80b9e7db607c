/* nn_blocked.c - register-blocked direct convolutions for dense layers with
 * many taps: the 3x3 and 1x1 convolutions over 16 to 512 channels of
 * YOLOv8 (see nn.h).
 *
 * im2col + GEMM copies each input pixel k x k times and adds the bias and
 * activation in another pass over the output. Here a block of 8 output
 * channels x 48 output pixels (AVX-512: 24 vector accumulators) is summed
 * in registers over every tap, its bias and activation (SiLU included)
 * applied there, and stored once. The weights are packed at load time so
 * that a block reads them as one stream: [block][input channel][tap][8].
 *
 * The output pixels are taken as one flat row: a k x k kernel reads the
 * input as s x s phase planes (s the stride, zero padded, the planes of
 * nn_direct.c) of pitch P = out_w + (k - 1) / s, in which tap (ky, kx) of
 * output (oy, ox) sits at a fixed offset from oy * P + ox. Blocks run
 * along that flat row across the row ends, so narrow planes (20 pixels at
 * stride 32) waste only the (k - 1) / s columns of padding rather than a
 * block's remainder per row; the columns past out_w are computed and
 * dropped when the block is copied out. The planes are made a band of
 * output rows at a time (for a 1x1 convolution, a copy of the band). */
#include <immintrin.h>
#include <string.h>

#include "engine/nn.h"

#define OB 8                /* output channels per block */
#define BLOCK_MAX 48        /* pixels of the widest kernel's block */
#define MAX_K 7             /* kernel side */

/* ---------------------------------------------------------------- the block */

/* acc[o][j] += sum over NK taps of each of the c channels; NK a constant
 * where it can be, so the tap loop unrolls. */
#define SUM_TAPS(V, XV, LANES, NK)                                                            \
    for (int ic = 0; ic < c; ic++, base += ic_stride)                                         \
        for (int t = 0; t < (NK); t++, w += OB) {                                             \
            const float *s = base + koff[t];                                                  \
            V x[XV];                                                                          \
            _Pragma("GCC unroll 4") for (int j = 0; j < XV; j++)                              \
                memcpy(&x[j], s + j * LANES, sizeof x[j]);                                    \
            _Pragma("GCC unroll 8") for (int o = 0; o < OB; o++)                              \
                _Pragma("GCC unroll 4") for (int j = 0; j < XV; j++)                          \
                    acc[o][j] += w[o] * x[j];                                                 \
        }

/* dst[o][x] = act(bias[o] + sum_ic sum_t w[ic][t][o] * base[ic * ic_stride + koff[t] + x])
 * for the 8 channels o of the block (nb of them real) and x < XV * LANES. */
#define DEFINE_BLOCK(NAME, TARGET, LANES, XV, RCP)                                            \
    typedef float NAME##_v __attribute__((vector_size(LANES * 4)));                           \
    typedef int NAME##_m __attribute__((vector_size(LANES * 4)));                             \
    __attribute__((target(TARGET))) static void NAME(                                         \
        const float *base, size_t ic_stride, int c, const ptrdiff_t *koff, int nk,            \
        const float *w, const float *bias, int nb, nn_activation act, float *dst,             \
        size_t dst_stride)                                                                    \
    {                                                                                         \
        NAME##_v acc[OB][XV];                                                                 \
        _Pragma("GCC unroll 8") for (int o = 0; o < OB; o++)                                  \
            _Pragma("GCC unroll 4") for (int j = 0; j < XV; j++)                              \
                acc[o][j] = (NAME##_v){0};                                                    \
        if (nk == 9)                                                                          \
            SUM_TAPS(NAME##_v, XV, LANES, 9)                                                  \
        else if (nk == 1)                                                                     \
            SUM_TAPS(NAME##_v, XV, LANES, 1)                                                  \
        else                                                                                  \
            SUM_TAPS(NAME##_v, XV, LANES, nk)                                                 \
        _Pragma("GCC unroll 8") for (int o = 0; o < OB; o++)                                  \
            _Pragma("GCC unroll 4") for (int j = 0; j < XV; j++) {                            \
                NAME##_v v = acc[o][j] + (o < nb ? bias[o] : 0.0f);                           \
                if (act == NN_SILU)                                                           \
                    NN_SILU_VEC_RCP(NAME##_v, NAME##_m, v, RCP);                              \
                else                                                                          \
                    NN_ACTIVATE_VEC(NAME##_v, NAME##_m, v, act);                              \
                memcpy(dst + (size_t)o * dst_stride + j * LANES, &v, sizeof v);               \
            }                                                                                 \
    }

/* The reciprocal estimates of each target (14 and 12 bits). */
#define RCP_AVX512(d) ((block_avx512_v)_mm512_rcp14_ps((__m512)(d)))
#define RCP_AVX2(d) ((block_avx2_v)_mm256_rcp_ps((__m256)(d)))
#define RCP_SSE(d) ((block_sse_v)_mm_rcp_ps((__m128)(d)))

DEFINE_BLOCK(block_avx512, "arch=x86-64-v4", 16, 3, RCP_AVX512)
DEFINE_BLOCK(block_avx2, "arch=x86-64-v3", 8, 1, RCP_AVX2)
DEFINE_BLOCK(block_sse, "arch=x86-64", 4, 1, RCP_SSE)

typedef void block_fn(const float *, size_t, int, const ptrdiff_t *, int, const float *,
                      const float *, int, nn_activation, float *, size_t);

typedef struct kernel {
    block_fn *run;
    int width;          /* pixels per block */
} kernel;

static kernel pick_kernel(void)
{
    static const kernel by_level[] = {{block_sse, 4}, {block_avx2, 8}, {block_avx512, 48}};
    return by_level[nn_vector_level()];
}

/* ---------------------------------------------------------------- geometry */

/* The input is copied into phase planes a band of output rows at a time,
 * the band's planes about a quarter of L2, so that a block's taps and the
 * band's next blocks are read from cache. */
#define BAND_FLOATS (1 << 17)

typedef struct geometry {
    int pitch;          /* P: floats per row of a phase plane */
    int band;           /* output rows per band */
    int rows;           /* rows of a band's phase plane */
    size_t plane;       /* floats of a phase plane, with room past its end */
    size_t ic_stride;   /* floats from one input channel's planes to the next */
    int nk;             /* taps per input channel */
    ptrdiff_t koff[MAX_K * MAX_K];
} geometry;

static geometry geometry_of(const nn_conv *cv)
{
    geometry g = {.nk = cv->size * cv->size};
    int s = cv->stride, k = cv->size, halo = (k - 1) / s;
    g.pitch = cv->out_w + halo;
    size_t per_row = (size_t)cv->c * (size_t)s * (size_t)s * (size_t)g.pitch;
    size_t band = BAND_FLOATS / per_row;
    g.band = band < 1 ? 1 : band > (size_t)cv->out_h ? cv->out_h : (int)band;
    g.rows = g.band + halo;
    /* a block reads up to BLOCK_MAX + the largest tap offset past its start */
    g.plane = (size_t)g.rows * (size_t)g.pitch + BLOCK_MAX + (size_t)k;
    g.ic_stride = ((size_t)s * (size_t)s * g.plane + 15) / 16 * 16;
    /* an odd number of cache lines from one channel to the next: channels
     * a power of two apart would all fall into the same L1 sets */
    if (g.ic_stride / 16 % 2 == 0)
        g.ic_stride += 16;
    for (int ky = 0, t = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++)
            g.koff[t++] = (ptrdiff_t)((ky % s) * s + kx % s) * (ptrdiff_t)g.plane +
                          (ptrdiff_t)(ky / s) * g.pitch + kx / s;
    return g;
}

int nn_blocked_suits(const nn_conv *cv)
{
    return cv->groups == 1 && cv->size <= MAX_K && cv->stride <= cv->size;
}

/* ---------------------------------------------------------------- weights */

size_t nn_blocked_pack_size(const nn_conv *cv)
{
    size_t blocks = ((size_t)cv->out_c + OB - 1) / OB;
    return blocks * OB * (size_t)cv->c * (size_t)cv->size * (size_t)cv->size;
}

void nn_blocked_pack(const nn_conv *cv, const float *weights, float *packed)
{
    size_t taps = (size_t)cv->size * (size_t)cv->size, per_filter = (size_t)cv->c * taps;
    for (int ob = 0; ob < cv->out_c; ob += OB)
        for (size_t i = 0; i < per_filter; i++)
            for (int o = 0; o < OB; o++)
                *packed++ = ob + o < cv->out_c ? weights[(size_t)(ob + o) * per_filter + i] : 0;
}

/* ---------------------------------------------------------------- the planes */

size_t nn_blocked_work_size(const nn_conv *cv)
{
    return (size_t)cv->c * geometry_of(cv).ic_stride;
}

/* The phase planes of output rows [y0, y0 + g->band). */
static inline __attribute__((always_inline)) void
fill_planes_step(const nn_conv *cv, const float *in, const geometry *g, int s, int y0,
                 float *planes)
{
    for (int ic = 0; ic < cv->c; ic++)
        for (int py = 0; py < s; py++)
            for (int px = 0; px < s; px++) {
                float *d = planes + (size_t)ic * g->ic_stride +
                           (size_t)(py * s + px) * g->plane;
                for (int r = 0; r < g->rows; r++, d += g->pitch) {
                    int iy = (y0 + r) * s + py - cv->pad_top;
                    if (iy < 0 || iy >= cv->h)
                        memset(d, 0, (size_t)g->pitch * sizeof *d);
                    else
                        nn_gather_row(in + ((size_t)ic * (size_t)cv->h + (size_t)iy) *
                                               (size_t)cv->w,
                                      cv->w, px - cv->pad_left, s, d, g->pitch);
                }
                memset(d, 0, (g->plane - (size_t)g->rows * (size_t)g->pitch) * sizeof *d);
            }
}

NN_VECTORIZED static void fill_planes(const nn_conv *cv, const float *in, const geometry *g,
                                      int y0, float *planes)
{
    if (cv->stride == 1)
        fill_planes_step(cv, in, g, 1, y0, planes);
    else if (cv->stride == 2)
        fill_planes_step(cv, in, g, 2, y0, planes);
    else
        fill_planes_step(cv, in, g, cv->stride, y0, planes);
}

/* ---------------------------------------------------------------- forward */

/* Copies flat positions [q, q + n) of a band's block in stage (channel o
 * at stage + o * BLOCK_MAX) to out, the band's first row, dropping the
 * columns past out_w. */
static void copy_out(const nn_conv *cv, int pitch, const float *stage, int nb, size_t q, int n,
                     float *out)
{
    size_t plane = (size_t)cv->out_h * (size_t)cv->out_w;
    for (size_t pos = q, end = q + (size_t)n; pos < end;) {
        size_t oy = pos / (size_t)pitch, ox = pos % (size_t)pitch;
        size_t run = end - pos < (size_t)pitch - ox ? end - pos : (size_t)pitch - ox;
        if (ox < (size_t)cv->out_w) {
            size_t len = run < (size_t)cv->out_w - ox ? run : (size_t)cv->out_w - ox;
            float *d = out + oy * (size_t)cv->out_w + ox;
            for (int o = 0; o < nb; o++)
                memcpy(d + (size_t)o * plane, stage + (size_t)o * BLOCK_MAX + (pos - q),
                       len * sizeof *d);
        }
        pos += run;
    }
}

/* The block at flat position q of the band, every output channel; out is
 * the band's first output row. */
static void run_blocks(const nn_conv *cv, kernel k, const geometry *g, const float *planes,
                       size_t q, int n, float *out)
{
    size_t plane = (size_t)cv->out_h * (size_t)cv->out_w;
    size_t per_block = (size_t)OB * (size_t)cv->c * (size_t)g->nk;
    float stage[OB * BLOCK_MAX];
    /* A whole block without padding columns goes straight into the output:
     * with no padding at all (1x1), or when it lies within one row. */
    size_t oy = q / (size_t)g->pitch, ox = q % (size_t)g->pitch;
    int direct = n == k.width && (g->pitch == cv->out_w || ox + (size_t)n <= (size_t)cv->out_w);
    size_t at = g->pitch == cv->out_w ? q : oy * (size_t)cv->out_w + ox;
    for (int ob = 0; ob < cv->out_c; ob += OB) {
        int nb = cv->out_c - ob < OB ? cv->out_c - ob : OB;
        const float *w = cv->weights + (size_t)(ob / OB) * per_block;
        if (direct && nb == OB) {
            k.run(planes + q, g->ic_stride, cv->c, g->koff, g->nk, w, cv->biases + ob, nb,
                  cv->act, out + (size_t)ob * plane + at, plane);
            continue;
        }
        k.run(planes + q, g->ic_stride, cv->c, g->koff, g->nk, w, cv->biases + ob, nb, cv->act,
              stage, BLOCK_MAX);
        copy_out(cv, g->pitch, stage, nb, q, n, out + (size_t)ob * plane);
    }
}

void nn_blocked_forward(const nn_conv *cv, const float *in, float *out, float *work)
{
    kernel k = pick_kernel();
    geometry g = geometry_of(cv);
    for (int y0 = 0; y0 < cv->out_h; y0 += g.band) {
        int rows = cv->out_h - y0 < g.band ? cv->out_h - y0 : g.band;
        size_t n = (size_t)rows * (size_t)g.pitch;
        fill_planes(cv, in, &g, y0, work);
        for (size_t q = 0; q < n; q += (size_t)k.width) {
            int len = n - q < (size_t)k.width ? (int)(n - q) : k.width;
            run_blocks(cv, k, &g, work, q, len, out + (size_t)y0 * (size_t)cv->out_w);
        }
    }
}
