/* svc_queue.c - the RabbitMQ job queue against the local stack: round
 * trips, batches, dead-lettering after the delivery limit, queue depth,
 * malformed settings, publishing through a broker kill and restart, and a
 * consumer whose network silently stalls. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "service/queue.h"
#include "queue_check.h"

static char base_name[64];

static const char *qname(const char *suffix)
{
    static char buf[128];
    snprintf(buf, sizeof buf, "%s.%s", base_name, suffix);
    return buf;
}

static anon_queue *open_queue(const char *suffix, long delivery_limit, int prefetch,
                              int reconnects, anon_error *err)
{
    const char *url = getenv("ANON_AMQP_URL");
    anon_queue_options o = {.url = url ? url : "amqp://guest:guest@127.0.0.1:5672/%2f",
                            .queue = qname(suffix), .delivery_limit = delivery_limit,
                            .prefetch = prefetch, .reconnect_attempts = reconnects};
    return anon_queue_open(&o, err);
}

static anon_job make_job(int64_t id, char *key_buf, size_t cap)
{
    anon_job j;
    memset(&j, 0, sizeof j);
    j.id = id;
    snprintf(j.bucket, sizeof j.bucket, "anon-input");
    snprintf(key_buf, cap, "cam/%lld.jpg", (long long)id);
    j.key = key_buf;
    memset(j.sha256, 'a', 64);
    j.sha256[64] = '\0';
    j.attempt = 1;
    return j;
}

static void cleanup(anon_queue *q)
{
    anon_queue_delete(q, NULL, NULL);
    anon_queue_delete(q, anon_queue_dead_name(q), NULL);
    anon_queue_close(q);
}

TEST(job_json)
{
    char key[64];
    anon_job j = make_job(42, key, sizeof key);
    anon_buffer b = ANON_BUFFER_INIT;
    anon_error err;
    CHECK(anon_job_encode(&j, &b, &err) == 0);
    anon_job back;
    CHECKF(anon_job_decode(b.data, b.len, &back, &err) == 0, "%.300s", err.msg);
    CHECK(back.id == 42 && back.attempt == 1 && strcmp(back.key, "cam/42.jpg") == 0);
    CHECK(strcmp(back.bucket, "anon-input") == 0 && strcmp(back.sha256, j.sha256) == 0);
    anon_job_free(&back);
    static const char *const bad[] = {
        "", "not json", "[]", "{\"id\":1}", "{\"id\":\"1\",\"bucket\":\"b\",\"key\":\"k\","
        "\"sha256\":\"x\",\"attempt\":1}",
        "{\"id\":1,\"bucket\":\"b\",\"key\":\"k\",\"sha256\":\"abc\",\"attempt\":1}",
        "{\"id\":-5,\"bucket\":\"b\",\"key\":\"k\",\"sha256\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"attempt\":1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECKF(anon_job_decode(bad[i], strlen(bad[i]), &back, &err) == -1, "accepted %s", bad[i]);
        CHECKF(anon_error_kind_of(&err) == ANON_ERR_INPUT, "%s: %.300s", bad[i], err.msg);
        anon_job_free(&back);
    }
    anon_buffer_free(&b);
}

TEST(publish_consume_ack)
{
    anon_error err;
    anon_queue *q = open_queue("rt", 5, 4, 2, &err);
    CHECKF(q != NULL, "%.300s", err.msg);
    char key[64];
    anon_job j = make_job(7, key, sizeof key);
    CHECKF(anon_queue_publish(q, &j, &err) == 0, "%.300s", err.msg);
    uint32_t ready = 99, dead = 99;
    CHECKF(anon_queue_depth(q, &ready, &dead, &err) == 0, "%.300s", err.msg);
    CHECKF(ready == 1 && dead == 0, "ready %u dead %u", ready, dead);
    anon_delivery d;
    CHECKF(anon_queue_next(q, &d, 5000, &err) == 1, "%.300s", err.msg);
    CHECK(d.valid && d.job.id == 7 && strcmp(d.job.key, "cam/7.jpg") == 0);
    CHECK(d.delivery_count == 0 && !d.redelivered);
    CHECKF(anon_queue_ack(q, &d, &err) == 0, "%.300s", err.msg);
    anon_delivery_free(&d);
    CHECK(anon_queue_next(q, &d, 200, &err) == 0);
    /* A body that is not a job arrives flagged, not as a crash. */
    CHECKF(anon_queue_publish_body(q, NULL, "garbage", 7, &err) == 0, "%.300s", err.msg);
    CHECKF(anon_queue_next(q, &d, 5000, &err) == 1, "%.300s", err.msg);
    CHECK(!d.valid && d.invalid_reason[0] != '\0');
    CHECK(anon_queue_ack(q, &d, &err) == 0);
    anon_delivery_free(&d);
    cleanup(q);
}

