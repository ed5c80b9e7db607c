/* metadata.c - EXIF orientation and the keep-list (see metadata.h).
 *
 * The keep-list (--keep-metadata) is deliberately short: when the photo was
 * taken and how it was exposed, and which camera/lens model took it. Left
 * out on purpose, whatever the photo holds: GPS (whole IFD), maker notes
 * (vendor blobs with serials, sometimes face-detection data), serial
 * numbers, owner/artist/copyright names, free-text descriptions and user
 * comments, unique image IDs, subject area/location (they point at the
 * subject, often a face), the thumbnail IFD (it shows the unblurred face),
 * the Interop IFD, orientation (pixels are upright) and pixel dimensions
 * (they would describe the original, not the output). */
#include "image/metadata.h"

#include <string.h>
#include <zlib.h>

#include "image/container.h"
#include "image/format.h"

/* ---------------------------------------------------------------- keep-list */

static const uint16_t kept_ifd0[] = {
    0x010F, /* Make */
    0x0110, /* Model */
    0x011A, /* XResolution */
    0x011B, /* YResolution */
    0x0128, /* ResolutionUnit */
    0x0132, /* DateTime */
};

static const uint16_t kept_exif[] = {
    0x829A, /* ExposureTime */
    0x829D, /* FNumber */
    0x8822, /* ExposureProgram */
    0x8827, /* ISOSpeedRatings */
    0x9000, /* ExifVersion */
    0x9003, /* DateTimeOriginal */
    0x9004, /* DateTimeDigitized */
    0x9010, /* OffsetTime */
    0x9011, /* OffsetTimeOriginal */
    0x9012, /* OffsetTimeDigitized */
    0x9201, /* ShutterSpeedValue */
    0x9202, /* ApertureValue */
    0x9203, /* BrightnessValue */
    0x9204, /* ExposureBiasValue */
    0x9205, /* MaxApertureValue */
    0x9207, /* MeteringMode */
    0x9208, /* LightSource */
    0x9209, /* Flash */
    0x920A, /* FocalLength */
    0x9291, /* SubSecTimeOriginal */
    0xA001, /* ColorSpace */
    0xA402, /* ExposureMode */
    0xA403, /* WhiteBalance */
    0xA404, /* DigitalZoomRatio */
    0xA405, /* FocalLengthIn35mmFilm */
    0xA406, /* SceneCaptureType */
    0xA408, /* Contrast */
    0xA409, /* Saturation */
    0xA40A, /* Sharpness */
    0xA432, /* LensSpecification */
    0xA433, /* LensMake */
    0xA434, /* LensModel */
};

/* Longest value copied: kept tags are short numbers and model names. */
#define KEPT_VALUE_MAX 128

#define TAG_EXIF_IFD 0x8769
#define TAG_GPS_IFD 0x8825
#define TAG_INTEROP_IFD 0xA005
#define TAG_ORIENTATION 0x0112

static bool in_list(const uint16_t *list, size_t n, uint16_t tag)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == tag)
            return true;
    return false;
}

bool anon_exif_tag_kept(int ifd, uint16_t tag)
{
    if (ifd == ANON_IFD0)
        return in_list(kept_ifd0, sizeof kept_ifd0 / sizeof kept_ifd0[0], tag);
    if (ifd == ANON_IFD_EXIF)
        return in_list(kept_exif, sizeof kept_exif / sizeof kept_exif[0], tag);
    return false;
}

/* ---------------------------------------------------------------- reading */

typedef struct tiff_reader {
    const uint8_t *p;
    size_t len;
    bool be;
} tiff_reader;

static uint16_t rd16(const tiff_reader *r, size_t off)
{
    const uint8_t *q = r->p + off;
    return r->be ? (uint16_t)(q[0] << 8 | q[1]) : (uint16_t)(q[1] << 8 | q[0]);
}

static uint32_t rd32(const tiff_reader *r, size_t off)
{
    const uint8_t *q = r->p + off;
    return r->be ? (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3]
                 : (uint32_t)q[3] << 24 | (uint32_t)q[2] << 16 | (uint32_t)q[1] << 8 | q[0];
}

static size_t type_size(uint16_t type)
{
    static const uint8_t sizes[] = {0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4};
    return type < sizeof sizes ? sizes[type] : 0;
}

static int tiff_open(tiff_reader *r, const uint8_t *tiff, size_t len)
{
    if (tiff == NULL || len < 8)
        return -1;
    r->p = tiff;
    r->len = len;
    if (memcmp(tiff, "II*\0", 4) == 0)
        r->be = false;
    else if (memcmp(tiff, "MM\0*", 4) == 0)
        r->be = true;
    else
        return -1;
    return 0;
}

