/* engine.h - runs a Darknet-format network (.cfg + .weights).
 *
 * The face models are stored as Darknet .cfg + .weights. Two engines run
 * them behind this one interface: "darknet" (Debian's libdarknet, the
 * reference and test oracle) and "anon" (the project's own engine, tuned
 * for the few layer types the models use). detect.c picks one by name and
 * never needs to know which it got. */
#ifndef ANON_ENGINE_H
#define ANON_ENGINE_H

#include "base/error.h"

/* A layer's output, CHW planar float, owned by the network (valid until the
 * next forward or free). */
typedef struct anon_tensor {
    const float *data;
    int c, h, w;
} anon_tensor;

typedef struct anon_net anon_net;   /* defined by each engine */

typedef struct anon_engine {
    const char *name;
    anon_net *(*load)(const char *cfg_path, const char *weights_path, int threads,
                      anon_error *err);
    /* Input shape: the cfg's [net] section, or the last reshape's. */
    void (*input_shape)(const anon_net *net, int *c, int *h, int *w);
    int (*n_layers)(const anon_net *net);
    /* Runs the network on one CHW planar RGB input of input_shape. */
    int (*forward)(anon_net *net, const float *input, anon_error *err);
    /* Output of layer i (0-based, cfg order) after forward. */
    int (*layer_output)(const anon_net *net, int i, anon_tensor *out, anon_error *err);
    void (*free)(anon_net *net);
    /* Plans the network for a w x h input instead (channels stay); the
     * plan of the last size is kept, the memory of the largest. NULL where
     * an engine runs only the cfg's size. */
    int (*reshape)(anon_net *net, int w, int h, anon_error *err);
} anon_engine;

/* Finds an engine by name ("darknet", "anon"); NULL if unknown. */
const anon_engine *anon_engine_find(const char *name);
/* The engine used when none is named. */
const char *anon_engine_default(void);

#endif
