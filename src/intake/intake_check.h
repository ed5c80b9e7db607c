/* intake_check.h - what the intake accepts as text from a client.
 *
 * Everything a client names (camera, request id, header values, query
 * values, file names) passes through here before it is used or logged:
 * camera names that cannot climb out of their key prefix, well-formed
 * UTF-8 (what PostgreSQL and JSON require of text), no control characters
 * (a NUL would cut a value short; CR, LF and ESC would forge log lines),
 * and an escaped form of anything else for the log. */
#ifndef ANON_INTAKE_CHECK_H
#define ANON_INTAKE_CHECK_H

#include <stddef.h>

#define ANON_INTAKE_CAMERA_MAX 64

/* Camera names: 1..64 of [A-Za-z0-9._-], not starting with '.' or '-', so
 * that a name cannot climb out of its key prefix. The intake refuses
 * others with 400; clients can check before sending. */
int anon_intake_camera_valid(const char *name);

/* 1 when the len bytes at s are well-formed UTF-8 (no overlongs,
 * surrogates or code points past U+10FFFF) and hold no NUL. */
int intake_utf8_valid(const char *s, size_t len);

/* 1 when the len bytes at s hold a control character (C0, DEL; a tab only
 * when tab_ok is 0). */
int intake_has_control(const char *s, size_t len, int tab_ok);

/* Copies len bytes of untrusted text into out (cap >= 4 bytes,
 * NUL-terminated) for a log line: printable ASCII as is, backslash and
 * every other byte as \xNN, cut short (with "...") when it does not fit. */
void intake_escape(const char *s, size_t len, char *out, size_t cap);

#endif
