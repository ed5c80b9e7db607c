/* jpeg_repack.c - write a JPEG whose scan is the source's, but for some MCUs.
 *
 * The writer half of jpeg_scan_private.h. An MCU is copied as the source's bits
 * when it is not replaced and the DC predictors it starts from are the
 * source's (its DC differences are then still right); every other MCU is
 * Huffman-coded here from its coefficients (the replacement's, or its own
 * decoded again), with the source's tables. Since the MCU after a
 * replaced one ends where the source's did, the source's predictors are
 * back after it and copying resumes. The output keeps the source's
 * tables, frame, restart interval and scan headers byte for byte. */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "codec/jpeg_repack_private.h"
#include "image/container.h"

/* ---------------------------------------------------------------- output bits */

typedef struct bit_writer {
    uint8_t *out;          /* room reserved by write_scan */
    size_t at;
    uint64_t acc;          /* pending bits, right-aligned */
    int n;                 /* pending bit count, < 32 between calls */
} bit_writer;

/* Writes the pending whole bytes, stuffing a zero after each 0xFF. */
static void put_bytes(bit_writer *w)
{
    while (w->n >= 8) {
        w->n -= 8;
        uint8_t byte = (uint8_t)(w->acc >> w->n);
        w->out[w->at++] = byte;
        if (byte == 0xFF)
            w->out[w->at++] = 0;
    }
}

/* Appends the low n (<= 32) bits of v; 32 at a time, bytewise only when
 * they hold a 0xFF that needs its stuffed zero. */
static inline void put_bits(bit_writer *w, uint32_t v, int n)
{
    w->acc = (w->acc << n) | (v & (uint32_t)((1ull << n) - 1));
    w->n += n;
    if (w->n < 32)
        return;
    uint32_t word = (uint32_t)(w->acc >> (w->n - 32)), inv = ~word;
    if (((inv - 0x01010101u) & ~inv & 0x80808080u) != 0) {    /* a 0xFF byte */
        put_bytes(w);
        return;
    }
    w->out[w->at] = (uint8_t)(word >> 24);
    w->out[w->at + 1] = (uint8_t)(word >> 16);
    w->out[w->at + 2] = (uint8_t)(word >> 8);
    w->out[w->at + 3] = (uint8_t)word;
    w->at += 4;
    w->n -= 32;
}

/* Pads the last byte with 1 bits (F.1.2.3). */
static void flush_bits(bit_writer *w)
{
    put_bytes(w);
    if (w->n > 0) {
        w->acc = (w->acc << (8 - w->n)) | ((1u << (8 - w->n)) - 1);
        w->n = 8;
        put_bytes(w);
    }
}

/* Appends the source's bits [from, to). */
static void copy_bits(bit_writer *w, const uint8_t *src, uint64_t from, uint64_t to)
{
    while (to - from >= 32) {
        put_bits(w, anon_jpeg_peek32(src, from), 32);
        from += 32;
    }
    if (to > from) {
        int n = (int)(to - from);
        put_bits(w, anon_jpeg_peek32(src, from) >> (32 - n), n);
    }
}

/* ---------------------------------------------------------------- Huffman coding */

typedef struct huff_enc {
    uint16_t code[256];
    uint8_t len[256];      /* 0: the table has no code for the symbol */
} huff_enc;

static void huff_enc_build(const JHUFF_TBL *t, huff_enc *h)
{
    memset(h, 0, sizeof *h);
    int code = 0, k = 0;
    for (int len = 1; len <= 16; len++) {
        for (int i = 0; i < t->bits[len] && k < 256; i++, k++, code++) {
            h->code[t->huffval[k]] = (uint16_t)code;
            h->len[t->huffval[k]] = (uint8_t)len;
        }
        code <<= 1;
    }
}

/* Bits needed for |v| (the JPEG size category). */
static inline int category(int v)
{
    unsigned a = (unsigned)(v < 0 ? -v : v);
    return a == 0 ? 0 : 32 - __builtin_clz(a);
}

/* Codes symbol sym followed by the s low bits of v's JPEG form. */
static inline bool put_symbol(bit_writer *w, const huff_enc *h, int sym, int v, int s)
{
    if (h->len[sym] == 0)
        return false;
    put_bits(w, h->code[sym], h->len[sym]);
    if (s > 0)
        put_bits(w, (uint32_t)(v < 0 ? v - 1 : v), s);
    return true;
}

