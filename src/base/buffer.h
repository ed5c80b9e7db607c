/* buffer.h - a growable byte buffer.
 *
 * Encoded images, HTTP bodies and S3 objects all travel as anon_buffer so
 * that modules can hand bytes to each other without agreeing on allocators. */
#ifndef ANON_BUFFER_H
#define ANON_BUFFER_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef struct anon_buffer {
    uint8_t *data;
    size_t len;
    size_t cap;
} anon_buffer;

#define ANON_BUFFER_INIT {NULL, 0, 0}

int anon_buffer_reserve(anon_buffer *b, size_t extra, anon_error *err);
int anon_buffer_append(anon_buffer *b, const void *data, size_t len, anon_error *err);
void anon_buffer_reset(anon_buffer *b);
void anon_buffer_free(anon_buffer *b);

/* Reads a whole file, refusing files over max_bytes (0 = no limit). */
int anon_buffer_read_file(anon_buffer *b, const char *path, size_t max_bytes,
                          anon_error *err);

/* Writes a file atomically: a temporary file beside it, fsync, rename.
 * A reader never sees a partial file and a failure leaves nothing behind. */
int anon_write_file_atomic(const char *path, const void *data, size_t len,
                           anon_error *err);

#endif
