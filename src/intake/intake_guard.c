/* intake_guard.c - checks of a request before it is routed (see
 * intake_guard.h). */
#include "intake/intake_guard.h"

#include <string.h>
#include <strings.h>

#include "intake/intake_check.h"

/* tchar of RFC 9110: what a method may be made of. */
static int token_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

const char *intake_guard_method(const char *method)
{
    if (method[0] == '\0')
        return "the request has no method";
    for (const unsigned char *p = (const unsigned char *)method; *p; p++)
        if (!token_char(*p))
            return "the method is not an HTTP token";
    return NULL;
}

struct framing {
    int content_length, transfer_encoding;
};

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     size_t key_size, const char *value, size_t value_size)
{
    (void)kind; (void)key_size; (void)value; (void)value_size;
    struct framing *f = cls;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
        f->content_length++;
    else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
        f->transfer_encoding++;
    return MHD_YES;
}

const char *intake_guard_framing(struct MHD_Connection *conn)
{
    struct framing f = {0, 0};
    MHD_get_connection_values_n(conn, MHD_HEADER_KIND, count_framing, &f);
    if (f.content_length > 1)
        return "more than one Content-Length header";
    if (f.content_length && f.transfer_encoding)
        return "both Content-Length and Transfer-Encoding";
    if (f.transfer_encoding > 1)
        return "more than one Transfer-Encoding header";
    return NULL;
}

struct text_check {
    const char *why;
};

/* Header values may hold tabs; nothing else below a space, nor DEL. */
static enum MHD_Result check_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    struct text_check *t = cls;
    if (intake_has_control(key, key_size, 0) ||
        (value && intake_has_control(value, value_size, 1)))
        t->why = "a header holds a control character";
    return t->why ? MHD_NO : MHD_YES;
}

/* Query arguments: decoded, so a %00 shows as a length longer than the
 * string; text for names and values, hence UTF-8. */
static enum MHD_Result check_argument(void *cls, enum MHD_ValueKind kind, const char *key,
                                      size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    struct text_check *t = cls;
    if (strlen(key) != key_size || intake_has_control(key, key_size, 0) ||
        (value && (strlen(value) != value_size || intake_has_control(value, value_size, 0))))
        t->why = "a query argument holds a control character";
    else if (!intake_utf8_valid(key, key_size) ||
             (value && !intake_utf8_valid(value, value_size)))
        t->why = "a query argument is not UTF-8 text";
    return t->why ? MHD_NO : MHD_YES;
}

const char *intake_guard_text(struct MHD_Connection *conn, const char *url,
                              intake_conn *conn_state)
{
    int bad_escape = conn_state && conn_state->bad_escape;
    if (conn_state)
        conn_state->bad_escape = 0;
    if (bad_escape || intake_has_control(url, strlen(url), 0))
        return "the path or query holds a control character";
    struct text_check t = {NULL};
    MHD_get_connection_values_n(conn, MHD_HEADER_KIND, check_header, &t);
    if (t.why == NULL)
        MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, check_argument, &t);
    return t.why;
}

size_t intake_guard_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    size_t len = MHD_http_unescape(s);
    if (intake_has_control(s, len, 0)) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        intake_conn *state = info ? info->socket_context : NULL;
        if (state)
            state->bad_escape = 1;
    }
    return len;
}
