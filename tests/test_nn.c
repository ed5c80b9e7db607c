/* test_nn.c - the anon engine against libdarknet, layer by layer.
 *
 * Parity: every layer's raw output must be within 1e-4 of libdarknet's,
 * relative to the layer's scale: max |anon - darknet| <= 1e-4 * max(1,
 * max |darknet|) over each layer (absolute while the layer's values stay
 * within +-1). Both engines sum in float32 in different orders (OpenBLAS
 * blocks and fuses multiply-adds, libdarknet adds one product at a time),
 * so element-wise relative error on a value near 0 would measure rounding,
 * not correctness. The network's outputs (layers no other layer reads,
 * e.g. the SSD box-predictor heads) must also agree element-wise:
 * |anon - darknet| <= 1e-4 * max(1, |darknet|). Run on small synthetic networks with
 * seeded random weights that cover each layer type and option the engine
 * accepts, and on both converted face models fed with the demo photos.
 * libdarknet has no ReLU6: its relu6 layers get their forward pointer
 * wrapped to clamp at 6, as the darknet engine does. Also checks that bad
 * cfg and weights files fail with a message naming the line or layer. */
#include <darknet.h>
#include <jpeglib.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "detect/detect.h"
#include "engine/engine.h"
#include "engine/nn.h"
#include "nn_reference.h"
#include "photos.h"

#define TOLERANCE 1e-4

/* ------------------------------------------------------------ helpers */


static uint64_t rng_state;

static float frand(float lo, float hi)   /* xorshift64*, seeded per test */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    uint64_t r = rng_state * 2685821657736338717ULL;
    return lo + (hi - lo) * (float)(r >> 40) / (float)(1 << 24);
}

static void fill(float *p, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        p[i] = frand(lo, hi);
}

typedef struct files {
    char dir[64], cfg[96], weights[96];
} files;

static int make_dir(files *f)
{
    snprintf(f->dir, sizeof f->dir, "/tmp/anon-nn-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->cfg, sizeof f->cfg, "%s/net.cfg", f->dir);
    snprintf(f->weights, sizeof f->weights, "%s/net.weights", f->dir);
    return 0;
}

static void remove_files(files *f)
{
    unlink(f->cfg);
    unlink(f->weights);
    rmdir(f->dir);
}

static int write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    if (fp == NULL)
        return -1;
    fputs(text, fp);
    return fclose(fp);
}

/* Writes random weights for the cfg's convolutions, in Darknet's format
 * (header version `minor` 1: 32-bit `seen`, 2: 64-bit), plus `trailing`
 * floats of junk after them. A 4x4 stride-2 kernel with padding 1 gets a
 * zero first row and column, as the converter writes them. */
static int write_weights(const files *f, int minor, int trailing)
{
    network *net = parse_network_cfg((char *)f->cfg);
    FILE *fp = fopen(f->weights, "wb");
    if (net == NULL || fp == NULL)
        return -1;
    int32_t head[3] = {0, minor, 0};
    fwrite(head, sizeof head[0], 3, fp);
    uint64_t seen = 0;
    fwrite(&seen, minor >= 2 ? 8 : 4, 1, fp);
    for (int i = 0; i < net->n; i++) {
        layer *l = &net->layers[i];
        if (l->type != CONVOLUTIONAL)
            continue;
        int fan_in = l->c / l->groups * l->size * l->size;
        float a = 2.0f / sqrtf((float)fan_in);
        float *b = malloc((size_t)l->n * sizeof *b), *w = malloc((size_t)l->nweights * sizeof *w);
        fill(b, (size_t)l->n, -0.3f, 0.3f);
        fwrite(b, sizeof *b, (size_t)l->n, fp);
        if (l->batch_normalize) {
            fill(b, (size_t)l->n, 0.5f, 1.5f);      /* scales */
            fwrite(b, sizeof *b, (size_t)l->n, fp);
            fill(b, (size_t)l->n, -0.2f, 0.2f);     /* means */
            fwrite(b, sizeof *b, (size_t)l->n, fp);
            fill(b, (size_t)l->n, 0.5f, 2.0f);      /* variances */
            fwrite(b, sizeof *b, (size_t)l->n, fp);
        }
        fill(w, (size_t)l->nweights, -a, a);
        if (l->size == 4 && l->stride == 2 && l->pad == 1)
            for (int k = 0; k < l->nweights / 16; k++)
                for (int j = 0; j < 4; j++)
                    w[k * 16 + j] = w[k * 16 + 4 * j] = 0.0f;
        fwrite(w, sizeof *w, (size_t)l->nweights, fp);
        free(b);
        free(w);
    }
    for (int i = 0; i < trailing; i++) {
        float junk = frand(-1, 1);
        fwrite(&junk, sizeof junk, 1, fp);
    }
    free_network(net);
    return fclose(fp);
}

/* ------------------------------------------------------------ darknet oracle */

static void (*darknet_conv_forward)(struct layer, struct network);

static void forward_relu6(struct layer l, struct network net)
{
    darknet_conv_forward(l, net);
    for (int i = 0; i < l.outputs * l.batch; i++)
        if (l.output[i] > 6.0f)
            l.output[i] = 6.0f;
}

static network *load_darknet(const char *cfg, const char *weights, const anon_net *anon)
{
    network *dn = load_network((char *)cfg, (char *)weights, 0);
    if (dn == NULL)
        return NULL;
    for (int i = 0; i < dn->n; i++)
        if (nn_layer_relu6(anon, i)) {
            darknet_conv_forward = dn->layers[i].forward;
            dn->layers[i].forward = forward_relu6;
        }
    return dn;
}

typedef struct parity {
    double worst;       /* largest max|a - b| / max(1, max|b|) of a layer */
    int worst_layer;
    double worst_element; /* largest |a - b| / max(1, |b|) */
    double worst_output;  /* the same over the network's output layers */
    int clamped;        /* values at exactly 6 in relu6 layers */
} parity;

/* 1 if no later layer reads layer i: a network output. */
static int is_output_layer(const network *dn, int i)
{
    for (int j = i + 1; j < dn->n; j++) {
        const layer *l = &dn->layers[j];
        if (l->type != ROUTE && j == i + 1)
            return 0;
        for (int k = 0; l->type == ROUTE && k < l->n; k++)
            if (l->input_layers[k] == i)
                return 0;
    }
    return 1;
}

