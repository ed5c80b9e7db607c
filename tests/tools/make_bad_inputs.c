/* make_bad_inputs.c - writes the image corpus for the decoder tests.
 *
 * Built and run by scripts/make-bad-inputs DIR. Every file is synthetic:
 * most show the same upright test pattern (quadrants red | green over
 * blue | white, PATTERN_W x PATTERN_H) through a different encoding, so a
 * test can check that each one decodes to the same picture; the others
 * are damaged or hostile files that must give a clear error or the image
 * libjpeg recovers, never a crash. tests/corpus.h lists what each file
 * should do. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

#define PATTERN_W 96
#define PATTERN_H 64

static const char *outdir;

static void die(const char *what)
{
    fprintf(stderr, "make-bad-inputs: %s\n", what);
    exit(1);
}

/* A new file in the output directory (the generator stops on failure). */
static FILE *open_out(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", outdir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        die(path);
    return f;
}

static void write_file(const char *name, const void *data, size_t len)
{
    FILE *f = open_out(name);
    if (fwrite(data, 1, len, f) != len || fclose(f) != 0)
        die(name);
}

/* Reads back a file written into outdir (to derive damaged ones from it). */
static size_t read_back(const char *name, uint8_t *buf, size_t size)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", outdir, name);
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, size, f) : 0;
    if (f == NULL || n < 100 || n == size)
        die(path);
    fclose(f);
    return n;
}

/* ---------------------------------------------------------------- pixels */

/* The upright pattern, RGB. */
static void pattern_rgb(int x, int y, int w, int h, uint8_t rgb[3])
{
    bool right = x >= w / 2, bottom = y >= h / 2;
    static const uint8_t colours[4][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};
    memcpy(rgb, colours[bottom * 2 + right], 3);
}

/* Where the upright pixel (x, y) is stored for EXIF orientation o (the
 * inverse of what a decoder does), for a stored image of sw x sh. */
static void stored_xy(int o, int sw, int sh, int x, int y, int *sx, int *sy)
{
    switch (o) {
    case 2: *sx = sw - 1 - x; *sy = y; break;
    case 3: *sx = sw - 1 - x; *sy = sh - 1 - y; break;
    case 4: *sx = x; *sy = sh - 1 - y; break;
    case 5: *sx = y; *sy = x; break;
    case 6: *sx = y; *sy = sh - 1 - x; break;
    case 7: *sx = sw - 1 - y; *sy = sh - 1 - x; break;
    case 8: *sx = sw - 1 - y; *sy = x; break;
    default: *sx = x; *sy = y; break;
    }
}

/* The pattern as it must be stored so that orientation o shows it upright. */
static uint8_t *stored_pattern(int o, int *sw, int *sh)
{
    *sw = o >= 5 ? PATTERN_H : PATTERN_W;
    *sh = o >= 5 ? PATTERN_W : PATTERN_H;
    uint8_t *px = malloc((size_t)PATTERN_W * PATTERN_H * 3);
    if (px == NULL)
        die("out of memory");
    for (int y = 0; y < PATTERN_H; y++)
        for (int x = 0; x < PATTERN_W; x++) {
            int sx, sy;
            stored_xy(o, *sw, *sh, x, y, &sx, &sy);
            pattern_rgb(x, y, PATTERN_W, PATTERN_H, px + ((size_t)sy * (size_t)*sw + (size_t)sx) * 3);
        }
    return px;
}

/* A textured photo-like image: gradients plus deterministic noise. */
static uint8_t *textured(int w, int h)
{
    uint8_t *px = malloc((size_t)w * (size_t)h * 3);
    if (px == NULL)
        die("out of memory");
    uint32_t seed = 12345;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            seed = seed * 1103515245u + 12345u;
            int n = (int)(seed >> 24) % 32;
            uint8_t *p = px + ((size_t)y * (size_t)w + (size_t)x) * 3;
            p[0] = (uint8_t)(x * 255 / w / 2 + n);
            p[1] = (uint8_t)(y * 255 / h / 2 + n);
            p[2] = (uint8_t)(((x / 16 + y / 16) % 2) * 100 + n);
        }
    return px;
}

/* ---------------------------------------------------------------- EXIF */

/* A big-endian TIFF block built from entries; values are given as bytes
 * already in big-endian order. Enough for the corpus, not a library. */
typedef struct tag {
    uint16_t tag, type;
    uint32_t count;
    const uint8_t *value;
    size_t len;
    int points_to;    /* -1, or the IFD index whose offset is the value */
} tag;

typedef struct tiff {
    uint8_t buf[8192];
    size_t len;
} tiff;

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static size_t ifd_bytes(const tag *t, int n)
{
    size_t size = 2 + 12 * (size_t)n + 4;
    for (int i = 0; i < n; i++)
        if (t[i].len > 4)
            size += (t[i].len + 1) & ~(size_t)1;
    return size;
}

/* ifds[k] has counts[k] tags; ifd 0 links to ifd `next_of_0` (or none). */
static void build_tiff(tiff *out, const tag *const *ifds, const int *counts, int n_ifds,
                       int next_of_0)
{
    size_t offsets[8];
    size_t off = 8;
    for (int k = 0; k < n_ifds; k++) {
        offsets[k] = off;
        off += ifd_bytes(ifds[k], counts[k]);
    }
    if (off > sizeof out->buf)
        die("tiff too large");
    memset(out->buf, 0, off);
    memcpy(out->buf, "MM\0*", 4);
    put32(out->buf + 4, 8);
    for (int k = 0; k < n_ifds; k++) {
        uint8_t *p = out->buf + offsets[k];
        size_t data = offsets[k] + 2 + 12 * (size_t)counts[k] + 4;
        put16(p, (unsigned)counts[k]);
        for (int i = 0; i < counts[k]; i++) {
            const tag *t = &ifds[k][i];
            uint8_t *e = p + 2 + 12 * i;
            put16(e, t->tag);
            put16(e + 2, t->type);
            put32(e + 4, t->count);
            if (t->points_to >= 0) {
                put32(e + 8, (uint32_t)offsets[t->points_to]);
            } else if (t->len <= 4) {
                memcpy(e + 8, t->value, t->len);
            } else {
                put32(e + 8, (uint32_t)data);
                memcpy(out->buf + data, t->value, t->len);
                data += (t->len + 1) & ~(size_t)1;
            }
        }
        uint32_t next = k == 0 && next_of_0 > 0 ? (uint32_t)offsets[next_of_0] : 0;
        put32(p + 2 + 12 * counts[k], next);
    }
    out->len = off;
}

