/* intake_check.h - what the intake accepts as text from a client.
 *
 * What a client names (camera, file names) passes through here before it
 * is used: camera names that cannot climb out of their key prefix, and
 * well-formed UTF-8 (what PostgreSQL and JSON require of text). */
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

#endif