/* Runs both engines on `input` and compares every layer. */
static int compare(const anon_engine *e, anon_net *net, network *dn, float *input,
                   parity *p, char *why, size_t why_len)
{
    anon_error err;
    if (e->forward(net, input, &err) < 0) {
        snprintf(why, why_len, "forward: %s", err.msg);
        return -1;
    }
    network_predict(dn, input);
    if (e->n_layers(net) != dn->n) {
        snprintf(why, why_len, "%d layers, darknet has %d", e->n_layers(net), dn->n);
        return -1;
    }
    for (int i = 0; i < dn->n; i++) {
        anon_tensor t;
        layer *l = &dn->layers[i];
        if (e->layer_output(net, i, &t, &err) < 0 || t.c != l->out_c || t.h != l->out_h ||
            t.w != l->out_w) {
            snprintf(why, why_len, "layer %d: shape %dx%dx%d, darknet %dx%dx%d", i, t.c, t.h,
                     t.w, l->out_c, l->out_h, l->out_w);
            return -1;
        }
        double diff = 0, scale = 1;
        int output = is_output_layer(dn, i);
        for (int k = 0; k < l->outputs; k++) {
            double ref = l->output[k], d = fabs(t.data[k] - ref);
            diff = d > diff || d != d ? d : diff;
            scale = fmax(scale, fabs(ref));
            p->worst_element = fmax(p->worst_element, d / fmax(1.0, fabs(ref)));
            if (output)
                p->worst_output = fmax(p->worst_output, d / fmax(1.0, fabs(ref)));
            p->clamped += nn_layer_relu6(net, i) && t.data[k] == 6.0f;
        }
        if (!(diff / scale <= p->worst)) {
            p->worst = diff / scale;
            p->worst_layer = i;
        }
    }
    return 0;
}

/* Builds a synthetic network from cfg text and checks parity on a random input. */
static int synthetic_parity(const char *cfg_text, int minor, int trailing, float amp,
                            parity *p, int *shrunk, char *why, size_t why_len)
{
    files f;
    anon_error err;
    const anon_engine *e = nn_engine();
    if (make_dir(&f) < 0 || write_text(f.cfg, cfg_text) < 0 ||
        write_weights(&f, minor, trailing) < 0) {
        snprintf(why, why_len, "cannot write the test network");
        return -1;
    }
    anon_net *net = e->load(f.cfg, f.weights, 1, &err);
    if (net == NULL) {
        snprintf(why, why_len, "load: %s", err.msg);
        remove_files(&f);
        return -1;
    }
    network *dn = load_darknet(f.cfg, f.weights, net);
    int c, h, w;
    e->input_shape(net, &c, &h, &w);
    size_t n = (size_t)c * (size_t)h * (size_t)w;
    float *input = malloc(n * sizeof *input);
    fill(input, n, -amp, amp);
    *p = (parity){0};
    int rc = compare(e, net, dn, input, p, why, why_len);
    *shrunk = 0;
    for (int i = 0; i < e->n_layers(net); i++)
        *shrunk += nn_layer_shrunk(net, i);
    free(input);
    free_network(dn);
    e->free(net);
    remove_files(&f);
    return rc;
}

#define CHECK_PARITY(cfg, minor, trailing, min_shrunk)                                      \
    do {                                                                                    \
        parity p_;                                                                          \
        int shrunk_;                                                                        \
        char why_[256] = "";                                                                \
        CHECKF(synthetic_parity(cfg, minor, trailing, 2, &p_, &shrunk_, why_, sizeof why_) == 0, \
               "%.400s", why_);                                                                 \
        CHECKF(p_.worst <= TOLERANCE, "layer %d differs by %g", p_.worst_layer, p_.worst);  \
        CHECKF(p_.worst_output <= TOLERANCE, "an output differs by %g", p_.worst_output);   \
        CHECKF(shrunk_ >= (min_shrunk), "%d 4x4 kernels run as 3x3, expected %d", shrunk_,   \
               min_shrunk);                                                                 \
    } while (0)

/* ------------------------------------------------------------ synthetic networks */

/* Odd sizes, every option: depthwise 3x3 s1 + relu6, the 4x4 trick (dense
 * and depthwise), routes of one and two layers, grouped stride-2, maxpool
 * 2/2, 2/1, 3/2 and with padding (windows sticking out on the left, some
 * wholly outside), batch norm, 'valid' 3x3, 5x5 (dense and depthwise). */
static const char mixed_cfg[] =
    "[net]\nbatch=1\nwidth=37\nheight=29\nchannels=3\n"
    "[convolutional]\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
    "[convolutional]\ngroups=8\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=relu\n#anon: relu6\n"
    "[convolutional]\nfilters=16\nsize=1\nstride=1\nactivation=linear\n"
    "[maxpool]\nsize=2\nstride=2\n"
    "[convolutional]\ngroups=16\nfilters=16\nsize=4\nstride=2\npadding=1\nactivation=relu\n"
    "# a comment between options\n#anon: relu6\n"
    "[convolutional]\nfilters=12\nsize=4\nstride=2\npadding=1\nactivation=relu\n"
    "[route]\nlayers=-3\n"
    "[convolutional]\nfilters=6\ngroups=2\nsize=3\nstride=2\npad=1\nactivation=leaky\n"
    "[maxpool]\nsize=2\nstride=1\n"
    "[route]\nlayers=-2, -1\n"
    "[convolutional]\nbatch_normalize=1\nfilters=5\nsize=1\nstride=1\nactivation=linear\n"
    "[convolutional]\nfilters=4\nsize=3\nstride=1\npad=0\nactivation=relu\n"
    "[route]\nlayers=3\n"
    "[maxpool]\nsize=3\nstride=2\n"
    "[convolutional]\ngroups=16\nfilters=16\nsize=3\nstride=2\npad=1\nactivation=linear\n"
    "[convolutional]\ngroups=16\nfilters=16\nsize=5\nstride=1\npad=1\nactivation=leaky\n"
    "[convolutional]\nfilters=7\nsize=5\nstride=1\npadding=2\nactivation=relu\n"
    "[route]\nlayers=3\n"
    "[maxpool]\nsize=2\nstride=2\npadding=3\n"
    "[route]\nlayers=3\n"
    "[maxpool]\nsize=2\nstride=3\npadding=4\n";

/* SSD-like: even sizes, 4x4 zero-padded stride-2 kernels down to 1x1,
 * relu6 everywhere with inputs large enough to clamp. */
