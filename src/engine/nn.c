/* nn.c - the "anon" engine: reads a Darknet .cfg + .weights pair, plans the
 * network once (shapes, kernels, buffers) and runs it (see engine.h, nn.h).
 *
 * Only the layer subset of the converted face models is accepted; anything
 * else is an error naming the cfg line, never a silent guess. Conventions of
 * scripts/convert-model that libdarknet cannot express are honoured here:
 *   - `#anon: relu6` inside a [convolutional] with activation=relu clamps
 *     the output at 6 (libdarknet skips the comment);
 *   - a 4x4 stride-2 kernel with `padding=1` whose first row and column are
 *     zero is TF 'same' padding of a 3x3 kernel: it runs as that 3x3 kernel;
 *   - data after the last layer's weights (the SSD priors) is ignored.
 * Each convolution gets its kernel at load time: depthwise stencils
 * (nn_depthwise.c), register-blocked direct sums for layers with at most 128
 * taps per output (nn_direct.c: the RGB input layer, 1x1 layers over up to
 * 128 channels), OpenBLAS GEMMs for the rest (nn_conv.c). All layer outputs
 * live in one arena allocated at load time, so layer_output is valid for
 * every layer after a forward pass; a [route] of one layer aliases its
 * source. The "anon-lean" variant reuses a buffer once its last reader has
 * run and keeps only the network's outputs (a third of the memory); it also
 * runs a direct convolution with the 2x2 pool after it and the depthwise
 * convolution before it as one step, a few rows at a time
 * (nn_direct_forward_fused), so their full-size outputs are never stored. */
#include "engine/nn.h"

#include <cblas.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void openblas_set_num_threads(int num_threads);   /* OpenBLAS, not in every cblas.h */

#define NN_MAX_ROUTE 8
#define NN_ALIGN 64

typedef enum nn_kind { NN_CONVOLUTIONAL, NN_MAXPOOL, NN_ROUTE } nn_kind;

/* How a convolution runs: see nn_conv.c, nn_direct.c, nn_depthwise.c. */
typedef enum nn_kernel { NN_GEMM, NN_DIRECT, NN_DEPTHWISE } nn_kernel;

typedef struct nn_layer {
    nn_kind kind;
    int line;                       /* cfg line of the section header */
    int c, h, w, out_c, out_h, out_w;
    /* [convolutional] as written in the cfg */
    int filters, size, stride, pad, padding, groups, batch_normalize;
    nn_activation act;
    int has_activation, relu6_line;
    /* [route] */
    int n_inputs, inputs[NN_MAX_ROUTE];
    /* plan */
    nn_conv exec;                   /* the convolution as executed */
    nn_kernel kernel;
    int shrunk;
    int pooled;                     /* lean: runs fused with the [maxpool] after it */
    int into_next;                  /* lean: depthwise, runs inside the 1x1 after it */
    float *weights, *biases;        /* owned */
    float *output;                  /* in the arena, or a route's source */
    int owner;                      /* the layer whose buffer holds the output */
    int last_read;                  /* last layer reading the owner's buffer */
} nn_layer;

struct anon_net {
    int c, h, w;
    int n;
    nn_layer *layers;
    float *arena;                   /* every layer output, then the workspace */
    size_t arena_floats;
    float *work;
    int lean;                       /* reuse buffers; keep only network outputs */
    const float *input;             /* during forward */
};

/* ------------------------------------------------------------ cfg parsing */

/* Darknet removes every blank from a line before reading it. */
static void strip_blanks(char *s)
{
    char *d = s;
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
            *d++ = *s;
    *d = '\0';
}

static int parse_int(const char *path, int line, const char *key, const char *v,
                     int min, int *out, anon_error *err)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < min || n > INT_MAX / 4)
        return anon_fail(err, "%s:%d: %s=%s: expected a whole number >= %d", path, line,
                         key, v, min);
    *out = (int)n;
    return 0;
}

static const char *section_name(nn_kind k)
{
    return k == NN_CONVOLUTIONAL ? "[convolutional]" : k == NN_MAXPOOL ? "[maxpool]" : "[route]";
}

