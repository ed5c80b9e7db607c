/* sha256.h - SHA-256 digests as lower-case hex (Nettle underneath).
 *
 * Used for S3 payload hashes (SigV4) and for content-addressed object keys
 * and the images.sha256 column: the intake hashes an upload as it streams
 * in (init/update/final), the S3 client hashes whole payloads. */
#ifndef ANON_SHA256_H
#define ANON_SHA256_H

#include <stddef.h>

#include <nettle/sha2.h>

#include "base/error.h"

#define ANON_SHA256_HEX_LEN 64

typedef struct anon_sha256 {
    struct sha256_ctx ctx;
} anon_sha256;

void anon_sha256_init(anon_sha256 *h);
void anon_sha256_update(anon_sha256 *h, const void *data, size_t len);
/* Writes 64 hex digits and a NUL into hex. */
void anon_sha256_final(anon_sha256 *h, char hex[ANON_SHA256_HEX_LEN + 1]);

/* One-shot digest of a buffer. */
void anon_sha256_hex(const void *data, size_t len, char hex[ANON_SHA256_HEX_LEN + 1]);

/* Digest of a regular file from offset to its end, read with pread (the
 * file offset is not moved). Sets *size to the number of bytes hashed. */
int anon_sha256_fd(int fd, long long offset, char hex[ANON_SHA256_HEX_LEN + 1],
                   long long *size, anon_error *err);

#endif
