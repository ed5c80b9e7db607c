/* error.c - the library's error messages (see error.h). */
#include "error.h"

#include <stdio.h>
#include <string.h>

int anon_vfail(anon_error *err, const char *fmt, va_list ap)
{
    if (err != NULL)
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    return -1;
}

int anon_fail(anon_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    anon_vfail(err, fmt, ap);
    va_end(ap);
    return -1;
}

int anon_fail_prefix(anon_error *err, const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    char prefix[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char old[sizeof err->msg];
    memcpy(old, err->msg, sizeof old);
    /* Truncation is fine: a long message loses its tail, not its start. */
    size_t n = strlen(prefix);
    if (n >= sizeof err->msg)
        n = sizeof err->msg - 1;
    memcpy(err->msg, prefix, n);
    size_t rest = strnlen(old, sizeof old - 1);
    if (rest > sizeof err->msg - 1 - n)
        rest = sizeof err->msg - 1 - n;
    memcpy(err->msg + n, old, rest);
    err->msg[n + rest] = '\0';
    return -1;
}
