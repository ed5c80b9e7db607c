/* nn_depthwise.c - depthwise convolutions of the anon engine (see nn.h).
 *
 * One 2-D stencil per channel. Each channel is first copied into a zero
 * padded plane (for stride 2, split into its even and odd columns), so the
 * inner loops have no bounds checks and read contiguous memory, which lets
 * the compiler vectorize them; the bias and activation are applied as each
 * output row is written. Libdarknet runs these as per-channel GEMMs. */
#include <string.h>

#include "engine/nn.h"

typedef struct plane {
    int h, w;            /* padded size: the pixels the output can touch */
} plane;

static plane padded_size(const nn_conv *cv)
{
    return (plane){(cv->out_h - 1) * cv->stride + cv->size,
                   (cv->out_w - 1) * cv->stride + cv->size};
}

size_t nn_depthwise_work_size(const nn_conv *cv)
{
    plane p = padded_size(cv);
    size_t padded = (size_t)p.h * (size_t)(p.w + 2);
    return padded > (size_t)cv->w ? padded : (size_t)cv->w;
}

static inline __attribute__((always_inline)) float activate(float v, nn_activation act)
{
    switch (act) {
    case NN_LEAKY:
        return v > 0 ? v : .1f * v;
    case NN_RELU:
        return v > 0 ? v : 0.0f;
    case NN_RELU6:
        v = v > 0 ? v : 0.0f;
        return v < 6.0f ? v : 6.0f;
    default:
        return v;
    }
}

/* Fills `rows` x `n` of dst with the channel's padded rows row0,
 * row0 + 1, ..., at padded columns col0, col0 + step, ... (padding
 * top/left from cv). */
static inline __attribute__((always_inline)) void
pad_channel(const nn_conv *cv, const float *in, int row0, int rows, int col0, int step,
            float *dst, int n)
{
    for (int y = 0; y < rows; y++) {
        int iy = row0 + y - cv->pad_top;
        float *d = dst + (size_t)y * (size_t)n;
        if (iy < 0 || iy >= cv->h)
            memset(d, 0, (size_t)n * sizeof *d);
        else
            nn_gather_row(in + (size_t)iy * (size_t)cv->w, cv->w, col0 - cv->pad_left, step, d, n);
    }
}

/* One 3x3 tap sum at column x of rows r0..r2, pixels outside [0, w) zero. */
static inline float dw3_edge(const float *r0, const float *r1, const float *r2, int w, int ix,
                             const float *k)
{
    float v = 0;
    for (int kx = 0; kx < 3; kx++, ix++)
        if (ix >= 0 && ix < w)
            v += k[kx] * r0[ix] + k[3 + kx] * r1[ix] + k[6 + kx] * r2[ix];
    return v;
}

/* Stride 1 read in place, without the padded copy: rows above or below the
 * image are `zero`; the columns whose taps all fall inside the row take the
 * vectorized loop, the one or two at each end dw3_edge. Measured: faster
 * from about 100 pixels wide, slower on narrow planes, where the edges'
 * share grows. */
#define IN_PLACE_WIDTH 96

static inline __attribute__((always_inline)) void
dw3_s1(const nn_conv *cv, const float *in, const float *zero, const float *restrict k, float b,
       nn_activation act, float *restrict out, int y0, int y1)
{
    int w = cv->w, ow = cv->out_w, pl = cv->pad_left;
    int lo = pl < ow ? pl : ow, hi = w - 2 + pl < ow ? w - 2 + pl : ow;
    hi = hi > lo ? hi : lo;
    for (int oy = y0; oy < y1; oy++) {
        const float *r[3];
        for (int ky = 0; ky < 3; ky++) {
            int iy = oy - cv->pad_top + ky;
            r[ky] = iy >= 0 && iy < cv->h ? in + (size_t)iy * (size_t)w : zero;
        }
        float *o = out + (size_t)(oy - y0) * (size_t)ow;
        for (int x = 0; x < lo; x++)
            o[x] = activate(dw3_edge(r[0], r[1], r[2], w, x - pl, k) + b, act);
        for (int x = hi; x < ow; x++)
            o[x] = activate(dw3_edge(r[0], r[1], r[2], w, x - pl, k) + b, act);
        const float *restrict r0 = r[0] + (lo - pl), *restrict r1 = r[1] + (lo - pl),
                              *restrict r2 = r[2] + (lo - pl);
        float *restrict oo = o + lo;
        for (int x = 0; x < hi - lo; x++) {
            float v = k[0] * r0[x] + k[1] * r0[x + 1] + k[2] * r0[x + 2] +
                      k[3] * r1[x] + k[4] * r1[x + 1] + k[5] * r1[x + 2] +
                      k[6] * r2[x] + k[7] * r2[x + 1] + k[8] * r2[x + 2];
            oo[x] = activate(v + b, act);
        }
    }
}

/* Stride 1 on the padded plane: for narrow planes. */
static inline __attribute__((always_inline)) void
dw3_s1_padded(const float *restrict p, int pw, const float *restrict k, float b,
              nn_activation act, float *restrict out, int oh, int ow)
{
    for (int oy = 0; oy < oh; oy++) {
        const float *r0 = p + (size_t)oy * (size_t)pw, *r1 = r0 + pw, *r2 = r1 + pw;
        float *o = out + (size_t)oy * (size_t)ow;
        for (int x = 0; x < ow; x++) {
            float v = k[0] * r0[x] + k[1] * r0[x + 1] + k[2] * r0[x + 2] +
                      k[3] * r1[x] + k[4] * r1[x + 1] + k[5] * r1[x + 2] +
                      k[6] * r2[x] + k[7] * r2[x + 1] + k[8] * r2[x + 2];
            o[x] = activate(v + b, act);
        }
    }
}