/* Which of a block's 64 coefficients are not zero, bit k for k (SSE2,
 * part of every x86-64: 16 at a time). */
static inline uint64_t nonzero_mask(const JCOEF *blk)
{
    uint64_t m = 0;
#ifdef __SSE2__
    const __m128i zero = _mm_setzero_si128();
    for (int k = 0; k < 64; k += 16) {
        __m128i a = _mm_cmpeq_epi16(_mm_loadu_si128((const __m128i *)(blk + k)), zero);
        __m128i b = _mm_cmpeq_epi16(_mm_loadu_si128((const __m128i *)(blk + k + 8)), zero);
        uint64_t zeros = (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_packs_epi16(a, b));
        m |= (~zeros & 0xFFFF) << k;
    }
#else
    for (int k = 0; k < 64; k++)
        m |= (uint64_t)(blk[k] != 0) << k;
#endif
    return m;
}

/* Codes one block (zigzag order) against the predictor *pred, visiting
 * only its nonzero coefficients. */
static bool encode_block(bit_writer *w, const huff_enc *dc, const huff_enc *ac, int *pred,
                         const JCOEF *blk)
{
    int diff = blk[0] - *pred;
    *pred = blk[0];
    int s = category(diff);
    if (s > 11 || !put_symbol(w, dc, s, diff, s))
        return false;
    int last = 0;
    for (uint64_t m = nonzero_mask(blk) & ~1ull; m != 0; m &= m - 1) {
        int k = __builtin_ctzll(m), run = k - last - 1, v = blk[k];
        for (; run > 15; run -= 16)
            if (!put_symbol(w, ac, 0xF0, 0, 0))
                return false;
        s = category(v);
        if (s > 10 || !put_symbol(w, ac, run << 4 | s, v, s))
            return false;
        last = k;
    }
    return last == 63 || put_symbol(w, ac, 0x00, 0, 0);
}

/* ---------------------------------------------------------------- the file */

/* SOI and the JFIF header libjpeg writes for YCbCr and grayscale. */
static const uint8_t file_start[] = {
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00,
    0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
};

/* The source's segments from its first table to its scan header, without
 * APPn and COM: tables, frame, restart interval, scan header. */
static int append_tables(anon_buffer *out, const uint8_t *src, size_t header_end,
                         anon_error *err)
{
    size_t pos = 0, start;
    anon_jpeg_segment seg;
    int rc;
    while (start = pos, (rc = anon_jpeg_segment_next(src, header_end, &pos, &seg)) == 1) {
        bool metadata = (seg.marker >= 0xE0 && seg.marker <= 0xEF) || seg.marker == 0xFE;
        if (seg.marker == 0xD8 || metadata)
            continue;
        /* from the marker (after any fill bytes) to the segment's end */
        while (src[start] == 0xFF && start + 1 < pos && src[start + 1] == 0xFF)
            start++;
        if (anon_buffer_append(out, src + start, pos - start, err) < 0)
            return -1;
        if (seg.marker == 0xDA)
            return 0;
    }
    return anon_fail(err, "JPEG header ends before its scan");
}

typedef struct repack {
    const anon_jpeg_scan *s;
    const anon_jpeg_scan_layout *l;
    huff_enc dc[4], ac[4];
    anon_jpeg_mcu_source replaced;
    void *ctx;
    JBLOCK blocks[10];
} repack;

/* Codes MCU i from its coefficients (replacement or source). */
static bool encode_mcu(repack *rp, bit_writer *w, int mx, int my, bool is_replaced, int *pred)
{
    const anon_jpeg_scan_layout *l = rp->l;
    if (!is_replaced && !anon_jpeg_scan_decode_mcu_zigzag(rp->s, mx, my, rp->blocks))
        return false;
    for (int b = 0; b < l->blocks_in_mcu; b++) {
        int c = l->block_comp[b];
        if (!encode_block(w, &rp->dc[c], &rp->ac[c], &pred[c], rp->blocks[b]))
            return false;
    }
    return true;
}

/* The most bits encode_mcu writes: 10 blocks, each a DC (16-bit code, 11
 * bits), at most 3 runs of 16 zeros, 63 AC coefficients (16-bit code, 10
 * bits; encode_block refuses larger ones before writing) and an end of
 * block. */
#define MCU_CODED_BITS (10 * (16 + 11 + 3 * 16 + 63 * (16 + 10) + 16))

