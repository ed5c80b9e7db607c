/* cmd_reprocess.c - `anonctl reprocess`: send done images through the
 * pipeline again.
 *
 * Selects done images by camera, time range, model or preset (as recorded
 * with each output), republishes their jobs and puts their rows back to
 * queued (src/service/reprocess.c); workers then overwrite each output
 * with a new one. Images whose original is gone are listed with the reason
 * and left as they are. */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_services.h"
#include "service/reprocess.h"

extern const struct anonctl_cmd cmd_reprocess;

/* --model/--preset value that selects outputs made before they were
 * recorded. */
#define NOT_RECORDED "unknown"

struct reprocess_print {
    bool json, dry_run;
};

static const char *or_dash(const char *s)
{
    return s ? s : "-";
}

static void log_reprocess(void *ctx, const anon_reprocess_event *ev)
{
    const struct reprocess_print *p = ctx;
    const anon_image_row *r = ev->row;
    bool sent = ev->action == ANON_REPROCESS_SENT;
    if (p->json) {
        cli_print_json(json_pack("{s:s,s:I,s:s?,s:s?,s:s?,s:s?,s:b,s:s?}", "action",
                                 sent ? "sent" : "skipped", "id", (json_int_t)r->id, "camera",
                                 r->camera, "model", r->model, "model_version", r->model_version,
                                 "preset", r->preset, "dry_run", p->dry_run, "reason",
                                 ev->reason));
        return;
    }
    printf("%s image %lld (%s, %s@%s, %s)%s%s\n",
           sent ? (p->dry_run ? "would send" : "sent") : "skipped", (long long)r->id,
           or_dash(r->camera), r->model ? r->model : NOT_RECORDED, or_dash(r->model_version),
           or_dash(r->preset), ev->reason ? ": " : "", ev->reason ? ev->reason : "");
}

static const struct option reprocess_options[] = {
    {"camera", required_argument, NULL, 'c'},
    {"since", required_argument, NULL, 'S'},
    {"until", required_argument, NULL, 'U'},
    {"model", required_argument, NULL, 'm'},
    {"preset", required_argument, NULL, 'p'},
    {"all", no_argument, NULL, 'a'},
    {"limit", required_argument, NULL, 'l'},
    {"dry-run", no_argument, NULL, 'd'},
    {"json", no_argument, NULL, 'j'},
    {NULL, 0, NULL, 0},
};

/* NOT_RECORDED selects rows with nothing recorded (the filter's ""). */
static const char *recorded(const char *value)
{
    return strcmp(value, NOT_RECORDED) == 0 ? "" : value;
}

static int parse_when_flag(const char *flag, double *out)
{
    if (cli_parse_when(optarg, out) == 0)
        return EXIT_OK;
    return cli_usage_error(&cmd_reprocess, "--%s takes a Unix time, an ISO 8601 date or time, "
                           "or an age like 30m, 12h, 7d", flag);
}

static int parse_reprocess_args(int argc, char **argv, anon_reprocess_options *o,
                                struct reprocess_print *p)
{
    const struct anonctl_cmd *cmd = &cmd_reprocess;
    anon_reprocess_filter *f = &o->filter;
    bool all = false;
    int c, rc = EXIT_OK;
    optind = 1;
    while (rc == EXIT_OK && (c = getopt_long(argc, argv, ":", reprocess_options, NULL)) != -1) {
        switch (c) {
        case 'c': f->camera = optarg; break;
        case 'S': rc = parse_when_flag("since", &f->since); break;
        case 'U': rc = parse_when_flag("until", &f->until); break;
        case 'm': f->model = recorded(optarg); break;
        case 'p': f->preset = recorded(optarg); break;
        case 'a': all = true; break;
        case 'l':
            if (cli_parse_long(optarg, 1, 1000000000, &o->limit) < 0)
                rc = cli_usage_error(cmd, "--limit takes a positive number");
            break;
        case 'd': o->dry_run = p->dry_run = true; break;
        case 'j': p->json = true; break;
        default: return cli_option_error(cmd, c, argv);
        }
    }
    if (rc != EXIT_OK)
        return rc;
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    /* Everything at once only when asked for in so many words. */
    if (!all && !f->camera && !f->since && !f->until && !f->model && !f->preset)
        return cli_usage_error(cmd, "select images with --camera, --since, --until, --model "
                                    "or --preset (or --all for every done image)");
    return EXIT_OK;
}