static const char ssd_like_cfg[] =
    "[net]\nwidth=32\nheight=32\nchannels=3\n"
    "[convolutional]\nfilters=16\nsize=4\nstride=2\npadding=1\nactivation=relu\n#anon: relu6\n"
    "[convolutional]\ngroups=16\nfilters=16\nsize=3\nstride=1\npad=1\nactivation=relu\n#anon: relu6\n"
    "[convolutional]\nfilters=32\nsize=1\nstride=1\nactivation=relu\n#anon: relu6\n"
    "[convolutional]\ngroups=32\nfilters=32\nsize=4\nstride=2\npadding=1\nactivation=relu\n#anon: relu6\n"
    "[convolutional]\nfilters=24\nsize=1\nstride=1\nactivation=relu\n#anon: relu6\n"
    "[convolutional]\nfilters=12\nsize=1\nstride=1\nactivation=linear\n"
    "[route]\nlayers=-2\n"
    "[convolutional]\nfilters=8\nsize=4\nstride=2\npadding=1\nactivation=relu\n#anon: relu6\n"
    "[convolutional]\nfilters=8\nsize=4\nstride=2\npadding=1\nactivation=relu\n#anon: relu6\n"
    "[convolutional]\nfilters=8\nsize=4\nstride=2\npadding=1\nactivation=relu\n#anon: relu6\n"
    "[convolutional]\nfilters=6\nsize=1\nstride=1\nactivation=linear\n";

/* TinyFaceDetector-like at a small size: 'valid' conv0, dw + pw blocks,
 * maxpools 2/2 and a last 2/1. */
static const char tiny_like_cfg[] =
    "[net]\nwidth=64\nheight=64\nchannels=3\n"
    "[convolutional]\nfilters=16\nsize=3\nstride=1\npad=0\nactivation=leaky\n"
    "[maxpool]\nsize=2\nstride=2\n"
    "[convolutional]\ngroups=16\nfilters=16\nsize=3\nstride=1\npad=1\nactivation=linear\n"
    "[convolutional]\nfilters=32\nsize=1\nstride=1\nactivation=leaky\n"
    "[maxpool]\nsize=2\nstride=2\n"
    "[convolutional]\ngroups=32\nfilters=32\nsize=3\nstride=1\npad=1\nactivation=linear\n"
    "[convolutional]\nfilters=64\nsize=1\nstride=1\nactivation=leaky\n"
    "[maxpool]\nsize=2\nstride=1\n"
    "[convolutional]\nfilters=25\nsize=1\nstride=1\nactivation=linear\n";

/* Wide, with power-of-two planes (cache-set aliasing in the direct 1x1
 * kernel), depthwise layers read in place ('same' and 'valid'), pools of
 * 3, 2/2 and 2/1 after each kind of convolution. */
static const char wide_cfg[] =
    "[net]\nwidth=512\nheight=37\nchannels=3\n"
    "[convolutional]\nfilters=64\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
    "[convolutional]\ngroups=64\nfilters=64\nsize=3\nstride=1\npad=1\nactivation=linear\n"
    "[convolutional]\ngroups=64\nfilters=64\nsize=3\nstride=1\npad=0\nactivation=leaky\n"
    "[maxpool]\nsize=3\nstride=2\n"
    "[convolutional]\nfilters=64\nsize=1\nstride=1\nactivation=relu\n"
    "[maxpool]\nsize=2\nstride=2\n"
    "[convolutional]\nfilters=16\nsize=1\nstride=1\nactivation=linear\n"
    "[convolutional]\nfilters=128\nsize=1\nstride=1\nactivation=leaky\n"
    "[maxpool]\nsize=2\nstride=1\n";

/* Every fusion of the anon-lean engine: a direct 3x3 convolution with the
 * pool after it (padding 2: windows from -1), depthwise layers in place,
 * stride 2 (the 4x4 kernel runs as 3x3) and 5x5 ones run inside the 1x1
 * layers after them, without and with a pool, on rows wider than a strip. */
static const char fused_cfg[] =
    "[net]\nwidth=601\nheight=23\nchannels=3\n"
    "[convolutional]\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
    "[convolutional]\ngroups=8\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=linear\n"
    "[convolutional]\nfilters=12\nsize=1\nstride=1\nactivation=relu\n"
    "[maxpool]\nsize=2\nstride=2\npadding=2\n"
    "[convolutional]\ngroups=12\nfilters=12\nsize=4\nstride=2\npadding=1\nactivation=relu\n"
    "[convolutional]\nfilters=16\nsize=1\nstride=1\nactivation=leaky\n"
    "[convolutional]\ngroups=16\nfilters=16\nsize=5\nstride=1\npad=1\nactivation=linear\n"
    "[convolutional]\nfilters=8\nsize=1\nstride=1\nactivation=linear\n"
    "[maxpool]\nsize=2\nstride=2\n"
    "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\nactivation=leaky\n"
    "[maxpool]\nsize=2\nstride=2\n";

TEST(wide_conv_and_pool_match_darknet)
{
    rng_state = 5;
    CHECK_PARITY(wide_cfg, 2, 0, 0);
}

TEST(mixed_layers_match_darknet)
{
    rng_state = 1;
    CHECK_PARITY(mixed_cfg, 2, 0, 2);
}

TEST(ssd_like_matches_darknet_and_clamps)
{
    rng_state = 2;
    parity p;
    int shrunk;
    char why[256] = "";
    CHECKF(synthetic_parity(ssd_like_cfg, 1, 5118 * 4, 12, &p, &shrunk, why, sizeof why) == 0,
           "%.400s", why);
    CHECKF(p.worst <= TOLERANCE, "layer %d differs by %g", p.worst_layer, p.worst);
    CHECKF(shrunk == 5, "%d 4x4 kernels run as 3x3, expected 5", shrunk);
    CHECKF(p.clamped > 0, "no relu6 output reached 6: the test does not test the clamp");
}

TEST(tiny_like_matches_darknet)
{
    rng_state = 3;
    CHECK_PARITY(tiny_like_cfg, 2, 0, 0);
}

/* anon-lean reuses buffers: every layer it keeps (at least the network's
 * outputs) is bit-identical to the anon engine's, the others fail cleanly,
 * and it allocates less. */