static int parse_activation(const char *path, int line, const char *v, nn_activation *act,
                            anon_error *err)
{
    if (strcmp(v, "linear") == 0)
        *act = NN_LINEAR;
    else if (strcmp(v, "leaky") == 0)
        *act = NN_LEAKY;
    else if (strcmp(v, "relu") == 0)
        *act = NN_RELU;
    else
        return anon_fail(err, "%s:%d: activation '%s' is not supported (linear, leaky, relu)",
                         path, line, v);
    return 0;
}

/* layers=-1,5: absolute or relative (negative) indices of earlier layers. */
static int parse_route_layers(const char *path, int line, const char *v, nn_layer *l, int index,
                              anon_error *err)
{
    const char *p = v;
    l->n_inputs = 0;
    while (*p) {
        char *end;
        errno = 0;
        long k = strtol(p, &end, 10);
        if (errno != 0 || end == p || (*end != ',' && *end != '\0'))
            return anon_fail(err, "%s:%d: layers=%s: expected comma-separated layer indices",
                             path, line, v);
        if (k < 0)
            k += index;
        if (k < 0 || k >= index)
            return anon_fail(err, "%s:%d: layers=%s: layer %ld is not an earlier layer", path,
                             line, v, k);
        if (l->n_inputs == NN_MAX_ROUTE)
            return anon_fail(err, "%s:%d: a route joins at most %d layers", path, line,
                             NN_MAX_ROUTE);
        l->inputs[l->n_inputs++] = (int)k;
        p = *end == ',' ? end + 1 : end;
    }
    if (l->n_inputs == 0)
        return anon_fail(err, "%s:%d: layers= is empty", path, line);
    return 0;
}

/* [net] options that only matter for training: accepted and ignored. */
static int is_training_option(const char *key)
{
    static const char *const keys[] = {
        "batch", "subdivisions", "momentum", "decay", "learning_rate", "burn_in",
        "max_batches", "policy", "steps", "scales", "angle", "saturation", "exposure", "hue",
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(key, keys[i]) == 0)
            return 1;
    return 0;
}

static int net_option(anon_net *net, const char *path, int line, const char *key,
                      const char *v, anon_error *err)
{
    if (strcmp(key, "width") == 0)
        return parse_int(path, line, key, v, 1, &net->w, err);
    if (strcmp(key, "height") == 0)
        return parse_int(path, line, key, v, 1, &net->h, err);
    if (strcmp(key, "channels") == 0)
        return parse_int(path, line, key, v, 1, &net->c, err);
    if (is_training_option(key))
        return 0;
    return anon_fail(err, "%s:%d: unknown option '%s' in [net]", path, line, key);
}

static int layer_option(nn_layer *l, int index, const char *path, int line, const char *key,
                        const char *v, anon_error *err)
{
    if (l->kind == NN_CONVOLUTIONAL) {
        if (strcmp(key, "filters") == 0)
            return parse_int(path, line, key, v, 1, &l->filters, err);
        if (strcmp(key, "size") == 0)
            return parse_int(path, line, key, v, 1, &l->size, err);
        if (strcmp(key, "stride") == 0)
            return parse_int(path, line, key, v, 1, &l->stride, err);
        if (strcmp(key, "pad") == 0)
            return parse_int(path, line, key, v, 0, &l->pad, err);
        if (strcmp(key, "padding") == 0)
            return parse_int(path, line, key, v, 0, &l->padding, err);
        if (strcmp(key, "groups") == 0)
            return parse_int(path, line, key, v, 1, &l->groups, err);
        if (strcmp(key, "batch_normalize") == 0)
            return parse_int(path, line, key, v, 0, &l->batch_normalize, err);
        if (strcmp(key, "activation") == 0) {
            l->has_activation = 1;
            return parse_activation(path, line, v, &l->act, err);
        }
    } else if (l->kind == NN_MAXPOOL) {
        if (strcmp(key, "size") == 0)
            return parse_int(path, line, key, v, 1, &l->size, err);
        if (strcmp(key, "stride") == 0)
            return parse_int(path, line, key, v, 1, &l->stride, err);
        if (strcmp(key, "padding") == 0)
            return parse_int(path, line, key, v, 0, &l->padding, err);
    } else if (strcmp(key, "layers") == 0) {
        return parse_route_layers(path, line, v, l, index, err);
    }
    return anon_fail(err, "%s:%d: unknown option '%s' in %s", path, line, key,
                     section_name(l->kind));
}

