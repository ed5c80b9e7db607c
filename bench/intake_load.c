/* intake_load.c - load generator for `make bench-intake`.
 *
 *   intake-load compare URL CAMERA S3PREFIX CLIENTS ROUNDS FILE...
 *       in each of ROUNDS rounds, a share of the files is PUT to the input
 *       bucket (ANON_S3_*, under S3PREFIX/) and then POSTed to the intake
 *       at URL (raw image/jpeg body, X-Camera: CAMERA); prints both lines
 *       and the ratio of the rates
 *   intake-load intake URL CAMERA CLIENTS FILE...   POSTs only
 *
 * CLIENTS threads share each batch. Every client keeps one connection for
 * the whole run (a curl handle for the intake, an anon_s3 client - the
 * S3 code the intake itself uses - for the store), warmed up by one
 * untimed request, and every file is read into memory first, so both
 * sides measure the network path only. Prints requests, errors,
 * requests/s, MB/s, p50 and p99 per side. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buffer.h"
#include "base/config.h"
#include "service/s3.h"

typedef struct {
    CURL *curl;
    struct curl_slist *headers;
    anon_s3 *s3;
} client;

typedef struct {
    const char *url, *camera, *s3_prefix;
    anon_config cfg;
    client *clients;
    anon_buffer *files;
    const char **names;
    /* the batch being run: */
    int intake;
    size_t first, end;
    atomic_size_t next;
    atomic_size_t errors;
    double *latency;
} load;

typedef struct {
    load *l;
    client *c;
} worker;

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

static int client_open(load *l, client *c, int with_s3)
{
    char camera[160];
    snprintf(camera, sizeof camera, "X-Camera: %s", l->camera);
    c->curl = curl_easy_init();
    c->headers = curl_slist_append(NULL, "Content-Type: image/jpeg");
    c->headers = curl_slist_append(c->headers, camera);
    c->headers = curl_slist_append(c->headers, "Expect:");
    curl_easy_setopt(c->curl, CURLOPT_URL, l->url);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 300L);
    anon_error err;
    if (with_s3 && (c->s3 = anon_s3_open_config(&l->cfg, &err)) == NULL) {
        fprintf(stderr, "intake-load: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static void client_close(client *c)
{
    curl_slist_free_all(c->headers);
    curl_easy_cleanup(c->curl);
    anon_s3_close(c->s3);
}

static int post(client *c, const anon_buffer *file)
{
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, (const char *)file->data);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)file->len);
    long code = 0;
    return curl_easy_perform(c->curl) == CURLE_OK &&
                   curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK &&
                   (code == 202 || code == 200)
               ? 0
               : -1;
}

static int put(load *l, client *c, size_t i)
{
    const char *base = strrchr(l->names[i], '/');
    char key[512];
    snprintf(key, sizeof key, "%s/%s", l->s3_prefix, base ? base + 1 : l->names[i]);
    anon_error err;
    return anon_s3_put(c->s3, l->cfg.input_bucket, key, l->files[i].data, l->files[i].len,
                       "image/jpeg", &err);
}

static void *work(void *arg)
{
    worker *w = arg;
    load *l = w->l;
    for (size_t i; (i = l->first + atomic_fetch_add(&l->next, 1)) < l->end;) {
        double t = now();
        if ((l->intake ? post(w->c, &l->files[i]) : put(l, w->c, i)) < 0)
            atomic_fetch_add(&l->errors, 1);
        l->latency[i] = now() - t;
    }
    return NULL;
}

/* Runs files [first, end) on one side with every client; returns the wall
 * time and adds the failures to *errors. */
static double run_batch(load *l, int n_clients, int intake, size_t first, size_t end,
                        double *latency, size_t *errors)
{
    l->intake = intake;
    l->first = first;
    l->end = end;
    l->latency = latency;
    atomic_store(&l->next, 0);
    atomic_store(&l->errors, 0);
    pthread_t *threads = calloc((size_t)n_clients, sizeof *threads);
    worker *workers = calloc((size_t)n_clients, sizeof *workers);
    double t0 = now();
    for (int i = 0; i < n_clients; i++) {
        workers[i] = (worker){l, &l->clients[i]};
        pthread_create(&threads[i], NULL, work, &workers[i]);
    }
    for (int i = 0; i < n_clients; i++)
        pthread_join(threads[i], NULL);
    double seconds = now() - t0;
    free(threads);
    free(workers);
    *errors += atomic_load(&l->errors);
    return seconds;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, double *latency, size_t n, size_t bytes, double seconds,
                   size_t errors)
{
    qsort(latency, n, sizeof *latency, by_value);
    printf("%-8s %5zu requests %3zu errors %8.1f req/s %7.1f MB/s  p50 %7.1f ms  p99 %7.1f ms\n",
           what, n, errors, (double)n / seconds, (double)bytes / seconds / 1e6,
           latency[n / 2] * 1000, latency[(size_t)((double)(n - 1) * 0.99)] * 1000);
}

