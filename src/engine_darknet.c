/* engine_darknet.c - the "darknet" engine: Debian's libdarknet (placeholder
 * until the model work lands; see engine.h). */
#include <darknet.h>

#include "engine.h"

struct anon_net {
    network *net;
};

static anon_net *dn_load(const char *cfg, const char *weights, int threads, anon_error *err)
{
    (void)cfg; (void)weights; (void)threads;
    anon_fail(err, "darknet engine not built yet");
    return NULL;
}
static void dn_input_shape(const anon_net *n, int *c, int *h, int *w)
{
    *c = n->net->c; *h = n->net->h; *w = n->net->w;
}
static int dn_n_layers(const anon_net *n) { return n->net->n; }
static int dn_forward(anon_net *n, const float *input, anon_error *err)
{
    (void)n; (void)input;
    return anon_fail(err, "not built yet");
}
static int dn_layer_output(const anon_net *n, int i, anon_tensor *out, anon_error *err)
{
    (void)n; (void)i; (void)out;
    return anon_fail(err, "not built yet");
}
static void dn_free(anon_net *n) { (void)n; }

const anon_engine anon_engine_darknet = {
    .name = "darknet",
    .load = dn_load,
    .input_shape = dn_input_shape,
    .n_layers = dn_n_layers,
    .forward = dn_forward,
    .layer_output = dn_layer_output,
    .free = dn_free,
};
