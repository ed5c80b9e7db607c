/* cmd_status.c - `anonctl status [ID]`: where everything stands.
 *
 * Without an ID: image counts by status, queue and dead-letter depth (a
 * passive declare: current, not the management API's delayed figure), the
 * age of the oldest unfinished image, throughput over 5 and 60 minutes, the
 * most frequent errors, the originals still held (and how many are past
 * the retention in force here), and done images per model and preset.
 * With an ID: that image's row. */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>

#include "cli.h"
#include "cli_services.h"
#include "base/duration.h"
#include "service/record_json.h"

extern const struct anonctl_cmd cmd_status;

/* The queue's depth, or why it is not known. */
struct queue_view {
    const char *name;
    bool available;
    uint32_t ready, dead;
    const char *error;
};

static json_t *queue_json(const struct queue_view *q)
{
    if (q->available)
        return json_pack("{s:s,s:b,s:i,s:i}", "name", q->name, "available", 1, "ready",
                         (int)q->ready, "dead_letters", (int)q->dead);
    return json_pack("{s:s,s:b,s:n,s:n,s:s}", "name", q->name, "available", 0, "ready",
                     "dead_letters", "error", q->error);
}

static json_t *age_or_null(double seconds)
{
    return seconds < 0 ? json_null() : json_real(seconds);
}

static json_t *originals_json(const anon_db_stats *s, long retention)
{
    char text[ANON_DURATION_LEN];
    return json_pack("{s:I,s:I,s:o,s:s,s:I}", "held", (json_int_t)s->originals_held,
                     "held_finished", (json_int_t)s->originals_held_finished, "oldest_seconds",
                     age_or_null(s->oldest_original_age), "retention",
                     anon_duration_format(retention, text), "past_retention",
                     (json_int_t)s->originals_past_retention);
}

static json_t *text_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *by_model_json(const anon_db_stats *s)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < s->n_by_model; i++) {
        const anon_db_model_count *m = &s->by_model[i];
        json_array_append_new(arr, json_pack("{s:o,s:o,s:o,s:I}", "model", text_or_null(m->model),
                                             "model_version", text_or_null(m->model_version),
                                             "preset", text_or_null(m->preset), "done",
                                             (json_int_t)m->count));
    }
    return arr;
}

static json_t *stats_json(const anon_db_stats *s, const struct queue_view *q, long retention)
{
    json_t *by = json_object();
    for (int i = 0; i < ANON_IMAGE_N_STATUS; i++)
        json_object_set_new(by, anon_image_status_name(i), json_integer(s->by_status[i]));
    json_t *errors = json_array();
    for (size_t i = 0; i < s->n_top_errors; i++)
        json_array_append_new(errors, json_pack("{s:s,s:I}", "error", s->top_errors[i].error,
                                                "count", (json_int_t)s->top_errors[i].count));
    return json_pack("{s:I,s:o,s:o,s:o,s:{s:f,s:f},s:o,s:o,s:o}", "total",
                     (json_int_t)s->total, "by_status", by, "queue", queue_json(q),
                     "oldest_unfinished_seconds", age_or_null(s->oldest_unfinished_age),
                     "images_per_second", "last_5min", s->per_second_5min, "last_60min",
                     s->per_second_60min, "top_errors", errors, "originals",
                     originals_json(s, retention), "done_by_model", by_model_json(s));
}

/* An age as people read it: "42 s", "3 h 20 min", "12 d 4 h". */
static const char *age_text(double seconds, char *buf, size_t size)
{
    long s = (long)seconds;
    if (s < 120)
        snprintf(buf, size, "%ld s", s);
    else if (s < 7200)
        snprintf(buf, size, "%ld min", s / 60);
    else if (s < 2 * 86400)
        snprintf(buf, size, "%ld h %ld min", s / 3600, s % 3600 / 60);
    else
        snprintf(buf, size, "%ld d %ld h", s / 86400, s % 86400 / 3600);
    return buf;
}

static void print_originals(const anon_db_stats *s, long retention)
{
    char age[48], text[ANON_DURATION_LEN];
    printf("originals held: %lld (%lld of finished images)", (long long)s->originals_held,
           (long long)s->originals_held_finished);
    if (s->oldest_original_age >= 0)
        printf(", the oldest stored %s ago", age_text(s->oldest_original_age, age, sizeof age));
    printf("\n  retention here %s: %lld past it%s\n", anon_duration_format(retention, text),
           (long long)s->originals_past_retention,
           s->originals_past_retention ? " (anonctl purge deletes them)" : "");
}

static void print_models(const anon_db_stats *s)
{
    if (s->n_by_model == 0)
        return;
    printf("done by model:\n");
    for (size_t i = 0; i < s->n_by_model; i++) {
        const anon_db_model_count *m = &s->by_model[i];
        char model[96] = "(not recorded)";
        if (m->model)
            snprintf(model, sizeof model, "%s@%s", m->model,
                     m->model_version ? m->model_version : "?");
        printf("  %-24s %-10s %lld\n", model, m->preset ? m->preset : "-",
               (long long)m->count);
    }
}

