/* queue_publish.c - publishing jobs with publisher confirms (see queue.h).
 *
 * librabbitmq 0.11 has no helper to wait for publisher confirms, so
 * wait_confirms reads the frames itself: basic.ack / basic.nack (possibly
 * `multiple`, covering every earlier sequence number), and deliveries for
 * this connection's consumer that arrive meanwhile, which are kept for
 * anon_queue_next. Confirms are always drained before returning, because
 * an unread ack would later make amqp_consume_message fail with
 * AMQP_STATUS_UNEXPECTED_STATE. After a lost connection the unconfirmed
 * messages are sent again on the next one. */
#include "service/queue_private.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "base/clock.h"

/* After the broker refused a message (a queue without a leader while a
 * node is down): 0.2 s doubling to 3.2 s, time for an election. */
static const anon_backoff refused_backoff = {200, 3200, 0};

struct outgoing {
    const char *routing_key;
    amqp_bytes_t body;
    char message_id[24];
    uint64_t seq;      /* 0: not sent on this connection */
    int confirmed;
};

/* Applies a basic.ack / basic.nack to the messages it covers. Returns the
 * number of messages the broker refused. */
static int apply_confirm(struct outgoing *msgs, size_t n, uint64_t tag, int multiple, int nack)
{
    int refused = 0;
    for (size_t i = 0; i < n; i++) {
        if (msgs[i].seq == 0 || msgs[i].confirmed)
            continue;
        if (msgs[i].seq == tag || (multiple && msgs[i].seq < tag)) {
            if (nack) {
                msgs[i].seq = 0;  /* send again */
                refused++;
            } else {
                msgs[i].confirmed = 1;
            }
        }
    }
    return refused;
}

static size_t unconfirmed(const struct outgoing *msgs, size_t n)
{
    size_t left = 0;
    for (size_t i = 0; i < n; i++)
        left += !msgs[i].confirmed;
    return left;
}

/* Sends every message not yet sent on this connection. */
static int send_pending(anon_queue *q, struct outgoing *msgs, size_t n, anon_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (msgs[i].confirmed || msgs[i].seq != 0)
            continue;
        amqp_basic_properties_t props;
        memset(&props, 0, sizeof props);
        props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
                       (msgs[i].message_id[0] ? AMQP_BASIC_MESSAGE_ID_FLAG : 0);
        props.content_type = amqp_cstring_bytes("application/json");
        props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
        props.message_id = amqp_cstring_bytes(msgs[i].message_id);
        int rc = amqp_basic_publish(q->conn, QUEUE_CHANNEL, amqp_empty_bytes,
                                    amqp_cstring_bytes(msgs[i].routing_key), 0, 0, &props,
                                    msgs[i].body);
        if (rc != AMQP_STATUS_OK) {
            anon_fail_kind(err, ANON_ERR_TRANSIENT, "publishing to %s: %s",
                           msgs[i].routing_key, amqp_error_string2(rc));
            queue_disconnect(q);
            return -1;
        }
        msgs[i].seq = q->next_seq++;
    }
    return 0;
}

/* A basic.nack: reject-publish, the queue is over its limit or has no
 * leader (a node died). RabbitMQ 3.10 channels can keep refusing after a
 * new leader is elected, so start over on a fresh connection, after a
 * pause. */
static int refused(anon_queue *q, anon_error *err)
{
    q->refused = 1;
    queue_disconnect(q);
    return anon_fail_kind(err, ANON_ERR_TRANSIENT,
                          "the broker refused the message (queue full or without a leader)");
}

