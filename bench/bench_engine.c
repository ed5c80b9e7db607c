/* bench_engine.c - times the inference engines on the converted face models.
 *
 *   build/bench_engine [-p PASSES] [-e ENGINE] [-m MODEL] [-r] MODEL_DIR
 *
 * For each model (ssd, tiny) and engine (anon, darknet; anon-lean when
 * named with -e) prints one line
 *   model=tiny engine=anon ms=8.1 best=7.9 gflop=0.403 gflops=49.6
 * with the median and the best time of PASSES passes after one warm-up
 * pass (GFLOP/s from the median; the best shows what a quiet machine
 * gives when other processes share the cores), and the
 * GFLOP count taken from the cfg (nn_flops: 2 x multiply-adds as written),
 * the same count for every engine. With -r it loads one network, runs one
 * pass and prints the process's peak RSS instead (rss_mb=..., and net_mb=
 * the part above the process's RSS before loading). Used by
 * scripts/bench-engine, which adds OpenCV DNN beside it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/engine.h"
#include "engine/nn.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

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

/* The cfg's FLOP count, from the anon engine's parse of it. */
static double model_flops(const char *cfg, const char *weights)
{
    anon_error err;
    anon_net *net = nn_engine()->load(cfg, weights, 1, &err);
    if (net == NULL)
        return 0;
    double flops = nn_flops(net);
    nn_engine()->free(net);
    return flops;
}

static int bench(const char *dir, const char *model, const char *engine, int passes, int rss)
{
    char cfg[1024], weights[1024];
    snprintf(cfg, sizeof cfg, "%s/%s.cfg", dir, model);
    snprintf(weights, sizeof weights, "%s/%s.weights", dir, model);
    const anon_engine *e = anon_engine_find(engine);
    anon_error err;
    long base_kb = status_kb("VmRSS:");
    anon_net *net = e ? e->load(cfg, weights, 1, &err) : NULL;
    if (net == NULL) {
        printf("model=%s engine=%s error=\"%s\"\n", model, engine,
               e ? err.msg : "no such engine");
        return -1;
    }
    int c, h, w;
    e->input_shape(net, &c, &h, &w);
    size_t n = (size_t)c * (size_t)h * (size_t)w;
    float *input = malloc(n * sizeof *input);
    double *ms = malloc((size_t)(passes + 1) * sizeof *ms);
    srand(1);
    for (size_t i = 0; i < n; i++)
        input[i] = (float)rand() / RAND_MAX * 2 - 1;
    int rc = 0;
    for (int i = 0; rc == 0 && i <= (rss ? 0 : passes); i++) {
        double t0 = now_ms();
        rc = e->forward(net, input, &err);
        ms[i] = now_ms() - t0;
    }
    if (rc < 0) {
        printf("model=%s engine=%s error=\"%s\"\n", model, engine, err.msg);
    } else if (rss) {
        printf("model=%s engine=%s rss_mb=%.1f net_mb=%.1f\n", model, engine,
               status_kb("VmHWM:") / 1024.0, (status_kb("VmHWM:") - base_kb) / 1024.0);
    } else {
        qsort(ms + 1, (size_t)passes, sizeof *ms, cmp_double);
        double median = ms[1 + passes / 2], gflop = model_flops(cfg, weights) / 1e9;
        printf("model=%s engine=%s ms=%.2f best=%.2f gflop=%.3f gflops=%.1f\n", model, engine,
               median, ms[1], gflop, gflop / (median / 1e3));
    }
    fflush(stdout);
    free(ms);
    free(input);
    e->free(net);
    return rc;
}

int main(int argc, char **argv)
{
    int passes = 20, rss = 0, opt;
    const char *only_engine = NULL, *only_model = NULL;
    while ((opt = getopt(argc, argv, "p:e:m:r")) != -1) {
        switch (opt) {
        case 'p': passes = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
        case 'e': only_engine = optarg; break;
        case 'm': only_model = optarg; break;
        case 'r': rss = 1; break;
        default:
            fprintf(stderr, "usage: %s [-p PASSES] [-e ENGINE] [-m MODEL] [-r] MODEL_DIR\n",
                    argv[0]);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: %s [-p PASSES] [-e ENGINE] [-m MODEL] [-r] MODEL_DIR\n", argv[0]);
        return 2;
    }
    static const char *const models[] = {"tiny", "ssd"},
                             *const engines[] = {"anon", "darknet", "anon-lean"};
    int failed = 0;
    for (size_t m = 0; m < 2; m++)
        for (size_t e = 0; e < (only_engine ? 3 : 2); e++)
            if ((!only_model || strcmp(only_model, models[m]) == 0) &&
                (!only_engine || strcmp(only_engine, engines[e]) == 0))
                failed |= bench(argv[optind], models[m], engines[e], passes, rss) < 0;
    return failed;
}