#define ASCII(t, s) {t, 2, sizeof(s), (const uint8_t *)(s), sizeof(s), -1}
#define UNDEF(t, s) {t, 7, sizeof(s) - 1, (const uint8_t *)(s), sizeof(s) - 1, -1}
#define SHORT1(t, v) {t, 3, 1, (const uint8_t[]){(v) >> 8, (v) & 255, 0, 0}, 4, -1}
#define LONG1(t, v) {t, 4, 1, (const uint8_t[]){0, 0, (v) >> 8, (v) & 255}, 4, -1}
#define RATIONAL(t, n, d) {t, 5, 1, (const uint8_t[]){0, 0, 0, n, 0, 0, 0, d}, 8, -1}
#define POINTER(t, ifd) {t, 4, 1, NULL, 4, ifd}

static void orientation_tiff(tiff *out, int o)
{
    const tag ifd0[] = {SHORT1(0x0112, o)};
    const tag *ifds[] = {ifd0};
    int counts[] = {1};
    build_tiff(out, ifds, counts, 1, 0);
}

/* Everything a camera phone leaks: names, serials, maker notes, GPS, a
 * thumbnail IFD. Only some of it is on the keep-list. */
static void full_tiff(tiff *out, uint32_t thumb_offset, uint32_t thumb_len)
{
    const tag ifd0[] = {
        ASCII(0x010E, "Birthday party at home"), /* ImageDescription */
        ASCII(0x010F, "AnonCam"),                /* Make */
        ASCII(0x0110, "Model X100"),             /* Model */
        SHORT1(0x0112, 1),                       /* Orientation */
        ASCII(0x0131, "CamOS 1.2"),              /* Software */
        ASCII(0x0132, "2024:05:01 10:00:00"),    /* DateTime */
        ASCII(0x013B, "Jane Doe"),               /* Artist */
        ASCII(0x8298, "Jane Doe 2024"),          /* Copyright */
        POINTER(0x8769, 1),                      /* Exif IFD */
        POINTER(0x8825, 2),                      /* GPS IFD */
    };
    const tag exif[] = {
        RATIONAL(0x829A, 1, 125),                /* ExposureTime */
        RATIONAL(0x829D, 28, 10),                /* FNumber */
        SHORT1(0x8827, 200),                     /* ISO */
        UNDEF(0x9000, "0231"),                   /* ExifVersion */
        ASCII(0x9003, "2024:05:01 10:00:00"),    /* DateTimeOriginal */
        UNDEF(0x927C, "SECRET-MAKERNOTE-SERIAL-0042-FACEDATA"), /* MakerNote */
        UNDEF(0x9286, "ASCII\0\0\0Jane's birthday"),             /* UserComment */
        ASCII(0xA420, "UNIQUE-ID-77"),           /* ImageUniqueID */
        ASCII(0xA430, "Jane Doe"),               /* CameraOwnerName */
        ASCII(0xA431, "SN123456789"),            /* BodySerialNumber */
        ASCII(0xA435, "LENS-SN-555"),            /* LensSerialNumber */
    };
    const tag gps[] = {
        ASCII(0x0001, "N"),
        {0x0002, 5, 3, (const uint8_t[]){0, 0, 0, 52, 0, 0, 0, 1, 0, 0, 0, 31, 0, 0, 0, 1,
                                         0, 0, 0, 12, 0, 0, 0, 1}, 24, -1},
    };
    const tag ifd1[] = {
        LONG1(0x0201, thumb_offset),              /* JPEGInterchangeFormat */
        LONG1(0x0202, thumb_len),                 /* JPEGInterchangeFormatLength */
    };
    const tag *ifds[] = {ifd0, exif, gps, ifd1};
    int counts[] = {sizeof ifd0 / sizeof ifd0[0], sizeof exif / sizeof exif[0],
                    sizeof gps / sizeof gps[0], sizeof ifd1 / sizeof ifd1[0]};
    build_tiff(out, ifds, counts, 4, 3);
}

/* ---------------------------------------------------------------- ICC */

/* A minimal, valid ICC profile header (no tags) for colour space cs
 * ("RGB " or "CMYK"): enough for libpng's checks and for telling apart. */
static void make_icc(uint8_t icc[132], const char *cs)
{
    memset(icc, 0, 132);
    put32(icc, 132);
    put32(icc + 8, 0x02100000);         /* version 2.1 */
    memcpy(icc + 12, "mntr", 4);
    memcpy(icc + 16, cs, 4);
    memcpy(icc + 20, "XYZ ", 4);
    memcpy(icc + 36, "acsp", 4);
    put32(icc + 68, 0x0000F6D6);        /* D50 illuminant */
    put32(icc + 72, 0x00010000);
    put32(icc + 76, 0x0000D32D);
    memcpy(icc + 80, "anon", 4);        /* creator: recognisable in tests */
}

/* ---------------------------------------------------------------- JPEG */

typedef struct jpeg_opts {
    J_COLOR_SPACE in_space, jpeg_space;   /* JCS_UNKNOWN jpeg_space = default */
    int components;
    bool progressive, arithmetic, no_jfif, no_adobe;
    const tiff *exif;
    bool junk_metadata;     /* XMP, IPTC, comment */
    const char *icc;        /* colour space of an embedded profile, or NULL */
    int samp[3];            /* per component h << 4 | v sampling factors (0: libjpeg's) */
    int restart;            /* MCUs per restart interval (0: none) */
    bool optimize;          /* Huffman tables made for the image */
} jpeg_opts;

