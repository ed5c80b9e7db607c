/* nn_conv.c - dense and grouped convolutions of the anon engine (see nn.h).
 *
 * On CHW tensors a 1x1 stride-1 convolution is one GEMM on the input as it
 * is: out[O][HW] = W[O][C] x in[C][HW] (OpenBLAS cblas_sgemm). Other kernels
 * are unrolled by im2col in bands of output rows small enough to stay in
 * cache, and each band gets its bias and activation while it is still hot. */
#include <cblas.h>
#include <string.h>

#include "engine/nn.h"

#define BAND_FLOATS (1 << 17)   /* im2col band: 512 KB, about half of L2 */

static int is_pointwise(const nn_conv *cv)
{
    return cv->size == 1 && cv->stride == 1 && cv->pad_top == 0 && cv->pad_left == 0 &&
           cv->out_h == cv->h && cv->out_w == cv->w;
}

static size_t unrolled_rows(const nn_conv *cv)
{
    return (size_t)(cv->c / cv->groups) * (size_t)cv->size * (size_t)cv->size;
}

static int rows_per_band(const nn_conv *cv)
{
    size_t per_row = unrolled_rows(cv) * (size_t)cv->out_w;
    size_t rows = BAND_FLOATS / per_row;
    if (rows < 1)
        rows = 1;
    return rows > (size_t)cv->out_h ? cv->out_h : (int)rows;
}

size_t nn_conv_work_size(const nn_conv *cv)
{
    if (is_pointwise(cv))
        return 0;
    return unrolled_rows(cv) * (size_t)rows_per_band(cv) * (size_t)cv->out_w;
}

/* Copies one input row into an unrolled row: dst[ox] = src[ox * stride + dx]
 * with pixels outside [0, w) reading as zero. */
static void unroll_row(const float *src, int w, int stride, int dx, float *dst, int ow)
{
    if (stride == 1) {
        int lo = dx < 0 ? -dx : 0, hi = w - dx < ow ? w - dx : ow;
        if (hi < lo)
            hi = lo;
        if (lo > ow)
            lo = hi = ow;
        memset(dst, 0, (size_t)lo * sizeof *dst);
        memcpy(dst + lo, src + lo + dx, (size_t)(hi - lo) * sizeof *dst);
        memset(dst + hi, 0, (size_t)(ow - hi) * sizeof *dst);
        return;
    }
    for (int ox = 0; ox < ow; ox++) {
        int ix = ox * stride + dx;
        dst[ox] = ix >= 0 && ix < w ? src[ix] : 0.0f;
    }
}

/* im2col of output rows [y0, y0 + rows) for `c` input channels: row
 * (ch, ky, kx) of `col` holds the pixels that tap multiplies. */
static void im2col_band(const nn_conv *cv, const float *in, int c, int y0, int rows, float *col)
{
    int k = cv->size, ow = cv->out_w;
    size_t n = (size_t)rows * (size_t)ow;
    for (int ch = 0; ch < c; ch++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                float *dst = col + ((size_t)(ch * k + ky) * (size_t)k + (size_t)kx) * n;
                for (int r = 0; r < rows; r++) {
                    int iy = (y0 + r) * cv->stride + ky - cv->pad_top;
                    float *d = dst + (size_t)r * (size_t)ow;
                    if (iy < 0 || iy >= cv->h) {
                        memset(d, 0, (size_t)ow * sizeof *d);
                        continue;
                    }
                    const float *src = in + ((size_t)ch * (size_t)cv->h + (size_t)iy) * (size_t)cv->w;
                    unroll_row(src, cv->w, cv->stride, kx - cv->pad_left, d, ow);
                }
            }
}

static void pointwise_forward(const nn_conv *cv, const float *in, float *out)
{
    int g = cv->groups, cg = cv->c / g, og = cv->out_c / g;
    int n = cv->out_h * cv->out_w;
    for (int j = 0; j < g; j++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, og, n, cg, 1.0f,
                    cv->weights + (size_t)j * (size_t)og * (size_t)cg, cg,
                    in + (size_t)j * (size_t)cg * (size_t)n, n, 0.0f,
                    out + (size_t)j * (size_t)og * (size_t)n, n);
    nn_bias_activate(out, cv->out_c, (size_t)n, (size_t)n, cv->biases, cv->act);
}

void nn_conv_forward(const nn_conv *cv, const float *in, float *out, float *work)
{
    if (is_pointwise(cv)) {
        pointwise_forward(cv, in, out);
        return;
    }
    int g = cv->groups, cg = cv->c / g, og = cv->out_c / g;
    int k = (int)unrolled_rows(cv), ow = cv->out_w, band = rows_per_band(cv);
    size_t n = (size_t)cv->out_h * (size_t)ow, plane = (size_t)cv->h * (size_t)cv->w;
    for (int y0 = 0; y0 < cv->out_h; y0 += band) {
        int rows = cv->out_h - y0 < band ? cv->out_h - y0 : band;
        int cols = rows * ow;
        float *dst = out + (size_t)y0 * (size_t)ow;
        for (int j = 0; j < g; j++) {
            im2col_band(cv, in + (size_t)j * (size_t)cg * plane, cg, y0, rows, work);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, og, cols, k, 1.0f,
                        cv->weights + (size_t)j * (size_t)og * (size_t)k, k, work, cols, 0.0f,
                        dst + (size_t)j * (size_t)og * n, (int)n);
        }
        nn_bias_activate(dst, cv->out_c, (size_t)cols, n, cv->biases, cv->act);
    }
}
