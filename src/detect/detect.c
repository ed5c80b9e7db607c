/* detect.c - finds faces: the detector behind detect.h.
 *
 * Opens the converted model (its entry in the model table, model.h: .cfg +
 * .weights from the model directory) on the chosen engine, then for each
 * photo runs one or more passes, each an N x N canvas through the network
 * (canvas.c), decoded by the model's decoder (model_*.c), suppressed
 * (boxes.c) and mapped back to photo pixels:
 *   - the whole photo, its longer side scaled to N (face-api's own pass);
 *   - per extra scale r, the windows covering the photo enlarged so its
 *     longer side is r * N (tiles.c), or for a model of any input size one
 *     pass of that long side;
 *   - optionally a tiles_x x tiles_y grid of overlapping tiles, each at
 *     native resolution or shrunk to fit N;
 *   - optionally a pyramid of N x N windows covering the photo at a fixed
 *     zoom (canvas pixels per photo pixel) and at its halves, so the
 *     smallest face found is the same on photos of any size;
 *   - each of those mirrored too when `flip` is set.
 * Boxes of all passes are merged by NMS. A model of any input size (YOLO,
 * on an engine that can plan the network again: engine.h reshape) gets on
 * each pass only the picture, padded at the right and bottom to the next
 * multiples of its alignment, rather than an N x N canvas: a 3:2 photo at
 * 640 is a 640 x 448 pass, 30 % less work than 640 x 640, and the same
 * input the ONNX Runtime oracle is given. A detector owns its network and
 * buffers, so it is used by one thread at a time. */
#include "detect/detect.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect/canvas.h"
#include "engine/engine.h"
#include "detect/model.h"
#include "detect/tiles.h"

/* The largest pass of a model of any input size, in pixels on its long
 * side (a 8192 x 8192 YOLO pass takes about 1.5 GB of layer outputs). */
#define MAX_PASS_SIDE 8192

struct anon_detector {
    const anon_model *model;
    const anon_engine *engine;
    anon_net *net;
    int n;              /* square input size of the cfg */
    bool any_size;      /* the model and the engine run any aligned size */
    float *input;       /* 3 planes of the canvas */
    size_t input_floats;
    void *model_data;   /* the model's prepare() (SSD: its priors) */
    anon_boxes pass;    /* scratch: one pass's boxes */
    int passes;         /* network runs of the last anon_detect */
};

bool anon_detect_single_pass(const anon_detect_options *o)
{
    return o->n_scales == 0 && !(o->tiles_x > 0 && o->tiles_y > 0) && !(o->zoom > 0);
}

void anon_detect_options_default(anon_detect_options *o, const anon_model *model)
{
    if (!model)
        model = anon_model_default();
    *o = (anon_detect_options){
        .thresh = model->thresh,
        .nms_iou = model->nms_iou,
        .tile_overlap = 0.2f,
        .edge_margin = 2,
    };
}

static int file_exists(const char *path)
{
    return access(path, R_OK) == 0;
}

/* The model directory: the configured one, else the installed models next
 * to the binary (PREFIX/share/anon/models), else .cache/models. */
static int find_model_dir(const char *configured, const anon_model *m, char *dir,
                          size_t size, anon_error *err)
{
    char probe[PATH_MAX + 64];
    if (configured && configured[0]) {
        snprintf(dir, size, "%s", configured);
        return 0;
    }
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(probe, sizeof probe, "%s/../share/anon/models/%s", exe, m->cfg_file);
            int k = snprintf(dir, size, "%s/../share/anon/models", exe);
            if (file_exists(probe) && k > 0 && (size_t)k < size)
                return 0;
        }
    }
    snprintf(probe, sizeof probe, ".cache/models/%s", m->cfg_file);
    if (file_exists(probe)) {
        snprintf(dir, size, ".cache/models");
        return 0;
    }
    return anon_fail(err, "no %s model found: set ANON_MODEL_DIR (make models builds .cache/models)",
                     m->name);
}

