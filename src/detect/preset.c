/* preset.c - the named detection settings (see preset.h). The values per
 * model are in the model entries (model_*.c). */
#include "detect/preset.h"

#include <stdio.h>
#include <string.h>

static const char *const names[ANON_PRESETS] = {"fast", "balanced", "thorough"};

int anon_preset_parse(const char *name, anon_preset *out)
{
    for (int i = 0; i < ANON_PRESETS; i++)
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

/* "a, b or c" of the model names, for messages. */
static void model_names(char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; anon_model_at(i) && len < size; i++) {
        const char *sep = i == 0 ? "" : anon_model_at(i + 1) ? ", " : " or ";
        int k = snprintf(buf + len, size - len, "%s%s", sep, anon_model_at(i)->name);
        len += k > 0 ? (size_t)k : 0;
    }
}

int anon_preset_choose(const char *model_name, const char *preset_name,
                       const anon_model **model, anon_preset *preset, anon_error *err)
{
    *model = anon_model_find(model_name);
    if (*model == NULL) {
        char known[256];
        model_names(known, sizeof known);
        return anon_fail(err, "unknown model '%s' (expected %s)", model_name ? model_name : "",
                         known);
    }
    if (anon_preset_parse(preset_name, preset) < 0)
        return anon_fail(err, "unknown preset '%s' (expected fast, balanced or thorough)",
                         preset_name ? preset_name : "");
    return 0;
}

void anon_preset_apply(anon_preset p, const anon_model *model, anon_detect_options *o)
{
    if (!model)
        model = anon_model_default();
    anon_detect_options_default(o, model);
    if (p < ANON_PRESET_FAST || p > ANON_PRESET_THOROUGH)
        p = ANON_PRESET_DEFAULT;
    const anon_preset_values *v = &model->presets[p];
    o->thresh = v->thresh;
    o->large_face = v->large_face;
    o->large_thresh = v->large_thresh;
    o->zoom = v->zoom;
    o->max_passes = v->max_passes;
    o->input_size = v->input_size;
    o->flip = v->flip;
    if (v->scale > 0) {
        o->scales = &v->scale;
        o->n_scales = 1;
    }
}
