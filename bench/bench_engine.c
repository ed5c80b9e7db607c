/* bench_engine.c - times the inference engines on the converted face models.
 *
 *   build/bench_engine [-p PASSES] [-e ENGINE] [-m MODEL] [-r | -l] MODEL_DIR
 *
 * For each model (ssd, tiny, and YOLOv8n-face as yolo-640 and yolo-1024:
 * inputs of 640 x 480 and 1024 x 768, a 4:3 photo at those long sides)
 * and engine (anon, darknet; anon-lean when named with -e; libdarknet
 * cannot run YOLO) prints one line
 *   model=tiny engine=anon ms=8.1 best=7.9 cpu=7.9 gflop=0.403 gflops=49.6
 * with the median and the best time of PASSES passes after one warm-up
 * pass (GFLOP/s from the median; the best shows what a quiet machine
 * gives when other processes share the cores), the median thread CPU time
 * of a pass (what the pass itself cost when the cores are shared), and the
 * GFLOP count taken from the cfg (nn_flops: 2 x multiply-adds as written),
 * the same count for every engine. With -r it loads one network, runs one
 * pass and prints the process's peak RSS instead (rss_mb=..., and net_mb=
 * the part above the process's RSS before loading); with -l the CPU time
 * of each layer (the fastest of PASSES, anon-lean), one line per layer.
 * Used by scripts/bench-engine, which adds OpenCV DNN beside it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/engine.h"
#include "engine/nn.h"

static double clock_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double now_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

/* A model as benchmarked: its files and the input it runs at (0: the
 * cfg's). */
typedef struct bench_model {
    const char *label, *file;
    int w, h;
} bench_model;

static const bench_model models[] = {
    {"tiny", "tiny", 0, 0},
    {"ssd", "ssd", 0, 0},
    {"yolo-640", "yolo", 640, 480},
    {"yolo-1024", "yolo", 1024, 768},
};

/* A line of /proc/self/status in kB: VmHWM is this process's peak resident
 * set (getrusage's ru_maxrss also counts what it had before exec). */
static long status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    size_t len = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, len) == 0)
            kb = atol(line + len);
    if (f)
        fclose(f);
    return kb;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The cfg's FLOP count at the model's input, from the anon engine's parse. */
static double model_flops(const bench_model *m, const char *cfg, const char *weights)
{
    anon_error err;
    anon_net *net = nn_engine()->load(cfg, weights, 1, &err);
    if (net == NULL)
        return 0;
    double flops = m->w == 0 || nn_engine()->reshape(net, m->w, m->h, &err) == 0 ? nn_flops(net)
                                                                                 : 0;
    nn_engine()->free(net);
    return flops;
}

/* Loads m with engine e at its input size; prints an error line if it cannot. */
static anon_net *load_model(const char *dir, const bench_model *m, const char *engine,
                            const anon_engine *e, char *cfg, char *weights, size_t len)
{
    anon_error err;
    snprintf(cfg, len, "%s/%s.cfg", dir, m->file);
    snprintf(weights, len, "%s/%s.weights", dir, m->file);
    anon_net *net = e ? e->load(cfg, weights, 1, &err) : NULL;
    if (net && m->w > 0 && (!e->reshape || e->reshape(net, m->w, m->h, &err) < 0)) {
        if (!e->reshape)
            snprintf(err.msg, sizeof err.msg, "runs only the cfg's input size");
        e->free(net);
        net = NULL;
    }
    if (net == NULL)
        printf("model=%s engine=%s error=\"%s\"\n", m->label, engine,
               e ? err.msg : "no such engine");
    return net;
}

static float *random_input(const anon_engine *e, const anon_net *net)
{
    int c, h, w;
    e->input_shape(net, &c, &h, &w);
    size_t n = (size_t)c * (size_t)h * (size_t)w;
    float *input = malloc(n * sizeof *input);
    srand(1);
    for (size_t i = 0; i < n; i++)
        input[i] = (float)rand() / RAND_MAX * 2 - 1;
    return input;
}

