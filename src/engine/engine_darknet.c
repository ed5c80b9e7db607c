/* engine_darknet.c - the "darknet" engine: Debian's libdarknet (see engine.h).
 *
 * The reference engine and test oracle for the project's own engine. It runs
 * the converted face models with load_network / network_predict and reads
 * every layer's output from net->layers[i].output. Two things libdarknet
 * does not do are added here:
 *   - ReLU6: scripts/convert-model marks such layers with the comment line
 *     `#anon: relu6` after `activation=relu`; their public `forward` pointer
 *     is wrapped to clamp the output at 6 after the normal forward.
 *   - Quiet, safe loading: libdarknet prints its layer table to stderr and
 *     calls exit() on a file it cannot open, so files are checked first, the
 *     cfg may only use the section types our models use, stderr is silenced
 *     while it loads, and the weights file size is checked afterwards
 *     (libdarknet silently reads short files).
 *   - Opened on first use (dlopen), not linked: libdarknet's dependencies
 *     (OpenCV, Qt, GStreamer) add about 78 MB of resident memory to every
 *     process that links it, and the default engine does not need it.
 * libdarknet (this build) is single-threaded: `threads` is ignored. */
#include <darknet.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/engine.h"

#ifndef ANON_DARKNET_LIB
#define ANON_DARKNET_LIB "/usr/lib/darknet/libdarknet.so"   /* Debian's darknet */
#endif

/* The libdarknet functions used here, resolved once by open_darknet() and
 * read-only after that. forward_convolutional_layer is exported but not
 * declared in darknet.h. */
static struct {
    network *(*load_network)(char *cfg, char *weights, int clear);
    float *(*network_predict)(network *net, float *input);
    void (*free_network)(network *net);
    void (*forward_convolutional_layer)(layer l, network net);
    char error[256];
} dn;
static pthread_once_t dn_once = PTHREAD_ONCE_INIT;

static void open_darknet(void)
{
    void *lib = dlopen(ANON_DARKNET_LIB, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(dn.error, sizeof dn.error, "%s", dlerror());
        return;
    }
    /* POSIX: a dlsym result converts to a function pointer this way */
    *(void **)&dn.load_network = dlsym(lib, "load_network");
    *(void **)&dn.network_predict = dlsym(lib, "network_predict");
    *(void **)&dn.free_network = dlsym(lib, "free_network");
    *(void **)&dn.forward_convolutional_layer = dlsym(lib, "forward_convolutional_layer");
    if (!dn.load_network || !dn.network_predict || !dn.free_network ||
        !dn.forward_convolutional_layer)
        snprintf(dn.error, sizeof dn.error, "%s lacks a function this engine needs",
                 ANON_DARKNET_LIB);
}

static int darknet_ready(anon_error *err)
{
    pthread_once(&dn_once, open_darknet);
    return dn.error[0] ? anon_fail(err, "darknet engine: %s", dn.error) : 0;
}

struct anon_net {
    network *net;
    size_t input_len;   /* floats in net->input, libdarknet's own buffer */
};

/* The conventions scripts/convert-model writes (see its header comment). */
#define RELU6_MARK "#anon: relu6"
#define MAX_LAYERS 1024

static void relu6_forward(layer l, network net)
{
    dn.forward_convolutional_layer(l, net);
    size_t n = (size_t)l.outputs * (size_t)l.batch;
    for (size_t i = 0; i < n; i++)
        if (l.output[i] > 6.0f)
            l.output[i] = 6.0f;
}

static int known_section(const char *line)
{
    static const char *const known[] = {"[net]", "[network]", "[convolutional]",
                                        "[conv]", "[maxpool]", "[max]", "[route]"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strncmp(line, known[i], strlen(known[i])) == 0)
            return 1;
    return 0;
}

/* Reads the cfg once before libdarknet does: rejects section types it would
 * mishandle and records which layers carry the relu6 mark. */
static int scan_cfg(const char *path, unsigned char *relu6, int *n_layers,
                    anon_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return anon_fail(err, "%s: %s", path, strerror(errno));
    char line[512];
    int layer = -2;   /* -1 while in [net], then 0, 1, ... */
    int rc = 0;
    while (fgets(line, sizeof line, f)) {
        char *s = line + strspn(line, " \t");
        if (s[0] == '[') {
            if (!known_section(s)) {
                s[strcspn(s, "\r\n")] = '\0';
                rc = anon_fail(err, "%s: unsupported section %s", path, s);
                break;
            }
            if (++layer >= MAX_LAYERS) {
                rc = anon_fail(err, "%s: more than %d layers", path, MAX_LAYERS);
                break;
            }
            if (layer == -1 && strncmp(s, "[net", 4) != 0) {
                rc = anon_fail(err, "%s: does not start with [net]", path);
                break;
            }
        } else if (strncmp(s, RELU6_MARK, strlen(RELU6_MARK)) == 0 && layer >= 0) {
            relu6[layer] = 1;
        } else if (strncmp(s, "activation", 10) == 0 &&
                   (strstr(s, "silu") != NULL || strstr(s, "swish") != NULL)) {
            /* libdarknet would run it as relu, saying so on stderr only */
            rc = anon_fail(err, "%s: unsupported activation silu", path);
            break;
        }
    }
    if (rc == 0 && ferror(f))
        rc = anon_fail(err, "%s: read error", path);
    if (rc == 0 && layer < 0)
        rc = anon_fail(err, "%s: no layers", path);
    fclose(f);
    *n_layers = layer + 1;
    return rc;
}