/* Darknet's defaults, before the section's options are read. */
static void layer_defaults(nn_layer *l, nn_kind kind, int line)
{
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->line = line;
    l->size = -1;
    l->stride = 1;
    l->padding = -1;
    l->groups = 1;
    l->filters = 1;
}

static int start_section(anon_net *net, int *cap, const char *path, int line, const char *name,
                         anon_error *err)
{
    nn_kind kind;
    if (strcmp(name, "[net]") == 0 || strcmp(name, "[network]") == 0) {
        if (net->n > 0 || net->c >= 0)
            return anon_fail(err, "%s:%d: [net] must be the first section, once", path, line);
        net->c = net->h = net->w = 0;
        return 0;
    }
    if (strcmp(name, "[convolutional]") == 0 || strcmp(name, "[conv]") == 0)
        kind = NN_CONVOLUTIONAL;
    else if (strcmp(name, "[maxpool]") == 0 || strcmp(name, "[max]") == 0)
        kind = NN_MAXPOOL;
    else if (strcmp(name, "[route]") == 0)
        kind = NN_ROUTE;
    else
        return anon_fail(err, "%s:%d: layer type %s is not supported (convolutional, "
                         "maxpool, route)", path, line, name);
    if (net->c < 0)
        return anon_fail(err, "%s:%d: the cfg must start with [net]", path, line);
    if (net->n == *cap) {
        int ncap = *cap ? *cap * 2 : 32;
        nn_layer *nl = realloc(net->layers, (size_t)ncap * sizeof *nl);
        if (nl == NULL)
            return anon_fail(err, "out of memory");
        net->layers = nl;
        *cap = ncap;
    }
    layer_defaults(&net->layers[net->n++], kind, line);
    return 0;
}

/* The comment lines the converter writes for the engine: `#anon: relu6`. */
static int anon_comment(anon_net *net, const char *path, int line, const char *s,
                        anon_error *err)
{
    if (strncmp(s, "#anon:", 6) != 0)
        return 0;
    nn_layer *l = net->n > 0 ? &net->layers[net->n - 1] : NULL;
    if (strcmp(s + 6, "relu6") != 0)
        return anon_fail(err, "%s:%d: unknown engine directive '%s'", path, line, s);
    if (l == NULL || l->kind != NN_CONVOLUTIONAL)
        return anon_fail(err, "%s:%d: '#anon: relu6' outside a [convolutional] section", path,
                         line);
    l->relu6_line = line;
    return 0;
}

static int parse_line(anon_net *net, int *cap, const char *path, int line, char *s,
                      anon_error *err)
{
    strip_blanks(s);
    if (s[0] == '\0' || s[0] == ';')
        return 0;
    if (s[0] == '#')
        return anon_comment(net, path, line, s, err);
    if (s[0] == '[')
        return start_section(net, cap, path, line, s, err);
    char *eq = strchr(s, '=');
    if (eq == NULL || eq == s)
        return anon_fail(err, "%s:%d: expected key=value, got '%s'", path, line, s);
    *eq = '\0';
    if (net->c < 0)
        return anon_fail(err, "%s:%d: option '%s' before any section", path, line, s);
    if (net->n == 0)
        return net_option(net, path, line, s, eq + 1, err);
    return layer_option(&net->layers[net->n - 1], net->n - 1, path, line, s, eq + 1, err);
}

