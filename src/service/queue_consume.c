/* queue_consume.c - receiving jobs (see queue.h): consuming with a
 * prefetch window, basic.get from a named queue, acks and nacks, and the
 * depth of the queues by passive declare.
 *
 * Deliveries that arrive while queue_publish.c waits for confirms are
 * stashed on the connection (queue_handle_other_frame) and handed out
 * first. A lost connection is re-established and consuming resumes; the
 * broker redelivers what was not acked. */
#include "service/queue_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "base/clock.h"

/* A broker that keeps closing the connection cannot hold a caller of
 * anon_queue_next longer than this many reconnects. */
#define MAX_RECONNECTS_PER_WAIT 10

static long header_long(const amqp_basic_properties_t *p, const char *name)
{
    if (!(p->_flags & AMQP_BASIC_HEADERS_FLAG))
        return 0;
    for (int i = 0; i < p->headers.num_entries; i++) {
        const amqp_table_entry_t *e = &p->headers.entries[i];
        if (e->key.len != strlen(name) || memcmp(e->key.bytes, name, e->key.len) != 0)
            continue;
        switch (e->value.kind) {
        case AMQP_FIELD_KIND_I8: return e->value.value.i8;
        case AMQP_FIELD_KIND_U8: return e->value.value.u8;
        case AMQP_FIELD_KIND_I16: return e->value.value.i16;
        case AMQP_FIELD_KIND_U16: return e->value.value.u16;
        case AMQP_FIELD_KIND_I32: return e->value.value.i32;
        case AMQP_FIELD_KIND_U32: return (long)e->value.value.u32;
        case AMQP_FIELD_KIND_I64: return (long)e->value.value.i64;
        case AMQP_FIELD_KIND_U64: return (long)e->value.value.u64;
        default: return 0;
        }
    }
    return 0;
}

/* When a dead letter died: the "time" of its latest x-death entry (an
 * array of tables, the latest first); 0 when it has none. */
static double death_time(const amqp_basic_properties_t *p)
{
    for (int i = 0; (p->_flags & AMQP_BASIC_HEADERS_FLAG) && i < p->headers.num_entries; i++) {
        const amqp_table_entry_t *e = &p->headers.entries[i];
        if (e->key.len != 7 || memcmp(e->key.bytes, "x-death", 7) != 0 ||
            e->value.kind != AMQP_FIELD_KIND_ARRAY || e->value.value.array.num_entries < 1 ||
            e->value.value.array.entries[0].kind != AMQP_FIELD_KIND_TABLE)
            continue;
        const amqp_table_t *t = &e->value.value.array.entries[0].value.table;
        for (int j = 0; j < t->num_entries; j++)
            if (t->entries[j].key.len == 4 && memcmp(t->entries[j].key.bytes, "time", 4) == 0 &&
                t->entries[j].value.kind == AMQP_FIELD_KIND_TIMESTAMP)
                return (double)t->entries[j].value.value.u64;
    }
    return 0;
}

/* A body that is not a job is flagged (valid 0, with the reason), not
 * refused: the caller dead-letters it. */
static int fill_delivery(anon_queue *q, anon_delivery *d, uint64_t tag, int redelivered,
                         const amqp_message_t *m, anon_error *err)
{
    memset(d, 0, sizeof *d);
    d->tag = tag;
    d->generation = q->generation;
    d->redelivered = redelivered;
    d->delivery_count = header_long(&m->properties, "x-delivery-count");
    d->died_at = death_time(&m->properties);
    if (anon_buffer_append(&d->body, m->body.bytes, m->body.len, err) < 0)
        return -1;
    anon_error jerr;
    if (anon_job_decode(m->body.bytes, m->body.len, &d->job, &jerr) == 0)
        d->valid = 1;
    else
        snprintf(d->invalid_reason, sizeof d->invalid_reason, "%.150s", jerr.msg);
    return 0;
}

/* Reads the content of a basic.deliver that arrived out of turn and keeps
 * it for anon_queue_next. */
