/* duration.c - parsing and formatting durations (see duration.h). */
#include "base/duration.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    char unit;
    long seconds;
} units[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};

#define N_UNITS (sizeof units / sizeof units[0])

static int refuse(const char *text, bool allow_forever, anon_error *err)
{
    return anon_fail_kind(err, ANON_ERR_INPUT,
                          "'%s' is not a duration: expected a whole number of seconds or "
                          "one with a unit, s, m, h or d (90m, 24h, 30d)%s",
                          text, allow_forever ? ", or forever" : "");
}

int anon_duration_parse(const char *text, bool allow_forever, long *seconds,
                        anon_error *err)
{
    if (text == NULL)
        return refuse("", allow_forever, err);
    if (allow_forever && strcmp(text, "forever") == 0) {
        *seconds = ANON_DURATION_FOREVER;
        return ANON_OK;
    }
    /* strtol would take a sign and leading spaces: only digits may start. */
    if (text[0] < '0' || text[0] > '9')
        return refuse(text, allow_forever, err);
    char *end;
    errno = 0;
    long n = strtol(text, &end, 10);
    if (errno != 0)
        return refuse(text, allow_forever, err);
    long scale = 0;
    if (*end == '\0') {
        scale = 1;
    } else if (end[1] == '\0') {
        for (size_t i = 0; i < N_UNITS; i++)
            if (units[i].unit == *end)
                scale = units[i].seconds;
    }
    if (scale == 0 || n > LONG_MAX / scale)
        return refuse(text, allow_forever, err);
    *seconds = n * scale;
    return ANON_OK;
}

const char *anon_duration_format(long seconds, char out[ANON_DURATION_LEN])
{
    if (seconds < 0) {
        snprintf(out, ANON_DURATION_LEN, "forever");
        return out;
    }
    if (seconds == 0) {
        snprintf(out, ANON_DURATION_LEN, "0");
        return out;
    }
    for (size_t i = 0; i < N_UNITS; i++)
        if (seconds % units[i].seconds == 0) {
            snprintf(out, ANON_DURATION_LEN, "%ld%c", seconds / units[i].seconds, units[i].unit);
            break;
        }
    return out;
}
