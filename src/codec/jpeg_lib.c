/* jpeg_lib.c - libjpeg plumbing and shared JPEG facts (see jpeg_lib_private.h). */
#include "codec/jpeg_lib_private.h"

#include <jerror.h>

#include <string.h>

const uint8_t anon_jpeg_zigzag[64 + 16] = {
    0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,
    12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6,  7,  14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
    /* a run past the end lands here: a corrupt block writes a harmless slot */
    63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
};

/* ---------------------------------------------------------------- error manager */

/* Whether a component has had no data yet when the file ends: its rows
 * are all made up. Progressive: a coefficient never started; sequential:
 * components coded in scans of their own, which may never come. */
static bool component_missing(j_decompress_ptr d)
{
    if (d->progressive_mode) {
        for (int c = 0; d->coef_bits != NULL && c < d->num_components; c++)
            if (d->coef_bits[c][0] < 0)
                return true;
        return d->coef_bits == NULL;
    }
    return d->comps_in_scan < d->num_components;
}

/* The first iMCU row of d from which the damage just reported (a warning
 * with msg_code, or a fatal error; cut: the file has ended) leaves the
 * pixels untrustworthy, or -1 when it concerns no pixel (metadata). A
 * premature end of the file spoils the rows from the one being decoded
 * down: data before the cut is the file's own. Anything else (corrupt
 * data, a marker out of place) may have started anywhere since the last
 * point the decoder synchronised at: the restart interval's start, or,
 * without restart markers, the scan's: every row from there. In doubt,
 * row 0. */
static int damage_row(j_decompress_ptr d, int msg_code, bool cut)
{
    if (msg_code == JWRN_JFIF_MAJOR || msg_code == JWRN_BOGUS_ICC)
        return -1;    /* a header's version, a colour profile: no pixel */
    if (d->input_scan_number == 0)
        return 0;     /* in the header: what it spoilt is unknown */
    long row = (long)d->input_iMCU_row;
    if (cut) {
        if (component_missing(d))
            return 0;
    } else {
        long ri = (long)d->restart_interval, per_row = (long)d->MCUs_per_row;
        if (ri <= 0 || per_row <= 0)
            return 0;
        /* An interval of ri MCUs spans at most this many iMCU rows. */
        row -= (ri + per_row - 1) / per_row + 1;
    }
    row -= ANON_JPEG_DAMAGE_MARGIN;
    return row > 0 ? (int)row : 0;
}

/* Keeps the smallest damaged row of a decompressor's warnings and errors. */
static void note_damage(j_common_ptr c, anon_jpeg_errmgr *e)
{
    if (!c->is_decompressor)
        return;
    e->cut = e->cut || c->err->msg_code == JWRN_JPEG_EOF;
    int row = damage_row((j_decompress_ptr)c, c->err->msg_code, e->cut);
    if (row >= 0 && (e->damage_row < 0 || row < e->damage_row))
        e->damage_row = row;
}

static void on_error_exit(j_common_ptr c)
{
    anon_jpeg_errmgr *e = (anon_jpeg_errmgr *)c->err;
    c->err->format_message(c, e->why);
    note_damage(c, e);
    longjmp(e->jump, 1);
}

static void on_emit_message(j_common_ptr c, int level)
{
    anon_jpeg_errmgr *e = (anon_jpeg_errmgr *)c->err;
    if (level >= 0)
        return;    /* trace messages */
    c->err->num_warnings++;
    note_damage(c, e);
    if (e->info != NULL) {
        char msg[JMSG_LENGTH_MAX];
        c->err->format_message(c, msg);
        anon_info_warn(e->info, msg);
    }
}

static void on_output_message(j_common_ptr c)
{
    (void)c;    /* the library never prints */
}

static void on_progress(j_common_ptr c)
{
    if (!c->is_decompressor)
        return;
    j_decompress_ptr d = (j_decompress_ptr)c;
    anon_jpeg_errmgr *e = (anon_jpeg_errmgr *)c->err;
    if (d->input_scan_number > ANON_JPEG_MAX_SCANS) {
        snprintf(e->why, sizeof e->why, "JPEG has over %d progressive scans",
                 ANON_JPEG_MAX_SCANS);
        longjmp(e->jump, 1);
    }
}

