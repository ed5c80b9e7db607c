/* cmd_purge.c - `anonctl purge`: delete originals past their retention.
 *
 * The originals of done and rejected images that finished longer ago than
 * ANON_ORIGINALS_RETENTION (or --originals-retention) are deleted from the
 * input bucket and their rows marked (src/service/originals.c). The retry
 * CronJob runs it after `anonctl retry`. Unfinished images are never
 * touched; a second run finds nothing more to do, and two runs at once
 * share the work (rows are locked with SKIP LOCKED). */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>

#include "cli.h"
#include "cli_services.h"
#include "base/duration.h"
#include "base/timestamp.h"
#include "service/originals.h"

extern const struct anonctl_cmd cmd_purge;

struct purge_print {
    bool json, dry_run;
};

static void log_purge(void *ctx, const anon_image_row *row)
{
    const struct purge_print *p = ctx;
    char finished[ANON_TIMESTAMP_LEN];
    anon_timestamp_format(row->finished_at, finished);
    if (p->json) {
        cli_print_json(json_pack("{s:s,s:I,s:s?,s:s,s:s,s:b}", "action", "deleted", "id",
                                 (json_int_t)row->id, "camera", row->camera, "status",
                                 anon_image_status_name(row->status), "finished_at", finished,
                                 "dry_run", p->dry_run));
    } else {
        printf("%s image %lld (%s, %s, finished %s)\n",
               p->dry_run ? "would delete the original of" : "deleted the original of",
               (long long)row->id, row->camera ? row->camera : "-",
               anon_image_status_name(row->status), finished);
    }
}

static const struct option purge_options[] = {
    {"dry-run", no_argument, NULL, 'd'},
    {"json", no_argument, NULL, 'j'},
    {"limit", required_argument, NULL, 'l'},
    {"originals-retention", required_argument, NULL, 'R'},
    {NULL, 0, NULL, 0},
};

static int parse_purge_args(int argc, char **argv, anon_config *cfg, anon_purge_options *o,
                            struct purge_print *p)
{
    const struct anonctl_cmd *cmd = &cmd_purge;
    int c, rc;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", purge_options, NULL)) != -1) {
        switch (c) {
        case 'd': o->dry_run = p->dry_run = true; break;
        case 'j': p->json = true; break;
        case 'l':
            if (cli_parse_long(optarg, 1, 1000000000, &o->limit) < 0)
                return cli_usage_error(cmd, "--limit takes a positive number");
            break;
        case 'R':
            rc = cli_set_from_flag(cmd, cfg, "originals-retention", "ANON_ORIGINALS_RETENTION",
                                   optarg);
            if (rc != EXIT_OK)
                return rc;
            break;
        default: return cli_option_error(cmd, c, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    o->retention = cfg->originals_retention;
    o->bucket = cfg->input_bucket;
    return EXIT_OK;
}

static int run_purge(int argc, char **argv, anon_config *cfg)
{
    anon_purge_options opt = {.limit = 10000};
    struct purge_print print = {0};
    int rc = parse_purge_args(argc, argv, cfg, &opt, &print);
    if (rc != EXIT_OK)
        return rc;
    cli_services svc;
    if ((rc = cli_services_open("purge", cfg, NEED_DB | NEED_S3, &svc)) != EXIT_OK)
        return rc;
    long purged = 0;
    anon_error err;
    int failed = anon_purge_run(svc.db, svc.s3, &opt, log_purge, &print, &purged, &err) < 0;
    if (failed)
        fprintf(stderr, "anonctl purge: %s\n", err.msg);
    char retention[ANON_DURATION_LEN];
    anon_duration_format(opt.retention, retention);
    if (print.json) {
        cli_print_json(json_pack("{s:s,s:b,s:s,s:I,s:b}", "summary", "purge", "dry_run",
                                 print.dry_run, "retention", retention, "deleted",
                                 (json_int_t)purged, "limit_reached", purged >= opt.limit));
    } else {
        printf("purge%s: %ld original%s %s (retention %s)%s\n", print.dry_run ? " (dry run)" : "",
               purged, purged == 1 ? "" : "s", print.dry_run ? "would be deleted" : "deleted",
               retention, opt.retention == ANON_DURATION_FOREVER ? ": originals are kept forever"
               : purged >= opt.limit ? "; --limit reached, run again for more" : "");
    }
    cli_services_close(&svc);
    return failed ? cli_exit_for(&err) : EXIT_OK;
}

static const char *const purge_env[] = {
    "ANON_DB_URL", "ANON_ORIGINALS_RETENTION", "ANON_INPUT_BUCKET", "ANON_S3_ENDPOINT",
    "ANON_S3_REGION", "ANON_S3_ACCESS_KEY", "ANON_S3_SECRET_KEY", NULL};

const struct anonctl_cmd cmd_purge = {
    .name = "purge",
    .args = "[options]",
    .summary = "delete originals past their retention (run by the retry CronJob)",
    .options =
        "      --dry-run         show what would be deleted, delete nothing\n"
        "      --json            one JSON line per original and a summary line\n"
        "      --limit N         originals deleted per run (default: 10000)\n"
        CLI_RETENTION_HELP
        "\nDeletes from the input bucket the originals of done and rejected images that\n"
        "finished longer ago than the retention, and records when (original_deleted_at).\n"
        "Unfinished images (received, queued, processing, failed) are never touched. An\n"
        "image whose original is deleted can no longer be reprocessed. Idempotent, and\n"
        "safe to run twice at once: rows are taken with FOR UPDATE SKIP LOCKED.\n",
    .env = purge_env,
    .run = run_purge,
    .exits = EXIT_BIT(EXIT_UNAVAILABLE),
    .exit_notes = {[EXIT_CONFIG] = "also the object store refused the credentials"},
};
