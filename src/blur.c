/* blur.c - irreversible face anonymization under elliptical masks (blur.h).
 *
 * Each face is handled in a small patch around its mask, never the whole
 * image. The default method first pixelates the patch into blocks of about
 * 1/8 of the face width (at least 4 px): that averages the face down to
 * roughly 8x8 values, which is what makes it irreversible; no deblurring
 * can restore detail that is no longer in the data. A three-pass box blur
 * one block in radius (close to a gaussian of sigma ~ one block) then
 * hides the block edges and smears what is left of the eyes and mouth, so
 * the result looks like a blur rather than a mosaic. `pixelate` stops after the first step,
 * `fill` paints the mask black. The result replaces the core of the mask
 * completely and is blended into the original only across the soft edge
 * outside it. */
#include "blur.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MASK_SCALE 1.3f
#define BLOCKS_PER_FACE 8
#define MIN_BLOCK 4
#define BLUR_PASSES 3
/* Soft edge: 15 % of the smaller half-axis, between 2 and 16 pixels. */
#define FEATHER_FRACTION 0.15f
#define FEATHER_MIN 2.0f
#define FEATHER_MAX 16.0f

void anon_blur_options_default(anon_blur_options *o)
{
    o->method = ANON_METHOD_BLUR;
    o->mask_scale = DEFAULT_MASK_SCALE;
    o->rectangles = false;
}

int anon_method_parse(const char *name, anon_method *out)
{
    static const char *const names[] = {"blur", "pixelate", "fill"};
    for (int i = 0; i < 3; i++)
        if (name != NULL && strcmp(name, names[i]) == 0) {
            *out = (anon_method)i;
            return 0;
        }
    return -1;
}

/* ---------------------------------------------------------------- mask */

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

bool anon_mask_for_box(const anon_box *box, const anon_blur_options *o, int width,
                       int height, anon_mask *m)
{
    if (!(isfinite(box->x) && isfinite(box->y) && box->w > 0 && box->h > 0 &&
          isfinite(box->w) && isfinite(box->h)))
        return false;
    float scale = o->mask_scale > 0 && isfinite(o->mask_scale) ? o->mask_scale : 1.0f;
    m->cx = box->x + box->w / 2;
    m->cy = box->y + box->h / 2;
    m->rx = box->w * scale / 2;
    m->ry = box->h * scale / 2;
    m->rectangle = o->rectangles;
    float f = FEATHER_FRACTION * fminf(m->rx, m->ry);
    m->feather = fminf(fmaxf(f, FEATHER_MIN), FEATHER_MAX);
    int block = (int)lroundf(box->w / BLOCKS_PER_FACE);
    m->block = block < MIN_BLOCK ? MIN_BLOCK : block;
    float reach_x = m->rx + m->feather, reach_y = m->ry + m->feather;
    /* Bounds in float first: a box far outside must not overflow int. */
    float fx0 = floorf(m->cx - reach_x), fx1 = ceilf(m->cx + reach_x);
    float fy0 = floorf(m->cy - reach_y), fy1 = ceilf(m->cy + reach_y);
    if (fx1 <= 0 || fy1 <= 0 || fx0 >= (float)width || fy0 >= (float)height)
        return false;
    m->x0 = clampi((int)fmaxf(fx0, 0), 0, width);
    m->y0 = clampi((int)fmaxf(fy0, 0), 0, height);
    m->x1 = clampi((int)fminf(fx1, (float)width), 0, width);
    m->y1 = clampi((int)fminf(fy1, (float)height), 0, height);
    return m->x1 > m->x0 && m->y1 > m->y0;
}

bool anon_box_region(const anon_box *box, const anon_blur_options *o, int width,
                     int height, anon_rect *r)
{
    anon_mask m;
    if (!anon_mask_for_box(box, o, width, height, &m))
        return false;
    *r = (anon_rect){m.x0, m.y0, m.x1 - m.x0, m.y1 - m.y0};
    return true;
}

/* Distance in pixels from the pixel centre to the core (0 inside). */
static float distance_outside(const anon_mask *m, int x, int y)
{
    float dx = (float)x + 0.5f - m->cx, dy = (float)y + 0.5f - m->cy;
    if (m->rectangle) {
        float ox = fmaxf(fabsf(dx) - m->rx, 0), oy = fmaxf(fabsf(dy) - m->ry, 0);
        return sqrtf(ox * ox + oy * oy);
    }
    float u = dx / m->rx, v = dy / m->ry;
    float d = sqrtf(u * u + v * v);
    if (d <= 1)
        return 0;
    /* First-order distance to the ellipse: (d - 1) / |grad d|. */
    float gu = u / m->rx, gv = v / m->ry;
    return (d - 1) * d / sqrtf(gu * gu + gv * gv);
}

