/* nn.h - the "anon" inference engine's kernels (nn_conv.c, nn_direct.c,
 * nn_depthwise.c, nn_maxpool.c, nn_activate.c), which the runtime
 * (nn_run.c, with the network of nn_net.h) calls, and the few functions
 * tests and benchmarks use.
 *
 * The engine runs exactly the Darknet layer subset the converted face
 * models use ([net], [convolutional], [maxpool], [route], [shortcut],
 * [upsample]) on CHW planar float tensors, batch 1. Callers outside the engine use engine.h; the few
 * functions below that take an anon_net are for tests and benchmarks. */
#ifndef ANON_NN_H
#define ANON_NN_H

#include <stddef.h>

#include "engine/engine.h"

/* Hot loops are compiled for AVX-512, AVX2 and baseline x86-64 and picked
 * at load time (GCC function multiversioning), so one binary runs
 * everywhere and vectorizes as wide as the CPU allows. */
#if defined(__clang__) && __clang_major__ < 16
/* (clang before 16 exports a clone set as NAME.ifunc, which callers in
 * other files cannot link to: its builds, the fuzz harnesses', run the
 * baseline code; GCC builds every program.) */
#define NN_VECTORIZED
#else
#define NN_VECTORIZED __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif

typedef enum nn_activation { NN_LINEAR, NN_LEAKY, NN_RELU, NN_RELU6, NN_SILU } nn_activation;

/* v = silu(v) = v * sigmoid(v) = v / (1 + exp(-v)), in place, for a GCC
 * float vector type V with M its int32 vector of the same size (expf does
 * not vectorize). exp(t) as 2^n * exp(r): n = round(t / ln 2) by the
 * 1.5 * 2^23 rounding constant (whose low mantissa bits then hold n),
 * r = t - n ln 2 in two parts (Cody-Waite) and Cephes' expf polynomial on
 * r (relative error about 1e-7), 2^n written straight into the exponent
 * bits. t is clamped to [-87, 88] so that 2^n stays a normal float: beyond,
 * sigmoid is 0 or 1 to float precision anyway. */
#define NN_SILU_VEC(V, M, v)                                                                 \
    do {                                                                                     \
        V e_;                                                                                \
        NN_EXP_NEG(V, M, v, e_);                                                             \
        v = (v) / (1.0f + e_);                                                               \
    } while (0)

/* The same with 1 / (1 + exp(-v)) from RCP, a reciprocal estimate of at
 * least 12 bits (the CPU's rcp instruction), and one Newton step: division
 * is the slowest part of SiLU (about 10 cycles per AVX-512 vector), and
 * layers with few taps per output spend as long on it as on their sums. */
#define NN_SILU_VEC_RCP(V, M, v, RCP)                                                        \
    do {                                                                                     \
        V e_, d_, r_;                                                                        \
        NN_EXP_NEG(V, M, v, e_);                                                             \
        d_ = 1.0f + e_;                                                                      \
        r_ = RCP(d_);                                                                        \
        r_ = r_ * (2.0f - d_ * r_);                                                          \
        v = (v) * r_;                                                                        \
    } while (0)

/* e = exp(-v) for the SiLU macros above. */
#define NN_EXP_NEG(V, M, v, e)                                                               \
    do {                                                                                     \
        V t_ = -(v), hi_ = (V){0} + 88.0f, lo_ = (V){0} - 87.0f;                            \
        M over_ = t_ > hi_, under_ = t_ < lo_;                                               \
        t_ = (V)(((M)t_ & ~over_) | ((M)hi_ & over_));                                       \
        t_ = (V)(((M)t_ & ~under_) | ((M)lo_ & under_));                                     \
        V k_ = t_ * 1.44269504088896341f + 12582912.0f;                                     \
        V n_ = k_ - 12582912.0f;                                                             \
        V r_ = t_ - n_ * 0.693359375f;                                                       \
        r_ = r_ - n_ * -2.12194440e-4f;                                                      \
        V p_ = r_ * 1.9875691500e-4f + 1.3981999507e-3f;                                    \
        p_ = p_ * r_ + 8.3334519073e-3f;                                                     \
        p_ = p_ * r_ + 4.1665795894e-2f;                                                     \
        p_ = p_ * r_ + 1.6666665459e-1f;                                                     \
        p_ = p_ * r_ + 5.0000001201e-1f;                                                     \
        p_ = p_ * (r_ * r_) + r_ + 1.0f;                                                     \
        M b_ = ((M)k_ - 0x4B3FFF81) << 23;   /* 2^n: bits of k_ are 0x4B400000 + n */       \
        e = p_ * (V)b_;                                                                      \
    } while (0)

