/* model_digest.h - a face model's version: a short digest of its weights.
 *
 * The batch system records, with each output, which model made it. The
 * model's name alone does not say which weights (a file converted again or
 * retrained keeps its name); the first 12 hex digits of the SHA-256 of its
 * weights file do, and are short enough for listings. A worker computes it
 * once, when it opens its detector. */
#ifndef ANON_MODEL_DIGEST_H
#define ANON_MODEL_DIGEST_H

#include "base/error.h"
#include "detect/model.h"

#define ANON_MODEL_DIGEST_LEN 12

/* The digest of model_dir/model->weights_file into out (12 hex digits and
 * a NUL). A file that cannot be read fails with ANON_ERR_CONFIG (the model
 * directory is a setting). */
int anon_model_digest(const anon_model *model, const char *model_dir,
                      char out[ANON_MODEL_DIGEST_LEN + 1], anon_error *err);

#endif
