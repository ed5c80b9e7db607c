/* intake_load.c - load generator for `make bench-intake`.
 *
 *   intake-load intake URL CAMERA CLIENTS FILE...   POST each file once (raw
 *                                                   image/jpeg body) to URL
 *   intake-load s3 PREFIX CLIENTS FILE...           PUT each file once to the
 *                                                   input bucket (ANON_S3_*)
 *
 * CLIENTS threads share the list; each keeps one connection alive (a curl
 * handle, or an anon_s3 client - the same S3 code the intake uses), and
 * every file is read into memory first, so both modes measure the network
 * path only. Prints one line: requests, errors, requests/s, p50 and p99. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buffer.h"
#include "config.h"
#include "s3.h"

typedef struct {
    const char *mode, *target, *camera;
    anon_buffer *files;
    const char **names;
    size_t n_files;
    atomic_size_t next;
    atomic_size_t errors;
    double *latency;
    anon_config cfg;
} load;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p; (void)ctx;
    return size * n;
}

static void *intake_client(void *arg)
{
    load *l = arg;
    CURL *curl = curl_easy_init();
    char camera[128];
    snprintf(camera, sizeof camera, "X-Camera: %s", l->camera);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: image/jpeg");
    h = curl_slist_append(h, camera);
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(curl, CURLOPT_URL, l->target);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 300L);
    for (size_t i; (i = atomic_fetch_add(&l->next, 1)) < l->n_files;) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, (const char *)l->files[i].data);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)l->files[i].len);
        double t = now();
        long code = 0;
        if (curl_easy_perform(curl) != CURLE_OK ||
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK ||
            (code != 202 && code != 200))
            atomic_fetch_add(&l->errors, 1);
        l->latency[i] = now() - t;
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(curl);
    return NULL;
}

static void *s3_client(void *arg)
{
    load *l = arg;
    anon_error err;
    anon_s3 *s3 = anon_s3_open_config(&l->cfg, &err);
    for (size_t i; (i = atomic_fetch_add(&l->next, 1)) < l->n_files;) {
        const char *base = strrchr(l->names[i], '/');
        char key[512];
        snprintf(key, sizeof key, "%s/%s", l->target, base ? base + 1 : l->names[i]);
        double t = now();
        if (s3 == NULL || anon_s3_put(s3, l->cfg.input_bucket, key, l->files[i].data,
                                      l->files[i].len, "image/jpeg", &err) < 0)
            atomic_fetch_add(&l->errors, 1);
        l->latency[i] = now() - t;
    }
    anon_s3_close(s3);
    return NULL;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int intake = argc > 1 && strcmp(argv[1], "intake") == 0;
    int first_file = intake ? 5 : 4;
    if (argc <= first_file || (!intake && strcmp(argv[1], "s3") != 0)) {
        fprintf(stderr, "usage: intake-load intake URL CAMERA CLIENTS FILE...\n"
                        "       intake-load s3 PREFIX CLIENTS FILE...\n");
        return 2;
    }
    load l = {.mode = argv[1], .target = argv[2], .camera = intake ? argv[3] : ""};
    anon_error err;
    if (anon_config_load(&l.cfg, &err) < 0) {
        fprintf(stderr, "intake-load: %s\n", err.msg);
        return 3;
    }
    int clients = atoi(argv[first_file - 1]);
    l.n_files = (size_t)(argc - first_file);
    l.names = (const char **)argv + first_file;
    l.files = calloc(l.n_files, sizeof *l.files);
    l.latency = calloc(l.n_files, sizeof *l.latency);
    size_t bytes = 0;
    for (size_t i = 0; i < l.n_files; i++) {
        if (anon_buffer_read_file(&l.files[i], l.names[i], 0, &err) < 0) {
            fprintf(stderr, "intake-load: %s: %s\n", l.names[i], err.msg);
            return 1;
        }
        bytes += l.files[i].len;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_t *threads = calloc((size_t)clients, sizeof *threads);
    double t0 = now();
    for (int i = 0; i < clients; i++)
        pthread_create(&threads[i], NULL, intake ? intake_client : s3_client, &l);
    for (int i = 0; i < clients; i++)
        pthread_join(threads[i], NULL);
    double elapsed = now() - t0;
    qsort(l.latency, l.n_files, sizeof *l.latency, by_value);
    double p50 = l.latency[l.n_files / 2];
    double p99 = l.latency[(size_t)((double)(l.n_files - 1) * 0.99)];
    printf("%-6s %5zu requests %3zu errors %8.1f req/s %7.1f MB/s  p50 %7.1f ms  p99 %7.1f ms\n",
           l.mode, l.n_files, (size_t)l.errors, (double)l.n_files / elapsed,
           (double)bytes / elapsed / 1e6, p50 * 1000, p99 * 1000);
    for (size_t i = 0; i < l.n_files; i++)
        anon_buffer_free(&l.files[i]);
    free(l.files);
    free(l.latency);
    free(threads);
    curl_global_cleanup();
    return l.errors ? 1 : 0;
}