/* d->input large enough for a cols x rows canvas. */
static int input_room(anon_detector *d, int cols, int rows, anon_error *err)
{
    size_t need = (size_t)3 * (size_t)cols * (size_t)rows;
    if (need <= d->input_floats)
        return 0;
    free(d->input);
    d->input_floats = 0;
    d->input = malloc(need * sizeof *d->input);
    if (!d->input)
        return anon_fail(err, "out of memory");
    d->input_floats = need;
    return 0;
}

static int open_network(anon_detector *d, const anon_detector_config *cfg, anon_error *err)
{
    const anon_model *m = d->model;
    char dir[PATH_MAX], cfg_path[PATH_MAX + 32], weights_path[PATH_MAX + 32];
    if (find_model_dir(cfg->model_dir, m, dir, sizeof dir, err))
        return -1;
    snprintf(cfg_path, sizeof cfg_path, "%s/%s", dir, m->cfg_file);
    snprintf(weights_path, sizeof weights_path, "%s/%s", dir, m->weights_file);
    d->net = d->engine->load(cfg_path, weights_path, cfg->threads, err);
    if (!d->net)
        return -1;
    int c, h, w;
    d->engine->input_shape(d->net, &c, &h, &w);
    if (c != 3 || h != w || h < 32 || h > 4096)
        return anon_fail(err, "%s: input %dx%dx%d, expected a square RGB input", cfg_path, w, h, c);
    d->n = h;
    d->any_size = m->align > 0 && d->engine->reshape != NULL;
    if (m->prepare && m->prepare(d->engine, d->net, weights_path, &d->model_data, err))
        return -1;
    return input_room(d, d->n, d->n, err);
}

anon_detector *anon_detector_open(const anon_detector_config *cfg, anon_error *err)
{
    if (!cfg) {
        anon_fail(err, "unknown face model");
        return NULL;
    }
    const char *engine = cfg->engine && cfg->engine[0] ? cfg->engine : anon_engine_default();
    anon_detector *d = calloc(1, sizeof *d);
    if (!d) {
        anon_fail(err, "out of memory");
        return NULL;
    }
    d->model = cfg->model ? cfg->model : anon_model_default();
    d->engine = anon_engine_find(engine);
    if (!d->engine) {
        anon_fail(err, "unknown inference engine \"%s\"", engine);
        anon_detector_close(d);
        return NULL;
    }
    if (open_network(d, cfg, err)) {
        anon_detector_close(d);
        return NULL;
    }
    return d;
}

void anon_detector_close(anon_detector *d)
{
    if (!d)
        return;
    if (d->net)
        d->engine->free(d->net);
    free(d->input);
    if (d->model_data && d->model->release)
        d->model->release(d->model_data);
    anon_boxes_free(&d->pass);
    free(d);
}

static void normalize_input(const anon_input_norm *norm, float *planes, size_t plane)
{
    for (int c = 0; c < 3; c++) {
        float *p = planes + (size_t)c * plane;
        for (size_t i = 0; i < plane; i++)
            p[i] = p[i] * norm->mul[c] + norm->add[c];
    }
}

/* Keeps the boxes of b that score above thresh or are at least min_h tall
 * (canvas-relative); the others scored only above the large-face threshold. */
static void keep_large_or_above(anon_boxes *b, float thresh, float min_h)
{
    size_t kept = 0;
    for (size_t i = 0; i < b->n; i++)
        if (b->v[i].score > thresh || b->v[i].h >= min_h)
            b->v[kept++] = b->v[i];
    b->n = kept;
}

/* Runs the network on the cols x rows canvas in d->input and leaves the
 * decoded, suppressed boxes (canvas-relative) in d->pass. */
static int run_canvas(anon_detector *d, int cols, int rows, const anon_detect_options *opt,
                      anon_error *err)
{
    d->pass.n = 0;
    normalize_input(&d->model->norm, d->input, (size_t)cols * (size_t)rows);
    if (d->any_size && d->engine->reshape(d->net, cols, rows, err))
        return -1;
    if (d->engine->forward(d->net, d->input, err))
        return -1;
    anon_model_output o = {d->engine, d->net, d->model_data};
    bool large = opt->large_face > 0 && opt->large_thresh < opt->thresh;
    if (d->model->decode(&o, large ? opt->large_thresh : opt->thresh, &d->pass, err))
        return -1;
    if (large)
        keep_large_or_above(&d->pass, opt->thresh, (float)opt->large_face / (float)rows);
    anon_nms(&d->pass, opt->nms_iou);
    return 0;
}