static int lean_matches(const char *cfg, const char *weights, size_t *full_bytes,
                        size_t *lean_bytes, char *why, size_t why_len)
{
    const anon_engine *full = nn_engine(), *lean = anon_engine_find("anon-lean");
    anon_error err;
    anon_net *a = full->load(cfg, weights, 1, &err), *b = a ? lean->load(cfg, weights, 1, &err) : NULL;
    int rc = -1, c, h, w, kept = 0;
    if (b == NULL) {
        snprintf(why, why_len, "load: %.200s", err.msg);
        goto done;
    }
    full->input_shape(a, &c, &h, &w);
    size_t n = (size_t)c * (size_t)h * (size_t)w;
    float *input = malloc(n * sizeof *input);
    fill(input, n, -2, 2);
    rc = full->forward(a, input, &err) | lean->forward(b, input, &err);
    free(input);
    for (int i = 0; rc == 0 && i < full->n_layers(a); i++) {
        anon_tensor x, y;
        full->layer_output(a, i, &x, &err);
        if (lean->layer_output(b, i, &y, &err) < 0) {
            if (strstr(err.msg, "not kept") == NULL || i == full->n_layers(a) - 1) {
                snprintf(why, why_len, "layer %d: %.200s", i, err.msg);
                rc = -1;
            }
            continue;
        }
        kept++;
        if (memcmp(x.data, y.data, (size_t)x.c * x.h * x.w * sizeof *x.data) != 0) {
            snprintf(why, why_len, "layer %d differs", i);
            rc = -1;
        }
    }
    *full_bytes = nn_arena_bytes(a);
    *lean_bytes = nn_arena_bytes(b);
    if (rc == 0 && kept == full->n_layers(a)) {
        snprintf(why, why_len, "lean kept all %d layers", kept);
        rc = -1;
    }
done:
    if (b)
        lean->free(b);
    if (a)
        full->free(a);
    return rc;
}

TEST(lean_engine_keeps_outputs_and_saves_memory)
{
    static const char *const cfgs[] = {mixed_cfg, wide_cfg, ssd_like_cfg, tiny_like_cfg,
                                       fused_cfg};
    rng_state = 6;
    for (size_t k = 0; k < sizeof cfgs / sizeof cfgs[0]; k++) {
        files f;
        size_t full = 0, lean = 0;
        char why[256] = "";
        CHECK(make_dir(&f) == 0 && write_text(f.cfg, cfgs[k]) == 0 &&
              write_weights(&f, 2, 0) == 0);
        int rc = lean_matches(f.cfg, f.weights, &full, &lean, why, sizeof why);
        remove_files(&f);
        CHECKF(rc == 0, "cfg %zu: %.200s", k, why);
        CHECKF(lean < full, "cfg %zu: lean %zu bytes, full %zu", k, lean, full);
    }
    /* tiny: its convolutions run fused with the pools after them. */
    static const char *const models[] = {"tiny", "ssd"};
    for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
        char cfg[512], weights[512], why[256] = "";
        size_t full = 0, lean = 0;
        snprintf(cfg, sizeof cfg, "%s/%s.cfg", model_dir(), models[m]);
        snprintf(weights, sizeof weights, "%s/%s.weights", model_dir(), models[m]);
        CHECKF(lean_matches(cfg, weights, &full, &lean, why, sizeof why) == 0, "%s: %.200s",
               models[m], why);
        printf("# %s layer outputs + workspace: %.1f MB kept, %.1f MB lean\n", models[m],
               full / 1048576.0, lean / 1048576.0);
    }
}

/* The detector finds exactly the same boxes with anon-lean as with anon. */
static int detect_with(const char *engine, const anon_model *model, const anon_image *img,
                       anon_boxes *out, anon_error *err)
{
    anon_detector_config cfg = {.model = model, .model_dir = model_dir(), .engine = engine,
                                .threads = 1};
    anon_detector *d = anon_detector_open(&cfg, err);
    if (d == NULL)
        return -1;
    anon_detect_options o;
    anon_detect_options_default(&o, model);
    o.thresh = 0.2f;
    int rc = anon_detect(d, img, &o, out, err);
    anon_detector_close(d);
    return rc;
}

TEST(lean_detector_finds_the_same_faces)
{
    anon_image img = {0};
    CHECKF(demo_photo(1, &img) == 0, "no demo photo in %s (make oracle)", oracle_dir());
    for (int m = 0; m < 2; m++) {
        anon_boxes a = {0}, b = {0};
        anon_error err = {0};
        int rc = detect_with("anon", anon_model_at((size_t)m), &img, &a, &err) |
                 detect_with("anon-lean", anon_model_at((size_t)m), &img, &b, &err);
        int same = rc == 0 && a.n == b.n && a.n > 0 &&
                   memcmp(a.v, b.v, a.n * sizeof *a.v) == 0;
        size_t na = a.n, nb = b.n;
        anon_boxes_free(&a);
        anon_boxes_free(&b);
        if (!same)
            free(img.pixels);
        CHECKF(same, "model %d: %zu vs %zu boxes: %.200s", m, na, nb, err.msg);
    }
    free(img.pixels);
}

/* threads > 1 only lets OpenBLAS split its GEMMs: same outputs. */
TEST(threads_give_the_same_outputs)
{
    char cfg[512], weights[512];
    snprintf(cfg, sizeof cfg, "%s/ssd.cfg", model_dir());
    snprintf(weights, sizeof weights, "%s/ssd.weights", model_dir());
    const anon_engine *e = anon_engine_find("anon-lean");
    anon_error err;
    anon_net *two = e->load(cfg, weights, 2, &err);
    CHECKF(two != NULL, "%.200s", err.msg);
    int c, h, w;
    e->input_shape(two, &c, &h, &w);
    size_t n = (size_t)c * (size_t)h * (size_t)w;
    float *input = malloc(n * sizeof *input);
    fill(input, n, -1, 1);
    anon_tensor t2, t1;
    int rc = e->forward(two, input, &err) ||
             e->layer_output(two, e->n_layers(two) - 1, &t2, &err);
    anon_net *one = e->load(cfg, weights, 1, &err);
    rc = rc || one == NULL || e->forward(one, input, &err) ||
         e->layer_output(one, e->n_layers(one) - 1, &t1, &err);
    double worst = 0;
    for (size_t k = 0; rc == 0 && k < (size_t)t1.c * t1.h * t1.w; k++)
        worst = fmax(worst, fabs(t1.data[k] - t2.data[k]));
    free(input);
    e->free(two);
    if (one)
        e->free(one);
    CHECKF(rc == 0, "%.200s", err.msg);
    CHECKF(worst <= 1e-5, "outputs differ by %g", worst);
}

