/* queue.c - image jobs on RabbitMQ with librabbitmq-c 0.11 (see queue.h).
 *
 * One connection, channel 1, in confirm mode. librabbitmq 0.11 has no
 * helper to wait for publisher confirms, so publish_all reads the frames
 * itself: basic.ack / basic.nack (possibly `multiple`, covering every
 * earlier sequence number), and deliveries for this connection's consumer
 * that arrive meanwhile, which are kept for anon_queue_next. Confirms are
 * always drained before returning, because an unread ack would later make
 * amqp_consume_message fail with AMQP_STATUS_UNEXPECTED_STATE.
 *
 * Any connection or channel failure tears the connection down; the next
 * call reconnects with backoff (trying each URL of a comma-separated
 * ANON_AMQP_URL in turn, for a cluster), declares the topology again and,
 * for a consumer, resumes consuming. Unconfirmed publishes are sent again;
 * unacknowledged deliveries come back from the broker. */
#include "service/queue.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <jansson.h>

#define CHANNEL 1
#define MAX_URLS 8

struct broker {
    char *text;                       /* owned copy, parsed in place */
    struct amqp_connection_info info;
};

/* A delivery that arrived while waiting for confirms. */
struct stashed {
    anon_delivery d;
    struct stashed *next;
};

struct anon_queue {
    struct broker brokers[MAX_URLS];
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
    int transient;
    int refused;                      /* the last publish was nacked */
    struct stashed *stash_head, *stash_tail;
};

/* ------------------------------------------------------------ jobs */

void anon_job_free(anon_job *job)
{
    free(job->key);
    job->key = NULL;
}

int anon_job_encode(const anon_job *job, anon_buffer *out, anon_error *err)
{
    json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:i}", "id", (json_int_t)job->id,
                          "bucket", job->bucket, "key", job->key ? job->key : "",
                          "sha256", job->sha256, "attempt", job->attempt);
    if (o == NULL)
        return anon_fail(err, "encoding job %" PRId64 ": invalid text", job->id);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (text == NULL)
        return anon_fail(err, "out of memory");
    anon_buffer_reset(out);
    int rc = anon_buffer_append(out, text, strlen(text), err);
    free(text);
    return rc;
}

static int is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return 1;
}

int anon_job_decode(const void *body, size_t len, anon_job *job, anon_error *err)
{
    memset(job, 0, sizeof *job);
    json_error_t jerr;
    json_t *o = json_loadb(body, len, 0, &jerr);
    if (o == NULL)
        return anon_fail(err, "job message is not JSON: %s", jerr.text);
    json_int_t id = 0;
    int attempt = 0;
    const char *bucket = NULL, *key = NULL, *sha = NULL;
    if (json_unpack_ex(o, &jerr, 0, "{s:I, s:s, s:s, s:s, s:i}", "id", &id, "bucket", &bucket,
                       "key", &key, "sha256", &sha, "attempt", &attempt) < 0) {
        json_decref(o);
        return anon_fail(err, "job message: %s", jerr.text);
    }
    int rc = 0;
    if (id <= 0 || attempt < 1)
        rc = anon_fail(err, "job message: id and attempt must be positive");
    else if (bucket[0] == '\0' || strlen(bucket) >= sizeof job->bucket)
        rc = anon_fail(err, "job message: bad bucket name");
    else if (key[0] == '\0' || strlen(key) > 1024)
        rc = anon_fail(err, "job message: key must be 1 to 1024 bytes");
    else if (!is_hex64(sha))
        rc = anon_fail(err, "job message: sha256 must be 64 lower-case hex digits");
    if (rc == 0) {
        job->id = id;
        job->attempt = attempt;
        snprintf(job->bucket, sizeof job->bucket, "%s", bucket);
        snprintf(job->sha256, sizeof job->sha256, "%s", sha);
        if ((job->key = strdup(key)) == NULL)
            rc = anon_fail(err, "out of memory");
    }
    json_decref(o);
    return rc;
}

/* ------------------------------------------------------------ options */