/* N: the side of the model's canvas, or for a model of any input size the
 * long side of its passes. */
static int pass_side(const anon_detector *d, const anon_detect_options *opt)
{
    return d->any_size && opt->input_size > 0 ? opt->input_size : d->n;
}

/* One pass over rectangle r of the photo at `scale` canvas pixels per photo
 * pixel, on a canvas of side n; appends its boxes, in photo pixels and
 * clipped, to out. */
static int run_pass_at(anon_detector *d, const anon_image *img, anon_rect r, double scale,
                       int n, bool flip, const anon_detect_options *opt, anon_boxes *out,
                       anon_error *err)
{
    int cols = n, rows = n, cw, ch;
    if (d->any_size) {   /* the picture alone, padded to the alignment */
        int a = d->model->align;
        cols = (anon_canvas_extent(r.w, scale, n) + a - 1) / a * a;
        rows = (anon_canvas_extent(r.h, scale, n) + a - 1) / a * a;
    }
    if (input_room(d, cols, rows, err) ||
        anon_canvas_fill(img, r, scale, flip, cols, rows, d->input, &cw, &ch, err) ||
        run_canvas(d, cols, rows, opt, err))
        return -1;
    /* canvas-relative -> canvas pixels -> photo pixels, per axis like face-api */
    float sx = (float)cols * r.w / cw, sy = (float)rows * r.h / ch;
    float margin = opt->edge_margin / (float)scale;
    anon_span along_x = {r.x, r.w}, along_y = {r.y, r.h};
    for (size_t i = 0; i < d->pass.n; i++) {
        const anon_box *b = &d->pass.v[i];
        float x = b->x * sx, w = b->w * sx;
        if (flip)
            x = r.w - x - w;
        float x0 = r.x + x, y0 = r.y + b->y * sy;
        float x1 = x0 + w, y1 = y0 + b->h * sy;
        if (margin > 0 && (anon_span_cuts(along_x, img->width, x0, x1, margin) ||
                           anon_span_cuts(along_y, img->height, y0, y1, margin)))
            continue;
        if (x0 < 0) x0 = 0;
        if (y0 < 0) y0 = 0;
        if (x1 > img->width) x1 = (float)img->width;
        if (y1 > img->height) y1 = (float)img->height;
        if (!(x1 > x0 && y1 > y0))
            continue;
        anon_box box = {.x = x0, .y = y0, .w = x1 - x0, .h = y1 - y0, .score = b->score};
        if ((box.w > box.h ? box.w : box.h) < (float)opt->min_face)
            continue;
        if (anon_boxes_push(out, box, err))
            return -1;
    }
    return 0;
}

static int run_pass(anon_detector *d, const anon_image *img, anon_rect r, double scale,
                    bool flip, const anon_detect_options *opt, anon_boxes *out,
                    anon_error *err)
{
    return run_pass_at(d, img, r, scale, pass_side(d, opt), flip, opt, out, err);
}

/* Passes over the grid of rectangles xs x ys of the photo on canvases of
 * side n, at `scale`, or when scale is 0 each at native resolution (shrunk
 * only to fit the canvas). */
static int run_grid(anon_detector *d, const anon_image *img, const anon_span *xs, int nx,
                    const anon_span *ys, int ny, int n, double scale, bool flip,
                    const anon_detect_options *opt, anon_boxes *out, int *passes,
                    anon_error *err)
{
    for (int j = 0; j < ny; j++)
        for (int i = 0; i < nx; i++) {
            anon_rect r = {xs[i].start, ys[j].start, xs[i].len, ys[j].len};
            int longer = r.w > r.h ? r.w : r.h;
            double s = scale > 0 ? scale : longer > n ? (double)n / longer : 1.0;
            if (run_pass_at(d, img, r, s, n, flip, opt, out, err))
                return -1;
            ++*passes;
        }
    return 0;
}