/* A 4x4 kernel whose first row is not zero is a real 4x4: not shrunk. */
TEST(real_4x4_kernel_is_kept)
{
    rng_state = 4;
    files f;
    anon_error err;
    CHECK(make_dir(&f) == 0);
    CHECK(write_text(f.cfg, "[net]\nwidth=8\nheight=8\nchannels=2\n"
                            "[convolutional]\nfilters=3\nsize=4\nstride=2\npadding=1\n"
                            "activation=linear\n") == 0);
    int32_t head[4] = {0, 1, 0, 0};
    float w[3 + 3 * 2 * 16];
    fill(w, sizeof w / sizeof w[0], -1, 1);
    FILE *fp = fopen(f.weights, "wb");
    CHECK(fp != NULL);
    fwrite(head, sizeof head, 1, fp);
    fwrite(w, sizeof w, 1, fp);
    fclose(fp);
    anon_net *net = nn_engine()->load(f.cfg, f.weights, 1, &err);
    CHECKF(net != NULL, "%.400s", err.msg);
    int shrunk = nn_layer_shrunk(net, 0);
    nn_engine()->free(net);
    remove_files(&f);
    CHECK(shrunk == 0);
}

/* ------------------------------------------------------------ YOLO layers
 *
 * libdarknet has no SiLU, so the layers YOLOv8 needs are checked against
 * nn_reference.h (double precision, textbook loops) instead: element-wise
 * |anon - reference| <= 1e-4 * max(1, |reference|) on every layer, with
 * both engines, at the cfg's input size, at a second size after a reshape
 * and at the first again (the plan is made per size, the arena kept). */

/* C2f-like: SiLU convolutions 1x1 and 3x3 at stride 1 and 2 (few and many
 * taps, channel counts not a multiple of 8), a [route] of one layer, of
 * two, three and four, [shortcut], the SPPF pools (5 / 1, padding 4),
 * [upsample] joined with an earlier layer, linear 1x1 and 3x3 heads. */
static const char yolo_like_cfg[] =
    "[net]\nwidth=40\nheight=24\nchannels=3\n"
    "[convolutional]\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=silu\n"
    "[convolutional]\nfilters=16\nsize=3\nstride=2\npad=1\nactivation=silu\n"
    "[convolutional]\nfilters=8\nsize=1\nstride=1\npad=1\nactivation=silu\n"
    "[route]\nlayers=-2\n"
    "[convolutional]\nfilters=8\nsize=1\nstride=1\npad=1\nactivation=silu\n"
    "[convolutional]\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=silu\n"
    "[convolutional]\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=silu\n"
    "[shortcut]\nfrom=-3\nactivation=linear\n"
    "[route]\nlayers=-6,-4,-1\n"
    "[convolutional]\nfilters=12\nsize=1\nstride=1\npad=1\nactivation=silu\n"
    "[convolutional]\nfilters=20\nsize=3\nstride=2\npad=1\nactivation=silu\n"
    "[maxpool]\nsize=5\nstride=1\npadding=4\n"
    "[maxpool]\nsize=5\nstride=1\npadding=4\n"
    "[maxpool]\nsize=5\nstride=1\npadding=4\n"
    "[route]\nlayers=-4,-3,-2,-1\n"
    "[convolutional]\nfilters=16\nsize=1\nstride=1\nactivation=linear\n"
    "[upsample]\nstride=2\n"
    "[route]\nlayers=-1,9\n"
    "[convolutional]\nfilters=7\nsize=3\nstride=1\npad=1\nactivation=silu\n"
    "[convolutional]\nfilters=5\nsize=1\nstride=1\nactivation=linear\n"
    "[route]\nlayers=-2\n"
    "[convolutional]\nfilters=3\nsize=3\nstride=1\npad=1\nactivation=linear\n"
    "[route]\nlayers=-3,-1\n";

/* Wide and deep enough for the blocked kernel's bands (several per layer
 * at stride 1 and 2), a 5x5 kernel, 1x1 layers over more than 128
 * channels, channel counts of 40, 9 and 200; SiLU on the other kernels too
 * (grouped: GEMM; depthwise); a 9 x 9 stride-1 pool. */
static const char blocked_cfg[] =
    "[net]\nwidth=136\nheight=20\nchannels=3\n"
    "[convolutional]\nfilters=64\nsize=3\nstride=1\npad=1\nactivation=silu\n"
    "[convolutional]\nfilters=40\nsize=3\nstride=1\npad=1\nactivation=silu\n"
    "[convolutional]\nfilters=24\nsize=3\nstride=2\npad=1\nactivation=silu\n"
    "[convolutional]\nfilters=16\nsize=5\nstride=1\npad=1\nactivation=silu\n"
    "[convolutional]\nfilters=200\nsize=1\nstride=1\nactivation=silu\n"
    "[convolutional]\nfilters=9\nsize=1\nstride=1\nactivation=silu\n"
    "[convolutional]\nfilters=6\ngroups=3\nsize=3\nstride=1\npad=1\nactivation=silu\n"
    "[convolutional]\nfilters=6\ngroups=6\nsize=3\nstride=1\npad=1\nactivation=silu\n"
    "[maxpool]\nsize=9\nstride=1\npadding=8\n";

/* Runs engine e's net and the reference on one random input of w x h and
 * compares every layer; the worst element-wise difference in *worst. */
static int reference_pass(const anon_engine *e, anon_net *net, ref_net *ref, int w, int h,
                          double *worst, char *why, size_t why_len)
{
    anon_error err;
    if (e->reshape(net, w, h, &err) < 0) {
        snprintf(why, why_len, "reshape to %dx%d: %.200s", w, h, err.msg);
        return -1;
    }
    ref_shapes(ref, w, h);
    size_t n = (size_t)ref->c * (size_t)w * (size_t)h;
    float *input = malloc(n * sizeof *input);
    fill(input, n, -1.5f, 1.5f);
    ref_forward(ref, input);
    int rc = e->forward(net, input, &err);
    free(input);
    if (rc < 0) {
        snprintf(why, why_len, "forward: %.200s", err.msg);
        return -1;
    }
    for (int i = 0; i < ref->n; i++) {
        const ref_layer *l = &ref->l[i];
        anon_tensor t;
        if (e->layer_output(net, i, &t, &err) < 0)
            continue;   /* anon-lean keeps only the outputs */
        if (t.c != l->oc || t.h != l->oh || t.w != l->ow) {
            snprintf(why, why_len, "%dx%d: layer %d is %dx%dx%d, reference %dx%dx%d", w, h, i,
                     t.c, t.w, t.h, l->oc, l->ow, l->oh);
            return -1;
        }
        for (size_t k = 0; k < (size_t)t.c * t.h * t.w; k++) {
            double d = fabs(t.data[k] - l->out[k]) / fmax(1.0, fabs(l->out[k]));
            if (!(d <= *worst)) {
                *worst = d;
                if (!(d <= TOLERANCE)) {
                    snprintf(why, why_len, "%dx%d: layer %d element %zu: %.7g, reference %.7g",
                             w, h, i, k, t.data[k], l->out[k]);
                    return -1;
                }
            }
        }
    }
    return 0;
}

