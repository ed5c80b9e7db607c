/* test_intake_multipart.c - the intake's multipart/form-data parser on
 * bodies built here: parts and their names, content split at every
 * possible place, near-miss delimiters inside content, empty parts,
 * transport padding, and the malformed bodies it must refuse. No
 * network, no services. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "intake/intake_multipart.h"

/* What the handler saw, as text: "[name|filename|type]content" per part. */
struct seen {
    char log[4096];
    size_t len;
    int parts, ended;
    int stop_on_data;   /* return this from data() (0: go on) */
};

static void add(struct seen *s, const char *text, size_t n)
{
    if (s->len + n < sizeof s->log) {
        memcpy(s->log + s->len, text, n);
        s->len += n;
        s->log[s->len] = '\0';
    }
}

static int on_begin(void *ctx, const multipart_part *p)
{
    struct seen *s = ctx;
    char line[900];
    int n = snprintf(line, sizeof line, "[%s|%s|%s]", p->name, p->has_filename ? p->filename : "-",
                     p->content_type);
    add(s, line, (size_t)n);
    s->parts++;
    return 0;
}

static int on_data(void *ctx, const char *data, size_t len)
{
    struct seen *s = ctx;
    add(s, data, len);
    return s->stop_on_data;
}

static int on_end(void *ctx)
{
    struct seen *s = ctx;
    s->ended++;
    add(s, "<end>", 5);
    return 0;
}

/* Parses body in pieces of `step` bytes (0: all at once). Returns the
 * feed result, or 1 when the body is not finished properly. */
static int parse(const char *type, const char *body, size_t len, size_t step, struct seen *s)
{
    memset(s, 0, sizeof *s);
    multipart_handler h = {on_begin, on_data, on_end, s};
    multipart mp;
    if (multipart_init(&mp, type, &h) < 0)
        return -2;
    if (step == 0)
        step = len ? len : 1;
    for (size_t off = 0; off < len; off += step) {
        int rc = multipart_feed(&mp, body + off, len - off < step ? len - off : step);
        if (rc != 0)
            return rc;
    }
    return multipart_finish(&mp) == 0 ? 0 : 1;
}

static const char *const TYPE = "multipart/form-data; boundary=XyZ";

#define BODY(s) (s), sizeof(s) - 1

TEST(two_fields)
{
    static const char body[] =
        "--XyZ\r\nContent-Disposition: form-data; name=\"camera\"\r\n\r\ncam1\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a b.jpg\"\r\n"
        "Content-Type: image/jpeg\r\n\r\n\xff\xd8\r\n--X\r\n--XyQ-\r\r\n\r\n--XyZ--\r\n";
    struct seen s;
    CHECK(parse(TYPE, BODY(body), 0, &s) == 0);
    const char *want =
        "[camera|-|]cam1<end>[image|a b.jpg|image/jpeg]\xff\xd8\r\n--X\r\n--XyQ-\r\r\n<end>";
    CHECKF(strcmp(s.log, want) == 0, "got %.300s", s.log);
    CHECK(s.parts == 2 && s.ended == 2);
}

/* The same body in pieces of every size gives the same parts. */
TEST(any_split)
{
    static const char body[] =
        "preamble\r\n--XyZ  \r\ncontent-disposition: FORM-DATA; name=image\r\n\r\n"
        "\r\r\n\r\n-\r\n--\r\n--Xy\r\n--XyQ\r\n\r\r\n--XyZ\r\n"
        "Content-Disposition: form-data; name=\"x\"\r\n\r\n\r\n--XyZ--epilogue";
    struct seen whole, piece;
    CHECK(parse(TYPE, BODY(body), 0, &whole) == 0);
    CHECK(whole.parts == 2);
    for (size_t step = 1; step < sizeof body; step++) {
        CHECK(parse(TYPE, BODY(body), step, &piece) == 0);
        CHECKF(strcmp(piece.log, whole.log) == 0, "step %zu: %.300s", step, piece.log);
    }
}