/* v = act(v) for one GCC float vector V; M is its int mask type (the
 * direct and blocked kernels' epilogue). */
#define NN_ACTIVATE_VEC(V, M, v, act)                                                              \
    do {                                                                                      \
        if ((act) == NN_LEAKY) {                                                              \
            M pos_ = (v) > 0;                                                                 \
            v = (V)(((M)(v) & pos_) | ((M)((v) * .1f) & ~pos_));                             \
        } else if ((act) == NN_SILU) {                                                        \
            NN_SILU_VEC(V, M, v);                                                             \
        } else if ((act) != NN_LINEAR) {                                                      \
            v = (V)((M)(v) & ((v) > 0));                                                      \
            if ((act) == NN_RELU6) {                                                          \
                M big_ = (v) > 6.0f;                                                          \
                V six_ = (V){0} + 6.0f;                                                       \
                v = (V)(((M)six_ & big_) | ((M)(v) & ~big_));                                 \
            }                                                                                 \
        }                                                                                     \
    } while (0)

/* silu on n floats in place (nn_activate.c), for the kernels that do not
 * fuse it (depthwise). */
void nn_silu(float *p, size_t n);

/* One convolution as it is executed (after load-time rewrites such as the
 * 4x4 zero-padded stride-2 kernel turned back into its 3x3 original).
 * Input pixels outside the image read as zero; the output size comes from
 * the cfg, so bottom/right padding is whatever the size implies. */
typedef struct nn_conv {
    int c, h, w;                  /* input */
    int out_c, out_h, out_w;
    int size, stride, pad_top, pad_left, groups;
    nn_activation act;
    const float *weights;         /* OIHW: [out_c][c / groups][size][size] */
    const float *biases;          /* [out_c] */
} nn_conv;

/* Which clone of a hand-blocked kernel the CPU runs: 2 AVX-512, 1 AVX2
 * with FMA, 0 baseline x86-64 (nn_direct.c, nn_blocked.c). */
static inline int nn_vector_level(void)
{
    if (__builtin_cpu_supports("avx512f"))
        return 2;
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
}

/* Dense and grouped convolutions (GEMM, im2col). `work` holds
 * nn_conv_work_size() floats. */
size_t nn_conv_work_size(const nn_conv *cv);
void nn_conv_forward(const nn_conv *cv, const float *in, float *out, float *work);

/* Direct convolutions for kernels with few taps per output (groups 1, see
 * nn_direct_suits): the RGB input layer, 1x1 layers over few channels. The
 * weights must hold a multiple of 8 filters (zero padded). */
int nn_direct_suits(const nn_conv *cv);
size_t nn_direct_work_size(const nn_conv *cv);
void nn_direct_forward(const nn_conv *cv, const float *in, float *out, float *work);

/* A 2x2 [maxpool] over a convolution's output (nn_maxpool_by_rows holds). */
typedef struct nn_pool {
    int stride, padding, out_h, out_w;
} nn_pool;

/* The same convolution fused with its neighbours, so that their
 * full-resolution tensors are never written or read back (the first layers
 * of the tiny model: 11 MB per pass):
 *   - with `pool`, followed by that pooling: output rows are computed a few
 *     at a time into `work` and only the pooled rows are stored;
 *   - with `dw`, for a 1x1 convolution (nn_direct_pointwise), preceded by
 *     that depthwise convolution: `in` is dw's input and dw's rows are
 *     computed as they are needed, straight into the packed strip.
 * Either may be NULL. `work` holds nn_direct_fused_work_size() floats; out
 * gets, bit for bit, what the layers one by one give. */
int nn_direct_pointwise(const nn_conv *cv);
size_t nn_direct_fused_work_size(const nn_conv *cv, const nn_conv *dw, const nn_pool *pool);
void nn_direct_forward_fused(const nn_conv *cv, const nn_conv *dw, const nn_pool *pool,
                             const float *in, float *out, float *work);

/* Dense convolutions with many taps as register-blocked direct sums
 * (groups 1, kernels up to 7x7, stride <= size): weights packed at load by
 * nn_blocked_pack into nn_blocked_pack_size() floats, which then replace
 * cv->weights. */
int nn_blocked_suits(const nn_conv *cv);
size_t nn_blocked_pack_size(const nn_conv *cv);
void nn_blocked_pack(const nn_conv *cv, const float *weights, float *packed);
size_t nn_blocked_work_size(const nn_conv *cv);
void nn_blocked_forward(const nn_conv *cv, const float *in, float *out, float *work);