static unsigned char *jpeg_encode(const uint8_t *px, int w, int h, const jpeg_opts *o,
                                  unsigned long *size)
{
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    unsigned char *buf = NULL;
    ci.err = jpeg_std_error(&jerr);    /* a generator may exit on error */
    jpeg_create_compress(&ci);
    jpeg_mem_dest(&ci, &buf, size);
    ci.image_width = (JDIMENSION)w;
    ci.image_height = (JDIMENSION)h;
    ci.input_components = o->components ? o->components : 3;
    ci.in_color_space = o->components ? o->in_space : JCS_RGB;
    jpeg_set_defaults(&ci);
    if (o->jpeg_space != JCS_UNKNOWN)
        jpeg_set_colorspace(&ci, o->jpeg_space);
    jpeg_set_quality(&ci, 92, TRUE);
    for (int c = 0; c < 3 && c < ci.num_components; c++)
        if (o->samp[c] != 0) {
            ci.comp_info[c].h_samp_factor = o->samp[c] >> 4;
            ci.comp_info[c].v_samp_factor = o->samp[c] & 15;
        }
    if (o->progressive)
        jpeg_simple_progression(&ci);
    ci.arith_code = o->arithmetic;
    ci.restart_interval = (unsigned)o->restart;
    ci.optimize_coding = o->optimize;
    if (o->no_jfif)
        ci.write_JFIF_header = FALSE;
    if (o->no_adobe)
        ci.write_Adobe_marker = FALSE;
    jpeg_start_compress(&ci, TRUE);
    if (o->exif != NULL) {
        uint8_t app1[8200];
        memcpy(app1, "Exif\0\0", 6);
        memcpy(app1 + 6, o->exif->buf, o->exif->len);
        jpeg_write_marker(&ci, JPEG_APP0 + 1, app1, (unsigned)(o->exif->len + 6));
    }
    if (o->icc != NULL) {
        uint8_t icc[132];
        make_icc(icc, o->icc);
        jpeg_write_icc_profile(&ci, icc, sizeof icc);
    }
    if (o->junk_metadata) {
        static const char xmp[] = "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><GPS>52.5,13.4</GPS></x:xmpmeta>";
        static const char iptc[] = "Photoshop 3.0\0008BIM\004\004\0\0\0\0\0\x0c\x1c\x02\x50\0\x08Jane Doe";
        static const char com[] = "taken by Jane Doe at 52.5N 13.4E";
        jpeg_write_marker(&ci, JPEG_APP0 + 1, (const JOCTET *)xmp, sizeof xmp - 1);
        jpeg_write_marker(&ci, JPEG_APP0 + 13, (const JOCTET *)iptc, sizeof iptc - 1);
        jpeg_write_marker(&ci, JPEG_COM, (const JOCTET *)com, sizeof com - 1);
    }
    int comps = ci.input_components;
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = (JSAMPROW)(px + (size_t)ci.next_scanline * (size_t)w * (size_t)comps);
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    return buf;
}

static void write_jpeg(const char *name, const uint8_t *px, int w, int h, const jpeg_opts *o)
{
    unsigned long size = 0;
    unsigned char *buf = jpeg_encode(px, w, h, o, &size);
    write_file(name, buf, size);
    free(buf);
}

/* A progressive file whose last scan is repeated 2000 times: each copy
 * makes a decoder redo work (the CPU-exhaustion trick of hostile files). */
static void write_many_scans(const char *name, const uint8_t *px, int w, int h,
                             const jpeg_opts *o)
{
    unsigned long size = 0;
    unsigned char *buf = jpeg_encode(px, w, h, o, &size);
    size_t last_sos = 0;
    for (size_t i = 2; i + 1 < size; i++)
        if (buf[i] == 0xFF && buf[i + 1] == 0xDA)
            last_sos = i;
    if (last_sos == 0 || size < 2)
        die("no scan in progressive JPEG");
    size_t scan_len = size - 2 - last_sos;    /* up to EOI */
    size_t out_len = size + 2000 * scan_len;
    unsigned char *out = malloc(out_len);
    if (out == NULL)
        die("out of memory");
    memcpy(out, buf, size - 2);
    size_t pos = size - 2;
    for (int k = 0; k < 2000; k++, pos += scan_len)
        memcpy(out + pos, buf + last_sos, scan_len);
    memcpy(out + pos, buf + size - 2, 2);
    write_file(name, out, pos + 2);
    free(out);
    free(buf);
}

/* The pattern in CMYK as Photoshop stores it (inverted: 255 = no ink). */
static uint8_t *pattern_cmyk_inverted(void)
{
    uint8_t *px = malloc((size_t)PATTERN_W * PATTERN_H * 4);
    if (px == NULL)
        die("out of memory");
    for (int y = 0; y < PATTERN_H; y++)
        for (int x = 0; x < PATTERN_W; x++) {
            uint8_t rgb[3], *p = px + ((size_t)y * PATTERN_W + (size_t)x) * 4;
            pattern_rgb(x, y, PATTERN_W, PATTERN_H, rgb);
            /* Pure colours need no black ink: C = 255 - R, stored inverted. */
            p[0] = rgb[0]; p[1] = rgb[1]; p[2] = rgb[2]; p[3] = 255;
        }
    return px;
}

static void jpeg_corpus(void)
{
    int sw, sh;
    uint8_t *pat = stored_pattern(1, &sw, &sh);
    jpeg_opts plain = {0};
    write_jpeg("ok-baseline.jpg", pat, sw, sh, &plain);
    jpeg_opts prog = {.progressive = true};
    write_jpeg("ok-progressive.jpg", pat, sw, sh, &prog);
    write_many_scans("bad-many-scans.jpg", pat, sw, sh, &prog);
    jpeg_opts arith = {.arithmetic = true};
    write_jpeg("ok-arithmetic.jpg", pat, sw, sh, &arith);
    jpeg_opts icc = {.icc = "RGB "};
    write_jpeg("ok-icc.jpg", pat, sw, sh, &icc);

    uint8_t *cmyk = pattern_cmyk_inverted();
    jpeg_opts cm = {.in_space = JCS_CMYK, .jpeg_space = JCS_CMYK, .components = 4,
                    .icc = "CMYK"};
    write_jpeg("ok-cmyk-adobe.jpg", cmyk, PATTERN_W, PATTERN_H, &cm);
    jpeg_opts ycck = {.in_space = JCS_CMYK, .jpeg_space = JCS_YCCK, .components = 4};
    write_jpeg("ok-ycck-adobe.jpg", cmyk, PATTERN_W, PATTERN_H, &ycck);
    /* Without the Adobe marker CMYK means plain ink amounts. */
    for (size_t i = 0; i < (size_t)PATTERN_W * PATTERN_H * 4; i++)
        cmyk[i] = (uint8_t)(255 - cmyk[i]);
    jpeg_opts plain_cmyk = {.in_space = JCS_CMYK, .jpeg_space = JCS_CMYK, .components = 4,
                            .no_adobe = true};
    write_jpeg("ok-cmyk-plain.jpg", cmyk, PATTERN_W, PATTERN_H, &plain_cmyk);
    free(cmyk);

    uint8_t gray[PATTERN_W * PATTERN_H];
    for (int i = 0; i < PATTERN_W * PATTERN_H; i++)
        gray[i] = (uint8_t)(pat[i * 3] * 0.299 + pat[i * 3 + 1] * 0.587 + pat[i * 3 + 2] * 0.114);
    jpeg_opts g = {.in_space = JCS_GRAYSCALE, .components = 1};
    write_jpeg("gray.jpg", gray, PATTERN_W, PATTERN_H, &g);
    free(pat);

    for (int o = 1; o <= 8; o++) {
        char name[64];
        tiff t;
        orientation_tiff(&t, o);
        uint8_t *st = stored_pattern(o, &sw, &sh);
        jpeg_opts eo = {.exif = &t, .no_jfif = true};
        snprintf(name, sizeof name, "ok-orient-%d.jpg", o);
        write_jpeg(name, st, sw, sh, &eo);
        free(st);
    }

    /* Metadata-laden photo with an embedded thumbnail after the TIFF. */
    pat = stored_pattern(1, &sw, &sh);
    unsigned long thumb_len = 0;
    unsigned char *thumb = jpeg_encode(pat, sw, sh, &plain, &thumb_len);
    tiff t;
    full_tiff(&t, 0, 0);
    uint32_t thumb_off = (uint32_t)t.len;
    full_tiff(&t, thumb_off, (uint32_t)thumb_len);
    if (t.len + thumb_len > sizeof t.buf)
        die("thumbnail too large");
    memcpy(t.buf + t.len, thumb, thumb_len);
    t.len += thumb_len;
    free(thumb);
    jpeg_opts meta = {.exif = &t, .no_jfif = true, .junk_metadata = true};
    write_jpeg("ok-metadata.jpg", pat, sw, sh, &meta);
    free(pat);
}

