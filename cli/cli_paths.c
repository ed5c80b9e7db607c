/* cli_paths.c - resolving paths for layout checks (see cli_paths.h). */
#include "cli_paths.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* path made absolute against the current directory; heap string. */
static char *absolute(const char *path)
{
    if (path[0] == '/')
        return strdup(path);
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == NULL)
        return NULL;
    char *s = malloc(strlen(cwd) + 1 + strlen(path) + 1);
    if (s)
        sprintf(s, "%s/%s", cwd, path);
    return s;
}

/* Appends the components of tail to base (a canonical path in a buffer of
 * PATH_MAX * 2), lexically. */
static void append_lexically(char *base, size_t size, char *tail)
{
    char *save = NULL;
    for (char *part = strtok_r(tail, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        if (strcmp(part, ".") == 0)
            continue;
        if (strcmp(part, "..") == 0) {
            char *slash = strrchr(base, '/');
            if (slash)
                slash[slash == base ? 1 : 0] = '\0';
            continue;
        }
        size_t len = strlen(base);
        snprintf(base + len, size - len, "%s%s", len && base[len - 1] == '/' ? "" : "/", part);
    }
}

char *cli_path_canonical(const char *path)
{
    char *abs = absolute(path);
    if (abs == NULL)
        return NULL;
    /* Shorten from the end until a prefix exists, then add back what was cut. */
    size_t len = strlen(abs);
    char resolved[PATH_MAX * 2];
    for (;;) {
        char saved = abs[len];
        abs[len] = '\0';
        bool found = realpath(len ? abs : "/", resolved) != NULL;
        abs[len] = saved;
        if (found || len == 0)
            break;
        while (len > 0 && abs[len - 1] != '/')
            len--;
        while (len > 1 && abs[len - 1] == '/')
            len--;
        if (len == 1)
            len = 0;
    }
    if (len == 0)
        strcpy(resolved, "/");
    append_lexically(resolved, sizeof resolved, abs + len);
    free(abs);
    return strdup(resolved);
}

bool cli_path_within(const char *inner, const char *outer)
{
    size_t n = strlen(outer);
    if (n == 1 && outer[0] == '/')
        return true;
    return strncmp(inner, outer, n) == 0 && (inner[n] == '\0' || inner[n] == '/');
}

char *cli_path_name(const char *path)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    size_t start = len;
    while (start > 0 && path[start - 1] != '/')
        start--;
    const char *name = path + start;
    size_t name_len = len - start;
    if (name_len == 0 || (name_len == 1 && name[0] == '.') ||
        (name_len == 2 && strncmp(name, "..", 2) == 0)) {
        char *canon = cli_path_canonical(path);
        if (canon == NULL)
            return NULL;
        const char *last = strrchr(canon, '/');
        char *out = strdup(last && last[1] ? last + 1 : "root");
        free(canon);
        return out;
    }
    return strndup(name, name_len);
}