TEST(batch_and_prefetch)
{
    anon_error err;
    anon_queue *q = open_queue("batch", 5, 16, 2, &err);
    CHECKF(q != NULL, "%.300s", err.msg);
    enum { N = 300 };
    static anon_job jobs[N];
    static char keys[N][32];
    for (int i = 0; i < N; i++)
        jobs[i] = make_job(i + 1, keys[i], sizeof keys[i]);
    CHECKF(anon_queue_publish_batch(q, jobs, N, &err) == 0, "%.300s", err.msg);
    static char seen[N + 1];
    memset(seen, 0, sizeof seen);
    int got = consume_all(q, seen, N, 5000, &err);
    CHECKF(got == N, "got %d of %d", got, N);
    for (int i = 1; i <= N; i++)
        CHECK(seen[i]);
    cleanup(q);
}

/* Publishing while consuming on the same connection: deliveries that
 * arrive while waiting for confirms are kept, and confirms never leak into
 * the consumer (UNEXPECTED_STATE). */
TEST(publish_while_consuming)
{
    anon_error err;
    anon_queue *q = open_queue("mixed", 5, 8, 2, &err);
    CHECKF(q != NULL, "%.300s", err.msg);
    char key[64];
    int published = 0, consumed = 0;
    anon_delivery d;
    for (int i = 1; i <= 40; i++) {
        anon_job j = make_job(i, key, sizeof key);
        CHECKF(anon_queue_publish(q, &j, &err) == 0, "%.300s", err.msg);
        published++;
        if (i % 2 == 0) {
            int rc = anon_queue_next(q, &d, 5000, &err);
            CHECKF(rc == 1, "next: %d %.300s", rc, err.msg);
            CHECK(anon_queue_ack(q, &d, &err) == 0);
            anon_delivery_free(&d);
            consumed++;
        }
    }
    static char seen[41];
    int rest = consume_all(q, seen, 40, 1000, &err);
    CHECKF(consumed + rest == published, "consumed %d + %d of %d", consumed, rest, published);
    cleanup(q);
}

TEST(nacked_message_is_dead_lettered)
{
    anon_error err;
    anon_queue *q = open_queue("dlx", 2, 1, 2, &err);
    CHECKF(q != NULL, "%.300s", err.msg);
    char key[64];
    anon_job j = make_job(99, key, sizeof key);
    CHECKF(anon_queue_publish(q, &j, &err) == 0, "%.300s", err.msg);
    anon_delivery d;
    int deliveries = 0;
    while (anon_queue_next(q, &d, 3000, &err) == 1) {
        deliveries++;
        CHECK(d.valid && d.job.id == 99);
        CHECKF(d.delivery_count == deliveries - 1, "x-delivery-count %ld at delivery %d",
               d.delivery_count, deliveries);
        CHECK(d.redelivered == (deliveries > 1));
        CHECK(anon_queue_nack(q, &d, 1, &err) == 0);
        anon_delivery_free(&d);
        CHECKF(deliveries <= 10, "redelivered forever");
    }
    CHECKF(deliveries == 3, "delivered %d times with limit 2", deliveries);
    /* Dead-lettering is asynchronous: wait for it a little. */
    uint32_t ready = 0, dead = 0;
    for (int i = 0; i < 50 && dead == 0; i++) {
        CHECKF(anon_queue_depth(q, &ready, &dead, &err) == 0, "%.300s", err.msg);
        if (dead == 0)
            usleep(100000);
    }
    CHECKF(ready == 0 && dead == 1, "ready %u dead %u", ready, dead);
    CHECKF(anon_queue_get(q, anon_queue_dead_name(q), &d, &err) == 1, "%.300s", err.msg);
    CHECK(d.valid && d.job.id == 99);
    CHECK(anon_queue_ack(q, &d, &err) == 0);
    anon_delivery_free(&d);
    CHECK(anon_queue_get(q, anon_queue_dead_name(q), &d, &err) == 0);
    cleanup(q);
}

/* A queue that exists with other arguments cannot be used until a setting
 * changes; a settle on a connection that is gone is transient. */
