/* anonymize.c - one image in, one anonymized image out (see anonymize.h).
 *
 * The order matters for safety: the size is checked from the header before
 * any pixel is decoded, the image is turned upright before detection (a
 * rotated phone photo otherwise hides its faces), and the output is written
 * from the blurred pixels by an encoder that drops all metadata. */
#include "anonymize.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "preset.h"

void anon_process_options_default(anon_process_options *o, anon_model_kind model)
{
    memset(o, 0, sizeof *o);
    anon_preset_apply(ANON_PRESET_DEFAULT, model, &o->detect);
    anon_blur_options_default(&o->blur);
    o->max_pixels = 50000000;
    o->jpeg_quality = 90;
}

void anon_result_free(anon_result *res)
{
    anon_boxes_free(&res->faces);
}

/* Refuses an image from its header alone: not an image, or too many pixels. */
static int check_header(const uint8_t *in, size_t len, long max_pixels,
                        anon_image_info *info, anon_error *err)
{
    if (anon_probe(in, len, info, err) < 0)
        return -1;
    if (max_pixels > 0 && (long long)info->width * info->height > max_pixels)
        return anon_fail(err, "image is %dx%d = %lld pixels, over the limit of %ld",
                         info->width, info->height,
                         (long long)info->width * info->height, max_pixels);
    return 0;
}

/* JPEG output keeps every block outside the masks bit-exact (no
 * generation loss) by rewriting only the blocks the blur changed. */
static int redact_jpeg(const anon_image *img, const anon_boxes *faces,
                       const uint8_t *in, size_t in_len, const anon_process_options *o,
                       anon_buffer *out, anon_error *err)
{
    anon_rect *regions = calloc(faces->n ? faces->n : 1, sizeof *regions);
    if (regions == NULL)
        return anon_fail(err, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < faces->n; i++)
        n += anon_box_region(&faces->v[i], &o->blur, img->width, img->height, &regions[n]);
    int rc = anon_jpeg_redact(in, in_len, img, regions, n, o->jpeg_quality,
                              o->keep_metadata, out, err);
    free(regions);
    return rc;
}

static int encode_output(const anon_image *img, const anon_image_info *info,
                         const anon_boxes *faces, const uint8_t *in, size_t in_len,
                         const anon_process_options *o, anon_buffer *out,
                         anon_error *err)
{
    if (info->format == ANON_FMT_JPEG && !o->reencode &&
        anon_jpeg_redact_supported(in, in_len))
        return redact_jpeg(img, faces, in, in_len, o, out, err);
    anon_encode_options eo = {
        .jpeg_quality = o->jpeg_quality,
        .keep_metadata = o->keep_metadata,
        .source = in,
        .source_len = in_len,
    };
    return anon_encode(img, info->format, &eo, out, err);
}

int anon_process(anon_detector *d, const uint8_t *in, size_t in_len,
                 const anon_process_options *o, anon_buffer *out,
                 anon_result *res, anon_error *err)
{
    memset(res, 0, sizeof *res);
    anon_image_info info;
    anon_image img = {0};
    int rc = -1;

    double t0 = anon_now_ms();
    if (check_header(in, in_len, o->max_pixels, &info, err) < 0)
        goto permanent;
    anon_decode_options dopt = {.max_pixels = o->max_pixels, .scale_denom = 1};
    if (anon_decode(in, in_len, &dopt, &img, &info, err) < 0)
        goto permanent;
    res->format = info.format;
    res->width = img.width;
    res->height = img.height;

    double t1 = anon_now_ms();
    if (anon_detect(d, &img, &o->detect, &res->faces, err) < 0)
        goto done;
    double t2 = anon_now_ms();
    if (anon_anonymize(&img, res->faces.v, res->faces.n, &o->blur, err) < 0)
        goto done;
    double t3 = anon_now_ms();
    anon_buffer_reset(out);
    if (encode_output(&img, &info, &res->faces, in, in_len, o, out, err) < 0)
        goto done;
    double t4 = anon_now_ms();

    res->ms_decode = t1 - t0;
    res->ms_detect = t2 - t1;
    res->ms_blur = t3 - t2;
    res->ms_encode = t4 - t3;
    rc = 0;
    goto done;
permanent:
    res->permanent = true;
done:
    anon_image_free(&img);
    return rc;
}