static int parse_cfg(anon_net *net, const char *path, anon_error *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return anon_fail(err, "%s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t bufcap = 0;
    int cap = 0, line = 0, rc = 0;
    net->c = -1;                     /* no [net] yet */
    while (rc == 0 && getline(&buf, &bufcap, f) != -1)
        rc = parse_line(net, &cap, path, ++line, buf, err);
    if (rc == 0 && ferror(f))
        rc = anon_fail(err, "%s: read error", path);
    free(buf);
    fclose(f);
    if (rc < 0)
        return -1;
    if (net->c < 0)
        return anon_fail(err, "%s: no [net] section", path);
    if (net->c == 0 || net->h == 0 || net->w == 0)
        return anon_fail(err, "%s: [net] needs width, height and channels", path);
    if (net->n == 0)
        return anon_fail(err, "%s: no layers", path);
    return 0;
}

/* ------------------------------------------------------------ shapes */

static int conv_shape(nn_layer *l, const char *path, anon_error *err)
{
    if (l->size < 0)
        l->size = 1;
    if (l->padding < 0)
        l->padding = 0;
    if (l->pad)
        l->padding = l->size / 2;
    if (!l->has_activation)
        return anon_fail(err, "%s:%d: no activation= (darknet's default, logistic, is not "
                         "supported)", path, l->line);
    if (l->relu6_line) {
        if (l->act != NN_RELU)
            return anon_fail(err, "%s:%d: '#anon: relu6' needs activation=relu", path,
                             l->relu6_line);
        l->act = NN_RELU6;
    }
    if (l->c % l->groups != 0 || l->filters % l->groups != 0)
        return anon_fail(err, "%s:%d: groups=%d must divide the %d input channels and the %d "
                         "filters", path, l->line, l->groups, l->c, l->filters);
    /* libdarknet skips im2col for every 1x1 kernel, so it would compute
     * these wrongly: refuse them rather than disagree with the oracle. */
    if (l->size == 1 && (l->stride != 1 || l->padding != 0))
        return anon_fail(err, "%s:%d: a 1x1 kernel with stride %d and padding %d is not "
                         "supported (only stride 1, no padding)", path, l->line, l->stride,
                         l->padding);
    if (l->h + 2 * l->padding < l->size || l->w + 2 * l->padding < l->size)
        return anon_fail(err, "%s:%d: a %dx%d kernel does not fit the %dx%d input", path,
                         l->line, l->size, l->size, l->w, l->h);
    l->out_c = l->filters;
    l->out_h = (l->h + 2 * l->padding - l->size) / l->stride + 1;
    l->out_w = (l->w + 2 * l->padding - l->size) / l->stride + 1;
    return 0;
}

static int maxpool_shape(nn_layer *l, const char *path, anon_error *err)
{
    if (l->size < 0)
        l->size = l->stride;
    if (l->padding < 0)
        l->padding = l->size - 1;
    if (l->w + l->padding < l->size || l->h + l->padding < l->size)
        return anon_fail(err, "%s:%d: a %dx%d window does not fit the %dx%d input", path,
                         l->line, l->size, l->size, l->w, l->h);
    l->out_c = l->c;
    l->out_h = (l->h + l->padding - l->size) / l->stride + 1;
    l->out_w = (l->w + l->padding - l->size) / l->stride + 1;
    return 0;
}

static int route_shape(anon_net *net, nn_layer *l, const char *path, anon_error *err)
{
    if (l->n_inputs == 0)
        return anon_fail(err, "%s:%d: [route] needs layers=", path, l->line);
    const nn_layer *first = &net->layers[l->inputs[0]];
    l->out_h = first->out_h;
    l->out_w = first->out_w;
    l->out_c = 0;
    for (int k = 0; k < l->n_inputs; k++) {
        const nn_layer *src = &net->layers[l->inputs[k]];
        if (src->out_h != l->out_h || src->out_w != l->out_w)
            return anon_fail(err, "%s:%d: route joins layers %d (%dx%d) and %d (%dx%d) of "
                             "different sizes", path, l->line, l->inputs[0], l->out_w,
                             l->out_h, l->inputs[k], src->out_w, src->out_h);
        l->out_c += src->out_c;
    }
    return 0;
}

static int plan_shapes(anon_net *net, const char *path, anon_error *err)
{
    int c = net->c, h = net->h, w = net->w;
    for (int i = 0; i < net->n; i++) {
        nn_layer *l = &net->layers[i];
        l->c = c;
        l->h = h;
        l->w = w;
        int rc = l->kind == NN_CONVOLUTIONAL ? conv_shape(l, path, err)
               : l->kind == NN_MAXPOOL       ? maxpool_shape(l, path, err)
                                             : route_shape(net, l, path, err);
        if (rc < 0)
            return -1;
        /* the kernels index a plane with int; 2^28 floats is 1 GB anyway */
        if ((size_t)l->out_c * (size_t)l->out_h * (size_t)l->out_w > ((size_t)1 << 28) ||
            (size_t)l->c * (size_t)l->h * (size_t)l->w > ((size_t)1 << 28))
            return anon_fail(err, "%s:%d: layer %d is too large (%dx%dx%d)", path, l->line, i,
                             l->out_c, l->out_h, l->out_w);
        c = l->out_c;
        h = l->out_h;
        w = l->out_w;
    }
    return 0;
}

/* ------------------------------------------------------------ weights */

static int read_floats(FILE *f, float *dst, size_t n)
{
    return fread(dst, sizeof *dst, n, f) == n ? 0 : -1;
}

static int read_header(FILE *f, const char *path, anon_error *err)
{
    int32_t v[3];
    if (fread(v, sizeof v[0], 3, f) != 3)
        return anon_fail(err, "%s: too short for a Darknet weights header", path);
    size_t seen_size = (v[0] * 10 + v[1] >= 2 && v[0] < 1000 && v[1] < 1000) ? 8 : 4;
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

/* Depthwise layers run as direct stencils, layers with few taps per output
 * as direct register-blocked sums (their filters padded to a multiple of 8),
 * the rest as GEMMs. */
static int choose_kernel(nn_layer *l)
{
    nn_conv *e = &l->exec;
    if (l->groups == l->c && l->filters == l->c) {
        l->kernel = NN_DEPTHWISE;
        return 0;
    }
    if (!nn_direct_suits(e)) {
        l->kernel = NN_GEMM;
        return 0;
    }
    size_t taps = (size_t)e->c * (size_t)e->size * (size_t)e->size;
    size_t padded = ((size_t)e->out_c + 7) / 8 * 8;
    float *w = calloc(padded * taps, sizeof *w);
    if (w == NULL)
        return -1;
    memcpy(w, l->weights, (size_t)e->out_c * taps * sizeof *w);
    free(l->weights);
    l->weights = w;
    e->weights = w;
    l->kernel = NN_DIRECT;
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

static int load_weights(anon_net *net, const char *path, anon_error *err)
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

/* ------------------------------------------------------------ buffers */

static size_t round_up(size_t n)
{
    size_t per = NN_ALIGN / sizeof(float);
    return (n + per - 1) / per * per;
}

static size_t layer_floats(const nn_layer *l)
{
    return (size_t)l->out_c * (size_t)l->out_h * (size_t)l->out_w;
}

/* The [maxpool] that layer l, a pooled convolution, runs with: the next
 * layer. */
static nn_pool pool_after(const nn_layer *l)
{
    const nn_layer *p = l + 1;
    return (nn_pool){p->stride, p->padding, p->out_h, p->out_w};
}

/* The depthwise convolution that runs inside layer i, NULL if none. */
static const nn_conv *fused_depthwise(const anon_net *net, int i)
{
    return i > 0 && net->layers[i - 1].into_next ? &net->layers[i - 1].exec : NULL;
}

/* The last layer of the fused step that starts at layer i (i: none). */
static int step_end(const anon_net *net, int i)
{
    int j = net->layers[i].into_next ? i + 1 : i;
    return net->layers[j].pooled ? j + 1 : j;
}

static size_t work_floats(const anon_net *net, int i)
{
    const nn_layer *l = &net->layers[i];
    if (l->kind != NN_CONVOLUTIONAL)
        return 0;
    if (l->pooled || fused_depthwise(net, i)) {
        nn_pool pool = l->pooled ? pool_after(l) : (nn_pool){0};
        return nn_direct_fused_work_size(&l->exec, fused_depthwise(net, i),
                                         l->pooled ? &pool : NULL);
    }
    switch (l->kernel) {
    case NN_DEPTHWISE:
        return nn_depthwise_work_size(&l->exec);
    case NN_DIRECT:
        return nn_direct_work_size(&l->exec);
    default:
        return nn_conv_work_size(&l->exec);
    }
}

/* The layer whose buffer holds layer i's output: a route of one layer
 * aliases its source. */
static int owner_of(const anon_net *net, int i)
{
    const nn_layer *l = &net->layers[i];
    return l->kind == NN_ROUTE && l->n_inputs == 1 ? net->layers[l->inputs[0]].owner : i;
}

static void mark_read(anon_net *net, int owner, int reader)
{
    if (net->layers[owner].last_read < reader)
        net->layers[owner].last_read = reader;
}

/* For each buffer, the last layer that reads it (-1: none, an output). */
static void find_last_reads(anon_net *net)
{
    for (int i = 0; i < net->n; i++) {
        net->layers[i].owner = owner_of(net, i);
        net->layers[i].last_read = -1;
    }
    for (int j = 0; j < net->n; j++) {
        const nn_layer *l = &net->layers[j];
        if (l->kind != NN_ROUTE && j > 0)
            mark_read(net, net->layers[j - 1].owner, j);
        for (int k = 0; l->kind == NN_ROUTE && l->n_inputs > 1 && k < l->n_inputs; k++)
            mark_read(net, net->layers[l->inputs[k]].owner, j);
    }
}

/* Lean networks run a direct convolution and the 2x2 stride-2 [maxpool]
 * that alone reads it as one step (nn_direct_forward_fused), so the
 * convolution's output, the largest tensor of the tiny model, needs no
 * buffer; a depthwise convolution read only by a direct 1x1 one runs in the
 * same step. Stride-1 pools would compute each row twice: left apart. */
static void plan_fusions(anon_net *net)
{
    for (int i = 0; net->lean && i + 1 < net->n; i++) {
        nn_layer *l = &net->layers[i];
        const nn_layer *p = &net->layers[i + 1];
        l->pooled = l->kind == NN_CONVOLUTIONAL && l->kernel == NN_DIRECT &&
                    p->kind == NN_MAXPOOL && p->size == 2 && p->stride == 2 &&
                    l->last_read == i + 1 &&
                    nn_maxpool_by_rows(l->out_h, l->out_w, p->size, p->stride, p->padding,
                                       p->out_h, p->out_w);
    }
    for (int i = 0; net->lean && i + 1 < net->n; i++) {
        nn_layer *l = &net->layers[i];
        const nn_layer *pw = &net->layers[i + 1];
        l->into_next = l->kind == NN_CONVOLUTIONAL && l->kernel == NN_DEPTHWISE &&
                       pw->kind == NN_CONVOLUTIONAL && pw->kernel == NN_DIRECT &&
                       nn_direct_pointwise(&pw->exec) && l->last_read == i + 1;
    }
    /* A fused step reads its input until it writes its output. */
    for (int i = 1; i < net->n; i++)
        if (step_end(net, i) > i && !net->layers[i - 1].into_next)
            mark_read(net, net->layers[i - 1].owner, step_end(net, i));
}

static int is_kept(const anon_net *net, int i)
{
    return !net->lean || net->layers[net->layers[i].owner].last_read < 0;
}

typedef struct span {
    size_t off, len;
    int owner;
} span;

/* Places a span of `len` floats among the live spans (sorted by offset)
 * below `cap`: in the lowest gap that fits, or with from_top in the
 * highest, at its top. Returns SIZE_MAX when no gap fits. */
static size_t place(span *live, int *n_live, size_t len, int owner, size_t cap, bool from_top)
{
    size_t at = SIZE_MAX;
    int slot = 0;
    for (int k = 0; k <= *n_live; k++) {
        size_t lo = k == 0 ? 0 : live[k - 1].off + live[k - 1].len;
        size_t hi = k == *n_live ? cap : live[k].off;
        if (hi < lo || hi - lo < len)
            continue;
        at = from_top ? hi - len : lo;
        slot = k;
        if (!from_top)
            break;
    }
    if (at == SIZE_MAX)
        return at;
    memmove(live + slot + 1, live + slot, (size_t)(*n_live - slot) * sizeof *live);
    live[slot] = (span){at, len, owner};
    (*n_live)++;
    return at;
}

/* Lays the outputs out in an arena of `cap` floats; with alternate, a
 * chain's outputs go to the bottom and the top by turns, so that a layer's
 * input and output sit at opposite ends and the space its input's input
 * left is reused at once. Returns the floats used, SIZE_MAX if they do
 * not fit. */
static size_t lay_out(anon_net *net, span *live, size_t *offset, size_t cap, bool alternate)
{
    size_t total = 0;
    int n_live = 0, turn = 0;
    for (int j = 0; j < net->n; j++) {
        const nn_layer *l = &net->layers[j];
        offset[j] = 0;
        if (l->owner == j && !l->pooled && !l->into_next) {
            size_t len = round_up(layer_floats(l));
            offset[j] = place(live, &n_live, len, j, cap, alternate && (turn++ & 1));
            if (offset[j] == SIZE_MAX)
                return SIZE_MAX;
            total = offset[j] + len > total ? offset[j] + len : total;
        }
        for (int k = 0; net->lean && k < n_live; k++)
            if (net->layers[live[k].owner].last_read == j) {
                memmove(live + k, live + k + 1, (size_t)(n_live - k - 1) * sizeof *live);
                n_live--;
                k--;
            }
    }
    return total;
}

/* The arena on a 2 MB boundary, asking for transparent huge pages: a pass
 * walks megabytes of layer outputs, which in 4 KB pages cost a page fault
 * each on first use (a no-op where the kernel has them off). Only the
 * whole 2 MB pages inside it are advised, so it takes no more memory. */
static float *arena_alloc(size_t bytes)
{
    enum { HUGE = 2 << 20 };
    void *p = NULL;
    if (posix_memalign(&p, HUGE, bytes) != 0)
        return NULL;
    if (bytes >= HUGE)
        madvise(p, bytes / HUGE * HUGE, MADV_HUGEPAGE);
    return p;
}

/* Offsets of every layer output in one arena. Normally every output keeps
 * its own place, so layer_output works for all layers after a pass; lean
 * networks reuse a buffer once its last reader has run and keep only the
 * outputs no layer reads (the network's outputs, e.g. the SSD heads); they
 * take the smallest arena the alternating layout fits (24 MB instead of
 * 32 for SSD MobileNet at 512), else the lowest-gap layout's. */
static int plan_buffers(anon_net *net, anon_error *err)
{
    find_last_reads(net);
    plan_fusions(net);
    span *live = malloc((size_t)net->n * sizeof *live);
    size_t *offset = malloc((size_t)net->n * sizeof *offset);
    if (live == NULL || offset == NULL) {
        free(live);
        free(offset);
        return anon_fail(err, "out of memory");
    }
    size_t work = 0;
    for (int j = 0; j < net->n; j++) {
        size_t wf = work_floats(net, j);
        work = wf > work ? wf : work;
    }
    size_t total = lay_out(net, live, offset, SIZE_MAX / 2, false);
    if (net->lean) {
        size_t lo = 1, hi = total;    /* the smallest cap that fits, by bisection */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (lay_out(net, live, offset, mid, true) != SIZE_MAX)
                hi = mid;
            else
                lo = mid + 1;
        }
        total = lay_out(net, live, offset, hi, hi < total);
    }
    free(live);
    net->arena = arena_alloc((total + round_up(work + 1)) * sizeof(float));
    if (net->arena == NULL) {
        free(offset);
        return anon_fail(err, "out of memory for the %zu MB of layer outputs",
                         (total + work) * sizeof(float) >> 20);
    }
    for (int i = 0; i < net->n; i++)
        net->layers[i].output = net->arena + offset[net->layers[i].owner];
    free(offset);
    net->work = net->arena + total;
    net->arena_floats = total + round_up(work + 1);
    return 0;
}

/* ------------------------------------------------------------ engine */

static void free_net(anon_net *net)
{
    if (net == NULL)
        return;
    for (int i = 0; i < net->n; i++) {
        free(net->layers[i].weights);
        free(net->layers[i].biases);
    }
    free(net->layers);
    free(net->arena);
    free(net);
}

static anon_net *load(const char *cfg_path, const char *weights_path, int threads, int lean,
                      anon_error *err)
{
    anon_net *net = calloc(1, sizeof *net);
    if (net == NULL) {
        anon_fail(err, "out of memory");
        return NULL;
    }
    net->lean = lean;
    if (parse_cfg(net, cfg_path, err) < 0 || plan_shapes(net, cfg_path, err) < 0 ||
        load_weights(net, weights_path, err) < 0 || plan_buffers(net, err) < 0) {
        free_net(net);
        return NULL;
    }
    /* Workers scale by processes; more threads only speed up the GEMMs. */
    openblas_set_num_threads(threads > 0 ? threads : 1);
    return net;
}

static anon_net *load_net(const char *cfg_path, const char *weights_path, int threads,
                          anon_error *err)
{
    return load(cfg_path, weights_path, threads, 0, err);
}

static anon_net *load_lean(const char *cfg_path, const char *weights_path, int threads,
                           anon_error *err)
{
    return load(cfg_path, weights_path, threads, 1, err);
}

static void input_shape(const anon_net *net, int *c, int *h, int *w)
{
    *c = net->c;
    *h = net->h;
    *w = net->w;
}

static int n_layers(const anon_net *net)
{
    return net->n;
}

static const float *layer_input(const anon_net *net, int i)
{
    return i == 0 ? net->input : net->layers[i - 1].output;
}

static void run_route(const anon_net *net, const nn_layer *l)
{
    if (l->n_inputs == 1)
        return;   /* aliased */
    float *dst = l->output;
    for (int k = 0; k < l->n_inputs; k++) {
        const nn_layer *src = &net->layers[l->inputs[k]];
        size_t n = layer_floats(src);
        memcpy(dst, src->output, n * sizeof *dst);
        dst += n;
    }
}

static void run_conv(anon_net *net, nn_layer *l, const float *in)
{
    if (l->kernel == NN_DEPTHWISE)
        nn_depthwise_forward(&l->exec, in, l->output, net->work);
    else if (l->kernel == NN_DIRECT)
        nn_direct_forward(&l->exec, in, l->output, net->work);
    else
        nn_conv_forward(&l->exec, in, l->output, net->work);
}

static int forward(anon_net *net, const float *input, anon_error *err)
{
    if (input == NULL)
        return anon_fail(err, "no input");
    net->input = input;
    for (int i = 0; i < net->n; i++) {
        nn_layer *l = &net->layers[i];
        const float *in = layer_input(net, i);
        if (step_end(net, i) > i) {
            const nn_conv *dw = l->into_next ? &l->exec : NULL;
            const nn_layer *cv = dw ? l + 1 : l;
            nn_pool pool = cv->pooled ? pool_after(cv) : (nn_pool){0};
            i = step_end(net, i);
            nn_direct_forward_fused(&cv->exec, dw, cv->pooled ? &pool : NULL, in,
                                    net->layers[i].output, net->work);
        } else if (l->kind == NN_CONVOLUTIONAL) {
            run_conv(net, l, in);
        } else if (l->kind == NN_MAXPOOL) {
            nn_maxpool_forward(in, l->c, l->h, l->w, l->size, l->stride, l->padding, l->output,
                               l->out_h, l->out_w);
        } else {
            run_route(net, l);
        }
    }
    net->input = NULL;
    return 0;
}

static int layer_output(const anon_net *net, int i, anon_tensor *out, anon_error *err)
{
    if (i < 0 || i >= net->n)
        return anon_fail(err, "layer %d out of range (the network has %d)", i, net->n);
    if (!is_kept(net, i) && (net->layers[i].pooled || net->layers[i].into_next))
        return anon_fail(err, "layer %d's output is not kept by the anon-lean engine (it runs "
                         "fused with the layers after it); the anon engine keeps every layer",
                         i);
    if (!is_kept(net, i))
        return anon_fail(err, "layer %d's output is not kept by the anon-lean engine (layer %d "
                         "reuses its buffer); the anon engine keeps every layer", i,
                         net->layers[net->layers[i].owner].last_read + 1);
    const nn_layer *l = &net->layers[i];
    *out = (anon_tensor){.data = l->output, .c = l->out_c, .h = l->out_h, .w = l->out_w};
    return 0;
}

const anon_engine anon_engine_anon = {
    .name = "anon",
    .load = load_net,
    .input_shape = input_shape,
    .n_layers = n_layers,
    .forward = forward,
    .layer_output = layer_output,
    .free = free_net,
};

/* The same engine with buffers reused across layers: far less memory
 * (the SSD model's outputs take 108 MB kept, much less reused), but
 * layer_output only works for the network's outputs. */
const anon_engine anon_engine_anon_lean = {
    .name = "anon-lean",
    .load = load_lean,
    .input_shape = input_shape,
    .n_layers = n_layers,
    .forward = forward,
    .layer_output = layer_output,
    .free = free_net,
};

const anon_engine *nn_engine(void)
{
    return &anon_engine_anon;
}

size_t nn_arena_bytes(const anon_net *net)
{
    return net->arena_floats * sizeof(float);
}

double nn_flops(const anon_net *net)
{
    double flops = 0;
    for (int i = 0; i < net->n; i++) {
        const nn_layer *l = &net->layers[i];
        if (l->kind == NN_CONVOLUTIONAL)
            flops += 2.0 * l->out_c * l->out_h * l->out_w * (double)(l->c / l->groups) *
                     l->size * l->size;
    }
    return flops;
}

int nn_layer_relu6(const anon_net *net, int i)
{
    return i >= 0 && i < net->n && net->layers[i].act == NN_RELU6;
}

int nn_layer_shrunk(const anon_net *net, int i)
{
    return i >= 0 && i < net->n && net->layers[i].shrunk;
}