/* The first byte of the entropy-coded data of the last scan. */
static size_t last_scan_data(const unsigned char *buf, size_t size)
{
    size_t at = 0;
    for (size_t i = 2; i + 4 < size; i++)
        if (buf[i] == 0xFF && buf[i + 1] == 0xDA)
            at = i + 2 + ((size_t)buf[i + 2] << 8 | buf[i + 3]);
    if (at == 0)
        die("no scan in generated JPEG");
    return at;
}

/* More damaged JPEGs, one per way the decoders meet damage: a progressive
 * file cut short, a bit error in a file with restart markers (libjpeg
 * resynchronises: only the rows from the spoilt interval on are
 * untrustworthy), and at 1024x768 a cut, a bit error, a missing EOI and a
 * restart marker out of order, which the fast paths (scan index, reduced
 * decode) meet before the full decode does. */
static void jpeg_damaged_flavours(void)
{
    uint8_t *px = textured(256, 192);
    unsigned long size = 0;
    jpeg_opts prog = {.progressive = true};
    unsigned char *buf = jpeg_encode(px, 256, 192, &prog, &size);
    write_file("recover-truncated-progressive.jpg", buf, size * 6 / 10);
    free(buf);
    jpeg_opts rst = {.restart = 16};
    buf = jpeg_encode(px, 256, 192, &rst, &size);
    size_t data = last_scan_data(buf, size);
    buf[data + (size - data) * 3 / 4] ^= 0x5A;    /* in the last quarter of the rows */
    write_file("recover-corrupt-restart.jpg", buf, size);
    free(buf);
    free(px);

    px = textured(1024, 768);
    jpeg_opts plain = {0}, rst_large = {.restart = 64};
    buf = jpeg_encode(px, 1024, 768, &plain, &size);
    write_file("recover-truncated-large.jpg", buf, size * 7 / 10);
    free(buf);
    buf = jpeg_encode(px, 1024, 768, &rst_large, &size);
    write_file("recover-no-eoi-large.jpg", buf, size - 2);    /* complete but for EOI */
    data = last_scan_data(buf, size);
    for (size_t i = data + (size - data) / 2; i + 1 < size; i++)
        if (buf[i] == 0xFF && buf[i + 1] >= 0xD0 && buf[i + 1] <= 0xD7) {
            buf[i + 1] = (uint8_t)(0xD0 + (buf[i + 1] - 0xD0 + 2) % 8);    /* out of order */
            write_file("recover-rst-order-large.jpg", buf, size);
            buf[i + 1] = (uint8_t)(0xD0 + (buf[i + 1] - 0xD0 + 6) % 8);
            break;
        }
    for (size_t i = data + (size - data) / 2; i < data + (size - data) / 2 + 8; i++)
        if (buf[i] != 0xFF && buf[i - 1] != 0xFF && (buf[i] ^ 0x5A) != 0xFF)
            buf[i] ^= 0x5A;
    write_file("recover-corrupt-large.jpg", buf, size);
    free(buf);
    free(px);
}

/* Damaged and hostile JPEGs derived from a textured baseline image. */
static void jpeg_bad_corpus(void)
{
    const int w = 256, h = 192;
    uint8_t *px = textured(w, h);
    jpeg_opts plain = {0};
    unsigned long size = 0;
    unsigned char *buf = jpeg_encode(px, w, h, &plain, &size);
    free(px);
    write_file("ok-textured.jpg", buf, size);
    write_file("recover-truncated.jpg", buf, size * 6 / 10);
    write_file("bad-truncated-header.jpg", buf, 120);

    size_t sos = 0;
    for (size_t i = 2; i + 1 < size; i++)
        if (buf[i] == 0xFF && buf[i + 1] == 0xDA) {
            sos = i;
            break;
        }
    unsigned char *bad = malloc(size);
    if (bad == NULL || sos == 0)
        die("no scan in generated JPEG");
    memcpy(bad, buf, size);
    /* Bit errors in the scan data (no byte becomes a marker)... */
    for (size_t i = sos + 200; i + 2 < size; i += 97)
        if (bad[i] != 0xFF && bad[i - 1] != 0xFF && (bad[i] ^ 0x5A) != 0xFF)
            bad[i] ^= 0x5A;
    write_file("recover-corrupt-entropy.jpg", bad, size);
    /* A quantisation table with a zero step: decodable, but an encoder
     * reusing the table would divide by it. */
    memcpy(bad, buf, size);
    for (size_t i = 2; i + 12 < size; i++)
        if (bad[i] == 0xFF && bad[i + 1] == 0xDB) {
            bad[i + 5 + 5] = 0;
            write_file("recover-zero-quant.jpg", bad, size);
            break;
        }
    /* ...and a bogus marker in the middle of the scan. */
    memcpy(bad, buf, size);
    bad[sos + size / 3] = 0xFF;
    bad[sos + size / 3 + 1] = 0x1E;
    write_file("recover-bogus-marker.jpg", bad, size);

    /* Frame header patched to claim 65500 x 65500 (the most JPEG allows;
     * 100000 does not fit its 16-bit fields), then the data ends. */
    memcpy(bad, buf, size);
    for (size_t i = 2; i + 9 < size; i++)
        if (bad[i] == 0xFF && bad[i + 1] == 0xC0) {
            bad[i + 5] = 0xFF; bad[i + 6] = 0xDC;
            bad[i + 7] = 0xFF; bad[i + 8] = 0xDC;
            write_file("bad-huge-header.jpg", bad, size);
            bad[i + 1] = 0xC3;    /* lossless: libjpeg-turbo 2.1 cannot decode it */
            bad[i + 5] = 0; bad[i + 6] = (uint8_t)h;
            bad[i + 7] = 1; bad[i + 8] = 0;
            write_file("bad-lossless-sof3.jpg", bad, size);
            break;
        }
    free(bad);
    free(buf);

    static const uint8_t only_soi[] = {0xFF, 0xD8, 0xFF};
    write_file("bad-soi-only.jpg", only_soi, sizeof only_soi);
    jpeg_damaged_flavours();
}

