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
    char *error;       /* why this input cannot be taken (a missing path, an
                          unreadable directory, two inputs for one output);
                          NULL when it can */
} cli_file;

typedef struct cli_files {
    cli_file *v;
    size_t n, cap;
    size_t skipped;    /* files in directories that are not .jpg/.jpeg/.png */
} cli_files;

typedef struct cli_collect_options {
    const char *outdir;   /* map each input to a path under it; NULL: none */
    bool only_images;     /* in directories, only .jpg/.jpeg/.png */
    /* With outdir: each directory argument's tree goes under OUTDIR/<its
     * name> (as `cp -r a b OUTDIR` does), instead of straight into OUTDIR. */
    bool dirs_by_name;
    const char *suffix;   /* with outdir: put before the extension of each
                             output name ("x.boxes.jpg"); NULL: none */
} cli_collect_options;

/* Collects the files under paths, sorted per directory. Files named
 * explicitly are taken whatever their name (the decoder will judge them);
 * inside directories hidden entries are passed over, and with only_images
 * only .jpg/.jpeg/.png (any case) are taken and the rest counted as
 * skipped. outdir is never walked into. A problem (missing path,
 * unreadable directory) becomes an entry with its error set; the return
 * value counts them; -1 only when out of memory. */
int cli_collect_files(char *const *paths, int n_paths, const cli_collect_options *o,
                      cli_files *out);
void cli_files_free(cli_files *f);

/* Gives every entry whose output is also another entry's output an
 * error naming the other input: two inputs never share an output, and
 * neither is written. Returns how many entries were refused; -1 when out
 * of memory (then nothing may be written). */
long cli_files_refuse_collisions(cli_files *f);

/* A list of paths, as --files-from reads them. */
typedef struct cli_path_list {
    char **v;
    int n, cap;
} cli_path_list;

/* Appends the paths of file ("-": standard input), one a line; empty
 * lines are passed over, a trailing CR is dropped. 0, or -1 with the
 * reason in why. */
int cli_path_list_read(cli_path_list *list, const char *file, char *why, size_t size);
int cli_path_list_add(cli_path_list *list, const char *path);
void cli_path_list_free(cli_path_list *list);

/* mkdir -p for the directory part of path. */
int cli_make_parent_dirs(const char *path);

#endif
