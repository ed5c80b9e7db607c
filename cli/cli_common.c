/* cli_common.c - help text and flag parsing shared by the commands. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

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
        const char *def = v->secret && v->default_value[0] ? "(set)" : v->default_value;
        fprintf(out, "  %-22s %s (default: %s)\n", v->name, v->help,
                def[0] ? def : "empty");
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
