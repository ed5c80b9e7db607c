/* cmd_drain.c - `anonctl drain`: the worker that Indexed Job pods run.
 *
 * Opens the services and one detector, then hands over to the library's
 * drain loop (src/service/worker.c) and prints one JSON log line per job. SIGTERM
 * (the Kubernetes termination signal) lets the job in hand finish and
 * exits; anything not acked is redelivered to another worker. */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_services.h"
#include "engine/engine.h"
#include "detect/model_digest.h"
#include "detect/preset.h"
#include "base/duration.h"
#include "base/timestamp.h"
#include "service/record_json.h"
#include "service/worker.h"

extern const struct anonctl_cmd cmd_drain;

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void install_stop_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

/* "host/index" from the Indexed Job's JOB_COMPLETION_INDEX (pid without). */
static void default_worker_id(char *buf, size_t size)
{
    char host[128] = "localhost";
    gethostname(host, sizeof host - 1);
    const char *index = getenv("JOB_COMPLETION_INDEX");
    const char *completions = getenv("JOB_COMPLETIONS");
    if (index && completions)
        snprintf(buf, size, "%s/%s-of-%s", host, index, completions);
    else if (index)
        snprintf(buf, size, "%s/%s", host, index);
    else
        snprintf(buf, size, "%s/pid-%ld", host, (long)getpid());
}

static const char *outcome_name(anon_job_outcome o)
{
    static const char *const names[] = {"done", "already_done", "rejected", "requeued",
                                        "discarded", "refused"};
    return names[o];
}

struct drain_log {
    const char *worker;
};

/* Now as ISO 8601 UTC, the intake's log format: the two logs sort and
 * join on "time". */
static const char *log_time(char buf[ANON_TIMESTAMP_LEN])
{
    anon_timestamp_format(anon_timestamp_now(), buf);
    return buf;
}

static void log_job(void *ctx, const anon_job_event *ev)
{
    const struct drain_log *log = ctx;
    char when[ANON_TIMESTAMP_LEN];
    json_t *line = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s?,s:s,s:i,s:f,s:s?,s:s?}", "time",
                             log_time(when), "level",
                             ev->outcome == ANON_JOB_DONE || ev->outcome == ANON_JOB_ALREADY_DONE
                                 ? "info" : "warn",
                             "event", "job", "worker", log->worker, "id", (json_int_t)ev->id,
                             "key", ev->key, "outcome", outcome_name(ev->outcome), "faces",
                             ev->faces, "ms", ev->ms_total, "reason", ev->reason, "original",
                             ev->original);
    if (ev->warnings.kept > 0)    /* the damage --accept-damaged let through */
        anon_damage_to_json(line, &ev->warnings, &ev->covered);
    cli_print_json(line);
}

static const struct option drain_options[] = {
    {"idle-exit", required_argument, NULL, 'i'},
    {"max-images", required_argument, NULL, 'n'},
    {"prefetch", required_argument, NULL, 'p'},
    {"worker-id", required_argument, NULL, 'w'},
    {"engine", required_argument, NULL, 'e'},
    {"model", required_argument, NULL, 'm'},
    {"preset", required_argument, NULL, 'P'},
    {"originals-retention", required_argument, NULL, 'R'},
    {"accept-damaged", no_argument, NULL, 'D'},
    {NULL, 0, NULL, 0},
};

struct drain_args {
    long idle_exit, max_images, prefetch;
    const char *worker_id, *engine;
};

