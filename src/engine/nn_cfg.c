/* nn_cfg.c - the anon engine's cfg parser: a Darknet .cfg into the layers
 * as written (see nn_net.h).
 *
 * Only the layer subset of the converted face models is accepted; anything
 * else is an error naming the cfg line, never a silent guess. The comment
 * `#anon: relu6` inside a [convolutional] with activation=relu (a
 * convention of scripts/convert-model that libdarknet skips) marks a ReLU6. */
#include "engine/nn_net.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


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
    static const char *const names[] = {
        [NN_CONVOLUTIONAL] = "[convolutional]", [NN_MAXPOOL] = "[maxpool]",
        [NN_ROUTE] = "[route]", [NN_SHORTCUT] = "[shortcut]", [NN_UPSAMPLE] = "[upsample]",
    };
    return names[k];
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
    else if (strcmp(v, "silu") == 0 || strcmp(v, "swish") == 0)   /* AlexeyAB's name */
        *act = NN_SILU;
    else
        return anon_fail(err, "%s:%d: activation '%s' is not supported (linear, leaky, relu, "
                         "silu)", path, line, v);
    return 0;
}

/* One layer index at p, up to *end: absolute, or relative when negative;
 * it must name a layer before layer `index`. */
static int parse_earlier_layer(const char *path, int line, const char *key, const char *v,
                               const char *p, char **end, int index, int *out, anon_error *err)
{
    errno = 0;
    long k = strtol(p, end, 10);
    if (errno != 0 || *end == p || (**end != ',' && **end != '\0'))
        return anon_fail(err, "%s:%d: %s=%s: expected comma-separated layer indices", path,
                         line, key, v);
    if (k < 0)
        k += index;
    if (k < 0 || k >= index)
        return anon_fail(err, "%s:%d: %s=%s: layer %ld is not an earlier layer", path, line,
                         key, v, k);
    *out = (int)k;
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
        int k;
        if (parse_earlier_layer(path, line, "layers", v, p, &end, index, &k, err) < 0)
            return -1;
        if (l->n_inputs == NN_MAX_ROUTE)
            return anon_fail(err, "%s:%d: a route joins at most %d layers", path, line,
                             NN_MAX_ROUTE);
        l->inputs[l->n_inputs++] = k;
        p = *end == ',' ? end + 1 : end;
    }
    if (l->n_inputs == 0)
        return anon_fail(err, "%s:%d: layers= is empty", path, line);
    return 0;
}

/* from=-3: the one earlier layer a [shortcut] adds to the previous one. */
static int parse_from(const char *path, int line, const char *v, nn_layer *l, int index,
                      anon_error *err)
{
    char *end;
    if (parse_earlier_layer(path, line, "from", v, v, &end, index, &l->from, err) < 0)
        return -1;
    if (*end != '\0')
        return anon_fail(err, "%s:%d: from=%s: expected one earlier layer", path, line, v);
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
    } else if (l->kind == NN_ROUTE) {
        if (strcmp(key, "layers") == 0)
            return parse_route_layers(path, line, v, l, index, err);
    } else if (l->kind == NN_SHORTCUT) {
        if (strcmp(key, "from") == 0)
            return parse_from(path, line, v, l, index, err);
        if (strcmp(key, "activation") == 0)
            return strcmp(v, "linear") == 0
                       ? 0
                       : anon_fail(err, "%s:%d: [shortcut] supports only activation=linear",
                                   path, line);
    } else if (strcmp(key, "stride") == 0) {   /* [upsample] */
        return parse_int(path, line, key, v, 1, &l->stride, err);
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
    l->from = -1;                   /* [shortcut]: required */
    if (kind == NN_UPSAMPLE)
        l->stride = 2;
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
    else if (strcmp(name, "[shortcut]") == 0)
        kind = NN_SHORTCUT;
    else if (strcmp(name, "[upsample]") == 0)
        kind = NN_UPSAMPLE;
    else
        return anon_fail(err, "%s:%d: layer type %s is not supported (convolutional, "
                         "maxpool, route, shortcut, upsample)", path, line, name);
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

int nn_cfg_parse(anon_net *net, const char *path, anon_error *err)
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
