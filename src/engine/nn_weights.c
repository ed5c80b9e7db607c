/* nn_weights.c - the anon engine's weight loader: a Darknet .weights file
 * into the convolutions of a parsed and shaped network (see nn_net.h).
 *
 * Batch norm is folded into each kernel and bias. A 4x4 stride-2 kernel
 * with `padding=1` whose first row and column are zero is TF 'same'
 * padding of a 3x3 kernel (scripts/convert-model's spelling): it runs as
 * that 3x3 kernel. Data after the last layer's weights (the SSD priors) is
 * ignored. Each convolution gets its kernel here: depthwise stencils
 * (nn_depthwise.c), register-blocked direct sums for layers with at most
 * 128 taps per output (nn_direct.c: the RGB input layer, 1x1 layers over
 * up to 128 channels), OpenBLAS GEMMs for the rest (nn_conv.c). */
#include "engine/nn_net.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_floats(FILE *f, float *dst, size_t n)
{
    return fread(dst, sizeof *dst, n, f) == n ? 0 : -1;
}

static int read_header(FILE *f, const char *path, anon_error *err)
{
    int32_t v[3];
    if (fread(v, sizeof v[0], 3, f) != 3)
        return anon_fail(err, "%s: too short for a Darknet weights header", path);
    /* Darknet's test (a 64-bit `seen` since version 0.2), in 64 bits: a
     * damaged header must not overflow it. */
    size_t seen_size = ((long long)v[0] * 10 + v[1] >= 2 && v[0] < 1000 && v[1] < 1000) ? 8 : 4;
    unsigned char seen[8];
    if (fread(seen, 1, seen_size, f) != seen_size)
        return anon_fail(err, "%s: too short for a Darknet weights header", path);
    return 0;
}

/* Darknet's batch norm at inference, scale * (x - mean) / (sqrt(var) + 1e-6)
 * + bias, folded into the kernel and the bias. bn holds scales, rolling
 * means and rolling variances, one per filter. */
static void fold_batch_norm(nn_layer *l, const float *bn, size_t per_filter)
{
    size_t n = (size_t)l->filters;
    const float *scales = bn, *mean = bn + n, *var = bn + 2 * n;
    for (size_t o = 0; o < n; o++) {
        float k = scales[o] / (sqrtf(var[o]) + .000001f);
        l->biases[o] -= mean[o] * k;
        for (size_t i = 0; i < per_filter; i++)
            l->weights[o * per_filter + i] *= k;
    }
}

/* The converter's spelling of a TF 'same' stride-2 3x3 kernel: 4x4, stride 2,
 * padding=1, first row and column zero. */
static int is_padded_3x3(const nn_layer *l, const float *wts, size_t kernels)
{
    if (l->size != 4 || l->stride != 2 || l->padding != 1)
        return 0;
    for (size_t k = 0; k < kernels; k++) {
        const float *p = wts + k * 16;
        for (int i = 0; i < 4; i++)
            if (p[i] != 0.0f || p[4 * i] != 0.0f)
                return 0;
    }
    return 1;
}

static void shrink_to_3x3(float *wts, size_t kernels)
{
    for (size_t k = 0; k < kernels; k++)
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 3; x++)
                wts[k * 9 + (size_t)(y * 3 + x)] = wts[k * 16 + (size_t)((y + 1) * 4 + x + 1)];
}

/* Replaces the layer's weights with n floats that pack() makes of them. */
static int repack(nn_layer *l, size_t n, void (*pack)(const nn_conv *, const float *, float *))
{
    float *w = calloc(n, sizeof *w);
    if (w == NULL)
        return -1;
    pack(&l->exec, l->weights, w);
    free(l->weights);
    l->weights = w;
    l->exec.weights = w;
    return 0;
}

/* The direct kernel's weights: filters padded with zeros to a multiple of 8. */
static void pad_filters(const nn_conv *e, const float *weights, float *padded)
{
    size_t taps = (size_t)e->c * (size_t)e->size * (size_t)e->size;
    memcpy(padded, weights, (size_t)e->out_c * taps * sizeof *padded);
}

/* Depthwise layers run as direct stencils, layers with few taps per output
 * as direct register-blocked sums (their filters padded to a multiple of 8);
 * dense SiLU layers with more taps (YOLOv8's) as blocked direct sums
 * (nn_blocked.c), the rest as GEMMs. The ReLU-family layers of the face-api
 * models stay on the GEMMs they were measured and pinned with: their
 * outputs are kept bit for bit (the blocked kernel sums in another order). */
static int choose_kernel(nn_layer *l)
{
    nn_conv *e = &l->exec;
    if (l->groups == l->c && l->filters == l->c) {
        l->kernel = NN_DEPTHWISE;
        return 0;
    }
    if (e->act == NN_SILU && nn_blocked_suits(e)) {
        l->kernel = NN_BLOCKED;
        return repack(l, nn_blocked_pack_size(e), nn_blocked_pack);
    }
    if (nn_direct_suits(e)) {
        size_t taps = (size_t)e->c * (size_t)e->size * (size_t)e->size;
        l->kernel = NN_DIRECT;
        return repack(l, ((size_t)e->out_c + 7) / 8 * 8 * taps, pad_filters);
    }
    l->kernel = NN_GEMM;
    return 0;
}

static int load_conv(nn_layer *l, FILE *f)
{
    size_t n = (size_t)l->filters;
    size_t kernels = n * (size_t)(l->c / l->groups);
    size_t per_filter = kernels / n * (size_t)l->size * (size_t)l->size;
    l->biases = malloc(n * sizeof *l->biases);
    l->weights = malloc(n * per_filter * sizeof *l->weights);
    if (l->biases == NULL || l->weights == NULL || read_floats(f, l->biases, n) < 0)
        return -1;
    float *bn = NULL;
    if (l->batch_normalize && ((bn = malloc(3 * n * sizeof *bn)) == NULL ||
                               read_floats(f, bn, 3 * n) < 0)) {
        free(bn);
        return -1;
    }
    if (read_floats(f, l->weights, n * per_filter) < 0) {
        free(bn);
        return -1;
    }
    if (bn) {
        fold_batch_norm(l, bn, per_filter);
        free(bn);
    }
    nn_conv *e = &l->exec;
    *e = (nn_conv){
        .c = l->c, .h = l->h, .w = l->w,
        .out_c = l->out_c, .out_h = l->out_h, .out_w = l->out_w,
        .size = l->size, .stride = l->stride,
        .pad_top = l->padding, .pad_left = l->padding,
        .groups = l->groups, .act = l->act,
        .weights = l->weights, .biases = l->biases,
    };
    if (is_padded_3x3(l, l->weights, kernels)) {
        shrink_to_3x3(l->weights, kernels);
        e->size = 3;
        e->pad_top = e->pad_left = 0;
        l->shrunk = 1;
    }
    return choose_kernel(l);
}

int nn_weights_load(anon_net *net, const char *path, anon_error *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return anon_fail(err, "%s: %s", path, strerror(errno));
    int rc = read_header(f, path, err);
    for (int i = 0; rc == 0 && i < net->n; i++) {
        nn_layer *l = &net->layers[i];
        if (l->kind == NN_CONVOLUTIONAL && load_conv(l, f) < 0)
            rc = anon_fail(err, "%s: ends before the weights of layer %d (cfg line %d)%s", path,
                           i, l->line, ferror(f) ? " (read error)" : "");
    }
    fclose(f);
    return rc;
}
