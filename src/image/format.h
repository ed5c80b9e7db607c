/* format.h - which image format a file holds, from its first bytes.
 *
 * The bottom of the image package: the format names every other layer
 * (the codecs, the intake's replies, the worker's object metadata) speaks
 * of, and the magic-byte check that tells them apart. */
#ifndef ANON_FORMAT_H
#define ANON_FORMAT_H

#include <stddef.h>
#include <stdint.h>

typedef enum { ANON_FMT_UNKNOWN = 0, ANON_FMT_JPEG, ANON_FMT_PNG } anon_format;

/* Recognises JPEG and PNG by their magic bytes. */
anon_format anon_sniff(const uint8_t *data, size_t len);
const char *anon_format_name(anon_format fmt);        /* "jpeg", "png" */
const char *anon_format_mime(anon_format fmt);        /* "image/jpeg", ... */

#endif
