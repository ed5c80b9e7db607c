/* cli_services.c - opening the services for a command (see cli_services.h). */
#include "cli_services.h"

#include <amqp.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Settings that cannot work whatever the network does. */
static const char *malformed_setting(const anon_config *cfg, int need)
{
    if (need & NEED_DB) {
        char *msg = NULL;
        PQconninfoOption *opts = PQconninfoParse(cfg->db_url, &msg);
        PQfreemem(msg);
        if (opts == NULL)
            return "ANON_DB_URL is not a valid PostgreSQL URL";
        PQconninfoFree(opts);
    }
    if (need & NEED_QUEUE) {
        /* A cluster is a comma-separated list: each URL must parse. */
        char *copy = strdup(cfg->amqp_url), *save = NULL;
        struct amqp_connection_info info;
        char *url = copy ? strtok_r(copy, ",", &save) : NULL;
        int rc = url ? AMQP_STATUS_OK : AMQP_STATUS_BAD_URL;
        for (; url && rc == AMQP_STATUS_OK; url = strtok_r(NULL, ",", &save))
            rc = amqp_parse_url(url, &info);
        free(copy);
        if (rc != AMQP_STATUS_OK)
            return "ANON_AMQP_URL is not a valid amqp:// URL";
    }
    if (need & NEED_S3) {
        if (strncmp(cfg->s3_endpoint, "http://", 7) != 0 &&
            strncmp(cfg->s3_endpoint, "https://", 8) != 0)
            return "ANON_S3_ENDPOINT must start with http:// or https://";
    }
    return NULL;
}

static int fail(const char *cmd, cli_services *svc, int code, const char *msg)
{
    fprintf(stderr, "anonctl %s: %s\n", cmd, msg);
    cli_services_close(svc);
    return code;
}

int cli_services_open(const char *cmd, const anon_config *cfg, int need,
                      cli_services *svc)
{
    memset(svc, 0, sizeof *svc);
    const char *bad = malformed_setting(cfg, need);
    if (bad)
        return fail(cmd, svc, EXIT_CONFIG, bad);
    anon_error err;
    if ((need & NEED_DB) && (svc->db = anon_db_connect(cfg->db_url, &err)) == NULL)
        return fail(cmd, svc, EXIT_UNAVAILABLE, err.msg);
    if ((need & NEED_QUEUE) && (svc->queue = anon_queue_open_config(cfg, &err)) == NULL)
        return fail(cmd, svc, EXIT_UNAVAILABLE, err.msg);
    if ((need & NEED_S3) && (svc->s3 = anon_s3_open_config(cfg, &err)) == NULL)
        return fail(cmd, svc, EXIT_CONFIG, err.msg);
    return EXIT_OK;
}

void cli_services_close(cli_services *svc)
{
    if (svc->queue)
        anon_queue_close(svc->queue);
    if (svc->db)
        anon_db_close(svc->db);
    if (svc->s3)
        anon_s3_close(svc->s3);
    memset(svc, 0, sizeof *svc);
}
