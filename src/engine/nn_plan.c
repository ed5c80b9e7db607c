/* nn_plan.c - the anon engine's planner: every layer's shape, then where
 * its output lives (see nn_net.h).
 *
 * All layer outputs live in one arena allocated at load time, so
 * layer_output is valid for every layer after a forward pass; a [route] of
 * one layer aliases its source. The "anon-lean" variant reuses a buffer
 * once its last reader has run and keeps only the network's outputs (a
 * third of the memory); it also runs a direct convolution with the 2x2 pool
 * after it and the depthwise convolution before it as one step, a few rows
 * at a time (nn_direct_forward_fused), so their full-size outputs are never
 * stored. */
#include "engine/nn_net.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

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
    if (l->relu6_line) {   /* (planned again for each input size: RELU6 is set by now) */
        if (l->act != NN_RELU && l->act != NN_RELU6)
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
    /* a stride past the kernel skips input pixels, which no face model
     * does, and the direct kernel's phase planes grow with it */
    if (l->stride > l->size)
        return anon_fail(err, "%s:%d: stride %d is larger than the %dx%d kernel (not "
                         "supported)", path, l->line, l->stride, l->size, l->size);
    if (l->h + 2 * l->padding < l->size || l->w + 2 * l->padding < l->size)
        return anon_fail(err, "%s:%d: a %dx%d kernel does not fit the %dx%d input", path,
                         l->line, l->size, l->size, l->w, l->h);
    /* A kernel this size is no face model's, and its weights (read
     * before anything else could refuse them) would be gigabytes. */
    double taps = (double)(l->c / l->groups) * l->size * l->size;
    if (taps > NN_MAX_TAPS || taps * l->filters > NN_MAX_WEIGHTS)
        return anon_fail(err, "%s:%d: %d filters of %dx%dx%d are too large (at most %d taps "
                         "per output and %d weights per layer)", path, l->line, l->filters,
                         l->c / l->groups, l->size, l->size, NN_MAX_TAPS, NN_MAX_WEIGHTS);
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
    long long channels = 0;   /* (each input up to 2^28: their sum may not fit an int) */
    for (int k = 0; k < l->n_inputs; k++) {
        const nn_layer *src = &net->layers[l->inputs[k]];
        if (src->out_h != l->out_h || src->out_w != l->out_w)
            return anon_fail(err, "%s:%d: route joins layers %d (%dx%d) and %d (%dx%d) of "
                             "different sizes", path, l->line, l->inputs[0], l->out_w,
                             l->out_h, l->inputs[k], src->out_w, src->out_h);
        channels += src->out_c;
    }
    if (channels * l->out_h * l->out_w > NN_MAX_PLANE)
        return anon_fail(err, "%s:%d: route joins %lld channels of %dx%d: too large", path,
                         l->line, channels, l->out_w, l->out_h);
    l->out_c = (int)channels;
    return 0;
}

/* [shortcut]: the previous layer plus layer `from`, of the same shape. */
static int shortcut_shape(anon_net *net, nn_layer *l, const char *path, anon_error *err)
{
    if (l->from < 0)
        return anon_fail(err, "%s:%d: [shortcut] needs from=", path, l->line);
    const nn_layer *src = &net->layers[l->from];
    if (src->out_c != l->c || src->out_h != l->h || src->out_w != l->w)
        return anon_fail(err, "%s:%d: shortcut adds layer %d (%dx%dx%d) to a %dx%dx%d input",
                         path, l->line, l->from, src->out_c, src->out_w, src->out_h, l->c,
                         l->w, l->h);
    l->out_c = l->c;
    l->out_h = l->h;
    l->out_w = l->w;
    return 0;
}

static int upsample_shape(nn_layer *l, const char *path, anon_error *err)
{
    if ((long long)l->h * l->stride > (1 << 28) || (long long)l->w * l->stride > (1 << 28))
        return anon_fail(err, "%s:%d: upsampling %dx%d by %d is too large", path, l->line,
                         l->w, l->h, l->stride);
    l->out_c = l->c;
    l->out_h = l->h * l->stride;
    l->out_w = l->w * l->stride;
    return 0;
}

static int layer_shape(anon_net *net, nn_layer *l, const char *path, anon_error *err)
{
    switch (l->kind) {
    case NN_CONVOLUTIONAL:
        return conv_shape(l, path, err);
    case NN_MAXPOOL:
        return maxpool_shape(l, path, err);
    case NN_ROUTE:
        return route_shape(net, l, path, err);
    case NN_SHORTCUT:
        return shortcut_shape(net, l, path, err);
    case NN_UPSAMPLE:
        return upsample_shape(l, path, err);
    }
    return anon_fail(err, "%s:%d: unknown layer kind", path, l->line);
}

int nn_plan_shapes(anon_net *net, const char *path, anon_error *err)
{
    int c = net->c, h = net->h, w = net->w;
    for (int i = 0; i < net->n; i++) {
        nn_layer *l = &net->layers[i];
        l->c = c;
        l->h = h;
        l->w = w;
        if (layer_shape(net, l, path, err) < 0)
            return -1;
        /* the kernels index a plane with int; 2^28 floats is 1 GB anyway */
        if ((size_t)l->out_c * (size_t)l->out_h * (size_t)l->out_w > NN_MAX_PLANE ||
            (size_t)l->c * (size_t)l->h * (size_t)l->w > NN_MAX_PLANE)
            return anon_fail(err, "%s:%d: layer %d is too large (%dx%dx%d)", path, l->line, i,
                             l->out_c, l->out_h, l->out_w);
        /* a convolution runs as its exec (nn_weights.c), which follows
         * the shape when it is planned again for another input size */
        l->exec.h = l->h;
        l->exec.w = l->w;
        l->exec.out_h = l->out_h;
        l->exec.out_w = l->out_w;
        c = l->out_c;
        h = l->out_h;
        w = l->out_w;
    }
    return 0;
}

