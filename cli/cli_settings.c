/* cli_settings.c - showing settings without their secrets (see cli_settings.h). */
#include "cli_settings.h"

#include "base/duration.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *cli_setting_default(const anon_config_var *v)
{
    return v->default_value[0] ? v->default_value : "empty";
}

/* Appends text[from, to) to buf, keeping it terminated. */
static void put(char *buf, size_t size, size_t *at, const char *from, const char *to)
{
    while (from < to && *at + 1 < size)
        buf[(*at)++] = *from++;
    buf[*at] = '\0';
}

/* Where the password of the URL whose scheme ends at `scheme_end` ("://")
 * starts and ends inside its authority; false when it has none. */
static bool userinfo_password(const char *scheme_end, const char **start, const char **end)
{
    const char *auth = scheme_end + 3;
    size_t auth_len = strcspn(auth, "/?#,");
    const char *at = NULL;
    for (const char *p = auth; p < auth + auth_len; p++)
        if (*p == '@')
            at = p;
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (colon == NULL)
        return false;
    *start = colon + 1;
    *end = at;
    return true;
}

/* The value of a password= parameter starting at `value`: up to the next
 * separator, or the closing quote of a quoted libpq value. */
static const char *password_value_end(const char *value)
{
    if (*value == '\'') {
        const char *p = value + 1;
        while (*p && *p != '\'')
            p += p[0] == '\\' && p[1] ? 2 : 1;
        return *p ? p + 1 : p;
    }
    return value + strcspn(value, "& \t,;#");
}

/* The next secret in text from p: its start and end; NULL when none. */
static const char *next_secret(const char *p, const char **end)
{
    for (; *p; p++) {
        const char *start;
        if (strncmp(p, "://", 3) == 0 && userinfo_password(p, &start, end))
            return start;
        if (strncasecmp(p, "password", 8) == 0) {
            const char *q = p + 8;
            while (*q == ' ')
                q++;
            if (*q == '=') {
                q++;
                while (*q == ' ')
                    q++;
                *end = password_value_end(q);
                return q;
            }
        }
    }
    return NULL;
}

void cli_hide_passwords(const char *text, char *buf, size_t size)
{
    size_t at = 0;
    buf[0] = '\0';
    const char *p = text, *start, *end;
    while ((start = next_secret(p, &end)) != NULL) {
        put(buf, size, &at, p, start);
        static const char stars[] = "***";
        if (end > start)
            put(buf, size, &at, stars, stars + 3);
        p = end;
    }
    put(buf, size, &at, p, p + strlen(p));
}

static bool looks_like_url(const char *s)
{
    return strstr(s, "://") != NULL || strcasestr(s, "password") != NULL;
}

void cli_setting_value(const anon_config *cfg, const anon_config_var *v, char *buf,
                       size_t size)
{
    const char *field = (const char *)cfg + v->offset;
    if (v->type == ANON_VAR_LONG || v->type == ANON_VAR_DURATION) {
        long n;
        char text[ANON_DURATION_LEN];
        memcpy(&n, field, sizeof n);
        if (v->type == ANON_VAR_DURATION)
            snprintf(buf, size, "%s", anon_duration_format(n, text));
        else
            snprintf(buf, size, "%ld", n);
        return;
    }
    const char *s;
    memcpy(&s, field, sizeof s);
    bool is_default = getenv(v->name) == NULL && strcmp(s, v->default_value) == 0;
    if (!v->secret || s[0] == '\0' || is_default)
        snprintf(buf, size, "%s", s);   /* defaults are public */
    else if (looks_like_url(s))
        cli_hide_passwords(s, buf, size);
    else
        snprintf(buf, size, "(set, hidden)");
}

void cli_print_env(FILE *out, const char *const *names)
{
    if (names == NULL || names[0] == NULL)
        return;
    fprintf(out, "\nenvironment (flags override):\n");
    for (const char *const *name = names; *name; name++) {
        const anon_config_var *v = anon_config_var_find(*name);
        if (v != NULL)
            fprintf(out, "  %-22s %s (default: %s)\n", v->name, v->help,
                    cli_setting_default(v));
    }
}
