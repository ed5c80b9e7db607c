/* cmd_upload.c - `anonctl upload`: send images to anon-intake in parallel.
 *
 * Files and directories (walked recursively) are sent by --jobs worker
 * threads, each with its own keep-alive connection (src/service/intake_client.c).
 * Files the intake already has come back 200 and count as skipped, so an
 * interrupted upload is simply run again. On a terminal a progress line
 * shows files, bytes, rate and ETA; --json prints one JSON document. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_files.h"
#include "cli_progress.h"
#include "intake/intake.h"
#include "service/intake_client.h"

extern const struct anonctl_cmd cmd_upload;

typedef struct {
    char *path;
    int64_t size;
    anon_upload_result res;
} upload_job;

typedef struct {
    upload_job *jobs;
    size_t n, cap;
    int64_t total_bytes;
    atomic_size_t next;
    atomic_size_t finished;
    atomic_llong bytes_done;   /* for the progress bar: sent, or settled without sending */
    atomic_llong bytes_sent;   /* body bytes that went to the intake */
    anon_intake_client_options client;
    const char *url_source;    /* where the URL came from, for messages */
    int show_progress;
    int verbose;               /* per-file problem lines on stderr */
    pthread_mutex_t out_lock;
    double started;
    int stop_progress;
    pthread_cond_t progress_wake;
} upload_run;

typedef struct {
    upload_run *run;
    int64_t file_sent;
} upload_worker;


/* ---------------------------------------------------------------- file list */

static int add_file(upload_run *run, const char *path, int64_t size)
{
    if (run->n == run->cap) {
        size_t cap = run->cap ? run->cap * 2 : 256;
        upload_job *grown = realloc(run->jobs, cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        run->jobs = grown;
        run->cap = cap;
    }
    upload_job *job = &run->jobs[run->n];
    memset(job, 0, sizeof *job);
    if ((job->path = strdup(path)) == NULL)
        return -1;
    job->size = size;
    run->n++;
    run->total_bytes += size;
    return 0;
}

/* Collects the files (every regular file: the intake client reports the
 * ones that are not images); a missing path is an error for that path only. */
static int collect(upload_run *run, int argc, char **argv, int *missing)
{
    cli_files files = {0};
    cli_collect_options o = {.only_images = false};
    int problems = cli_collect_files(argv, argc, &o, &files);
    int rc = problems < 0 ? -1 : 0;
    for (size_t i = 0; rc == 0 && i < files.n; i++) {
        struct stat st;
        if (files.v[i].error)
            fprintf(stderr, "%s: %s\n", files.v[i].input, files.v[i].error);
        else if (stat(files.v[i].input, &st) == 0)
            rc = add_file(run, files.v[i].input, st.st_size);
    }
    *missing += problems > 0 ? problems : 0;
    cli_files_free(&files);
    return rc;
}

/* ---------------------------------------------------------------- progress */

static void format_bytes(char *out, size_t size, double bytes)
{
    if (bytes >= 1e9)
        snprintf(out, size, "%.2f GB", bytes / 1e9);
    else if (bytes >= 1e6)
        snprintf(out, size, "%.1f MB", bytes / 1e6);
    else
        snprintf(out, size, "%.0f kB", bytes / 1e3);
}

static void draw_progress(upload_run *run)
{
    double elapsed = cli_now() - run->started;
    double done = (double)atomic_load(&run->bytes_done);
    double rate = elapsed > 0.2 ? done / elapsed : 0;
    double frac = run->total_bytes ? done / (double)run->total_bytes : 1;
    if (frac > 1)
        frac = 1;
    char bar[31], have[24], total[24], speed[24], eta[24] = "--:--";
    int fill = (int)(frac * 30);
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    format_bytes(have, sizeof have, done);
    format_bytes(total, sizeof total, (double)run->total_bytes);
    format_bytes(speed, sizeof speed, rate);
    if (rate > 0) {
        long left = (long)(((double)run->total_bytes - done) / rate);
        snprintf(eta, sizeof eta, "%ld:%02ld", left / 60, left % 60);
    }
    fprintf(stderr, "\r\033[K[%s] %zu/%zu files  %s/%s  %s/s  ETA %s", bar,
            atomic_load(&run->finished), run->n, have, total, speed, eta);
    fflush(stderr);
}

static void *progress_thread(void *arg)
{
    upload_run *run = arg;
    pthread_mutex_lock(&run->out_lock);
    while (!run->stop_progress) {
        draw_progress(run);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 250000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&run->progress_wake, &run->out_lock, &ts);
    }
    draw_progress(run);
    fputc('\n', stderr);
    pthread_mutex_unlock(&run->out_lock);
    return NULL;
}