static int stash_delivery(anon_queue *q, const amqp_basic_deliver_t *deliver, anon_error *err)
{
    uint64_t tag = deliver->delivery_tag;
    int redelivered = deliver->redelivered;
    amqp_message_t m;
    amqp_rpc_reply_t r = amqp_read_message(q->conn, QUEUE_CHANNEL, &m, 0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        queue_fail_reply(err, "reading a delivery", r);
        queue_disconnect(q);
        return -1;
    }
    struct queue_stashed *s = calloc(1, sizeof *s);
    int rc = s ? fill_delivery(q, &s->d, tag, redelivered, &m, err)
               : anon_fail(err, "out of memory");
    amqp_destroy_message(&m);
    if (rc < 0) {
        if (s)
            anon_delivery_free(&s->d);
        free(s);
        return -1;
    }
    if (q->stash_tail)
        q->stash_tail->next = s;
    else
        q->stash_head = s;
    q->stash_tail = s;
    return 0;
}

static int pop_stash(anon_queue *q, anon_delivery *d)
{
    struct queue_stashed *s = q->stash_head;
    if (s == NULL)
        return 0;
    q->stash_head = s->next;
    if (q->stash_head == NULL)
        q->stash_tail = NULL;
    *d = s->d;
    free(s);
    return 1;
}

/* The broker closed the channel or the connection under us: answer its
 * close, drop the connection, and say so (a reconnect may help). */
static int closed_by_broker(anon_queue *q, const amqp_frame_t *f, anon_error *err)
{
    uint16_t code;
    amqp_bytes_t text;
    int channel = f->payload.method.id == AMQP_CHANNEL_CLOSE_METHOD;
    if (channel) {
        amqp_channel_close_t *c = f->payload.method.decoded;
        code = c->reply_code;
        text = c->reply_text;
        amqp_channel_close_ok_t ok = {0};
        amqp_send_method(q->conn, QUEUE_CHANNEL, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
    } else {
        amqp_connection_close_t *c = f->payload.method.decoded;
        code = c->reply_code;
        text = c->reply_text;
        amqp_connection_close_ok_t ok = {0};
        amqp_send_method(q->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
    }
    anon_fail_kind(err, ANON_ERR_TRANSIENT, "broker closed the %s: %u %.*s",
                   channel ? "channel" : "connection", code, (int)text.len, (char *)text.bytes);
    queue_disconnect(q);
    return -1;
}

int queue_handle_other_frame(anon_queue *q, const amqp_frame_t *f, anon_error *err)
{
    if (f->frame_type != AMQP_FRAME_METHOD)
        return 0;  /* stray content frames: nothing to do with them */
    switch (f->payload.method.id) {
    case AMQP_BASIC_DELIVER_METHOD:
        return stash_delivery(q, f->payload.method.decoded, err);
    case AMQP_BASIC_CANCEL_METHOD:
        q->consuming = 0;  /* the broker cancelled us (queue deleted/moved): consume again */
        return 0;
    case AMQP_CHANNEL_CLOSE_METHOD:
    case AMQP_CONNECTION_CLOSE_METHOD:
        return closed_by_broker(q, f, err);
    default:
        return 0;  /* late confirms from an earlier publish and the like */
    }
}

/* ------------------------------------------------------------ consuming */

int anon_queue_consume(anon_queue *q, anon_error *err)
{
    anon_error scratch;
    if (err == NULL)
        err = &scratch;
    q->want_consume = 1;
    /* A connection the broker dropped while we were idle shows only now:
     * then connect afresh (with backoff) once. */
    for (int attempt = 0;; attempt++) {
        if (queue_ensure_connected(q, err) < 0)
            return -1;
        if (q->consuming || queue_start_consuming(q, err) == 0)
            return 0;
        if (anon_error_kind_of(err) != ANON_ERR_TRANSIENT || attempt > 0)
            return -1;
    }
}

enum { NEXT_FAILED = -1, NEXT_TIMEOUT = 0, NEXT_DELIVERY = 1, NEXT_AGAIN = 2 };

/* Waits up to left ms (-1: forever) for one message. NEXT_AGAIN when
 * something else was handled or the connection was lost in a way a
 * reconnect may cure. */
static int next_once(anon_queue *q, anon_delivery *d, long left, anon_error *err)
{
    struct timeval tv = {left / 1000, (left % 1000) * 1000};
    amqp_envelope_t env;
    amqp_maybe_release_buffers(q->conn);
    amqp_rpc_reply_t r = amqp_consume_message(q->conn, &env, left < 0 ? NULL : &tv, 0);
    if (r.reply_type == AMQP_RESPONSE_NORMAL) {
        int rc = fill_delivery(q, d, env.delivery_tag, env.redelivered, &env.message, err);
        amqp_destroy_envelope(&env);
        return rc < 0 ? NEXT_FAILED : NEXT_DELIVERY;
    }
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT)
        return NEXT_TIMEOUT;
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
        r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
        /* Something other than a delivery is waiting: read it. If that
         * closed the connection, the next round reconnects. */
        amqp_frame_t f;
        int rc = amqp_simple_wait_frame(q->conn, &f);
        if (rc == AMQP_STATUS_OK) {
            queue_handle_other_frame(q, &f, err);
        } else {
            anon_fail_kind(err, ANON_ERR_TRANSIENT, "reading from RabbitMQ: %s",
                           amqp_error_string2(rc));
            queue_disconnect(q);
        }
        return NEXT_AGAIN;
    }
    queue_fail_reply(err, "consuming", r);
    queue_disconnect(q);
    return anon_error_kind_of(err) == ANON_ERR_TRANSIENT ? NEXT_AGAIN : NEXT_FAILED;
}

