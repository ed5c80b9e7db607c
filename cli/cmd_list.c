/* cmd_list.c - `anonctl list`: images page by page (keyset pagination). */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_services.h"
#include "service/record_json.h"

extern const struct anonctl_cmd cmd_list;

#define DEFAULT_LIMIT 50

/* A word as the shell reads it back: quoted unless plainly safe. */
static void print_shell_word(const char *w)
{
    if (w[0] != '\0' && strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "0123456789._-/:@+=,") == strlen(w)) {
        fputs(w, stdout);
        return;
    }
    putchar('\'');
    for (const char *p = w; *p; p++) {
        if (*p == '\'')
            fputs("'\\''", stdout);
        else
            putchar(*p);
    }
    putchar('\'');
}

/* The command for the next page: the same filters, after the last id. */
static void print_next_page_hint(const anon_image_filter *f, int64_t next_after)
{
    printf("more: anonctl list");
    if (f->camera) {
        printf(" --camera ");
        print_shell_word(f->camera);
    }
    if (f->status >= 0)
        printf(" --status %s", anon_image_status_name(f->status));
    /* An age (--since 30m) is turned into the time it meant, so that the
     * next page has the same window. */
    if (f->since > 0)
        printf(f->since == (double)(long long)f->since ? " --since %.0f" : " --since %.6f",
               f->since);
    if (f->limit != DEFAULT_LIMIT)
        printf(" --limit %d", f->limit);
    printf(" --after %lld\n", (long long)next_after);
}

#define ROW_FORMAT "%-8lld %-10s %-16s %5s %-20s %-17s %-8s %-7s %s\n"
#define HEAD_FORMAT "%-8s %-10s %-16s %5s %-20s %-17s %-8s %-7s %s\n"

static void print_row(const anon_image_row *r)
{
    char when[32] = "-";
    time_t t = (time_t)r->created_at;
    struct tm tm;
    if (r->created_at > 0 && gmtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    char faces[16] = "-";
    if (r->faces >= 0)
        snprintf(faces, sizeof faces, "%d", r->faces);
    /* What made the output: MODEL@VERSION, preset, anonctl version. */
    char model[96] = "-";
    if (r->model)
        snprintf(model, sizeof model, "%s@%s", r->model,
                 r->model_version ? r->model_version : "?");
    printf(ROW_FORMAT, (long long)r->id, anon_image_status_name(r->status),
           r->camera ? r->camera : "-", faces, when, model, r->preset ? r->preset : "-",
           r->anonctl_version ? r->anonctl_version : "-",
           r->original_name ? r->original_name : "");
    /* Why it was rejected or failed, under its row. */
    if ((r->status == ANON_IMAGE_REJECTED || r->status == ANON_IMAGE_FAILED) && r->error)
        printf("%-8s reason: %s\n", "", r->error);
}

static const struct option list_options[] = {
    {"camera", required_argument, NULL, 'c'},
    {"status", required_argument, NULL, 's'},
    {"since", required_argument, NULL, 'S'},
    {"limit", required_argument, NULL, 'l'},
    {"after", required_argument, NULL, 'a'},
    {"json", no_argument, NULL, 'j'},
    {NULL, 0, NULL, 0},
};

static int parse_list_args(int argc, char **argv, anon_image_filter *f, bool *json)
{
    const struct anonctl_cmd *cmd = &cmd_list;
    long n;
    int c;
    anon_error err;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", list_options, NULL)) != -1) {
        switch (c) {
        case 'c': f->camera = optarg; break;
        case 's': {
            anon_image_status st;
            if (anon_image_status_parse(optarg, &st, &err) < 0)
                return cli_usage_error(cmd, "%s", err.msg);
            f->status = (int)st;
            break;
        }
        case 'S':
            if (cli_parse_when(optarg, &f->since) < 0)
                return cli_usage_error(cmd, "--since takes a Unix time, an ISO 8601 date or "
                                            "time, or an age like 30m, 12h, 7d");
            break;
        case 'l':
            if (cli_parse_long(optarg, 1, 1000, &n) < 0)
                return cli_usage_error(cmd, "--limit takes 1 to 1000");
            f->limit = (int)n;
            break;
        case 'a':
            if (cli_parse_long(optarg, 0, 1L << 62, &n) < 0)
                return cli_usage_error(cmd, "--after takes an image id");
            f->after = n;
            break;
        case 'j': *json = true; break;
        default: return cli_option_error(cmd, c, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    return EXIT_OK;
}

static int run_list(int argc, char **argv, anon_config *cfg)
{
    anon_image_filter filter = ANON_IMAGE_FILTER_INIT;
    filter.limit = DEFAULT_LIMIT;
    bool json = false;
    int rc = parse_list_args(argc, argv, &filter, &json);
    if (rc != EXIT_OK)
        return rc;
    cli_services svc;
    if ((rc = cli_services_open("list", cfg, NEED_DB, &svc)) != EXIT_OK)
        return rc;
    anon_image_page page = {0};
    anon_error err;
    if (anon_db_image_list(svc.db, &filter, &page, &err) < 0) {
        fprintf(stderr, "anonctl list: %s\n", err.msg);
        cli_services_close(&svc);
        return cli_exit_for(&err);
    }
    if (json) {
        json_t *rows = json_array();
        for (size_t i = 0; i < page.count; i++)
            json_array_append_new(rows, anon_image_row_json(&page.rows[i]));
        cli_print_json(json_pack("{s:o,s:o}", "images", rows, "next_after",
                                 page.next_after ? json_integer(page.next_after) : json_null()));
    } else {
        printf(HEAD_FORMAT, "ID", "STATUS", "CAMERA", "FACES", "CREATED (UTC)", "MODEL",
               "PRESET", "ANONCTL", "NAME");
        for (size_t i = 0; i < page.count; i++)
            print_row(&page.rows[i]);
        if (page.next_after)
            print_next_page_hint(&filter, page.next_after);
    }
    anon_image_page_free(&page);
    cli_services_close(&svc);
    return EXIT_OK;
}

static const char *const list_env[] = {"ANON_DB_URL", NULL};

const struct anonctl_cmd cmd_list = {
    .name = "list",
    .args = "[options]",
    .summary = "list images, oldest first, a page at a time",
    .options = "      --camera NAME     only this camera (default: all)\n"
               "      --status NAME     received, queued, processing, done, failed or rejected\n"
               "                        (default: all)\n"
               "      --since WHEN      created since a Unix time, an ISO 8601 UTC date or time\n"
               "                        (2024-05-01, 2024-05-01T12:00:00Z) or an age: 30m, 12h, 7d\n"
               "                        (default: any time)\n"
               "      --limit N         rows per page, 1 to 1000 (default: 50)\n"
               "      --after ID        the page after this id (printed at the end of a page)\n"
               "      --json            {images: [...], next_after}\n"
               "\nMODEL, PRESET and ANONCTL say what made the output (MODEL@VERSION: the\n"
               "model's name and a digest of its weights). Rejected and failed images show\n"
               "their reason on a line under their row.\n",
    .env = list_env,
    .run = run_list,
    .exits = EXIT_BIT(EXIT_UNAVAILABLE),
};
