/* jpeg_source.c - block-wise JPEG output: re-encode only the faces.
 *
 * The fast path for JPEG in, JPEG out (codec.h, anon_jpeg_redact). A full
 * re-encode costs a whole-image DCT, quantisation and Huffman coding and
 * loses a generation of quality everywhere. Here only the MCUs under each
 * changed region are replaced (their blocks made by jpeg_patches.c): for
 * a baseline source the scan is indexed and re-packed (jpeg_scan.c,
 * jpeg_repack.c: the bits of every other MCU are copied as they are, no
 * coefficient arrays are held); for what that does not take (progressive,
 * arithmetic, several scans) libjpeg reads and writes every block's
 * coefficients (jpeg_transcode.c). Either way every other block stays
 * bit-exact.
 *
 * Cost (scripts/bench-redact): for a baseline source, one Huffman decode
 * of the scan plus the coding of the replaced MCUs, a fraction of a full
 * re-encode; libjpeg's route costs a whole entropy decode and re-encode. */
#include <stdlib.h>
#include <string.h>

#include "codec/jpeg_markers_private.h"
#include "codec/jpeg_repack_private.h"
#include "codec/jpeg_transcode_private.h"

bool anon_jpeg_redact_supported(const uint8_t *src, size_t len)
{
    anon_image_info info;
    if (anon_probe(src, len, &info, NULL) < 0 || info.format != ANON_FMT_JPEG ||
        info.orientation != 1)
        return false;
    struct header {
        anon_jpeg_errmgr err;
        struct jpeg_decompress_struct ci;
    } *h = calloc(1, sizeof *h);
    if (h == NULL)
        return false;
    anon_jpeg_errmgr_init(&h->err, NULL);
    h->ci.err = &h->err.pub;
    bool ok = false;
    if (setjmp(h->err.jump) == 0) {
        jpeg_create_decompress(&h->ci);
        jpeg_mem_src(&h->ci, src, (unsigned long)len);
        jpeg_read_header(&h->ci, TRUE);
        ok = anon_jpeg_colour_supported(&h->ci);
    }
    jpeg_destroy_decompress(&h->ci);
    free(h);
    return ok;
}

/* ---------------------------------------------------------------- the source, decoded once */

/* A baseline source is indexed (jpeg_scan.c); any other libjpeg keeps
 * every coefficient of (jpeg_transcode.c). */
struct anon_jpeg_source {
    anon_jpeg_scan *scan;
    anon_jpeg_transcode *transcode;
};

