/* fuzz_nn.h - what the anon engine's harnesses (fuzz_nn_cfg.c,
 * fuzz_nn_weights.c) share: the engine reads its cfg and weights by path,
 * so each input goes into a memory file opened by /proc/self/fd; and a
 * network that loaded is run, on both runtime variants, so that what the
 * readers accepted is also what the planner and the kernels can take. */
#ifndef ANON_FUZZ_NN_H
#define ANON_FUZZ_NN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine/nn.h"
#include "engine/nn_net.h"

/* A memory file; *path receives the name that opens it. */
static inline int fuzz_nn_memfile(const char *name, char path[64])
{
    int fd = memfd_create(name, 0);
    if (fd < 0)
        __builtin_trap();
    snprintf(path, 64, "/proc/self/fd/%d", fd);
    return fd;
}

/* The two memory files a harness writes its cfg and weights into, made
 * on the first call and reused for every input. */
typedef struct fuzz_nn_files {
    int cfg_fd, weights_fd;
    char cfg[64], weights[64];
} fuzz_nn_files;

static inline fuzz_nn_files *fuzz_nn_files_get(void)
{
    static fuzz_nn_files f = {.cfg_fd = -1, .weights_fd = -1};
    if (f.cfg_fd < 0) {
        f.cfg_fd = fuzz_nn_memfile("cfg", f.cfg);
        f.weights_fd = fuzz_nn_memfile("weights", f.weights);
    }
    return &f;
}

/* Replaces the memory file's content with data. */
static inline void fuzz_nn_fill(int fd, const void *data, size_t size)
{
    if (ftruncate(fd, 0) < 0 || (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size))
        __builtin_trap();
}

/* A refusal must say why. */
static inline void fuzz_nn_refused(const anon_error *err)
{
    if (err->msg[0] == '\0')
        __builtin_trap();
}

/* Loads cfg + weights with `engine` and, when that works, runs a pass on
 * a fixed input and reads every layer's output (the lean variant keeps
 * only some); then the same at a second input size when `reshape_w` > 0. */
static inline void fuzz_nn_run(const anon_engine *engine, const char *cfg, const char *weights,
                               int reshape_w, int reshape_h)
{
    anon_error err = {0};
    anon_net *net = engine->load(cfg, weights, 1, &err);
    if (net == NULL) {
        fuzz_nn_refused(&err);
        return;
    }
    for (int pass = 0; pass < 2; pass++) {
        int c, h, w;
        engine->input_shape(net, &c, &h, &w);
        size_t n = (size_t)c * (size_t)h * (size_t)w;
        float *in = malloc(n * sizeof *in);
        if (in == NULL)
            __builtin_trap();
        for (size_t i = 0; i < n; i++)
            in[i] = (float)(i % 17) / 16.0f - 0.25f;
        if (engine->forward(net, in, &err) < 0)
            fuzz_nn_refused(&err);
        else
            for (int i = 0; i < engine->n_layers(net); i++) {
                anon_tensor t;
                if (engine->layer_output(net, i, &t, &err) == 0 && t.c * t.h * t.w > 0)
                    (void)*(volatile const float *)&t.data[(size_t)t.c * t.h * t.w - 1];
            }
        free(in);
        if (pass == 1 || reshape_w <= 0 || engine->reshape == NULL)
            break;
        if (engine->reshape(net, reshape_w, reshape_h, &err) < 0) {
            fuzz_nn_refused(&err);
            break;
        }
    }
    engine->free(net);
}

#endif
