/* config.c - the table of ANON_* settings and its loader (see config.h). */
#include "base/config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define STR(field, name, def, help) \
    {name, def, help, ANON_VAR_STRING, offsetof(anon_config, field), 0}
#define SECRET(field, name, def, help) \
    {name, def, help, ANON_VAR_STRING, offsetof(anon_config, field), 1}
#define NUM(field, name, def, help) \
    {name, def, help, ANON_VAR_LONG, offsetof(anon_config, field), 0}

static const anon_config_var vars[] = {
    SECRET(db_url, "ANON_DB_URL", "postgresql://anon:anon@127.0.0.1:5432/anon",
           "PostgreSQL connection URL (libpq syntax)"),
    SECRET(amqp_url, "ANON_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f",
           "RabbitMQ AMQP 0-9-1 URL (a comma-separated list for a cluster: tried in turn)"),
    STR(queue, "ANON_QUEUE", "anon.images",
        "quorum queue for image jobs (dead letters go to QUEUE.dead)"),
    NUM(delivery_limit, "ANON_DELIVERY_LIMIT", "5",
        "deliveries of one message before it is dead-lettered"),
    NUM(max_attempts, "ANON_MAX_ATTEMPTS", "20",
        "processing attempts before anonctl retry rejects an image (each delivery counts, "
        "so keep it a few times ANON_DELIVERY_LIMIT to ride out outages)"),
    STR(s3_endpoint, "ANON_S3_ENDPOINT", "http://127.0.0.1:9000",
        "S3 API endpoint (MinIO, s3rver or AWS)"),
    STR(s3_region, "ANON_S3_REGION", "us-east-1", "S3 region used in SigV4 signatures"),
    STR(s3_access_key, "ANON_S3_ACCESS_KEY", "S3RVER", "S3 access key id"),
    SECRET(s3_secret_key, "ANON_S3_SECRET_KEY", "S3RVER", "S3 secret key"),
    STR(s3_addressing, "ANON_S3_ADDRESSING", "path",
        "bucket addressing: path or virtual (bucket.host)"),
    STR(s3_ca_file, "ANON_S3_CA_FILE", "", "CA bundle for a TLS endpoint (empty: system CAs)"),
    STR(input_bucket, "ANON_INPUT_BUCKET", "anon-input", "bucket for original images"),
    STR(output_bucket, "ANON_OUTPUT_BUCKET", "anon-output", "bucket for anonymized images"),
    STR(intake_url, "ANON_INTAKE_URL", "http://127.0.0.1:8080",
        "where anonctl upload sends images"),
    STR(intake_listen, "ANON_INTAKE_LISTEN", "0.0.0.0:8080",
        "address:port anon-intake listens on"),
    SECRET(intake_token, "ANON_INTAKE_TOKEN", "",
           "bearer token required by anon-intake (empty: none)"),
    NUM(max_bytes, "ANON_MAX_BYTES", "25000000", "largest accepted image file, bytes"),
    NUM(max_pixels, "ANON_MAX_PIXELS", "50000000",
        "largest accepted image, pixels (checked before decoding)"),
    NUM(max_connections, "ANON_MAX_CONNECTIONS", "256",
        "anon-intake concurrent connections before it answers 503"),
    NUM(shutdown_grace, "ANON_SHUTDOWN_GRACE", "20",
        "seconds anon-intake lets in-flight requests finish after SIGTERM"),
    NUM(intake_timeout, "ANON_INTAKE_TIMEOUT", "30",
        "seconds anon-intake waits on a silent client before closing the connection"),
    NUM(intake_body_timeout, "ANON_INTAKE_BODY_TIMEOUT", "120",
        "seconds anon-intake gives one request body in all before it closes the connection "
        "(slow senders cannot hold connections; 0: no limit)"),
    NUM(intake_sessions, "ANON_INTAKE_SESSIONS", "16",
        "anon-intake connections to each service (S3, PostgreSQL, RabbitMQ) shared by requests"),
    STR(model_dir, "ANON_MODEL_DIR", "",
        "converted face models (empty: next to the binary, then .cache/models)"),
    STR(model, "ANON_MODEL", "ssd", "face model: ssd or tiny"),
    STR(preset, "ANON_PRESET", "balanced",
        "detection passes: fast (1 pass), balanced or thorough (docs/detection.md)"),
    NUM(s3_timeout, "ANON_S3_TIMEOUT", "120", "seconds one S3 request may take before it is retried"),
    NUM(prefetch, "ANON_PREFETCH", "2", "unacknowledged messages a worker holds from the queue"),
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

static int set_var(anon_config *cfg, const anon_config_var *v, const char *value,
                   anon_error *err)
{
    char *field = (char *)cfg + v->offset;
    if (v->type == ANON_VAR_STRING) {
        memcpy(field, &value, sizeof value);
        return 0;
    }
    char *end;
    errno = 0;
    long n = strtol(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0' || n < 0)
        return anon_fail(err, "%s: expected a non-negative whole number, got '%s'",
                         v->name, value);
    memcpy(field, &n, sizeof n);
    return 0;
}

int anon_config_set(anon_config *cfg, const char *name, const char *value,
                    anon_error *err)
{
    const anon_config_var *v = anon_config_var_find(name);
    if (v == NULL)
        return anon_fail(err, "unknown setting %s", name);
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
