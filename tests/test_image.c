/* test_image.c - decode/encode round trips, orientation, probe, pixel
 * limits and metadata stripping/keeping. Inputs are synthetic: images made
 * here, or files of the generated corpus (corpus.h). */
#include <math.h>

#include "check.h"
#include "codec/codec.h"
#include "codec/jpeg_private.h"
#include "corpus.h"
#include "image/container.h"
#include "image/image.h"
#include "image/metadata.h"
#include "image/orient.h"

/* ---------------------------------------------------------------- helpers */

static int make_textured(anon_image *img, int w, int h, int channels)
{
    if (anon_image_alloc(img, w, h, channels, NULL) < 0)
        return -1;
    uint32_t seed = 7;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = img->pixels + ((size_t)y * (size_t)w + (size_t)x) * (size_t)channels;
            seed = seed * 1664525u + 1013904223u;
            p[0] = (uint8_t)(x * 200 / w + (seed >> 28));
            p[1] = (uint8_t)(y * 200 / h + (seed >> 29));
            p[2] = (uint8_t)((x + y) % 64 * 3);
            if (channels == 4)
                p[3] = (uint8_t)(x * 255 / w);
        }
    return 0;
}

static double psnr(const anon_image *a, const anon_image *b)
{
    double se = 0;
    size_t n = (size_t)a->width * (size_t)a->height;
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < 3; c++) {
            double d = (double)a->pixels[i * (size_t)a->channels + (size_t)c] -
                       (double)b->pixels[i * (size_t)b->channels + (size_t)c];
            se += d * d;
        }
    return 10 * log10(255.0 * 255.0 / (se / (double)(n * 3) + 1e-9));
}

static int decode_file(const char *name, anon_image *img, anon_image_info *info,
                       anon_buffer *b)
{
    if (corpus_read(name, b) < 0)
        return -1;
    anon_decode_options o = {0, 1};
    return anon_decode(b->data, b->len, &o, img, info, NULL);
}

/* Which metadata an encoded file carries. */
struct found_meta {
    int app1_exif, app1_other, app13, com, appn_other;   /* JPEG */
    int text_chunks, exif_chunks, other_chunks;           /* PNG */
    const uint8_t *exif;
    size_t exif_len;
};

static int scan_metadata(const anon_buffer *b, struct found_meta *m)
{
    memset(m, 0, sizeof *m);
    size_t pos = 0;
    int rc;
    if (anon_sniff(b->data, b->len) == ANON_FMT_JPEG) {
        anon_jpeg_segment s;
        while ((rc = anon_jpeg_segment_next(b->data, b->len, &pos, &s)) == 1) {
            if (s.marker == 0xE1 && s.len >= 6 && memcmp(s.data, "Exif\0\0", 6) == 0) {
                m->app1_exif++;
                m->exif = s.data + 6;
                m->exif_len = s.len - 6;
            } else if (s.marker == 0xE1) {
                m->app1_other++;
            } else if (s.marker == 0xED) {
                m->app13++;
            } else if (s.marker == 0xFE) {
                m->com++;
            } else if (s.marker > 0xE0 && s.marker <= 0xEF) {
                m->appn_other++;
            }
        }
        return rc;
    }
    anon_png_chunk c;
    while ((rc = anon_png_chunk_next(b->data, b->len, &pos, &c)) == 1) {
        if (!strcmp(c.type, "tEXt") || !strcmp(c.type, "zTXt") || !strcmp(c.type, "iTXt"))
            m->text_chunks++;
        else if (!strcmp(c.type, "eXIf")) {
            m->exif_chunks++;
            m->exif = c.data;
            m->exif_len = c.len;
        } else if (strcmp(c.type, "IHDR") && strcmp(c.type, "IDAT"))
            m->other_chunks++;
    }
    return rc;
}

static bool contains(const anon_buffer *b, const char *s)
{
    return memmem(b->data, b->len, s, strlen(s)) != NULL;
}

/* Strings of the corpus' metadata that must never reach an output. */
static const char *const secrets[] = {"Jane", "SN123456789", "LENS-SN", "SECRET-MAKERNOTE",
                                      "UNIQUE-ID", "GPS", "Birthday", "xmpmeta", "Photoshop"};

