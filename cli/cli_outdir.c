/* cli_outdir.c - checks on blur's output folder (see cli_outdir.h). */
#include "cli_outdir.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buffer.h"
#include "cli_files.h"
#include "cli_paths.h"

/* Formats the reason into why and returns -1. */
__attribute__((format(printf, 3, 4)))
static int refuse(char *why, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, size, fmt, ap);
    va_end(ap);
    return -1;
}

/* The folder exists, or its nearest existing parent is a folder we may
 * create it in. */
static int check_writable(const char *canon, char *why, size_t size)
{
    char *probe = strdup(canon);
    if (probe == NULL)
        return refuse(why, size, "out of memory");
    struct stat st = {0};
    while (stat(probe, &st) < 0 && strcmp(probe, "/") != 0) {
        char *slash = strrchr(probe, '/');
        slash[slash == probe ? 1 : 0] = '\0';
    }
    int rc = 0;
    if (!S_ISDIR(st.st_mode))
        rc = refuse(why, size, "cannot write to output directory %s: %s is not a directory",
                    canon, probe);
    else if (access(probe, W_OK | X_OK) < 0)
        rc = refuse(why, size, "cannot write to output directory %s: %s", canon,
                    strerror(errno));
    free(probe);
    return rc;
}

/* One input path against the output folder (both canonical). */
static int check_input(const char *out, const char *arg, const char *in, bool is_dir,
                       char *why, size_t size)
{
    if (is_dir && strcmp(out, in) == 0)
        return refuse(why, size, "-o is the input folder %s: choose another output folder",
                        arg);
    if (is_dir && cli_path_within(out, in))
        return refuse(why, size, "the output folder lies inside the input folder %s: its "
                        "originals would end up among the outputs; choose an output folder "
                        "outside it", arg);
    if (cli_path_within(in, out))
        return refuse(why, size, "the input %s lies inside the output folder: the output "
                        "folder would hold an original; choose another output folder", arg);
    return 0;
}

static int check_inputs(const char *out, char *const *paths, int n, char *why, size_t size)
{
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (stat(paths[i], &st) < 0)
            continue;   /* reported with the files */
        char *in = cli_path_canonical(paths[i]);
        int rc = in ? check_input(out, paths[i], in, S_ISDIR(st.st_mode), why, size)
                    : refuse(why, size, "out of memory");
        free(in);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* The first entry of dir other than the marker ("" when none); 0, or -1
 * when dir does not exist. */
static int first_entry(const char *dir, char *name, size_t size)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    name[0] = '\0';
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            strcmp(e->d_name, CLI_REVIEW_MARKER) == 0)
            continue;
        snprintf(name, size, "%s", e->d_name);
        break;
    }
    closedir(d);
    return 0;
}

static int check_kind(const char *outdir, bool review, char *why, size_t size)
{
    char marker[4096], entry[256];
    snprintf(marker, sizeof marker, "%s/%s", outdir, CLI_REVIEW_MARKER);
    bool marked = access(marker, F_OK) == 0;
    if (!review && marked)
        return refuse(why, size, "%s holds review copies made by --draw-boxes, which show "
                        "the faces: anonymized outputs never go there; choose another "
                        "output folder", outdir);
    if (review && !marked && first_entry(outdir, entry, sizeof entry) == 0 && entry[0])
        return refuse(why, size, "--draw-boxes writes copies that show the faces, so only "
                        "into a new or empty folder (or one it made before); %s already "
                        "holds %s", outdir, entry);
    return 0;
}

int cli_outdir_check(const char *outdir, char *const *paths, int n_paths, bool review,
                     char *why, size_t size)
{
    char *out = cli_path_canonical(outdir);
    if (out == NULL)
        return refuse(why, size, "out of memory");
    int rc = check_writable(out, why, size);
    if (rc == 0)
        rc = check_inputs(out, paths, n_paths, why, size);
    if (rc == 0)
        rc = check_kind(outdir, review, why, size);
    free(out);
    return rc;
}

int cli_outdir_mark_review(const char *outdir, anon_error *err)
{
    static const char note[] =
        "This folder holds review copies made by `anonctl blur --draw-boxes`: every\n"
        "face in them is visible. They are for checking the detector only: do not\n"
        "publish or share them. anonctl blur refuses to write anonymized outputs here.\n";
    char marker[4096];
    snprintf(marker, sizeof marker, "%s/%s", outdir, CLI_REVIEW_MARKER);
    if (cli_make_parent_dirs(marker) < 0)
        return anon_fail(err, "cannot create the directory %s: %s", outdir, strerror(errno));
    return anon_write_file_atomic(marker, note, sizeof note - 1, err);
}

bool cli_output_up_to_date(const char *input, const char *output)
{
    struct stat in, out;
    if (stat(input, &in) < 0 || stat(output, &out) < 0)
        return false;
    return out.st_mtim.tv_sec > in.st_mtim.tv_sec ||
           (out.st_mtim.tv_sec == in.st_mtim.tv_sec && out.st_mtim.tv_nsec > in.st_mtim.tv_nsec);
}
