/* config.h - the settings every program reads, from the environment.
 *
 * Twelve-factor style: each setting is an ANON_* environment variable with a
 * default; command-line flags override them in the CLI. The table in
 * config.c is the one place where a variable, its default and its meaning
 * are written; `anonctl --help` and the README are made from it. */
#ifndef ANON_CONFIG_H
#define ANON_CONFIG_H

#include <stddef.h>

#include "base/error.h"

typedef struct anon_config {
    const char *db_url;
    const char *amqp_url;
    const char *queue;
    long delivery_limit;
    long max_attempts;
    const char *s3_endpoint;
    const char *s3_region;
    const char *s3_access_key;
    const char *s3_secret_key;
    const char *s3_addressing;
    const char *s3_ca_file;
    const char *input_bucket;
    const char *output_bucket;
    long originals_retention;   /* seconds; 0: at once; ANON_DURATION_FOREVER: never */
    const char *intake_url;
    const char *intake_listen;
    const char *intake_token;
    long max_bytes;
    long max_pixels;
    long accept_damaged;        /* 0 or 1 */
    long max_connections;
    long shutdown_grace;
    long intake_timeout;
    long intake_body_timeout;
    long intake_sessions;
    const char *model_dir;
    const char *model;
    const char *preset;
    long s3_timeout;
    long prefetch;
} anon_config;

/* ANON_VAR_DURATION: a long of seconds, written as duration.h reads it
 * ("30d", "forever" -> ANON_DURATION_FOREVER), within [min, max]. */
typedef enum { ANON_VAR_STRING, ANON_VAR_LONG, ANON_VAR_DURATION } anon_var_type;

typedef struct anon_config_var {
    const char *name;         /* environment variable */
    const char *default_value;
    const char *help;
    anon_var_type type;
    size_t offset;            /* field in anon_config */
    int secret;               /* never shown or logged */
    long min, max;            /* ANON_VAR_LONG, ANON_VAR_DURATION: the accepted range */
    const char *const *choices; /* ANON_VAR_STRING: the accepted values
                                 * (NULL-terminated), or NULL for any */
} anon_config_var;

/* Fills cfg from the environment and defaults. A malformed number, a
 * number out of its range or a value not among a variable's choices fails
 * with a message naming the variable: the one place settings are checked,
 * for every program and every command. */
int anon_config_load(anon_config *cfg, anon_error *err);

/* The table of variables, for --help and documentation. */
const anon_config_var *anon_config_vars(size_t *count);

/* Looks one variable up by name (NULL if unknown). */
const anon_config_var *anon_config_var_find(const char *name);

/* Sets a field from a string as if it came from the environment, with the
 * same checks; used by the CLI for flags that override a variable. */
int anon_config_set(anon_config *cfg, const char *name, const char *value,
                    anon_error *err);

/* What a variable accepts, for --help and the README: "1-65535", "ssd,
 * tiny", a duration's forms or "" (any text), into buf. */
const char *anon_config_var_accepts(const anon_config_var *v, char *buf, size_t size);

#endif