TEST(kinds_of_failure)
{
    anon_error err;
    anon_queue *q = open_queue("kinds", 2, 1, 0, &err);
    CHECKF(q != NULL, "%.300s", err.msg);
    anon_queue *other = open_queue("kinds", 3, 1, 0, &err);
    CHECK(other == NULL);
    CHECKF(anon_error_kind_of(&err) == ANON_ERR_CONFIG, "%.300s", err.msg);
    CHECKF(strstr(err.msg, "ANON_DELIVERY_LIMIT") != NULL, "%.300s", err.msg);
    anon_delivery stale;
    memset(&stale, 0, sizeof stale);
    stale.generation = 12345;
    CHECK(anon_queue_ack(q, &stale, &err) == -1);
    CHECKF(anon_error_kind_of(&err) == ANON_ERR_TRANSIENT, "%.300s", err.msg);
    cleanup(q);
}

TEST(malformed_urls)
{
    static const char *const urls[] = {
        "", "http://guest:guest@127.0.0.1/", "amqp://guest:secretpw@127.0.0.1:notaport/",
        "amqps://guest:guest@127.0.0.1:5671/", "amqp://guest:guest@127.0.0.1:5672/%2f,nonsense",
        "garbage",
    };
    anon_error err;
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        anon_queue_options o = {.url = urls[i], .queue = "x", .reconnect_attempts = 0};
        anon_queue *q = anon_queue_open(&o, &err);
        CHECKF(q == NULL, "accepted '%s'", urls[i]);
        CHECKF(strstr(err.msg, "ANON_AMQP_URL") != NULL, "%.300s", err.msg);
        CHECKF(anon_error_kind_of(&err) == ANON_ERR_CONFIG, "%.300s", err.msg);
        CHECKF(strstr(err.msg, "secretpw") == NULL, "password shown: %.300s", err.msg);
    }
    anon_queue_options o = {.url = "amqp://guest:guest@127.0.0.1:5672/%2f", .queue = "bad name",
                            .reconnect_attempts = 0};
    CHECK(anon_queue_open(&o, &err) == NULL && strstr(err.msg, "ANON_QUEUE"));
    CHECK(anon_error_kind_of(&err) == ANON_ERR_CONFIG);
}

TEST(unreachable_and_refused)
{
    anon_error err;
    anon_queue_options o = {.url = "amqp://guest:guest@127.0.0.1:1/%2f", .queue = "x",
                            .reconnect_attempts = 0};
    CHECK(anon_queue_open(&o, &err) == NULL);
    CHECKF(strstr(err.msg, "cannot connect") != NULL, "%.300s", err.msg);
    CHECK(anon_error_kind_of(&err) == ANON_ERR_TRANSIENT);
    /* A wrong password is refused at once, not retried for long. */
    const char *url = getenv("ANON_AMQP_URL");
    CHECK(url != NULL);
    char bad[256];
    const char *at = strchr(url + 7, '@');
    CHECK(at != NULL);
    snprintf(bad, sizeof bad, "amqp://guest:wrongpw%s", at);
    o.url = bad;
    o.reconnect_attempts = 5;
    time_t t0 = time(NULL);
    CHECK(anon_queue_open(&o, &err) == NULL);
    CHECKF(strstr(err.msg, "wrongpw") == NULL, "password shown: %.300s", err.msg);
    CHECKF(time(NULL) - t0 < 5, "retried a refused login: %.300s", err.msg);
    CHECKF(anon_error_kind_of(&err) == ANON_ERR_CONFIG, "%.300s", err.msg);
}

/* Publishes one by one while the broker is killed (SIGKILL) and started
 * again; every message the broker confirmed must come out afterwards. */
TEST(broker_killed_mid_stream)
{
    anon_error err;
    anon_queue *q = open_queue("restart", 5, 50, 60, &err);
    CHECKF(q != NULL, "%.300s", err.msg);
    /* A queue declared a moment before the broker is killed may not have
     * its metadata on disk yet; in production the queue is old. */
    sleep(2);
    const char *root = getenv("ROOT");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "sleep 0.3; '%s/scripts/stack' kill rabbitmq1 && "
                              "'%s/scripts/stack' start rabbitmq1",
             root ? root : ".", root ? root : ".");
    enum { N = 3000 };
    static char confirmed[N + 1];
    memset(confirmed, 0, sizeof confirmed);
    pid_t child = fork();
    if (child == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    CHECK(child > 0);
    /* Publish at a steady pace until the broker is back, then 50 more. */
    int failures = 0, status = 0, after = -1, n = 0;
    char key[64];
    while (n < N && after != 0) {
        n++;
        anon_job j = make_job(n, key, sizeof key);
        if (anon_queue_publish(q, &j, &err) == 0)
            confirmed[n] = 1;
        else
            failures++;
        if (after < 0 && waitpid(child, &status, WNOHANG) == child)
            after = 50;
        else if (after > 0)
            after--;
        usleep(10000);
    }
    if (after < 0)
        CHECK(waitpid(child, &status, 0) == child);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "kill/restart failed: %d", status);
    CHECKF(failures == 0, "%d publishes failed (last: %.300s)", failures, err.msg);
    static char seen[N + 1];
    memset(seen, 0, sizeof seen);
    CHECKF(consume_all(q, seen, N, 3000, &err) >= 0, "consume: %.300s", err.msg);
    int lost = 0;
    for (int i = 1; i <= n; i++)
        lost += confirmed[i] && !seen[i];
    CHECKF(lost == 0, "%d confirmed messages lost", lost);
    cleanup(q);
}