/* ---------------------------------------------------------------- format basics */

TEST(sniff_and_names)
{
    static const uint8_t jpeg[] = {0xFF, 0xD8, 0xFF, 0xE0};
    static const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    CHECK(anon_sniff(jpeg, sizeof jpeg) == ANON_FMT_JPEG);
    CHECK(anon_sniff(png, sizeof png) == ANON_FMT_PNG);
    CHECK(anon_sniff(png, 4) == ANON_FMT_UNKNOWN);
    CHECK(anon_sniff((const uint8_t *)"GIF89a", 6) == ANON_FMT_UNKNOWN);
    CHECK(anon_sniff(NULL, 0) == ANON_FMT_UNKNOWN);
    CHECK(strcmp(anon_format_name(ANON_FMT_PNG), "png") == 0);
    CHECK(strcmp(anon_format_mime(ANON_FMT_JPEG), "image/jpeg") == 0);
}

TEST(probe_finds_frame_after_many_segments)
{
    /* ok-metadata.jpg: APP1 Exif, APP1 XMP, APP13, COM, DQT before SOF. */
    anon_buffer b = ANON_BUFFER_INIT;
    CHECK(corpus_read("ok-metadata.jpg", &b) == 0);
    anon_image_info info;
    anon_error err;
    CHECK(anon_probe(b.data, b.len, &info, &err) == 0);
    CHECK(info.format == ANON_FMT_JPEG && info.width == PATTERN_W && info.height == PATTERN_H);
    CHECK(info.components == 3 && info.orientation == 1 && !info.progressive);
    /* The header alone (cut before the scan) is enough. */
    size_t pos = 0, sos = 0;
    anon_jpeg_segment s;
    while (anon_jpeg_segment_next(b.data, b.len, &pos, &s) == 1)
        if (s.marker == 0xDA) {
            sos = (size_t)(s.data - b.data);
            break;
        }
    CHECK(sos > 0);
    CHECK(anon_probe(b.data, sos - 4, &info, &err) == 0 && info.width == PATTERN_W);
    anon_buffer_free(&b);
}

TEST(probe_reads_only_the_png_header)
{
    anon_buffer b = ANON_BUFFER_INIT;
    CHECK(corpus_read("bad-bomb.png", &b) == 0);
    anon_image_info info;
    CHECK(anon_probe(b.data, 60, &info, NULL) == 0);    /* IHDR only */
    CHECK(info.format == ANON_FMT_PNG && info.width == 50000 && info.height == 50000);
    anon_buffer_free(&b);
    CHECK(corpus_read("ok-orient-6.png", &b) == 0);
    CHECK(anon_probe(b.data, b.len, &info, NULL) == 0);
    CHECK(info.orientation == 6 && info.width == PATTERN_H && info.height == PATTERN_W);
    anon_buffer_free(&b);
    CHECK(corpus_read("ok-progressive.jpg", &b) == 0);
    CHECK(anon_probe(b.data, b.len, &info, NULL) == 0 && info.progressive);
    anon_buffer_free(&b);
}

TEST(max_pixels_refuses_before_decoding)
{
    anon_buffer b = ANON_BUFFER_INIT;
    CHECK(corpus_read("ok-textured.jpg", &b) == 0);    /* 256 x 192 */
    anon_decode_options o = {256 * 192 - 1, 1};
    anon_image img;
    anon_error err;
    CHECK(anon_decode(b.data, b.len, &o, &img, NULL, &err) < 0);
    CHECK(strstr(err.msg, "limit") != NULL);
    CHECK(img.pixels == NULL);
    o.max_pixels = 256 * 192;
    CHECK(anon_decode(b.data, b.len, &o, &img, NULL, &err) == 0);
    anon_image_free(&img);
    anon_buffer_free(&b);
}

/* ---------------------------------------------------------------- orientation */

