/* intake_multipart.c - streaming multipart/form-data (see intake_multipart.h).
 *
 * A body is: a preamble, then parts each introduced by a delimiter line
 * "--BOUNDARY" and made of header lines, an empty line and the content,
 * and last "--BOUNDARY--" and an epilogue. The content of a part ends
 * where "\r\n--BOUNDARY" begins, so content is scanned for that delimiter:
 * bytes that may be the start of a delimiter are held back (they are the
 * delimiter's own first bytes, so nothing needs to be stored) and handed
 * over as content when the match fails. As the delimiter starts with CR
 * and a boundary cannot hold one, no proper prefix of it is also its
 * suffix: after a mismatch the scan starts afresh at the mismatching byte
 * (Knuth-Morris-Pratt with an all-zero failure table). Content between
 * carriage returns is passed on in one piece. */
#include "intake/intake_multipart.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum { ST_PREAMBLE, ST_AFTER_DELIMITER, ST_HEADERS, ST_CONTENT, ST_EPILOGUE, ST_ERROR };

/* Characters RFC 2046 allows in a boundary (bchars). */
static int boundary_char(char c)
{
    return isalnum((unsigned char)c) || strchr("'()+_,-./:=? ", c) != NULL;
}

/* The value of the boundary parameter, quoted or not, into out. */
static int parse_boundary(const char *content_type, char *out, size_t cap)
{
    const char *p = content_type;
    const char *found = NULL;
    while ((p = strchr(p, ';')) != NULL) {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, "boundary=", 9) == 0) {
            found = p + 9;
            break;
        }
    }
    if (found == NULL)
        return -1;
    size_t n = 0;
    if (*found == '"') {
        for (p = found + 1; *p && *p != '"'; p++) {
            if (n + 1 >= cap)
                return -1;
            out[n++] = *p;
        }
        if (*p != '"')
            return -1;
    } else {
        for (p = found; *p && *p != ';' && *p != ' ' && *p != '\t'; p++) {
            if (n + 1 >= cap)
                return -1;
            out[n++] = *p;
        }
    }
    out[n] = '\0';
    if (n == 0 || n > MULTIPART_BOUNDARY_MAX || out[n - 1] == ' ')
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!boundary_char(out[i]))
            return -1;
    return 0;
}

int multipart_init(multipart *mp, const char *content_type, const multipart_handler *h)
{
    memset(mp, 0, sizeof *mp);
    char boundary[MULTIPART_BOUNDARY_MAX + 2];
    if (content_type == NULL || parse_boundary(content_type, boundary, sizeof boundary) < 0)
        return -1;
    mp->h = *h;
    mp->dlen = 4 + strlen(boundary);
    memcpy(mp->delim, "\r\n--", 4);
    memcpy(mp->delim + 4, boundary, mp->dlen - 4);
    /* The first delimiter may open the body, without a line end before
     * it: start as if that line end had been seen. */
    mp->matched = 2;
    mp->state = ST_PREAMBLE;
    return 0;
}

/* Content for the handler (dropped in the preamble). */
static int deliver(multipart *mp, const char *data, size_t len)
{
    if (mp->state != ST_CONTENT || len == 0 || mp->h.data == NULL)
        return 0;
    return mp->h.data(mp->h.ctx, data, len);
}

/* Scans for the delimiter, passing on content. *used gets the bytes
 * consumed; *found is 1 when they end with a whole delimiter. */
static int scan(multipart *mp, const char *data, size_t len, size_t *used, int *found)
{
    size_t m = mp->matched, run = 0, i = 0;
    int rc;
    *found = 0;
    while (i < len) {
        if (m == 0) {
            const char *cr = memchr(data + i, '\r', len - i);
            if (cr == NULL) {
                i = len;
                break;
            }
            i = (size_t)(cr - data);
        }
        char c = data[i];
        if (m > 0 && c != mp->delim[m]) {   /* the held bytes were content */
            if ((rc = deliver(mp, mp->delim, m)) != 0)
                return rc;
            m = 0;
        }
        if (c != mp->delim[m]) {   /* content; m is 0 and run is i */
            i++;
            continue;
        }
        if (m == 0 && (rc = deliver(mp, data + run, i - run)) != 0)
            return rc;
        m++;
        run = ++i;
        if (m == mp->dlen) {
            mp->matched = 0;
            *used = i;
            *found = 1;
            return 0;
        }
    }
    mp->matched = m;
    *used = len;
    return m == 0 ? deliver(mp, data + run, len - run) : 0;
}

/* After a delimiter: "--" closes the body; otherwise optional spaces
 * (transport padding) and a line end open a part's headers. */
static int after_delimiter(multipart *mp, const char *data, size_t len, size_t *used)
{
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        if (mp->after != '\0') {
            if (!((mp->after == '-' && c == '-') || (mp->after == '\r' && c == '\n')))
                return -1;
            mp->state = c == '-' ? ST_EPILOGUE : ST_HEADERS;
            mp->headers_len = 0;
            *used = i + 1;
            return 0;
        }
        if (c == '-' || c == '\r')
            mp->after = c;
        else if (c != ' ' && c != '\t')
            return -1;
    }
    *used = len;
    return 0;
}

