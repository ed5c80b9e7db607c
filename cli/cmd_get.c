/* cmd_get.c - `anonctl get ID -o FILE|-`: download an anonymized image;
 * `--json`: its record (what made it, when its original was deleted).
 *
 * Only ever reads the output bucket, under the row's output key, and only
 * once the row has an output (done, or being processed again: the previous
 * output until the new one replaces it): there is no way to fetch an
 * original with it. A file name whose extension says another format than
 * the image's is refused (a PNG under a .jpg name breaks whatever trusts
 * the name). */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "cli_services.h"
#include "image/image.h"
#include "service/record_json.h"

extern const struct anonctl_cmd cmd_get;

/* The format a file name claims by its extension; UNKNOWN when none. */
static anon_format format_of_name(const char *path)
{
    const char *base = strrchr(path, '/');
    const char *dot = strrchr(base ? base : path, '.');
    if (dot == NULL)
        return ANON_FMT_UNKNOWN;
    if (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0 ||
        strcasecmp(dot, ".jpe") == 0)
        return ANON_FMT_JPEG;
    return strcasecmp(dot, ".png") == 0 ? ANON_FMT_PNG : ANON_FMT_UNKNOWN;
}

static int write_stdout(const anon_buffer *out)
{
    if (fwrite(out->data, 1, out->len, stdout) != out->len || fflush(stdout) != 0) {
        perror("anonctl get: writing to standard output");
        return EXIT_SOME_FAILED;
    }
    return EXIT_OK;
}

/* Writes the downloaded output to path ("-": standard output). */
static int save_output(const anon_buffer *out, int64_t id, const char *path)
{
    if (strcmp(path, "-") == 0)
        return write_stdout(out);
    anon_format have = anon_sniff(out->data, out->len);
    anon_format named = format_of_name(path);
    if (named != ANON_FMT_UNKNOWN && have != ANON_FMT_UNKNOWN && named != have) {
        fprintf(stderr, "anonctl get: image %lld is a %s image; refusing to write it under "
                        "the name %s: use a .%s name (nothing written)\n",
                (long long)id, have == ANON_FMT_PNG ? "PNG" : "JPEG", path,
                have == ANON_FMT_PNG ? "png" : "jpg");
        return EXIT_USAGE;
    }
    anon_error err;
    if (anon_write_file_atomic(path, out->data, out->len, &err) < 0) {
        fprintf(stderr, "anonctl get: %s\n", err.msg);
        return EXIT_SOME_FAILED;
    }
    return EXIT_OK;
}

/* Downloads the row's output to path, or only prints its record (path
 * NULL); with json, the record as one JSON line after the download. */
static int fetch_output(cli_services *svc, const anon_config *cfg, int64_t id,
                        const char *path, bool json)
{
    anon_image_row row = {0};
    anon_error err;
    int rc = EXIT_SOME_FAILED;
    int found = anon_db_image_get(svc->db, id, &row, &err);
    if (found < 0) {
        fprintf(stderr, "anonctl get: %s\n", err.msg);
        rc = cli_exit_for(&err);
    } else if (found == 0) {
        fprintf(stderr, "anonctl get: no image with id %lld\n", (long long)id);
    } else if (path == NULL) {
        rc = EXIT_OK;
    } else if (!anon_image_has_output(&row)) {
        fprintf(stderr, "anonctl get: image %lld is %s, not done: no anonymized output%s\n",
                (long long)id, anon_image_status_name(row.status),
                row.status == ANON_IMAGE_REJECTED ? "" : " yet");
    } else {
        anon_buffer out = ANON_BUFFER_INIT;
        if (anon_s3_get(svc->s3, cfg->output_bucket, row.output_key, &out,
                        (size_t)cfg->max_bytes * 2, &err) < 0) {
            fprintf(stderr, "anonctl get: %s\n", err.msg);
            rc = cli_exit_for(&err);
        } else {
            rc = save_output(&out, id, path);
        }
        anon_buffer_free(&out);
    }
    if (json && found > 0 && rc == EXIT_OK)
        cli_print_json(anon_image_row_json(&row));
    anon_image_row_free(&row);
    return rc;
}

static int run_get(int argc, char **argv, anon_config *cfg)
{
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                         {"json", no_argument, NULL, 'j'},
                                         {NULL, 0, NULL, 0}};
    const char *path = NULL;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:", opts, NULL)) != -1) {
        if (c == 'j')
            json = true;
        else if (c == 'o')
            path = optarg;
        else
            return cli_option_error(&cmd_get, c, argv);
    }
    long id;
    if (optind != argc - 1 || cli_parse_long(argv[optind], 1, 1L << 62, &id) < 0)
        return cli_usage_error(&cmd_get, "expected one image ID");
    if (path == NULL && !json)
        return cli_usage_error(&cmd_get, "-o FILE is required (-o - for standard output), "
                                         "or --json for the record");
    if (path && json && strcmp(path, "-") == 0)
        return cli_usage_error(&cmd_get, "--json and -o - would both write to standard output");
    if (path && strcmp(path, "-") == 0 && isatty(STDOUT_FILENO))
        return cli_usage_error(&cmd_get, "-o - would write an image to the terminal; "
                                         "redirect standard output or name a file");
    cli_services svc;
    int rc = cli_services_open("get", cfg, NEED_DB | (path ? NEED_S3 : 0), &svc);
    if (rc != EXIT_OK)
        return rc;
    rc = fetch_output(&svc, cfg, id, path, json);
    cli_services_close(&svc);
    return rc;
}

static const char *const get_env[] = {"ANON_DB_URL", "ANON_S3_ENDPOINT", "ANON_S3_REGION",
                                      "ANON_S3_ACCESS_KEY", "ANON_S3_SECRET_KEY",
                                      "ANON_OUTPUT_BUCKET", NULL};

const struct anonctl_cmd cmd_get = {
    .name = "get",
    .args = "ID -o FILE|- [--json] | ID --json",
    .summary = "download an image's anonymized output (never the original)",
    .options = "  -o, --output FILE     where to write it (atomically); - for standard output.\n"
               "                        A .jpg/.jpeg/.png name must match the image's format\n"
               "                        (refused otherwise, exit 2: nothing written)\n"
               "      --json            print the image's record as one JSON line (as\n"
               "                        GET /v1/images/ID: status, faces, the model, its\n"
               "                        version and preset that made the output, the anonctl\n"
               "                        version, when the original was deleted); without -o\n"
               "                        nothing is downloaded\n"
               "\nWhile an image is processed again (anonctl reprocess) its previous output is\n"
               "served until the new one replaces it.\n",
    .env = get_env,
    .run = run_get,
    .exits = EXIT_BIT(EXIT_SOME_FAILED) | EXIT_BIT(EXIT_UNAVAILABLE),
    .exit_notes = {[EXIT_SOME_FAILED] = "no image with that id, or no output (not done yet, "
                                        "or rejected)",
                   [EXIT_USAGE] = "also a file name whose extension is not the image's format",
                   [EXIT_CONFIG] = "also the object store refused the credentials"},
};