void anon_jpeg_errmgr_init(anon_jpeg_errmgr *e, anon_image_info *info)
{
    memset(e, 0, sizeof *e);
    jpeg_std_error(&e->pub);
    e->pub.error_exit = on_error_exit;
    e->pub.emit_message = on_emit_message;
    e->pub.output_message = on_output_message;
    e->progress.progress_monitor = on_progress;
    e->info = info;
    e->damage_row = -1;
}

void anon_jpeg_limit_scans(j_decompress_ptr cinfo, anon_jpeg_errmgr *e)
{
    cinfo->progress = &e->progress;
}

void anon_jpeg_fail(anon_jpeg_errmgr *e, const char *msg)
{
    snprintf(e->why, sizeof e->why, "%s", msg);
    longjmp(e->jump, 1);
}

/* ---------------------------------------------------------------- block-wise checks */

const JQUANT_TBL *anon_jpeg_component_table(const struct jpeg_decompress_struct *ci, int c)
{
    if (c < 0 || c >= ci->num_components || c >= MAX_COMPONENTS)
        return NULL;
    const jpeg_component_info *comp = &ci->comp_info[c];
    if (comp->quant_table != NULL)
        return comp->quant_table;
    /* Before the scan starts libjpeg has not checked the frame's table
     * selector: it is any byte of the file. */
    int q = comp->quant_tbl_no;
    return q >= 0 && q < NUM_QUANT_TBLS ? ci->quant_tbl_ptrs[q] : NULL;
}

bool anon_jpeg_colour_supported(const struct jpeg_decompress_struct *ci)
{
    return ci->data_precision == 8 &&
           ((ci->jpeg_color_space == JCS_YCbCr && ci->num_components == 3) ||
            (ci->jpeg_color_space == JCS_GRAYSCALE && ci->num_components == 1));
}

bool anon_jpeg_open_source(j_decompress_ptr src, anon_jpeg_errmgr *e, const uint8_t *data,
                           size_t len, int width, int height)
{
    jpeg_create_decompress(src);
    anon_jpeg_limit_scans(src, e);
    jpeg_mem_src(src, data, (unsigned long)len);
    jpeg_read_header(src, TRUE);
    if (!anon_jpeg_colour_supported(src))
        return false;
    if (width >= 0 && ((int)src->image_width != width || (int)src->image_height != height))
        anon_jpeg_fail(e, "anonymized image does not match the source's size");
    return true;
}

bool anon_jpeg_quant_tables_usable(const struct jpeg_decompress_struct *ci)
{
    for (int c = 0; c < ci->num_components; c++) {
        const JQUANT_TBL *t = anon_jpeg_component_table(ci, c);
        if (t == NULL)
            return false;
        for (int k = 0; k < DCTSIZE2; k++)
            if (t->quantval[k] == 0 || t->quantval[k] > 32767)
                return false;
    }
    return true;
}

/* ---------------------------------------------------------------- geometry */

/* Widens r to whole MCUs of mcu_w x mcu_h, clipped to the image: the
 * pixels anon_jpeg_redact reads to re-encode the blocks under r. */
bool anon_jpeg_mcu_cover(const anon_rect *r, int mcu_w, int mcu_h, int width, int height,
                         anon_rect *out)
{
    long x0 = r->x < 0 ? 0 : r->x, y0 = r->y < 0 ? 0 : r->y;
    long x1 = (long)r->x + r->w, y1 = (long)r->y + r->h;
    x1 = x1 > width ? width : x1;
    y1 = y1 > height ? height : y1;
    if (r->w <= 0 || r->h <= 0 || x1 <= x0 || y1 <= y0)
        return false;
    x0 = x0 / mcu_w * mcu_w;
    y0 = y0 / mcu_h * mcu_h;
    x1 = (x1 + mcu_w - 1) / mcu_w * mcu_w;
    y1 = (y1 + mcu_h - 1) / mcu_h * mcu_h;
    *out = (anon_rect){(int)x0, (int)y0, (int)((x1 > width ? width : x1) - x0),
                       (int)((y1 > height ? height : y1) - y0)};
    return true;
}

anon_error_kind anon_jpeg_error_kind(const anon_jpeg_errmgr *e)
{
    if (e->pub.msg_code == JERR_OUT_OF_MEMORY || strcmp(e->why, "out of memory") == 0)
        return ANON_ERR_FAILED;
    return ANON_ERR_INPUT;
}
