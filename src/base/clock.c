/* clock.c - monotonic time, sleeping and backoff (see clock.h). */
#include "base/clock.h"

#include <errno.h>
#include <time.h>

double anon_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void anon_sleep_ms(long ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

long anon_backoff_delay(const anon_backoff *b, int attempt)
{
    long delay = b->first_ms > 0 ? b->first_ms : 1;
    for (int i = 0; i < attempt && delay < b->max_ms; i++)
        delay *= 2;
    if (b->max_ms > 0 && delay > b->max_ms)
        delay = b->max_ms;
    if (b->jitter_div > 0) {
        /* The clock's nanoseconds are random enough to spread clients
         * apart, and keep no state. */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        delay += ts.tv_nsec % (delay / b->jitter_div + 1);
    }
    return delay;
}

void anon_backoff_sleep(const anon_backoff *b, int attempt)
{
    anon_sleep_ms(anon_backoff_delay(b, attempt));
}
