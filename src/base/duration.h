/* duration.h - lengths of time as people write them: "90m", "24h", "30d",
 * a plain number of seconds, and "forever".
 *
 * The one parser for them, so that every place reads "30d" alike:
 * ANON_ORIGINALS_RETENTION and the flags that override it, and the ages
 * `anonctl list --since 12h` and `anonctl reprocess --since/--until` take. */
#ifndef ANON_DURATION_H
#define ANON_DURATION_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

/* What "forever" parses to: never, no limit. */
#define ANON_DURATION_FOREVER (-1L)

/* Room for anon_duration_format's text and its NUL. */
#define ANON_DURATION_LEN 24

/* Parses a whole number of seconds with an optional unit: s (seconds), m
 * (minutes), h (hours), d (days), as in "0", "3600", "90m", "30d"; and,
 * when allow_forever, "forever" (ANON_DURATION_FOREVER). Anything else
 * (a sign, a fraction, spaces, an unknown unit, a value past LONG_MAX
 * seconds) fails with ANON_ERR_INPUT and a message saying what is
 * accepted. */
int anon_duration_parse(const char *text, bool allow_forever, long *seconds,
                        anon_error *err);

/* The shortest exact text for seconds, in the largest unit that divides
 * it: 0 -> "0", 7200 -> "2h", 90 -> "90s", 2592000 -> "30d",
 * ANON_DURATION_FOREVER -> "forever". anon_duration_parse reads it back. */
const char *anon_duration_format(long seconds, char out[ANON_DURATION_LEN]);

#endif
