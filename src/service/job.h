/* job.h - the job message: one queued image, as the intake publishes it and
 * the workers and `anonctl retry` read it back.
 *
 * The body is JSON {"id","bucket","key","sha256","attempt"}. A worker takes
 * it from the broker, so it is untrusted input: anon_job_decode checks every
 * field (types, ranges, lengths, hex digits) and a body that fails is the
 * input's fault (ANON_ERR_INPUT), never a crash. */
#ifndef ANON_JOB_H
#define ANON_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "base/buffer.h"
#include "base/error.h"

#define ANON_JOB_KEY_MAX 1024

typedef struct anon_job {
    int64_t id;           /* images.id */
    char bucket[64];      /* input bucket */
    char *key;            /* input key (heap when decoded; anon_job_free) */
    char sha256[65];
    int attempt;          /* 1 for the first publish, +1 per republish by retry */
} anon_job;

void anon_job_free(anon_job *job);

/* Encodes a job as its JSON body (out replaced). */
int anon_job_encode(const anon_job *job, anon_buffer *out, anon_error *err);

/* Decodes and checks a body; malformed JSON or a missing or bad field fails
 * with ANON_ERR_INPUT. *job is zeroed first, so anon_job_free is safe after
 * a failure too. */
int anon_job_decode(const void *body, size_t len, anon_job *job, anon_error *err);

#endif
