/* cli.h - what every anonctl command is, and helpers they share.
 *
 * Like tmux's command table: each command lives in its own cli/cmd_NAME.c
 * and exports one `const struct anonctl_cmd cmd_NAME` describing itself;
 * cli/anonctl.c only looks commands up by name and runs them. Commands
 * parse their own flags (getopt_long), take defaults from the ANON_*
 * environment (config.h), print, and choose the exit code. */
#ifndef ANON_CLI_H
#define ANON_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "base/config.h"

/* Exit codes shared by all commands (Kubernetes Jobs key on them); what
 * each means is written once, in the table of cli_common.c, and every
 * command's --help prints the lines of the codes it can return. */
enum {
    EXIT_OK = 0,
    EXIT_SOME_FAILED = 1,   /* some inputs failed; the others were done */
    EXIT_USAGE = 2,         /* bad flags or arguments */
    EXIT_CONFIG = 3,        /* bad configuration: retrying will not help */
    EXIT_UNAVAILABLE = 4,   /* a service could not be reached: retry later */
    EXIT_N_CODES
};

#define EXIT_BIT(code) (1u << (code))

struct anonctl_cmd {
    const char *name;
    const char *args;        /* "[options] PATH..." */
    const char *summary;     /* one line for `anonctl --help` */
    const char *options;     /* the option list for `anonctl NAME --help` */
    const char *const *env;  /* ANON_* variables it reads, NULL-terminated */
    int (*run)(int argc, char **argv, anon_config *cfg);
    /* Exit codes it can return besides 0, 2 and 3, which every command
     * can (a malformed ANON_* number is 3 before any command runs). */
    unsigned exits;
    /* What a code means for this command beyond the shared meaning,
     * indexed by code (NULL: nothing to add). */
    const char *exit_notes[EXIT_N_CODES];
};

/* Prints `anonctl NAME --help`: usage, options, the environment
 * variables the command reads with their defaults, and its exit codes. */
void cli_print_help(FILE *out, const struct anonctl_cmd *cmd);

/* Prints one line, "anonctl NAME: message (try 'anonctl NAME --help')",
 * on stderr and returns EXIT_USAGE. */
int cli_usage_error(const struct anonctl_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* For a command whose only option is one flag: *on = whether argv is
 * exactly that flag; EXIT_OK, or the usage error for anything else. */
int cli_only_flag(const struct anonctl_cmd *cmd, int argc, char **argv, const char *flag,
                  bool *on);

/* The usage error for what getopt_long just refused (c is its '?' or ':';
 * option strings start with ':' so that a missing value is told apart). */
int cli_option_error(const struct anonctl_cmd *cmd, int c, char **argv);

/* Parses a whole number flag value in [min, max]; -1 on error. */
int cli_parse_long(const char *text, long min, long max, long *out);

/* A flag that overrides a setting (--model for ANON_MODEL): sets it with
 * the settings table's checks; a refused value is the command's usage
 * error ("--model: ANON_MODEL: expected one of ..."). EXIT_OK or
 * EXIT_USAGE. */
int cli_set_from_flag(const struct anonctl_cmd *cmd, anon_config *cfg, const char *flag,
                      const char *name, const char *value);

/* A point in time for --since/--until: a Unix time, an ISO 8601 UTC date
 * or time (2024-05-01, 2024-05-01T12:00:00Z), or an age before now (90s,
 * 30m, 12h, 7d, as duration.h reads them). -1 when it is none of these. */
int cli_parse_when(const char *text, double *unix_time);

/* The --originals-retention option of the commands that delete originals
 * (drain, retry, purge), for their help. */
#define CLI_RETENTION_HELP                                                             \
    "      --originals-retention D  keep an original D once its image is done or\n"   \
    "                        rejected: 0 deletes it at once, a duration (24h, 30d)\n"  \
    "                        keeps it for reprocess until purge, forever never\n"      \
    "                        deletes it (default: $ANON_ORIGINALS_RETENTION, 0)\n"

/* The programs' version ("0.1.0"), recorded with every output. */
extern const char cli_version[];

/* Prints a JSON value as one compact line on stdout and frees it. */
struct json_t;
void cli_print_json(struct json_t *value);

/* Where the converted models are: $ANON_MODEL_DIR when set, else the first
 * of <bin>/../share/anon/models (installed), <bin>/../.cache/models and
 * <bin>/../../.cache/models (a build tree) that holds the default model's
 * .cfg. */
const char *cli_model_dir(const anon_config *cfg, char *buf, size_t size);

#endif