/* ---------------------------------------------------------------- workers */

static void on_progress(void *ctx, int64_t sent)
{
    upload_worker *w = ctx;
    w->file_sent += sent;
    atomic_fetch_add(&w->run->bytes_done, sent);
    atomic_fetch_add(&w->run->bytes_sent, sent);
}

static void report_problem(upload_run *run, const upload_job *job)
{
    const anon_upload_result *r = &job->res;
    if (!run->verbose || r->outcome == ANON_UPLOAD_CREATED || r->outcome == ANON_UPLOAD_EXISTING)
        return;
    pthread_mutex_lock(&run->out_lock);
    if (run->show_progress)
        fprintf(stderr, "\r\033[K");
    if (r->outcome == ANON_UPLOAD_NOT_IMAGE)
        fprintf(stderr, "skipped %s: %s\n", job->path, r->detail);
    else if (r->http_status)
        fprintf(stderr, "%s %s: HTTP %ld: %s\n", anon_upload_outcome_name(r->outcome), job->path,
                r->http_status, r->detail);
    else
        fprintf(stderr, "%s %s: %s\n", anon_upload_outcome_name(r->outcome), job->path, r->detail);
    pthread_mutex_unlock(&run->out_lock);
}

/* A failure without any answer is the intake not being reachable at the
 * address in force: say which address, and where it was set. */
static void name_unreachable_intake(const upload_run *run, anon_upload_result *r)
{
    if (r->outcome != ANON_UPLOAD_FAILED || r->http_status != 0)
        return;
    char cause[sizeof r->detail];
    snprintf(cause, sizeof cause, "%s", r->detail);
    snprintf(r->detail, sizeof r->detail, "cannot reach %.200s (%s): %.250s", run->client.url,
             run->url_source, cause);
}

static void *worker_thread(void *arg)
{
    upload_run *run = arg;
    upload_worker w = {.run = run};
    anon_intake_client_options o = run->client;
    o.on_progress = on_progress;
    o.progress_ctx = &w;
    anon_error err;
    anon_intake_client *client = anon_intake_client_new(&o, &err);
    for (size_t i; (i = atomic_fetch_add(&run->next, 1)) < run->n;) {
        upload_job *job = &run->jobs[i];
        w.file_sent = 0;
        if (client == NULL) {
            job->res.outcome = ANON_UPLOAD_FAILED;
            snprintf(job->res.detail, sizeof job->res.detail, "%s", err.msg);
        } else {
            if (anon_intake_upload_file(client, job->path, &job->res, &err) == 0)
                name_unreachable_intake(run, &job->res);
        }
        atomic_fetch_add(&run->bytes_done, job->size - w.file_sent);
        atomic_fetch_add(&run->finished, 1);
        report_problem(run, job);
    }
    anon_intake_client_free(client);
    return NULL;
}

/* ---------------------------------------------------------------- summary */

typedef struct {
    size_t by_outcome[5];
} upload_counts;

