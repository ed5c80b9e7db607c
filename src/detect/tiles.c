/* tiles.c - tile and window geometry for the extra detection passes (see
 * tiles.h). */
#include "detect/tiles.h"

#include <math.h>

static float clamp_overlap(float overlap)
{
    return overlap < 0 || overlap != overlap ? 0 : overlap > 0.9f ? 0.9f : overlap;
}

/* n spans of len pixels, evenly spaced so the first starts at 0 and the last
 * ends at length. */
static int spread(int length, int n, int len, anon_span *out)
{
    for (int i = 0; i < n; i++) {
        out[i].start = n == 1 ? 0 : (int)lround((double)i * (length - len) / (n - 1));
        out[i].len = len;
    }
    return n;
}

int anon_tile_spans(int length, int n, float overlap, anon_span *out)
{
    if (length < 1)
        return 0;
    if (n < 1)
        n = 1;
    if (n > ANON_MAX_SPANS)
        n = ANON_MAX_SPANS;
    if (n > length)
        n = length;
    overlap = clamp_overlap(overlap);
    int len = (int)ceil(length / (n - (n - 1) * (double)overlap));
    if (len > length)
        len = length;
    return spread(length, n, len, out);
}

int anon_window_spans(int length, int window, float overlap, anon_span *out)
{
    if (length < 1 || window < 1)
        return 0;
    if (length <= window) {
        out[0].start = 0;
        out[0].len = length;
        return 1;
    }
    overlap = clamp_overlap(overlap);
    double step = window * (1 - (double)overlap);
    int n = 1 + (int)ceil((length - window) / step);
    if (n > ANON_MAX_SPANS)
        n = ANON_MAX_SPANS;
    return spread(length, n, window, out);
}

bool anon_span_cuts(anon_span s, int length, float lo, float hi, float margin)
{
    int end = s.start + s.len;
    return (s.start > 0 && lo < s.start + margin) || (end < length && hi > end - margin);
}
