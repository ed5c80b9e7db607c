/* buffer.c - growable byte buffers and whole-file I/O (see buffer.h). */
#include "base/buffer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int anon_buffer_reserve(anon_buffer *b, size_t extra, anon_error *err)
{
    if (extra <= b->cap - b->len)
        return 0;
    if (extra > SIZE_MAX / 2 - b->len)
        return anon_fail(err, "buffer too large");
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra)
        cap *= 2;
    uint8_t *data = realloc(b->data, cap);
    if (data == NULL)
        return anon_fail(err, "out of memory (%zu bytes)", cap);
    b->data = data;
    b->cap = cap;
    return 0;
}

int anon_buffer_append(anon_buffer *b, const void *data, size_t len, anon_error *err)
{
    if (len == 0)
        return 0;
    if (anon_buffer_reserve(b, len, err) < 0)
        return -1;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

void anon_buffer_reset(anon_buffer *b)
{
    b->len = 0;
}

void anon_buffer_free(anon_buffer *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int anon_buffer_read_file(anon_buffer *b, const char *path, size_t max_bytes,
                          anon_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return anon_fail(err, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return anon_fail(err, "not a regular file");
    }
    if (max_bytes && (size_t)st.st_size > max_bytes) {
        close(fd);
        return anon_fail(err, "file is %lld bytes, over the limit of %zu",
                         (long long)st.st_size, max_bytes);
    }
    anon_buffer_reset(b);
    if (anon_buffer_reserve(b, (size_t)st.st_size + 1, err) < 0) {
        close(fd);
        return -1;
    }
    for (;;) {
        if (anon_buffer_reserve(b, 65536, err) < 0)
            break;
        ssize_t n = read(fd, b->data + b->len, b->cap - b->len);
        if (n == 0) {
            close(fd);
            return 0;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            anon_fail(err, "read failed: %s", strerror(errno));
            break;
        }
        b->len += (size_t)n;
        if (max_bytes && b->len > max_bytes) {
            anon_fail(err, "file grew over the limit of %zu bytes", max_bytes);
            break;
        }
    }
    close(fd);
    return -1;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int anon_write_file_atomic(const char *path, const void *data, size_t len,
                           anon_error *err)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.XXXXXX.tmp", path) >= (int)sizeof tmp)
        return anon_fail(err, "path too long");
    int fd = mkstemps(tmp, 4);
    if (fd < 0)
        return anon_fail(err, "cannot create %s: %s", tmp, strerror(errno));
    int saved;
    if (write_all(fd, data, len) < 0 || fsync(fd) < 0)
        goto fail;
    if (fchmod(fd, 0644) < 0 || close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) < 0)
        goto fail;
    return 0;
fail:
    saved = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return anon_fail(err, "cannot write %s: %s", path, strerror(saved));
}
