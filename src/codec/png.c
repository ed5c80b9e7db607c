/* png.c - PNG decode and encode through libpng.
 *
 * Part of the codec layer behind codec.h. Every PNG flavour (1-16 bit,
 * gray, gray+alpha, palette with or without tRNS, RGB, RGBA, Adam7
 * interlaced) decodes to 8-bit RGB or RGBA; 16-bit samples are scaled
 * (rounded), not truncated. Decompression bombs are stopped before
 * inflating: the caller's pixel limit is checked on the IHDR (codec.c),
 * libpng's own user limits cap the sides, and ancillary chunks that only
 * carry metadata are skipped unread so their compressed text cannot
 * balloon. Output is 8-bit RGB/RGBA with no ancillary chunk except the
 * source's RGB colour profile (iCCP) and the kept EXIF subset (eXIf) when
 * asked. A damaged PNG (cut short, an image data chunk whose CRC does not
 * match, a zlib stream that goes wrong) decodes like a damaged JPEG: the
 * rows that arrived whole from sound data, each problem a warning and the
 * other rows info->damaged (which anon_decode greys); it fails only when
 * no row arrived at all. */
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "codec/png_private.h"
#include "image/metadata.h"

/* Ancillary chunk payloads libpng may allocate; larger ones are dropped. */
#define PNG_CHUNK_MALLOC_MAX (8u << 20)
#define PNG_CHUNK_CACHE_MAX 128
/* zlib level for output: 3 is about 3x faster than 6 for ~5% larger files. */
#define PNG_WRITE_LEVEL 3

/* ---------------------------------------------------------------- decode */

typedef struct png_io {
    const uint8_t *data;
    size_t len, pos;
    anon_buffer *out;
    char why[256];
    anon_image_info *info;
    /* Decoding: the bytes libpng may read (up to the first image data
     * chunk whose CRC does not match, else all) and why it may not read
     * on; the row being read (pass, image row) while rows are, and where
     * the first problem met them (damage_pass -1: none). */
    size_t limit;
    char cut[96];
    bool in_rows;
    int pass, row, damage_pass, damage_row;
} png_io;

/* A problem met while rows are read spoils them from the one in hand on. */
static void note_damage(png_io *io)
{
    if (io->in_rows && io->damage_pass < 0) {
        io->damage_pass = io->pass;
        io->damage_row = io->row;
    }
}

static void on_png_error(png_structp png, png_const_charp msg)
{
    png_io *io = png_get_error_ptr(png);
    snprintf(io->why, sizeof io->why, "%s", msg);
    note_damage(io);
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg)
{
    png_io *io = png_get_error_ptr(png);
    note_damage(io);
    if (io->info != NULL)
        anon_info_warn(io->info, msg);
}

static void read_from_memory(png_structp png, png_bytep dst, size_t n)
{
    png_io *io = png_get_io_ptr(png);
    if (n > io->limit - io->pos)
        png_error(png, io->cut);
    memcpy(dst, io->data + io->pos, n);
    io->pos += n;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* libpng checks a chunk's CRC only after the chunk's data went through
 * zlib into rows: the rows of a chunk with a bit error would arrive
 * before the error. So the image data chunks are checked first, and
 * libpng reads no further than the first one that fails, as if the file
 * ended there: every row it delivers comes from sound data. */
static void limit_to_sound_data(png_io *io)
{
    io->limit = io->len;
    snprintf(io->cut, sizeof io->cut, "truncated PNG data");
    for (size_t at = 8; at + 12 <= io->len;) {
        uint32_t n = be32(io->data + at);
        const uint8_t *type = io->data + at + 4;
        if (n > io->len - at - 12 || memcmp(type, "IEND", 4) == 0)
            return;    /* cut short: libpng finds that out itself */
        if (memcmp(type, "IDAT", 4) == 0 &&
            crc32(0, type, n + 4) != be32(io->data + at + 8 + n)) {
            io->limit = at + 8;
            snprintf(io->cut, sizeof io->cut, "IDAT: CRC error (image data chunk at byte %zu)",
                     at);
            return;
        }
        at += 12 + (size_t)n;
    }
}

/* Adam7 (PNG spec 8.2): the first row, the row step and the first column
 * of each pass. */
static const int adam7_y0[7] = {0, 0, 4, 0, 2, 0, 1};
static const int adam7_dy[7] = {8, 8, 8, 4, 4, 2, 2};
static const int adam7_x0[7] = {0, 4, 0, 2, 0, 1, 0};

/* The first row of a w x h image that lacks a pixel when reading stopped
 * in row `row` of pass `pass` (0 for a plain image): every later pass
 * still had pixels for it to come. */
static int first_unread_row(bool interlaced, int w, int h, int pass, int row)
{
    if (!interlaced)
        return row;
    int first = h;
    for (int q = pass; q < 7; q++) {
        if (adam7_x0[q] >= w || adam7_y0[q] >= h)
            continue;    /* an empty pass */
        int y = adam7_y0[q];
        if (q == pass && row > y)
            y += (row - y + adam7_dy[q] - 1) / adam7_dy[q] * adam7_dy[q];
        first = y < first ? y : first;
    }
    return first;
}

/* Chunks that carry only metadata: never read, so never inflated. */
static void skip_metadata_chunks(png_structp png)
{
    static const png_byte skipped[] = "tEXt\0zTXt\0iTXt\0eXIf\0iCCP\0sPLT\0tIME\0";
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, skipped,
                                (int)(sizeof skipped / 5));
}

