/* error.h - how the library reports failure.
 *
 * The library never prints and never exits. A function that can fail takes
 * an `anon_error *` as its last argument, returns -1 (or NULL) on failure and
 * leaves a one-line, human-readable message in it that the caller can show.
 * Passing NULL is allowed when the caller does not care about the message. */
#ifndef ANON_ERROR_H
#define ANON_ERROR_H

#include <stdarg.h>

typedef struct anon_error {
    char msg[512];
} anon_error;

/* Formats a message into err (if not NULL) and returns -1, so that a
 * failing path can be written `return anon_fail(err, "...", ...);`. */
int anon_fail(anon_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int anon_vfail(anon_error *err, const char *fmt, va_list ap);

/* Prefixes an existing message with more context ("file.jpg: " + msg). */
int anon_fail_prefix(anon_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