int anon_jpeg_source_read(const uint8_t *src, size_t len, int width, int height,
                          int scale_denom, anon_image *small, anon_jpeg_source **out,
                          anon_error *err)
{
    *out = NULL;
    if (small != NULL)
        memset(small, 0, sizeof *small);
    anon_jpeg_source *s = calloc(1, sizeof *s);
    if (s == NULL)
        return anon_fail(err, "out of memory");
    int rc = anon_jpeg_scan_open(src, len, scale_denom, small, &s->scan, err);
    if (rc == ANON_DECLINED && anon_jpeg_redact_supported(src, len))
        rc = anon_jpeg_transcode_read(src, len, width, height, scale_denom, small,
                                      &s->transcode, err);
    if (rc == 0 && s->scan != NULL) {
        anon_jpeg_errmgr *e;
        j_decompress_ptr ci = anon_jpeg_scan_cinfo(s->scan, &e);
        if (width >= 0 && ((int)ci->image_width != width || (int)ci->image_height != height))
            rc = anon_fail(err, "anonymized image does not match the source's size");
    }
    if (rc != 0) {
        if (small != NULL)
            anon_image_free(small);
        anon_jpeg_source_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

static bool scan_mcu(void *arg, int mx, int my, JBLOCK *blocks)
{
    return anon_jpeg_scan_decode_mcu(arg, mx, my, blocks);
}

/* A reader of the source's MCUs, whichever way it was read. */
static int source_mcus(anon_jpeg_source *s, anon_jpeg_mcu_reader *r)
{
    if (s->scan == NULL)
        return anon_jpeg_transcode_mcus(s->transcode, r);
    memset(r, 0, sizeof *r);
    if (anon_jpeg_scan_start_idct(s->scan) != 0)
        return ANON_DECLINED;
    r->ci = anon_jpeg_scan_cinfo(s->scan, &r->err);
    r->mcus_x = anon_jpeg_scan_mcus_x(s->scan);
    r->mcus_y = anon_jpeg_scan_mcus_y(s->scan);
    r->read = scan_mcu;
    r->ctx = s->scan;
    r->full_size_idct = true;
    return 0;
}

int anon_jpeg_source_regions(anon_jpeg_source *s, const anon_rect *regions, size_t n,
                             anon_image *img, anon_error *err)
{
    memset(img, 0, sizeof *img);
    anon_jpeg_mcu_reader r;
    if (source_mcus(s, &r) != 0)
        return ANON_DECLINED;
    return anon_jpeg_coef_regions(&r, regions, n, img, err);
}

/* ---------------------------------------------------------------- writing the indexed source */

/* The patches, indexed: which one replaces each MCU of the source. */
typedef struct patch_map {
    anon_jpeg_scan **scans;    /* one per patch */
    const anon_jpeg_patches *p;
    int *owner;                /* per source MCU: patch index or -1 */
    int mcus_x;
} patch_map;

static bool patch_mcu(void *ctx, int mx, int my, JBLOCK *blocks)
{
    const patch_map *m = ctx;
    int j = m->owner[(size_t)my * (size_t)m->mcus_x + (size_t)mx];
    if (j < 0)
        return false;
    const anon_jpeg_patch *pt = &m->p->v[j];
    if (pt->blocks.v == NULL)
        return anon_jpeg_scan_decode_mcu_zigzag(m->scans[j], mx - pt->mx, my - pt->my, blocks);
    size_t at = (size_t)(my - pt->my) * (size_t)pt->blocks.mcus_x + (size_t)(mx - pt->mx);
    memcpy(blocks, pt->blocks.v + at * (size_t)pt->blocks.per_mcu,
           (size_t)pt->blocks.per_mcu * sizeof *blocks);
    return true;
}

static void patch_map_free(patch_map *m)
{
    for (size_t j = 0; m->scans != NULL && j < m->p->n; j++)
        anon_jpeg_scan_free(m->scans[j]);
    free(m->scans);
    free(m->owner);
}

/* Opens every patch and marks the MCUs it covers (a later patch wins
 * where two overlap; both were made from the same pixels). */
static int patch_map_make(patch_map *m, anon_jpeg_scan *src, const anon_jpeg_patches *p,
                          anon_error *err)
{
    int mx_n = anon_jpeg_scan_mcus_x(src), my_n = anon_jpeg_scan_mcus_y(src);
    *m = (patch_map){.p = p, .mcus_x = mx_n};
    m->scans = calloc(p->n ? p->n : 1, sizeof *m->scans);
    m->owner = malloc((size_t)mx_n * (size_t)my_n * sizeof *m->owner);
    if (m->scans == NULL || m->owner == NULL)
        return anon_fail(err, "out of memory");
    memset(m->owner, 0xFF, (size_t)mx_n * (size_t)my_n * sizeof *m->owner);
    for (size_t j = 0; j < p->n; j++) {
        const anon_jpeg_crop_blocks *cb = &p->v[j].blocks;
        int w, h;
        if (cb->v != NULL) {
            if (cb->per_mcu != anon_jpeg_scan_mcu_blocks(src))
                return ANON_DECLINED;
            w = cb->mcus_x;
            h = (int)(cb->mcus / (size_t)cb->mcus_x);
        } else {
            int rc = anon_jpeg_scan_open(p->v[j].jpeg, p->v[j].size, 1, NULL, &m->scans[j], err);
            if (rc != 0)
                return rc;
            if (anon_jpeg_scan_mcu_blocks(m->scans[j]) != anon_jpeg_scan_mcu_blocks(src))
                return ANON_DECLINED;
            w = anon_jpeg_scan_mcus_x(m->scans[j]);
            h = anon_jpeg_scan_mcus_y(m->scans[j]);
        }
        int x1 = p->v[j].mx + w, y1 = p->v[j].my + h;
        for (int my = p->v[j].my; my < y1 && my < my_n; my++)
            for (int mx = p->v[j].mx; mx < x1 && mx < mx_n; mx++)
                m->owner[(size_t)my * (size_t)mx_n + (size_t)mx] = (int)j;
    }
    return 0;
}

/* The indexed way; ANON_DECLINED when a replacement needs a code the
 * source's Huffman tables lack (or does not fit the source). */
static int write_indexed(anon_jpeg_scan *scan, const uint8_t *src, size_t len,
                         const anon_jpeg_patches *p, bool keep_metadata, anon_buffer *out,
                         anon_error *err)
{
    anon_jpeg_errmgr *e;
    if (!anon_jpeg_patches_match(p, anon_jpeg_scan_cinfo(scan, &e)))
        return ANON_DECLINED;
    anon_buffer markers = ANON_BUFFER_INIT;
    patch_map m;
    int rc = patch_map_make(&m, scan, p, err);
    if (rc == 0)
        rc = anon_jpeg_source_segments(src, len, keep_metadata, &markers, err);
    if (rc == 0)
        rc = anon_jpeg_repack_write(scan, patch_mcu, &m, &markers, out, err);
    patch_map_free(&m);
    anon_buffer_free(&markers);
    return rc;
}

int anon_jpeg_source_write(anon_jpeg_source *s, const uint8_t *src, size_t len,
                           const anon_jpeg_patches *p, bool keep_metadata, anon_buffer *out,
                           anon_error *err)
{
    if (s->scan != NULL) {
        int rc = write_indexed(s->scan, src, len, p, keep_metadata, out, err);
        if (rc != ANON_DECLINED)
            return rc;
        /* libjpeg codes with standard tables: read its way after all */
        rc = anon_jpeg_transcode_read(src, len, p->width, p->height, 1, NULL, &s->transcode,
                                      err);
        if (rc != 0)
            return rc;
    }
    return anon_jpeg_transcode_write(s->transcode, src, len, p, keep_metadata, out, err);
}

void anon_jpeg_source_free(anon_jpeg_source *s)
{
    if (s == NULL)
        return;
    anon_jpeg_scan_free(s->scan);
    anon_jpeg_transcode_free(s->transcode);
    free(s);
}

/* ---------------------------------------------------------------- whole calls */

int anon_jpeg_patches_apply(const uint8_t *src, size_t len, const anon_jpeg_patches *p,
                            bool keep_metadata, anon_buffer *out, anon_error *err)
{
    anon_jpeg_source *s;
    int rc = anon_jpeg_source_read(src, len, p->width, p->height, 1, NULL, &s, err);
    if (rc == 0)
        rc = anon_jpeg_source_write(s, src, len, p, keep_metadata, out, err);
    anon_jpeg_source_free(s);
    return rc;
}

int anon_jpeg_redact_blocks(const uint8_t *src, size_t len, const anon_image *upright_blurred,
                            const anon_rect *regions, size_t n, bool keep_metadata,
                            anon_buffer *out, anon_error *err)
{
    anon_jpeg_patches *p;
    int rc = anon_jpeg_patches_make(src, len, upright_blurred, regions, n, &p, err);
    if (rc == 0)
        rc = anon_jpeg_patches_apply(src, len, p, keep_metadata, out, err);
    anon_jpeg_patches_free(p);
    return rc;
}

int anon_jpeg_redact(const uint8_t *src, size_t len, const anon_image *upright_blurred,
                     const anon_rect *regions, size_t n, int quality, bool keep_metadata,
                     anon_buffer *out, anon_error *err)
{
    if (upright_blurred == NULL || upright_blurred->pixels == NULL)
        return anon_fail(err, "no image to encode");
    int rc = anon_jpeg_redact_blocks(src, len, upright_blurred, regions, n, keep_metadata,
                                     out, err);
    if (rc != ANON_DECLINED)
        return rc;
    anon_encode_options eo = {quality, keep_metadata, src, len};
    return anon_encode(upright_blurred, ANON_FMT_JPEG, &eo, out, err);
}