/* Loads cfg_text with both engines and compares them with the reference at
 * the cfg's size, at w2 x h2 and at the cfg's size again. */
static void check_against_reference(struct check_state *check_ctx_, const char *cfg_text,
                                    int w2, int h2)
{
    static const char *const engines[] = {"anon", "anon-lean"};
    files f;
    ref_net ref;
    ref_parse(&ref, cfg_text);
    ref_shapes(&ref, ref.w, ref.h);
    int w1 = ref.w, h1 = ref.h;
    CHECK(make_dir(&f) == 0 && write_text(f.cfg, cfg_text) == 0 &&
          ref_write_weights(&ref, f.weights, 7) == 0);
    for (size_t k = 0; k < sizeof engines / sizeof engines[0]; k++) {
        const anon_engine *e = anon_engine_find(engines[k]);
        anon_error err;
        anon_net *net = e->load(f.cfg, f.weights, 1, &err);
        char why[400] = "";
        double worst = 0;
        int rc = net ? 0 : -1;
        if (!net)
            snprintf(why, sizeof why, "load: %.200s", err.msg);
        int sizes[3][2] = {{w1, h1}, {w2, h2}, {w1, h1}};
        for (int s = 0; rc == 0 && s < 3; s++)
            rc = reference_pass(e, net, &ref, sizes[s][0], sizes[s][1], &worst, why, sizeof why);
        if (net)
            e->free(net);
        if (rc < 0) {
            ref_free(&ref);
            remove_files(&f);
        }
        CHECKF(rc == 0, "%s: %s", engines[k], why);
        printf("# %s: worst element-wise difference %.3g at %dx%d and %dx%d\n", engines[k],
               worst, w1, h1, w2, h2);
    }
    ref_free(&ref);
    remove_files(&f);
}

TEST(yolo_layers_match_reference)
{
    rng_state = 11;
    check_against_reference(check_ctx_, yolo_like_cfg, 72, 56);
}

TEST(blocked_kernel_matches_reference)
{
    rng_state = 12;
    check_against_reference(check_ctx_, blocked_cfg, 100, 36);
}

/* The vectorized SiLU against x / (1 + exp(-x)) in double, over the whole
 * float range that matters and beyond (where it saturates). */
TEST(silu_is_accurate)
{
    enum { N = 200003 };
    float *v = malloc(2 * N * sizeof *v), *x = v + N;
    for (int i = 0; i < N; i++)
        x[i] = v[i] = (float)(-120.0 + 240.0 * i / (N - 1));
    nn_silu(v, N);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double ref = x[i] / (1 + exp(-(double)x[i]));
        worst = fmax(worst, fabs(v[i] - ref) / fmax(1.0, fabs(ref)));
    }
    free(v);
    printf("# silu: worst error %.3g of max(1, |silu(x)|)\n", worst);
    CHECKF(worst < 1e-6, "silu off by %g", worst);
}

/* A size the network cannot take fails, naming the layer, and leaves the
 * previous plan working. */
TEST(reshape_refuses_sizes_that_do_not_fit)
{
    files f;
    ref_net ref;
    anon_error err;
    ref_parse(&ref, yolo_like_cfg);
    ref_shapes(&ref, ref.w, ref.h);
    CHECK(make_dir(&f) == 0 && write_text(f.cfg, yolo_like_cfg) == 0 &&
          ref_write_weights(&ref, f.weights, 3) == 0);
    const anon_engine *e = anon_engine_find("anon-lean");
    anon_net *net = e->load(f.cfg, f.weights, 1, &err);
    ref_free(&ref);
    remove_files(&f);
    CHECKF(net != NULL, "%.200s", err.msg);
    int bad = e->reshape(net, 42, 26, &err);   /* the upsampled layer misses layer 9 */
    int c, h, w;
    e->input_shape(net, &c, &h, &w);
    float *input = calloc((size_t)c * h * w, sizeof *input);
    int ok = e->forward(net, input, NULL);
    free(input);
    e->free(net);
    CHECK(bad == -1 && strstr(err.msg, "route joins layers") != NULL);
    CHECK(w == 40 && h == 24 && ok == 0);
}

/* ------------------------------------------------------------ bad files */

/* Loads cfg text with a weights file of `floats` zeros; returns the error. */
static int load_bad(const char *cfg_text, size_t floats, char *msg, size_t len)
{
    files f;
    anon_error err = {0};
    if (make_dir(&f) < 0 || write_text(f.cfg, cfg_text) < 0)
        return -1;
    FILE *fp = fopen(f.weights, "wb");
    int32_t head[4] = {0, 1, 0, 0};
    fwrite(head, sizeof head, 1, fp);
    for (size_t i = 0; i < floats; i++) {
        float z = 0;
        fwrite(&z, sizeof z, 1, fp);
    }
    fclose(fp);
    anon_net *net = nn_engine()->load(f.cfg, f.weights, 1, &err);
    snprintf(msg, len, "%s", err.msg);
    if (net)
        nn_engine()->free(net);
    remove_files(&f);
    return net ? 0 : -1;
}

#define NET "[net]\nwidth=8\nheight=8\nchannels=3\n"
#define CHECK_FAILS(cfg, floats, needle)                                                    \
    do {                                                                                    \
        char msg_[512];                                                                     \
        CHECKF(load_bad(cfg, floats, msg_, sizeof msg_) == -1, "loaded: %.300s", cfg);          \
        CHECKF(strstr(msg_, needle) != NULL, "message '%.300s' lacks '%.100s'", msg_, needle);       \
    } while (0)