/* Asks libpng for 8-bit RGB or RGBA whatever the file holds. */
static void request_rgb8(png_structp png, png_infop pi)
{
    int color_type = png_get_color_type(png, pi);
    int depth = png_get_bit_depth(png, pi);
    if (depth == 16)
        png_set_scale_16(png);
    if (color_type == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, pi, PNG_INFO_tRNS))
        png_set_tRNS_to_alpha(png);
    if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(png);
    png_read_update_info(png, pi);
}

typedef struct png_decode_ctx {
    png_io io;
    png_structp png;
    png_infop pi;
    anon_image img;
    png_bytep *rows;
    bool interlaced;
    bool rows_done;
} png_decode_ctx;

/* Reads the rows one by one (each pass of an interlaced image over them
 * all, as png_read_image does), noting which one is in hand. */
static void read_rows(png_decode_ctx *ctx)
{
    png_io *io = &ctx->io;
    int passes = ctx->interlaced ? 7 : 1;
    io->in_rows = true;
    for (io->pass = 0; io->pass < passes; io->pass++)
        for (io->row = 0; io->row < ctx->img.height; io->row++)
            png_read_row(ctx->png, ctx->rows[io->row], NULL);
    io->in_rows = false;
}

static void decode_body(png_decode_ctx *ctx)
{
    png_structp png = ctx->png;
    png_set_read_fn(png, &ctx->io, read_from_memory);
    png_set_user_limits(png, ANON_MAX_DIMENSION, ANON_MAX_DIMENSION);
    png_set_chunk_cache_max(png, PNG_CHUNK_CACHE_MAX);
    png_set_chunk_malloc_max(png, PNG_CHUNK_MALLOC_MAX);
    skip_metadata_chunks(png);
    png_read_info(png, ctx->pi);
    ctx->interlaced = png_set_interlace_handling(png) > 1;
    request_rgb8(png, ctx->pi);
    int channels = png_get_channels(png, ctx->pi);
    int w = (int)png_get_image_width(png, ctx->pi), h = (int)png_get_image_height(png, ctx->pi);
    anon_error aerr;
    if ((channels != 3 && channels != 4) || png_get_bit_depth(png, ctx->pi) != 8)
        png_error(png, "unexpected pixel layout after conversion");
    if (anon_image_alloc(&ctx->img, w, h, channels, &aerr) < 0)
        png_error(png, aerr.msg);
    if ((ctx->rows = malloc(sizeof *ctx->rows * (size_t)h)) == NULL)
        png_error(png, "out of memory");
    for (int y = 0; y < h; y++)
        ctx->rows[y] = ctx->img.pixels + (size_t)y * (size_t)w * (size_t)channels;
    read_rows(ctx);
    ctx->rows_done = true;
    png_read_end(png, NULL);
}

/* After a problem met while rows were read: from the first row that lacks
 * a pixel on (the rest of the buffer was never written, or written after
 * the problem) as info->damaged, which anon_decode fills. */
static void note_damaged_rows(const png_decode_ctx *ctx, anon_image_info *info)
{
    const png_io *io = &ctx->io;
    int w = ctx->img.width, h = ctx->img.height;
    int y0 = first_unread_row(ctx->interlaced, w, h, io->damage_pass, io->damage_row);
    if (info != NULL && y0 < h)
        info->damaged = (anon_rect){0, y0, w, h - y0};
}

/* Whether a decode that failed has rows to offer: all of them (only the
 * trailer is damaged), or some before the problem. An interlaced file cut
 * in an early pass has none yet: every row still lacks pixels. */
static bool rows_to_offer(const png_decode_ctx *ctx)
{
    const png_io *io = &ctx->io;
    return ctx->rows_done ||
           (io->damage_pass >= 0 && first_unread_row(ctx->interlaced, ctx->img.width,
                                                     ctx->img.height, io->damage_pass,
                                                     io->damage_row) > 0);
}