float anon_mask_weight(const anon_mask *m, int x, int y)
{
    if (x < m->x0 || x >= m->x1 || y < m->y0 || y >= m->y1)
        return 0;
    float dist = distance_outside(m, x, y);
    if (dist <= 0)
        return 1;
    float w = 1 - dist / m->feather;
    return w > 0 ? w : 0;
}

/* ---------------------------------------------------------------- patch ops */

/* A w x h RGB copy of the mask's region, worked on in isolation. */
typedef struct patch {
    int w, h;
    uint8_t *rgb;
    uint8_t *tmp;    /* blur only: between passes */
    unsigned *sums;  /* blur only: a running sum per column and channel */
} patch;

static void pixelate(patch *p, int block)
{
    for (int by = 0; by < p->h; by += block)
        for (int bx = 0; bx < p->w; bx += block) {
            int ex = bx + block < p->w ? bx + block : p->w;
            int ey = by + block < p->h ? by + block : p->h;
            unsigned sum[3] = {0, 0, 0};
            for (int y = by; y < ey; y++)
                for (int x = bx; x < ex; x++)
                    for (int c = 0; c < 3; c++)
                        sum[c] += p->rgb[((size_t)y * (size_t)p->w + (size_t)x) * 3 + (size_t)c];
            unsigned n = (unsigned)((ex - bx) * (ey - by));
            uint8_t mean[3];
            for (int c = 0; c < 3; c++)
                mean[c] = (uint8_t)((sum[c] + n / 2) / n);
            for (int y = by; y < ey; y++)
                for (int x = bx; x < ex; x++)
                    memcpy(p->rgb + ((size_t)y * (size_t)p->w + (size_t)x) * 3, mean, 3);
        }
}

/* One horizontal box-filter pass of radius r over each row, edges
 * replicated, src to dst. Running sums: O(1) per pixel whatever r is. */
/* sum / window as a multiply: divisions would dominate the blur. */
#define RECIPROCAL_SHIFT 16
static inline uint8_t mean_of(unsigned sum, unsigned inverse)
{
    return (uint8_t)((sum * inverse + (1u << (RECIPROCAL_SHIFT - 1))) >> RECIPROCAL_SHIFT);
}

static void box_rows(const patch *p, const uint8_t *src, uint8_t *dst, int r)
{
    const int w = p->w;
    const unsigned inverse = ((1u << RECIPROCAL_SHIFT) + (unsigned)r) / (2u * (unsigned)r + 1);
    for (int y = 0; y < p->h; y++) {
        const uint8_t *in = src + (size_t)y * (size_t)w * 3;
        uint8_t *out = dst + (size_t)y * (size_t)w * 3;
        unsigned sum[3] = {0, 0, 0};
        for (int i = -r; i <= r; i++)
            for (int c = 0; c < 3; c++)
                sum[c] += in[clampi(i, 0, w - 1) * 3 + c];
        for (int x = 0; x < w; x++) {
            const uint8_t *add = in + clampi(x + r + 1, 0, w - 1) * 3;
            const uint8_t *sub = in + clampi(x - r, 0, w - 1) * 3;
            for (int c = 0; c < 3; c++) {
                out[x * 3 + c] = mean_of(sum[c], inverse);
                sum[c] += (unsigned)add[c] - sub[c];
            }
        }
    }
}

/* The vertical pass, row by row with a running sum per column, so memory
 * is read in order. */
static void box_columns(const patch *p, const uint8_t *src, uint8_t *dst, int r,
                        unsigned *sums)
{
    const int h = p->h;
    const unsigned inverse = ((1u << RECIPROCAL_SHIFT) + (unsigned)r) / (2u * (unsigned)r + 1);
    const size_t row = (size_t)p->w * 3;
    memset(sums, 0, row * sizeof *sums);
    for (int i = -r; i <= r; i++) {
        const uint8_t *in = src + (size_t)clampi(i, 0, h - 1) * row;
        for (size_t k = 0; k < row; k++)
            sums[k] += in[k];
    }
    for (int y = 0; y < h; y++) {
        uint8_t *out = dst + (size_t)y * row;
        const uint8_t *add = src + (size_t)clampi(y + r + 1, 0, h - 1) * row;
        const uint8_t *sub = src + (size_t)clampi(y - r, 0, h - 1) * row;
        for (size_t k = 0; k < row; k++) {
            out[k] = mean_of(sums[k], inverse);
            sums[k] += (unsigned)add[k] - sub[k];
        }
    }
}