/* Passes over the windows of `side` canvas px covering the photo at
 * `scale` canvas pixels per photo pixel. */
static int run_windows(anon_detector *d, const anon_image *img, int side, double scale,
                       bool flip, const anon_detect_options *opt, anon_boxes *out,
                       int *passes, anon_error *err)
{
    int window = (int)(side / scale);
    anon_span xs[ANON_MAX_SPANS], ys[ANON_MAX_SPANS];
    int nx = anon_window_spans(img->width, window, opt->tile_overlap, xs);
    int ny = anon_window_spans(img->height, window, opt->tile_overlap, ys);
    return run_grid(d, img, xs, nx, ys, ny, side, scale, flip, opt, out, passes, err);
}

/* Passes over the windows covering the photo enlarged by `ratio`. */
static int run_scale(anon_detector *d, const anon_image *img, float ratio, bool flip,
                     const anon_detect_options *opt, anon_boxes *out, int *passes,
                     anon_error *err)
{
    int longer = img->width > img->height ? img->width : img->height;
    double scale = ratio * pass_side(d, opt) / longer;
    if (d->any_size) {   /* one pass of long side ratio * N */
        anon_rect whole = {0, 0, img->width, img->height};
        long n = lround(ratio * pass_side(d, opt));
        if (n < 32 || n > MAX_PASS_SIDE)
            return anon_fail(err, "detect: scale %g gives a %ld px pass (32..%d)", ratio, n,
                             MAX_PASS_SIDE);
        ++*passes;
        return run_pass_at(d, img, whole, scale, (int)n, flip, opt, out, err);
    }
    return run_windows(d, img, pass_side(d, opt), scale, flip, opt, out, passes, err);
}

/* Passes over the tiles_x x tiles_y grid of overlapping tiles. */
static int run_tiles(anon_detector *d, const anon_image *img, bool flip,
                     const anon_detect_options *opt, anon_boxes *out, int *passes,
                     anon_error *err)
{
    anon_span xs[ANON_MAX_SPANS], ys[ANON_MAX_SPANS];
    int nx = anon_tile_spans(img->width, opt->tiles_x, opt->tile_overlap, xs);
    int ny = anon_tile_spans(img->height, opt->tiles_y, opt->tile_overlap, ys);
    return run_grid(d, img, xs, nx, ys, ny, pass_side(d, opt), 0, flip, opt, out, passes,
                    err);
}

/* Where the window passes go (see run_all): windows of `side` canvas px
 * at zoom levels from the finest down, halving, while a level shows the
 * photo's long side larger than `floor` canvas px; `one_level`: the
 * finest level only. */
typedef struct window_plan {
    int side;
    double floor;
    bool one_level;
} window_plan;

/* A model of one input size (SSD, tiny): the pyramid of N x N windows down
 * to the whole-photo pass. A model of any input size (YOLO) finds faces
 * from about 12 to 200 input px in one pass, so its whole-photo passes
 * already see every face they show at 12 px or more, and windows help only
 * on photos much larger than those passes: one level, windows the size of
 * the largest whole-photo pass, and only where that level is more than
 * WINDOW_GAIN times as fine as that pass. */
#define WINDOW_GAIN 1.5

static window_plan plan_windows(const anon_detector *d, const anon_detect_options *opt)
{
    int n = pass_side(d, opt);
    if (!d->any_size)
        return (window_plan){n, n, false};
    int largest = n;
    for (int i = 0; i < opt->n_scales; i++)
        if (opt->scales[i] > 0 && lround(opt->scales[i] * n) > largest)
            largest = (int)lround(opt->scales[i] * n);
    if (largest > MAX_PASS_SIDE)
        largest = MAX_PASS_SIDE;
    return (window_plan){largest, WINDOW_GAIN * largest, true};
}

/* The window levels, from the finest zoom down, halving (one level only
 * when the plan says so), while a level shows the photo finer than the
 * whole-photo passes already did. */
