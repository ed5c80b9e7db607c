/* queue.c - connecting to RabbitMQ with librabbitmq-c 0.11 (see queue.h).
 *
 * One connection, channel 1, in confirm mode. Any connection or channel
 * failure tears the connection down; the next call reconnects with backoff
 * (trying each URL of a comma-separated ANON_AMQP_URL in turn, for a
 * cluster), declares the topology again and, for a consumer, resumes
 * consuming. Publishing is in queue_publish.c, receiving in
 * queue_consume.c. Every failure leaves its kind in err, and the retry
 * loops here and there decide from it alone. */
#include "service/queue_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <amqp_tcp_socket.h>

#include "base/clock.h"

/* Between rounds over the brokers: 0.2 s doubling to 5 s, with up to a
 * quarter more at random so that clients that lost a node together do
 * not come back together. */
static const anon_backoff reconnect_backoff = {200, 5000, 4};

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
        return anon_fail_kind(err, ANON_ERR_CONFIG, "ANON_AMQP_URL is empty");
    const char *p = urls;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (q->n_brokers == QUEUE_MAX_URLS)
            return anon_fail_kind(err, ANON_ERR_CONFIG, "ANON_AMQP_URL: at most %d URLs",
                                  QUEUE_MAX_URLS);
        struct queue_broker *b = &q->brokers[q->n_brokers];
        if ((b->text = strndup(p, n)) == NULL)
            return anon_fail(err, "out of memory");
        q->n_brokers++;
        amqp_default_connection_info(&b->info);
        /* The URL is not echoed: it holds the password. */
        if (strncmp(b->text, "amqp://", 7) != 0 && strncmp(b->text, "amqps://", 8) != 0)
            return anon_fail_kind(err, ANON_ERR_CONFIG,
                                  "ANON_AMQP_URL: URL %d does not start with amqp://",
                                  q->n_brokers);
        if (amqp_parse_url(b->text, &b->info) != AMQP_STATUS_OK)
            return anon_fail_kind(err, ANON_ERR_CONFIG, "ANON_AMQP_URL: URL %d is malformed "
                                  "(want amqp://user:password@host:port/vhost)", q->n_brokers);
        if (b->info.ssl)
            return anon_fail_kind(err, ANON_ERR_CONFIG,
                                  "ANON_AMQP_URL: amqps:// (TLS) is not supported");
        if (b->info.host == NULL || b->info.host[0] == '\0')
            return anon_fail_kind(err, ANON_ERR_CONFIG, "ANON_AMQP_URL: URL %d has no host",
                                  q->n_brokers);
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

/* A connection.close: refused logins and bad vhosts will not get better
 * by retrying; anything else (a node shutting down...) may. */
static int fail_connection_close(anon_error *err, const char *what,
                                 const amqp_connection_close_t *c)
{
    anon_error_kind kind = c->reply_code == AMQP_ACCESS_REFUSED ||
                                   c->reply_code == AMQP_NOT_ALLOWED
                               ? ANON_ERR_CONFIG
                               : ANON_ERR_TRANSIENT;
    return anon_fail_kind(err, kind, "%s: broker closed the connection: %u %.*s", what,
                          c->reply_code, (int)c->reply_text.len, (char *)c->reply_text.bytes);
}

/* A channel.close: a queue declared with other arguments, or no right to
 * it, is a setting to fix. */
static int fail_channel_close(anon_error *err, const char *what, const amqp_channel_close_t *c)
{
    anon_error_kind kind = c->reply_code == AMQP_PRECONDITION_FAILED ||
                                   c->reply_code == AMQP_ACCESS_REFUSED
                               ? ANON_ERR_CONFIG
                               : ANON_ERR_TRANSIENT;
    return anon_fail_kind(err, kind, "%s: %u %.*s", what, c->reply_code,
                          (int)c->reply_text.len, (char *)c->reply_text.bytes);
}

int queue_fail_reply(anon_error *err, const char *what, amqp_rpc_reply_t r)
{
    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        return anon_fail(err, "%s: unexpected reply", what);
    case AMQP_RESPONSE_NONE:
        return anon_fail_kind(err, ANON_ERR_TRANSIENT, "%s: no reply from the broker", what);
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        return anon_fail_kind(err, ANON_ERR_TRANSIENT, "%s: %s", what,
                              amqp_error_string2(r.library_error));
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD)
            return fail_connection_close(err, what, r.reply.decoded);
        if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD)
            return fail_channel_close(err, what, r.reply.decoded);
        return anon_fail_kind(err, ANON_ERR_TRANSIENT, "%s: broker error (method 0x%08x)", what,
                              r.reply.id);
    }
    return anon_fail(err, "%s: unknown failure", what);
}

/* ------------------------------------------------------------ connection */

void anon_delivery_free(anon_delivery *d)
{
    anon_buffer_free(&d->body);
    anon_job_free(&d->job);
    memset(d, 0, sizeof *d);
}

static void free_stash(anon_queue *q)
{
    while (q->stash_head) {
        struct queue_stashed *s = q->stash_head;
        q->stash_head = s->next;
        anon_delivery_free(&s->d);
        free(s);
    }
    q->stash_tail = NULL;
}

void queue_disconnect(anon_queue *q)
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

