/* cli_common.c - help text and flag parsing shared by the commands. */
#include "cli.h"
#include "cli_settings.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <jansson.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/duration.h"

/* The meaning of each exit code, the same for every command. */
static const char *const exit_meanings[EXIT_N_CODES] = {
    [EXIT_OK] = "success",
    [EXIT_SOME_FAILED] = "failed",
    [EXIT_USAGE] = "usage error: bad flags or arguments",
    [EXIT_CONFIG] = "bad configuration: retrying will not help until it is fixed",
    [EXIT_UNAVAILABLE] = "a service could not be reached: retry later",
};

static void print_exit_codes(FILE *out, const struct anonctl_cmd *cmd)
{
    unsigned used = cmd->exits | EXIT_BIT(EXIT_OK) | EXIT_BIT(EXIT_USAGE) | EXIT_BIT(EXIT_CONFIG);
    fprintf(out, "\nexit status:\n");
    for (int code = 0; code < EXIT_N_CODES; code++) {
        if (!(used & EXIT_BIT(code)))
            continue;
        const char *note = cmd->exit_notes[code];
        const char *joint = strchr(exit_meanings[code], ':') ? "; " : ": ";
        fprintf(out, "  %d  %s%s%s\n", code, exit_meanings[code], note ? joint : "",
                note ? note : "");
    }
}

void cli_print_help(FILE *out, const struct anonctl_cmd *cmd)
{
    fprintf(out, "usage: anonctl %s %s\n\n%s\n", cmd->name, cmd->args, cmd->summary);
    if (cmd->options && cmd->options[0])
        fprintf(out, "\noptions:\n%s", cmd->options);
    cli_print_env(out, cmd->env);
    print_exit_codes(out, cmd);
}

int cli_usage_error(const struct anonctl_cmd *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "anonctl %s: ", cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (try 'anonctl %s --help')\n", cmd->name);
    return EXIT_USAGE;
}

int cli_only_flag(const struct anonctl_cmd *cmd, int argc, char **argv, const char *flag,
                  bool *on)
{
    *on = argc == 2 && strcmp(argv[1], flag) == 0;
    if (argc > 1 && !*on)
        return cli_usage_error(cmd, "%s '%s'",
                               argv[1][0] == '-' ? "unknown option" : "unexpected argument",
                               argv[1]);
    return EXIT_OK;
}

int cli_option_error(const struct anonctl_cmd *cmd, int c, char **argv)
{
    /* getopt leaves the refused argument just before optind; an unknown
     * short option (optopt set) may sit inside a cluster such as -qz. */
    const char *arg = argv[optind - 1];
    if (c == ':')
        return cli_usage_error(cmd, "option %s needs a value", arg);
    if (optopt > 0 && optopt < 128 && isgraph(optopt) && strncmp(arg, "--", 2) != 0)
        return cli_usage_error(cmd, "unknown option -%c", optopt);
    return cli_usage_error(cmd, "unknown option %s", arg);
}

int cli_parse_long(const char *text, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || n < min || n > max)
        return -1;
    *out = n;
    return 0;
}

int cli_set_from_flag(const struct anonctl_cmd *cmd, anon_config *cfg, const char *flag,
                      const char *name, const char *value)
{
    anon_error err;
    if (anon_config_set(cfg, name, value, &err) < 0)
        return cli_usage_error(cmd, "--%s: %s", flag, err.msg);
    return EXIT_OK;
}

int cli_parse_when(const char *text, double *unix_time)
{
    long seconds;
    size_t n = strlen(text);
    /* An age ends in a unit letter. */
    if (n > 1 && strchr("smhd", text[n - 1]) && isdigit((unsigned char)text[n - 2])) {
        if (anon_duration_parse(text, false, &seconds, NULL) < 0)
            return -1;
        *unix_time = (double)time(NULL) - (double)seconds;
        return 0;
    }
    static const char *const iso[] = {"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"};
    for (size_t i = 0; i < sizeof iso / sizeof iso[0]; i++) {
        struct tm tm = {0};
        const char *end = strptime(text, iso[i], &tm);
        if (end && *end == '\0') {
            *unix_time = (double)timegm(&tm);
            return 0;
        }
    }
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || !(v >= 0 && v < 1e11))
        return -1;
    *unix_time = v;
    return 0;
}

const char *cli_model_dir(const anon_config *cfg, char *buf, size_t size)
{
    if (cfg->model_dir && cfg->model_dir[0])
        return cfg->model_dir;
    static const char *const candidates[] = {
        "../share/anon/models", "../.cache/models", "../../.cache/models"};
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        const char *dir = dirname(exe);
        for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
            snprintf(buf, size, "%s/%s", dir, candidates[i]);
            if (access(buf, R_OK | X_OK) == 0)   /* whichever models it holds */
                return buf;
        }
    }
    snprintf(buf, size, ".cache/models");
    return buf;
}

void cli_print_json(json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT);
    printf("%s\n", text ? text : "null");
    fflush(stdout);
    free(text);
    json_decref(value);
}
