/* error.h - how the library reports failure, and what kind of failure.
 *
 * The library never prints and never exits. A function that can fail takes
 * an `anon_error *` as its last argument, returns ANON_ERROR (-1) or NULL
 * on failure and leaves in it a one-line, human-readable message the
 * caller can show, and the kind of the failure: whether it is the input's
 * fault, a service that may come back, or a setting to fix. Callers that
 * retry, reject or dead-letter decide from the kind alone; there is no
 * other channel for it. Passing NULL is allowed when the caller does not
 * care about the message.
 *
 * Return codes, as nginx names them:
 *   ANON_OK        0   done
 *   ANON_ERROR    -1   failed; err says why and what kind of failure
 *   ANON_DECLINED -2   not an error and not done: this path does not take
 *                      the input (a progressive JPEG for the baseline-only
 *                      scan decoder, say) and the caller takes another.
 *                      Negative, so that a caller that forgets to look for
 *                      it treats it as a failure: it fails closed.
 * Functions that look something up return 1 for "found" or "changed" and
 * 0 for "not there", which is neither of the above. */
#ifndef ANON_ERROR_H
#define ANON_ERROR_H

#include <stdarg.h>

enum { ANON_OK = 0, ANON_ERROR = -1, ANON_DECLINED = -2 };

typedef enum anon_error_kind {
    ANON_ERR_FAILED = 0,  /* failed here: local I/O, memory, a broken invariant */
    ANON_ERR_INPUT,       /* the input's fault (not decodable, too large, malformed):
                             the same input will fail again */
    ANON_ERR_NOT_FOUND,   /* what was asked for does not exist (object, row, file) */
    ANON_ERR_TRANSIENT,   /* a service was unreachable, timed out or overloaded:
                             trying again later may work */
    ANON_ERR_CONFIG,      /* a setting is wrong (malformed URL, refused credentials,
                             missing bucket): retrying will not help until it is fixed */
} anon_error_kind;

typedef struct anon_error {
    char msg[512];
    anon_error_kind kind;
} anon_error;

/* Formats a message into err (if not NULL), sets the kind to
 * ANON_ERR_FAILED and returns -1, so that a failing path can be written
 * `return anon_fail(err, "...", ...);`. */
int anon_fail(anon_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int anon_vfail(anon_error *err, const char *fmt, va_list ap);

/* The same with the kind of the failure. */
int anon_fail_kind(anon_error *err, anon_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes an existing message with more context ("file.jpg: " + msg);
 * the kind is kept. */
int anon_fail_prefix(anon_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Changes the kind of a failure already recorded, where the caller knows
 * better (a missing original is the input's fault for the worker). */
void anon_error_set_kind(anon_error *err, anon_error_kind kind);

/* The kind (ANON_ERR_FAILED for NULL). */
anon_error_kind anon_error_kind_of(const anon_error *err);

/* "failed", "input", "not_found", "transient", "config": for logs and JSON. */
const char *anon_error_kind_name(anon_error_kind kind);

#endif
