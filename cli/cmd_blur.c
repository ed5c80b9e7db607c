/* cmd_blur.c - `anonctl blur`: anonymize local files, no services needed. */
#include <stdio.h>

#include "cli.h"

static int run_blur(int argc, char **argv, anon_config *cfg)
{
    (void)argc; (void)argv; (void)cfg;
    fprintf(stderr, "anonctl blur: not built yet\n");
    return EXIT_CONFIG;
}

static const char *const blur_env[] = {"ANON_MODEL_DIR", "ANON_MODEL", "ANON_MAX_PIXELS", NULL};

const struct anonctl_cmd cmd_blur = {
    .name = "blur",
    .args = "[options] PATH... -o OUTDIR",
    .summary = "find faces in local JPEG/PNG files and write anonymized copies",
    .options = "",
    .env = blur_env,
    .run = run_blur,
};
