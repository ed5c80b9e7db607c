/* sha256.c - SHA-256 hex digests on Nettle (see sha256.h). */
#include "base/sha256.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static void to_hex(const uint8_t *digest, char hex[ANON_SHA256_HEX_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < SHA256_DIGEST_SIZE; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[ANON_SHA256_HEX_LEN] = '\0';
}

void anon_sha256_init(anon_sha256 *h)
{
    sha256_init(&h->ctx);
}

void anon_sha256_update(anon_sha256 *h, const void *data, size_t len)
{
    if (len > 0)
        sha256_update(&h->ctx, len, data);
}

void anon_sha256_final(anon_sha256 *h, char hex[ANON_SHA256_HEX_LEN + 1])
{
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_digest(&h->ctx, sizeof digest, digest);
    to_hex(digest, hex);
}

void anon_sha256_hex(const void *data, size_t len, char hex[ANON_SHA256_HEX_LEN + 1])
{
    anon_sha256 h;
    anon_sha256_init(&h);
    anon_sha256_update(&h, data, len);
    anon_sha256_final(&h, hex);
}

int anon_sha256_fd(int fd, long long offset, char hex[ANON_SHA256_HEX_LEN + 1],
                   long long *size, anon_error *err)
{
    uint8_t block[65536];
    anon_sha256 h;
    anon_sha256_init(&h);
    long long total = 0;
    for (;;) {
        ssize_t n = pread(fd, block, sizeof block, (off_t)(offset + total));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return anon_fail(err, "reading for SHA-256: %s", strerror(errno));
        if (n == 0)
            break;
        anon_sha256_update(&h, block, (size_t)n);
        total += n;
    }
    anon_sha256_final(&h, hex);
    if (size)
        *size = total;
    return 0;
}
