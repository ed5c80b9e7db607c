/* preset.c - the named detection settings (see preset.h). Chosen from the
 * covered-recall / false-box / time table in docs/detection.md: recall of
 * faces >= 20 px tall at no more than 0.5 false boxes per image, and what
 * each step up costs. */
#include "detect/preset.h"

#include <string.h>

static const char *const names[] = {"fast", "balanced", "thorough"};

typedef struct preset_values {
    float thresh;
    float zoom;     /* finest level of the window pyramid (detect.h); 0 = none */
    int max_passes; /* cap on the pyramid's passes, lowering the zoom; 0 = none */
} preset_values;

/* [model][preset]. Every preset runs the whole-photo pass; balanced and
 * thorough add the zoom pyramid, which finds SSD faces down to about
 * 30 / zoom px on photos of any size. Its cost grows with the photo's area:
 * balanced caps it at 24 passes (zoom 1 on 1920x1080, lower on larger
 * photos), thorough does not. Thresholds: the lowest whose false boxes
 * stay within 0.5 per image on the evaluation set, and not below 0.3 (its
 * backgrounds are easier than real scenes). */
static const preset_values values[2][3] = {
    [ANON_MODEL_SSD] = {
        [ANON_PRESET_FAST] = {0.3f, 0, 0},
        [ANON_PRESET_BALANCED] = {0.3f, 1.5f, 24},
        [ANON_PRESET_THOROUGH] = {0.4f, 1.5f, 0},
    },
    [ANON_MODEL_TINY] = {
        [ANON_PRESET_FAST] = {0.3f, 0, 0},
        [ANON_PRESET_BALANCED] = {0.4f, 1.5f, 32},
        [ANON_PRESET_THOROUGH] = {0.4f, 1.5f, 0},
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
    const preset_values *v = &values[model == ANON_MODEL_TINY ? ANON_MODEL_TINY : ANON_MODEL_SSD][p];
    o->thresh = v->thresh;
    o->zoom = v->zoom;
    o->max_passes = v->max_passes;
}
