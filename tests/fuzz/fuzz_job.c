/* fuzz_job.c - libFuzzer harness for the job message decoder
 * (src/service/job.c): a worker takes job bodies from the broker, where
 * anyone with access to the queue may have put anything.
 *
 * Every input is decoded; one that passes must hold what the checks
 * promise, and must encode and decode again to the same job.
 *
 * Build: src/service/job.c, src/base/buffer.c and src/base/error.c compiled
 * with -fsanitize=fuzzer-no-link,address,undefined, then this file linked
 * with -fsanitize=fuzzer,address,undefined and jansson. Seeds:
 * scripts/fuzz-seeds-service job DIR. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "service/job.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    anon_job job;
    anon_error err;
    if (anon_job_decode(data, size, &job, &err) < 0) {
        if (anon_error_kind_of(&err) != ANON_ERR_INPUT || err.msg[0] == '\0')
            __builtin_trap();
        anon_job_free(&job);
        return 0;
    }
    size_t key_len = strlen(job.key);
    if (job.id <= 0 || job.attempt < 1 || key_len == 0 || key_len > ANON_JOB_KEY_MAX ||
        strlen(job.sha256) != 64 || strlen(job.bucket) < 3)
        __builtin_trap();
    anon_buffer text = ANON_BUFFER_INIT;
    anon_job again;
    if (anon_job_encode(&job, &text, &err) < 0 ||
        anon_job_decode(text.data, text.len, &again, &err) < 0)
        __builtin_trap();
    if (again.id != job.id || again.attempt != job.attempt || strcmp(again.key, job.key) != 0 ||
        strcmp(again.bucket, job.bucket) != 0 || strcmp(again.sha256, job.sha256) != 0)
        __builtin_trap();
    anon_job_free(&again);
    anon_buffer_free(&text);
    anon_job_free(&job);
    return 0;
}
