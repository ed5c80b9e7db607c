/* nn_activate.c - bias and activation epilogue shared by the anon engine's
 * GEMM-based convolutions (see nn.h). One pass per output row, vectorized;
 * silu in explicit 16-float vectors (NN_SILU_VEC), the row's tail through a
 * padded copy so that every value takes the same arithmetic. */
#include <stdint.h>
#include <string.h>

#include "engine/nn.h"

typedef float f32x16 __attribute__((vector_size(64)));
typedef int32_t i32x16 __attribute__((vector_size(64)));

/* p[0..n) = silu(p[i] + b) */
static inline __attribute__((always_inline)) void silu_row(float *restrict p, size_t n, float b)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        f32x16 v;
        memcpy(&v, p + i, sizeof v);
        v += b;
        NN_SILU_VEC(f32x16, i32x16, v);
        memcpy(p + i, &v, sizeof v);
    }
    if (i < n) {
        float tail[16] = {0};
        f32x16 v;
        memcpy(tail, p + i, (n - i) * sizeof *p);
        memcpy(&v, tail, sizeof v);
        v += b;
        NN_SILU_VEC(f32x16, i32x16, v);
        memcpy(tail, &v, sizeof v);
        memcpy(p + i, tail, (n - i) * sizeof *p);
    }
}

static inline __attribute__((always_inline)) void
bias_act_row(float *restrict p, size_t n, float b, nn_activation act)
{
    switch (act) {
    case NN_LINEAR:
        for (size_t i = 0; i < n; i++)
            p[i] += b;
        break;
    case NN_LEAKY:
        for (size_t i = 0; i < n; i++) {
            float v = p[i] + b;
            p[i] = v > 0 ? v : .1f * v;
        }
        break;
    case NN_RELU:
        for (size_t i = 0; i < n; i++) {
            float v = p[i] + b;
            p[i] = v > 0 ? v : 0.0f;
        }
        break;
    case NN_RELU6:
        for (size_t i = 0; i < n; i++) {
            float v = p[i] + b;
            v = v > 0 ? v : 0.0f;
            p[i] = v < 6.0f ? v : 6.0f;
        }
        break;
    case NN_SILU:
        silu_row(p, n, b);
        break;
    }
}

NN_VECTORIZED void nn_bias_activate(float *out, int channels, size_t n, size_t stride,
                      const float *biases, nn_activation act)
{
    for (int ch = 0; ch < channels; ch++)
        bias_act_row(out + (size_t)ch * stride, n, biases[ch], act);
}

NN_VECTORIZED void nn_silu(float *p, size_t n)
{
    silu_row(p, n, 0.0f);
}
