/* config.c - the table of ANON_* settings and its loader (see config.h). */
#include "base/config.h"

#include "base/duration.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>

/* A table row per variable, Redis style: its type, its default, and what
 * it accepts (a range for numbers, a list for names), so that a bad value
 * is refused here, naming the variable, for every program alike. */
#define STR(field, name, def, help) \
    {name, def, help, ANON_VAR_STRING, offsetof(anon_config, field), 0, 0, 0, NULL}
#define ENUM(field, name, def, choices, help) \
    {name, def, help, ANON_VAR_STRING, offsetof(anon_config, field), 0, 0, 0, choices}
#define SECRET(field, name, def, help) \
    {name, def, help, ANON_VAR_STRING, offsetof(anon_config, field), 1, 0, 0, NULL}
#define NUM(field, name, def, lo, hi, help) \
    {name, def, help, ANON_VAR_LONG, offsetof(anon_config, field), 0, lo, hi, NULL}
/* A duration (duration.h) from 0 to hi seconds, or forever. */
#define DURATION(field, name, def, hi, help) \
    {name, def, help, ANON_VAR_DURATION, offsetof(anon_config, field), 0, 0, hi, NULL}

static const char *const addressing_choices[] = {"path", "virtual", NULL};
static const char *const model_choices[] = {"ssd", "tiny", "yolo", NULL};
static const char *const preset_choices[] = {"fast", "balanced", "thorough", NULL};

static const anon_config_var vars[] = {
    SECRET(db_url, "ANON_DB_URL", "postgresql://anon:anon@127.0.0.1:5432/anon",
           "PostgreSQL connection URL (libpq syntax)"),
    SECRET(amqp_url, "ANON_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f",
           "RabbitMQ AMQP 0-9-1 URL (a comma-separated list for a cluster: tried in turn)"),
    STR(queue, "ANON_QUEUE", "anon.images",
        "quorum queue for image jobs (dead letters go to QUEUE.dead)"),
    NUM(delivery_limit, "ANON_DELIVERY_LIMIT", "5", 1, 1000,
        "deliveries of one message before it is dead-lettered"),
    NUM(max_attempts, "ANON_MAX_ATTEMPTS", "20", 1, 1000000,
        "processing attempts before anonctl retry rejects an image (each delivery counts, "
        "so keep it a few times ANON_DELIVERY_LIMIT to ride out outages)"),
    STR(s3_endpoint, "ANON_S3_ENDPOINT", "http://127.0.0.1:9000",
        "S3 API endpoint (MinIO, s3rver or AWS)"),
    STR(s3_region, "ANON_S3_REGION", "us-east-1", "S3 region used in SigV4 signatures"),
    STR(s3_access_key, "ANON_S3_ACCESS_KEY", "S3RVER", "S3 access key id"),
    SECRET(s3_secret_key, "ANON_S3_SECRET_KEY", "S3RVER", "S3 secret key"),
    ENUM(s3_addressing, "ANON_S3_ADDRESSING", "path", addressing_choices,
        "bucket addressing: path or virtual (bucket.host)"),
    STR(s3_ca_file, "ANON_S3_CA_FILE", "", "CA bundle for a TLS endpoint (empty: system CAs)"),
    STR(input_bucket, "ANON_INPUT_BUCKET", "anon-input", "bucket for original images"),
    STR(output_bucket, "ANON_OUTPUT_BUCKET", "anon-output", "bucket for anonymized images"),
    DURATION(originals_retention, "ANON_ORIGINALS_RETENTION", "0", 36500L * 86400,
             "how long an original is kept once its image is done or rejected: 0 deletes it "
             "at once, a duration (24h, 30d) keeps it for anonctl reprocess until anonctl "
             "purge deletes it, forever never deletes it"),
    STR(intake_url, "ANON_INTAKE_URL", "http://127.0.0.1:8080",
        "where anonctl upload sends images"),
    STR(intake_listen, "ANON_INTAKE_LISTEN", "0.0.0.0:8080",
        "address:port anon-intake listens on"),
    SECRET(intake_token, "ANON_INTAKE_TOKEN", "",
           "bearer token required by anon-intake (empty: none)"),
    NUM(max_bytes, "ANON_MAX_BYTES", "25000000", 1, 2000000000, "largest accepted image file, bytes"),
    NUM(max_pixels, "ANON_MAX_PIXELS", "50000000", 0, 1073741824,
        "largest accepted image, pixels (checked before decoding)"),
    NUM(accept_damaged, "ANON_ACCEPT_DAMAGED", "0", 0, 1,
        "1: a photo its decoder reports damaged (cut short, corrupt data) is anonymized as "
        "far as it decodes, with the part that could not be read filled; 0: it is refused "
        "(blur: failed, batch: rejected)"),
    NUM(max_connections, "ANON_MAX_CONNECTIONS", "256", 1, 100000,
        "anon-intake concurrent connections before it answers 503"),
    NUM(shutdown_grace, "ANON_SHUTDOWN_GRACE", "20", 0, 3600,
        "seconds anon-intake lets in-flight requests finish after SIGTERM"),
    NUM(intake_timeout, "ANON_INTAKE_TIMEOUT", "30", 1, 3600,
        "seconds anon-intake waits on a silent client before closing the connection"),
    NUM(intake_body_timeout, "ANON_INTAKE_BODY_TIMEOUT", "120", 0, 86400,
        "seconds anon-intake gives one request body in all before it closes the connection "
        "(slow senders cannot hold connections; 0: no limit)"),
    NUM(intake_sessions, "ANON_INTAKE_SESSIONS", "16", 1, 1024,
        "anon-intake connections to each service (S3, PostgreSQL, RabbitMQ) shared by requests"),
    STR(model_dir, "ANON_MODEL_DIR", "",
        "converted face models (empty: next to the binary, then .cache/models)"),
    ENUM(model, "ANON_MODEL", "yolo", model_choices, "face model: ssd, tiny or yolo (anonctl models)"),
    ENUM(preset, "ANON_PRESET", "balanced", preset_choices,
        "detection passes: fast (1 pass), balanced or thorough (docs/detection.md)"),
    NUM(s3_timeout, "ANON_S3_TIMEOUT", "120", 1, 3600, "seconds one S3 request may take before it is retried"),
    NUM(prefetch, "ANON_PREFETCH", "2", 1, 1000, "unacknowledged messages a worker holds from the queue"),
};