int anon_queue_next(anon_queue *q, anon_delivery *d, long timeout_ms,
                    anon_error *err)
{
    anon_error scratch;
    if (err == NULL)
        err = &scratch;
    memset(d, 0, sizeof *d);
    double start = anon_now_ms();
    /* Each round trip through a reconnect is counted, so that a broker
     * that keeps closing the connection cannot hold the caller forever. */
    for (int reconnects = 0;; reconnects += q->conn == NULL) {
        if (reconnects > MAX_RECONNECTS_PER_WAIT) {
            anon_error_set_kind(err, ANON_ERR_TRANSIENT);
            return anon_fail_prefix(err, "the broker keeps closing the connection: ");
        }
        if (anon_queue_consume(q, err) < 0)
            return -1;
        if (pop_stash(q, d))
            return 1;
        long left = timeout_ms < 0 ? -1 : timeout_ms - (long)(anon_now_ms() - start);
        if (timeout_ms >= 0 && left < 0)
            left = 0;
        int rc = next_once(q, d, left, err);
        if (rc != NEXT_AGAIN)
            return rc;
    }
}

static int settle(anon_queue *q, const anon_delivery *d, int ack, int requeue, anon_error *err)
{
    if (q->conn == NULL || d->generation != q->generation)
        return anon_fail_kind(err, ANON_ERR_TRANSIENT, "the connection this message came on is "
                              "gone; the broker delivers it again");
    int rc = ack ? amqp_basic_ack(q->conn, QUEUE_CHANNEL, d->tag, 0)
                 : amqp_basic_nack(q->conn, QUEUE_CHANNEL, d->tag, 0, requeue);
    if (rc != AMQP_STATUS_OK) {
        anon_fail_kind(err, ANON_ERR_TRANSIENT, "%s: %s", ack ? "ack" : "nack",
                       amqp_error_string2(rc));
        queue_disconnect(q);
        return -1;
    }
    return 0;
}

int anon_queue_ack(anon_queue *q, const anon_delivery *d, anon_error *err)
{
    return settle(q, d, 1, 0, err);
}

int anon_queue_nack(anon_queue *q, const anon_delivery *d, int requeue,
                    anon_error *err)
{
    return settle(q, d, 0, requeue, err);
}

/* ------------------------------------------------------------ basic.get */

