/* orient.c - EXIF orientation applied to pixels (see orient.h). */
#include "image/orient.h"

#include <stdbool.h>
#include <string.h>

int anon_orientation_inverse(int orientation)
{
    return orientation == 6 ? 8 : orientation == 8 ? 6 : orientation;
}

/* Where the upright pixel (x, y) lives in the stored w x h image. */
static void stored_position(int orientation, int w, int h, int x, int y, int *sx, int *sy)
{
    switch (orientation) {
    case 2:  *sx = w - 1 - x; *sy = y;         break;
    case 3:  *sx = w - 1 - x; *sy = h - 1 - y; break;
    case 4:  *sx = x;         *sy = h - 1 - y; break;
    case 5:  *sx = y;         *sy = x;         break;
    case 6:  *sx = y;         *sy = h - 1 - x; break;
    case 7:  *sx = w - 1 - y; *sy = h - 1 - x; break;
    case 8:  *sx = w - 1 - y; *sy = x;         break;
    default: *sx = x;         *sy = y;         break;
    }
}

/* One pixel of 3 or 4 bytes; constant sizes let the compiler inline it. */
static inline void copy_pixel(uint8_t *out, const uint8_t *in, size_t c)
{
    if (c == 3)
        memcpy(out, in, 3);
    else
        memcpy(out, in, 4);
}

/* Byte offset in up of the upright place of stored pixel (sx, sy). */
static ptrdiff_t upright_offset(const anon_image *up, int orientation, int sx, int sy)
{
    int ux, uy;
    stored_position(anon_orientation_inverse(orientation), up->width, up->height, sx, sy,
                    &ux, &uy);
    return ((ptrdiff_t)uy * up->width + ux) * up->channels;
}

anon_rect anon_orient_rect(int orientation, int uw, int uh, anon_rect r)
{
    if (r.w <= 0 || r.h <= 0)
        return (anon_rect){0, 0, 0, 0};
    int inv = anon_orientation_inverse(orientation);
    int ax, ay, bx, by;    /* the upright places of two opposite corner pixels */
    stored_position(inv, uw, uh, r.x, r.y, &ax, &ay);
    stored_position(inv, uw, uh, r.x + r.w - 1, r.y + r.h - 1, &bx, &by);
    int x0 = ax < bx ? ax : bx, y0 = ay < by ? ay : by;
    return (anon_rect){x0, y0, (ax < bx ? bx : ax) - x0 + 1, (ay < by ? by : ay) - y0 + 1};
}

void anon_orient_rows(anon_image *up, int orientation, int sy0, int nrows,
                      const uint8_t *rows, size_t stride)
{
    const size_t c = (size_t)up->channels;
    const int sw = orientation >= 5 ? up->height : up->width;
    if (nrows <= 0)
        return;
    /* Along a stored row, and from one stored row to the next, the upright
     * position moves by constant steps. */
    const ptrdiff_t base = upright_offset(up, orientation, 0, sy0);
    const ptrdiff_t step = upright_offset(up, orientation, 1, sy0) - base;
    const ptrdiff_t row_step = upright_offset(up, orientation, 0, sy0 + 1) - base;
    if (step == (ptrdiff_t)c) {
        for (int r = 0; r < nrows; r++)
            memcpy(up->pixels + base + r * row_step, rows + (size_t)r * stride, (size_t)sw * c);
    } else if (orientation < 5) {    /* mirrored rows */
        for (int r = 0; r < nrows; r++) {
            uint8_t *out = up->pixels + base + r * row_step;
            const uint8_t *in = rows + (size_t)r * stride;
            for (int x = 0; x < sw; x++, in += c, out += step)
                copy_pixel(out, in, c);
        }
    } else {
        /* Turned by 90 degrees a stored row becomes a column: walk the
         * strip column by column so that its rows, which land side by side
         * in one upright row, are written together. */
        for (int x = 0; x < sw; x++) {
            uint8_t *out = up->pixels + base + x * step;
            const uint8_t *in = rows + (size_t)x * c;
            for (int r = 0; r < nrows; r++, in += stride, out += row_step)
                copy_pixel(out, in, c);
        }
    }
}

int anon_image_orient(const anon_image *src, int orientation, anon_image *dst,
                      anon_error *err)
{
    if (orientation < 1 || orientation > 8)
        orientation = 1;
    bool swap = orientation >= 5;
    if (anon_image_alloc(dst, swap ? src->height : src->width,
                         swap ? src->width : src->height, src->channels, err) < 0)
        return -1;
    const size_t stride = (size_t)src->width * (size_t)src->channels;
    for (int y = 0; y < src->height; y += ANON_ORIENT_STRIP) {
        int n = src->height - y < ANON_ORIENT_STRIP ? src->height - y : ANON_ORIENT_STRIP;
        anon_orient_rows(dst, orientation, y, n, src->pixels + (size_t)y * stride, stride);
    }
    return 0;
}
