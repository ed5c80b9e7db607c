/* cli_services.c - opening the services for a command (see cli_services.h). */
#include "cli_services.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

int cli_exit_for(const anon_error *err)
{
    switch (anon_error_kind_of(err)) {
    case ANON_ERR_CONFIG: return EXIT_CONFIG;
    case ANON_ERR_INPUT:
    case ANON_ERR_NOT_FOUND: return EXIT_SOME_FAILED;
    case ANON_ERR_TRANSIENT:
    case ANON_ERR_FAILED: break;
    }
    return EXIT_UNAVAILABLE;
}

static int fail(const char *cmd, cli_services *svc, const anon_error *err)
{
    fprintf(stderr, "anonctl %s: %s\n", cmd, err->msg);
    cli_services_close(svc);
    return cli_exit_for(err);
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

/* The object store first: opening it makes no request, so a malformed
 * setting is reported before anything waits on the network. */
int cli_services_open(const char *cmd, const anon_config *cfg, int need,
                      cli_services *svc)
{
    memset(svc, 0, sizeof *svc);
    anon_error err;
    if ((need & NEED_S3) && (svc->s3 = anon_s3_open_config(cfg, &err)) == NULL)
        return fail(cmd, svc, &err);
    if ((need & NEED_DB) && (svc->db = anon_db_connect(cfg->db_url, &err)) == NULL)
        return fail(cmd, svc, &err);
    if ((need & NEED_QUEUE) && (svc->queue = anon_queue_open_config(cfg, &err)) == NULL)
        return fail(cmd, svc, &err);
    if ((need & WANT_QUEUE) && (svc->queue = open_queue_once(cfg, &err)) == NULL) {
        if (anon_error_kind_of(&err) == ANON_ERR_CONFIG)
            return fail(cmd, svc, &err);
        snprintf(svc->queue_error, sizeof svc->queue_error, "%s", err.msg);
    }
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