static int parse_drain_args(int argc, char **argv, anon_config *cfg, struct drain_args *a)
{
    const struct anonctl_cmd *cmd = &cmd_drain;
    *a = (struct drain_args){.idle_exit = 60};
    int c, rc;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":m:", drain_options, NULL)) != -1) {
        switch (c) {
        case 'i':
            if (cli_parse_long(optarg, 0, 86400 * 7, &a->idle_exit) < 0)
                return cli_usage_error(cmd, "--idle-exit takes seconds (0: never)");
            break;
        case 'n':
            if (cli_parse_long(optarg, 0, 1L << 40, &a->max_images) < 0)
                return cli_usage_error(cmd, "--max-images takes a count (0: no limit)");
            break;
        case 'p':
            if (cli_parse_long(optarg, 1, 1000, &a->prefetch) < 0)
                return cli_usage_error(cmd, "--prefetch takes 1 to 1000");
            break;
        case 'w': a->worker_id = optarg; break;
        case 'e': a->engine = optarg; break;
        /* Flags that override a setting, checked by the settings table
         * like the variables themselves. */
        case 'm':
            if ((rc = cli_set_from_flag(cmd, cfg, "model", "ANON_MODEL", optarg)) != EXIT_OK)
                return rc;
            break;
        case 'P':
            if ((rc = cli_set_from_flag(cmd, cfg, "preset", "ANON_PRESET", optarg)) != EXIT_OK)
                return rc;
            break;
        case 'R':
            if ((rc = cli_set_from_flag(cmd, cfg, "originals-retention",
                                        "ANON_ORIGINALS_RETENTION", optarg)) != EXIT_OK)
                return rc;
            break;
        case 'D':
            if ((rc = cli_set_from_flag(cmd, cfg, "accept-damaged", "ANON_ACCEPT_DAMAGED",
                                        "1")) != EXIT_OK)
                return rc;
            break;
        default: return cli_option_error(cmd, c, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    return EXIT_OK;
}

/* The detector, and the digest of its model's weights that every output
 * it makes is recorded with (computed once, here). */
static anon_detector *open_detector(const anon_config *cfg, const char *engine,
                                    const anon_model *model,
                                    char digest[ANON_MODEL_DIGEST_LEN + 1])
{
    char dir[4096];
    anon_error err;
    anon_detector_config dc = {.model = model, .model_dir = cli_model_dir(cfg, dir, sizeof dir),
                               .engine = engine ? engine : anon_engine_default(), .threads = 1};
    anon_detector *d = anon_detector_open(&dc, &err);
    if (d != NULL && anon_model_digest(model, dc.model_dir, digest, &err) < 0) {
        anon_detector_close(d);
        d = NULL;
    }
    if (d == NULL)
        fprintf(stderr, "anonctl drain: %s\n", err.msg);
    return d;
}

static int run_drain(int argc, char **argv, anon_config *cfg)
{
    struct drain_args a;
    int rc = parse_drain_args(argc, argv, cfg, &a);
    if (rc != EXIT_OK)
        return rc;
    const anon_model *model;
    anon_preset preset;
    anon_error perr;
    if (anon_preset_choose(cfg->model, cfg->preset, &model, &preset, &perr) < 0) {
        fprintf(stderr, "anonctl drain: ANON_MODEL/ANON_PRESET: %s\n", perr.msg);
        return EXIT_CONFIG;
    }
    if (strcmp(cfg->input_bucket, cfg->output_bucket) == 0) {
        fprintf(stderr, "anonctl drain: ANON_INPUT_BUCKET and ANON_OUTPUT_BUCKET must "
                        "differ (outputs use the input's key)\n");
        return EXIT_CONFIG;
    }
    char worker[256];
    if (a.worker_id)
        snprintf(worker, sizeof worker, "%s", a.worker_id);
    else
        default_worker_id(worker, sizeof worker);

    char digest[ANON_MODEL_DIGEST_LEN + 1];
    anon_worker_options opt = {.worker_id = worker, .output_bucket = cfg->output_bucket,
                               .max_bytes = cfg->max_bytes, .idle_exit_ms = a.idle_exit * 1000,
                               .max_images = a.max_images, .requeue_delay_ms = 1000,
                               .input_bucket = cfg->input_bucket,
                               .originals_retention = cfg->originals_retention,
                               .provenance = {.model = model->name, .model_version = digest,
                                              .preset = cfg->preset,
                                              .anonctl_version = cli_version}};
    anon_detector *det = open_detector(cfg, a.engine, model, digest);
    if (det == NULL)
        return EXIT_CONFIG;
    anon_process_options_default(&opt.process, model);
    anon_preset_apply(preset, model, &opt.process.detect);
    opt.process.max_pixels = cfg->max_pixels;
    opt.process.accept_damaged = cfg->accept_damaged != 0;

    cli_services svc;
    if (a.prefetch)
        cfg->prefetch = a.prefetch;   /* the flag overrides ANON_PREFETCH */
    rc = cli_services_open("drain", cfg, NEED_DB | NEED_QUEUE | NEED_S3, &svc);
    if (rc != EXIT_OK) {
        anon_detector_close(det);
        return rc;
    }
    install_stop_handlers();
    struct drain_log log = {.worker = worker};
    char when[ANON_TIMESTAMP_LEN], retention[ANON_DURATION_LEN];
    cli_print_json(json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b}", "time",
                             log_time(when), "level", "info", "event", "start", "worker", worker,
                             "model", model->name, "model_version", digest, "preset",
                             cfg->preset, "engine", a.engine ? a.engine : anon_engine_default(),
                             "anonctl_version", cli_version, "originals_retention",
                             anon_duration_format(cfg->originals_retention, retention),
                             "accept_damaged", (int)opt.process.accept_damaged));
    anon_worker_services ws = {.db = svc.db, .queue = svc.queue, .s3 = svc.s3, .detector = det};
    anon_worker_totals t;
    anon_error err;
    rc = anon_worker_run(&ws, &opt, &stop_requested, log_job, &log, &t, &err);
    cli_print_json(json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:s?}", "time",
                              log_time(when), "level", rc < 0 ? "error" : "info", "event",
                              "exit", "worker", worker, "done", (json_int_t)t.done,
                              "already_done", (json_int_t)t.already_done, "rejected",
                              (json_int_t)t.rejected, "requeued", (json_int_t)t.requeued,
                              "discarded", (json_int_t)t.discarded, "refused",
                              (json_int_t)t.refused, "stopped_by_signal",
                              (int)stop_requested, "error", rc < 0 ? err.msg : NULL));
    cli_services_close(&svc);
    anon_detector_close(det);
    return rc < 0 ? cli_exit_for(&err) : EXIT_OK;
}

