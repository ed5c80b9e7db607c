/* cli_files.c - collecting input images and their output paths (see cli_files.h). */
#include "cli_files.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

struct walk {
    cli_files *out;
    const char *outdir;
    bool have_outdir_id;
    dev_t outdir_dev;
    ino_t outdir_ino;
    FILE *errs;
    bool only_images;
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

static int add_file(struct walk *w, const char *input, const char *relative)
{
    cli_files *f = w->out;
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        cli_file *v = realloc(f->v, cap * sizeof *v);
        if (v == NULL)
            return -1;
        f->v = v;
        f->cap = cap;
    }
    cli_file *file = &f->v[f->n];
    file->input = strdup(input);
    file->output = w->outdir ? join(w->outdir, relative) : NULL;
    if (file->input == NULL || (w->outdir && file->output == NULL))
        return -1;
    f->n++;
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
        fprintf(w->errs, "%s: cannot read directory: %s\n", dir, strerror(errno));
        w->problems++;
        return 0;
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
        else if (S_ISREG(st.st_mode) && (!w->only_images || has_image_extension(names[i])))
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

int cli_collect_files(char *const *paths, int n_paths, const char *outdir,
                      bool only_images, cli_files *out, FILE *errs)
{
    struct walk w = {.out = out, .outdir = outdir, .errs = errs, .only_images = only_images};
    struct stat st;
    if (outdir && stat(outdir, &st) == 0) {
        w.have_outdir_id = true;
        w.outdir_dev = st.st_dev;
        w.outdir_ino = st.st_ino;
    }
    for (int i = 0; i < n_paths; i++) {
        if (stat(paths[i], &st) < 0) {
            fprintf(errs, "%s: %s\n", paths[i], strerror(errno));
            w.problems++;
            continue;
        }
        int rc;
        if (S_ISDIR(st.st_mode)) {
            rc = walk_dir(&w, paths[i], "");
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
    }
    free(f->v);
    memset(f, 0, sizeof *f);
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