/* ---------------------------------------------------------------- hostile scans
 *
 * Generated equivalents of the defect classes coverage-guided fuzzing
 * found in the block-wise path's own scan decoder and re-packer (issue
 * 14): each file is valid as far as libjpeg's header parser goes, so that
 * it reaches that code. They are 1024 pixels wide, so that a single-pass
 * preset decodes them at a reduced DCT scale (the one-decode path), and
 * 16 high, so that detecting on them stays cheap. */

#define HOSTILE_W 1024
#define HOSTILE_H 16

/* Entropy-coded bits, most significant first, a zero byte stuffed after
 * every 0xFF (T.81 F.1.2.3). */
typedef struct scan_bits {
    uint8_t *p;
    size_t len, cap;
    unsigned acc;
    int n;
} scan_bits;

static void sb_byte(scan_bits *b, uint8_t v)
{
    if (b->len + 2 > b->cap) {
        b->cap = b->cap ? b->cap * 2 : 4096;
        if ((b->p = realloc(b->p, b->cap)) == NULL)
            die("out of memory");
    }
    b->p[b->len++] = v;
}

static void sb_put(scan_bits *b, uint32_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        b->acc = b->acc << 1 | ((v >> i) & 1);
        if (++b->n == 8) {
            sb_byte(b, (uint8_t)b->acc);
            if ((uint8_t)b->acc == 0xFF)
                sb_byte(b, 0);
            b->n = 0;
            b->acc = 0;
        }
    }
}

static void sb_flush(scan_bits *b)    /* pads with ones */
{
    while (b->n != 0)
        sb_put(b, 1, 1);
}

/* A Huffman table as DHT holds it: codes per length 1..16, symbols. */
typedef struct huff_spec {
    uint8_t bits[16];
    uint8_t vals[32];
} huff_spec;

/* One symbol as written: its code, then `size` value bits. */
typedef struct coded {
    uint32_t code;
    int len;
    uint32_t value;
    int size;
} coded;

/* A baseline frame of three components whose every block is the same:
 * a DC difference, ac_count AC coefficients, an end of block when
 * ac_count < 63. Both tables are table 0; quantisation all ones. */
typedef struct hand_jpeg {
    int samp[3];         /* h << 4 | v */
    int restart;         /* MCUs per restart interval, 0: none */
    huff_spec dc, ac;
    coded dc_sym, ac_sym, eob;
    int ac_count;
    int extra_dqt;       /* unused table 3 defined this many times more */
} hand_jpeg;

static void put_segment(FILE *f, int marker, const uint8_t *data, size_t len)
{
    uint8_t head[4] = {0xFF, (uint8_t)marker, (uint8_t)((len + 2) >> 8), (uint8_t)(len + 2)};
    fwrite(head, 1, 4, f);
    fwrite(data, 1, len, f);
}

static void put_dht(FILE *f, int class_id, const huff_spec *h)
{
    uint8_t seg[1 + 16 + 32];
    int n = 0;
    seg[0] = (uint8_t)class_id;
    for (int i = 0; i < 16; i++)
        n += seg[1 + i] = h->bits[i];
    memcpy(seg + 17, h->vals, (size_t)n);
    put_segment(f, 0xC4, seg, 17 + (size_t)n);
}

static void write_hand_jpeg(const char *name, const hand_jpeg *j)
{
    FILE *f = open_out(name);
    fwrite("\xFF\xD8", 1, 2, f);
    uint8_t dqt[65] = {0};
    memset(dqt + 1, 1, 64);
    put_segment(f, 0xDB, dqt, sizeof dqt);
    dqt[0] = 3;
    for (int i = 0; i < j->extra_dqt; i++)
        put_segment(f, 0xDB, dqt, sizeof dqt);
    uint8_t sof[15] = {8, HOSTILE_H >> 8, HOSTILE_H & 255, HOSTILE_W >> 8, HOSTILE_W & 255, 3};
    int mh = 1, mv = 1, blocks = 0;
    for (int c = 0; c < 3; c++) {
        sof[6 + 3 * c] = (uint8_t)(c + 1);
        sof[7 + 3 * c] = (uint8_t)j->samp[c];
        mh = (j->samp[c] >> 4) > mh ? j->samp[c] >> 4 : mh;
        mv = (j->samp[c] & 15) > mv ? j->samp[c] & 15 : mv;
        blocks += (j->samp[c] >> 4) * (j->samp[c] & 15);
    }
    put_segment(f, 0xC0, sof, sizeof sof);
    put_dht(f, 0x00, &j->dc);
    put_dht(f, 0x10, &j->ac);
    if (j->restart > 0) {
        uint8_t dri[2] = {(uint8_t)(j->restart >> 8), (uint8_t)j->restart};
        put_segment(f, 0xDD, dri, 2);
    }
    static const uint8_t sos[10] = {3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0};
    put_segment(f, 0xDA, sos, sizeof sos);
    int mcus = ((HOSTILE_W + 8 * mh - 1) / (8 * mh)) * ((HOSTILE_H + 8 * mv - 1) / (8 * mv));
    scan_bits b = {0};
    for (int m = 0; m < mcus; m++) {
        if (j->restart > 0 && m > 0 && m % j->restart == 0) {
            sb_flush(&b);
            sb_byte(&b, 0xFF);
            sb_byte(&b, (uint8_t)(0xD0 + (m / j->restart - 1) % 8));
        }
        for (int k = 0; k < blocks; k++) {
            sb_put(&b, j->dc_sym.code, j->dc_sym.len);
            sb_put(&b, j->dc_sym.value, j->dc_sym.size);
            for (int a = 0; a < j->ac_count; a++) {
                sb_put(&b, j->ac_sym.code, j->ac_sym.len);
                sb_put(&b, j->ac_sym.value, j->ac_sym.size);
            }
            if (j->ac_count < 63)
                sb_put(&b, j->eob.code, j->eob.len);
        }
    }
    sb_flush(&b);
    fwrite(b.p, 1, b.len, f);
    fwrite("\xFF\xD9", 1, 2, f);
    free(b.p);
    if (fclose(f) != 0)
        die(name);
}

/* Where marker m first occurs in a JPEG libjpeg wrote (its tables hold
 * no 0xFF), or 0. */
static size_t find_marker(const uint8_t *buf, size_t size, uint8_t m)
{
    for (size_t i = 2; i + 1 < size; i++)
        if (buf[i] == 0xFF && buf[i + 1] == m)
            return i;
    return 0;
}