static void print_stats(const anon_db_stats *s, const struct queue_view *q, long retention)
{
    printf("images: %lld\n", (long long)s->total);
    for (int i = 0; i < ANON_IMAGE_N_STATUS; i++)
        printf("  %-11s %lld\n", anon_image_status_name(i), (long long)s->by_status[i]);
    if (q->available)
        printf("queue %s: %u ready, %u dead letters\n", q->name, q->ready, q->dead);
    else
        printf("queue %s: unavailable (%s)\n", q->name, q->error);
    if (s->oldest_unfinished_age >= 0)
        printf("oldest unfinished image: %.0f s old\n", s->oldest_unfinished_age);
    else
        printf("oldest unfinished image: none, all finished\n");
    printf("throughput: %.2f images/s over 5 min, %.2f images/s over 60 min\n",
           s->per_second_5min, s->per_second_60min);
    if (s->n_top_errors)
        printf("most frequent errors:\n");
    for (size_t i = 0; i < s->n_top_errors; i++)
        printf("  %5lld  %s\n", (long long)s->top_errors[i].count, s->top_errors[i].error);
    print_originals(s, retention);
    print_models(s);
}

/* What PostgreSQL knows is shown even when RabbitMQ is down: the queue is
 * then marked unavailable and the exit code still says a service was
 * unreachable. */
static int show_overview(cli_services *svc, const anon_config *cfg, const char *camera,
                         bool json)
{
    anon_db_stats stats;
    anon_error err;
    if (anon_db_stats_get(svc->db, camera, 5, cfg->originals_retention, &stats, &err) < 0) {
        fprintf(stderr, "anonctl status: %s\n", err.msg);
        return cli_exit_for(&err);
    }
    struct queue_view q = {.name = cfg->queue, .error = svc->queue_error};
    if (svc->queue && anon_queue_depth(svc->queue, &q.ready, &q.dead, &err) == 0)
        q.available = true;
    else if (svc->queue)
        q.error = err.msg;
    if (json)
        cli_print_json(stats_json(&stats, &q, cfg->originals_retention));
    else
        print_stats(&stats, &q, cfg->originals_retention);
    anon_db_stats_free(&stats);
    if (q.available)
        return EXIT_OK;
    fprintf(stderr, "anonctl status: queue %s unavailable: %s\n", q.name, q.error);
    return EXIT_UNAVAILABLE;
}

static int show_image(cli_services *svc, int64_t id, bool json)
{
    anon_image_row row = {0};
    anon_error err;
    int found = anon_db_image_get(svc->db, id, &row, &err);
    if (found <= 0) {
        fprintf(stderr, "anonctl status: %s\n", found < 0 ? err.msg : "no image with that id");
        return found < 0 ? cli_exit_for(&err) : EXIT_SOME_FAILED;
    }
    json_t *obj = anon_image_row_json(&row);
    if (json) {
        cli_print_json(obj);
    } else {
        const char *key;
        json_t *value;
        json_object_foreach(obj, key, value) {
            char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
            printf("%-14s %s\n", key, text ? text : "");
            free(text);
        }
        json_decref(obj);
    }
    anon_image_row_free(&row);
    return EXIT_OK;
}

static const struct option status_options[] = {
    {"camera", required_argument, NULL, 'c'},
    {"json", no_argument, NULL, 'j'},
    {NULL, 0, NULL, 0},
};

static int run_status(int argc, char **argv, anon_config *cfg)
{
    const char *camera = NULL;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", status_options, NULL)) != -1) {
        if (c == 'c')
            camera = optarg;
        else if (c == 'j')
            json = true;
        else
            return cli_option_error(&cmd_status, c, argv);
    }
    long id = 0;
    if (optind < argc && cli_parse_long(argv[optind], 1, 1L << 62, &id) < 0)
        return cli_usage_error(&cmd_status, "ID must be an image id (a positive number)");
    cli_services svc;
    int rc = cli_services_open("status", cfg, id ? NEED_DB : NEED_DB | WANT_QUEUE, &svc);
    if (rc != EXIT_OK)
        return rc;
    rc = id ? show_image(&svc, id, json) : show_overview(&svc, cfg, camera, json);
    cli_services_close(&svc);
    return rc;
}

static const char *const status_env[] = {"ANON_DB_URL", "ANON_AMQP_URL", "ANON_QUEUE",
                                         "ANON_ORIGINALS_RETENTION", NULL};

const struct anonctl_cmd cmd_status = {
    .name = "status",
    .args = "[--camera NAME] [--json] [ID]",
    .summary = "counts by status, queue depth, throughput, errors; or one image",
    .options = "      --camera NAME     only this camera's images (default: all)\n"
               "      --json            machine-readable output\n"
               "\nAlso the originals still held (of finished images: how many are past\n"
               "$ANON_ORIGINALS_RETENTION, what anonctl purge would delete) and the done\n"
               "images per model, its version and preset. With RabbitMQ unreachable, what\n"
               "PostgreSQL knows is still shown and the queue is marked unavailable (exit 4).\n",
    .env = status_env,
    .run = run_status,
    .exits = EXIT_BIT(EXIT_SOME_FAILED) | EXIT_BIT(EXIT_UNAVAILABLE),
    .exit_notes = {[EXIT_SOME_FAILED] = "no image with that id",
                   [EXIT_UNAVAILABLE] = "also when only the queue is (the rest is still shown)"},
};
