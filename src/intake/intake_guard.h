/* intake_guard.h - what a request must be before anon-intake routes it.
 *
 * Checked once its headers are in, before authentication and routing:
 *   - the method is an HTTP token (RFC 9110): a method of arbitrary bytes
 *     is refused and never reaches a reply;
 *   - one framing of the body: a second Content-Length, or Content-Length
 *     together with Transfer-Encoding, is refused and the connection
 *     closed, so that a proxy in front and this server cannot read two
 *     different requests out of one stream (request smuggling);
 *   - no control character in the path, a header value or a query
 *     argument, encoded or not (a NUL would cut a value short, CR, LF or
 *     ESC would forge a log line), and query text in UTF-8.
 * Each check returns NULL when the request passes, else the reason for a
 * 400. The path's decoded form is checked while MHD parses it, by the
 * unescape callback below; its verdict is kept per connection. */
#ifndef ANON_INTAKE_GUARD_H
#define ANON_INTAKE_GUARD_H

#include <microhttpd.h>
#include <stddef.h>

/* Per-connection state (MHD's socket context). */
typedef struct intake_conn {
    int bad_escape;     /* this request's path or query decoded to a control character */
} intake_conn;

const char *intake_guard_method(const char *method);
const char *intake_guard_framing(struct MHD_Connection *conn);
/* url as MHD hands it (decoded); conn_state as set by the unescape
 * callback, cleared here for the next request on the connection. */
const char *intake_guard_text(struct MHD_Connection *conn, const char *url,
                              intake_conn *conn_state);

/* MHD_OPTION_UNESCAPE_CALLBACK: percent-decodes s in place like MHD does
 * and notes a decoded control character in the connection's state.
 * Returns the decoded length. */
size_t intake_guard_unescape(void *cls, struct MHD_Connection *conn, char *s);

#endif