/* Starts scripts/chaos-proxy from listen_port to the stack's AMQP port;
 * returns its pid once it listens, -1 on failure. */
static pid_t start_proxy(int listen_port, int target_port)
{
    const char *root = getenv("ROOT");
    char path[1024], route[128];
    snprintf(path, sizeof path, "%s/scripts/chaos-proxy", root ? root : ".");
    snprintf(route, sizeof route, "127.0.0.1:%d=127.0.0.1:%d", listen_port, target_port);
    int out[2];
    if (pipe(out) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        execl("/usr/bin/python3", "python3", path, "--route", route, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char ready[16] = "";
    ssize_t got = pid > 0 ? read(out[0], ready, sizeof ready - 1) : -1;
    close(out[0]);
    return got > 0 && strncmp(ready, "ready", 5) == 0 ? pid : -1;
}

/* A consumer whose network silently stops passing packets (the proxy
 * stalled) holds the job delivered to it: heartbeats make the broker take
 * it for gone and hand the job to another consumer, instead of keeping it
 * until the TCP connection dies. */
TEST(stalled_consumer_gives_its_job_back)
{
    const char *base = getenv("ANON_STACK_PORT_BASE");
    CHECKF(base != NULL, "ANON_STACK_PORT_BASE is not set (run through scripts/run-tests)");
    int port = atoi(base) + 19;   /* free: the stack uses +0..+12 */
    pid_t proxy = start_proxy(port, atoi(base) + 1);
    CHECKF(proxy > 0, "scripts/chaos-proxy did not start");
    char url[128];
    snprintf(url, sizeof url, "amqp://guest:guest@127.0.0.1:%d/%%2f", port);
    anon_queue_options o = {.url = url, .queue = qname("stall"), .delivery_limit = 5,
                            .prefetch = 1, .reconnect_attempts = 0, .confirm_timeout_ms = 2000,
                            .heartbeat_s = 2};
    anon_error err;
    anon_queue *stalled = anon_queue_open(&o, &err);
    int consuming = stalled ? anon_queue_consume(stalled, &err) : -1;
    kill(proxy, SIGHUP);
    usleep(300000);
    anon_queue *q = open_queue("stall", 5, 1, 3, &err);
    char key[64];
    anon_job j = make_job(7, key, sizeof key);
    int published = q ? anon_queue_publish(q, &j, &err) : -1;
    anon_delivery d = {0};
    int rc = published == 0 ? anon_queue_next(q, &d, 20000, &err) : -1;
    int got_it = rc == 1 && d.valid && d.job.id == 7;
    if (rc == 1)
        anon_queue_ack(q, &d, NULL);
    anon_delivery_free(&d);
    kill(proxy, SIGTERM);
    waitpid(proxy, NULL, 0);
    anon_queue_close(stalled);
    if (q)
        cleanup(q);
    CHECKF(consuming == 0 && published == 0, "%.300s", err.msg);
    CHECKF(got_it, "the stalled consumer kept the job (rc %d): %.300s", rc, rc < 0 ? err.msg : "");
}

int main(void)
{
    snprintf(base_name, sizeof base_name, "anon.test.%d", (int)getpid());
    signal(SIGPIPE, SIG_IGN);
    static const struct check_case cases[] = {
        CASE(job_json), CASE(publish_consume_ack), CASE(batch_and_prefetch),
        CASE(publish_while_consuming), CASE(nacked_message_is_dead_lettered),
        CASE(kinds_of_failure), CASE(malformed_urls), CASE(unreachable_and_refused), CASE(broker_killed_mid_stream),
        CASE(stalled_consumer_gives_its_job_back),
    };
    return check_run("svc_queue", cases, sizeof cases / sizeof cases[0]);
}