/* ------------------------------------------------------------ buffers */

static size_t round_up(size_t n)
{
    size_t per = NN_ALIGN / sizeof(float);
    return (n + per - 1) / per * per;
}

static size_t work_floats(const anon_net *net, int i)
{
    const nn_layer *l = &net->layers[i];
    if (l->kind == NN_MAXPOOL && nn_maxpool_same(l->size, l->stride, l->padding))
        return nn_maxpool_same_work_size(l->h, l->w, l->size);
    if (l->kind != NN_CONVOLUTIONAL)
        return 0;
    if (l->pooled || nn_fused_depthwise(net, i)) {
        nn_pool pool = l->pooled ? nn_pool_after(l) : (nn_pool){0};
        return nn_direct_fused_work_size(&l->exec, nn_fused_depthwise(net, i),
                                         l->pooled ? &pool : NULL);
    }
    switch (l->kernel) {
    case NN_DEPTHWISE:
        return nn_depthwise_work_size(&l->exec);
    case NN_DIRECT:
        return nn_direct_work_size(&l->exec);
    case NN_BLOCKED:
        return nn_blocked_work_size(&l->exec);
    default:
        return nn_conv_work_size(&l->exec);
    }
}

/* Joins: a [route] of several layers gets its inputs written straight
 * into its own buffer, one after the other (on CHW tensors a channel
 * concatenation is contiguous), so that it copies nothing; unless an input
 * is a route itself, or joined into another route already, or appears
 * twice. */
static void plan_joins(anon_net *net)
{
    for (int i = 0; i < net->n; i++) {
        net->layers[i].joined_into = -1;
        net->layers[i].slice = 0;
        net->layers[i].joined = 0;
    }
    for (int j = 0; j < net->n; j++) {
        nn_layer *r = &net->layers[j];
        int ok = r->kind == NN_ROUTE && r->n_inputs > 1;
        for (int k = 0; ok && k < r->n_inputs; k++) {
            const nn_layer *x = &net->layers[r->inputs[k]];
            ok = x->kind != NN_ROUTE && x->joined_into < 0;
            for (int m = 0; ok && m < k; m++)
                ok = r->inputs[m] != r->inputs[k];
        }
        size_t slice = 0;
        for (int k = 0; ok && k < r->n_inputs; k++) {
            nn_layer *x = &net->layers[r->inputs[k]];
            x->joined_into = j;
            x->slice = slice;
            slice += nn_layer_floats(x);
        }
        r->joined = ok;
    }
}

/* The layer whose buffer holds layer i's output, and where in it: a route
 * of one layer aliases its source, a joined layer its route's buffer. */
static void set_owner(anon_net *net, int i)
{
    nn_layer *l = &net->layers[i];
    l->owner = i;
    if (l->kind == NN_ROUTE && l->n_inputs == 1) {
        l->owner = net->layers[l->inputs[0]].owner;
        l->slice = net->layers[l->inputs[0]].slice;
    } else if (l->joined_into >= 0) {
        l->owner = l->joined_into;
    }
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
        set_owner(net, i);
        net->layers[i].last_read = -1;
    }
    for (int j = 0; j < net->n; j++) {
        const nn_layer *l = &net->layers[j];
        if (l->kind != NN_ROUTE && j > 0)
            mark_read(net, net->layers[j - 1].owner, j);
        /* (a joined route reads nothing: its inputs are its buffer) */
        for (int k = 0; l->kind == NN_ROUTE && l->n_inputs > 1 && !l->joined && k < l->n_inputs;
             k++)
            mark_read(net, net->layers[l->inputs[k]].owner, j);
        if (l->kind == NN_SHORTCUT)
            mark_read(net, net->layers[l->from].owner, j);
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
        if (nn_step_end(net, i) > i && !net->layers[i - 1].into_next)
            mark_read(net, net->layers[i - 1].owner, nn_step_end(net, i));
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
    for (int j = 0; j < net->n; j++)
        offset[j] = SIZE_MAX;
    for (int j = 0; j < net->n; j++) {
        const nn_layer *l = &net->layers[j];
        int b = l->owner;   /* a joined route's buffer is made with its first input */
        if (offset[b] == SIZE_MAX && !l->pooled && !l->into_next) {
            size_t len = round_up(nn_layer_floats(&net->layers[b]));
            offset[b] = place(live, &n_live, len, b, cap, alternate && (turn++ & 1));
            if (offset[b] == SIZE_MAX)
                return SIZE_MAX;
            total = offset[b] + len > total ? offset[b] + len : total;
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
 * 32 for SSD MobileNet at 512), else the lowest-gap layout's. Planned again
 * for each new input size; the arena only ever grows, to the largest. */
int nn_plan_buffers(anon_net *net, anon_error *err)
{
    plan_joins(net);
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
    size_t need = total + round_up(work + 1);
    if (need > net->arena_floats) {   /* else the arena of a larger input size serves */
        free(net->arena);
        net->arena_floats = 0;
        net->arena = arena_alloc(need * sizeof(float));
        if (net->arena == NULL) {
            free(offset);
            return anon_fail(err, "out of memory for the %zu MB of layer outputs",
                             (total + work) * sizeof(float) >> 20);
        }
        net->arena_floats = need;
    }
    for (int i = 0; i < net->n; i++)   /* (fused-away layers have no buffer: NULL) */
        net->layers[i].output = offset[net->layers[i].owner] == SIZE_MAX
                                    ? NULL
                                    : net->arena + offset[net->layers[i].owner] +
                                          net->layers[i].slice;
    free(offset);
    net->work = net->arena + total;
    return 0;
}