static int usage(void)
{
    fprintf(stderr, "usage: intake-load compare URL CAMERA S3PREFIX CLIENTS ROUNDS FILE...\n"
                    "       intake-load intake URL CAMERA CLIENTS FILE...\n");
    return 2;
}

int main(int argc, char **argv)
{
    int compare = argc > 1 && strcmp(argv[1], "compare") == 0;
    int first_file = compare ? 7 : 5;
    if (argc <= first_file || (!compare && strcmp(argv[1], "intake") != 0))
        return usage();
    load l = {.url = argv[2], .camera = argv[3], .s3_prefix = compare ? argv[4] : ""};
    int n_clients = atoi(argv[compare ? 5 : 4]);
    int rounds = compare ? atoi(argv[6]) : 1;
    size_t n_files = (size_t)(argc - first_file);
    /* compare starts with an untimed request per client and side */
    size_t warm = compare ? (size_t)n_clients : 0;
    if (n_clients < 1 || rounds < 1 || n_files < warm + (size_t)rounds)
        return usage();
    anon_error err;
    if (anon_config_load(&l.cfg, &err) < 0) {
        fprintf(stderr, "intake-load: %s\n", err.msg);
        return 3;
    }
    l.names = (const char **)argv + first_file;
    l.files = calloc(n_files, sizeof *l.files);
    l.clients = calloc((size_t)n_clients, sizeof *l.clients);
    double *s3_latency = calloc(n_files, sizeof *s3_latency);
    double *intake_latency = calloc(n_files, sizeof *intake_latency);
    size_t bytes = 0;
    for (size_t i = 0; i < n_files; i++) {
        if (anon_buffer_read_file(&l.files[i], l.names[i], 0, &err) < 0) {
            fprintf(stderr, "intake-load: %s: %s\n", l.names[i], err.msg);
            return 1;
        }
        bytes += i >= warm ? l.files[i].len : 0;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    for (int i = 0; i < n_clients; i++)
        if (client_open(&l, &l.clients[i], compare) < 0)
            return 3;

    size_t s3_errors = 0, intake_errors = 0, ignored = 0;
    if (compare) {
        run_batch(&l, n_clients, 0, 0, warm, s3_latency, &ignored);
        run_batch(&l, n_clients, 1, 0, warm, intake_latency, &ignored);
    }

    /* Rounds alternate the two sides, so that a busy neighbour on a shared
     * machine slows both alike; the same files go to both. */
    double s3_seconds = 0, intake_seconds = 0;
    size_t timed = n_files - warm, per_round = timed / (size_t)rounds;
    for (int r = 0; r < rounds; r++) {
        size_t first = warm + (size_t)r * per_round;
        size_t end = r == rounds - 1 ? n_files : first + per_round;
        if (compare)
            s3_seconds += run_batch(&l, n_clients, 0, first, end, s3_latency, &s3_errors);
        intake_seconds += run_batch(&l, n_clients, 1, first, end, intake_latency, &intake_errors);
    }
    if (compare)
        report("S3 PUT", s3_latency + warm, timed, bytes, s3_seconds, s3_errors);
    report("intake", intake_latency + warm, timed, bytes, intake_seconds, intake_errors);
    if (compare)
        printf("ratio    intake / plain S3 PUT = %.2f (requests/s)\n", s3_seconds / intake_seconds);

    for (int i = 0; i < n_clients; i++)
        client_close(&l.clients[i]);
    for (size_t i = 0; i < n_files; i++)
        anon_buffer_free(&l.files[i]);
    free(l.files);
    free(l.clients);
    free(s3_latency);
    free(intake_latency);
    curl_global_cleanup();
    return s3_errors + intake_errors ? 1 : 0;
}