/* -l: each layer's CPU time, the fastest of `passes`. */
static int profile(const char *dir, const bench_model *m, int passes)
{
    char cfg[1024], weights[1024];
    const anon_engine *e = anon_engine_find("anon-lean");
    anon_net *net = load_model(dir, m, "anon-lean", e, cfg, weights, sizeof cfg);
    if (net == NULL)
        return -1;
    int n = e->n_layers(net), rc = 0;
    float *input = random_input(e, net);
    double *ms = calloc((size_t)n, sizeof *ms), *best = calloc((size_t)n, sizeof *best);
    anon_error err;
    for (int p = 0; rc == 0 && p <= passes; p++) {
        rc = nn_forward_profile(net, input, ms, &err);
        for (int i = 0; i < n; i++)
            best[i] = p == 1 || ms[i] < best[i] ? ms[i] : best[i];   /* pass 0: warm-up */
    }
    for (int i = 0; rc == 0 && i < n; i++)
        printf("model=%s layer=%d kind=%s cpu=%.3f gflop=%.4f gflops=%.1f\n", m->label, i,
               nn_layer_kind(net, i), best[i], nn_layer_flops(net, i) / 1e9,
               best[i] > 0 ? nn_layer_flops(net, i) / best[i] / 1e6 : 0.0);
    free(ms);
    free(best);
    free(input);
    e->free(net);
    return rc;
}

static int bench(const char *dir, const bench_model *m, const char *engine, int passes, int rss)
{
    char cfg[1024], weights[1024];
    const char *model = m->label;
    const anon_engine *e = anon_engine_find(engine);
    anon_error err;
    long base_kb = status_kb("VmRSS:");
    anon_net *net = load_model(dir, m, engine, e, cfg, weights, sizeof cfg);
    if (net == NULL)
        return -1;
    float *input = random_input(e, net);
    double *ms = malloc((size_t)(passes + 1) * sizeof *ms);
    double *cpu = malloc((size_t)(passes + 1) * sizeof *cpu);
    int rc = 0;
    for (int i = 0; rc == 0 && i <= (rss ? 0 : passes); i++) {
        double t0 = now_ms(), c0 = clock_ms(CLOCK_THREAD_CPUTIME_ID);
        rc = e->forward(net, input, &err);
        ms[i] = now_ms() - t0;
        cpu[i] = clock_ms(CLOCK_THREAD_CPUTIME_ID) - c0;
    }
    if (rc < 0) {
        printf("model=%s engine=%s error=\"%s\"\n", model, engine, err.msg);
    } else if (rss) {
        printf("model=%s engine=%s rss_mb=%.1f net_mb=%.1f\n", model, engine,
               status_kb("VmHWM:") / 1024.0, (status_kb("VmHWM:") - base_kb) / 1024.0);
    } else {
        qsort(ms + 1, (size_t)passes, sizeof *ms, cmp_double);
        qsort(cpu + 1, (size_t)passes, sizeof *cpu, cmp_double);
        double median = ms[1 + passes / 2], gflop = model_flops(m, cfg, weights) / 1e9;
        printf("model=%s engine=%s ms=%.2f best=%.2f cpu=%.2f gflop=%.3f gflops=%.1f\n", model,
               engine, median, ms[1], cpu[1 + passes / 2], gflop, gflop / (median / 1e3));
    }
    fflush(stdout);
    free(ms);
    free(cpu);
    free(input);
    e->free(net);
    return rc;
}

int main(int argc, char **argv)
{
    int passes = 20, rss = 0, layers = 0, opt;
    const char *only_engine = NULL, *only_model = NULL;
    static const char usage[] = "usage: %s [-p PASSES] [-e ENGINE] [-m MODEL] [-r | -l] MODEL_DIR\n";
    while ((opt = getopt(argc, argv, "p:e:m:rl")) != -1) {
        switch (opt) {
        case 'p': passes = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
        case 'e': only_engine = optarg; break;
        case 'm': only_model = optarg; break;
        case 'r': rss = 1; break;
        case 'l': layers = 1; break;
        default:
            fprintf(stderr, usage, argv[0]);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, usage, argv[0]);
        return 2;
    }
    static const char *const engines[] = {"anon", "darknet", "anon-lean"};
    int failed = 0;
    for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
        if (only_model && strcmp(only_model, models[m].label) != 0)
            continue;
        if (layers) {
            failed |= profile(argv[optind], &models[m], passes) < 0;
            continue;
        }
        /* libdarknet cannot run YOLO (no SiLU): not unless named */
        for (size_t e = 0; e < (only_engine ? 3 : 2); e++)
            if ((!only_engine || strcmp(only_engine, engines[e]) == 0) &&
                (only_engine || models[m].w == 0 || strcmp(engines[e], "darknet") != 0))
                failed |= bench(argv[optind], &models[m], engines[e], passes, rss) < 0;
    }
    return failed;
}
