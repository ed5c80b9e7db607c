/* model_digest.c - a model's weights digest (see model_digest.h). */
#include "detect/model_digest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/sha256.h"

int anon_model_digest(const anon_model *model, const char *model_dir,
                      char out[ANON_MODEL_DIGEST_LEN + 1], anon_error *err)
{
    if (model == NULL || model_dir == NULL || model_dir[0] == '\0')
        return anon_fail_kind(err, ANON_ERR_CONFIG, "model digest: a model and its directory "
                              "are needed");
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", model_dir, model->weights_file);
    if (n < 0 || (size_t)n >= sizeof path)
        return anon_fail_kind(err, ANON_ERR_CONFIG, "model digest: path too long");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return anon_fail_kind(err, ANON_ERR_CONFIG, "%s: %s", path, strerror(errno));
    char hex[ANON_SHA256_HEX_LEN + 1];
    long long size = 0;
    int rc = anon_sha256_fd(fd, 0, hex, &size, err);
    close(fd);
    if (rc < 0) {
        anon_error_set_kind(err, ANON_ERR_CONFIG);
        return anon_fail_prefix(err, "%s: ", path);
    }
    memcpy(out, hex, ANON_MODEL_DIGEST_LEN);
    out[ANON_MODEL_DIGEST_LEN] = '\0';
    return ANON_OK;
}
