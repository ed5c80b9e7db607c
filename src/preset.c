/* preset.c - the named detection settings (see preset.h). Chosen from the
 * covered-recall / false-box / time table in docs/detection.md: recall of
 * faces >= 20 px tall at no more than 0.5 false boxes per image. */
#include "preset.h"

#include <string.h>

static const char *const names[] = {"fast", "balanced", "thorough"};

typedef struct preset_values {
    float thresh;
    int tiles_x, tiles_y;
    float tile_overlap;
    bool flip;
} preset_values;

/* [model][preset]; every preset also runs the whole-photo pass. */
static const preset_values values[2][3] = {
    [ANON_MODEL_SSD] = {
        [ANON_PRESET_FAST] = {0.5f, 0, 0, 0.2f, false},
        [ANON_PRESET_BALANCED] = {0.55f, 2, 2, 0.2f, false},
        [ANON_PRESET_THOROUGH] = {0.6f, 3, 2, 0.2f, false},
    },
    [ANON_MODEL_TINY] = {
        [ANON_PRESET_FAST] = {0.5f, 0, 0, 0.2f, false},
        [ANON_PRESET_BALANCED] = {0.5f, 2, 2, 0.2f, false},
        [ANON_PRESET_THOROUGH] = {0.5f, 3, 2, 0.2f, false},
    },
};

int anon_preset_parse(const char *name, anon_preset *out)
{
    for (int i = 0; i < 3; i++)
        if (name && strcmp(name, names[i]) == 0) {
            *out = (anon_preset)i;
            return 0;
        }
    return -1;
}

const char *anon_preset_name(anon_preset p)
{
    return p >= ANON_PRESET_FAST && p <= ANON_PRESET_THOROUGH ? names[p] : "?";
}

void anon_preset_apply(anon_preset p, anon_model_kind model, anon_detect_options *o)
{
    anon_detect_options_default(o, model);
    if (p < ANON_PRESET_FAST || p > ANON_PRESET_THOROUGH)
        p = ANON_PRESET_DEFAULT;
    const preset_values *v = &values[model == ANON_MODEL_TINY][p];
    o->thresh = v->thresh;
    o->tiles_x = v->tiles_x;
    o->tiles_y = v->tiles_y;
    o->tile_overlap = v->tile_overlap;
    o->flip = v->flip;
}