int anon_queue_options_from_config(anon_queue_options *opts,
                                   const anon_config *cfg, anon_error *err)
{
    (void)err;
    memset(opts, 0, sizeof *opts);
    opts->url = cfg->amqp_url;
    opts->queue = cfg->queue;
    opts->delivery_limit = cfg->delivery_limit;
    opts->prefetch = cfg->prefetch > 0 && cfg->prefetch < 65536 ? (int)cfg->prefetch : 0;
    opts->reconnect_attempts = -1;
    return 0;
}

/* Splits a comma-separated list of amqp:// URLs and parses each. */
static int parse_urls(anon_queue *q, const char *urls, anon_error *err)
{
    if (urls == NULL || urls[0] == '\0')
        return anon_fail(err, "ANON_AMQP_URL is empty");
    const char *p = urls;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (q->n_brokers == MAX_URLS)
            return anon_fail(err, "ANON_AMQP_URL: at most %d URLs", MAX_URLS);
        struct broker *b = &q->brokers[q->n_brokers];
        if ((b->text = strndup(p, n)) == NULL)
            return anon_fail(err, "out of memory");
        q->n_brokers++;
        amqp_default_connection_info(&b->info);
        /* The URL is not echoed: it holds the password. */
        if (strncmp(b->text, "amqp://", 7) != 0 && strncmp(b->text, "amqps://", 8) != 0)
            return anon_fail(err, "ANON_AMQP_URL: URL %d does not start with amqp://", q->n_brokers);
        if (amqp_parse_url(b->text, &b->info) != AMQP_STATUS_OK)
            return anon_fail(err, "ANON_AMQP_URL: URL %d is malformed (want "
                                  "amqp://user:password@host:port/vhost)", q->n_brokers);
        if (b->info.ssl)
            return anon_fail(err, "ANON_AMQP_URL: amqps:// (TLS) is not supported");
        if (b->info.host == NULL || b->info.host[0] == '\0')
            return anon_fail(err, "ANON_AMQP_URL: URL %d has no host", q->n_brokers);
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

static int valid_queue_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 200)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x21 || name[i] == 0x7f)
            return 0;
    return 1;
}

/* ------------------------------------------------------------ errors */

static int fail_reply(anon_queue *q, anon_error *err, const char *what, amqp_rpc_reply_t r)
{
    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        return anon_fail(err, "%s: unexpected reply", what);
    case AMQP_RESPONSE_NONE:
        q->transient = 1;
        return anon_fail(err, "%s: no reply from the broker", what);
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        q->transient = 1;
        return anon_fail(err, "%s: %s", what, amqp_error_string2(r.library_error));
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            amqp_connection_close_t *c = r.reply.decoded;
            /* Refused logins and bad vhosts will not get better by retrying. */
            q->transient = c->reply_code != AMQP_ACCESS_REFUSED && c->reply_code != AMQP_NOT_ALLOWED;
            return anon_fail(err, "%s: broker closed the connection: %u %.*s", what,
                             c->reply_code, (int)c->reply_text.len, (char *)c->reply_text.bytes);
        }
        if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            amqp_channel_close_t *c = r.reply.decoded;
            q->transient = c->reply_code != AMQP_PRECONDITION_FAILED &&
                           c->reply_code != AMQP_ACCESS_REFUSED;
            return anon_fail(err, "%s: %u %.*s", what, c->reply_code, (int)c->reply_text.len,
                             (char *)c->reply_text.bytes);
        }
        q->transient = 1;
        return anon_fail(err, "%s: broker error (method 0x%08x)", what, r.reply.id);
    }
    return anon_fail(err, "%s: unknown failure", what);
}

int anon_queue_last_transient(const anon_queue *q)
{
    return q->transient;
}

/* ------------------------------------------------------------ connection */

static void free_stash(anon_queue *q)
{
    while (q->stash_head) {
        struct stashed *s = q->stash_head;
        q->stash_head = s->next;
        anon_delivery_free(&s->d);
        free(s);
    }
    q->stash_tail = NULL;
}

/* Drops the connection without talking to the broker (it may be gone). */
static void disconnect(anon_queue *q)
{
    if (q->conn) {
        amqp_destroy_connection(q->conn);
        q->conn = NULL;
    }
    q->consuming = 0;
    free_stash(q);
}

static amqp_table_entry_t str_entry(const char *key, const char *value)
{
    amqp_table_entry_t e;
    e.key = amqp_cstring_bytes(key);
    e.value.kind = AMQP_FIELD_KIND_UTF8;
    e.value.value.bytes = amqp_cstring_bytes(value);
    return e;
}