static void print_summary(const struct reprocess_print *p, const anon_reprocess_totals *t)
{
    if (p->json) {
        cli_print_json(json_pack("{s:s,s:b,s:I,s:I,s:b}", "summary", "reprocess", "dry_run",
                                 p->dry_run, "sent", (json_int_t)t->sent, "skipped",
                                 (json_int_t)t->skipped, "limit_reached", t->limit_reached));
        return;
    }
    printf("reprocess%s: %ld %s, %ld skipped (original gone)%s\n",
           p->dry_run ? " (dry run)" : "", t->sent, p->dry_run ? "would be sent" : "sent",
           t->skipped, t->limit_reached ? "; --limit reached, run again for more" : "");
}

static int run_reprocess(int argc, char **argv, anon_config *cfg)
{
    anon_reprocess_options opt = {.limit = 1000};
    struct reprocess_print print = {0};
    int rc = parse_reprocess_args(argc, argv, &opt, &print);
    if (rc != EXIT_OK)
        return rc;
    opt.bucket = cfg->input_bucket;
    cli_services svc;
    /* A dry run publishes nothing: it works with RabbitMQ down. */
    int need = NEED_DB | NEED_S3 | (opt.dry_run ? 0 : NEED_QUEUE);
    if ((rc = cli_services_open("reprocess", cfg, need, &svc)) != EXIT_OK)
        return rc;
    anon_reprocess_totals t;
    anon_error err;
    int failed = anon_reprocess_run(svc.db, svc.queue, svc.s3, &opt, log_reprocess, &print, &t,
                                    &err) < 0;
    if (failed)
        fprintf(stderr, "anonctl reprocess: %s\n", err.msg);
    print_summary(&print, &t);
    cli_services_close(&svc);
    if (failed)
        return cli_exit_for(&err);
    return t.skipped ? EXIT_SOME_FAILED : EXIT_OK;
}

static const char *const reprocess_env[] = {
    "ANON_DB_URL", "ANON_AMQP_URL", "ANON_QUEUE", "ANON_INPUT_BUCKET", "ANON_S3_ENDPOINT",
    "ANON_S3_REGION", "ANON_S3_ACCESS_KEY", "ANON_S3_SECRET_KEY", NULL};

const struct anonctl_cmd cmd_reprocess = {
    .name = "reprocess",
    .args = "[--camera NAME] [--since WHEN] [--until WHEN] [--model NAME] [--preset NAME] "
            "[--all] [options]",
    .summary = "send done images through the pipeline again (e.g. after a model change)",
    .options =
        "      --camera NAME     only this camera's images\n"
        "      --since WHEN      images received at or after WHEN: a Unix time, an ISO 8601\n"
        "                        UTC date or time (2024-05-01, 2024-05-01T12:00:00Z) or an\n"
        "                        age (30m, 12h, 7d)\n"
        "      --until WHEN      images received before WHEN (the same forms)\n"
        "      --model NAME      outputs made by this model (" NOT_RECORDED ": made before\n"
        "                        models were recorded)\n"
        "      --preset NAME     outputs made with this preset (" NOT_RECORDED ": the same)\n"
        "      --all             every done image (when no other selector is given)\n"
        "      --limit N         images sent per run (default: 1000; skipped ones do not\n"
        "                        count)\n"
        "      --dry-run         show what would be sent, change nothing\n"
        "      --json            one JSON line per image and a summary line\n"
        "\nEach selected image's job is published again and its row goes back to queued;\n"
        "a worker (anonctl drain, with the model and preset it runs with) overwrites the\n"
        "output under the same key; the previous output stays readable until then. An\n"
        "image whose original is gone (see ANON_ORIGINALS_RETENTION: with the default 0\n"
        "originals are deleted as soon as an image is done) cannot be processed again: it\n"
        "is listed with the reason and left as it is. Safe to run twice at once: rows are\n"
        "taken with FOR UPDATE SKIP LOCKED, and a row once sent is no longer done.\n",
    .env = reprocess_env,
    .run = run_reprocess,
    .exits = EXIT_BIT(EXIT_SOME_FAILED) | EXIT_BIT(EXIT_UNAVAILABLE),
    .exit_notes = {[EXIT_SOME_FAILED] = "some selected images were skipped: their original "
                                        "is gone (the others were sent)"},
};
