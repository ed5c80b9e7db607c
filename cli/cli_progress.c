/* cli_progress.c - the terminal progress bar (see cli_progress.h). */
#include "cli_progress.h"

#include <stdio.h>
#include <unistd.h>

#include "base/clock.h"

double cli_now(void)
{
    return anon_now_ms() / 1e3;
}

void cli_progress_init(cli_progress *p, const char *unit, size_t total, bool quiet)
{
    p->enabled = !quiet && isatty(STDERR_FILENO);
    p->unit = unit;
    p->total = total;
    p->done = p->failed = 0;
    p->bytes = 0;
    p->started = cli_now();
    p->last_draw = 0;
    pthread_mutex_init(&p->lock, NULL);
}

static void draw(cli_progress *p, double now)
{
    enum { WIDTH = 24 };
    double elapsed = now - p->started;
    double rate = elapsed > 0 ? p->done / elapsed : 0;
    double eta = rate > 0 ? (p->total - p->done) / rate : 0;
    int filled = p->total ? (int)(WIDTH * p->done / p->total) : WIDTH;
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[WIDTH] = '\0';
    fprintf(stderr, "\r[%s] %zu/%zu %s, %zu failed, %.1f MB, %.1f/s, ETA %d:%02d ",
            bar, p->done, p->total, p->unit, p->failed, p->bytes / 1e6, rate,
            (int)eta / 60, (int)eta % 60);
    fflush(stderr);
    p->last_draw = now;
}

void cli_progress_step(cli_progress *p, uint64_t bytes, bool ok)
{
    pthread_mutex_lock(&p->lock);
    p->done++;
    p->failed += !ok;
    p->bytes += bytes;
    double now = cli_now();
    /* Redraw at most ten times a second: a terminal is slow. */
    if (p->enabled && (now - p->last_draw > 0.1 || p->done == p->total))
        draw(p, now);
    pthread_mutex_unlock(&p->lock);
}

void cli_progress_finish(cli_progress *p)
{
    if (p->enabled)
        fprintf(stderr, "\r\033[K");
    pthread_mutex_destroy(&p->lock);
}