/* Visits the entries of the IFD at off; returns the next-IFD offset (0 at
 * the end or when the IFD is unreadable). Sub-IFD offsets go to subs. */
static uint32_t walk_ifd(const tiff_reader *r, uint32_t off, int ifd,
                         anon_exif_visit fn, void *ctx, uint32_t subs[3], int *visited)
{
    if (off < 8 || (size_t)off + 2 > r->len)
        return 0;
    unsigned n = rd16(r, off);
    if ((size_t)off + 2 + 12u * n + 4 > r->len)
        return 0;
    for (unsigned i = 0; i < n; i++) {
        size_t e = (size_t)off + 2 + 12u * i;
        anon_exif_entry en = {ifd, rd16(r, e), rd16(r, e + 2), rd32(r, e + 4), NULL, 0, r->be};
        size_t unit = type_size(en.type);
        if (unit == 0 || en.count > r->len / unit)
            continue;
        en.value_len = unit * en.count;
        if (en.value_len <= 4) {
            en.value = r->p + e + 8;
        } else {
            uint32_t vo = rd32(r, e + 8);
            if (vo > r->len || en.value_len > r->len - vo)
                continue;
            en.value = r->p + vo;
        }
        if ((en.type == 4 || en.type == 13) && en.count == 1) {
            uint32_t sub = rd32(r, e + 8);
            if (ifd == ANON_IFD0 && en.tag == TAG_EXIF_IFD)
                subs[0] = sub;
            else if (ifd == ANON_IFD0 && en.tag == TAG_GPS_IFD)
                subs[1] = sub;
            else if (ifd == ANON_IFD_EXIF && en.tag == TAG_INTEROP_IFD)
                subs[2] = sub;
        }
        if (fn)
            fn(ctx, &en);
        (*visited)++;
    }
    return rd32(r, (size_t)off + 2 + 12u * n);
}

int anon_exif_walk(const uint8_t *tiff, size_t len, anon_exif_visit fn, void *ctx)
{
    tiff_reader r;
    if (tiff_open(&r, tiff, len) < 0)
        return -1;
    int visited = 0;
    uint32_t subs[3] = {0, 0, 0};
    /* A fixed shape (IFD0 -> Exif -> Interop, IFD0 -> GPS, IFD0 -> IFD1):
     * no recursion, so hostile offsets cannot loop. */
    uint32_t ifd1 = walk_ifd(&r, rd32(&r, 4), ANON_IFD0, fn, ctx, subs, &visited);
    if (subs[0])
        walk_ifd(&r, subs[0], ANON_IFD_EXIF, fn, ctx, subs, &visited);
    if (subs[1])
        walk_ifd(&r, subs[1], ANON_IFD_GPS, fn, ctx, subs, &visited);
    if (subs[2])
        walk_ifd(&r, subs[2], ANON_IFD_INTEROP, fn, ctx, subs, &visited);
    if (ifd1)
        walk_ifd(&r, ifd1, ANON_IFD1, fn, ctx, subs, &visited);
    return visited;
}

static void find_orientation(void *ctx, const anon_exif_entry *e)
{
    int *orientation = ctx;
    if (e->ifd != ANON_IFD0 || e->tag != TAG_ORIENTATION || e->type != 3 || e->count != 1)
        return;
    int v = e->big_endian ? e->value[0] << 8 | e->value[1] : e->value[1] << 8 | e->value[0];
    if (v >= 1 && v <= 8)
        *orientation = v;
}

int anon_exif_orientation(const uint8_t *tiff, size_t len)
{
    int orientation = 1;
    anon_exif_walk(tiff, len, find_orientation, &orientation);
    return orientation;
}

static bool jpeg_find_exif(const uint8_t *file, size_t len, const uint8_t **tiff,
                           size_t *tiff_len)
{
    size_t pos = 0;
    anon_jpeg_segment seg;
    while (anon_jpeg_segment_next(file, len, &pos, &seg) == 1) {
        if (seg.marker == 0xDA)    /* SOS: metadata comes before the scan */
            break;
        if (seg.marker == 0xE1 && seg.len >= 6 && memcmp(seg.data, "Exif\0\0", 6) == 0) {
            *tiff = seg.data + 6;
            *tiff_len = seg.len - 6;
            return true;
        }
    }
    return false;
}

