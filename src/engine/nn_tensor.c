/* nn_tensor.c - the anon engine's layers without weights that combine or
 * enlarge tensors (see nn.h): [shortcut] adds two layers' outputs,
 * [upsample] repeats each pixel stride x stride times. ([route] is a copy:
 * nn_run.c.) Plain loops the compiler vectorizes. */
#include "engine/nn.h"

NN_VECTORIZED void nn_add(const float *restrict a, const float *restrict b,
                          float *restrict out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

/* One input row repeated `stride` times across and down. */
static inline __attribute__((always_inline)) void
upsample_row(const float *restrict in, int w, int stride, float *restrict out)
{
    size_t ow = (size_t)w * (size_t)stride;
    for (int x = 0; x < w; x++)
        for (int k = 0; k < stride; k++)
            out[(size_t)x * (size_t)stride + (size_t)k] = in[x];
    for (int k = 1; k < stride; k++)
        for (size_t x = 0; x < ow; x++)
            out[(size_t)k * ow + x] = out[x];
}

NN_VECTORIZED void nn_upsample_forward(const float *in, int c, int h, int w, int stride,
                                       float *out)
{
    size_t ow = (size_t)w * (size_t)stride;
    for (size_t row = 0; row < (size_t)c * (size_t)h; row++) {
        float *o = out + row * ow * (size_t)stride;
        if (stride == 2)
            upsample_row(in + row * (size_t)w, w, 2, o);
        else
            upsample_row(in + row * (size_t)w, w, stride, o);
    }
}
