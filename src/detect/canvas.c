/* canvas.c - cuts, scales and places photo pixels on the model's input canvas
 * (see canvas.h). Separable resampling: a horizontal pass into a float
 * buffer, then a vertical pass into the planar canvas, band by band. */
#include "detect/canvas.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Source taps of one destination pixel along one axis. */
typedef struct taps {
    int *first;    /* first source index, per destination index */
    int *count;    /* number of taps, per destination index */
    float *weight; /* count weights per destination index, at stride `max` */
    int max;
} taps;

static void taps_free(taps *t)
{
    free(t->first);
    free(t->count);
    free(t->weight);
}

/* Area averaging when shrinking (each destination pixel averages the source
 * interval it covers, partial pixels weighted by their overlap); bilinear with
 * centred pixels when enlarging. Mirrors resizeWeights() in the oracle. */
static int taps_make(taps *t, int src, int dst, anon_error *err)
{
    double f = (double)src / dst;
    t->max = f >= 1 ? (int)ceil(f) + 1 : 2;
    t->first = malloc((size_t)dst * sizeof *t->first);
    t->count = malloc((size_t)dst * sizeof *t->count);
    t->weight = calloc((size_t)dst * (size_t)t->max, sizeof *t->weight);
    if (!t->first || !t->count || !t->weight) {
        taps_free(t);
        return anon_fail(err, "out of memory");
    }
    for (int i = 0; i < dst; i++) {
        float *w = t->weight + (size_t)i * (size_t)t->max;
        int n = 0;
        if (f >= 1) {
            double a = i * f, b = (i + 1) * f;
            int j0 = (int)floor(a), j1 = (int)ceil(b);
            if (j1 > src)
                j1 = src;
            t->first[i] = j0;
            for (int j = j0; j < j1 && n < t->max; j++) {
                double lo = a > j ? a : j, hi = b < j + 1 ? b : j + 1;
                w[n++] = (float)((hi - lo) / f);
            }
        } else {
            double x = (i + 0.5) * f - 0.5;
            if (x < 0)
                x = 0;
            int j = (int)floor(x);
            if (j >= src - 1) {
                j = src - 1;
                x = j;
            }
            t->first[i] = j;
            w[n++] = (float)(1 - (x - j));
            if (x > j)
                w[n++] = (float)(x - j);
        }
        t->count[i] = n;
    }
    return 0;
}

int anon_canvas_extent(int len, double scale, int n)
{
    long e = lround(len * scale);
    return e < 1 ? 1 : e > n ? n : (int)e;
}

/* The horizontal pass: source rows [s0, s1) of window r into rows;
 * line is scratch for one source row as floats (r.w * 3),
 * converted once rather than at every tap that reads it. */
static void fill_rows(const anon_image *img, anon_rect r, const taps *tx, int w, bool flip,
                      int s0, int s1, float *line, float *rows)
{
    const int nc = img->channels;
    for (int y = s0; y < s1; y++) {
        const uint8_t *src = img->pixels + ((size_t)(r.y + y) * img->width + r.x) * nc;
        if (nc == 3)    /* one run of bytes: the loop vectorizes */
            for (int i = 0; i < r.w * 3; i++)
                line[i] = src[i];
        else
            for (int x = 0; x < r.w; x++)
                for (int c = 0; c < 3; c++)
                    line[x * 3 + c] = src[(size_t)x * nc + c];
        float *dst = rows + (size_t)(y - s0) * w * 3;
        for (int x = 0; x < w; x++) {
            const float *wt = tx->weight + (size_t)x * tx->max;
            const float *p = line + (size_t)tx->first[x] * 3;
            float c0 = 0, c1 = 0, c2 = 0;
            for (int k = 0; k < tx->count[x]; k++, p += 3) {
                c0 += wt[k] * p[0];
                c1 += wt[k] * p[1];
                c2 += wt[k] * p[2];
            }
            int ox = flip ? w - 1 - x : x;
            dst[ox * 3 + 0] = c0;
            dst[ox * 3 + 1] = c1;
            dst[ox * 3 + 2] = c2;
        }
    }
}