static bool png_find_exif(const uint8_t *file, size_t len, const uint8_t **tiff,
                          size_t *tiff_len)
{
    size_t pos = 0;
    anon_png_chunk c;
    while (anon_png_chunk_next(file, len, &pos, &c) == 1) {
        if (strcmp(c.type, "IDAT") == 0)
            break;
        if (strcmp(c.type, "eXIf") == 0) {
            *tiff = c.data;
            *tiff_len = c.len;
            return true;
        }
    }
    return false;
}

bool anon_find_exif(const uint8_t *file, size_t len, const uint8_t **tiff,
                    size_t *tiff_len)
{
    switch (anon_sniff(file, len)) {
    case ANON_FMT_JPEG: return jpeg_find_exif(file, len, tiff, tiff_len);
    case ANON_FMT_PNG:  return png_find_exif(file, len, tiff, tiff_len);
    default:            return false;
    }
}

/* ---------------------------------------------------------------- writing */

typedef struct kept_set {
    anon_exif_entry ifd0[sizeof kept_ifd0 / sizeof kept_ifd0[0]];
    anon_exif_entry exif[sizeof kept_exif / sizeof kept_exif[0]];
    size_t n0, nexif;
} kept_set;

static void collect_kept(void *ctx, const anon_exif_entry *e)
{
    kept_set *k = ctx;
    if (!anon_exif_tag_kept(e->ifd, e->tag) || e->value_len > KEPT_VALUE_MAX)
        return;
    anon_exif_entry *list = e->ifd == ANON_IFD0 ? k->ifd0 : k->exif;
    size_t *n = e->ifd == ANON_IFD0 ? &k->n0 : &k->nexif;
    size_t cap = e->ifd == ANON_IFD0 ? sizeof k->ifd0 / sizeof k->ifd0[0]
                                     : sizeof k->exif / sizeof k->exif[0];
    for (size_t i = 0; i < *n; i++)
        if (list[i].tag == e->tag)
            return;    /* a duplicated tag: the first one wins */
    if (*n < cap)
        list[(*n)++] = *e;
}