static int get_once(anon_queue *q, const char *queue, anon_delivery *d, anon_error *err)
{
    memset(d, 0, sizeof *d);
    if (queue_ensure_connected(q, err) < 0)
        return -1;
    const char *name = queue ? queue : q->queue;
    amqp_rpc_reply_t r = amqp_basic_get(q->conn, QUEUE_CHANNEL, amqp_cstring_bytes(name), 0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        char what[256];
        snprintf(what, sizeof what, "basic.get from %s", name);
        queue_fail_reply(err, what, r);
        queue_disconnect(q);
        return -1;
    }
    if (r.reply.id == AMQP_BASIC_GET_EMPTY_METHOD)
        return 0;
    amqp_basic_get_ok_t *ok = r.reply.decoded;
    uint64_t tag = ok->delivery_tag;
    int redelivered = ok->redelivered;
    amqp_message_t m;
    r = amqp_read_message(q->conn, QUEUE_CHANNEL, &m, 0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        queue_fail_reply(err, "reading a message", r);
        queue_disconnect(q);
        return -1;
    }
    int rc = fill_delivery(q, d, tag, redelivered, &m, err);
    amqp_destroy_message(&m);
    return rc < 0 ? -1 : 1;
}

int anon_queue_get(anon_queue *q, const char *queue, anon_delivery *d,
                   anon_error *err)
{
    anon_error scratch;
    if (err == NULL)
        err = &scratch;
    int rc = get_once(q, queue, d, err);
    /* A stale connection is found out only by using it: once more. */
    if (rc < 0 && anon_error_kind_of(err) == ANON_ERR_TRANSIENT)
        rc = get_once(q, queue, d, err);
    return rc;
}

/* ------------------------------------------------------------ queues */

static int depth_once(anon_queue *q, uint32_t *ready, uint32_t *dead, anon_error *err)
{
    uint32_t main_n = 0, dead_n = 0;
    if (queue_ensure_connected(q, err) < 0 ||
        queue_declare(q, q->queue, NULL, 0, &main_n, 1, err) < 0 ||
        queue_declare(q, q->dead, NULL, 0, &dead_n, 1, err) < 0)
        return -1;
    if (ready)
        *ready = main_n;
    if (dead)
        *dead = dead_n;
    return 0;
}

int anon_queue_depth(anon_queue *q, uint32_t *ready, uint32_t *dead,
                     anon_error *err)
{
    anon_error scratch;
    if (err == NULL)
        err = &scratch;
    if (depth_once(q, ready, dead, err) == 0)
        return 0;
    /* A stale connection is found out only by using it: once more. */
    if (anon_error_kind_of(err) != ANON_ERR_TRANSIENT)
        return -1;
    return depth_once(q, ready, dead, err);
}

int anon_queue_ping(anon_queue *q, anon_error *err)
{
    /* A readiness check wants a prompt answer, not a reconnect backoff. */
    int attempts = q->reconnect_attempts;
    q->reconnect_attempts = 0;
    int rc = anon_queue_depth(q, NULL, NULL, err);
    q->reconnect_attempts = attempts;
    return rc;
}

/* Purges or deletes a named queue (NULL: main). */
static int purge_or_delete(anon_queue *q, const char *queue, int delete, anon_error *err)
{
    if (queue_ensure_connected(q, err) < 0)
        return -1;
    const char *name = queue ? queue : q->queue;
    amqp_bytes_t bytes = amqp_cstring_bytes(name);
    void *ok = delete ? (void *)amqp_queue_delete(q->conn, QUEUE_CHANNEL, bytes, 0, 0)
                      : (void *)amqp_queue_purge(q->conn, QUEUE_CHANNEL, bytes);
    if (ok == NULL) {
        char what[256];
        snprintf(what, sizeof what, "%s %s", delete ? "deleting" : "purging", name);
        queue_fail_reply(err, what, amqp_get_rpc_reply(q->conn));
        queue_disconnect(q);
        return -1;
    }
    return 0;
}

int anon_queue_purge(anon_queue *q, const char *queue, anon_error *err)
{
    return purge_or_delete(q, queue, 0, err);
}

int anon_queue_delete(anon_queue *q, const char *queue, anon_error *err)
{
    return purge_or_delete(q, queue, 1, err);
}
