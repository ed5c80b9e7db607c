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
    if (need & (NEED_QUEUE | WANT_QUEUE)) {
        char *copy = strdup(cfg->amqp_url);
        struct amqp_connection_info info;
        int rc = copy ? amqp_parse_url(copy, &info) : AMQP_STATUS_NO_MEMORY;
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

/* The queue for a quick look: each broker of the list tried once, without
 * the backoff that lets a worker ride out an outage (eight attempts, about
 * 25 s, before an answer that the broker is down). */
static anon_queue *open_queue_once(const anon_config *cfg, anon_error *err)
{
    anon_queue_options opts;
    if (anon_queue_options_from_config(&opts, cfg, err) < 0)
        return NULL;
    opts.reconnect_attempts = 0;
    for (const char *p = cfg->amqp_url; *p; p++)
        opts.reconnect_attempts += *p == ',';
    return anon_queue_open(&opts, err);
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
    if ((need & WANT_QUEUE) && (svc->queue = open_queue_once(cfg, &err)) == NULL)
        snprintf(svc->queue_error, sizeof svc->queue_error, "%s", err.msg);
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

int cli_s3_exit_code(const cli_services *svc)
{
    /* anon_s3_last_status is the one place this file asks the client what
     * kind of failure it had; it becomes anon_error_kind_of(err) once the
     * service package records kinds in anon_error. */
    switch (anon_s3_last_status(svc->s3)) {
    case ANON_S3_UNAVAILABLE: return EXIT_UNAVAILABLE;
    case ANON_S3_DENIED: return EXIT_CONFIG;
    default: return EXIT_SOME_FAILED;
    }
}
