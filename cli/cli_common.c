/* cli_common.c - help text and flag parsing shared by the commands. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <jansson.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cli_print_help(FILE *out, const struct anonctl_cmd *cmd)
{
    fprintf(out, "usage: anonctl %s %s\n\n%s\n", cmd->name, cmd->args, cmd->summary);
    if (cmd->options && cmd->options[0])
        fprintf(out, "\noptions:\n%s", cmd->options);
    if (cmd->env == NULL || cmd->env[0] == NULL)
        return;
    fprintf(out, "\nenvironment (flags override):\n");
    for (const char *const *name = cmd->env; *name; name++) {
        const anon_config_var *v = anon_config_var_find(*name);
        if (v == NULL)
            continue;
        /* Defaults are public (they are in the source); values never print. */
        fprintf(out, "  %-22s %s (default: %s)\n", v->name, v->help,
                v->default_value[0] ? v->default_value : "empty");
    }
}

int cli_usage_error(const struct anonctl_cmd *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "anonctl %s: ", cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'anonctl %s --help'.\n", cmd->name);
    return EXIT_USAGE;
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
            char probe[4200];
            snprintf(buf, size, "%s/%s", dir, candidates[i]);
            snprintf(probe, sizeof probe, "%s/ssd.cfg", buf);
            if (access(probe, R_OK) == 0)
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