static const char *const drain_env[] = {
    "ANON_DB_URL", "ANON_AMQP_URL", "ANON_QUEUE", "ANON_DELIVERY_LIMIT", "ANON_S3_ENDPOINT",
    "ANON_S3_REGION", "ANON_S3_ACCESS_KEY", "ANON_S3_SECRET_KEY", "ANON_OUTPUT_BUCKET",
    "ANON_INPUT_BUCKET", "ANON_PREFETCH", "ANON_MAX_BYTES", "ANON_MAX_PIXELS", "ANON_MODEL", "ANON_PRESET", "ANON_MODEL_DIR",
    "ANON_ORIGINALS_RETENTION", "ANON_ACCEPT_DAMAGED", NULL};

const struct anonctl_cmd cmd_drain = {
    .name = "drain",
    .args = "[options]",
    .summary = "work through the queue: anonymize each image (what worker Jobs run)",
    .options =
        "      --idle-exit S     exit 0 once the queue stayed empty S seconds; 0 = never\n"
        "                        (default: 60)\n"
        "      --max-images N    exit 0 after N jobs; 0 = no limit (default: 0)\n"
        "      --prefetch N      unacknowledged jobs held at once (default: $ANON_PREFETCH, 2)\n"
        "      --worker-id NAME  name in rows and logs (default: HOST/$JOB_COMPLETION_INDEX,\n"
        "                        or HOST/pid-PID outside an Indexed Job)\n"
        "      --engine NAME     engine: anon-lean, anon (every layer kept)\n"
        "                        or darknet (the reference) (default: anon-lean)\n"
        "  -m, --model NAME      face model: yolo, ssd or tiny, as for anonctl blur\n"
        "                        (default: $ANON_MODEL, yolo)\n"
        "      --preset NAME     detection passes: fast, balanced or thorough, as for\n"
        "                        anonctl blur (default: $ANON_PRESET, balanced)\n"
        CLI_RETENTION_HELP
        "      --accept-damaged  a photo the decoder reports damaged (cut short, corrupt\n"
        "                        data) ends done with the part that could not be read\n"
        "                        filled (its job line: warnings, covered), not rejected\n"
        "                        (default: $ANON_ACCEPT_DAMAGED, 0)\n"
        "\nEach output is recorded with the model, its version (a digest of its weights),\n"
        "the preset and anonctl's version. One JSON line on stdout at the start (model,\n"
        "version, preset, retention), one per job (with \"original\": deleted, kept or\n"
        "why not) and one at the exit, each with an ISO 8601 UTC \"time\". SIGTERM: the\n"
        "job in hand is finished, then exit.\n",
    .env = drain_env,
    .run = run_drain,
    .exits = EXIT_BIT(EXIT_UNAVAILABLE),
    .exit_notes = {[EXIT_OK] = "the queue stayed idle --idle-exit seconds, or --max-images done",
                   [EXIT_CONFIG] = "also the object store refused the credentials (the job "
                                   "in hand goes back)"},
};