static void box_blur(patch *p, int r)
{
    for (int pass = 0; pass < BLUR_PASSES; pass++) {
        box_rows(p, p->rgb, p->tmp, r);
        box_columns(p, p->tmp, p->rgb, r, p->sums);
    }
}

/* ---------------------------------------------------------------- per box */

static void copy_region(const anon_image *img, const anon_mask *m, patch *p)
{
    size_t ch = (size_t)img->channels;
    for (int y = 0; y < p->h; y++) {
        const uint8_t *in = img->pixels + ((size_t)(m->y0 + y) * (size_t)img->width + (size_t)m->x0) * ch;
        uint8_t *out = p->rgb + (size_t)y * (size_t)p->w * 3;
        for (int x = 0; x < p->w; x++, in += ch, out += 3)
            memcpy(out, in, 3);
    }
}

/* Writes the patch back: fully in the core, blended across the soft edge. */
static void blend_back(anon_image *img, const anon_mask *m, const patch *p)
{
    size_t ch = (size_t)img->channels;
    for (int y = 0; y < p->h; y++) {
        uint8_t *out = img->pixels + ((size_t)(m->y0 + y) * (size_t)img->width + (size_t)m->x0) * ch;
        const uint8_t *in = p->rgb + (size_t)y * (size_t)p->w * 3;
        for (int x = 0; x < p->w; x++, out += ch, in += 3) {
            float a = anon_mask_weight(m, m->x0 + x, m->y0 + y);
            if (a >= 1) {
                memcpy(out, in, 3);
            } else if (a > 0) {
                for (int c = 0; c < 3; c++)
                    out[c] = (uint8_t)lroundf(a * in[c] + (1 - a) * out[c]);
            }
        }
    }
}

static int anonymize_box(anon_image *img, const anon_mask *m, anon_method method,
                         anon_error *err)
{
    patch p = {m->x1 - m->x0, m->y1 - m->y0, NULL, NULL, NULL};
    size_t bytes = (size_t)p.w * (size_t)p.h * 3;
    bool blur = method == ANON_METHOD_BLUR;
    p.rgb = malloc(bytes);
    p.tmp = blur ? malloc(bytes) : NULL;
    p.sums = blur ? malloc((size_t)p.w * 3 * sizeof *p.sums) : NULL;
    if (p.rgb == NULL || (blur && (p.tmp == NULL || p.sums == NULL))) {
        free(p.rgb);
        free(p.tmp);
        free(p.sums);
        return anon_fail(err, "out of memory for a %dx%d face region", p.w, p.h);
    }
    if (method == ANON_METHOD_FILL) {
        memset(p.rgb, 0, bytes);
    } else {
        copy_region(img, m, &p);
        pixelate(&p, m->block);
        if (method == ANON_METHOD_BLUR)
            box_blur(&p, m->block);
    }
    blend_back(img, m, &p);
    free(p.rgb);
    free(p.tmp);
    free(p.sums);
    return 0;
}

int anon_anonymize(anon_image *img, const anon_box *boxes, size_t n,
                   const anon_blur_options *o, anon_error *err)
{
    anon_blur_options defaults;
    if (o == NULL) {
        anon_blur_options_default(&defaults);
        o = &defaults;
    }
    if (img == NULL || img->pixels == NULL || (img->channels != 3 && img->channels != 4))
        return anon_fail(err, "no image to anonymize");
    if (o->method != ANON_METHOD_BLUR && o->method != ANON_METHOD_PIXELATE &&
        o->method != ANON_METHOD_FILL)
        return anon_fail(err, "unknown anonymization method %d", (int)o->method);
    for (size_t i = 0; i < n; i++) {
        anon_mask m;
        if (!anon_mask_for_box(&boxes[i], o, img->width, img->height, &m))
            continue;
        if (anonymize_box(img, &m, o->method, err) < 0)
            return -1;
    }
    return 0;
}
