/* cli_services.h - connecting a command to PostgreSQL, RabbitMQ and S3.
 *
 * Commands that use the services open them here so that every command
 * sorts failures the same way, from the kind the library's error carries,
 * which Kubernetes Jobs rely on: a malformed setting or refused
 * credentials exit EXIT_CONFIG (retrying cannot help: the Job fails at
 * once), an unreachable service exits EXIT_UNAVAILABLE (the pod is
 * retried). */
#ifndef ANON_CLI_SERVICES_H
#define ANON_CLI_SERVICES_H

#include "base/config.h"
#include "service/db.h"
#include "service/queue.h"
#include "service/s3.h"

/* WANT_QUEUE: the queue if it can be reached; when it cannot, queue
 * stays NULL, queue_error says why and the others are opened anyway (a
 * malformed ANON_AMQP_URL is still a configuration error). */
enum { NEED_DB = 1, NEED_QUEUE = 2, NEED_S3 = 4, WANT_QUEUE = 8 };

typedef struct cli_services {
    anon_db *db;
    anon_queue *queue;
    anon_s3 *s3;
    char queue_error[512];
} cli_services;

/* Opens what `need` asks for; on failure prints "anonctl CMD: ..." and
 * returns the exit code (services opened so far are closed). */
int cli_services_open(const char *cmd, const anon_config *cfg, int need,
                      cli_services *svc);
void cli_services_close(cli_services *svc);

/* The exit code for a service call that failed with err: EXIT_CONFIG for a
 * setting to fix, EXIT_SOME_FAILED when what was asked for is missing or
 * refused as such, EXIT_UNAVAILABLE otherwise (a service down, or a
 * failure that another run may not meet). */
int cli_exit_for(const anon_error *err);

#endif