/* TIFF requires the entries of an IFD in ascending tag order. */
static void sort_entries(anon_exif_entry *v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && v[j - 1].tag > v[j].tag; j--) {
            anon_exif_entry t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

typedef struct tiff_writer {
    uint8_t *p;
    bool be;
} tiff_writer;

static void wr16(tiff_writer *w, size_t off, uint16_t v)
{
    w->p[off] = w->be ? (uint8_t)(v >> 8) : (uint8_t)v;
    w->p[off + 1] = w->be ? (uint8_t)v : (uint8_t)(v >> 8);
}

static void wr32(tiff_writer *w, size_t off, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        w->p[off + (size_t)i] = (uint8_t)(v >> (w->be ? 24 - 8 * i : 8 * i));
}

static size_t ifd_size(const anon_exif_entry *v, size_t n, size_t extra_entries)
{
    size_t size = 2 + 12 * (n + extra_entries) + 4;
    for (size_t i = 0; i < n; i++)
        if (v[i].value_len > 4)
            size += (v[i].value_len + 1) & ~(size_t)1;    /* word aligned */
    return size;
}

/* Writes an IFD at off with its out-of-line values right after it. A
 * pointer entry (tag, LONG, target) is merged in tag order when tag != 0. */
static void write_ifd(tiff_writer *w, size_t off, const anon_exif_entry *v, size_t n,
                      uint16_t ptr_tag, uint32_t ptr_target)
{
    size_t total = n + (ptr_tag != 0);
    size_t data = off + 2 + 12 * total + 4;
    wr16(w, off, (uint16_t)total);
    size_t e = off + 2;
    bool ptr_done = ptr_tag == 0;
    for (size_t i = 0; i <= n; i++) {
        if (!ptr_done && (i == n || v[i].tag > ptr_tag)) {
            wr16(w, e, ptr_tag);
            wr16(w, e + 2, 4);
            wr32(w, e + 4, 1);
            wr32(w, e + 8, ptr_target);
            e += 12;
            ptr_done = true;
        }
        if (i == n)
            break;
        wr16(w, e, v[i].tag);
        wr16(w, e + 2, v[i].type);
        wr32(w, e + 4, v[i].count);
        memset(w->p + e + 8, 0, 4);
        if (v[i].value_len <= 4) {
            memcpy(w->p + e + 8, v[i].value, v[i].value_len);
        } else {
            wr32(w, e + 8, (uint32_t)data);
            memcpy(w->p + data, v[i].value, v[i].value_len);
            data += (v[i].value_len + 1) & ~(size_t)1;
        }
        e += 12;
    }
    wr32(w, e, 0);    /* no next IFD: in particular no IFD1 thumbnail */
}

int anon_exif_build_kept(const uint8_t *tiff, size_t len, anon_buffer *out,
                         anon_error *err)
{
    kept_set k;
    memset(&k, 0, sizeof k);
    if (anon_exif_walk(tiff, len, collect_kept, &k) < 0 || k.n0 + k.nexif == 0)
        return 0;
    sort_entries(k.ifd0, k.n0);
    sort_entries(k.exif, k.nexif);
    bool has_exif = k.nexif > 0;
    size_t size0 = ifd_size(k.ifd0, k.n0, has_exif);
    size_t exif_off = 8 + size0;
    size_t total = exif_off + (has_exif ? ifd_size(k.exif, k.nexif, 0) : 0);
    if (anon_buffer_reserve(out, total, err) < 0)
        return -1;
    tiff_writer w = {out->data + out->len, tiff[0] == 'M'};
    memset(w.p, 0, total);
    memcpy(w.p, w.be ? "MM\0*" : "II*\0", 4);
    wr32(&w, 4, 8);
    write_ifd(&w, 8, k.ifd0, k.n0, has_exif ? TAG_EXIF_IFD : 0, (uint32_t)exif_off);
    if (has_exif)
        write_ifd(&w, exif_off, k.exif, k.nexif, 0, 0);
    out->len += total;
    return 0;
}

/* ---------------------------------------------------------------- colour */

/* Larger profiles exist only as attacks (real ones are 0.5-600 KB). */
#define ICC_MAX_BYTES (4u << 20)
#define ICC_HEADER_BYTES 128

static bool find_icc_chunk(const uint8_t *file, size_t len, int number,
                           anon_jpeg_segment *seg)
{
    size_t pos = 0;
    while (anon_jpeg_segment_next(file, len, &pos, seg) == 1 && seg->marker != 0xDA)
        if (seg->marker == 0xE2 && seg->len >= 14 &&
            memcmp(seg->data, "ICC_PROFILE", 12) == 0 && seg->data[12] == number)
            return true;
    return false;
}

/* JPEG: chunks numbered 1..count, each in an APP2 segment, in any order. */
static int jpeg_icc(const uint8_t *file, size_t len, anon_buffer *out, anon_error *err)
{
    size_t start = out->len;
    for (int want = 1, count = 1; want <= count; want++) {
        anon_jpeg_segment seg;
        if (!find_icc_chunk(file, len, want, &seg) || (count = seg.data[13]) == 0 ||
            out->len - start + seg.len - 14 > ICC_MAX_BYTES) {
            out->len = start;    /* missing or broken chunk: no profile */
            return 0;
        }
        if (anon_buffer_append(out, seg.data + 14, seg.len - 14, err) < 0)
            return -1;
    }
    return 0;
}

/* PNG: iCCP = name, NUL, compression method 0, zlib stream. */
static int png_icc(const uint8_t *file, size_t len, anon_buffer *out, anon_error *err)
{
    size_t pos = 0;
    anon_png_chunk c;
    while (anon_png_chunk_next(file, len, &pos, &c) == 1 && strcmp(c.type, "IDAT") != 0) {
        if (strcmp(c.type, "iCCP") != 0)
            continue;
        const uint8_t *nul = memchr(c.data, 0, c.len < 80 ? c.len : 80);
        if (nul == NULL || (size_t)(nul - c.data) + 2 > c.len || nul[1] != 0)
            return 0;
        size_t start = out->len;
        if (anon_buffer_reserve(out, ICC_MAX_BYTES, err) < 0)
            return -1;
        uLongf n = ICC_MAX_BYTES;
        const uint8_t *z = nul + 2;
        if (uncompress(out->data + start, &n, z, (uLong)(c.len - (size_t)(z - c.data))) == Z_OK)
            out->len = start + n;
        return 0;
    }
    return 0;
}

int anon_find_icc_rgb(const uint8_t *file, size_t len, anon_buffer *out, anon_error *err)
{
    size_t start = out->len;
    anon_format fmt = anon_sniff(file, len);
    int rc = fmt == ANON_FMT_JPEG ? jpeg_icc(file, len, out, err)
           : fmt == ANON_FMT_PNG  ? png_icc(file, len, out, err) : 0;
    if (rc == 0 && (out->len - start < ICC_HEADER_BYTES ||
                    memcmp(out->data + start + 16, "RGB ", 4) != 0))
        out->len = start;
    return rc;
}
