/* queue.h - image jobs on RabbitMQ (AMQP 0-9-1, librabbitmq-c 0.11).
 *
 * The intake publishes one job per accepted image to a durable quorum queue
 * (default `anon.images`); workers consume it with a prefetch window and
 * manual ack/nack. The queue has a delivery limit; a message nacked that
 * many times (or rejected without requeue) is dead-lettered, at least once,
 * to `<queue>.dead`, which `anonctl retry` inspects.
 *
 * Publishing is persistent and confirmed: anon_queue_publish returns 0 only
 * after the broker acknowledged the message. A lost connection is
 * re-established with backoff and the unconfirmed messages are published
 * again (at-least-once: consumers must tolerate duplicates, which the
 * images table makes easy). One anon_queue is one connection and channel:
 * use one per thread.
 *
 * Failures carry their kind in err: ANON_ERR_TRANSIENT when the broker was
 * unreachable, closed the connection or refused a message for now (try
 * later), ANON_ERR_CONFIG for what retrying cannot fix (a malformed URL, a
 * refused login, a queue declared with other settings). */
#ifndef ANON_QUEUE_H
#define ANON_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buffer.h"
#include "base/config.h"
#include "base/error.h"
#include "service/job.h"

typedef struct anon_queue_options {
    const char *url;            /* amqp://user:pass@host:port/vhost (vhost %2f = "/"); a
                                   comma-separated list for a cluster: tried in turn */
    const char *queue;          /* "anon.images"; dead letters go to queue + ".dead" */
    long delivery_limit;        /* x-delivery-limit; 0: 5 */
    int prefetch;               /* unacked deliveries per consumer; 0: 1 */
    long connect_timeout_ms;    /* 0: 5000 */
    long confirm_timeout_ms;    /* wait for a publisher confirm; 0: 30000 */
    int reconnect_attempts;     /* on a lost connection before failing; -1: default 8
                                   (backoff 0.2 s doubling to 5 s) */
    int heartbeat_s;            /* AMQP heartbeat timeout: RabbitMQ drops a client
                                   silent for 2-3 times this long and redelivers what
                                   it held; 0: 60 */
} anon_queue_options;

/* Fills options from ANON_AMQP_URL, ANON_QUEUE, ANON_DELIVERY_LIMIT. */
int anon_queue_options_from_config(anon_queue_options *opts,
                                   const anon_config *cfg, anon_error *err);

typedef struct anon_queue anon_queue;

/* Parses the URL (malformed: clear error, password never shown), connects,
 * enables publisher confirms and declares the topology (idempotent): the
 * dead-letter queue, then the quorum queue with x-delivery-limit,
 * x-dead-letter-exchange "" / routing key <queue>.dead,
 * x-dead-letter-strategy at-least-once and x-overflow reject-publish. */
anon_queue *anon_queue_open(const anon_queue_options *opts, anon_error *err);
anon_queue *anon_queue_open_config(const anon_config *cfg, anon_error *err);
void anon_queue_close(anon_queue *q);

/* Checks that the connection is alive (reconnecting once, without
 * backoff, if needed): for readiness checks. */
int anon_queue_ping(anon_queue *q, anon_error *err);

/* Publishes one job persistently to the main queue and waits for the
 * broker's confirm. 0 means the broker has it. */
int anon_queue_publish(anon_queue *q, const anon_job *job, anon_error *err);

/* Publishes n jobs, then waits for all their confirms (faster than one by
 * one). 0 means every one is confirmed; on -1 some may have been published
 * (publishing them again is harmless). */
int anon_queue_publish_batch(anon_queue *q, const anon_job *jobs, size_t n,
                             anon_error *err);

/* Publishes a raw body to a named queue (NULL: the main queue) with a
 * confirm; used by retry to move dead letters back. */
int anon_queue_publish_body(anon_queue *q, const char *queue, const void *body,
                            size_t len, anon_error *err);

/* One received message. */
typedef struct anon_delivery {
    uint64_t tag;           /* delivery tag on the connection it came from */
    uint64_t generation;    /* which connection: acks for an old one are void */
    int redelivered;
    long delivery_count;    /* x-delivery-count header of quorum queues (0: first) */
    double died_at;         /* a dead letter's x-death time, Unix seconds (0: none) */
    anon_buffer body;
    int valid;              /* body decoded into job */
    anon_job job;
    char invalid_reason[160];
} anon_delivery;

void anon_delivery_free(anon_delivery *d);

/* Starts consuming the main queue with the configured prefetch and manual
 * acks. Called implicitly by anon_queue_next; again after a reconnect. */
int anon_queue_consume(anon_queue *q, anon_error *err);

/* Waits up to timeout_ms (0: do not wait, -1: forever) for the next message.
 * Returns 1 with *d filled (free it with anon_delivery_free), 0 on timeout,
 * -1 on error. A lost connection is re-established and consuming resumes;
 * deliveries not yet acked are redelivered by the broker. */
int anon_queue_next(anon_queue *q, anon_delivery *d, long timeout_ms,
                    anon_error *err);

/* Acknowledges a delivery (done with it). */
int anon_queue_ack(anon_queue *q, const anon_delivery *d, anon_error *err);

/* Negative acknowledgement: requeue (transient failure; counts towards the
 * delivery limit) or not (straight to the dead-letter queue). */
int anon_queue_nack(anon_queue *q, const anon_delivery *d, int requeue,
                    anon_error *err);

/* basic.get from a named queue (NULL: main; e.g. the dead-letter queue):
 * 1 with *d filled, 0 when empty, -1 on error. Ack/nack as usual. */
int anon_queue_get(anon_queue *q, const char *queue, anon_delivery *d,
                   anon_error *err);

/* Messages ready in the main queue and its dead-letter queue, by passive
 * declare (current, not delayed like the management API). Either pointer
 * may be NULL. */
int anon_queue_depth(anon_queue *q, uint32_t *ready, uint32_t *dead,
                     anon_error *err);

/* Removes every message of a named queue (NULL: main). For tests. */
int anon_queue_purge(anon_queue *q, const char *queue, anon_error *err);

/* Deletes a named queue (NULL: main) with its messages. For tests. */
int anon_queue_delete(anon_queue *q, const char *queue, anon_error *err);

/* The dead-letter queue's name ("anon.images.dead"). */
const char *anon_queue_dead_name(const anon_queue *q);

#endif
