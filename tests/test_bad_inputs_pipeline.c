/* test_bad_inputs_pipeline.c - every file of the generated corpus through
 * the whole one-image pipeline (anon_process), as `anonctl blur` and the
 * worker run it, with a single-pass preset: for the 1024-pixel-wide
 * crash-* files that is the one-decode JPEG path (the scan index, reduced
 * image, MCU re-decode and re-packer), for the others the full decode and
 * the block-wise writer. The crash-* files also go through the default
 * preset (full decode, then the block-wise writer reading the scan
 * again). Each file must give what corpus.h says libjpeg makes of it: a
 * one-line error, or an output that decodes cleanly at the image's size; a
 * damaged file (recover-*) may give either. Never a crash (this runs under
 * ASan/UBSan). */
#include "check.h"
#include "codec/codec.h"
#include "corpus.h"
#include "detect/preset.h"
#include "redact/pipeline.h"

static anon_detector *detector;
static const struct corpus_file *current;
static anon_preset preset;

static const char *model_dir(void)
{
    const char *d = getenv("ANON_MODEL_DIR");
    return d && d[0] ? d : ".cache/models";
}

TEST(corpus_file)
{
    anon_buffer in = ANON_BUFFER_INIT, out = ANON_BUFFER_INIT;
    CHECKF(corpus_read(current->name, &in) == 0, "cannot read %s", current->name);
    anon_process_options o;
    anon_process_options_default(&o, anon_model_find("tiny"));
    anon_preset_apply(preset, anon_model_find("tiny"), &o.detect);
    anon_result res;
    anon_error err = {0};
    int rc = anon_process(detector, in.data, in.len, &o, &out, &res, &err);
    anon_image back = {0};
    anon_image_info info = {0}, back_info = {0};
    int drc = rc == 0 ? anon_decode(out.data, out.len, NULL, &back, &back_info, &err) : -1;
    bool same_size = drc == 0 && anon_probe(in.data, in.len, &info, NULL) == 0 &&
                     back.width * back.height == info.width * info.height;
    anon_image_free(&back);
    anon_result_free(&res);
    anon_buffer_free(&in);
    anon_buffer_free(&out);
    bool damaged = strncmp(current->name, "recover-", 8) == 0;
    if (current->expect == EXPECT_FAILS || (damaged && rc < 0)) {
        CHECKF(rc < 0, "%s: processed but must fail", current->name);
        CHECKF(err.msg[0] != '\0' && strchr(err.msg, '\n') == NULL, "%s: no one-line message",
               current->name);
        return;
    }
    CHECKF(rc == 0, "%s: %.300s", current->name, err.msg);
    CHECKF(drc == 0, "%s: the output does not decode: %.300s", current->name, err.msg);
    CHECKF(back_info.warnings == 0, "%s: the output is damaged: %s", current->name,
           back_info.warning[0]);
    CHECKF(same_size, "%s: the output is not the image's size", current->name);
}

int main(void)
{
    if (corpus_dir() == NULL) {
        printf("not ok bad_inputs_pipeline.generate: scripts/make-bad-inputs failed\n");
        return 1;
    }
    anon_detector_config cfg = {.model = anon_model_find("tiny"), .model_dir = model_dir()};
    anon_error err;
    if ((detector = anon_detector_open(&cfg, &err)) == NULL) {
        printf("not ok bad_inputs_pipeline.model: %s\n", err.msg);
        return 1;
    }
    static const struct { anon_preset p; const char *suite, *only; } runs[] = {
        {ANON_PRESET_FAST, "bad_inputs_pipeline.fast", ""},
        {ANON_PRESET_DEFAULT, "bad_inputs_pipeline.default", "crash-"},
    };
    int failed = 0;
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        preset = runs[r].p;
        for (size_t i = 0; i < CORPUS_COUNT; i++) {
            current = &corpus_files[i];
            if (strncmp(current->name, runs[r].only, strlen(runs[r].only)) != 0)
                continue;
            struct check_case c = {current->name, corpus_file};
            failed += !check_one(runs[r].suite, &c);
        }
    }
    anon_detector_close(detector);
    return failed ? 1 : 0;
}