int queue_declare(anon_queue *q, const char *name, amqp_table_entry_t *args, int n,
                  uint32_t *messages, int passive, anon_error *err)
{
    amqp_table_t table = {n, args};
    amqp_queue_declare_ok_t *ok = amqp_queue_declare(q->conn, QUEUE_CHANNEL,
                                                     amqp_cstring_bytes(name), passive, 1, 0,
                                                     0, table);
    if (ok == NULL) {
        char what[256];
        snprintf(what, sizeof what, "declaring queue %s", name);
        queue_fail_reply(err, what, amqp_get_rpc_reply(q->conn));
        queue_disconnect(q);
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
    if (queue_declare(q, q->dead, dead_args, 1, NULL, 0, err) < 0)
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
    if (queue_declare(q, q->queue, args, 6, NULL, 0, err) < 0)
        return anon_fail_prefix(err, "(if the queue exists with other settings, e.g. another "
                                     "ANON_DELIVERY_LIMIT, delete it or keep its settings) ");
    return 0;
}

int queue_start_consuming(anon_queue *q, anon_error *err)
{
    if (amqp_basic_qos(q->conn, QUEUE_CHANNEL, 0, (uint16_t)q->prefetch, 0) == NULL) {
        queue_fail_reply(err, "basic.qos", amqp_get_rpc_reply(q->conn));
        queue_disconnect(q);
        return -1;
    }
    if (amqp_basic_consume(q->conn, QUEUE_CHANNEL, amqp_cstring_bytes(q->queue),
                           amqp_empty_bytes, 0, 0, 0, amqp_empty_table) == NULL) {
        char what[256];
        snprintf(what, sizeof what, "consuming from %s", q->queue);
        queue_fail_reply(err, what, amqp_get_rpc_reply(q->conn));
        queue_disconnect(q);
        return -1;
    }
    q->consuming = 1;
    return 0;
}

static int open_channel(anon_queue *q, const struct queue_broker *b, struct timeval *rpc,
                        anon_error *err)
{
    amqp_set_rpc_timeout(q->conn, rpc);
    amqp_rpc_reply_t r = amqp_login(q->conn, b->info.vhost, 0, 131072, q->heartbeat_s,
                                    AMQP_SASL_METHOD_PLAIN, b->info.user, b->info.password);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        char what[300];
        snprintf(what, sizeof what, "logging in to RabbitMQ at %s:%d as %s", b->info.host,
                 b->info.port, b->info.user);
        return queue_fail_reply(err, what, r);
    }
    if (amqp_channel_open(q->conn, QUEUE_CHANNEL) == NULL)
        return queue_fail_reply(err, "opening a channel", amqp_get_rpc_reply(q->conn));
    if (amqp_confirm_select(q->conn, QUEUE_CHANNEL) == NULL)
        return queue_fail_reply(err, "enabling publisher confirms", amqp_get_rpc_reply(q->conn));
    return 0;
}

static int connect_once(anon_queue *q, const struct queue_broker *b, anon_error *err)
{
    q->conn = amqp_new_connection();
    amqp_socket_t *sock = q->conn ? amqp_tcp_socket_new(q->conn) : NULL;
    if (sock == NULL) {
        queue_disconnect(q);
        return anon_fail(err, "out of memory");
    }
    struct timeval tv = {q->connect_timeout_ms / 1000, (q->connect_timeout_ms % 1000) * 1000};
    int rc = amqp_socket_open_noblock(sock, b->info.host, b->info.port, &tv);
    if (rc != AMQP_STATUS_OK) {
        anon_fail_kind(err, ANON_ERR_TRANSIENT, "cannot connect to RabbitMQ at %s:%d: %s",
                       b->info.host, b->info.port, amqp_error_string2(rc));
        queue_disconnect(q);
        return -1;
    }
    amqp_set_handshake_timeout(q->conn, &tv);
    struct timeval rpc = {q->confirm_timeout_ms / 1000, (q->confirm_timeout_ms % 1000) * 1000};
    if (open_channel(q, b, &rpc, err) < 0) {
        queue_disconnect(q);
        return -1;
    }
    q->next_seq = 1;
    q->generation++;
    if (declare_topology(q, err) < 0)
        return -1;
    if (q->want_consume && queue_start_consuming(q, err) < 0)
        return -1;
    return 0;
}

/* Connects if needed, trying each broker in turn with backoff between
 * rounds. Gives up at once on errors that retrying cannot fix. */
int queue_ensure_connected(anon_queue *q, anon_error *err)
{
    if (q->conn)
        return 0;
    anon_error scratch;
    if (err == NULL)
        err = &scratch;
    int round = 0;
    for (int attempt = 0;; attempt++) {
        if (connect_once(q, &q->brokers[q->current], err) == 0)
            return 0;
        q->current = (q->current + 1) % q->n_brokers;
        if (anon_error_kind_of(err) != ANON_ERR_TRANSIENT || attempt >= q->reconnect_attempts)
            return -1;
        if (q->current == 0 || q->n_brokers == 1)
            anon_backoff_sleep(&reconnect_backoff, round++);
    }
}

/* ------------------------------------------------------------ lifecycle */

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
        anon_fail_kind(err, ANON_ERR_CONFIG, "ANON_QUEUE: '%s' is not a usable queue name", name);
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
    if (queue_ensure_connected(q, err) < 0)
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
        amqp_channel_close(q->conn, QUEUE_CHANNEL, AMQP_REPLY_SUCCESS);
        amqp_connection_close(q->conn, AMQP_REPLY_SUCCESS);
    }
    queue_disconnect(q);
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