/* Reads frames until every sent message is confirmed, or the timeout. */
static int wait_confirms(anon_queue *q, struct outgoing *msgs, size_t n, anon_error *err)
{
    double start = anon_now_ms();
    while (unconfirmed(msgs, n) > 0) {
        long left = q->confirm_timeout_ms - (long)(anon_now_ms() - start);
        if (left <= 0) {
            queue_disconnect(q);  /* late acks would confuse the next consume */
            return anon_fail_kind(err, ANON_ERR_TRANSIENT, "no publisher confirm within %ld ms",
                                  q->confirm_timeout_ms);
        }
        struct timeval tv = {left / 1000, (left % 1000) * 1000};
        amqp_frame_t f;
        int rc = amqp_simple_wait_frame_noblock(q->conn, &f, &tv);
        if (rc == AMQP_STATUS_TIMEOUT)
            continue;
        if (rc != AMQP_STATUS_OK) {
            anon_fail_kind(err, ANON_ERR_TRANSIENT, "waiting for publisher confirms: %s",
                           amqp_error_string2(rc));
            queue_disconnect(q);
            return -1;
        }
        if (f.frame_type == AMQP_FRAME_METHOD && f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
            amqp_basic_ack_t *a = f.payload.method.decoded;
            apply_confirm(msgs, n, a->delivery_tag, a->multiple, 0);
        } else if (f.frame_type == AMQP_FRAME_METHOD &&
                   f.payload.method.id == AMQP_BASIC_NACK_METHOD) {
            amqp_basic_nack_t *a = f.payload.method.decoded;
            if (apply_confirm(msgs, n, a->delivery_tag, a->multiple, 1) > 0)
                return refused(q, err);
        } else if (queue_handle_other_frame(q, &f, err) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Publishes until every message is confirmed, reconnecting and resending
 * the unconfirmed ones after a lost connection. */
static int publish_all(anon_queue *q, struct outgoing *msgs, size_t n, anon_error *err)
{
    anon_error scratch;
    if (err == NULL)
        err = &scratch;
    for (int round = 0;; round++) {
        q->refused = 0;
        if (queue_ensure_connected(q, err) < 0)
            return -1;
        uint64_t generation = q->generation;
        if (send_pending(q, msgs, n, err) == 0 && wait_confirms(q, msgs, n, err) == 0)
            return 0;
        if (anon_error_kind_of(err) != ANON_ERR_TRANSIENT || round >= q->reconnect_attempts)
            return -1;
        /* The connection is gone: what was sent on it without a confirm
         * goes again on the next one. */
        for (size_t i = 0; i < n; i++)
            if (!msgs[i].confirmed && (q->conn == NULL || q->generation != generation))
                msgs[i].seq = 0;
        if (q->refused)
            anon_backoff_sleep(&refused_backoff, round);
    }
}

int anon_queue_publish_batch(anon_queue *q, const anon_job *jobs, size_t n,
                             anon_error *err)
{
    if (n == 0)
        return 0;
    struct outgoing *msgs = calloc(n, sizeof *msgs);
    anon_buffer *bodies = calloc(n, sizeof *bodies);
    int rc = -1;
    if (msgs == NULL || bodies == NULL) {
        anon_fail(err, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (anon_job_encode(&jobs[i], &bodies[i], err) < 0)
            goto out;
        msgs[i].routing_key = q->queue;
        msgs[i].body.bytes = bodies[i].data;
        msgs[i].body.len = bodies[i].len;
        snprintf(msgs[i].message_id, sizeof msgs[i].message_id, "%" PRId64, jobs[i].id);
    }
    rc = publish_all(q, msgs, n, err);
out:
    for (size_t i = 0; bodies && i < n; i++)
        anon_buffer_free(&bodies[i]);
    free(bodies);
    free(msgs);
    return rc;
}

int anon_queue_publish(anon_queue *q, const anon_job *job, anon_error *err)
{
    return anon_queue_publish_batch(q, job, 1, err);
}

int anon_queue_publish_body(anon_queue *q, const char *queue, const void *body,
                            size_t len, anon_error *err)
{
    struct outgoing m;
    memset(&m, 0, sizeof m);
    m.routing_key = queue ? queue : q->queue;
    m.body.bytes = (void *)body;
    m.body.len = len;
    return publish_all(q, &m, 1, err);
}