TEST(all_eight_orientations_exact)
{
    /* Lossless PNG copies: each must decode to exactly the upright pattern. */
    anon_buffer b = ANON_BUFFER_INIT;
    anon_image ref, img;
    anon_image_info info;
    CHECK(decode_file("ok-orient-1.png", &ref, &info, &b) == 0);
    CHECK(pattern_distance(&ref) == 0);
    for (int o = 2; o <= 8; o++) {
        char name[32];
        snprintf(name, sizeof name, "ok-orient-%d.png", o);
        CHECKF(decode_file(name, &img, &info, &b) == 0, "%s", name);
        bool same = img.width == ref.width && img.height == ref.height &&
                    memcmp(img.pixels, ref.pixels, (size_t)ref.width * (size_t)ref.height * 3) == 0;
        anon_image_free(&img);
        CHECKF(info.orientation == o && same, "orientation %d not applied", o);
    }
    anon_image_free(&ref);
    anon_buffer_free(&b);
}

TEST(jpeg_rows_turned_as_decoded)
{
    /* The JPEG decoder puts rows upright while decoding: it must match
     * decoding as stored and turning afterwards, pixel for pixel. */
    anon_buffer b = ANON_BUFFER_INIT;
    for (int o = 1; o <= 8; o++) {
        char name[32];
        snprintf(name, sizeof name, "ok-orient-%d.jpg", o);
        anon_image upright, stored, turned;
        anon_image_info info;
        CHECK(corpus_read(name, &b) == 0);
        CHECK(anon_decode(b.data, b.len, NULL, &upright, &info, NULL) == 0);
        CHECK(anon_jpeg_decode(b.data, b.len, 1, 1, &stored, &info, NULL) == 0);
        CHECK(anon_image_orient(&stored, o, &turned, NULL) == 0);
        bool same = upright.width == turned.width && upright.height == turned.height &&
                    memcmp(upright.pixels, turned.pixels,
                           (size_t)upright.width * (size_t)upright.height * 3) == 0;
        anon_image_free(&upright);
        anon_image_free(&stored);
        anon_image_free(&turned);
        CHECKF(same, "orientation %d", o);
    }
    anon_buffer_free(&b);
}

TEST(orientation_inverse_round_trip)
{
    anon_image src, turned, back;
    CHECK(make_textured(&src, 13, 7, 4) == 0);
    for (int o = 1; o <= 8; o++) {
        CHECK(anon_image_orient(&src, o, &turned, NULL) == 0);
        CHECK(turned.width == (o >= 5 ? 7 : 13));
        CHECK(anon_image_orient(&turned, anon_orientation_inverse(o), &back, NULL) == 0);
        bool same = memcmp(back.pixels, src.pixels, 13 * 7 * 4) == 0;
        anon_image_free(&turned);
        anon_image_free(&back);
        CHECKF(same, "orientation %d and its inverse", o);
    }
    anon_image_free(&src);
}

/* The stored rectangle's upright place, as anon_decode reports damage:
 * the bounding box of its pixels once the image is really turned. */
TEST(orient_rect_matches_the_turned_pixels)
{
    const anon_rect r = {3, 4, 6, 2};
    anon_image src, turned;
    CHECK(anon_image_alloc(&src, 13, 7, 3, NULL) == 0);
    memset(src.pixels, 0, 13 * 7 * 3);
    for (int y = r.y; y < r.y + r.h; y++)
        for (int x = r.x; x < r.x + r.w; x++)
            src.pixels[(y * 13 + x) * 3] = 255;
    for (int o = 1; o <= 8; o++) {
        CHECK(anon_image_orient(&src, o, &turned, NULL) == 0);
        int x0 = turned.width, y0 = turned.height, x1 = -1, y1 = -1;
        for (int y = 0; y < turned.height; y++)
            for (int x = 0; x < turned.width; x++)
                if (turned.pixels[((size_t)y * turned.width + x) * 3] == 255) {
                    x0 = x < x0 ? x : x0, y0 = y < y0 ? y : y0;
                    x1 = x > x1 ? x : x1, y1 = y > y1 ? y : y1;
                }
        anon_rect got = anon_orient_rect(o, turned.width, turned.height, r);
        anon_image_free(&turned);
        CHECKF(got.x == x0 && got.y == y0 && got.w == x1 - x0 + 1 && got.h == y1 - y0 + 1,
               "orientation %d: %d,%d %dx%d, pixels at %d,%d %dx%d", o, got.x, got.y, got.w,
               got.h, x0, y0, x1 - x0 + 1, y1 - y0 + 1);
    }
    anon_image_free(&src);
}

