/* svc_cluster.c - a quorum queue on a 3-node RabbitMQ cluster survives
 * kill -9 of the node the publisher is connected to, with no confirmed
 * message lost. Starts its own cluster (scripts/stack up --rabbit-nodes 3
 * in a private state directory and port range) and stops it again; takes
 * about half a minute. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "service/queue.h"
#include "queue_check.h"

static char stack_env[512];
static int base;

static int stack(const char *args)
{
    char cmd[1024];
    const char *root = getenv("ROOT");
    snprintf(cmd, sizeof cmd, "%s '%s/scripts/stack' %s >>'%s/build/cluster.log' 2>&1", stack_env,
             root ? root : ".", args, root ? root : ".");
    return system(cmd);
}

TEST(quorum_queue_survives_node_kill)
{
    CHECKF(stack("up --rabbit-nodes 3 --only rabbitmq") == 0, "cluster did not start: see build/cluster.log");
    char urls[512];
    snprintf(urls, sizeof urls,
             "amqp://guest:guest@127.0.0.1:%d/%%2f,amqp://guest:guest@127.0.0.1:%d/%%2f,"
             "amqp://guest:guest@127.0.0.1:%d/%%2f", base + 1, base + 2, base + 3);
    anon_queue_options o = {.url = urls, .queue = "anon.cluster.test", .delivery_limit = 5,
                            .prefetch = 50, .reconnect_attempts = 30, .confirm_timeout_ms = 20000};
    anon_error err;
    anon_queue *q = anon_queue_open(&o, &err);
    CHECKF(q != NULL, "%.300s", err.msg);
    sleep(2);  /* let the new queue's metadata reach disk on every node */
    pid_t child = fork();
    if (child == 0) {
        usleep(300000);
        _exit(stack("kill rabbitmq1") == 0 ? 0 : 1);
    }
    enum { N = 3000 };
    static char confirmed[N + 1], seen[N + 1];
    int n = 0, failures = 0, after = -1, status = 0;
    char key[64];
    while (n < N && after != 0) {
        n++;
        anon_job j = {.id = n, .attempt = 1};
        snprintf(j.bucket, sizeof j.bucket, "anon-input");
        snprintf(key, sizeof key, "cam/%d.jpg", n);
        j.key = key;
        memset(j.sha256, 'b', 64);
        if (anon_queue_publish(q, &j, &err) == 0)
            confirmed[n] = 1;
        else
            failures++;
        if (after < 0 && waitpid(child, &status, WNOHANG) == child)
            after = 100;
        else if (after > 0)
            after--;
        usleep(5000);
    }
    CHECKF(after == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "kill failed");
    CHECKF(failures == 0, "%d publishes failed (last: %.300s)", failures, err.msg);
    CHECKF(consume_all(q, seen, N, 3000, &err) >= 0, "consume: %.300s", err.msg);
    int lost = 0, total = 0;
    for (int i = 1; i <= n; i++) {
        total += confirmed[i];
        lost += confirmed[i] && !seen[i];
    }
    CHECKF(lost == 0, "%d of %d confirmed messages lost", lost, total);
    anon_queue_close(q);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    /* Its own port range: 20 above the main stack's. */
    const char *main_base = getenv("ANON_STACK_PORT_BASE");
    base = (main_base ? atoi(main_base) : 25000) + 20;
    snprintf(stack_env, sizeof stack_env, "ANON_STACK_DIR=/tmp/anon-cluster-%d ANON_STACK_PORT_BASE=%d",
             (int)getpid(), base);
    static const struct check_case cases[] = {CASE(quorum_queue_survives_node_kill)};
    int rc = check_run("svc_cluster", cases, 1);
    stack("down");
    return rc;
}