int anon_png_decode(const uint8_t *data, size_t len, anon_image *img,
                    anon_image_info *info, anon_error *err)
{
    png_decode_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL)
        return anon_fail(err, "out of memory");
    ctx->io = (png_io){.data = data, .len = len, .info = info, .damage_pass = -1};
    limit_to_sound_data(&ctx->io);
    ctx->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx->io, on_png_error,
                                      on_png_warning);
    ctx->pi = ctx->png ? png_create_info_struct(ctx->png) : NULL;
    if (ctx->pi == NULL) {
        png_destroy_read_struct(&ctx->png, NULL, NULL);
        free(ctx);
        return anon_fail(err, "out of memory");
    }
    int rc = 0;
    if (setjmp(png_jmpbuf(ctx->png)) == 0) {
        decode_body(ctx);
        if (ctx->io.damage_pass >= 0)    /* a warning met the rows */
            note_damaged_rows(ctx, info);
        *img = ctx->img;
    } else if (rows_to_offer(ctx)) {
        if (!ctx->rows_done)
            note_damaged_rows(ctx, info);
        if (info != NULL)
            anon_info_warn(info, ctx->io.why);
        *img = ctx->img;
    } else {
        anon_image_free(&ctx->img);
        rc = anon_fail(err, "PNG: %s", ctx->io.why);
    }
    png_destroy_read_struct(&ctx->png, &ctx->pi, NULL);
    free(ctx->rows);
    free(ctx);
    return rc;
}

/* ---------------------------------------------------------------- encode */

static void write_to_buffer(png_structp png, png_bytep src, size_t n)
{
    png_io *io = png_get_io_ptr(png);
    anon_error aerr;
    if (anon_buffer_append(io->out, src, n, &aerr) < 0)
        png_error(png, aerr.msg);
}

static void flush_nothing(png_structp png)
{
    (void)png;
}

typedef struct png_encode_ctx {
    png_io io;
    png_structp png;
    png_infop pi;
    anon_buffer exif, icc;
    png_bytep *rows;
} png_encode_ctx;

static void encode_body(png_encode_ctx *ctx, const anon_image *img,
                        const anon_encode_options *o)
{
    png_structp png = ctx->png;
    png_set_write_fn(png, &ctx->io, write_to_buffer, flush_nothing);
    png_set_benign_errors(png, 1);    /* a profile libpng dislikes is dropped, not fatal */
    png_set_compression_level(png, PNG_WRITE_LEVEL);
    png_set_IHDR(png, ctx->pi, (png_uint_32)img->width, (png_uint_32)img->height, 8,
                 img->channels == 4 ? PNG_COLOR_TYPE_RGB_ALPHA : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    const uint8_t *tiff;
    size_t tiff_len;
    anon_error aerr;
    if (o->source != NULL && anon_find_icc_rgb(o->source, o->source_len, &ctx->icc, &aerr) == 0 &&
        ctx->icc.len > 0)
        png_set_iCCP(png, ctx->pi, "ICC profile", PNG_COMPRESSION_TYPE_BASE, ctx->icc.data,
                     (png_uint_32)ctx->icc.len);
    if (o->keep_metadata && o->source != NULL &&
        anon_find_exif(o->source, o->source_len, &tiff, &tiff_len)) {
        if (anon_exif_build_kept(tiff, tiff_len, &ctx->exif, &aerr) < 0)
            png_error(png, aerr.msg);
        if (ctx->exif.len > 0)
            png_set_eXIf_1(png, ctx->pi, (png_uint_32)ctx->exif.len, ctx->exif.data);
    }
    if ((ctx->rows = malloc(sizeof *ctx->rows * (size_t)img->height)) == NULL)
        png_error(png, "out of memory");
    for (int y = 0; y < img->height; y++)
        ctx->rows[y] = img->pixels + (size_t)y * (size_t)img->width * (size_t)img->channels;
    png_write_info(png, ctx->pi);
    png_write_image(png, ctx->rows);
    /* No info here: libpng 1.6.39 would write eXIf a second time. */
    png_write_end(png, NULL);
}

int anon_png_encode(const anon_image *img, const anon_encode_options *o,
                    anon_buffer *out, anon_error *err)
{
    png_encode_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL)
        return anon_fail(err, "out of memory");
    size_t start = out->len;
    ctx->io = (png_io){.out = out, .damage_pass = -1};
    ctx->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx->io, on_png_error,
                                       on_png_warning);
    ctx->pi = ctx->png ? png_create_info_struct(ctx->png) : NULL;
    if (ctx->pi == NULL) {
        png_destroy_write_struct(&ctx->png, NULL);
        free(ctx);
        return anon_fail(err, "out of memory");
    }
    int rc = 0;
    if (setjmp(png_jmpbuf(ctx->png)) == 0) {
        encode_body(ctx, img, o);
    } else {
        out->len = start;    /* no partial image left in the caller's buffer */
        rc = anon_fail(err, "PNG encode: %s", ctx->io.why);
    }
    png_destroy_write_struct(&ctx->png, &ctx->pi);
    anon_buffer_free(&ctx->exif);
    anon_buffer_free(&ctx->icc);
    free(ctx->rows);
    free(ctx);
    return rc;
}