/* The vertical pass: canvas rows [y0, y1) from rows, which start at
 * source row s0; line is scratch for one interleaved row (w * 3 floats).
 * Summed along whole rows first (the loop vectorizes), then split into
 * the three planes; each value adds the same terms in the same order as
 * a pixel-by-pixel sum would. */
static void fill_columns(const taps *ty, int w, int cols, int n_rows, int y0, int y1, int s0,
                         const float *rows, float *line, float *out)
{
    size_t plane = (size_t)cols * (size_t)n_rows, len = (size_t)w * 3;
    for (int y = y0; y < y1; y++) {
        const float *wt = ty->weight + (size_t)y * ty->max;
        const float *src = rows + (size_t)(ty->first[y] - s0) * len;
        for (size_t i = 0; i < len; i++)
            line[i] = 0;
        for (int k = 0; k < ty->count[y]; k++, src += len)
            for (size_t i = 0; i < len; i++)
                line[i] += wt[k] * src[i];
        float *r = out + (size_t)y * (size_t)cols, *g = r + plane, *b = g + plane;
        for (int x = 0; x < w; x++) {
            r[x] = line[3 * x];
            g[x] = line[3 * x + 1];
            b[x] = line[3 * x + 2];
        }
    }
}

/* Source rows the horizontal pass holds at once beyond one canvas row's:
 * a whole 24 MP frame would otherwise take 4000 x 512 x 3 floats (24 MB). */
#define BAND_ROWS 128

int anon_canvas_fill(const anon_image *img, anon_rect r, double scale, bool flip, int cols,
                     int n_rows, float *out, int *cw, int *ch, anon_error *err)
{
    if (!img || !img->pixels || img->width <= 0 || img->height <= 0 ||
        (img->channels != 3 && img->channels != 4))
        return anon_fail(err, "canvas: not an RGB(A) image");
    if (r.w <= 0 || r.h <= 0 || r.x < 0 || r.y < 0 || r.x + r.w > img->width ||
        r.y + r.h > img->height || !(scale > 0) || cols <= 0 || n_rows <= 0)
        return anon_fail(err, "canvas: window %dx%d+%d+%d outside the %dx%d image",
                         r.w, r.h, r.x, r.y, img->width, img->height);
    int w = anon_canvas_extent(r.w, scale, cols);
    int h = anon_canvas_extent(r.h, scale, n_rows);
    taps tx, ty;
    if (taps_make(&tx, r.w, w, err))
        return -1;
    if (taps_make(&ty, r.h, h, err)) {
        taps_free(&tx);
        return -1;
    }
    int cap = ty.max + BAND_ROWS;
    /* cap source rows, one canvas row and one source row of scratch */
    size_t band = (size_t)cap * (size_t)w * 3, canvas_row = (size_t)w * 3;
    float *rows = malloc((band + canvas_row + (size_t)r.w * 3) * sizeof *rows);
    if (!rows) {
        taps_free(&tx);
        taps_free(&ty);
        return anon_fail(err, "out of memory");
    }
    /* Zero what the picture does not cover: the columns right of it and
     * the rows below it, in each plane. */
    for (int c = 0; c < 3; c++) {
        float *plane = out + (size_t)c * (size_t)cols * (size_t)n_rows;
        for (int y = 0; w < cols && y < h; y++)
            memset(plane + (size_t)y * cols + w, 0, (size_t)(cols - w) * sizeof *out);
        memset(plane + (size_t)h * cols, 0, (size_t)(n_rows - h) * (size_t)cols * sizeof *out);
    }
    /* Bands of canvas rows whose source rows fit in the buffer. */
    for (int y0 = 0, y1; y0 < h; y0 = y1) {
        int s0 = ty.first[y0];
        for (y1 = y0 + 1; y1 < h && ty.first[y1] + ty.count[y1] - s0 <= cap; y1++)
            ;
        int s1 = ty.first[y1 - 1] + ty.count[y1 - 1];
        fill_rows(img, r, &tx, w, flip, s0, s1, rows + band + canvas_row, rows);
        fill_columns(&ty, w, cols, n_rows, y0, y1, s0, rows, rows + band, out);
    }
    free(rows);
    taps_free(&tx);
    taps_free(&ty);
    *cw = w;
    *ch = h;
    return 0;
}
