/* pipeline.c - one image in, one anonymized image out (see pipeline.h).
 *
 * The order matters for safety: the size is checked from the header before
 * any pixel is decoded, the image is turned upright before detection (a
 * rotated phone photo otherwise hides its faces), and the output is written
 * from the blurred pixels by an encoder that drops all metadata. */
#include "redact/pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "codec/codec.h"
#include "detect/preset.h"

void anon_process_options_default(anon_process_options *o, const anon_model *model)
{
    if (!model)
        model = anon_model_default();
    memset(o, 0, sizeof *o);
    anon_preset_apply(ANON_PRESET_DEFAULT, model, &o->detect);
    anon_blur_options_default(&o->blur);
    o->max_pixels = 50000000;
    o->jpeg_quality = 90;
    o->detect_input = model->input;
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

/* The rectangles the blur changes (anon_box_region), *n of them; NULL
 * when out of memory. */
static anon_rect *face_regions(const anon_boxes *faces, const anon_blur_options *blur,
                               int width, int height, size_t *n, anon_error *err)
{
    anon_rect *regions = calloc(faces->n ? faces->n : 1, sizeof *regions);
    if (regions == NULL) {
        anon_fail(err, "out of memory");
        return NULL;
    }
    *n = 0;
    for (size_t i = 0; i < faces->n; i++)
        *n += anon_box_region(&faces->v[i], blur, width, height, &regions[*n]);
    return regions;
}

/* JPEG output keeps every block outside the masks bit-exact (no
 * generation loss) by rewriting only the blocks the blur changed. */
static int redact_jpeg(const anon_image *img, const anon_boxes *faces,
                       const uint8_t *in, size_t in_len, const anon_process_options *o,
                       anon_buffer *out, anon_error *err)
{
    size_t n;
    anon_rect *regions = face_regions(faces, &o->blur, img->width, img->height, &n, err);
    if (regions == NULL)
        return -1;
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
    /* A damaged source is re-encoded whole: the block-wise writer would
     * copy the source's blocks over the filled part. */
    if (info->format == ANON_FMT_JPEG && !o->reencode && info->warnings.count == 0 &&
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

/* ---------------------------------------------------------------- the JPEG fast path
 *
 * When detection is one pass over the whole frame, the network sees the
 * photo shrunk to N pixels anyway: libjpeg decodes it at a reduced DCT
 * scale for that (far less inverse-DCT, colour conversion and resizing
 * work), and at full resolution only the MCU rows and columns under the
 * faces, which are all the blur and the block-wise writer read. */

/* The DCT scale (2, 4, 8) for the detection decode, or 1 for none. */
static int detect_scale_denom(const anon_image_info *info, const anon_process_options *o)
{
    const anon_detect_options *d = &o->detect;
    if (o->detect_input <= 0 || !anon_detect_single_pass(d))
        return 1;
    /* a model of any input size may look at more than its cfg's size */
    int need = d->input_size > o->detect_input ? d->input_size : o->detect_input;
    int longer = info->width > info->height ? info->width : info->height;
    for (int denom = 8; denom >= 2; denom /= 2)
        if ((longer + denom - 1) / denom >= need)
            return denom;
    return 1;
}

/* Detects on `small`, a reduced image of the photo; boxes in full-size
 * pixels. */
static int detect_scaled(anon_detector *d, const anon_image *small, const anon_image_info *info,
                         const anon_process_options *o, anon_boxes *faces, anon_error *err)
{
    float sx = (float)info->width / (float)small->width;
    float sy = (float)info->height / (float)small->height;
    anon_detect_options dopt_small = o->detect;
    dopt_small.min_face = (int)((float)o->detect.min_face / (sx > sy ? sx : sy));
    anon_boxes found = {0};
    int rc = anon_detect(d, small, &dopt_small, &found, err);
    for (size_t i = 0; rc == 0 && i < found.n; i++) {
        anon_box b = found.v[i];
        b.x *= sx;
        b.w *= sx;
        b.y *= sy;
        b.h *= sy;
        if ((b.w > b.h ? b.w : b.h) < (float)o->detect.min_face)
            continue;
        rc = anon_boxes_push(faces, b, err);
    }
    anon_boxes_free(&found);
    return rc;
}

/* Detects on the reduced decode, boxes in full-size pixels. Returns
 * ANON_DECLINED when the file needs the full decode instead (damaged data,
 * say). */
static int detect_reduced(anon_detector *d, const uint8_t *in, size_t in_len, int denom,
                          const anon_image_info *info, const anon_process_options *o,
                          anon_boxes *faces, double *t_decoded, anon_error *err)
{
    anon_image small = {0};
    anon_image_info sinfo;
    anon_decode_options dopt = {.max_pixels = o->max_pixels, .scale_denom = denom};
    if (anon_decode(in, in_len, &dopt, &small, &sinfo, NULL) < 0 || sinfo.warnings.count > 0) {
        anon_image_free(&small);
        return ANON_DECLINED;
    }
    *t_decoded = anon_now_ms();
    int rc = detect_scaled(d, &small, info, o, faces, err);
    anon_image_free(&small);
    return rc;
}

/* Blurs `faces` (res->faces) and writes the block-wise JPEG from a decode
 * of only the MCUs under them: the full-size pixels are never all in
 * memory. With src (else NULL), the scan already indexed, the pixels are
 * made from its MCUs and the file re-packed from it; without, libjpeg
 * decodes the regions and the file is read again.
 * Adds to res's stage times. Returns ANON_DECLINED (out reset) when the
 * file needs the full path after all. */
static int redact_from_regions(const uint8_t *in, size_t in_len, const anon_image_info *info,
                               const anon_process_options *o, anon_jpeg_source *src,
                               anon_buffer *out, anon_result *res, anon_error *err)
{
    const anon_boxes *faces = &res->faces;
    size_t n;
    anon_rect *regions = face_regions(faces, &o->blur, info->width, info->height, &n, err);
    if (regions == NULL)
        return -1;
    anon_image img = {0};
    double t0 = anon_now_ms(), t1 = t0, t2 = t0, t3 = t0;
    /* No face: no pixels at all, the file is only rewritten. */
    int rc = n == 0 ? 0
             : src != NULL ? anon_jpeg_source_regions(src, regions, n, &img, err)
             : anon_jpeg_decode_regions(in, in_len, regions, n, &img, NULL) < 0 ? ANON_DECLINED : 0;
    if (rc == 0 && n > 0) {
        t1 = anon_now_ms();
        rc = anon_anonymize(&img, faces->v, faces->n, &o->blur, err);
        t2 = anon_now_ms();
    }
    anon_jpeg_patches *patches = NULL;
    if (rc == 0)
        rc = src != NULL
                 ? anon_jpeg_patches_make_blocks(in, in_len, n ? &img : NULL, regions, n,
                                                 &patches, err)
                 : anon_jpeg_patches_make(in, in_len, n ? &img : NULL, regions, n, &patches,
                                          err);
    anon_image_free(&img);    /* before the coefficients are read */
    free(regions);
    if (rc == 0) {
        anon_buffer_reset(out);
        rc = src != NULL
                 ? anon_jpeg_source_write(src, in, in_len, patches, o->keep_metadata, out, err)
                 : anon_jpeg_patches_apply(in, in_len, patches, o->keep_metadata, out, err);
        t3 = anon_now_ms();
    }
    anon_jpeg_patches_free(patches);
    if (rc == ANON_DECLINED)
        anon_buffer_reset(out);
    res->ms_decode += t1 - t0;
    res->ms_blur += t2 - t1;
    res->ms_encode += t3 - t2;
    return rc;
}

/* The end of both fast paths: ANON_DECLINED resets res for another path.
 * So does a failure that is the input's fault: libjpeg refused something
 * on the way, and only the full decode says whether the photo is damaged
 * (and with accept_damaged, what of it can be published). */
static int fast_path_end(int rc, const anon_error *err, const anon_image_info *info,
                         anon_result *res)
{
    if (rc == ANON_DECLINED || (rc < 0 && anon_error_kind_of(err) == ANON_ERR_INPUT)) {
        anon_result_free(res);
        memset(res, 0, sizeof *res);
        return ANON_DECLINED;
    }
    res->format = ANON_FMT_JPEG;
    res->width = info->width;
    res->height = info->height;
    return rc;
}

/* ---------------------------------------------------------------- one entropy decode
 *
 * Better still: the scan, which the block-wise writer indexes anyway, is
 * decoded once (jpeg_scan.c), and the detection image (from each block's
 * lowest frequencies) and the face regions (their MCUs decoded again from
 * the index, jpeg_coef.c) are made from it; nothing decodes the file a
 * second time. */

/* The one-decode path; returns ANON_DECLINED (res reset) when the file
 * must take another path. */
static int process_jpeg_source(anon_detector *d, const uint8_t *in, size_t in_len,
                               int denom, const anon_image_info *info,
                               const anon_process_options *o, anon_buffer *out,
                               anon_result *res, anon_error *err)
{
    double t0 = anon_now_ms(), t_small = t0;
    anon_jpeg_source *src = NULL;
    anon_image small = {0};
    int rc = anon_jpeg_source_read(in, in_len, info->width, info->height, denom, &small,
                                   &src, err);
    if (rc == 0) {
        t_small = anon_now_ms();
        rc = detect_scaled(d, &small, info, o, &res->faces, err);
        anon_image_free(&small);
    }
    if (rc == 0) {
        res->ms_decode = t_small - t0;
        res->ms_detect = anon_now_ms() - t_small;
        rc = redact_from_regions(in, in_len, info, o, src, out, res, err);
    }
    anon_jpeg_source_free(src);
    return fast_path_end(rc, err, info, res);
}

/* The whole fast path; returns ANON_DECLINED (res reset) when the file
 * must take the full path. */
static int process_jpeg_reduced(anon_detector *d, const uint8_t *in, size_t in_len,
                                int denom, const anon_image_info *info,
                                const anon_process_options *o, anon_buffer *out,
                                anon_result *res, anon_error *err)
{
    double t0 = anon_now_ms(), t_small = t0;
    int rc = detect_reduced(d, in, in_len, denom, info, o, &res->faces, &t_small, err);
    if (rc == 0) {
        res->ms_decode = t_small - t0;
        res->ms_detect = anon_now_ms() - t_small;
        rc = redact_from_regions(in, in_len, info, o, NULL, out, res, err);
    }
    return fast_path_end(rc, err, info, res);
}

/* ---------------------------------------------------------------- damage
 *
 * A photo its decoder reports damaged is not published by default: the
 * detector cannot find a face in what the decoder could not read (the
 * rows after a cut, the blocks after corrupt data), and a face cut by the
 * damage may be left too incomplete to be found. With accept_damaged, the
 * part the decoder could not read (anon_image_info.damaged: from the first
 * row the damage may have spoilt, to the bottom; anon_decode has filled
 * it grey) is reported as covered and stays grey in the output. */

/* Refuses a damaged photo (ANON_ERR_INPUT), or, with accept_damaged,
 * reports what could not be read as covered. */
static int judge_damage(const anon_image_info *info,
                        const anon_process_options *o, anon_result *res, anon_error *err)
{
    res->warnings = info->warnings;
    if (info->warnings.count == 0)
        return 0;
    if (!o->accept_damaged) {
        char more[48] = "";
        if (info->warnings.count > 1)
            snprintf(more, sizeof more, " (%d warnings)", info->warnings.count);
        return anon_fail_kind(err, ANON_ERR_INPUT, "damaged %s: %s%s",
                              info->format == ANON_FMT_PNG ? "PNG" : "JPEG", info->warnings.msg[0],
                              more);
    }
    res->covered = info->damaged;
    return 0;
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
    bool blockwise = info.format == ANON_FMT_JPEG && !o->reencode &&
                     anon_jpeg_redact_supported(in, in_len);
    int denom = detect_scale_denom(&info, o);
    if (blockwise && denom > 1) {
        anon_error fast_err = {0};
        rc = process_jpeg_source(d, in, in_len, denom, &info, o, out, res, &fast_err);
        if (rc == ANON_DECLINED)
            rc = process_jpeg_reduced(d, in, in_len, denom, &info, o, out, res, &fast_err);
        if (rc != ANON_DECLINED) {
            if (rc < 0 && err != NULL)
                *err = fast_err;
            return rc;
        }
        rc = -1;
    }
    anon_decode_options dopt = {.max_pixels = o->max_pixels, .scale_denom = 1};
    if (anon_decode(in, in_len, &dopt, &img, &info, err) < 0 ||
        judge_damage(&info, o, res, err) < 0)
        goto permanent;
    res->format = info.format;
    res->width = img.width;
    res->height = img.height;

    double t1 = anon_now_ms();
    if (anon_detect(d, &img, &o->detect, &res->faces, err) < 0)
        goto done;
    double t2 = anon_now_ms();
    res->ms_decode = t1 - t0;
    res->ms_detect = t2 - t1;
    if (blockwise && info.warnings.count == 0) {
        /* The decoded photo has done its job: free it before the file is
         * read again for the block-wise output. */
        anon_image_free(&img);
        rc = redact_from_regions(in, in_len, &info, o, NULL, out, res, err);
        if (rc != ANON_DECLINED)
            goto done;
        rc = -1;
        if (anon_decode(in, in_len, &dopt, &img, &info, err) < 0)
            goto done;
        if (info.warnings.count > 0) {    /* the same file, twice: cannot happen */
            anon_fail(err, "the photo decoded differently the second time");
            goto done;
        }
    }
    t2 = anon_now_ms();
    if (anon_anonymize(&img, res->faces.v, res->faces.n, &o->blur, err) < 0)
        goto done;
    double t3 = anon_now_ms();
    anon_buffer_reset(out);
    if (encode_output(&img, &info, &res->faces, in, in_len, o, out, err) < 0)
        goto done;
    double t4 = anon_now_ms();

    res->ms_blur = t3 - t2;
    res->ms_encode = t4 - t3;
    rc = 0;
    goto done;
permanent:
    anon_error_set_kind(err, ANON_ERR_INPUT);
done:
    anon_image_free(&img);
    return rc;
}
