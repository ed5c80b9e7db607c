/* queue_private.h - what the files of the RabbitMQ client share.
 *
 *   queue.c           settings, connecting and reconnecting (each broker of a
 *                     cluster in turn, with backoff), the topology, errors
 *   queue_publish.c   publishing with publisher confirms
 *   queue_consume.c   deliveries: consuming, basic.get, acks, queue depth
 *
 * Not a public interface: only these files include it. */
#ifndef ANON_QUEUE_PRIVATE_H
#define ANON_QUEUE_PRIVATE_H

#include <amqp.h>

#include "service/queue.h"

#define QUEUE_CHANNEL 1
#define QUEUE_MAX_URLS 8

struct queue_broker {
    char *text;                       /* owned copy, parsed in place */
    struct amqp_connection_info info;
};

/* A delivery that arrived while waiting for confirms. */
struct queue_stashed {
    anon_delivery d;
    struct queue_stashed *next;
};

struct anon_queue {
    struct queue_broker brokers[QUEUE_MAX_URLS];
    int n_brokers;
    int current;                      /* broker to try next */
    char *queue;
    char *dead;
    long delivery_limit;
    int prefetch;
    long connect_timeout_ms;
    long confirm_timeout_ms;
    int reconnect_attempts;
    int heartbeat_s;

    amqp_connection_state_t conn;     /* NULL: not connected */
    uint64_t generation;              /* bumped on every new connection */
    uint64_t next_seq;                /* publish sequence number of the next message */
    int want_consume;                 /* resume consuming after a reconnect */
    int consuming;                    /* basic.consume done on this connection */
    int refused;                      /* the last publish was nacked */
    struct queue_stashed *stash_head, *stash_tail;
};

/* Turns a failed RPC reply into err, with its kind: the broker gone or
 * closing is transient, a refused login or a queue declared with other
 * settings is a configuration error. Returns -1. */
int queue_fail_reply(anon_error *err, const char *what, amqp_rpc_reply_t r);

/* Drops the connection without talking to the broker (it may be gone),
 * with the deliveries stashed on it. */
void queue_disconnect(anon_queue *q);

/* Connects if not connected (see queue.c). */
int queue_ensure_connected(anon_queue *q, anon_error *err);

/* basic.qos with the prefetch and basic.consume of the main queue: part
 * of every reconnect of a consumer. Drops the connection on failure. */
int queue_start_consuming(anon_queue *q, anon_error *err);

/* queue.declare of name with args; passive only checks it exists.
 * *messages (may be NULL) gets its ready count. Drops the connection on
 * failure (the channel is closed after an error). */
int queue_declare(anon_queue *q, const char *name, amqp_table_entry_t *args, int n,
                  uint32_t *messages, int passive, anon_error *err);

/* Handles a frame that is not what the caller waited for: keeps a
 * delivery for later, notes a cancelled consumer. Returns -1 (and drops
 * the connection) when the broker closed the channel or connection. */
int queue_handle_other_frame(anon_queue *q, const amqp_frame_t *f, anon_error *err);

#endif