TEST(empty_parts_are_parts)
{
    static const char body[] =
        "--XyZ\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\n\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\nabc\r\n--XyZ--";
    struct seen s;
    for (size_t step = 0; step < 8; step++) {
        CHECK(parse(TYPE, BODY(body), step, &s) == 0);
        CHECKF(s.parts == 2 && strcmp(s.log, "[image|-|]<end>[image|-|]abc<end>") == 0,
               "step %zu: %.300s", step, s.log);
    }
}

TEST(boundaries)
{
    static const char body[] = "--a b\r\nContent-Disposition: form-data; name=n\r\n\r\nv\r\n--a b--";
    struct seen s;
    CHECK(parse("multipart/form-data; boundary=\"a b\"", BODY(body), 0, &s) == 0);
    CHECK(strcmp(s.log, "[n|-|]v<end>") == 0);
    CHECK(parse("multipart/form-data; charset=x; BOUNDARY=a b", BODY(body), 0, &s) != 0);
    CHECK(parse("multipart/form-data", BODY(body), 0, &s) == -2);
    CHECK(parse("multipart/form-data; boundary=", BODY(body), 0, &s) == -2);
    CHECK(parse("multipart/form-data; boundary=\"unterminated", BODY(body), 0, &s) == -2);
    CHECK(parse("multipart/form-data; boundary=a\x01", BODY(body), 0, &s) == -2);
    char longer[160];
    snprintf(longer, sizeof longer, "multipart/form-data; boundary=%071d", 0);
    CHECK(parse(longer, BODY(body), 0, &s) == -2);
}

TEST(malformed_bodies)
{
    static const struct { const char *text; size_t len; } bad[] = {
        {BODY("")},                                    /* nothing: no closing delimiter */
        {BODY("no delimiter at all")},
        {BODY("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\ntruncated")},
        {BODY("--XyZx\r\n")},                          /* not a delimiter line */
        {BODY("--XyZ\r\n\r\nno headers\r\n--XyZ--")},  /* no Content-Disposition */
        {BODY("--XyZ\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nv\r\n--XyZ--")},
        {BODY("--XyZ\r\nContent-Disposition: form-data\r\n\r\nv\r\n--XyZ--")},  /* no name */
        {BODY("--XyZ\r\nContent-Disposition: form-data; name=\"a\r\n\r\nv\r\n--XyZ--")},
        {BODY("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\nBroken\r\n\r\nv\r\n--XyZ--")},
        {BODY("--XyZ\r\nContent-Disposition: form-data; name=\"a\x00b\"\r\n\r\nv\r\n--XyZ--")},
        {BODY("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\nX: \x1b[2J\r\n\r\nv\r\n--XyZ--")},
        {BODY("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n"
              "Content-Disposition: form-data; name=\"b\"\r\n\r\nv\r\n--XyZ--")},
    };
    struct seen s;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECKF(parse(TYPE, bad[i].text, bad[i].len, 1, &s) != 0, "accepted #%zu: %.300s", i, s.log);
    /* A header block may not grow without bound. */
    static char big[MULTIPART_HEADERS_MAX + 64];
    size_t n = (size_t)snprintf(big, sizeof big, "--XyZ\r\nX: ");
    memset(big + n, 'a', sizeof big - n);
    CHECK(parse(TYPE, big, sizeof big, 0, &s) == -1);
}

TEST(handler_stops_the_parser)
{
    static const char body[] =
        "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue\r\n--XyZ--";
    struct seen s;
    memset(&s, 0, sizeof s);
    s.stop_on_data = 413;
    multipart_handler h = {on_begin, on_data, on_end, &s};
    multipart mp;
    CHECK(multipart_init(&mp, TYPE, &h) == 0);
    CHECK(multipart_feed(&mp, body, sizeof body - 1) == 413);
}

int main(void)
{
    static const struct check_case cases[] = {
        CASE(two_fields), CASE(any_split), CASE(empty_parts_are_parts), CASE(boundaries),
        CASE(malformed_bodies), CASE(handler_stops_the_parser),
    };
    return check_run("test_intake_multipart", cases, sizeof cases / sizeof cases[0]);
}
