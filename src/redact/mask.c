/* mask.c - the masks (see mask.h): the region a face's anonymization may
 * change, the core it replaces and the weights of the soft edge around it.
 * The per-row functions are what the blur (blur.c) calls so that only the
 * soft edge pays for square roots. */
#include "redact/mask.h"

#include <math.h>
#ifdef __SSE__
#include <xmmintrin.h>
#endif

#define BLOCKS_PER_FACE 8
#define MIN_BLOCK 4
/* Soft edge: 15 % of the smaller half-axis, between 2 and 16 pixels. */
#define FEATHER_FRACTION 0.15f
#define FEATHER_MIN 2.0f
#define FEATHER_MAX 16.0f

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

bool anon_mask_make(const anon_box *box, float mask_scale, bool rectangle, int width,
                    int height, anon_mask *m)
{
    if (!(isfinite(box->x) && isfinite(box->y) && box->w > 0 && box->h > 0 &&
          isfinite(box->w) && isfinite(box->h)))
        return false;
    float scale = mask_scale > 0 && isfinite(mask_scale) ? mask_scale : 1.0f;
    m->cx = box->x + box->w / 2;
    m->cy = box->y + box->h / 2;
    m->rx = box->w * scale / 2;
    m->ry = box->h * scale / 2;
    m->rectangle = rectangle;
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

static float weight_at_distance(const anon_mask *m, float dist)
{
    if (dist <= 0)
        return 1;
    float w = 1 - dist / m->feather;
    return w > 0 ? w : 0;
}

float anon_mask_weight(const anon_mask *m, int x, int y)
{
    if (x < m->x0 || x >= m->x1 || y < m->y0 || y >= m->y1)
        return 0;
    return weight_at_distance(m, distance_outside(m, x, y));
}

/* Same test as distance_outside, solved for x, then nudged so that every
 * column inside passes it. */
void anon_mask_core_span(const anon_mask *m, int y, int *c0, int *c1)
{
    float dy = (float)y + 0.5f - m->cy;
    float half;
    if (m->rectangle) {
        half = fabsf(dy) <= m->ry ? m->rx : -1;
    } else {
        float v = dy / m->ry;
        half = v * v <= 1 ? m->rx * sqrtf(1 - v * v) : -1;
    }
    *c0 = *c1 = m->x0;
    if (half < 0)
        return;
    int a = clampi((int)ceilf(m->cx - half - 0.5f), m->x0, m->x1);
    int b = clampi((int)floorf(m->cx + half - 0.5f) + 1, a, m->x1);
    while (a < b && distance_outside(m, a, y) > 0)
        a++;
    while (b > a && distance_outside(m, b - 1, y) > 0)
        b--;
    *c0 = a;
    *c1 = b;
}

void anon_mask_outer_span(const anon_mask *m, int y, int *lo, int *hi)
{
    float dy = (float)y + 0.5f - m->cy, half;
    if (m->rectangle) {
        half = fabsf(dy) < m->ry + m->feather ? m->rx + m->feather : -1;
    } else {
        float s = 1 + m->feather / fminf(m->rx, m->ry), v = dy / (m->ry * s);
        half = v * v < 1 ? m->rx * s * sqrtf(1 - v * v) : -1;
    }
    if (half < 0) {
        *lo = *hi = m->x0;
        return;
    }
    *lo = clampi((int)floorf(m->cx - half - 0.5f) - 1, m->x0, m->x1);
    *hi = clampi((int)ceilf(m->cx + half - 0.5f) + 2, *lo, m->x1);
}

/* x[0..n) = their square roots, n a multiple of 4: four at a time where
 * SSE is there (the compiler will not vectorize sqrtf itself, as it may
 * set errno). */
static inline void sqrt_all(float *x, int n)
{
    int i = 0;
#ifdef __SSE__
    for (; i < n; i += 4)
        _mm_storeu_ps(x + i, _mm_sqrt_ps(_mm_loadu_ps(x + i)));
#endif
    for (; i < n; i++)
        x[i] = sqrtf(x[i]);
}

/* The ellipse's weights for n columns of one row: distance_outside and
 * weight_at_distance, operation for operation, with the terms that
 * depend only on the column (uu, gg) or only on the row (vv, gvv) made
 * once. n is a multiple of 16, so that no loop has a scalar tail;
 * d and g are scratch. */
ANON_REDACT_VECTORIZED
static void ellipse_weights(const float *uu, const float *gg, float vv, float gvv, float feather,
                            float *restrict d, float *restrict g, float *restrict out, int n)
{
    for (int i = 0; i < n; i++) {
        d[i] = uu[i] + vv;
        g[i] = gg[i] + gvv;
    }
    sqrt_all(d, n);
    sqrt_all(g, n);
    for (int i = 0; i < n; i++) {
        float dist = (d[i] - 1) * d[i] / g[i], w = 1 - dist / feather;
        out[i] = d[i] <= 1 || dist <= 0 ? 1 : w > 0 ? w : 0;
    }
}

void anon_mask_column_terms(const anon_mask *m, anon_mask_rows *r)
{
    for (int x = m->x0; x < m->x1; x++) {
        float dx = (float)x + 0.5f - m->cx, u = dx / m->rx, gu = u / m->rx;
        r->uu[x - m->x0] = u * u;
        r->gg[x - m->x0] = gu * gu;
    }
}

void anon_mask_edge_weights(const anon_mask *m, const anon_mask_rows *r, int iy, int from,
                            int to)
{
    float *out = r->weight + (from - m->x0);
    if (m->rectangle) {
        for (int x = from; x < to; x++)
            out[x - from] = weight_at_distance(m, distance_outside(m, x, iy));
        return;
    }
    float dy = (float)iy + 0.5f - m->cy, v = dy / m->ry, gv = v / m->ry;
    int whole = (to - from + 15) / 16 * 16;   /* no scalar tail: the rows are padded */
    ellipse_weights(r->uu + (from - m->x0), r->gg + (from - m->x0), v * v, gv * gv, m->feather,
                    r->d, r->g, out, whole);
}