/* Depthwise convolutions (groups == c == out_c), direct loops. */
size_t nn_depthwise_work_size(const nn_conv *cv);
void nn_depthwise_forward(const nn_conv *cv, const float *in, float *out, float *work);
/* Output rows [y0, y1) only, channel ch at out + ch * out_stride; the same
 * values nn_depthwise_forward gives them. */
void nn_depthwise_rows(const nn_conv *cv, const float *in, int y0, int y1, float *out,
                       size_t out_stride, float *work);

/* Adds the bias of each of `channels` rows of n values and applies act. */
void nn_bias_activate(float *out, int channels, size_t n, size_t stride,
                      const float *biases, nn_activation act);

/* Darknet max pooling: window `size`, `stride`, offset -padding/2; pixels
 * outside the image are ignored. */
void nn_maxpool_forward(const float *in, int c, int h, int w, int size, int stride,
                        int padding, float *out, int out_h, int out_w);

/* 1 if a [maxpool] can run row by row on 2x2 windows that each hold at
 * least one input pixel; then output row oy is the max of input rows
 * nn_maxpool_rows() gives, and nn_maxpool_band pools a few output rows
 * from the input rows held in `in`: channel ch's row y at
 * in + ch * in_stride + (y - first) * w. */
int nn_maxpool_by_rows(int h, int w, int size, int stride, int padding, int out_h, int out_w);
void nn_maxpool_rows(int h, int stride, int padding, int oy, int *top, int *bottom);
typedef struct nn_pool_band {
    const float *in;
    size_t in_stride;
    int first, c, h, w, stride, padding, out_h, out_w;
} nn_pool_band;
void nn_maxpool_band(const nn_pool_band *b, int oy0, int n, float *out);

/* Max pooling with a window of `size` (odd), stride 1 and `size - 1`
 * padding: the output is the input's size, each value the max over the
 * window centred on it, pixels outside ignored (SPPF). Separable: rows,
 * then columns. `work` holds nn_maxpool_same_work_size() floats. */
int nn_maxpool_same(int size, int stride, int padding);
size_t nn_maxpool_same_work_size(int h, int w, int size);
void nn_maxpool_same_forward(const float *in, int c, int h, int w, int size, float *out,
                             float *work);

/* out = a + b, n floats ([shortcut]). */
void nn_add(const float *a, const float *b, float *out, size_t n);

/* Nearest-neighbour upsampling of c planes h x w by `stride` ([upsample]). */
void nn_upsample_forward(const float *in, int c, int h, int w, int stride, float *out);

/* dst[j] = src[col0 + j * step] for j < n, zero where that falls outside
 * [0, w): one row of a zero-padded (and for step 2, de-interleaved) copy.
 * The bounds are worked out once so the copy is a plain loop the compiler
 * vectorizes; inline it where step is a constant. */
static inline __attribute__((always_inline)) void
nn_gather_row(const float *restrict src, int w, int col0, int step, float *restrict dst, int n)
{
    int lo = col0 < 0 ? (-col0 + step - 1) / step : 0;
    int hi = w - 1 - col0 >= 0 ? (w - 1 - col0) / step + 1 : 0;
    hi = hi < n ? hi : n;
    lo = lo < hi ? lo : hi;
    for (int j = 0; j < lo; j++)
        dst[j] = 0.0f;
    for (int j = lo; j < hi; j++)
        dst[j] = src[col0 + j * step];
    for (int j = hi; j < n; j++)
        dst[j] = 0.0f;
}

/* For tests and benchmarks. */
const anon_engine *nn_engine(void);
extern const anon_engine anon_engine_anon_lean;
/* Bytes of layer outputs and workspace allocated at load. */
size_t nn_arena_bytes(const anon_net *net);
/* Floating-point operations of one pass counted from the cfg (2 x the
 * multiply-adds of every convolution as written), so that every engine
 * running the same cfg is measured against the same count. */
double nn_flops(const anon_net *net);
/* 1 if layer i is a convolution the cfg marks `#anon: relu6`. */
int nn_layer_relu6(const anon_net *net, int i);
/* nn_flops of layer i alone; its kind ("conv", "route", ...). */
double nn_layer_flops(const anon_net *net, int i);
const char *nn_layer_kind(const anon_net *net, int i);
/* A forward pass that also gives each layer's thread CPU time in ms[i]
 * (layers fused into one step: the first gets the step's, the others 0). */
int nn_forward_profile(anon_net *net, const float *input, double *ms, anon_error *err);
/* 1 if layer i's 4x4 stride-2 kernel runs as its 3x3 original. */
int nn_layer_shrunk(const anon_net *net, int i);

#endif