/* Copies a parameter value (quoted-string or token) starting at *p into
 * out; -1 when it does not fit or is unterminated. */
static int param_value(const char **p, const char *end, char *out, size_t cap)
{
    const char *s = *p;
    size_t n = 0;
    int quoted = s < end && *s == '"';
    if (quoted)
        s++;
    for (; s < end; s++) {
        if (quoted && *s == '"')
            break;
        if (!quoted && (*s == ';' || *s == ' ' || *s == '\t'))
            break;
        if (quoted && *s == '\\' && s + 1 < end)
            s++;
        if (n + 1 >= cap)
            return -1;
        out[n++] = *s;
    }
    if (quoted && (s >= end || *s != '"'))
        return -1;
    out[n] = '\0';
    *p = quoted ? s + 1 : s;
    return 0;
}

/* Content-Disposition: form-data; name="x"[; filename="y"] */
static int parse_disposition(multipart_part *part, const char *v, const char *end)
{
    if ((size_t)(end - v) < 9 || strncasecmp(v, "form-data", 9) != 0)
        return -1;
    const char *p = v + 9;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p == end)
            break;
        if (*p++ != ';')
            return -1;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (eq == NULL)
            return -1;
        size_t klen = (size_t)(eq - p);
        const char *key = p;
        char scratch[MULTIPART_NAME_MAX];
        char *out = scratch;
        if (klen == 4 && strncasecmp(key, "name", 4) == 0)
            out = part->name;
        else if (klen == 8 && strncasecmp(key, "filename", 8) == 0)
            out = part->filename, part->has_filename = 1;
        p = eq + 1;
        if (param_value(&p, end, out, MULTIPART_NAME_MAX) < 0)
            return -1;
    }
    return part->name[0] ? 0 : -1;
}

/* The header block of a part, lines ending in CRLF, the last one empty. */
static int parse_headers(multipart *mp)
{
    multipart_part *part = &mp->part;
    memset(part, 0, sizeof *part);
    const char *p = mp->headers, *end = mp->headers + mp->headers_len - 2;
    int disposition = 0;
    while (p < end) {
        const char *eol = p;
        while (eol < end && !(eol[0] == '\r' && eol[1] == '\n'))
            eol++;
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (colon == NULL || memchr(p, '\r', (size_t)(eol - p)) || memchr(p, '\n', (size_t)(eol - p)))
            return -1;
        const char *v = colon + 1;
        while (v < eol && (*v == ' ' || *v == '\t'))
            v++;
        size_t nlen = (size_t)(colon - p);
        if (nlen == 19 && strncasecmp(p, "Content-Disposition", 19) == 0) {
            if (disposition++ || parse_disposition(part, v, eol) < 0)
                return -1;
        } else if (nlen == 12 && strncasecmp(p, "Content-Type", 12) == 0) {
            size_t n = (size_t)(eol - v);
            if (n >= sizeof part->content_type)
                n = sizeof part->content_type - 1;
            memcpy(part->content_type, v, n);
        }
        p = eol + 2;
    }
    return disposition ? 0 : -1;
}

/* Collects a part's header block (no control characters but tabs and the
 * line ends), then starts its content. */
static int take_headers(multipart *mp, const char *data, size_t len, size_t *used)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)data[i];
        if (mp->headers_len == sizeof mp->headers ||
            ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f))
            return -1;
        mp->headers[mp->headers_len++] = (char)c;
        size_t n = mp->headers_len;
        if (n < 4 || memcmp(mp->headers + n - 4, "\r\n\r\n", 4) != 0) {
            if (n == 2 && memcmp(mp->headers, "\r\n", 2) == 0)
                return -1;   /* no headers at all: no name */
            continue;
        }
        *used = i + 1;
        if (parse_headers(mp) < 0)
            return -1;
        mp->state = ST_CONTENT;
        mp->matched = 0;
        return mp->h.begin ? mp->h.begin(mp->h.ctx, &mp->part) : 0;
    }
    *used = len;
    return 0;
}

int multipart_feed(multipart *mp, const char *data, size_t len)
{
    while (len > 0) {
        size_t used = len;
        int rc = 0, found = 0;
        switch (mp->state) {
        case ST_PREAMBLE:
        case ST_CONTENT:
            rc = scan(mp, data, len, &used, &found);
            if (rc == 0 && found) {
                if (mp->state == ST_CONTENT && mp->h.end)
                    rc = mp->h.end(mp->h.ctx);
                mp->state = ST_AFTER_DELIMITER;
                mp->after = '\0';
            }
            break;
        case ST_AFTER_DELIMITER:
            rc = after_delimiter(mp, data, len, &used);
            break;
        case ST_HEADERS:
            rc = take_headers(mp, data, len, &used);
            break;
        case ST_EPILOGUE:
            break;
        default:
            return -1;
        }
        if (rc < 0)
            mp->state = ST_ERROR;
        if (rc != 0)
            return rc;
        data += used;
        len -= used;
    }
    return 0;
}

int multipart_finish(multipart *mp)
{
    return mp->state == ST_EPILOGUE ? 0 : -1;
}