TEST(bad_cfgs_fail_naming_the_line)
{
    CHECK_FAILS(NET "[yolo]\nmask=0\n", 0, "net.cfg:5: layer type [yolo]");
    CHECK_FAILS(NET "[maxpool]\n[shortcut]\nactivation=linear\n", 0,
                "net.cfg:6: [shortcut] needs from=");
    CHECK_FAILS(NET "[maxpool]\n[shortcut]\nfrom=-1\nactivation=leaky\n", 0,
                "net.cfg:8: [shortcut] supports only activation=linear");
    CHECK_FAILS(NET "[maxpool]\n[shortcut]\nfrom=1\n", 0, "net.cfg:7: from=1: layer 1");
    CHECK_FAILS(NET "[convolutional]\nfilters=2\nactivation=silu\n[maxpool]\nsize=2\nstride=2\n"
                    "[shortcut]\nfrom=-2\n", 100,
                "net.cfg:11: shortcut adds layer 0 (2x8x8) to a 2x4x4 input");
    CHECK_FAILS(NET "[upsample]\nstride=0\n", 0, "net.cfg:6: stride=0");
    CHECK_FAILS(NET "[upsample]\nstride=100000000\n", 0, "net.cfg:5: upsampling 8x8 by");
    CHECK_FAILS(NET "[convolutional]\nfilters=2\ndilation=2\nactivation=linear\n", 100,
                "net.cfg:7: unknown option 'dilation'");
    CHECK_FAILS(NET "[convolutional]\nfilters=2\nactivation=mish\n", 100,
                "net.cfg:7: activation 'mish'");
    CHECK_FAILS(NET "[convolutional]\nfilters=2\n", 100, "net.cfg:5: no activation=");
    CHECK_FAILS(NET "[convolutional]\nfilters=2\nactivation=leaky\n#anon: relu6\n", 100,
                "net.cfg:8: '#anon: relu6' needs activation=relu");
    CHECK_FAILS(NET "[convolutional]\nfilters=2\nactivation=relu\n#anon: gelu\n", 100,
                "net.cfg:8: unknown engine directive");
    CHECK_FAILS(NET "[convolutional]\nfilters=2\nsize=x3\nactivation=relu\n", 100,
                "net.cfg:7: size=x3");
    CHECK_FAILS(NET "[route]\nlayers=-1\n", 0, "net.cfg:6: layers=-1");
    CHECK_FAILS(NET "[convolutional]\nfilters=3\ngroups=2\nactivation=relu\n", 100,
                "net.cfg:5: groups=2");
    CHECK_FAILS(NET "[convolutional]\nfilters=3\nsize=11\nactivation=relu\n", 1000,
                "net.cfg:5: a 11x11 kernel");
    CHECK_FAILS("[convolutional]\nfilters=2\n", 0, "net.cfg:1: the cfg must start with [net]");
    CHECK_FAILS("[net]\nwidth=8\nheight=8\n", 0, "needs width, height and channels");
    CHECK_FAILS(NET "[maxpool]\nsize=2\nstride=2\nflavour=max\n", 0,
                "net.cfg:8: unknown option 'flavour' in [maxpool]");
    CHECK_FAILS(NET "garbage\n", 0, "net.cfg:5: expected key=value");
    CHECK_FAILS("[net]\nwidth=30000\nheight=30000\nchannels=3\n[maxpool]\n", 0,
                "net.cfg:5: layer 0 is too large");
    CHECK_FAILS(NET "[convolutional]\nfilters=2\nstride=2\nactivation=relu\n", 100,
                "net.cfg:5: a 1x1 kernel with stride 2");
}

/* What fuzzing the cfg reader and planner (tests/fuzz/fuzz_nn_cfg.c)
 * showed: sizes past what any layer can hold are refused by the planner
 * before weights are read or buffers allocated, with the line. */
TEST(absurd_sizes_fail_naming_the_line)
{
    /* a kernel whose weights would be 480 GB: it "fits" with pad=1 */
    CHECK_FAILS(NET "[convolutional]\nfilters=4\nsize=100001\npad=1\nactivation=linear\n", 0,
                "net.cfg:5: 4 filters of 3x100001x100001 are too large");
    CHECK_FAILS("[net]\nwidth=1\nheight=1\nchannels=3\n[convolutional]\nfilters=268435456\n"
                "activation=linear\n", 0, "net.cfg:5: 268435456 filters of 3x1x1 are too large");
    /* a stride the direct kernel would make 160 MB of phase planes for */
    CHECK_FAILS(NET "[convolutional]\nfilters=4\nsize=3\nstride=870911\npad=1\n"
                    "activation=leaky\n", 0,
                "net.cfg:5: stride 870911 is larger than the 3x3 kernel");
    /* routes of routes: 2^25 channels x 8 x 8 overflowed the channel count */
    CHECK_FAILS("[net]\nwidth=1\nheight=1\nchannels=1\n[convolutional]\nfilters=33554432\n"
                "activation=linear\n[route]\nlayers=0,0,0,0,0,0,0,0\n"
                "[route]\nlayers=-1,-1,-1,-1,-1,-1,-1,-1\n", 0,
                "net.cfg:10: route joins 2147483648 channels of 1x1: too large");
}

/* A damaged weights header (fuzz_nn_weights): Darknet's version test
 * overflowed an int on a large major version; it is read as Darknet reads
 * it (a major version from 1000 on: a 32-bit `seen`). */
TEST(damaged_weights_header_is_read)
{
    files f;
    anon_error err = {0};
    CHECK(make_dir(&f) == 0 && write_text(f.cfg, NET "[convolutional]\nfilters=2\n"
                                                     "activation=relu\n") == 0);
    FILE *fp = fopen(f.weights, "wb");
    int32_t head[4] = {469762048, 0, 0, 0};   /* major, minor, revision, seen */
    float w[8] = {0};
    CHECK(fp && fwrite(head, sizeof head, 1, fp) == 1 && fwrite(w, sizeof w, 1, fp) == 1);
    if (fp)
        fclose(fp);
    anon_net *net = nn_engine()->load(f.cfg, f.weights, 1, &err);
    remove_files(&f);
    CHECKF(net != NULL, "%.300s", err.msg);
    if (net)
        nn_engine()->free(net);
}

TEST(short_weights_fail_naming_the_layer)
{
    /* layer 1 needs 2 biases + 2*3*9 weights after layer 0's 2 + 2*3 */
    CHECK_FAILS(NET "[convolutional]\nfilters=2\nactivation=relu\n"
                    "[convolutional]\nfilters=2\nsize=3\npad=1\nactivation=relu\n",
                8 + 10, "ends before the weights of layer 1 (cfg line 8)");
    char msg[512];
    CHECK(load_bad(NET "[convolutional]\nfilters=2\nactivation=relu\n", 8, msg, sizeof msg) == 0);
}

