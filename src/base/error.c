/* error.c - the library's error messages and their kinds (see error.h). */
#include "base/error.h"

#include <stdio.h>
#include <string.h>

int anon_vfail(anon_error *err, const char *fmt, va_list ap)
{
    if (err != NULL) {
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        err->kind = ANON_ERR_FAILED;
    }
    return ANON_ERROR;
}

int anon_fail(anon_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    anon_vfail(err, fmt, ap);
    va_end(ap);
    return ANON_ERROR;
}

int anon_fail_kind(anon_error *err, anon_error_kind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    anon_vfail(err, fmt, ap);
    va_end(ap);
    anon_error_set_kind(err, kind);
    return ANON_ERROR;
}

int anon_fail_prefix(anon_error *err, const char *fmt, ...)
{
    if (err == NULL)
        return ANON_ERROR;
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
    return ANON_ERROR;
}

void anon_error_set_kind(anon_error *err, anon_error_kind kind)
{
    if (err != NULL)
        err->kind = kind;
}

anon_error_kind anon_error_kind_of(const anon_error *err)
{
    return err != NULL ? err->kind : ANON_ERR_FAILED;
}

const char *anon_error_kind_name(anon_error_kind kind)
{
    switch (kind) {
    case ANON_ERR_INPUT: return "input";
    case ANON_ERR_NOT_FOUND: return "not_found";
    case ANON_ERR_TRANSIENT: return "transient";
    case ANON_ERR_CONFIG: return "config";
    case ANON_ERR_FAILED: break;
    }
    return "failed";
}
