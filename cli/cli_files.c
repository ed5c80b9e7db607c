/* cli_files.c - collecting input images and their output paths (see cli_files.h). */
#include "cli_files.h"

#include <dirent.h>
#include <stdio.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli_paths.h"

struct walk {
    cli_files *out;
    const cli_collect_options *o;
    bool have_outdir_id;
    dev_t outdir_dev;
    ino_t outdir_ino;
    int problems;
};

static bool has_image_extension(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0 ||
                   strcasecmp(dot, ".png") == 0);
}

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a);
    while (la > 1 && a[la - 1] == '/')
        la--;
    char *s = malloc(la + 1 + strlen(b) + 1);
    if (s)
        sprintf(s, "%.*s/%s", (int)la, a, b);
    return s;
}

/* OUTDIR/relative, with the suffix before the name's extension. */
static char *output_path(const cli_collect_options *o, const char *relative)
{
    const char *suffix = o->suffix ? o->suffix : "";
    const char *base = strrchr(relative, '/');
    const char *dot = strrchr(base ? base + 1 : relative, '.');
    size_t stem = dot && dot != (base ? base + 1 : relative) ? (size_t)(dot - relative)
                                                              : strlen(relative);
    char *named = malloc(strlen(relative) + strlen(suffix) + 1);
    if (named == NULL)
        return NULL;
    sprintf(named, "%.*s%s%s", (int)stem, relative, suffix, relative + stem);
    char *path = join(o->outdir, named);
    free(named);
    return path;
}

static cli_file *new_entry(cli_files *f)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        cli_file *v = realloc(f->v, cap * sizeof *v);
        if (v == NULL)
            return NULL;
        f->v = v;
        f->cap = cap;
    }
    cli_file *e = &f->v[f->n++];
    memset(e, 0, sizeof *e);
    return e;
}

static int add_file(struct walk *w, const char *input, const char *relative)
{
    cli_file *file = new_entry(w->out);
    if (file == NULL || (file->input = strdup(input)) == NULL)
        return -1;
    if (w->o->outdir && (file->output = output_path(w->o, relative)) == NULL)
        return -1;
    return 0;
}

/* An input that cannot be taken, kept in the list with the reason. */
static int add_problem(struct walk *w, const char *input, const char *why)
{
    cli_file *file = new_entry(w->out);
    if (file == NULL || (file->input = strdup(input)) == NULL ||
        (file->error = strdup(why)) == NULL)
        return -1;
    w->problems++;
    return 0;
}

static bool is_outdir(const struct walk *w, const struct stat *st)
{
    return w->have_outdir_id && st->st_dev == w->outdir_dev && st->st_ino == w->outdir_ino;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists a directory's entries sorted, so runs are reproducible. */
static char **sorted_entries(DIR *d, size_t *count)
{
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')   /* ".", ".." and hidden entries */
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **grown = realloc(names, cap * sizeof *names);
            if (grown == NULL)
                break;
            names = grown;
        }
        if ((names[n] = strdup(e->d_name)) == NULL)
            break;
        n++;
    }
    if (n)
        qsort(names, n, sizeof *names, compare_names);
    *count = n;
    return names;
}

static int walk_dir(struct walk *w, const char *dir, const char *relative)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        char why[256];
        snprintf(why, sizeof why, "cannot read directory: %s", strerror(errno));
        return add_problem(w, dir, why);
    }
    size_t n;
    char **names = sorted_entries(d, &n);
    closedir(d);
    int rc = 0;
    /* Links inside a tree are not followed (no loops, no escaping the
     * tree); a path named on the command line is. */
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *path = join(dir, names[i]);
        char *rel = relative[0] ? join(relative, names[i]) : strdup(names[i]);
        struct stat st;
        if (path == NULL || rel == NULL)
            rc = -1;
        else if (lstat(path, &st) < 0)
            ; /* vanished meanwhile */
        else if (S_ISDIR(st.st_mode) && !is_outdir(w, &st))
            rc = walk_dir(w, path, rel);
        else if (S_ISREG(st.st_mode) && (!w->o->only_images || has_image_extension(names[i])))
            rc = add_file(w, path, rel);
        else if (S_ISREG(st.st_mode))
            w->out->skipped++;
        free(path);
        free(rel);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* A directory argument: its tree straight under OUTDIR, or under its name. */
