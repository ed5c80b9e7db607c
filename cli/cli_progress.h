/* cli_progress.h - a one-line progress bar on stderr, shown only on a
 * terminal (silent in pipes, logs and Kubernetes), safe to update from
 * worker threads. Shared by `blur` and `upload`. */
#ifndef ANON_CLI_PROGRESS_H
#define ANON_CLI_PROGRESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cli_progress {
    bool enabled;
    const char *unit;        /* "images", "files" */
    size_t total, done, failed;
    uint64_t bytes;
    double started, last_draw;
    pthread_mutex_t lock;
} cli_progress;

/* Enabled when stderr is a terminal and quiet is false. */
void cli_progress_init(cli_progress *p, const char *unit, size_t total, bool quiet);
void cli_progress_step(cli_progress *p, uint64_t bytes, bool ok);
/* Clears the line so the summary prints cleanly. */
void cli_progress_finish(cli_progress *p);
double cli_now(void);   /* seconds, monotonic */

#endif
