/* cmd_config.c - `anonctl config`: every ANON_* setting, its value now
 * (secrets hidden), its default and what it does. `--markdown` prints the
 * table the README carries, so the README cannot drift from the code (a
 * test compares them). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

extern const struct anonctl_cmd cmd_config;

static void current_value(const anon_config *cfg, const anon_config_var *v, char *buf,
                          size_t size)
{
    const char *field = (const char *)cfg + v->offset;
    if (v->type == ANON_VAR_LONG) {
        long n;
        memcpy(&n, field, sizeof n);
        snprintf(buf, size, "%ld", n);
        return;
    }
    const char *s;
    memcpy(&s, field, sizeof s);
    snprintf(buf, size, "%s", v->secret && s[0] ? "(set, hidden)" : s);
}

static int run_config(int argc, char **argv, anon_config *cfg)
{
    bool markdown = argc == 2 && strcmp(argv[1], "--markdown") == 0;
    if (argc > 1 && !markdown)
        return cli_usage_error(&cmd_config, "unexpected argument '%s'", argv[1]);
    size_t n;
    const anon_config_var *vars = anon_config_vars(&n);
    if (markdown)
        printf("| variable | default | accepts | meaning |\n| --- | --- | --- | --- |\n");
    for (size_t i = 0; i < n; i++) {
        const anon_config_var *v = &vars[i];
        char accepts[256];
        anon_config_var_accepts(v, accepts, sizeof accepts);
        if (markdown) {
            printf("| `%s` | %s%s%s | %s | %s |\n", v->name, v->default_value[0] ? "`" : "",
                   v->default_value[0] ? v->default_value : "(empty)",
                   v->default_value[0] ? "`" : "", accepts[0] ? accepts : "text", v->help);
        } else {
            char now[512];
            current_value(cfg, v, now, sizeof now);
            printf("%s=%s\n    %s (default: %s%s%s)\n", v->name, now, v->help,
                   v->default_value[0] ? v->default_value : "empty", accepts[0] ? "; accepts " : "",
                   accepts);
        }
    }
    return EXIT_OK;
}

const struct anonctl_cmd cmd_config = {
    .name = "config",
    .args = "[--markdown]",
    .summary = "show every ANON_* setting: value now, default, meaning",
    .options = "      --markdown        the table for the README instead\n",
    .env = NULL,
    .run = run_config,
};
