/* format.c - format sniffing and names (see format.h). */
#include "image/format.h"

#include <string.h>

anon_format anon_sniff(const uint8_t *data, size_t len)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (data == NULL)
        return ANON_FMT_UNKNOWN;
    if (len >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        return ANON_FMT_JPEG;
    if (len >= 8 && memcmp(data, png_sig, 8) == 0)
        return ANON_FMT_PNG;
    return ANON_FMT_UNKNOWN;
}

const char *anon_format_name(anon_format fmt)
{
    switch (fmt) {
    case ANON_FMT_JPEG: return "jpeg";
    case ANON_FMT_PNG:  return "png";
    default:            return "unknown";
    }
}

const char *anon_format_mime(anon_format fmt)
{
    switch (fmt) {
    case ANON_FMT_JPEG: return "image/jpeg";
    case ANON_FMT_PNG:  return "image/png";
    default:            return "application/octet-stream";
    }
}
