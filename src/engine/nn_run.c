/* nn_run.c - the "anon" engine's runtime: the engine table entries (see
 * engine.h), loading (cfg, shapes, weights, buffers: nn_cfg.c, nn_plan.c,
 * nn_weights.c) and the forward loop that calls the kernels (nn.h).
 *
 * Two entries share it: "anon" keeps every layer's output after a pass;
 * "anon-lean" reuses buffers and runs some layers fused (nn_plan.c), so it
 * keeps only the network's outputs. A network is planned for the cfg's
 * input size at load, and again whenever it is asked for another (reshape:
 * the detector's passes of a YOLO model); the weights are read once. */
#include "engine/nn_net.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void openblas_set_num_threads(int num_threads);   /* OpenBLAS, not in every cblas.h */

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
    free(net->cfg_path);
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
    net->cfg_path = strdup(cfg_path);
    if (net->cfg_path == NULL) {
        anon_fail(err, "out of memory");
        free_net(net);
        return NULL;
    }
    if (nn_cfg_parse(net, cfg_path, err) < 0 || nn_plan_shapes(net, cfg_path, err) < 0 ||
        nn_weights_load(net, weights_path, err) < 0 || nn_plan_buffers(net, err) < 0) {
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

/* Shapes and buffers planned again for a w x h input; on failure (a size
 * the network cannot take, say routes joining layers of different sizes)
 * the previous plan is restored. */
static int reshape(anon_net *net, int w, int h, anon_error *err)
{
    if (w == net->w && h == net->h)
        return 0;
    if (w < 1 || h < 1)
        return anon_fail(err, "%s: input size %dx%d", net->cfg_path, w, h);
    int old_w = net->w, old_h = net->h;
    net->w = w;
    net->h = h;
    if (nn_plan_shapes(net, net->cfg_path, err) == 0 && nn_plan_buffers(net, err) == 0)
        return 0;
    net->w = old_w;
    net->h = old_h;
    /* the old plan fitted, so only running out of memory for the planner's
     * scratch fails here: then the network refuses to run */
    net->unplanned = nn_plan_shapes(net, net->cfg_path, NULL) < 0 ||
                     nn_plan_buffers(net, NULL) < 0;
    return -1;
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
    if (l->n_inputs == 1 || l->joined)
        return;   /* aliased, or its inputs were written into it */
    float *dst = l->output;
    for (int k = 0; k < l->n_inputs; k++) {
        const nn_layer *src = &net->layers[l->inputs[k]];
        size_t n = nn_layer_floats(src);
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
    else if (l->kernel == NN_BLOCKED)
        nn_blocked_forward(&l->exec, in, l->output, net->work);
    else
        nn_conv_forward(&l->exec, in, l->output, net->work);
}

static void run_maxpool(anon_net *net, nn_layer *l, const float *in)
{
    if (nn_maxpool_same(l->size, l->stride, l->padding))
        nn_maxpool_same_forward(in, l->c, l->h, l->w, l->size, l->output, net->work);
    else
        nn_maxpool_forward(in, l->c, l->h, l->w, l->size, l->stride, l->padding, l->output,
                           l->out_h, l->out_w);
}

/* Runs the step that starts at layer i (a layer, or layers fused into
 * one step); returns the step's last layer. */
static int run_step(anon_net *net, int i)
{
    nn_layer *l = &net->layers[i];
    const float *in = layer_input(net, i);
    if (nn_step_end(net, i) > i) {
        const nn_conv *dw = l->into_next ? &l->exec : NULL;
        const nn_layer *cv = dw ? l + 1 : l;
        nn_pool pool = cv->pooled ? nn_pool_after(cv) : (nn_pool){0};
        i = nn_step_end(net, i);
        nn_direct_forward_fused(&cv->exec, dw, cv->pooled ? &pool : NULL, in,
                                net->layers[i].output, net->work);
    } else if (l->kind == NN_CONVOLUTIONAL) {
        run_conv(net, l, in);
    } else if (l->kind == NN_MAXPOOL) {
        run_maxpool(net, l, in);
    } else if (l->kind == NN_SHORTCUT) {
        nn_add(in, net->layers[l->from].output, l->output, nn_layer_floats(l));
    } else if (l->kind == NN_UPSAMPLE) {
        nn_upsample_forward(in, l->c, l->h, l->w, l->stride, l->output);
    } else {
        run_route(net, l);
    }
    return i;
}

static int can_run(const anon_net *net, const float *input, anon_error *err)
{
    if (input == NULL)
        return anon_fail(err, "no input");
    if (net->unplanned)
        return anon_fail(err, "%s: no plan (out of memory in a reshape)", net->cfg_path);
    return 0;
}

static int forward(anon_net *net, const float *input, anon_error *err)
{
    if (can_run(net, input, err) < 0)
        return -1;
    net->input = input;
    for (int i = 0; i < net->n; i++)
        i = run_step(net, i);
    net->input = NULL;
    return 0;
}

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int nn_forward_profile(anon_net *net, const float *input, double *ms, anon_error *err)
{
    if (can_run(net, input, err) < 0)
        return -1;
    net->input = input;
    for (int i = 0; i < net->n; i++) {
        double t0 = cpu_ms();
        int last = run_step(net, i);
        for (int k = i; k <= last; k++)
            ms[k] = k == i ? cpu_ms() - t0 : 0;
        i = last;
    }
    net->input = NULL;
    return 0;
}

static int layer_output(const anon_net *net, int i, anon_tensor *out, anon_error *err)
{
    if (i < 0 || i >= net->n)
        return anon_fail(err, "layer %d out of range (the network has %d)", i, net->n);
    if (!nn_is_kept(net, i) && (net->layers[i].pooled || net->layers[i].into_next))
        return anon_fail(err, "layer %d's output is not kept by the anon-lean engine (it runs "
                         "fused with the layers after it); the anon engine keeps every layer",
                         i);
    if (!nn_is_kept(net, i))
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
    .reshape = reshape,
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
    .reshape = reshape,
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
    for (int i = 0; i < net->n; i++)
        flops += nn_layer_flops(net, i);
    return flops;
}

int nn_layer_relu6(const anon_net *net, int i)
{
    return i >= 0 && i < net->n && net->layers[i].act == NN_RELU6;
}

const char *nn_layer_kind(const anon_net *net, int i)
{
    static const char *const names[] = {
        [NN_CONVOLUTIONAL] = "conv", [NN_MAXPOOL] = "maxpool", [NN_ROUTE] = "route",
        [NN_SHORTCUT] = "shortcut", [NN_UPSAMPLE] = "upsample",
    };
    return i >= 0 && i < net->n ? names[net->layers[i].kind] : "?";
}

double nn_layer_flops(const anon_net *net, int i)
{
    const nn_layer *l = &net->layers[i];
    if (l->kind != NN_CONVOLUTIONAL)
        return 0;
    return 2.0 * l->out_c * l->out_h * l->out_w * (double)(l->c / l->groups) * l->size * l->size;
}

int nn_layer_shrunk(const anon_net *net, int i)
{
    return i >= 0 && i < net->n && net->layers[i].shrunk;
}