TEST(missing_files_fail)
{
    anon_error err;
    CHECK(nn_engine()->load("/nonexistent.cfg", "/nonexistent.weights", 1, &err) == NULL);
    CHECK(strstr(err.msg, "/nonexistent.cfg") != NULL);
    files f;
    CHECK(make_dir(&f) == 0);
    CHECK(write_text(f.cfg, NET "[maxpool]\n") == 0 && write_text(f.weights, "abc") == 0);
    anon_net *net = nn_engine()->load(f.cfg, f.weights, 1, &err);
    remove_files(&f);
    CHECK(net == NULL);
    CHECKF(strstr(err.msg, "too short for a Darknet weights header") != NULL, "%.300s", err.msg);
}

TEST(engine_is_registered)
{
    CHECK(anon_engine_find("anon") == nn_engine());
    CHECK(anon_engine_find("anon-lean") != NULL);
    CHECK(strcmp(anon_engine_default(), "anon-lean") == 0);
}

/* ------------------------------------------------------------ face models */

typedef struct photo {
    unsigned char *rgb;
    int w, h;
} photo;

static int read_jpeg(const char *path, photo *ph)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return -1;
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr jerr;
    cinfo.err = jpeg_std_error(&jerr);
    jpeg_create_decompress(&cinfo);
    jpeg_stdio_src(&cinfo, fp);
    jpeg_read_header(&cinfo, TRUE);
    cinfo.out_color_space = JCS_RGB;
    jpeg_start_decompress(&cinfo);
    ph->w = (int)cinfo.output_width;
    ph->h = (int)cinfo.output_height;
    ph->rgb = malloc((size_t)ph->w * (size_t)ph->h * 3);
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = ph->rgb + (size_t)cinfo.output_scanline * (size_t)ph->w * 3;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    fclose(fp);
    return 0;
}

/* The longer side scaled to the network size (nearest pixel), top-left on a
 * square canvas, CHW, (value - mean) * scale: roughly what detect.c feeds. */
static void photo_input(const photo *ph, int size, float mean, float scale, float *out)
{
    int longer = ph->w > ph->h ? ph->w : ph->h;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++) {
                int sx = x * longer / size, sy = y * longer / size;
                float v = sx < ph->w && sy < ph->h
                              ? ph->rgb[((size_t)sy * (size_t)ph->w + (size_t)sx) * 3 + (size_t)c]
                              : 0.0f;
                out[((size_t)c * (size_t)size + (size_t)y) * (size_t)size + (size_t)x] =
                    (v - mean) * scale;
            }
}

static int model_parity(const char *model, float mean, float scale, parity *p, char *why,
                        size_t why_len)
{
    char cfg[512], weights[512];
    snprintf(cfg, sizeof cfg, "%s/%s.cfg", model_dir(), model);
    snprintf(weights, sizeof weights, "%s/%s.weights", model_dir(), model);
    const anon_engine *e = nn_engine();
    anon_error err;
    anon_net *net = e->load(cfg, weights, 1, &err);
    if (net == NULL) {
        snprintf(why, why_len, "%s (run make models)", err.msg);
        return -1;
    }
    network *dn = load_darknet(cfg, weights, net);
    int c, h, w, rc = 0, photos = 0;
    e->input_shape(net, &c, &h, &w);
    float *input = malloc((size_t)c * (size_t)h * (size_t)w * sizeof *input);
    *p = (parity){0};
    const char *root = getenv("ROOT");
    for (int i = 1; rc == 0 && i <= 6; i += 2) {
        char path[512];
        photo ph;
        snprintf(path, sizeof path, "%s/.cache/face-api/package/demo/sample%d.jpg",
                 root ? root : ".", i);
        if (read_jpeg(path, &ph) < 0)
            continue;
        photo_input(&ph, w, mean, scale, input);
        free(ph.rgb);
        rc = compare(e, net, dn, input, p, why, why_len);
        photos++;
    }
    if (rc == 0 && photos == 0) {
        snprintf(why, why_len, "no demo photos under .cache/face-api (run make models)");
        rc = -1;
    }
    free(input);
    free_network(dn);
    e->free(net);
    return rc;
}

static void check_model(struct check_state *check_ctx_, const char *model, float mean,
                        float scale)
{
    parity p;
    char why[600] = "";
    CHECKF(model_parity(model, mean, scale, &p, why, sizeof why) == 0, "%.400s", why);
    printf("# %s: worst difference %.3g of the layer's scale at layer %d; element-wise %.3g, "
           "%.3g on the outputs\n", model, p.worst, p.worst_layer, p.worst_element,
           p.worst_output);
    CHECKF(p.worst <= TOLERANCE, "layer %d differs by %g", p.worst_layer, p.worst);
    CHECKF(p.worst_output <= TOLERANCE, "an output differs by %g", p.worst_output);
}

TEST(ssd_model_matches_darknet)
{
    check_model(check_ctx_, "ssd", 127.5f, 1 / 127.5f);
}

TEST(tiny_model_matches_darknet)
{
    check_model(check_ctx_, "tiny", 110.0f, 1 / 255.0f);
}

RUN_TESTS("nn",
          CASE(mixed_layers_match_darknet),
          CASE(wide_conv_and_pool_match_darknet),
          CASE(ssd_like_matches_darknet_and_clamps),
          CASE(tiny_like_matches_darknet),
          CASE(real_4x4_kernel_is_kept),
          CASE(yolo_layers_match_reference),
          CASE(blocked_kernel_matches_reference),
          CASE(silu_is_accurate),
          CASE(reshape_refuses_sizes_that_do_not_fit),
          CASE(lean_engine_keeps_outputs_and_saves_memory),
          CASE(lean_detector_finds_the_same_faces),
          CASE(threads_give_the_same_outputs),
          CASE(bad_cfgs_fail_naming_the_line),
          CASE(absurd_sizes_fail_naming_the_line),
          CASE(damaged_weights_header_is_read),
          CASE(short_weights_fail_naming_the_layer),
          CASE(missing_files_fail),
          CASE(engine_is_registered),
          CASE(ssd_model_matches_darknet),
          CASE(tiny_model_matches_darknet))
