/* nn_net.h - the network as the anon engine holds it, shared by its four
 * stages: the cfg parser (nn_cfg.c), the planner (nn_plan.c: shapes,
 * fusions and the buffer arena), the weight loader (nn_weights.c: folds
 * batch norm, picks each convolution's kernel) and the runtime (nn_run.c:
 * the engine table entries, load and forward). The kernels (nn.h) know
 * nothing of it. */
#ifndef ANON_NN_NET_H
#define ANON_NN_NET_H

#include <stddef.h>

#include "base/error.h"
#include "engine/nn.h"

#define NN_MAX_ROUTE 8
/* Bounds a cfg is held to (nn_plan.c), far above the face models': floats
 * of one layer's output (the kernels index it with int), weights of one
 * convolution, and taps summed for one output value. */
#define NN_MAX_PLANE (1 << 28)
#define NN_MAX_WEIGHTS (1 << 28)
#define NN_MAX_TAPS (1 << 20)
#define NN_ALIGN 64

typedef enum nn_kind {
    NN_CONVOLUTIONAL, NN_MAXPOOL, NN_ROUTE, NN_SHORTCUT, NN_UPSAMPLE
} nn_kind;

/* How a convolution runs: see nn_conv.c, nn_direct.c, nn_depthwise.c,
 * nn_blocked.c. */
typedef enum nn_kernel { NN_GEMM, NN_DIRECT, NN_DEPTHWISE, NN_BLOCKED } nn_kernel;

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
    /* [shortcut]: the layer added to the previous one ([upsample]: stride) */
    int from;
    /* plan */
    nn_conv exec;                   /* the convolution as executed */
    nn_kernel kernel;
    int shrunk;
    int pooled;                     /* lean: runs fused with the [maxpool] after it */
    int into_next;                  /* lean: depthwise, runs inside the 1x1 after it */
    float *weights, *biases;        /* owned */
    float *output;                  /* in the arena, or a route's source */
    int owner;                      /* the layer whose buffer holds the output */
    size_t slice;                   /* where in it (floats) */
    int joined_into;                /* the route whose buffer it is written into, or -1 */
    int joined;                     /* a route whose inputs are written into it */
    int last_read;                  /* last layer reading the owner's buffer */
} nn_layer;

struct anon_net {
    int c, h, w;                    /* the input the plan is for */
    char *cfg_path;                 /* for messages when planned again */
    int unplanned;                  /* a failed reshape could not restore the plan */
    int n;
    nn_layer *layers;
    float *arena;                   /* every layer output, then the workspace */
    size_t arena_floats;            /* allocated: the largest plan's */
    float *work;
    int lean;                       /* reuse buffers; keep only network outputs */
    const float *input;             /* during forward */
};

/* Reads the cfg into net: [net] size and the layers as written (nn_cfg.c). */
int nn_cfg_parse(anon_net *net, const char *path, anon_error *err);

/* Every layer's input and output shape from the [net] size (nn_plan.c). */
int nn_plan_shapes(anon_net *net, const char *path, anon_error *err);

/* Reads the weights of every convolution, folds batch norm, and picks the
 * kernel each convolution runs with (nn_weights.c). */
int nn_weights_load(anon_net *net, const char *path, anon_error *err);

/* Fusions (lean), buffer reuse and the arena with every output's place
 * (nn_plan.c); the arena grows when the plan needs more. */
int nn_plan_buffers(anon_net *net, anon_error *err);

static inline size_t nn_layer_floats(const nn_layer *l)
{
    return (size_t)l->out_c * (size_t)l->out_h * (size_t)l->out_w;
}

/* The [maxpool] that layer l, a pooled convolution, runs with: the next
 * layer. */
static inline nn_pool nn_pool_after(const nn_layer *l)
{
    const nn_layer *p = l + 1;
    return (nn_pool){p->stride, p->padding, p->out_h, p->out_w};
}

/* The depthwise convolution that runs inside layer i, NULL if none. */
static inline const nn_conv *nn_fused_depthwise(const anon_net *net, int i)
{
    return i > 0 && net->layers[i - 1].into_next ? &net->layers[i - 1].exec : NULL;
}

/* The last layer of the fused step that starts at layer i (i: none). */
static inline int nn_step_end(const anon_net *net, int i)
{
    int j = net->layers[i].into_next ? i + 1 : i;
    return net->layers[j].pooled ? j + 1 : j;
}

/* 1 if layer i's output survives a pass (always, unless lean). */
static inline int nn_is_kept(const anon_net *net, int i)
{
    return !net->lean || net->layers[net->layers[i].owner].last_read < 0;
}

#endif
