/* timestamp.h - wall-clock times as ISO 8601 UTC text with milliseconds
 * ("2024-05-01T12:34:56.789Z"), the one format every JSON log line and
 * record carries, so that logs of the intake and the workers sort and join
 * on the same field. */
#ifndef ANON_TIMESTAMP_H
#define ANON_TIMESTAMP_H

/* Room for the text and its NUL. */
#define ANON_TIMESTAMP_LEN 32

/* Unix seconds (with fractions, not negative) as ISO 8601 UTC text. */
void anon_timestamp_format(double unix_seconds, char out[ANON_TIMESTAMP_LEN]);

/* The current time, Unix seconds with fractions (CLOCK_REALTIME). */
double anon_timestamp_now(void);

#endif