static void print_json(const upload_run *run, const upload_counts *k, double seconds)
{
    json_t *files = json_array();
    for (size_t i = 0; i < run->n; i++) {
        const anon_upload_result *r = &run->jobs[i].res;
        json_t *f = json_pack("{s:s, s:s, s:i, s:i, s:I}", "path", run->jobs[i].path, "outcome",
                              anon_upload_outcome_name(r->outcome), "http_status",
                              (int)r->http_status, "attempts", r->attempts, "bytes",
                              (json_int_t)run->jobs[i].size);
        if (r->id)
            json_object_set_new(f, "id", json_integer(r->id));
        if (r->status[0])
            json_object_set_new(f, "status", json_string(r->status));
        if (r->detail[0])
            json_object_set_new(f, "detail", json_string(r->detail));
        json_array_append_new(files, f);
    }
    json_t *doc = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:o}", "files", (json_int_t)run->n, "uploaded",
        (json_int_t)k->by_outcome[ANON_UPLOAD_CREATED], "skipped_existing",
        (json_int_t)k->by_outcome[ANON_UPLOAD_EXISTING], "not_images",
        (json_int_t)k->by_outcome[ANON_UPLOAD_NOT_IMAGE], "rejected",
        (json_int_t)k->by_outcome[ANON_UPLOAD_REJECTED], "failed",
        (json_int_t)k->by_outcome[ANON_UPLOAD_FAILED], "bytes", (json_int_t)run->total_bytes,
        "bytes_sent", (json_int_t)atomic_load(&run->bytes_sent), "seconds", seconds, "results",
        files);
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(4));
    if (text)
        puts(text);
    free(text);
    json_decref(doc);
}

/* The rate counts only the bytes that went out: files the intake already
 * had, and failures, took no bandwidth. */
static void print_summary(const upload_run *run, const upload_counts *k, double seconds)
{
    double sent = (double)atomic_load(&run->bytes_sent);
    char total[24], sent_text[24], rate[24];
    format_bytes(total, sizeof total, (double)run->total_bytes);
    format_bytes(sent_text, sizeof sent_text, sent);
    format_bytes(rate, sizeof rate, seconds > 0 ? sent / seconds : 0);
    printf("%zu files (%s): %zu uploaded, %zu already there (skipped), %zu not images, "
           "%zu rejected, %zu failed; %s sent in %.1f s (%s/s)\n",
           run->n, total, k->by_outcome[ANON_UPLOAD_CREATED],
           k->by_outcome[ANON_UPLOAD_EXISTING], k->by_outcome[ANON_UPLOAD_NOT_IMAGE],
           k->by_outcome[ANON_UPLOAD_REJECTED], k->by_outcome[ANON_UPLOAD_FAILED], sent_text,
           seconds, rate);
}

/* ---------------------------------------------------------------- command */