static void hostile_scans(void)
{
    /* C1: an AC table whose only code (16 bits) means a 15-bit value: two
     * coefficients drain more bits than a refill gives (a negative shift
     * and reads past the data, in the old decoder). libjpeg decodes it. */
    hand_jpeg c1 = {.samp = {0x22, 0x11, 0x11},
                    .dc = {.bits = {1}, .vals = {0x00}},
                    .ac = {.bits = {[15] = 1}, .vals = {0x0F}},
                    .dc_sym = {0, 1, 0, 0}, .ac_sym = {0, 16, 0, 15}, .ac_count = 63};
    write_hand_jpeg("crash-scan-ac-size.jpg", &c1);

    /* C4: ten blocks per MCU, a restart marker after each, 16-bit codes of
     * all ones with 11- and 12-bit values: every byte 0xFF, stuffed, more
     * than an MCU's room in the old re-packer. The 14 redundant tables
     * (which the re-packer copies) put an MCU's start where its buffer,
     * grown by doubling, had between that room and the MCU's size left.
     * libjpeg refuses the tables (a code of all ones). */
    hand_jpeg c4 = {.samp = {0x42, 0x11, 0x11}, .restart = 1, .extra_dqt = 14,
                    .dc = {.bits = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2},
                           .vals = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 1, 2, 3, 5, 11}},
                    .ac = {.bits = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2},
                           .vals = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0x11, 0x21, 0x31, 0xF0,
                                    0x12, 0x0C}},
                    .dc_sym = {0xFFFF, 16, 0x7FF, 11}, .ac_sym = {0xFFFF, 16, 0xFFF, 12},
                    .ac_count = 63};
    write_hand_jpeg("crash-repack-room.jpg", &c4);

    /* The largest MCUs a valid file has (16-bit codes, 11-bit DCs, 63
     * 10-bit ACs in each of ten blocks, nearly every byte stuffed), which
     * the scan decoder takes and the re-packer copies and codes. */
    hand_jpeg big = c4;
    big.extra_dqt = 0;
    big.dc = (huff_spec){.bits = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
                         .vals = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 1, 2, 3, 11}};
    big.ac = (huff_spec){.bits = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
                         .vals = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x11, 0x21, 0x31, 0x41, 0xF0,
                                  0x0A}};
    big.dc_sym = (coded){0xFFFE, 16, 0x7FF, 11};
    big.ac_sym = (coded){0xFFFE, 16, 0x3FF, 10};
    write_hand_jpeg("crash-repack-max-mcu.jpg", &big);

    /* From a libjpeg file: a scan header selecting Huffman table 15 (C2),
     * a frame header selecting quantisation table 0x80 (C3), both unchecked
     * by libjpeg until it decodes; luma sampled less than chroma (C5). And
     * what fuzzing found after those were fixed. */
    uint8_t *px = textured(HOSTILE_W, HOSTILE_H);
    jpeg_opts plain = {0};
    unsigned long size = 0;
    unsigned char *buf = jpeg_encode(px, HOSTILE_W, HOSTILE_H, &plain, &size);
    size_t sos = find_marker(buf, size, 0xDA), sof = find_marker(buf, size, 0xC0);
    if (sos == 0 || sof == 0)
        die("no frame or scan header in generated JPEG");
    buf[sos + 6] = 0xFF;    /* first component's Td/Ta */
    write_file("crash-huff-selector.jpg", buf, size);
    buf[sos + 6] = 0x00;
    buf[sof + 12] = 0x80;    /* first component's Tq */
    write_file("crash-quant-selector.jpg", buf, size);
    buf[sof + 12] = 0x00;
    /* Successive approximation in a sequential scan: libjpeg warns when
     * it starts decoding, which the scan index never made it do, so the
     * re-packer wrote the flaw into its output (found by fuzz_jpeg_pipeline). */
    buf[sos + 13] = 0xF9;    /* Ah/Al */
    write_file("crash-scan-approximation.jpg", buf, size);
    free(buf);
    jpeg_opts s1 = {.samp = {0x11, 0x22, 0x11}}, s2 = {.samp = {0x11, 0x11, 0x22}};
    write_jpeg("crash-sampling-11-22-11.jpg", px, HOSTILE_W, HOSTILE_H, &s1);
    write_jpeg("crash-sampling-11-11-22.jpg", px, HOSTILE_W, HOSTILE_H, &s2);
    free(px);
}

/* ---------------------------------------------------------------- PNG */

typedef struct png_opts {
    int color_type, depth;
    bool interlace, trns;
    const tiff *exif;
    bool text;
    bool icc;
    bool small_idat;    /* image data in many small chunks, so a cut can fall in any pass */
} png_opts;

/* rows: already in the file's sample layout. */
static void write_png(const char *name, int w, int h, const png_opts *o, png_bytep *rows,
                      png_colorp palette, int n_palette)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", outdir, name);
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (f == NULL || png == NULL || info == NULL || setjmp(png_jmpbuf(png)))
        die(path);
    png_init_io(png, f);
    if (o->small_idat)
        png_set_compression_buffer_size(png, 256);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, o->depth, o->color_type,
                 o->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (palette != NULL)
        png_set_PLTE(png, info, palette, n_palette);
    if (o->trns) {
        png_byte alpha[4] = {0, 128, 255, 255};
        png_set_tRNS(png, info, alpha, 4, NULL);
    }
    if (o->icc) {
        uint8_t icc[132];
        make_icc(icc, "RGB ");
        png_set_iCCP(png, info, "test", PNG_COMPRESSION_TYPE_BASE, icc, sizeof icc);
    }
    if (o->exif != NULL)
        png_set_eXIf_1(png, info, (png_uint_32)o->exif->len, (png_bytep)o->exif->buf);
    if (o->text) {
        png_text text[3] = {
            {PNG_TEXT_COMPRESSION_NONE, "Author", "Jane Doe", 0, 0, NULL, NULL},
            {PNG_TEXT_COMPRESSION_zTXt, "Comment", "GPS 52.5N 13.4E", 0, 0, NULL, NULL},
            {PNG_ITXT_COMPRESSION_NONE, "XML:com.adobe.xmp", "<x:xmpmeta/>", 0, 0, NULL, NULL},
        };
        png_set_text(png, info, text, 3);
    }
    png_set_rows(png, info, rows);
    png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

