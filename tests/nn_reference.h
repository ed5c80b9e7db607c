/* nn_reference.h - test helper: a straightforward Darknet interpreter for
 * the layers libdarknet cannot check for us (SiLU, [shortcut], [maxpool]
 * size=5 stride=1 padding=4 as YOLOv8 uses them, [upsample], routes of
 * several layers), written apart from the engine: its own cfg reader, the
 * textbook loops, double precision, no tricks. It also writes the random
 * weights file both sides load, and runs at any input size.
 *
 * Only what the test networks use: [convolutional] (filters, size, stride,
 * pad, groups, activation linear | leaky | relu | silu), [route] layers=,
 * [shortcut] from=, [maxpool] size stride padding, [upsample] stride. */
#ifndef ANON_TEST_NN_REFERENCE_H
#define ANON_TEST_NN_REFERENCE_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REF_MAX_LAYERS 64

typedef struct ref_layer {
    char kind;              /* c conv, r route, s shortcut, m maxpool, u upsample */
    int filters, size, stride, pad, padding, groups;
    char act[8];
    int inputs[8], n_inputs;
    int c, h, w, oc, oh, ow;
    float *bias, *weights;  /* conv: [oc], [oc][c / groups][size][size] */
    double *out;
} ref_layer;

typedef struct ref_net {
    int c, h, w, n;
    ref_layer l[REF_MAX_LAYERS];
} ref_net;

/* An index as Darknet reads it: negative ones count back from layer i. */
static inline int ref_index(int v, int i)
{
    return v < 0 ? i + v : v;
}

static inline void ref_option(ref_net *net, const char *key, const char *v)
{
    ref_layer *l = net->n > 0 ? &net->l[net->n - 1] : NULL;
    int x = atoi(v);
    if (!l) {
        if (strcmp(key, "width") == 0) net->w = x;
        if (strcmp(key, "height") == 0) net->h = x;
        if (strcmp(key, "channels") == 0) net->c = x;
    } else if (strcmp(key, "filters") == 0) l->filters = x;
    else if (strcmp(key, "size") == 0) l->size = x;
    else if (strcmp(key, "stride") == 0) l->stride = x;
    else if (strcmp(key, "pad") == 0) l->pad = x;
    else if (strcmp(key, "padding") == 0) l->padding = x;
    else if (strcmp(key, "groups") == 0) l->groups = x;
    else if (strcmp(key, "activation") == 0) snprintf(l->act, sizeof l->act, "%s", v);
    else if (strcmp(key, "from") == 0) l->inputs[l->n_inputs++] = ref_index(x, net->n - 1);
    else if (strcmp(key, "layers") == 0)
        for (const char *p = v; *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : p + strlen(p))
            l->inputs[l->n_inputs++] = ref_index(atoi(p), net->n - 1);
}

/* Reads cfg text (one option per line, no blanks inside). */
static inline void ref_parse(ref_net *net, const char *cfg)
{
    memset(net, 0, sizeof *net);
    char line[256];
    for (const char *p = cfg; *p;) {
        size_t len = strcspn(p, "\n");
        snprintf(line, sizeof line, "%.*s", (int)len, p);
        p += len + (p[len] == '\n');
        char *eq = strchr(line, '=');
        if (line[0] == '[' && strcmp(line, "[net]") != 0) {
            ref_layer *l = &net->l[net->n++];
            l->kind = line[1] == 'c' ? 'c' : line[1] == 'r' ? 'r' : line[1] == 's' ? 's'
                    : line[1] == 'm' ? 'm' : 'u';
            l->size = 1;
            l->groups = 1;
            l->stride = l->kind == 'u' ? 2 : 1;
            snprintf(l->act, sizeof l->act, "linear");
        } else if (eq) {
            *eq = '\0';
            ref_option(net, line, eq + 1);
        }
    }
}

/* Shapes for a w x h input. */
static inline void ref_shapes(ref_net *net, int w, int h)
{
    int c = net->c;
    for (int i = 0; i < net->n; i++) {
        ref_layer *l = &net->l[i];
        l->c = c;
        l->h = h;
        l->w = w;
        int p = l->pad ? l->size / 2 : 0;
        switch (l->kind) {
        case 'c':
            l->oc = l->filters;
            l->oh = (h + 2 * p - l->size) / l->stride + 1;
            l->ow = (w + 2 * p - l->size) / l->stride + 1;
            break;
        case 'r':
            l->oc = 0;
            for (int k = 0; k < l->n_inputs; k++)
                l->oc += net->l[l->inputs[k]].oc;
            l->oh = net->l[l->inputs[0]].oh;
            l->ow = net->l[l->inputs[0]].ow;
            break;
        case 'm':
            l->oc = c;
            l->oh = (h + l->padding - l->size) / l->stride + 1;
            l->ow = (w + l->padding - l->size) / l->stride + 1;
            break;
        case 'u':
            l->oc = c;
            l->oh = h * l->stride;
            l->ow = w * l->stride;
            break;
        default:
            l->oc = c;
            l->oh = h;
            l->ow = w;
        }
        c = l->oc;
        h = l->oh;
        w = l->ow;
    }
}

/* Random weights for every convolution (rand() seeded by the caller's
 * seed, each uniform within +-2 / sqrt(fan-in), biases within +-0.3),
 * kept in net and written to path in Darknet's format. */
