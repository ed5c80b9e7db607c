/* anon_intake.c - the anon-intake server binary.
 *
 * Reads the ANON_* settings (flags override), starts the HTTP server of
 * src/intake/intake.c, writes its JSON log lines to stdout, and on SIGTERM or
 * SIGINT stops the way Kubernetes expects: no new connections, in-flight
 * requests finish within ANON_SHUTDOWN_GRACE seconds, exit 0. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_settings.h"
#include "base/config.h"
#include "intake/intake.h"

#ifndef ANON_VERSION
#define ANON_VERSION "0.1.0"
#endif

static const char *const intake_env[] = {
    "ANON_INTAKE_LISTEN", "ANON_INTAKE_TOKEN", "ANON_MAX_BYTES", "ANON_MAX_PIXELS",
    "ANON_MAX_CONNECTIONS", "ANON_INTAKE_TIMEOUT", "ANON_INTAKE_BODY_TIMEOUT",
    "ANON_INTAKE_SESSIONS",
    "ANON_SHUTDOWN_GRACE", "ANON_DB_URL", "ANON_AMQP_URL", "ANON_QUEUE",
    "ANON_S3_ENDPOINT", "ANON_S3_REGION", "ANON_S3_ACCESS_KEY", "ANON_S3_SECRET_KEY",
    "ANON_S3_ADDRESSING", "ANON_S3_CA_FILE", "ANON_INPUT_BUCKET", "ANON_OUTPUT_BUCKET", NULL};

static void print_help(FILE *out)
{
    fprintf(out,
            "usage: anon-intake [--listen ADDR:PORT]\n\n"
            "HTTP intake: accepts JPEG/PNG uploads (POST /v1/images), stores them in the\n"
            "input bucket, records them in PostgreSQL and queues them on RabbitMQ.\n"
            "Serves GET /v1/images[/{id}[/output]], /healthz, /readyz and /metrics.\n"
            "One JSON log line per request on stdout. SIGTERM: graceful stop.\n\n"
            "options:\n"
            "  -l, --listen ADDR:PORT  address to listen on (ANON_INTAKE_LISTEN)\n"
            "  -h, --help              this help\n"
            "      --version           print the version\n");
    cli_print_env(out, intake_env);
}

/* Log lines come from many server threads: one locked write each. */
static void write_log_line(void *ctx, const char *line)
{
    FILE *out = ctx;
    flockfile(out);
    fputs(line, out);
    fputc('\n', out);
    fflush(out);
    funlockfile(out);
}

int main(int argc, char **argv)
{
    anon_config cfg;
    anon_error err;
    if (anon_config_load(&cfg, &err) < 0) {
        fprintf(stderr, "anon-intake: %s\n", err.msg);
        return EXIT_CONFIG;
    }
    static const struct option options[] = {
        {"listen", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c;
    opterr = 0;   /* one line of our own instead of getopt's and ours */
    while ((c = getopt_long(argc, argv, ":l:h", options, NULL)) != -1) {
        switch (c) {
        case 'l':
            cfg.intake_listen = optarg;
            break;
        case 'h':
            print_help(stdout);
            return EXIT_OK;
        case 'V':
            printf("anon-intake %s\n", ANON_VERSION);
            return EXIT_OK;
        default:
            fprintf(stderr, "anon-intake: %s %s (try 'anon-intake --help')\n",
                    c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "anon-intake: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }

    /* Blocked before any thread starts, so that only sigwait sees them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    anon_intake *in = anon_intake_start(&cfg, write_log_line, stdout, &err);
    if (in == NULL) {
        fprintf(stderr, "anon-intake: %s\n", err.msg);
        return EXIT_CONFIG;
    }
    int sig = 0;
    sigwait(&stop, &sig);
    if (anon_intake_shutdown(in, cfg.shutdown_grace) > 0)
        _exit(EXIT_OK);   /* the grace is over: do not wait for stragglers */
    anon_intake_free(in);
    return EXIT_OK;
}
