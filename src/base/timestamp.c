/* timestamp.c - ISO 8601 UTC text for wall-clock times (see timestamp.h). */
#include "base/timestamp.h"

#include <stdio.h>
#include <time.h>

void anon_timestamp_format(double unix_seconds, char out[ANON_TIMESTAMP_LEN])
{
    if (!(unix_seconds >= 0))
        unix_seconds = 0;
    time_t secs = (time_t)unix_seconds;
    /* Truncated, not rounded: a time never reads later than it was. */
    int ms = (int)((unix_seconds - (double)secs) * 1000);
    if (ms > 999)
        ms = 999;
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, ANON_TIMESTAMP_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, ANON_TIMESTAMP_LEN - n, ".%03dZ", ms);
}

double anon_timestamp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