/* Output bytes for `bits` more bits: with the (< 32) pending ones, every
 * byte stuffed, and a restart marker with the padding before it. */
static size_t room_for(uint64_t bits)
{
    return 2 * (size_t)((bits + 31) / 8 + 1) + 16;
}

/* Makes room for `need` more bytes at w's position (out grows; the
 * pending bits stay in w). */
static int ensure_room(anon_buffer *out, bit_writer *w, size_t need, anon_error *err)
{
    if (out->cap - w->at >= need)
        return 0;
    out->len = w->at;
    if (anon_buffer_reserve(out, need, err) < 0)
        return -1;
    w->out = out->data;
    return 0;
}

/* The scan, MCU by MCU: 0, ANON_DECLINED (a code the tables lack) or -1. */
static int write_scan(repack *rp, anon_buffer *out, anon_error *err)
{
    const anon_jpeg_scan_layout *l = rp->l;
    int per = l->restart_interval > 0 ? l->restart_interval : l->n_mcus;
    bit_writer w = {0};
    int pred[4] = {0};
    /* most of it copied: about the source's size */
    if (anon_buffer_reserve(out, l->bits->len + l->bits->len / 8 + room_for(MCU_CODED_BITS),
                            err) < 0)
        return -1;
    w.out = out->data;    /* the pending bits stay in w.acc */
    w.at = out->len;
    /* counters, not divisions, for the position of MCU i */
    int mx = 0, my = 0, left = per, interval = 0;
    for (int i = 0; i < l->n_mcus; i++) {
        if (left == 0) {
            if (ensure_room(out, &w, room_for(0), err) < 0)
                return -1;
            flush_bits(&w);
            w.out[w.at++] = 0xFF;
            w.out[w.at++] = (uint8_t)(0xD0 + interval % 8);
            memset(pred, 0, sizeof pred);
            interval++;
            left = per;
        }
        left--;
        bool is_replaced = rp->replaced(rp->ctx, mx, my, rp->blocks);
        const int16_t *src_pred = l->mcu_pred + (size_t)i * (size_t)l->comps;
        bool same_pred = true;
        for (int c = 0; c < l->comps; c++)
            same_pred = same_pred && pred[c] == src_pred[c];
        if (!is_replaced && same_pred) {
            uint64_t end = left > 0 && i + 1 < l->n_mcus ? l->mcu_pos[i + 1]
                                                          : l->interval_end[interval];
            if (end < l->mcu_pos[i])
                return ANON_DECLINED;    /* cannot happen: the index only moves forward */
            if (ensure_room(out, &w, room_for(end - l->mcu_pos[i]), err) < 0)
                return -1;
            copy_bits(&w, l->bits->data, l->mcu_pos[i], end);
            /* its last DCs are the next MCU's predictors in the source */
            if (i + 1 < l->n_mcus)
                for (int c = 0; c < l->comps; c++)
                    pred[c] = src_pred[l->comps + c];
        } else if (ensure_room(out, &w, room_for(MCU_CODED_BITS), err) < 0) {
            return -1;
        } else if (!encode_mcu(rp, &w, mx, my, is_replaced, pred)) {
            return ANON_DECLINED;
        }
        if (++mx == l->mcus_x) {
            mx = 0;
            my++;
        }
    }
    flush_bits(&w);
    out->len = w.at;
    return 0;
}

int anon_jpeg_repack_write(const anon_jpeg_scan *s, anon_jpeg_mcu_source replaced, void *ctx,
                           const anon_buffer *markers, anon_buffer *out, anon_error *err)
{
    const anon_jpeg_scan_layout *l = anon_jpeg_scan_layout_of(s);
    size_t was = out->len;
    repack rp = {.s = s, .l = l, .replaced = replaced, .ctx = ctx};
    for (int c = 0; c < l->comps; c++) {
        huff_enc_build(l->dc[c], &rp.dc[c]);
        huff_enc_build(l->ac[c], &rp.ac[c]);
    }
    int rc = -1;
    if (anon_buffer_append(out, file_start, sizeof file_start, err) == 0 &&
        (markers == NULL || anon_buffer_append(out, markers->data, markers->len, err) == 0) &&
        append_tables(out, l->src, l->header_end, err) == 0 &&
        (rc = write_scan(&rp, out, err)) == 0)
        rc = anon_buffer_append(out, "\xFF\xD9", 2, err);
    if (rc != 0)
        out->len = was;
    return rc;
}
