/* draw.c - review copies with the detections drawn (see draw.h). */
#include "redact/draw.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "codec/codec.h"

/* 3x5 glyphs of the characters a score needs; each row's bits are its
 * columns, left to right from bit 2. */
static const uint8_t digit_glyphs[10][5] = {
    {7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7}, {5, 5, 7, 1, 1},
    {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1}, {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7},
};
static const uint8_t dot_glyph[5] = {0, 0, 0, 0, 2};

static const uint8_t outline_rgb[3] = {0, 255, 0};   /* seen on skin, sky and shade */
static const uint8_t text_rgb[3] = {0, 0, 0};

typedef struct { int x0, y0, x1, y1; } span;   /* exclusive ends */

static void fill(anon_image *img, span r, const uint8_t rgb[3])
{
    if (r.x0 < 0) r.x0 = 0;
    if (r.y0 < 0) r.y0 = 0;
    if (r.x1 > img->width) r.x1 = img->width;
    if (r.y1 > img->height) r.y1 = img->height;
    for (int y = r.y0; y < r.y1; y++) {
        uint8_t *p = img->pixels + ((size_t)y * img->width + r.x0) * img->channels;
        for (int x = r.x0; x < r.x1; x++, p += img->channels) {
            memcpy(p, rgb, 3);
            if (img->channels == 4)
                p[3] = 255;
        }
    }
}

static void outline(anon_image *img, span b, int t, const uint8_t rgb[3])
{
    fill(img, (span){b.x0 - t, b.y0 - t, b.x1 + t, b.y0}, rgb);   /* top */
    fill(img, (span){b.x0 - t, b.y1, b.x1 + t, b.y1 + t}, rgb);   /* bottom */
    fill(img, (span){b.x0 - t, b.y0, b.x0, b.y1}, rgb);           /* left */
    fill(img, (span){b.x1, b.y0, b.x1 + t, b.y1}, rgb);           /* right */
}

static const uint8_t *glyph_of(char c)
{
    return c >= '0' && c <= '9' ? digit_glyphs[c - '0'] : c == '.' ? dot_glyph : NULL;
}

/* Writes text with its top-left corner at (x, y), each glyph pixel s x s. */
static void text(anon_image *img, int x, int y, int s, const char *str, const uint8_t rgb[3])
{
    for (; *str; str++, x += 4 * s) {
        const uint8_t *g = glyph_of(*str);
        for (int row = 0; g && row < 5; row++)
            for (int col = 0; col < 3; col++)
                if (g[row] & (4 >> col))
                    fill(img, (span){x + col * s, y + row * s, x + (col + 1) * s,
                                     y + (row + 1) * s}, rgb);
    }
}

static span box_span(const anon_box *b)
{
    return (span){(int)lroundf(b->x), (int)lroundf(b->y), (int)lroundf(b->x + b->w),
                  (int)lroundf(b->y + b->h)};
}

void anon_draw_detections(anon_image *img, const anon_box *boxes, size_t n)
{
    int shorter = img->width < img->height ? img->width : img->height;
    int t = shorter / 400 > 2 ? shorter / 400 : 2;   /* line width */
    int s = shorter / 250 > 3 ? shorter / 250 : 3;    /* text pixel size */
    for (size_t i = 0; i < n; i++) {
        if (!(boxes[i].w > 0 && boxes[i].h > 0))
            continue;   /* degenerate or NaN */
        span b = box_span(&boxes[i]);
        outline(img, b, t, outline_rgb);
        char label[16];
        snprintf(label, sizeof label, "%.2f", (double)boxes[i].score);
        int w = (int)strlen(label) * 4 * s + s, h = 7 * s;
        int y = b.y0 - t - h >= 0 ? b.y0 - t - h : b.y0;   /* above, else inside */
        fill(img, (span){b.x0 - t, y, b.x0 - t + w, y + h}, outline_rgb);
        text(img, b.x0 - t + s, y + s, s, label, text_rgb);
    }
}

int anon_review_copy(anon_detector *d, const uint8_t *in, size_t in_len,
                     const anon_process_options *o, anon_buffer *out, anon_result *res,
                     anon_error *err)
{
    /* The anonymizing pipeline itself finds the faces, so that the copy
     * shows exactly what a run without --draw-boxes blurs; its output is
     * dropped. */
    if (anon_process(d, in, in_len, o, out, res, err) < 0)
        return -1;
    anon_buffer_reset(out);
    anon_image img = {0};
    anon_image_info info;
    anon_decode_options dopt = {.max_pixels = o->max_pixels};
    if (anon_decode(in, in_len, &dopt, &img, &info, err) < 0)
        return -1;
    anon_draw_detections(&img, res->faces.v, res->faces.n);
    anon_encode_options eo = {.jpeg_quality = o->jpeg_quality};
    int rc = anon_encode(&img, info.format, &eo, out, err);
    anon_image_free(&img);
    return rc;
}
