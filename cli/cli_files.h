/* cli_files.h - turn the PATH arguments of a command into a list of image
 * files, walking directories recursively, and (for `blur`) the output path
 * of each, mirroring the input tree under OUTDIR. */
#ifndef ANON_CLI_FILES_H
#define ANON_CLI_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct cli_file {
    char *input;
    char *output;      /* NULL when no output directory was given */
} cli_file;

typedef struct cli_files {
    cli_file *v;
    size_t n, cap;
    size_t skipped;    /* files in directories that are not .jpg/.jpeg/.png */
} cli_files;

/* Collects the files under paths, sorted per directory. Files named
 * explicitly are taken whatever their name (the decoder will judge them);
 * inside directories hidden entries are passed over, and when only_images
 * is set only .jpg/.jpeg/.png (any case) are taken and the rest counted as
 * skipped. outdir, when not NULL, is never walked into. Problems (missing
 * path, unreadable directory) are printed to errs and counted in the
 * return value; -1 only when out of memory. */
int cli_collect_files(char *const *paths, int n_paths, const char *outdir,
                      bool only_images, cli_files *out, FILE *errs);
void cli_files_free(cli_files *f);

/* mkdir -p for the directory part of path. */
int cli_make_parent_dirs(const char *path);

#endif
