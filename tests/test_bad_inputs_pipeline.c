/* test_bad_inputs_pipeline.c - every file of the generated corpus through
 * the whole one-image pipeline (anon_process), as `anonctl blur` and the
 * worker run it, with a single-pass preset: for the 1024-pixel-wide
 * crash-* and recover-*-large files that is the one-decode JPEG path (the
 * scan index, reduced image, MCU re-decode and re-packer), for the others
 * the full decode and the block-wise writer. The crash-* and recover-*
 * files also go through the default preset (full decode, then the
 * block-wise writer reading the scan again). Each file must give what
 * corpus.h says libjpeg makes of it: a one-line error, or an output that
 * decodes cleanly at the image's size; a damaged file is refused as
 * damaged (ANON_ERR_INPUT) on every path, and with accept_damaged written
 * with the part not read filled. Never a crash (this runs under
 * ASan/UBSan). */
#include "check.h"
#include "codec/codec.h"
#include "corpus.h"
#include "detect/preset.h"
#include "redact/pipeline.h"
#include "photos.h"

static anon_detector *detector;
static const struct corpus_file *current;
static anon_preset preset;

/* One anon_process of a corpus file; the output decoded into back (rc -1
 * when it does not decode). */
struct run {
    int rc, back_rc;
    anon_result res;
    anon_error err;
    anon_image back;
    anon_image_info back_info;
    int width, height;    /* the input's, upright */
};

static void process(const anon_buffer *in, bool accept_damaged, struct run *r)
{
    anon_buffer out = ANON_BUFFER_INIT;
    anon_process_options o;
    anon_process_options_default(&o, anon_model_find("tiny"));
    anon_preset_apply(preset, anon_model_find("tiny"), &o.detect);
    o.accept_damaged = accept_damaged;
    memset(r, 0, sizeof *r);
    r->rc = anon_process(detector, in->data, in->len, &o, &out, &r->res, &r->err);
    anon_error derr;
    r->back_rc = r->rc == 0 ? anon_decode(out.data, out.len, NULL, &r->back, &r->back_info,
                                          &derr)
                            : -1;
    anon_image_info info = {0};
    if (anon_probe(in->data, in->len, &info, NULL) == 0) {
        bool swap = info.orientation >= 5;
        r->width = swap ? info.height : info.width;
        r->height = swap ? info.width : info.height;
    }
    anon_buffer_free(&out);
}

static void run_free(struct run *r)
{
    if (r->back_rc == 0)
        anon_image_free(&r->back);
    anon_result_free(&r->res);
}

/* How far the rows of r from y0 on are from the fill's grey, at most
 * (JPEG: from the next block row but one, past the edge's ringing). */
static int fill_distance(const anon_image *img, const anon_rect *r, bool jpeg)
{
    int worst = 0, y0 = jpeg ? (r->y + 15) / 16 * 16 + 16 : r->y;
    for (int y = y0; y < r->y + r->h && y < img->height; y++)
        for (int x = r->x; x < r->x + r->w && x < img->width; x++)
            for (int c = 0; c < 3; c++) {
                int v = img->pixels[((size_t)y * (size_t)img->width + (size_t)x) *
                                    (size_t)img->channels + (size_t)c];
                worst = abs(v - 128) > worst ? abs(v - 128) : worst;
            }
    return worst;
}

/* An output that was written: it decodes cleanly at the image's size. */
/* Why the output of r is not right (why[0] == '\0': it is): written,
 * decodes cleanly, the input's size. Worked out before run_free, checked
 * after, so that a failing check leaks nothing. */
static void written_problem(const struct run *r, char *why, size_t n)
{
    why[0] = '\0';
    if (r->rc != 0)
        snprintf(why, n, "%s: %.300s", current->name, r->err.msg);
    else if (r->back_rc != 0)
        snprintf(why, n, "%s: the output does not decode", current->name);
    else if (r->back_info.warnings.count != 0)
        snprintf(why, n, "%s: the output is damaged: %s", current->name,
                 r->back_info.warnings.msg[0]);
    else if (r->back.width != r->width || r->back.height != r->height)
        snprintf(why, n, "%s: the output is %dx%d, the image %dx%d", current->name,
                 r->back.width, r->back.height, r->width, r->height);
}

/* A damaged file: refused by default, with a one-line reason that names
 * the damage (the input's fault: no retry); with accept_damaged written,
 * the part the decoder could not read filled grey. */
static void check_damaged(struct check_state *check_ctx_, const anon_buffer *in)
{
    struct run r;
    process(in, false, &r);
    bool refused = r.rc < 0 && anon_error_kind_of(&r.err) == ANON_ERR_INPUT &&
                   strstr(r.err.msg, "damaged") != NULL && strchr(r.err.msg, '\n') == NULL;
    int warnings = r.res.warnings.count;
    run_free(&r);
    CHECKF(refused, "%s: rc %d, not refused as damaged: %.300s", current->name, r.rc,
           r.err.msg);
    CHECKF(warnings > 0, "%s: refused without its warnings", current->name);
    if (preset != ANON_PRESET_FAST)
        return;    /* the accepted output once is enough */
    process(in, true, &r);
    anon_rect c = r.res.covered;
    int distance = r.back_rc == 0 ? fill_distance(&r.back, &c, strstr(current->name, ".jpg"))
                                  : 999;
    int kept = r.res.warnings.kept;
    char why[400];
    written_problem(&r, why, sizeof why);
    run_free(&r);
    CHECKF(why[0] == '\0', "%s", why);
    CHECKF(kept > 0, "%s: accepted without its warnings", current->name);
    CHECKF(c.w > 0 && c.h > 0, "%s: accepted with nothing filled", current->name);
    CHECKF(distance <= 6, "%s: the part not read (%d,%d %dx%d) is not filled: off by %d",
           current->name, c.x, c.y, c.w, c.h, distance);
}

TEST(corpus_file)
{
    anon_buffer in = ANON_BUFFER_INIT;
    CHECKF(corpus_read(current->name, &in) == 0, "cannot read %s", current->name);
    if (current->expect == EXPECT_DAMAGED) {
        check_damaged(check_ctx_, &in);
        anon_buffer_free(&in);
        return;
    }
    struct run r;
    process(&in, false, &r);
    anon_buffer_free(&in);
    if (current->expect == EXPECT_FAILS) {
        run_free(&r);
        CHECKF(r.rc < 0, "%s: processed but must fail", current->name);
        CHECKF(r.err.msg[0] != '\0' && strchr(r.err.msg, '\n') == NULL,
               "%s: no one-line message", current->name);
        return;
    }
    int warnings = r.res.warnings.count;
    char why[400];
    written_problem(&r, why, sizeof why);
    run_free(&r);
    CHECKF(why[0] == '\0', "%s", why);
    CHECKF(warnings == 0, "%s: a clean file with %d warnings", current->name, warnings);
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
        {ANON_PRESET_DEFAULT, "bad_inputs_pipeline.default", "recover-"},
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
