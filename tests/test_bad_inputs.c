/* test_bad_inputs.c - every file of the generated corpus through the
 * decoder: the right picture or a clear one-line error, never a crash
 * (this runs under ASan/UBSan). One result line per file. */
#include "redact/blur.h"
#include "check.h"
#include "codec/codec.h"
#include "corpus.h"
#include "image/image.h"

/* Pattern files: JPEG chroma subsampling and CMYK rounding stay well
 * within this; a wrong colour conversion or orientation is off by ~255. */
#define PATTERN_TOLERANCE 40
#define DEFAULT_MAX_PIXELS 50000000L

static const struct corpus_file *current;

static void check_error_message(struct check_state *check_ctx_, const anon_error *err)
{
    CHECKF(err->msg[0] != '\0', "%s: failed without a message", current->name);
    CHECKF(strchr(err->msg, '\n') == NULL, "%s: message spans lines", current->name);
}

/* Decoded pixels must survive the rest of the pipeline too. */
static void check_pipeline(struct check_state *check_ctx_, anon_image *img,
                           const anon_buffer *src)
{
    anon_box face = {(float)img->width / 4, (float)img->height / 4,
                     (float)img->width / 2, (float)img->height / 2, 0.9f};
    anon_error err;
    CHECKF(anon_anonymize(img, &face, 1, NULL, &err) == 0, "%s: %.300s", current->name, err.msg);
    anon_encode_options eo = {90, true, src->data, src->len};
    for (anon_format f = ANON_FMT_JPEG; f <= ANON_FMT_PNG; f++) {
        anon_buffer out = ANON_BUFFER_INIT;
        int rc = anon_encode(img, f, &eo, &out, &err);
        anon_buffer_free(&out);
        CHECKF(rc == 0, "%s: encode %s: %.300s", current->name, anon_format_name(f), err.msg);
    }
}

TEST(corpus_file)
{
    anon_buffer b = ANON_BUFFER_INIT;
    CHECKF(corpus_read(current->name, &b) == 0, "cannot read %s", current->name);
    anon_decode_options opt = {DEFAULT_MAX_PIXELS, 1};
    anon_image img;
    anon_image_info info;
    anon_error err = {0};
    int rc = anon_decode(b.data, b.len, &opt, &img, &info, &err);
    if (current->expect == EXPECT_FAILS) {
        if (rc == 0)
            anon_image_free(&img);
        anon_buffer_free(&b);
        CHECKF(rc < 0, "%s decoded but must fail", current->name);
        check_error_message(check_ctx_, &err);
        /* The hard cap holds even without a caller limit. */
        opt.max_pixels = 0;
        rc = anon_decode(b.data, b.len, &opt, &img, &info, &err);
        if (rc == 0)
            anon_image_free(&img);
        CHECKF(rc < 0, "%s decoded without a pixel limit", current->name);
        return;
    }
    if (rc < 0)
        anon_buffer_free(&b);
    CHECKF(rc == 0, "%s: %.300s", current->name, err.msg);
    int distance = pattern_distance(&img);
    int channels = img.channels, width = img.width, height = img.height;
    check_pipeline(check_ctx_, &img, &b);
    anon_image_free(&img);
    anon_buffer_free(&b);
    CHECKF(channels == current->channels, "%s: %d channels, expected %d", current->name,
           channels, current->channels);
    CHECKF(current->expect != EXPECT_PATTERN || distance <= PATTERN_TOLERANCE,
           "%s: differs from the pattern by %d", current->name, distance);
    /* A photo is clean only without a warning; a damaged one names the
     * part that could not be read, inside the image. */
    bool damaged = current->expect == EXPECT_DAMAGED;
    CHECKF((info.warnings.count > 0) == damaged, "%s: %d warnings (%s)", current->name,
           info.warnings.count, info.warnings.msg[0]);
    const anon_rect *d = &info.damaged;
    CHECKF(damaged ? d->w > 0 && d->h > 0 && d->x >= 0 && d->y >= 0 &&
                         d->x + d->w <= width && d->y + d->h <= height
                   : d->w == 0,
           "%s: damaged part %d,%d %dx%d of %dx%d", current->name, d->x, d->y, d->w, d->h,
           width, height);
}

int main(void)
{
    if (corpus_dir() == NULL) {
        printf("not ok bad_inputs.generate: scripts/make-bad-inputs failed\n");
        return 1;
    }
    int failed = 0;
    for (size_t i = 0; i < CORPUS_COUNT; i++) {
        current = &corpus_files[i];
        struct check_case c = {current->name, corpus_file};
        failed += !check_one("bad_inputs", &c);
    }
    return failed ? 1 : 0;
}
