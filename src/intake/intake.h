/* intake.h - anon-intake, the HTTP front door of the batch system.
 *
 * Cameras and scripts POST photos; the intake checks them (magic bytes,
 * header dimensions, size), stores the original under a content-addressed
 * key in the input bucket, records it in PostgreSQL and enqueues the job
 * on RabbitMQ, answering 202 only once all of that is durable. It also
 * serves image metadata, the anonymized output (never the original),
 * health, readiness and Prometheus metrics.
 *
 * The server runs in libmicrohttpd's threads, one per connection. The
 * library never prints: every request is reported as one JSON log line
 * through the caller's log callback, which anon-intake writes to stdout. */
#ifndef ANON_INTAKE_H
#define ANON_INTAKE_H

#include "base/config.h"
#include "base/error.h"
#include "intake/intake_check.h"   /* anon_intake_camera_valid, for clients */

/* Receives one complete JSON object (no newline); called from many threads
 * at once, so it must write the line in one call. */
typedef void (*anon_intake_log_fn)(void *ctx, const char *json_line);

typedef struct anon_intake anon_intake;

/* Starts listening on cfg->intake_listen ("ADDR:PORT"; port 0 picks a free
 * one). The services are connected lazily, so the server starts (and
 * /readyz reports what is missing) even when they are down. */
anon_intake *anon_intake_start(const anon_config *cfg, anon_intake_log_fn log,
                               void *log_ctx, anon_error *err);

/* The port actually listened on. */
int anon_intake_port(const anon_intake *in);

/* Graceful stop, as Kubernetes expects on SIGTERM: stops accepting new
 * connections, answers new requests on open ones with 503, waits up to
 * grace_seconds for in-flight requests to finish, then closes everything.
 * Returns the number of requests still running when the grace ran out;
 * when that is not 0 the server is left as it is, for the process to exit
 * (anon_intake_free would wait for them). */
int anon_intake_shutdown(anon_intake *in, long grace_seconds);

/* Frees the server (shutting it down at once if still running). */
void anon_intake_free(anon_intake *in);

#endif
