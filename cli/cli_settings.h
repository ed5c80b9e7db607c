/* cli_settings.h - how the ANON_* settings are shown to people.
 *
 * Defaults are public (they are in the source and the README) and always
 * shown as they are, also as the value in force when nothing was set. A
 * value that was set never shows its secret: the password inside a URL
 * is replaced by ***, and a secret that is not a URL (a key, a token)
 * reads "(set, hidden)". Used by `anonctl
 * config`, by every command's --help and by `anon-intake --help`. */
#ifndef ANON_CLI_SETTINGS_H
#define ANON_CLI_SETTINGS_H

#include <stddef.h>
#include <stdio.h>

#include "base/config.h"

/* The default as help text shows it ("empty" for ""). */
const char *cli_setting_default(const anon_config_var *v);

/* The value in force, secrets hidden as described above. */
void cli_setting_value(const anon_config *cfg, const anon_config_var *v, char *buf,
                       size_t size);

/* text with every password in it replaced by *** : the userinfo password
 * of each URL (a comma-separated list is several URLs) and the value of
 * each password= parameter (libpq key=value strings, URL queries). */
void cli_hide_passwords(const char *text, char *buf, size_t size);

/* The "environment (flags override)" block of a --help: each variable of
 * names (NULL-terminated) with its meaning and default. */
void cli_print_env(FILE *out, const char *const *names);

#endif