const anon_config_var *anon_config_vars(size_t *count)
{
    *count = sizeof vars / sizeof vars[0];
    return vars;
}

const anon_config_var *anon_config_var_find(const char *name)
{
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (strcmp(vars[i].name, name) == 0)
            return &vars[i];
    return NULL;
}

const char *anon_config_var_accepts(const anon_config_var *v, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    if (v->type == ANON_VAR_LONG) {
        snprintf(buf, size, "%ld-%ld", v->min, v->max);
        return buf;
    }
    if (v->type == ANON_VAR_DURATION) {
        char most[ANON_DURATION_LEN];
        snprintf(buf, size, "0, seconds, 90m, 24h, 30d (up to %s), forever",
                 anon_duration_format(v->max, most));
        return buf;
    }
    for (size_t i = 0; v->choices && v->choices[i] && used < size; i++) {
        int n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", v->choices[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return buf;
}

static bool is_choice(const anon_config_var *v, const char *value)
{
    for (size_t i = 0; v->choices[i]; i++)
        if (strcmp(v->choices[i], value) == 0)
            return true;
    return false;
}

static int set_duration(const anon_config_var *v, char *field, const char *value,
                        anon_error *err)
{
    long seconds = 0;
    char most[ANON_DURATION_LEN];
    int rc = anon_duration_parse(value, true, &seconds, err);
    if (rc == ANON_OK && seconds > v->max)
        rc = anon_fail(err, "at most %s, got '%s'", anon_duration_format(v->max, most), value);
    if (rc < 0) {
        anon_fail_prefix(err, "%s: ", v->name);
        anon_error_set_kind(err, ANON_ERR_CONFIG);
        return ANON_ERROR;
    }
    memcpy(field, &seconds, sizeof seconds);
    return ANON_OK;
}

static int set_var(anon_config *cfg, const anon_config_var *v, const char *value,
                   anon_error *err)
{
    char *field = (char *)cfg + v->offset;
    char accepts[256];
    if (v->type == ANON_VAR_STRING) {
        if (v->choices && !is_choice(v, value))
            return anon_fail_kind(err, ANON_ERR_CONFIG, "%s: expected one of %s, got '%s'",
                                  v->name, anon_config_var_accepts(v, accepts, sizeof accepts),
                                  value);
        memcpy(field, &value, sizeof value);
        return ANON_OK;
    }
    if (v->type == ANON_VAR_DURATION)
        return set_duration(v, field, value, err);
    char *end;
    errno = 0;
    long n = strtol(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0' || n < v->min || n > v->max)
        return anon_fail_kind(err, ANON_ERR_CONFIG,
                              "%s: expected a whole number from %ld to %ld, got '%s'",
                              v->name, v->min, v->max, value);
    memcpy(field, &n, sizeof n);
    return ANON_OK;
}

int anon_config_set(anon_config *cfg, const char *name, const char *value,
                    anon_error *err)
{
    const anon_config_var *v = anon_config_var_find(name);
    if (v == NULL)
        return anon_fail_kind(err, ANON_ERR_CONFIG, "unknown setting %s", name);
    return set_var(cfg, v, value, err);
}

int anon_config_load(anon_config *cfg, anon_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *value = getenv(vars[i].name);
        if (value == NULL)
            value = vars[i].default_value;
        if (set_var(cfg, &vars[i], value, err) < 0)
            return -1;
    }
    return 0;
}
