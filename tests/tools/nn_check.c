/* nn_check.c - loads a Darknet cfg + weights with the project's engine and
 * runs one pass, for scripts/fuzz-convert: a model the converter wrote
 * (exit 0) must be one the engine takes.
 *
 *   nn_check CFG WEIGHTS [W H]
 *
 * Loads with the "anon" engine, plans it for W x H when given (a YOLO cfg
 * runs at any multiple of 32; small sizes keep the check fast), runs a pass
 * on a grey input and reads every layer's output. Exit 0 when all of that
 * works, 1 with the engine's message on stderr when the engine refuses the
 * model; a crash or a sanitizer report is the finding the fuzzer looks for. */
#include <stdio.h>
#include <stdlib.h>

#include "engine/engine.h"

static int refused(const char *what, const anon_error *err)
{
    fprintf(stderr, "nn_check: %s: %s\n", what, err->msg);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 5) {
        fprintf(stderr, "usage: nn_check CFG WEIGHTS [W H]\n");
        return 2;
    }
    const anon_engine *engine = anon_engine_find("anon");
    anon_error err = {0};
    anon_net *net = engine->load(argv[1], argv[2], 1, &err);
    if (net == NULL)
        return refused("load", &err);
    int rc = 0;
    if (argc == 5 && engine->reshape(net, atoi(argv[3]), atoi(argv[4]), &err) < 0)
        rc = refused("reshape", &err);
    int c, h, w;
    engine->input_shape(net, &c, &h, &w);
    float *in = rc ? NULL : calloc((size_t)c * h * w, sizeof *in);
    for (size_t i = 0; in && i < (size_t)c * h * w; i++)
        in[i] = 0.5f;
    if (rc == 0 && (in == NULL || engine->forward(net, in, &err) < 0))
        rc = refused("forward", &err);
    for (int i = 0; rc == 0 && i < engine->n_layers(net); i++) {
        anon_tensor t;
        if (engine->layer_output(net, i, &t, &err) < 0)
            rc = refused("layer output", &err);
    }
    free(in);
    engine->free(net);
    return rc;
}