static int run_upload(int argc, char **argv, anon_config *cfg)
{
    static const struct option options[] = {
        {"camera", required_argument, NULL, 'c'}, {"jobs", required_argument, NULL, 'j'},
        {"json", no_argument, NULL, 'J'},         {"retries", required_argument, NULL, 'r'},
        {"quiet", no_argument, NULL, 'q'},        {"url", required_argument, NULL, 'u'},
        {NULL, 0, NULL, 0},
    };
    const char *camera = NULL;
    long jobs = 4, attempts = 5;
    int json = 0, quiet = 0, c;
    optind = 1;
    const char *url_source = "ANON_INTAKE_URL";
    while ((c = getopt_long(argc, argv, ":c:j:qu:", options, NULL)) != -1) {
        switch (c) {
        case 'c':
            camera = optarg;
            if (!anon_intake_camera_valid(camera))
                return cli_usage_error(&cmd_upload, "--camera: 1-64 characters of A-Z a-z 0-9 . _ -, "
                                                    "not starting with . or -");
            break;
        case 'j':
            if (cli_parse_long(optarg, 1, 256, &jobs) < 0)
                return cli_usage_error(&cmd_upload, "--jobs: expected 1 to 256, got '%s'", optarg);
            break;
        case 'r':
            if (cli_parse_long(optarg, 1, 100, &attempts) < 0)
                return cli_usage_error(&cmd_upload, "--retries: expected 1 to 100, got '%s'", optarg);
            break;
        case 'J': json = 1; break;
        case 'q': quiet = 1; break;
        case 'u':
            cfg->intake_url = optarg;
            url_source = "--url";
            break;
        default:
            return cli_option_error(&cmd_upload, c, argv);
        }
    }
    if (optind >= argc)
        return cli_usage_error(&cmd_upload, "no files or directories given");

    upload_run run = {
        .client = {.url = cfg->intake_url, .token = cfg->intake_token, .camera = camera,
                   .max_attempts = (int)attempts},
        .url_source = url_source,
        .verbose = !json && !quiet,
        .show_progress = !json && !quiet && isatty(STDERR_FILENO),
    };
    anon_error err;
    anon_intake_client *probe = anon_intake_client_new(&run.client, &err);
    if (probe == NULL) {
        fprintf(stderr, "anonctl upload: %s\n", err.msg);
        return EXIT_CONFIG;
    }
    anon_intake_client_free(probe);
    int missing = 0;
    if (collect(&run, argc - optind, argv + optind, &missing) < 0) {
        fprintf(stderr, "anonctl upload: cannot list the files (out of memory?)\n");
        return EXIT_CONFIG;
    }
    pthread_mutex_init(&run.out_lock, NULL);
    pthread_cond_init(&run.progress_wake, NULL);
    run.started = cli_now();
    pthread_t progress, *workers = calloc((size_t)jobs, sizeof *workers);
    if (run.show_progress)
        pthread_create(&progress, NULL, progress_thread, &run);
    for (long i = 0; i < jobs; i++)
        pthread_create(&workers[i], NULL, worker_thread, &run);
    for (long i = 0; i < jobs; i++)
        pthread_join(workers[i], NULL);
    if (run.show_progress) {
        pthread_mutex_lock(&run.out_lock);
        run.stop_progress = 1;
        pthread_cond_signal(&run.progress_wake);
        pthread_mutex_unlock(&run.out_lock);
        pthread_join(progress, NULL);
    }
    double seconds = cli_now() - run.started;

    upload_counts k = {{0}};
    for (size_t i = 0; i < run.n; i++)
        k.by_outcome[run.jobs[i].res.outcome]++;
    if (json)
        print_json(&run, &k, seconds);
    else
        print_summary(&run, &k, seconds);

    size_t accepted = k.by_outcome[ANON_UPLOAD_CREATED] + k.by_outcome[ANON_UPLOAD_EXISTING];
    size_t failed = k.by_outcome[ANON_UPLOAD_FAILED];
    int rc = EXIT_OK;
    if (failed && !accepted && !k.by_outcome[ANON_UPLOAD_REJECTED]) {
        rc = EXIT_UNAVAILABLE;
        size_t first = 0;
        while (run.jobs[first].res.outcome != ANON_UPLOAD_FAILED)
            first++;
        fprintf(stderr, "anonctl upload: nothing sent: %s\n", run.jobs[first].res.detail);
    }
    else if (failed || k.by_outcome[ANON_UPLOAD_REJECTED] || missing)
        rc = EXIT_SOME_FAILED;
    for (size_t i = 0; i < run.n; i++)
        free(run.jobs[i].path);
    free(run.jobs);
    free(workers);
    pthread_mutex_destroy(&run.out_lock);
    pthread_cond_destroy(&run.progress_wake);
    return rc;
}

static const char *const upload_env[] = {"ANON_INTAKE_URL", "ANON_INTAKE_TOKEN", NULL};

const struct anonctl_cmd cmd_upload = {
    .name = "upload",
    .args = "[options] DIR|FILE...",
    .summary = "send images to anon-intake in parallel (re-runs skip what is already there)",
    .options = "  -c, --camera NAME   camera or timelapse project (default: the intake's 'default')\n"
               "  -j, --jobs N        parallel uploads (default 4)\n"
               "      --retries N     attempts per file on transient errors, with backoff (default 5)\n"
               "  -u, --url URL       intake address (overrides ANON_INTAKE_URL)\n"
               "      --json          print one JSON document with every file's outcome\n"
               "  -q, --quiet         no progress line and no per-file messages\n"
               "\nThe summary's rate counts the bytes sent: files the intake already has\n"
               "are answered before their bytes go out.\n",
    .env = upload_env,
    .run = run_upload,
    .exits = EXIT_BIT(EXIT_SOME_FAILED) | EXIT_BIT(EXIT_UNAVAILABLE),
    .exit_notes = {[EXIT_OK] = "all sent or already there (non-images are skipped and reported)",
                   [EXIT_SOME_FAILED] = "some files were rejected or failed",
                   [EXIT_UNAVAILABLE] = "the intake could not be reached at all"},
};