static int readable_file(const char *path, off_t *size, anon_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return anon_fail(err, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return anon_fail(err, "%s: not a regular file", path);
    if (access(path, R_OK) != 0)
        return anon_fail(err, "%s: %s", path, strerror(errno));
    *size = st.st_size;
    return 0;
}

/* libdarknet writes its layer table to stderr while loading. stderr is the
 * process's, so silencing it is serialised; it only spans the load. */
static pthread_mutex_t quiet_lock = PTHREAD_MUTEX_INITIALIZER;

static network *load_quietly(const char *cfg, const char *weights)
{
    pthread_mutex_lock(&quiet_lock);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved >= 0 && null >= 0)
        dup2(null, STDERR_FILENO);
    network *net = dn.load_network((char *)cfg, (char *)weights, 0);
    fflush(stderr);
    if (saved >= 0 && null >= 0)
        dup2(saved, STDERR_FILENO);
    if (null >= 0)
        close(null);
    if (saved >= 0)
        close(saved);
    pthread_mutex_unlock(&quiet_lock);
    return net;
}

/* Bytes libdarknet reads from the weights file for this network. */
static off_t expected_weights_size(const network *net)
{
    off_t bytes = 3 * sizeof(int) + sizeof(size_t);
    for (int i = 0; i < net->n; i++) {
        const layer *l = &net->layers[i];
        if (l->type == CONVOLUTIONAL)
            bytes += (off_t)sizeof(float) *
                     (l->n + l->nweights + (l->batch_normalize ? 3 * l->n : 0));
    }
    return bytes;
}

static int wrap_relu6(network *net, const unsigned char *relu6, anon_error *err)
{
    for (int i = 0; i < net->n; i++) {
        if (!relu6[i])
            continue;
        layer *l = &net->layers[i];
        if (l->type != CONVOLUTIONAL || l->activation != RELU ||
            l->forward != dn.forward_convolutional_layer)
            return anon_fail(err, "layer %d: relu6 mark on a layer that is not a relu convolution", i);
        l->forward = relu6_forward;
    }
    return 0;
}

static void dn_free(anon_net *n)
{
    if (!n)
        return;
    if (n->net) {
        /* this free_network() leaves these behind (LeakSanitizer shows it) */
        free(n->net->workspace);
        free(n->net->seen);
        free(n->net->t);
        free(n->net->cost);
        dn.free_network(n->net);
    }
    free(n);
}

static anon_net *dn_load(const char *cfg, const char *weights, int threads, anon_error *err)
{
    (void)threads;
    off_t cfg_size, weights_size;
    if (darknet_ready(err) || readable_file(cfg, &cfg_size, err) ||
        readable_file(weights, &weights_size, err))
        return NULL;
    unsigned char *relu6 = calloc(MAX_LAYERS, 1);
    anon_net *n = calloc(1, sizeof *n);
    int n_layers = 0;
    if (!relu6 || !n) {
        anon_fail(err, "out of memory");
        goto fail;
    }
    if (scan_cfg(cfg, relu6, &n_layers, err))
        goto fail;
    n->net = load_quietly(cfg, weights);
    if (!n->net || n->net->n != n_layers) {
        anon_fail(err, "%s: libdarknet could not parse it", cfg);
        goto fail;
    }
    if (weights_size < expected_weights_size(n->net)) {
        anon_fail(err, "%s: %lld bytes, the network in %s needs %lld", weights,
                  (long long)weights_size, cfg, (long long)expected_weights_size(n->net));
        goto fail;
    }
    if (wrap_relu6(n->net, relu6, err)) {
        anon_fail_prefix(err, "%s: ", cfg);
        goto fail;
    }
    n->input_len = (size_t)n->net->c * (size_t)n->net->h * (size_t)n->net->w;
    if (!n->net->input || n->input_len == 0) {
        anon_fail(err, "%s: bad input shape", cfg);
        goto fail;
    }
    free(relu6);
    return n;
fail:
    free(relu6);
    dn_free(n);
    return NULL;
}

static void dn_input_shape(const anon_net *n, int *c, int *h, int *w)
{
    *c = n->net->c; *h = n->net->h; *w = n->net->w;
}

static int dn_n_layers(const anon_net *n) { return n->net->n; }

static int dn_forward(anon_net *n, const float *input, anon_error *err)
{
    if (!input)
        return anon_fail(err, "no input");
    memcpy(n->net->input, input, n->input_len * sizeof *input);
    dn.network_predict(n->net, n->net->input);
    return 0;
}

static int dn_layer_output(const anon_net *n, int i, anon_tensor *out, anon_error *err)
{
    if (i < 0 || i >= n->net->n)
        return anon_fail(err, "layer %d out of range (0..%d)", i, n->net->n - 1);
    const layer *l = &n->net->layers[i];
    out->data = l->output;
    out->c = l->out_c;
    out->h = l->out_h;
    out->w = l->out_w;
    return 0;
}

const anon_engine anon_engine_darknet = {
    .name = "darknet",
    .load = dn_load,
    .input_shape = dn_input_shape,
    .n_layers = dn_n_layers,
    .forward = dn_forward,
    .layer_output = dn_layer_output,
    .free = dn_free,
};