static int declare(anon_queue *q, const char *name, amqp_table_entry_t *args, int n,
                   uint32_t *messages, int passive, anon_error *err)
{
    amqp_table_t table = {n, args};
    amqp_queue_declare_ok_t *ok = amqp_queue_declare(q->conn, CHANNEL, amqp_cstring_bytes(name),
                                                     passive, 1, 0, 0, table);
    if (ok == NULL) {
        char what[256];
        snprintf(what, sizeof what, "declaring queue %s", name);
        fail_reply(q, err, what, amqp_get_rpc_reply(q->conn));
        disconnect(q);  /* the channel is closed after an error */
        return -1;
    }
    if (messages)
        *messages = ok->message_count;
    return 0;
}

/* Both queues are quorum queues: replicated in a cluster, and the only
 * kind with a delivery limit and at-least-once dead-lettering. */
static int declare_topology(anon_queue *q, anon_error *err)
{
    amqp_table_entry_t dead_args[] = {str_entry("x-queue-type", "quorum")};
    if (declare(q, q->dead, dead_args, 1, NULL, 0, err) < 0)
        return -1;
    amqp_table_entry_t args[6];
    args[0] = str_entry("x-queue-type", "quorum");
    args[1].key = amqp_cstring_bytes("x-delivery-limit");
    args[1].value.kind = AMQP_FIELD_KIND_I64;
    args[1].value.value.i64 = q->delivery_limit;
    args[2] = str_entry("x-dead-letter-exchange", "");
    args[3] = str_entry("x-dead-letter-routing-key", q->dead);
    args[4] = str_entry("x-dead-letter-strategy", "at-least-once");
    args[5] = str_entry("x-overflow", "reject-publish");
    if (declare(q, q->queue, args, 6, NULL, 0, err) < 0)
        return anon_fail_prefix(err, "(if the queue exists with other settings, e.g. another "
                                     "ANON_DELIVERY_LIMIT, delete it or keep its settings) ");
    return 0;
}

static int start_consuming(anon_queue *q, anon_error *err)
{
    if (amqp_basic_qos(q->conn, CHANNEL, 0, (uint16_t)q->prefetch, 0) == NULL) {
        fail_reply(q, err, "basic.qos", amqp_get_rpc_reply(q->conn));
        disconnect(q);
        return -1;
    }
    if (amqp_basic_consume(q->conn, CHANNEL, amqp_cstring_bytes(q->queue), amqp_empty_bytes, 0,
                           0, 0, amqp_empty_table) == NULL) {
        char what[256];
        snprintf(what, sizeof what, "consuming from %s", q->queue);
        fail_reply(q, err, what, amqp_get_rpc_reply(q->conn));
        disconnect(q);
        return -1;
    }
    q->consuming = 1;
    return 0;
}

static int connect_once(anon_queue *q, const struct broker *b, anon_error *err)
{
    q->conn = amqp_new_connection();
    amqp_socket_t *sock = q->conn ? amqp_tcp_socket_new(q->conn) : NULL;
    if (sock == NULL) {
        disconnect(q);
        return anon_fail(err, "out of memory");
    }
    struct timeval tv = {q->connect_timeout_ms / 1000, (q->connect_timeout_ms % 1000) * 1000};
    int rc = amqp_socket_open_noblock(sock, b->info.host, b->info.port, &tv);
    if (rc != AMQP_STATUS_OK) {
        q->transient = 1;
        anon_fail(err, "cannot connect to RabbitMQ at %s:%d: %s", b->info.host, b->info.port,
                  amqp_error_string2(rc));
        disconnect(q);
        return -1;
    }
    amqp_set_handshake_timeout(q->conn, &tv);
    struct timeval rpc = {q->confirm_timeout_ms / 1000, (q->confirm_timeout_ms % 1000) * 1000};
    amqp_set_rpc_timeout(q->conn, &rpc);
    amqp_rpc_reply_t r = amqp_login(q->conn, b->info.vhost, 0, 131072, q->heartbeat_s,
                                    AMQP_SASL_METHOD_PLAIN, b->info.user, b->info.password);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        char what[300];
        snprintf(what, sizeof what, "logging in to RabbitMQ at %s:%d as %s", b->info.host,
                 b->info.port, b->info.user);
        fail_reply(q, err, what, r);
        disconnect(q);
        return -1;
    }
    if (amqp_channel_open(q->conn, CHANNEL) == NULL) {
        fail_reply(q, err, "opening a channel", amqp_get_rpc_reply(q->conn));
        disconnect(q);
        return -1;
    }
    if (amqp_confirm_select(q->conn, CHANNEL) == NULL) {
        fail_reply(q, err, "enabling publisher confirms", amqp_get_rpc_reply(q->conn));
        disconnect(q);
        return -1;
    }
    q->next_seq = 1;
    q->generation++;
    if (declare_topology(q, err) < 0)
        return -1;
    if (q->want_consume && start_consuming(q, err) < 0)
        return -1;
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* Connects if needed, trying each broker in turn with backoff between
 * rounds. Gives up at once on errors that retrying cannot fix. */
