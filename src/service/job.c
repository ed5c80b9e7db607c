/* job.c - encoding and checking job messages (see job.h). */
#include "service/job.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

void anon_job_free(anon_job *job)
{
    free(job->key);
    job->key = NULL;
}

int anon_job_encode(const anon_job *job, anon_buffer *out, anon_error *err)
{
    json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:i}", "id", (json_int_t)job->id,
                          "bucket", job->bucket, "key", job->key ? job->key : "",
                          "sha256", job->sha256, "attempt", job->attempt);
    if (o == NULL)
        return anon_fail_kind(err, ANON_ERR_INPUT, "encoding job %" PRId64 ": invalid text",
                              job->id);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (text == NULL)
        return anon_fail(err, "out of memory");
    anon_buffer_reset(out);
    int rc = anon_buffer_append(out, text, strlen(text), err);
    free(text);
    return rc;
}

static int is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return 1;
}

/* Bucket names as S3 has them (3-63 of a-z 0-9 . -): a job naming
 * anything else is refused here, as the input's fault, before it reaches
 * the object store (where a bad name is a setting to fix). */
static int is_bucket_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 3 || n > 63)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '.' || *s == '-'))
            return 0;
    return 1;
}

/* The checks jansson's format does not make (jansson itself refuses
 * \u0000, so the strings are whole). */
static int check_fields(json_int_t id, int attempt, const char *bucket, const char *key,
                        const char *sha, anon_error *err)
{
    if (id <= 0 || attempt < 1)
        return anon_fail_kind(err, ANON_ERR_INPUT, "job message: id and attempt must be positive");
    if (!is_bucket_name(bucket))
        return anon_fail_kind(err, ANON_ERR_INPUT, "job message: bad bucket name");
    if (key[0] == '\0' || strlen(key) > ANON_JOB_KEY_MAX)
        return anon_fail_kind(err, ANON_ERR_INPUT, "job message: key must be 1 to %d bytes",
                              ANON_JOB_KEY_MAX);
    if (!is_hex64(sha))
        return anon_fail_kind(err, ANON_ERR_INPUT,
                              "job message: sha256 must be 64 lower-case hex digits");
    return 0;
}

int anon_job_decode(const void *body, size_t len, anon_job *job, anon_error *err)
{
    memset(job, 0, sizeof *job);
    json_error_t jerr;
    json_t *o = json_loadb(body, len, 0, &jerr);
    if (o == NULL)
        return anon_fail_kind(err, ANON_ERR_INPUT, "job message is not JSON: %s", jerr.text);
    json_int_t id = 0;
    int attempt = 0;
    const char *bucket = NULL, *key = NULL, *sha = NULL;
    if (json_unpack_ex(o, &jerr, 0, "{s:I, s:s, s:s, s:s, s:i}", "id", &id, "bucket", &bucket,
                       "key", &key, "sha256", &sha, "attempt", &attempt) < 0) {
        json_decref(o);
        return anon_fail_kind(err, ANON_ERR_INPUT, "job message: %s", jerr.text);
    }
    int rc = check_fields(id, attempt, bucket, key, sha, err);
    if (rc == 0) {
        job->id = id;
        job->attempt = attempt;
        snprintf(job->bucket, sizeof job->bucket, "%s", bucket);
        snprintf(job->sha256, sizeof job->sha256, "%s", sha);
        if ((job->key = strdup(key)) == NULL)
            rc = anon_fail(err, "out of memory");
    }
    json_decref(o);
    return rc;
}