/* ---------------------------------------------------------------- round trips */

TEST(jpeg_round_trip)
{
    anon_image src, dec;
    CHECK(make_textured(&src, 200, 150, 3) == 0);
    anon_buffer out = ANON_BUFFER_INIT;
    anon_encode_options eo = {95, false, NULL, 0};
    anon_error err;
    CHECK(anon_encode(&src, ANON_FMT_JPEG, &eo, &out, &err) == 0);
    CHECK(anon_sniff(out.data, out.len) == ANON_FMT_JPEG);
    CHECK(anon_decode(out.data, out.len, NULL, &dec, NULL, &err) == 0);
    CHECK(dec.width == 200 && dec.height == 150 && dec.channels == 3);
    double q = psnr(&src, &dec);
    anon_image_free(&dec);
    anon_image_free(&src);
    anon_buffer_free(&out);
    CHECKF(q > 30, "PSNR %.1f dB", q);
}

TEST(png_round_trip_rgba_exact)
{
    anon_image src, dec;
    CHECK(make_textured(&src, 61, 33, 4) == 0);
    anon_buffer out = ANON_BUFFER_INIT;
    anon_error err;
    CHECK(anon_encode(&src, ANON_FMT_PNG, NULL, &out, &err) == 0);
    CHECK(anon_decode(out.data, out.len, NULL, &dec, NULL, &err) == 0);
    bool same = dec.channels == 4 && memcmp(dec.pixels, src.pixels, 61 * 33 * 4) == 0;
    anon_image_free(&dec);
    anon_image_free(&src);
    anon_buffer_free(&out);
    CHECK(same);
}

TEST(rgba_to_jpeg_drops_alpha)
{
    anon_image src, dec;
    CHECK(make_textured(&src, 40, 30, 4) == 0);
    anon_buffer out = ANON_BUFFER_INIT;
    CHECK(anon_encode(&src, ANON_FMT_JPEG, NULL, &out, NULL) == 0);
    CHECK(anon_decode(out.data, out.len, NULL, &dec, NULL, NULL) == 0);
    bool ok = dec.channels == 3 && psnr(&src, &dec) > 28;
    anon_image_free(&dec);
    anon_image_free(&src);
    anon_buffer_free(&out);
    CHECK(ok);
}

TEST(sixteen_bit_png_scaled_not_truncated)
{
    anon_buffer b = ANON_BUFFER_INIT;
    anon_image img;
    anon_image_info info;
    CHECK(decode_file("ok-rgb16.png", &img, &info, &b) == 0);
    int d = pattern_distance(&img);
    anon_image_free(&img);
    anon_buffer_free(&b);
    CHECK(d == 0);
}

TEST(dct_scaling)
{
    anon_buffer b = ANON_BUFFER_INIT;
    CHECK(corpus_read("ok-textured.jpg", &b) == 0);
    static const int denoms[] = {1, 2, 4, 8};
    for (int i = 0; i < 4; i++) {
        anon_decode_options o = {0, denoms[i]};
        anon_image img;
        CHECK(anon_decode(b.data, b.len, &o, &img, NULL, NULL) == 0);
        bool ok = img.width == 256 / denoms[i] && img.height == 192 / denoms[i];
        anon_image_free(&img);
        CHECKF(ok, "scale 1/%d", denoms[i]);
    }
    anon_buffer_free(&b);
}

TEST(damaged_jpeg_reports_warnings)
{
    anon_buffer b = ANON_BUFFER_INIT;
    anon_image img;
    anon_image_info info;
    CHECK(decode_file("recover-truncated.jpg", &img, &info, &b) == 0);
    anon_image_free(&img);
    anon_buffer_free(&b);
    CHECK(info.warnings.count > 0 && info.warnings.msg[0][0] != '\0');
    CHECK(decode_file("ok-textured.jpg", &img, &info, &b) == 0);
    anon_image_free(&img);
    anon_buffer_free(&b);
    CHECK(info.warnings.count == 0);
}

/* ---------------------------------------------------------------- metadata */