static inline int ref_write_weights(ref_net *net, const char *path, unsigned seed)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int32_t head[3] = {0, 2, 0};
    uint64_t seen = 0;
    fwrite(head, sizeof head[0], 3, f);
    fwrite(&seen, sizeof seen, 1, f);
    srand(seed);
    for (int i = 0; i < net->n; i++) {
        ref_layer *l = &net->l[i];
        if (l->kind != 'c')
            continue;
        size_t per = (size_t)(l->c / l->groups) * (size_t)l->size * (size_t)l->size;
        float a = 2.0f / sqrtf((float)per);
        l->bias = malloc((size_t)l->filters * sizeof *l->bias);
        l->weights = malloc((size_t)l->filters * per * sizeof *l->weights);
        for (int o = 0; o < l->filters; o++)
            l->bias[o] = 0.6f * (float)rand() / (float)RAND_MAX - 0.3f;
        for (size_t k = 0; k < (size_t)l->filters * per; k++)
            l->weights[k] = a * (2.0f * (float)rand() / (float)RAND_MAX - 1.0f);
        fwrite(l->bias, sizeof *l->bias, (size_t)l->filters, f);
        fwrite(l->weights, sizeof *l->weights, (size_t)l->filters * per, f);
    }
    return fclose(f);
}

static inline double ref_activate(const char *act, double v)
{
    if (strcmp(act, "silu") == 0)
        return v / (1 + exp(-v));
    if (strcmp(act, "leaky") == 0)
        return v > 0 ? v : 0.1 * v;
    if (strcmp(act, "relu") == 0)
        return v > 0 ? v : 0;
    return v;
}

static inline void ref_conv(const ref_layer *l, const double *in, double *out)
{
    int p = l->pad ? l->size / 2 : 0, k = l->size, cg = l->c / l->groups;
    for (int o = 0; o < l->oc; o++)
        for (int y = 0; y < l->oh; y++)
            for (int x = 0; x < l->ow; x++) {
                double v = l->bias[o];
                int ic0 = o / (l->oc / l->groups) * cg;   /* the group's first input */
                for (int ic = 0; ic < cg; ic++)
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            int iy = y * l->stride + ky - p, ix = x * l->stride + kx - p;
                            if (iy >= 0 && iy < l->h && ix >= 0 && ix < l->w)
                                v += l->weights[(((size_t)o * cg + ic) * k + ky) * k + kx] *
                                     in[((size_t)(ic0 + ic) * l->h + iy) * l->w + ix];
                        }
                out[((size_t)o * l->oh + y) * l->ow + x] = ref_activate(l->act, v);
            }
}

static inline void ref_maxpool(const ref_layer *l, const double *in, double *out)
{
    int off = -l->padding / 2;
    for (int c = 0; c < l->c; c++)
        for (int y = 0; y < l->oh; y++)
            for (int x = 0; x < l->ow; x++) {
                double m = -INFINITY;
                for (int ky = 0; ky < l->size; ky++)
                    for (int kx = 0; kx < l->size; kx++) {
                        int iy = y * l->stride + off + ky, ix = x * l->stride + off + kx;
                        if (iy >= 0 && iy < l->h && ix >= 0 && ix < l->w)
                            m = fmax(m, in[((size_t)c * l->h + iy) * l->w + ix]);
                    }
                out[((size_t)c * l->oh + y) * l->ow + x] = m;
            }
}

/* Every layer's output for input (CHW floats of the shaped size). */
static inline void ref_forward(ref_net *net, const float *input)
{
    size_t n_in = (size_t)net->c * net->l[0].h * net->l[0].w;
    double *in0 = malloc(n_in * sizeof *in0);
    for (size_t i = 0; i < n_in; i++)
        in0[i] = input[i];
    for (int i = 0; i < net->n; i++) {
        ref_layer *l = &net->l[i];
        size_t n = (size_t)l->oc * l->oh * l->ow, plane = (size_t)l->h * l->w;
        const double *in = i == 0 ? in0 : net->l[i - 1].out;
        free(l->out);
        l->out = malloc(n * sizeof *l->out);
        if (l->kind == 'c') {
            ref_conv(l, in, l->out);
        } else if (l->kind == 'm') {
            ref_maxpool(l, in, l->out);
        } else if (l->kind == 's') {
            for (size_t k = 0; k < n; k++)
                l->out[k] = in[k] + net->l[l->inputs[0]].out[k];
        } else if (l->kind == 'u') {
            for (int c = 0; c < l->c; c++)
                for (int y = 0; y < l->oh; y++)
                    for (int x = 0; x < l->ow; x++)
                        l->out[((size_t)c * l->oh + y) * l->ow + x] =
                            in[(size_t)c * plane + (size_t)(y / l->stride) * l->w + x / l->stride];
        } else {
            double *d = l->out;
            for (int k = 0; k < l->n_inputs; k++) {
                const ref_layer *src = &net->l[l->inputs[k]];
                size_t m = (size_t)src->oc * src->oh * src->ow;
                memcpy(d, src->out, m * sizeof *d);
                d += m;
            }
        }
    }
    free(in0);
}

static inline void ref_free(ref_net *net)
{
    for (int i = 0; i < net->n; i++) {
        free(net->l[i].bias);
        free(net->l[i].weights);
        free(net->l[i].out);
    }
}

#endif
