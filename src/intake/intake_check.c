/* intake_check.c - checks of client text (see intake_check.h). */
#include "intake/intake_check.h"

#include <stdio.h>
#include <string.h>

int anon_intake_camera_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > ANON_INTAKE_CAMERA_MAX || name[0] == '.' || name[0] == '-')
        return 0;
    for (const char *p = name; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

/* The length of the UTF-8 sequence at s (at most left bytes), 0 when it
 * is not a well-formed one. */
static size_t utf8_sequence(const unsigned char *s, size_t left)
{
    unsigned c = s[0];
    size_t more = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2
                : (c & 0xf8) == 0xf0 ? 3 : 4;
    if (more == 4 || more >= left || (more == 1 && c < 0xc2) || (more == 3 && c > 0xf4))
        return 0;
    unsigned cp = c & (0x3f >> more);
    for (size_t i = 1; i <= more; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((more == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (more == 3 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return more + 1;
}

int intake_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t n = p[i] ? utf8_sequence(p + i, len - i) : 0;
        if (n == 0)
            return 0;
        i += n;
    }
    return 1;
}

int intake_has_control(const char *s, size_t len, int tab_ok)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && !(tab_ok && c == '\t')) || c == 0x7f)
            return 1;
    }
    return 0;
}

void intake_escape(const char *s, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char piece[5];
        size_t k = 1;
        if (c >= 0x20 && c < 0x7f && c != '\\')
            piece[0] = (char)c;
        else
            k = (size_t)snprintf(piece, sizeof piece, "\\x%02x", c);
        if (n + k + 4 > cap) {   /* keep room for "..." and the NUL */
            memcpy(out + n, "...", 4);
            return;
        }
        memcpy(out + n, piece, k);
        n += k;
    }
    out[n] = '\0';
}