/* Decodes a corpus file and re-encodes it as fmt with or without the
 * kept metadata. */
static int reencode(const char *name, anon_format fmt, bool keep, anon_buffer *out)
{
    anon_buffer src = ANON_BUFFER_INIT;
    anon_image img;
    if (decode_file(name, &img, NULL, &src) < 0)
        return -1;
    anon_encode_options eo = {90, keep, src.data, src.len};
    int rc = anon_encode(&img, fmt, &eo, out, NULL);
    anon_image_free(&img);
    anon_buffer_free(&src);
    return rc;
}

static void check_no_secrets(struct check_state *check_ctx_, const anon_buffer *out)
{
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        CHECKF(!contains(out, secrets[i]), "output contains '%s'", secrets[i]);
}

TEST(metadata_stripped_by_default)
{
    static const char *const sources[] = {"ok-metadata.jpg", "ok-metadata.png"};
    for (int s = 0; s < 2; s++)
        for (anon_format f = ANON_FMT_JPEG; f <= ANON_FMT_PNG; f++) {
            anon_buffer out = ANON_BUFFER_INIT;
            struct found_meta m;
            CHECK(reencode(sources[s], f, false, &out) == 0);
            CHECK(scan_metadata(&out, &m) == 0);
            check_no_secrets(check_ctx_, &out);
            anon_buffer_free(&out);
            CHECKF(m.app1_exif + m.app1_other + m.app13 + m.com + m.appn_other == 0,
                   "%s -> %s: JPEG metadata segments", sources[s], anon_format_name(f));
            CHECKF(m.text_chunks + m.exif_chunks + m.other_chunks == 0,
                   "%s -> %s: PNG metadata chunks", sources[s], anon_format_name(f));
        }
}

struct kept_check {
    int entries, unlisted, gps, ifd1, orientation;
    bool date_original, make, exposure;
};

static void inspect_kept(void *ctx, const anon_exif_entry *e)
{
    struct kept_check *k = ctx;
    k->entries++;
    bool pointer = e->ifd == ANON_IFD0 && e->tag == 0x8769;
    if (!pointer && !anon_exif_tag_kept(e->ifd, e->tag))
        k->unlisted++;
    k->gps += e->ifd == ANON_IFD_GPS || e->tag == 0x8825;
    k->ifd1 += e->ifd == ANON_IFD1;
    k->orientation += e->tag == 0x0112;
    if (e->ifd == ANON_IFD_EXIF && e->tag == 0x9003)
        k->date_original = e->value_len == 20 && memcmp(e->value, "2024:05:01 10:00:00", 20) == 0;
    if (e->ifd == ANON_IFD0 && e->tag == 0x010F)
        k->make = memcmp(e->value, "AnonCam", 8) == 0;
    if (e->ifd == ANON_IFD_EXIF && e->tag == 0x829A)
        k->exposure = e->value_len == 8 && e->value[3] == 1 && e->value[7] == 125;
}

TEST(keep_metadata_keeps_only_the_whitelist)
{
    static const char *const sources[] = {"ok-metadata.jpg", "ok-metadata.png"};
    for (int s = 0; s < 2; s++)
        for (anon_format f = ANON_FMT_JPEG; f <= ANON_FMT_PNG; f++) {
            anon_buffer out = ANON_BUFFER_INIT;
            struct found_meta m;
            CHECK(reencode(sources[s], f, true, &out) == 0);
            CHECK(scan_metadata(&out, &m) == 0);
            check_no_secrets(check_ctx_, &out);
            struct kept_check k;
            memset(&k, 0, sizeof k);
            int walked = anon_exif_walk(m.exif, m.exif_len, inspect_kept, &k);
            anon_buffer_free(&out);
            CHECKF(m.app1_exif + m.exif_chunks == 1, "%s -> %s: %d %d", sources[s], anon_format_name(f), m.app1_exif, m.exif_chunks);
            CHECK(m.app1_other + m.app13 + m.com + m.appn_other + m.text_chunks == 0);
            CHECKF(walked > 0 && k.unlisted == 0 && k.gps == 0 && k.ifd1 == 0 &&
                   k.orientation == 0, "%s -> %s: %d tags, %d unlisted, gps %d, ifd1 %d",
                   sources[s], anon_format_name(f), walked, k.unlisted, k.gps, k.ifd1);
            CHECK(k.date_original && k.make && k.exposure);
        }
}

