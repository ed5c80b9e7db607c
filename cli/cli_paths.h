/* cli_paths.h - paths as the file system resolves them, so that layout
 * checks (is the output folder inside an input folder?) see through
 * "..", symbolic links and trailing slashes, even for an output folder
 * that does not exist yet. */
#ifndef ANON_CLI_PATHS_H
#define ANON_CLI_PATHS_H

#include <stdbool.h>

/* The absolute path with links, "." and ".." resolved as far as it
 * exists, and the rest appended as written ("." dropped, ".." taking the
 * previous part away). Heap string; NULL when out of memory. */
char *cli_path_canonical(const char *path);

/* True when inner is outer or lies under it (both canonical). */
bool cli_path_within(const char *inner, const char *outer);

/* The name a directory argument goes by: its last part ("cam1/" ->
 * "cam1"; "." and ".." -> the resolved directory's name; "/" -> "root").
 * Heap string; NULL when out of memory. */
char *cli_path_name(const char *path);

#endif
