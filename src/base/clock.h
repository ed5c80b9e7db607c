/* clock.h - time: a monotonic clock for stage timings, sleeping, and the
 * one backoff policy every retry loop uses (S3 requests, broker
 * reconnects, uploads), with its numbers as parameters. */
#ifndef ANON_CLOCK_H
#define ANON_CLOCK_H

/* Milliseconds on the monotonic clock. */
double anon_now_ms(void);

/* Sleeps ms milliseconds, resuming after signals (ms <= 0: returns). */
void anon_sleep_ms(long ms);

/* Exponential backoff: the delay before retry `attempt` (0 = the first
 * retry) is first_ms * 2^attempt, at most max_ms, plus a random part of up
 * to 1/jitter_div of it (0: none) so that clients that failed together do
 * not come back together. */
typedef struct anon_backoff {
    long first_ms;
    long max_ms;
    int jitter_div;
} anon_backoff;

long anon_backoff_delay(const anon_backoff *b, int attempt);

/* anon_sleep_ms(anon_backoff_delay(b, attempt)). */
void anon_backoff_sleep(const anon_backoff *b, int attempt);

#endif