/* The pattern in a PNG layout: 8/16-bit RGB(A), gray(+alpha) or palette. */
static void pattern_png(const char *name, int orientation, const png_opts *o)
{
    int sw, sh;
    uint8_t *pat = stored_pattern(orientation, &sw, &sh);
    int bytes = o->depth / 8;
    int ch = o->color_type == PNG_COLOR_TYPE_RGB ? 3 : o->color_type == PNG_COLOR_TYPE_RGBA ? 4
           : o->color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2 : 1;
    size_t stride = (size_t)sw * (size_t)ch * (size_t)bytes;
    uint8_t *data = calloc((size_t)sh, stride);
    png_bytep *rows = malloc(sizeof *rows * (size_t)sh);
    if (data == NULL || rows == NULL)
        die("out of memory");
    for (int y = 0; y < sh; y++) {
        rows[y] = data + (size_t)y * stride;
        for (int x = 0; x < sw; x++) {
            const uint8_t *p = pat + ((size_t)y * (size_t)sw + (size_t)x) * 3;
            uint8_t v[4] = {p[0], p[1], p[2], 255};
            if (o->color_type == PNG_COLOR_TYPE_PALETTE) {
                /* palette index = quadrant: red, green, blue, white */
                v[0] = p[2] == 255 && p[0] == 255 ? 3 : p[2] == 255 ? 2 : p[1] == 255 ? 1 : 0;
            } else if (o->color_type == PNG_COLOR_TYPE_GRAY || o->color_type == PNG_COLOR_TYPE_GRAY_ALPHA) {
                v[0] = (uint8_t)((p[0] + p[1] + p[2]) / 3);
                v[1] = (uint8_t)(x < sw / 2 ? 255 : 64);    /* alpha */
            }
            for (int c = 0; c < ch; c++)
                for (int b = 0; b < bytes; b++)
                    rows[y][((size_t)x * (size_t)ch + (size_t)c) * (size_t)bytes + (size_t)b] = v[c];
        }
    }
    png_color palette[4] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};
    write_png(name, sw, sh, o, rows,
              o->color_type == PNG_COLOR_TYPE_PALETTE ? palette : NULL, 4);
    free(rows);
    free(data);
    free(pat);
}

static void put_chunk(FILE *f, const char *type, const uint8_t *data, uint32_t len)
{
    uint8_t head[8];
    put32(head, len);
    memcpy(head + 4, type, 4);
    uint32_t crc = (uint32_t)crc32(0, head + 4, 4);
    crc = (uint32_t)crc32(crc, data, len);
    uint8_t tail[4];
    put32(tail, crc);
    fwrite(head, 1, 8, f);
    if (len > 0)    /* IEND and empty chunks have no data (and data may be NULL) */
        fwrite(data, 1, len, f);
    fwrite(tail, 1, 4, f);
}

/* A small file whose IHDR claims w x h 1-bit gray and whose IDAT holds a
 * complete, valid zlib stream of all those (zero) rows: inflating it
 * would allocate gigabytes. */
static void write_bomb(const char *name, uint32_t w, uint32_t h, bool with_stream)
{
    FILE *f = open_out(name);
    fwrite("\x89PNG\r\n\x1a\n", 1, 8, f);
    uint8_t ihdr[13];
    put32(ihdr, w);
    put32(ihdr + 4, h);
    ihdr[8] = 1; ihdr[9] = 0; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
    put_chunk(f, "IHDR", ihdr, 13);
    if (with_stream) {
        size_t row = 1 + (w + 7) / 8;
        z_stream z;
        memset(&z, 0, sizeof z);
        if (deflateInit(&z, 9) != Z_OK)
            die("zlib");
        uint8_t *zeros = calloc(1, row);
        size_t cap = 1 << 20;
        uint8_t *out = malloc(cap);
        if (zeros == NULL || out == NULL)
            die("out of memory");
        for (uint32_t y = 0; y < h; y++) {
            z.next_in = zeros;
            z.avail_in = (uInt)row;
            int flush = y + 1 == h ? Z_FINISH : Z_NO_FLUSH;
            do {
                z.next_out = out;
                z.avail_out = (uInt)cap;
                deflate(&z, flush);
                if (cap - z.avail_out > 0)
                    put_chunk(f, "IDAT", out, (uint32_t)(cap - z.avail_out));
            } while (z.avail_out == 0 || (flush == Z_FINISH && z.avail_in > 0));
        }
        deflateEnd(&z);
        free(zeros);
        free(out);
    }
    put_chunk(f, "IEND", NULL, 0);
    if (fclose(f) != 0)
        die(name);
}

static void png_corpus(void)
{
    png_opts rgb8 = {PNG_COLOR_TYPE_RGB, 8, false, false, NULL, false, false, false};
    pattern_png("ok-rgb8.png", 1, &rgb8);
    png_opts rgb16 = {PNG_COLOR_TYPE_RGB, 16, false, false, NULL, false, false, false};
    pattern_png("ok-rgb16.png", 1, &rgb16);
    png_opts rgba16 = {PNG_COLOR_TYPE_RGBA, 16, false, false, NULL, false, false, false};
    pattern_png("ok-rgba16.png", 1, &rgba16);
    png_opts inter = {PNG_COLOR_TYPE_RGB, 8, true, false, NULL, false, false, false};
    pattern_png("ok-interlaced.png", 1, &inter);
    png_opts pal = {PNG_COLOR_TYPE_PALETTE, 8, false, true, NULL, false, false, false};
    pattern_png("ok-palette-trns.png", 1, &pal);
    png_opts gray16 = {PNG_COLOR_TYPE_GRAY, 16, false, false, NULL, false, false, false};
    pattern_png("gray16.png", 1, &gray16);
    png_opts ga = {PNG_COLOR_TYPE_GRAY_ALPHA, 8, false, false, NULL, false, false, false};
    pattern_png("gray-alpha.png", 1, &ga);
    for (int o = 1; o <= 8; o++) {
        char name[64];
        tiff t;
        orientation_tiff(&t, o);
        png_opts eo = {PNG_COLOR_TYPE_RGB, 8, false, false, &t, false, false, false};
        snprintf(name, sizeof name, "ok-orient-%d.png", o);
        pattern_png(name, o, &eo);
    }
    tiff t;
    full_tiff(&t, 0, 0);
    png_opts meta = {PNG_COLOR_TYPE_RGB, 8, false, false, &t, true, false, false};
    pattern_png("ok-metadata.png", 1, &meta);
    png_opts icc = {PNG_COLOR_TYPE_RGB, 8, false, false, NULL, false, true, false};
    pattern_png("ok-icc.png", 1, &icc);

    write_bomb("bad-bomb.png", 50000, 50000, true);
    write_bomb("bad-huge-header.png", 100000, 100000, false);
}