static bool window_level_shows_more(const window_plan *w, double zoom, int longer)
{
    return zoom > 0 && zoom * longer > w->floor;
}

static double window_level_next(const window_plan *w, double zoom)
{
    return w->one_level ? 0 : zoom / 2;
}

/* Passes of the window levels from `zoom` down (see run_all). */
static int pyramid_passes(int width, int height, const window_plan *w, double zoom,
                          float overlap)
{
    int longer = width > height ? width : height, count = 0;
    anon_span spans[ANON_MAX_SPANS];
    for (; window_level_shows_more(w, zoom, longer); zoom = window_level_next(w, zoom)) {
        int window = (int)(w->side / zoom);
        count += anon_window_spans(width, window, overlap, spans) *
                 anon_window_spans(height, window, overlap, spans);
    }
    return count;
}

/* The finest zoom: opt->zoom, lowered in steps of 5 % until the window
 * passes fit in opt->max_passes (large photos), so a preset's time per
 * photo stays bounded. */
static double pyramid_zoom(int width, int height, const window_plan *w,
                           const anon_detect_options *opt)
{
    double zoom = opt->zoom;
    while (opt->max_passes > 0 && zoom > 0 &&
           pyramid_passes(width, height, w, zoom, opt->tile_overlap) > opt->max_passes)
        zoom *= 0.95;
    return zoom;
}

static int run_all(anon_detector *d, const anon_image *img, bool flip,
                   const anon_detect_options *opt, anon_boxes *out, int *passes,
                   anon_error *err)
{
    anon_rect whole = {0, 0, img->width, img->height};
    int longer = img->width > img->height ? img->width : img->height, n = pass_side(d, opt);
    if (run_pass(d, img, whole, (double)n / longer, flip, opt, out, err))
        return -1;
    ++*passes;
    for (int i = 0; i < opt->n_scales; i++)
        if (opt->scales[i] > 0 &&
            run_scale(d, img, opt->scales[i], flip, opt, out, passes, err))
            return -1;
    if (opt->tiles_x > 0 && opt->tiles_y > 0 &&
        run_tiles(d, img, flip, opt, out, passes, err))
        return -1;
    /* the window passes, down to what the whole-photo passes already show */
    window_plan w = plan_windows(d, opt);
    double finest = pyramid_zoom(img->width, img->height, &w, opt);
    for (double zoom = finest; window_level_shows_more(&w, zoom, longer);
         zoom = window_level_next(&w, zoom))
        if (run_windows(d, img, w.side, zoom, flip, opt, out, passes, err))
            return -1;
    return 0;
}

int anon_detect(anon_detector *d, const anon_image *img, const anon_detect_options *opt,
                anon_boxes *out, anon_error *err)
{
    if (!d || !img || !opt || !out)
        return anon_fail(err, "detect: missing argument");
    if (!img->pixels || img->width <= 0 || img->height <= 0 ||
        (img->channels != 3 && img->channels != 4))
        return anon_fail(err, "detect: not an RGB(A) image");
    if (opt->n_scales < 0 || (opt->n_scales > 0 && !opt->scales))
        return anon_fail(err, "detect: bad scales");
    if (opt->input_size != 0 && (opt->input_size < 32 || opt->input_size > MAX_PASS_SIDE))
        return anon_fail(err, "detect: input size %d outside 32..%d", opt->input_size,
                         MAX_PASS_SIDE);
    anon_boxes found = {0};
    int passes = 0;
    int rc = run_all(d, img, false, opt, &found, &passes, err);
    if (rc == 0 && opt->flip)
        rc = run_all(d, img, true, opt, &found, &passes, err);
    d->passes = passes;
    if (rc == 0 && passes > 1)
        anon_nms(&found, opt->nms_iou);
    for (size_t i = 0; rc == 0 && i < found.n; i++)
        rc = anon_boxes_push(out, found.v[i], err);
    anon_boxes_free(&found);
    return rc;
}

int anon_detector_passes(const anon_detector *d)
{
    return d ? d->passes : 0;
}
