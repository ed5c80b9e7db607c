/* cli_outdir.h - where `anonctl blur` may write, checked before any work.
 *
 * An output folder must never end up holding an original: it may not be
 * an input folder, lie inside one (the walk would pass over the originals
 * already in it) or contain an input. Review copies (--draw-boxes) show
 * the faces, so they get a folder of their own, marked as such, which
 * anonymized outputs never share. */
#ifndef ANON_CLI_OUTDIR_H
#define ANON_CLI_OUTDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

/* The file that marks a folder of review copies. */
#define CLI_REVIEW_MARKER ".anonctl-review"

/* Checks outdir against the input paths (missing ones are left to the
 * caller) and the kind of run: that it is, or can be made, a writable
 * folder; that no input folder is it, holds it or lies in it, and no
 * input file lies in it; and, for review copies, that it is new, empty or
 * already marked, for anonymized outputs that it is not marked. 0, or -1
 * with the reason in why (a usage error). */
int cli_outdir_check(const char *outdir, char *const *paths, int n_paths, bool review,
                     char *why, size_t size);

/* Creates outdir when needed and marks it as a folder of review copies. */
int cli_outdir_mark_review(const char *outdir, anon_error *err);

/* True when output exists and was modified after input. */
bool cli_output_up_to_date(const char *input, const char *output);

#endif