/* Damaged PNGs derived from a textured one. */
static void png_bad_corpus(void)
{
    const int w = 128, h = 96;
    uint8_t *px = textured(w, h);
    png_bytep rows[96];
    for (int y = 0; y < h; y++)
        rows[y] = px + (size_t)y * (size_t)w * 3;
    png_opts rgb8 = {PNG_COLOR_TYPE_RGB, 8, false, false, NULL, false, false, false};
    write_png("ok-textured.png", w, h, &rgb8, rows, NULL, 0);
    free(px);

    static uint8_t buf[1 << 17];
    size_t n = read_back("ok-textured.png", buf, sizeof buf);
    write_file("recover-truncated.png", buf, n / 2);
    write_file("bad-signature-only.png", buf, 8);
    buf[n * 2 / 3] ^= 0x55;    /* in an image data chunk: its CRC no longer matches */
    write_file("recover-idat-crc.png", buf, n);
    buf[n * 2 / 3] ^= 0x55;
    buf[20] ^= 0x55;    /* inside IHDR: its CRC no longer matches */
    write_file("bad-ihdr-crc.png", buf, n);

    /* The textured image interlaced, cut short: written whole, then cut.
     * In the last pass, the rows before the cut have all their pixels; in
     * an early one, no row has yet: nothing to offer. */
    px = textured(w, h);
    for (int y = 0; y < h; y++)
        rows[y] = px + (size_t)y * (size_t)w * 3;
    png_opts inter = {PNG_COLOR_TYPE_RGB, 8, true, false, NULL, false, false, true};
    write_png("recover-truncated-interlaced.png", w, h, &inter, rows, NULL, 0);
    free(px);
    n = read_back("recover-truncated-interlaced.png", buf, sizeof buf);
    write_file("recover-truncated-interlaced.png", buf, n * 6 / 10);
    write_file("bad-truncated-interlaced-early.png", buf, n / 5);
}

/* ---------------------------------------------------------------- flavours
 *
 * `make-bad-inputs --flavours DIR [PHOTO.jpg...]`: small photos in every
 * JPEG flavour, the seeds of the fuzz harnesses (scripts/fuzz-seeds): each
 * photo decoded at 1/8 of its size (the generated texture when none is
 * given), then written baseline 4:2:0, 4:2:2, 4:4:4 and 4:4:0, with
 * restart markers, with optimised tables, progressive (also 4:4:4),
 * arithmetic, grayscale, CMYK and YCCK. */

static uint8_t *small_photo(const char *path, int *w, int *h)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        die(path);
    struct jpeg_decompress_struct ci;
    struct jpeg_error_mgr jerr;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_decompress(&ci);
    jpeg_stdio_src(&ci, f);
    jpeg_read_header(&ci, TRUE);
    ci.out_color_space = JCS_RGB;
    ci.scale_num = 1;
    ci.scale_denom = 8;
    jpeg_start_decompress(&ci);
    *w = (int)ci.output_width;
    *h = (int)ci.output_height;
    uint8_t *px = malloc((size_t)*w * (size_t)*h * 3);
    if (px == NULL)
        die("out of memory");
    while (ci.output_scanline < ci.output_height) {
        JSAMPROW row = px + (size_t)ci.output_scanline * (size_t)*w * 3;
        jpeg_read_scanlines(&ci, &row, 1);
    }
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
    fclose(f);
    return px;
}

static void write_flavours(const char *prefix, const uint8_t *px, int w, int h)
{
    static const struct { const char *name; jpeg_opts o; } flavours[] = {
        {"baseline-420", {0}},
        {"baseline-422", {.samp = {0x21, 0x11, 0x11}}},
        {"baseline-444", {.samp = {0x11, 0x11, 0x11}}},
        {"baseline-440", {.samp = {0x12, 0x11, 0x11}}},
        {"restart", {.restart = 3}},
        {"restart-444", {.samp = {0x11, 0x11, 0x11}, .restart = 1}},
        {"optimized", {.optimize = true}},
        {"progressive", {.progressive = true}},
        {"progressive-444", {.progressive = true, .samp = {0x11, 0x11, 0x11}}},
        {"arithmetic", {.arithmetic = true}},
    };
    char name[256];
    for (size_t i = 0; i < sizeof flavours / sizeof flavours[0]; i++) {
        snprintf(name, sizeof name, "%s-%s.jpg", prefix, flavours[i].name);
        write_jpeg(name, px, w, h, &flavours[i].o);
    }
    size_t n = (size_t)w * (size_t)h;
    uint8_t *other = malloc(n * 4);
    if (other == NULL)
        die("out of memory");
    for (size_t i = 0; i < n; i++)
        other[i] = (uint8_t)(px[i * 3] * 0.299 + px[i * 3 + 1] * 0.587 + px[i * 3 + 2] * 0.114);
    jpeg_opts gray = {.in_space = JCS_GRAYSCALE, .components = 1};
    snprintf(name, sizeof name, "%s-gray.jpg", prefix);
    write_jpeg(name, other, w, h, &gray);
    for (size_t i = 0; i < n; i++) {    /* Adobe's inverted CMYK: no black ink */
        memcpy(other + i * 4, px + i * 3, 3);
        other[i * 4 + 3] = 255;
    }
    jpeg_opts cmyk = {.in_space = JCS_CMYK, .jpeg_space = JCS_CMYK, .components = 4};
    snprintf(name, sizeof name, "%s-cmyk.jpg", prefix);
    write_jpeg(name, other, w, h, &cmyk);
    jpeg_opts ycck = {.in_space = JCS_CMYK, .jpeg_space = JCS_YCCK, .components = 4};
    snprintf(name, sizeof name, "%s-ycck.jpg", prefix);
    write_jpeg(name, other, w, h, &ycck);
    free(other);
}

static int flavours_main(int argc, char **argv)
{
    if (argc == 0) {
        uint8_t *px = textured(160, 120);
        write_flavours("texture", px, 160, 120);
        free(px);
    }
    for (int i = 0; i < argc; i++) {
        int w, h;
        uint8_t *px = small_photo(argv[i], &w, &h);
        const char *base = strrchr(argv[i], '/');
        char prefix[128];
        snprintf(prefix, sizeof prefix, "%s", base ? base + 1 : argv[i]);
        char *dot = strrchr(prefix, '.');
        if (dot != NULL)
            *dot = '\0';
        write_flavours(prefix, px, w, h);
        free(px);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--flavours") == 0) {
        outdir = argv[2];
        return flavours_main(argc - 3, argv + 3);
    }
    if (argc != 2) {
        fprintf(stderr, "usage: make-bad-inputs DIR\n"
                        "       make-bad-inputs --flavours DIR [PHOTO.jpg...]\n");
        return 2;
    }
    outdir = argv[1];
    write_file("bad-zero-bytes.jpg", "", 0);
    static const char text[] = "This is not an image, just text with a .jpg name.\n";
    write_file("bad-not-an-image.jpg", text, sizeof text - 1);
    jpeg_corpus();
    jpeg_bad_corpus();
    hostile_scans();
    png_corpus();
    png_bad_corpus();
    return 0;
}
