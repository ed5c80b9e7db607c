/* fuzz_nn_cfg.c - libFuzzer harness for the anon engine's Darknet .cfg
 * reader (src/engine/nn_cfg.c) and the planner that takes what it parsed
 * (nn_plan.c): a model directory is configuration a user may point the
 * detector at, and a cfg that parses must not make the planner, the weight
 * loader or a forward pass misbehave.
 *
 * Each input is a cfg. It is parsed and shaped; a refusal must carry a
 * message. When the network is small enough for one run to stay fast (see
 * the caps below), a weights file of exactly the size the cfg implies is
 * made (every 4x4 kernel with its first row and column zero, so the
 * converter's padded-3x3 spelling is taken too), and the network is
 * loaded, run and read back with the "anon" and "anon-lean" runtimes, then
 * planned again for another input size and run again.
 *
 * Build: see the Makefile's fuzz section. Seeds: scripts/fuzz-seeds nn_cfg
 * DIR (hand-made cfgs of every layer kind, and the converted models' cfgs
 * when `make models` has made them); dictionary tests/fuzz/nn_cfg.dict. */
#include "fuzz_nn.h"

/* Caps on what gets run (per input): work (the convolutions' multiply-adds
 * and the max pools' window taps: a 300x300 window over a padded 300x300
 * input is 8e9 comparisons, which timed out in CI), weights, and floats of
 * the input and of layer outputs. The real models exceed them and are only parsed and
 * planned. */
#define MAX_WORK 3e6
#define MAX_WEIGHTS 300000.0
#define MAX_OUTPUTS 1e6

extern const anon_engine anon_engine_anon;

/* Floats the weights file holds for layer l (nn_weights.c's order). */
static double conv_floats(const nn_layer *l)
{
    double n = l->filters;
    return n * (l->batch_normalize ? 4 : 1) + n * (l->c / l->groups) * l->size * l->size;
}

/* 1 if running the shaped network stays within the caps. */
static int small_enough(const anon_net *net, double *weights)
{
    double work = 0, outputs = (double)net->c * net->h * net->w;   /* the input too */
    *weights = 0;
    for (int i = 0; i < net->n; i++) {
        const nn_layer *l = &net->layers[i];
        double out = (double)l->out_c * l->out_h * l->out_w;
        outputs += out;
        if (l->kind == NN_CONVOLUTIONAL) {
            *weights += conv_floats(l);
            work += out * (l->c / l->groups) * l->size * l->size;
        } else if (l->kind == NN_MAXPOOL) {
            work += out * l->size * l->size;
        }
    }
    return work <= MAX_WORK && *weights <= MAX_WEIGHTS && outputs <= MAX_OUTPUTS;
}

/* The weights of one convolution: bias, batch norm (scales, means,
 * variances: positive), kernels. */
static float *put_conv(const nn_layer *l, float *p)
{
    size_t n = (size_t)l->filters;
    for (size_t o = 0; o < n; o++)
        *p++ = 0.01f * (float)(o % 7);
    for (size_t k = 0; l->batch_normalize && k < 3 * n; k++)
        *p++ = k < n ? 1.0f : k < 2 * n ? 0.1f : 0.5f;
    size_t kernels = n * (size_t)(l->c / l->groups), taps = (size_t)l->size * l->size;
    for (size_t k = 0; k < kernels; k++)
        for (size_t t = 0; t < taps; t++) {
            int edge = l->size == 4 && (t < 4 || t % 4 == 0);
            *p++ = edge ? 0.0f : 0.05f * (float)((k + t) % 5) - 0.1f;
        }
    return p;
}

static void write_weights(int fd, const anon_net *net, double count)
{
    size_t n = (size_t)count + 5;   /* + the header: 3 int32 and a uint64 */
    float *buf = calloc(n, sizeof *buf);
    if (buf == NULL)
        __builtin_trap();
    int32_t version[3] = {0, 2, 0};
    memcpy(buf, version, sizeof version);
    float *p = buf + 5;
    for (int i = 0; i < net->n; i++)
        if (net->layers[i].kind == NN_CONVOLUTIONAL)
            p = put_conv(&net->layers[i], p);
    fuzz_nn_fill(fd, buf, (size_t)(p - buf) * sizeof *buf);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_nn_files *f = fuzz_nn_files_get();
    fuzz_nn_fill(f->cfg_fd, data, size);
    anon_net net = {0};
    anon_error err = {0};
    double count;
    if (nn_cfg_parse(&net, f->cfg, &err) < 0 || nn_plan_shapes(&net, f->cfg, &err) < 0) {
        fuzz_nn_refused(&err);
    } else if (small_enough(&net, &count)) {
        write_weights(f->weights_fd, &net, count);
        int w = net.w / 2 + 1, h = net.h / 2 + 1;
        fuzz_nn_run(&anon_engine_anon, f->cfg, f->weights, w, h);
        fuzz_nn_run(&anon_engine_anon_lean, f->cfg, f->weights, w, h);
    }
    free(net.layers);
    return 0;
}