TEST(keep_metadata_without_exif_writes_none)
{
    anon_buffer out = ANON_BUFFER_INIT;
    struct found_meta m;
    CHECK(reencode("ok-textured.jpg", ANON_FMT_JPEG, true, &out) == 0);
    CHECK(scan_metadata(&out, &m) == 0);
    anon_buffer_free(&out);
    CHECK(m.app1_exif == 0);
}

TEST(rgb_colour_profile_carried_over)
{
    static const char *const sources[] = {"ok-icc.jpg", "ok-icc.png"};
    for (int s = 0; s < 2; s++) {
        anon_buffer src = ANON_BUFFER_INIT, want = ANON_BUFFER_INIT;
        CHECK(corpus_read(sources[s], &src) == 0);
        CHECK(anon_find_icc_rgb(src.data, src.len, &want, NULL) == 0 && want.len == 132);
        anon_buffer_free(&src);
        for (anon_format f = ANON_FMT_JPEG; f <= ANON_FMT_PNG; f++) {
            anon_buffer out = ANON_BUFFER_INIT, got = ANON_BUFFER_INIT;
            CHECK(reencode(sources[s], f, false, &out) == 0);
            CHECK(anon_find_icc_rgb(out.data, out.len, &got, NULL) == 0);
            bool same = got.len == want.len && memcmp(got.data, want.data, want.len) == 0;
            anon_buffer_free(&out);
            anon_buffer_free(&got);
            CHECKF(same, "%s -> %s: profile not carried over", sources[s], anon_format_name(f));
        }
        anon_buffer_free(&want);
    }
}

TEST(cmyk_colour_profile_dropped)
{
    /* The pixels are converted to RGB: a CMYK profile would be wrong. */
    anon_buffer out = ANON_BUFFER_INIT;
    struct found_meta m;
    CHECK(reencode("ok-cmyk-adobe.jpg", ANON_FMT_JPEG, false, &out) == 0);
    CHECK(scan_metadata(&out, &m) == 0);
    anon_buffer_free(&out);
    CHECK(m.appn_other == 0);
}

TEST(exif_walk_survives_garbage)
{
    uint8_t junk[256];
    uint32_t seed = 1;
    for (int round = 0; round < 2000; round++) {
        for (size_t i = 0; i < sizeof junk; i++) {
            seed = seed * 1103515245u + 12345u;
            junk[i] = (uint8_t)(seed >> 16);
        }
        memcpy(junk, round % 2 ? "MM\0*" : "II*\0", 4);
        junk[4 + (round % 2 ? 3 : 0)] = (uint8_t)(8 + round % 64);
        anon_buffer kept = ANON_BUFFER_INIT;
        CHECK(anon_exif_orientation(junk, sizeof junk) >= 1);
        CHECK(anon_exif_build_kept(junk, sizeof junk, &kept, NULL) == 0);
        anon_buffer_free(&kept);
    }
}

RUN_TESTS("image",
          CASE(sniff_and_names),
          CASE(probe_finds_frame_after_many_segments),
          CASE(probe_reads_only_the_png_header),
          CASE(max_pixels_refuses_before_decoding),
          CASE(all_eight_orientations_exact),
          CASE(jpeg_rows_turned_as_decoded),
          CASE(orientation_inverse_round_trip),
          CASE(orient_rect_matches_the_turned_pixels),
          CASE(jpeg_round_trip),
          CASE(png_round_trip_rgba_exact),
          CASE(rgba_to_jpeg_drops_alpha),
          CASE(sixteen_bit_png_scaled_not_truncated),
          CASE(dct_scaling),
          CASE(damaged_jpeg_reports_warnings),
          CASE(metadata_stripped_by_default),
          CASE(keep_metadata_keeps_only_the_whitelist),
          CASE(keep_metadata_without_exif_writes_none),
          CASE(rgb_colour_profile_carried_over),
          CASE(cmyk_colour_profile_dropped),
          CASE(exif_walk_survives_garbage))