/* Stride 2 on the even (e) and odd (od) columns of the padded plane:
 * padded columns 2x, 2x+1, 2x+2 are e[x], od[x], e[x+1]. */
static inline __attribute__((always_inline)) void
dw3_s2(const float *restrict e, const float *restrict od, int ew, int ow_odd,
       const float *restrict k, float b, nn_activation act, float *restrict out, int oh, int ow)
{
    for (int oy = 0; oy < oh; oy++) {
        const float *e0 = e + (size_t)(2 * oy) * (size_t)ew, *e1 = e0 + ew, *e2 = e1 + ew;
        const float *o0 = od + (size_t)(2 * oy) * (size_t)ow_odd, *o1 = o0 + ow_odd,
                    *o2 = o1 + ow_odd;
        float *o = out + (size_t)oy * (size_t)ow;
        for (int x = 0; x < ow; x++) {
            float v = k[0] * e0[x] + k[1] * o0[x] + k[2] * e0[x + 1] +
                      k[3] * e1[x] + k[4] * o1[x] + k[5] * e1[x + 1] +
                      k[6] * e2[x] + k[7] * o2[x] + k[8] * e2[x + 1];
            o[x] = activate(v + b, act);
        }
    }
}

/* Any size and stride, on the padded plane. */
static void dw_any(const nn_conv *cv, const float *p, int pw, const float *k, float b,
                   float *out, int oh)
{
    int s = cv->stride, n = cv->size;
    for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < cv->out_w; ox++) {
            float v = 0;
            for (int ky = 0; ky < n; ky++)
                for (int kx = 0; kx < n; kx++)
                    v += k[ky * n + kx] * p[(size_t)(oy * s + ky) * (size_t)pw + (size_t)(ox * s + kx)];
            out[(size_t)oy * (size_t)cv->out_w + (size_t)ox] = activate(v + b, cv->act);
        }
}

#define FOR_EACH_ACTIVATION(act, CALL)                                                      \
    switch (act) {                                                                           \
    case NN_LINEAR: CALL(NN_LINEAR); break;                                                  \
    case NN_LEAKY: CALL(NN_LEAKY); break;                                                    \
    case NN_RELU: CALL(NN_RELU); break;                                                      \
    case NN_RELU6: CALL(NN_RELU6); break;                                                    \
    case NN_SILU: CALL(NN_LINEAR); break;   /* applied after: nn_depthwise_rows */           \
    }

/* Output rows [y0, y1) of one channel into out (row y0 first); the padded
 * kernels pad only the input rows those take, from padded row y0 * stride. */
NN_VECTORIZED static void depthwise_channel(const nn_conv *cv, const float *in, const float *k,
                                            float b, float *out, float *work, int y0, int y1)
{
    plane p = padded_size(cv);
    int s = cv->stride, oh = y1 - y0, rows = (oh - 1) * s + cv->size;
    if (cv->size == 3 && cv->stride == 2) {
        int ew = (p.w + 1) / 2, odd_w = p.w / 2;
        float *e = work, *od = work + (size_t)rows * (size_t)ew;
        pad_channel(cv, in, y0 * s, rows, 0, 2, e, ew);
        pad_channel(cv, in, y0 * s, rows, 1, 2, od, odd_w);
#define S2(a) dw3_s2(e, od, ew, odd_w, k, b, a, out, oh, cv->out_w)
        FOR_EACH_ACTIVATION(cv->act, S2)
#undef S2
        return;
    }
    if (cv->size == 3 && cv->stride == 1 && cv->w >= IN_PLACE_WIDTH) {
        float *zero = work;   /* a zero row of w floats */
        memset(zero, 0, (size_t)cv->w * sizeof *zero);
#define IN_PLACE(a) dw3_s1(cv, in, zero, k, b, a, out, y0, y1)
        FOR_EACH_ACTIVATION(cv->act, IN_PLACE)
#undef IN_PLACE
        return;
    }
    pad_channel(cv, in, y0 * s, rows, 0, 1, work, p.w);
    if (cv->size == 3 && cv->stride == 1) {
#define S1(a) dw3_s1_padded(work, p.w, k, b, a, out, oh, cv->out_w)
        FOR_EACH_ACTIVATION(cv->act, S1)
#undef S1
        return;
    }
    dw_any(cv, work, p.w, k, b, out, oh);
}

void nn_depthwise_rows(const nn_conv *cv, const float *in, int y0, int y1, float *out,
                       size_t out_stride, float *work)
{
    size_t in_plane = (size_t)cv->h * (size_t)cv->w;
    size_t taps = (size_t)cv->size * (size_t)cv->size;
    for (int ch = 0; ch < cv->c; ch++) {
        float *o = out + (size_t)ch * out_stride;
        depthwise_channel(cv, in + (size_t)ch * in_plane, cv->weights + (size_t)ch * taps,
                          cv->biases[ch], o, work, y0, y1);
        if (cv->act == NN_SILU)
            nn_silu(o, (size_t)(y1 - y0) * (size_t)cv->out_w);
    }
}

void nn_depthwise_forward(const nn_conv *cv, const float *in, float *out, float *work)
{
    nn_depthwise_rows(cv, in, 0, cv->out_h, out, (size_t)cv->out_h * (size_t)cv->out_w, work);
}
