/* cmd_retry.c - `anonctl retry`: the repair pass the CronJob runs.
 *
 * Republishes failed and stuck images and dead letters, rejects those over
 * the attempt limit (src/service/retry.c; with a retention of 0 the
 * originals of the images it rejects are deleted at once), and prints what
 * it did. */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>

#include "cli.h"
#include "cli_services.h"
#include "service/retry.h"

extern const struct anonctl_cmd cmd_retry;

static const char *action_name(anon_retry_action a)
{
    return a == ANON_RETRY_REPUBLISHED ? "republished"
         : a == ANON_RETRY_REJECTED    ? "rejected" : "dropped";
}

struct retry_print {
    bool json, dry_run;
};

static void log_retry(void *ctx, const anon_retry_event *ev)
{
    const struct retry_print *p = ctx;
    if (p->json) {
        json_t *line = json_pack("{s:s,s:I,s:s,s:b,s:i,s:b,s:s?}", "action",
                                 action_name(ev->action), "id", (json_int_t)ev->id, "status",
                                 ev->status, "dead_letter", ev->dead_letter, "attempts",
                                 ev->attempts, "dry_run", p->dry_run, "reason", ev->reason);
        cli_print_json(line);
    } else {
        printf("%s%-11s image %lld (%s%s, %d attempts)%s%s\n", p->dry_run ? "would be " : "",
               action_name(ev->action), (long long)ev->id, ev->status,
               ev->dead_letter ? ", dead letter" : "", ev->attempts, ev->reason ? ": " : "",
               ev->reason ? ev->reason : "");
    }
}

static const struct option retry_options[] = {
    {"dry-run", no_argument, NULL, 'd'},
    {"json", no_argument, NULL, 'j'},
    {"received-age", required_argument, NULL, 'r'},
    {"queued-age", required_argument, NULL, 'q'},
    {"processing-age", required_argument, NULL, 'p'},
    {"max-attempts", required_argument, NULL, 'm'},
    {"limit", required_argument, NULL, 'l'},
    {"originals-retention", required_argument, NULL, 'R'},
    {NULL, 0, NULL, 0},
};

static int parse_retry_args(int argc, char **argv, anon_config *cfg,
                            anon_retry_options *o, struct retry_print *p)
{
    const struct anonctl_cmd *cmd = &cmd_retry;
    *o = (anon_retry_options){.policy = {.received_age = 300, .queued_age = 3600,
                                         .processing_age = 900, .limit = 500},
                              .max_attempts = (int)cfg->max_attempts,
                              .bucket = cfg->input_bucket, .max_dead = 10000};
    long n;
    int c;
    optind = 1;
    int which = 0;
    while ((c = getopt_long(argc, argv, ":", retry_options, &which)) != -1) {
        if (c == 'd') {
            o->dry_run = p->dry_run = true;
            continue;
        }
        if (c == 'j') {
            p->json = true;
            continue;
        }
        if (c == '?' || c == ':')
            return cli_option_error(cmd, c, argv);
        if (c == 'R') {
            int rc = cli_set_from_flag(cmd, cfg, "originals-retention",
                                       "ANON_ORIGINALS_RETENTION", optarg);
            if (rc != EXIT_OK)
                return rc;
            continue;
        }
        if (cli_parse_long(optarg, 1, 1L << 31, &n) < 0)
            return cli_usage_error(cmd, "--%s takes a positive number",
                                   retry_options[which].name);
        switch (c) {
        case 'r': o->policy.received_age = n; break;
        case 'q': o->policy.queued_age = n; break;
        case 'p': o->policy.processing_age = n; break;
        case 'm': o->max_attempts = (int)n; break;
        case 'l': o->policy.limit = (int)n; break;
        }
    }
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    o->originals_retention = cfg->originals_retention;
    return EXIT_OK;
}

static int run_retry(int argc, char **argv, anon_config *cfg)
{
    anon_retry_options opt;
    struct retry_print print = {0};
    int rc = parse_retry_args(argc, argv, cfg, &opt, &print);
    if (rc != EXIT_OK)
        return rc;
    cli_services svc;
    /* The object store only to delete the originals of what it rejects. */
    int need = NEED_DB | NEED_QUEUE | (opt.originals_retention == 0 ? NEED_S3 : 0);
    rc = cli_services_open("retry", cfg, need, &svc);
    if (rc != EXIT_OK)
        return rc;
    anon_retry_totals t;
    anon_error err;
    int failed = anon_retry_run(svc.db, svc.queue, svc.s3, &opt, log_retry, &print, &t,
                                &err) < 0;
    if (failed)
        fprintf(stderr, "anonctl retry: %s\n", err.msg);
    if (print.json) {
        json_t *sum = json_pack("{s:s,s:b,s:I,s:I,s:I,s:I,s:I}", "summary", "retry", "dry_run",
                                print.dry_run, "republished", (json_int_t)t.republished,
                                "rejected", (json_int_t)t.rejected, "dead_republished",
                                (json_int_t)t.dead_republished, "dead_rejected",
                                (json_int_t)t.dead_rejected, "dead_dropped",
                                (json_int_t)t.dead_dropped);
        cli_print_json(sum);
    } else {
        printf("retry%s: %ld republished, %ld rejected; dead letters: %ld republished, "
               "%ld rejected, %ld dropped\n", print.dry_run ? " (dry run)" : "",
               t.republished, t.rejected, t.dead_republished, t.dead_rejected, t.dead_dropped);
    }
    cli_services_close(&svc);
    return failed ? cli_exit_for(&err) : EXIT_OK;
}

static const char *const retry_env[] = {
    "ANON_DB_URL", "ANON_AMQP_URL", "ANON_QUEUE", "ANON_INPUT_BUCKET", "ANON_MAX_ATTEMPTS",
    "ANON_ORIGINALS_RETENTION", "ANON_S3_ENDPOINT", "ANON_S3_REGION", "ANON_S3_ACCESS_KEY",
    "ANON_S3_SECRET_KEY", NULL};

const struct anonctl_cmd cmd_retry = {
    .name = "retry",
    .args = "[options]",
    .summary = "republish failed and stuck images and dead letters (the retry CronJob)",
    .options =
        "      --dry-run             show what would be done, change nothing\n"
        "      --json                one JSON line per action and a summary line\n"
        "      --received-age S      received rows older than S s lost their publish (default: 300)\n"
        "      --queued-age S        queued rows older than S s lost their message (default: 3600)\n"
        "      --processing-age S    processing rows older than S s lost their worker\n"
        "                            (default: 900)\n"
        "      --max-attempts N      reject images after N attempts (default: $ANON_MAX_ATTEMPTS, 20)\n"
        "      --limit N             rows handled per pass (default: 500)\n"
        CLI_RETENTION_HELP
        "\nSafe to run twice at once: rows are taken with FOR UPDATE SKIP LOCKED. The\n"
        "originals of images it rejects follow the retention (0: deleted at once).\n",
    .env = retry_env,
    .run = run_retry,
    .exits = EXIT_BIT(EXIT_UNAVAILABLE),
};
