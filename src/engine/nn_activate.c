/* nn_activate.c - bias and activation epilogue shared by the anon engine's
 * GEMM-based convolutions (see nn.h). One pass per output row, vectorized. */
#include "engine/nn.h"

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
    }
}

NN_VECTORIZED void nn_bias_activate(float *out, int channels, size_t n, size_t stride,
                      const float *biases, nn_activation act)
{
    for (int ch = 0; ch < channels; ch++)
        bias_act_row(out + (size_t)ch * stride, n, biases[ch], act);
}
