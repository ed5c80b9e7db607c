/* cmd_config.c - `anonctl config`: every ANON_* setting, its value now
 * (the password inside a URL and secrets that are set hidden), its default
 * and what it does. `--markdown` prints the
 * table the README carries, so the README cannot drift from the code (a
 * test compares them). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_settings.h"

extern const struct anonctl_cmd cmd_config;

static int run_config(int argc, char **argv, anon_config *cfg)
{
    bool markdown;
    int rc = cli_only_flag(&cmd_config, argc, argv, "--markdown", &markdown);
    if (rc != EXIT_OK)
        return rc;
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
            cli_setting_value(cfg, v, now, sizeof now);
            printf("%s=%s\n    %s (default: %s%s%s)\n", v->name, now, v->help,
                   cli_setting_default(v), accepts[0] ? "; accepts " : "", accepts);
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