static int ensure_connected(anon_queue *q, anon_error *err)
{
    if (q->conn)
        return 0;
    long backoff = 200;
    for (int attempt = 0;; attempt++) {
        const struct broker *b = &q->brokers[q->current];
        q->transient = 0;
        if (connect_once(q, b, err) == 0)
            return 0;
        q->current = (q->current + 1) % q->n_brokers;
        if (!q->transient || attempt >= q->reconnect_attempts)
            return -1;
        if (q->current == 0 || q->n_brokers == 1) {
            sleep_ms(backoff + rand() % (backoff / 4 + 1));
            backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
        }
    }
}

anon_queue *anon_queue_open(const anon_queue_options *opts, anon_error *err)
{
    anon_queue *q = calloc(1, sizeof *q);
    if (q == NULL) {
        anon_fail(err, "out of memory");
        return NULL;
    }
    const char *name = opts->queue ? opts->queue : "anon.images";
    if (parse_urls(q, opts->url, err) < 0)
        goto fail;
    if (!valid_queue_name(name)) {
        anon_fail(err, "ANON_QUEUE: '%s' is not a usable queue name", name);
        goto fail;
    }
    size_t n = strlen(name) + sizeof ".dead";
    q->queue = strdup(name);
    q->dead = malloc(n);
    if (q->queue == NULL || q->dead == NULL) {
        anon_fail(err, "out of memory");
        goto fail;
    }
    snprintf(q->dead, n, "%s.dead", name);
    q->delivery_limit = opts->delivery_limit > 0 ? opts->delivery_limit : 5;
    q->prefetch = opts->prefetch > 0 ? opts->prefetch : 1;
    q->connect_timeout_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 5000;
    q->confirm_timeout_ms = opts->confirm_timeout_ms > 0 ? opts->confirm_timeout_ms : 30000;
    q->reconnect_attempts = opts->reconnect_attempts >= 0 ? opts->reconnect_attempts : 8;
    q->heartbeat_s = opts->heartbeat_s > 0 ? opts->heartbeat_s : 60;
    if (ensure_connected(q, err) < 0)
        goto fail;
    return q;
fail:
    anon_queue_close(q);
    return NULL;
}

anon_queue *anon_queue_open_config(const anon_config *cfg, anon_error *err)
{
    anon_queue_options opts;
    if (anon_queue_options_from_config(&opts, cfg, err) < 0)
        return NULL;
    return anon_queue_open(&opts, err);
}

void anon_queue_close(anon_queue *q)
{
    if (q == NULL)
        return;
    if (q->conn) {
        amqp_channel_close(q->conn, CHANNEL, AMQP_REPLY_SUCCESS);
        amqp_connection_close(q->conn, AMQP_REPLY_SUCCESS);
    }
    disconnect(q);
    for (int i = 0; i < q->n_brokers; i++) {
        if (q->brokers[i].text) {
            explicit_bzero(q->brokers[i].text, strlen(q->brokers[i].text));
            free(q->brokers[i].text);
        }
    }
    free(q->queue);
    free(q->dead);
    free(q);
}