static int take_dir(struct walk *w, const char *path)
{
    if (!w->o->dirs_by_name)
        return walk_dir(w, path, "");
    char *name = cli_path_name(path);
    int rc = name ? walk_dir(w, path, name) : -1;
    free(name);
    return rc;
}

int cli_collect_files(char *const *paths, int n_paths, const cli_collect_options *o,
                      cli_files *out)
{
    struct walk w = {.out = out, .o = o};
    struct stat st;
    if (o->outdir && stat(o->outdir, &st) == 0) {
        w.have_outdir_id = true;
        w.outdir_dev = st.st_dev;
        w.outdir_ino = st.st_ino;
    }
    for (int i = 0; i < n_paths; i++) {
        int rc;
        if (stat(paths[i], &st) < 0) {
            rc = add_problem(&w, paths[i], strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            rc = take_dir(&w, paths[i]);
        } else {
            const char *base = strrchr(paths[i], '/');
            rc = add_file(&w, paths[i], base ? base + 1 : paths[i]);
        }
        if (rc < 0)
            return -1;
    }
    return w.problems;
}

void cli_files_free(cli_files *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].input);
        free(f->v[i].output);
        free(f->v[i].error);
    }
    free(f->v);
    memset(f, 0, sizeof *f);
}

static int compare_outputs(const void *a, const void *b)
{
    const cli_file *x = *(cli_file *const *)a, *y = *(cli_file *const *)b;
    return strcmp(x->output, y->output);
}

/* Refuses the n entries of group, which share one output; -1 when out
 * of memory. */
static int refuse_group(cli_file **group, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const cli_file *other = group[i == 0 ? 1 : 0];
        char why[1024];
        snprintf(why, sizeof why,
                 "%s would also be the output of %s%s; neither is written (rename one, "
                 "or blur them in separate runs)",
                 group[i]->output, other->input, n > 2 ? " and others" : "");
        if ((group[i]->error = strdup(why)) == NULL)
            return -1;
    }
    return 0;
}

long cli_files_refuse_collisions(cli_files *f)
{
    cli_file **sorted = malloc((f->n ? f->n : 1) * sizeof *sorted);
    if (sorted == NULL)
        return -1;
    size_t n = 0;
    long refused = 0;
    for (size_t i = 0; i < f->n; i++)
        if (f->v[i].output && f->v[i].error == NULL)
            sorted[n++] = &f->v[i];
    qsort(sorted, n, sizeof *sorted, compare_outputs);
    for (size_t i = 0; i < n && refused >= 0;) {
        size_t j = i + 1;
        while (j < n && strcmp(sorted[j]->output, sorted[i]->output) == 0)
            j++;
        if (j - i > 1)
            refused = refuse_group(sorted + i, j - i) < 0 ? -1 : refused + (long)(j - i);
        i = j;
    }
    free(sorted);
    return refused;
}

int cli_path_list_add(cli_path_list *list, const char *path)
{
    if (list->n == list->cap) {
        int cap = list->cap ? list->cap * 2 : 64;
        char **v = realloc(list->v, (size_t)cap * sizeof *v);
        if (v == NULL)
            return -1;
        list->v = v;
        list->cap = cap;
    }
    if ((list->v[list->n] = strdup(path)) == NULL)
        return -1;
    list->n++;
    return 0;
}

int cli_path_list_read(cli_path_list *list, const char *file, char *why, size_t size)
{
    bool from_stdin = strcmp(file, "-") == 0;
    FILE *f = from_stdin ? stdin : fopen(file, "r");
    if (f == NULL) {
        snprintf(why, size, "--files-from %s: %s", file, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len > 0 && cli_path_list_add(list, line) < 0) {
            snprintf(why, size, "out of memory");
            rc = -1;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(why, size, "--files-from %s: %s", file, strerror(errno));
        rc = -1;
    }
    free(line);
    if (!from_stdin)
        fclose(f);
    return rc;
}

void cli_path_list_free(cli_path_list *list)
{
    for (int i = 0; i < list->n; i++)
        free(list->v[i]);
    free(list->v);
    memset(list, 0, sizeof *list);
}

int cli_make_parent_dirs(const char *path)
{
    char *copy = strdup(path);
    if (copy == NULL)
        return -1;
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(copy, 0755) < 0 && errno != EEXIST) {
            free(copy);
            return -1;
        }
        *p = '/';
    }
    free(copy);
    return 0;
}
