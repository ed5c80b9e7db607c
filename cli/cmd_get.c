/* cmd_get.c - `anonctl get ID -o FILE`: download an anonymized image.
 *
 * Only ever reads the output bucket, under the row's output key, and only
 * once the row is done: there is no way to fetch an original with it. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_services.h"

extern const struct anonctl_cmd cmd_get;

static int fetch_output(cli_services *svc, const anon_config *cfg, int64_t id,
                        const char *path)
{
    anon_image_row row = {0};
    anon_error err;
    int rc = EXIT_SOME_FAILED;
    int found = anon_db_image_get(svc->db, id, &row, &err);
    if (found < 0) {
        fprintf(stderr, "anonctl get: %s\n", err.msg);
        rc = EXIT_UNAVAILABLE;
    } else if (found == 0) {
        fprintf(stderr, "anonctl get: no image with id %lld\n", (long long)id);
    } else if (row.status != ANON_IMAGE_DONE || row.output_key == NULL) {
        fprintf(stderr, "anonctl get: image %lld is %s, not done: no anonymized output yet\n",
                (long long)id, anon_image_status_name(row.status));
    } else {
        anon_buffer out = ANON_BUFFER_INIT;
        if (anon_s3_get(svc->s3, cfg->output_bucket, row.output_key, &out,
                        (size_t)cfg->max_bytes * 2, &err) < 0 ||
            anon_write_file_atomic(path, out.data, out.len, &err) < 0)
            fprintf(stderr, "anonctl get: %s\n", err.msg);
        else
            rc = EXIT_OK;
        anon_buffer_free(&out);
    }
    anon_image_row_free(&row);
    return rc;
}

static int run_get(int argc, char **argv, anon_config *cfg)
{
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                         {NULL, 0, NULL, 0}};
    const char *path = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:", opts, NULL)) != -1) {
        if (c != 'o')
            return cli_option_error(&cmd_get, c, argv);
        path = optarg;
    }
    long id;
    if (optind != argc - 1 || cli_parse_long(argv[optind], 1, 1L << 62, &id) < 0)
        return cli_usage_error(&cmd_get, "expected one image ID");
    if (path == NULL)
        return cli_usage_error(&cmd_get, "-o FILE is required");
    cli_services svc;
    int rc = cli_services_open("get", cfg, NEED_DB | NEED_S3, &svc);
    if (rc != EXIT_OK)
        return rc;
    rc = fetch_output(&svc, cfg, id, path);
    cli_services_close(&svc);
    return rc;
}

static const char *const get_env[] = {"ANON_DB_URL", "ANON_S3_ENDPOINT", "ANON_S3_REGION",
                                      "ANON_S3_ACCESS_KEY", "ANON_S3_SECRET_KEY",
                                      "ANON_OUTPUT_BUCKET", NULL};

const struct anonctl_cmd cmd_get = {
    .name = "get",
    .args = "ID -o FILE",
    .summary = "download an image's anonymized output (never the original)",
    .options = "  -o, --output FILE     where to write it (atomically)\n"
               "\nexit status: 0 written, 1 not found or not done yet, 2 usage,\n"
               "3 bad configuration, 4 a service unreachable\n",
    .env = get_env,
    .run = run_get,
};