const char *anon_queue_dead_name(const anon_queue *q)
{
    return q->dead;
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

/* ------------------------------------------------------------ deliveries */

void anon_delivery_free(anon_delivery *d)
{
    anon_buffer_free(&d->body);
    anon_job_free(&d->job);
    memset(d, 0, sizeof *d);
}

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
 * array of tables, the latest first). */
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
    amqp_rpc_reply_t r = amqp_read_message(q->conn, CHANNEL, &m, 0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        fail_reply(q, err, "reading a delivery", r);
        disconnect(q);
        return -1;
    }
    struct stashed *s = calloc(1, sizeof *s);
    int rc = s ? fill_delivery(q, &s->d, tag, redelivered, &m, err) : anon_fail(err, "out of memory");
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

/* Handles a frame that is not what the caller waited for. Returns -1 (and
 * drops the connection) when the broker closed the channel or connection. */
static int handle_other_frame(anon_queue *q, const amqp_frame_t *f, anon_error *err)
{
    if (f->frame_type != AMQP_FRAME_METHOD)
        return 0;  /* stray content frames: nothing to do with them */
    switch (f->payload.method.id) {
    case AMQP_BASIC_DELIVER_METHOD:
        return stash_delivery(q, f->payload.method.decoded, err);
    case AMQP_BASIC_CANCEL_METHOD:
        q->consuming = 0;  /* the broker cancelled us (queue deleted/moved): consume again */
        return 0;
    case AMQP_CHANNEL_CLOSE_METHOD: {
        amqp_channel_close_t *c = f->payload.method.decoded;
        q->transient = 1;
        anon_fail(err, "broker closed the channel: %u %.*s", c->reply_code,
                  (int)c->reply_text.len, (char *)c->reply_text.bytes);
        amqp_channel_close_ok_t ok = {0};
        amqp_send_method(q->conn, CHANNEL, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
        disconnect(q);
        return -1;
    }
    case AMQP_CONNECTION_CLOSE_METHOD: {
        amqp_connection_close_t *c = f->payload.method.decoded;
        q->transient = 1;
        anon_fail(err, "broker closed the connection: %u %.*s", c->reply_code,
                  (int)c->reply_text.len, (char *)c->reply_text.bytes);
        amqp_connection_close_ok_t ok = {0};
        amqp_send_method(q->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
        disconnect(q);
        return -1;
    }
    default:
        return 0;  /* late confirms from an earlier publish and the like */
    }
}

/* ------------------------------------------------------------ publishing */

struct outgoing {
    const char *routing_key;
    amqp_bytes_t body;
    char message_id[24];
    uint64_t seq;      /* 0: not sent on this connection */
    int confirmed;
};

static long elapsed_ms(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

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
        int rc = amqp_basic_publish(q->conn, CHANNEL, amqp_empty_bytes,
                                    amqp_cstring_bytes(msgs[i].routing_key), 0, 0, &props,
                                    msgs[i].body);
        if (rc != AMQP_STATUS_OK) {
            q->transient = 1;
            anon_fail(err, "publishing to %s: %s", msgs[i].routing_key, amqp_error_string2(rc));
            disconnect(q);
            return -1;
        }
        msgs[i].seq = q->next_seq++;
    }
    return 0;
}

/* Reads frames until every sent message is confirmed, or the timeout. */
static int wait_confirms(anon_queue *q, struct outgoing *msgs, size_t n, anon_error *err)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (unconfirmed(msgs, n) > 0) {
        long left = q->confirm_timeout_ms - elapsed_ms(&start);
        if (left <= 0) {
            q->transient = 1;
            disconnect(q);  /* late acks would confuse the next consume */
            return anon_fail(err, "no publisher confirm within %ld ms", q->confirm_timeout_ms);
        }
        struct timeval tv = {left / 1000, (left % 1000) * 1000};
        amqp_frame_t f;
        int rc = amqp_simple_wait_frame_noblock(q->conn, &f, &tv);
        if (rc == AMQP_STATUS_TIMEOUT)
            continue;
        if (rc != AMQP_STATUS_OK) {
            q->transient = 1;
            anon_fail(err, "waiting for publisher confirms: %s", amqp_error_string2(rc));
            disconnect(q);
            return -1;
        }
        if (f.frame_type == AMQP_FRAME_METHOD && f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
            amqp_basic_ack_t *a = f.payload.method.decoded;
            apply_confirm(msgs, n, a->delivery_tag, a->multiple, 0);
        } else if (f.frame_type == AMQP_FRAME_METHOD &&
                   f.payload.method.id == AMQP_BASIC_NACK_METHOD) {
            amqp_basic_nack_t *a = f.payload.method.decoded;
            if (apply_confirm(msgs, n, a->delivery_tag, a->multiple, 1) > 0) {
                /* reject-publish: the queue is over its limit or has no
                 * leader (a node died). RabbitMQ 3.10 channels can keep
                 * refusing after a new leader is elected, so start over
                 * on a fresh connection, after a pause. */
                q->transient = 1;
                q->refused = 1;
                disconnect(q);
                return anon_fail(err, "the broker refused the message (queue full or "
                                      "without a leader)");
            }
        } else if (handle_other_frame(q, &f, err) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Publishes until every message is confirmed, reconnecting and resending
 * the unconfirmed ones after a lost connection. */
static int publish_all(anon_queue *q, struct outgoing *msgs, size_t n, anon_error *err)
{
    q->transient = 0;
    for (int round = 0;; round++) {
        q->refused = 0;
        if (ensure_connected(q, err) < 0)
            return -1;
        uint64_t generation = q->generation;
        if (send_pending(q, msgs, n, err) == 0 && wait_confirms(q, msgs, n, err) == 0)
            return 0;
        if (!q->transient || round >= q->reconnect_attempts)
            return -1;
        /* The connection is gone: what was sent on it without a confirm
         * goes again on the next one. */
        for (size_t i = 0; i < n; i++)
            if (!msgs[i].confirmed && (q->conn == NULL || q->generation != generation))
                msgs[i].seq = 0;
        if (q->refused)  /* give a leader election time before sending again */
            sleep_ms(200L << (round < 4 ? round : 4));
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

/* ------------------------------------------------------------ consuming */

int anon_queue_consume(anon_queue *q, anon_error *err)
{
    q->want_consume = 1;
    /* A connection the broker dropped while we were idle shows only now:
     * then connect afresh (with backoff) once. */
    for (int attempt = 0;; attempt++) {
        if (ensure_connected(q, err) < 0)
            return -1;
        if (q->consuming || start_consuming(q, err) == 0)
            return 0;
        if (!q->transient || attempt > 0)
            return -1;
    }
}

static int pop_stash(anon_queue *q, anon_delivery *d)
{
    struct stashed *s = q->stash_head;
    if (s == NULL)
        return 0;
    q->stash_head = s->next;
    if (q->stash_head == NULL)
        q->stash_tail = NULL;
    *d = s->d;
    free(s);
    return 1;
}

int anon_queue_next(anon_queue *q, anon_delivery *d, long timeout_ms,
                    anon_error *err)
{
    memset(d, 0, sizeof *d);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    q->transient = 0;
    /* Each round trip through a reconnect is counted, so that a broker
     * that keeps closing the connection cannot hold the caller forever. */
    for (int reconnects = 0;; reconnects += q->conn == NULL) {
        if (reconnects > 10) {
            q->transient = 1;
            return anon_fail_prefix(err, "the broker keeps closing the connection: ");
        }
        if (anon_queue_consume(q, err) < 0)
            return -1;
        if (pop_stash(q, d))
            return 1;
        long left = timeout_ms < 0 ? -1 : timeout_ms - elapsed_ms(&start);
        if (timeout_ms >= 0 && left < 0)
            left = 0;
        struct timeval tv = {left / 1000, (left % 1000) * 1000};
        amqp_envelope_t env;
        amqp_maybe_release_buffers(q->conn);
        amqp_rpc_reply_t r = amqp_consume_message(q->conn, &env, left < 0 ? NULL : &tv, 0);
        if (r.reply_type == AMQP_RESPONSE_NORMAL) {
            int rc = fill_delivery(q, d, env.delivery_tag, env.redelivered, &env.message, err);
            amqp_destroy_envelope(&env);
            return rc < 0 ? -1 : 1;
        }
        if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
            r.library_error == AMQP_STATUS_TIMEOUT)
            return 0;
        if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
            r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
            /* Something other than a delivery is waiting: read it. */
            amqp_frame_t f;
            int rc = amqp_simple_wait_frame(q->conn, &f);
            if (rc != AMQP_STATUS_OK) {
                q->transient = 1;
                anon_fail(err, "reading from RabbitMQ: %s", amqp_error_string2(rc));
                disconnect(q);
            } else {
                handle_other_frame(q, &f, err);
            }
            continue;  /* reconnects if the frame closed the connection */
        }
        fail_reply(q, err, "consuming", r);
        disconnect(q);
        if (!q->transient)
            return -1;
        /* Lost connection: the loop reconnects (with backoff) and resumes. */
    }
}

static int settle(anon_queue *q, const anon_delivery *d, int ack, int requeue, anon_error *err)
{
    q->transient = 0;
    if (q->conn == NULL || d->generation != q->generation) {
        q->transient = 1;
        return anon_fail(err, "the connection this message came on is gone; the broker "
                              "delivers it again");
    }
    int rc = ack ? amqp_basic_ack(q->conn, CHANNEL, d->tag, 0)
                 : amqp_basic_nack(q->conn, CHANNEL, d->tag, 0, requeue);
    if (rc != AMQP_STATUS_OK) {
        q->transient = 1;
        anon_fail(err, "%s: %s", ack ? "ack" : "nack", amqp_error_string2(rc));
        disconnect(q);
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

static int get_once(anon_queue *q, const char *queue, anon_delivery *d, anon_error *err);

int anon_queue_get(anon_queue *q, const char *queue, anon_delivery *d,
                   anon_error *err)
{
    q->transient = 0;
    int rc = get_once(q, queue, d, err);
    /* A stale connection is found out only by using it: once more. */
    return rc < 0 && q->transient ? get_once(q, queue, d, err) : rc;
}

static int get_once(anon_queue *q, const char *queue, anon_delivery *d, anon_error *err)
{
    memset(d, 0, sizeof *d);
    if (ensure_connected(q, err) < 0)
        return -1;
    const char *name = queue ? queue : q->queue;
    amqp_rpc_reply_t r = amqp_basic_get(q->conn, CHANNEL, amqp_cstring_bytes(name), 0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        char what[256];
        snprintf(what, sizeof what, "basic.get from %s", name);
        fail_reply(q, err, what, r);
        disconnect(q);
        return -1;
    }
    if (r.reply.id == AMQP_BASIC_GET_EMPTY_METHOD)
        return 0;
    amqp_basic_get_ok_t *ok = r.reply.decoded;
    uint64_t tag = ok->delivery_tag;
    int redelivered = ok->redelivered;
    amqp_message_t m;
    r = amqp_read_message(q->conn, CHANNEL, &m, 0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        fail_reply(q, err, "reading a message", r);
        disconnect(q);
        return -1;
    }
    int rc = fill_delivery(q, d, tag, redelivered, &m, err);
    amqp_destroy_message(&m);
    return rc < 0 ? -1 : 1;
}

/* ------------------------------------------------------------ queues */

static int depth_once(anon_queue *q, uint32_t *ready, uint32_t *dead, anon_error *err)
{
    uint32_t main_n = 0, dead_n = 0;
    if (ensure_connected(q, err) < 0 || declare(q, q->queue, NULL, 0, &main_n, 1, err) < 0 ||
        declare(q, q->dead, NULL, 0, &dead_n, 1, err) < 0)
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
    q->transient = 0;
    if (depth_once(q, ready, dead, err) == 0)
        return 0;
    /* A stale connection is found out only by using it: once more. */
    return q->transient ? depth_once(q, ready, dead, err) : -1;
}

/* Purges or deletes a named queue (NULL: main). */
static int purge_or_delete(anon_queue *q, const char *queue, int delete, anon_error *err)
{
    q->transient = 0;
    if (ensure_connected(q, err) < 0)
        return -1;
    const char *name = queue ? queue : q->queue;
    amqp_bytes_t bytes = amqp_cstring_bytes(name);
    void *ok = delete ? (void *)amqp_queue_delete(q->conn, CHANNEL, bytes, 0, 0)
                      : (void *)amqp_queue_purge(q->conn, CHANNEL, bytes);
    if (ok == NULL) {
        char what[256];
        snprintf(what, sizeof what, "%s %s", delete ? "deleting" : "purging", name);
        fail_reply(q, err, what, amqp_get_rpc_reply(q->conn));
        disconnect(q);
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
