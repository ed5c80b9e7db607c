/* test_preset.c - the named detection presets and the pipeline's default. */
#include "redact/pipeline.h"
#include "check.h"
#include "detect/preset.h"
#include "base/config.h"

#include <string.h>

TEST(names_parse_and_print)
{
    anon_preset p;
    CHECK(anon_preset_parse("fast", &p) == 0 && p == ANON_PRESET_FAST);
    CHECK(anon_preset_parse("balanced", &p) == 0 && p == ANON_PRESET_BALANCED);
    CHECK(anon_preset_parse("thorough", &p) == 0 && p == ANON_PRESET_THOROUGH);
    CHECK(anon_preset_parse("Fast", &p) == -1 && anon_preset_parse("", &p) == -1);
    CHECK(anon_preset_parse(NULL, &p) == -1);
    CHECK(strcmp(anon_preset_name(ANON_PRESET_THOROUGH), "thorough") == 0);
    CHECK(strcmp(anon_preset_name((anon_preset)7), "?") == 0);
}

/* Each step up adds passes; fast is the single whole-photo pass. (The
 * face-api models add a window pyramid, YOLO a second input size.) */
TEST(presets_order_their_passes)
{
    for (size_t m = 0; anon_model_at(m); m++) {
        anon_detect_options f, b, t;
        anon_preset_apply(ANON_PRESET_FAST, anon_model_at(m), &f);
        anon_preset_apply(ANON_PRESET_BALANCED, anon_model_at(m), &b);
        anon_preset_apply(ANON_PRESET_THOROUGH, anon_model_at(m), &t);
        CHECK(f.zoom == 0 && f.tiles_x == 0 && f.n_scales == 0 && !f.flip);
        CHECK(anon_detect_single_pass(&f) && !anon_detect_single_pass(&b));
        /* thorough: at least balanced's passes, with no tighter cap */
        CHECK(t.zoom >= b.zoom && t.n_scales >= b.n_scales && (t.flip || !b.flip));
        CHECK(t.max_passes == 0 || (b.max_passes > 0 && t.max_passes >= b.max_passes));
        CHECK(f.thresh > 0 && f.thresh < 1 && b.thresh > 0 && t.thresh > 0);
        CHECK(b.edge_margin > 0 && b.nms_iou > 0);
    }
}

/* A preset starts from the model's defaults: nothing of an earlier
 * setting survives. */
TEST(apply_resets_other_fields)
{
    anon_detect_options o;
    anon_detect_options_default(&o, anon_model_find("ssd"));
    o.tiles_x = o.tiles_y = 3;
    o.min_face = 40;
    o.flip = true;
    anon_preset_apply(ANON_PRESET_FAST, anon_model_find("ssd"), &o);
    CHECK(o.tiles_x == 0 && o.min_face == 0 && !o.flip);
}

/* The one place names are read: every model of the table, and clear
 * errors. */
TEST(names_choose_model_and_preset)
{
    const anon_model *m;
    anon_preset p;
    anon_error err;
    for (size_t i = 0; anon_model_at(i); i++)
        CHECK(anon_preset_choose(anon_model_at(i)->name, "fast", &m, &p, NULL) == 0 &&
              m == anon_model_at(i) && p == ANON_PRESET_FAST);
    CHECK(anon_preset_choose("yolo", "thorough", &m, &p, NULL) == 0 &&
          strcmp(m->name, "yolo") == 0 && p == ANON_PRESET_THOROUGH);
    CHECK(anon_preset_choose("mtcnn", "fast", &m, &p, &err) == -1);
    CHECKF(strstr(err.msg, "unknown model 'mtcnn' (expected ssd, tiny or yolo)") != NULL, "%.200s",
           err.msg);
    CHECK(anon_preset_choose("ssd", "quick", &m, &p, &err) == -1);
    CHECKF(strstr(err.msg, "unknown preset 'quick'") != NULL, "%.200s", err.msg);
    CHECK(anon_preset_choose(NULL, NULL, &m, &p, &err) == -1);
}

/* YOLO's presets set its input sizes, windows for large photos and the
 * large-face threshold (docs/detection.md); the others' leave the input
 * size to the cfg and have no large-face threshold. */
TEST(yolo_presets_choose_input_sizes)
{
    anon_detect_options o;
    const anon_model *yolo = anon_model_find("yolo");
    anon_preset_apply(ANON_PRESET_FAST, yolo, &o);
    CHECK(o.input_size == 1024 && o.n_scales == 0 && o.zoom == 0 && !o.flip);
    CHECK(o.large_face == 64 && o.large_thresh < o.thresh);
    anon_preset_apply(ANON_PRESET_BALANCED, yolo, &o);
    CHECK(o.input_size == 640 && o.n_scales == 1 && o.scales[0] * 640 == 1024);
    CHECK(o.zoom == 0.5f && o.max_passes == 8 && !o.flip && o.large_face == 64);
    anon_preset_apply(ANON_PRESET_THOROUGH, yolo, &o);
    CHECK(o.input_size == 640 && o.scales[0] * 640 == 1024 && o.flip && o.zoom == 1);
    CHECK(o.max_passes > 8);
    anon_preset_apply(ANON_PRESET_BALANCED, anon_model_find("ssd"), &o);
    CHECK(o.input_size == 0 && o.n_scales == 0 && !o.flip && o.large_face == 0);
}

/* YOLOv8n-face is the default of the library, the pipeline and ANON_MODEL. */
TEST(default_model_is_yolo)
{
    anon_process_options o;
    anon_detect_options want;
    CHECK(anon_model_default() == anon_model_find("yolo"));
    anon_process_options_default(&o, NULL);
    anon_preset_apply(ANON_PRESET_BALANCED, anon_model_find("yolo"), &want);
    CHECK(o.detect.input_size == want.input_size && o.detect.thresh == want.thresh);
    CHECK(o.detect_input == anon_model_find("yolo")->input);
    const anon_config_var *v = anon_config_var_find("ANON_MODEL");
    CHECK(v && strcmp(v->default_value, "yolo") == 0);
}

TEST(pipeline_default_is_the_default_preset)
{
    anon_process_options o;
    anon_detect_options want;
    anon_process_options_default(&o, anon_model_find("ssd"));
    anon_preset_apply(ANON_PRESET_DEFAULT, anon_model_find("ssd"), &want);
    CHECK(ANON_PRESET_DEFAULT == ANON_PRESET_BALANCED);
    CHECK(o.detect.zoom == want.zoom && o.detect.thresh == want.thresh);
    CHECK(o.blur.mask_scale > 1);
}

/* ANON_MODEL's choices in the settings table (base cannot see the model
 * table) are exactly the models the detector knows. */
TEST(settings_name_every_model)
{
    const anon_config_var *v = anon_config_var_find("ANON_MODEL");
    CHECK(v != NULL && v->choices != NULL);
    size_t n_choices = 0, n_models = 0;
    for (; v && v->choices && v->choices[n_choices]; n_choices++)
        CHECKF(anon_model_find(v->choices[n_choices]) != NULL, "no model %s", v->choices[n_choices]);
    for (; anon_model_at(n_models); n_models++)
        ;
    CHECKF(n_choices == n_models, "%zu choices, %zu models", n_choices, n_models);
    CHECK(v && strcmp(v->default_value, anon_model_default()->name) == 0);
}

RUN_TESTS("preset",
          CASE(names_parse_and_print),
          CASE(presets_order_their_passes),
          CASE(names_choose_model_and_preset),
          CASE(yolo_presets_choose_input_sizes),
          CASE(default_model_is_yolo),
          CASE(apply_resets_other_fields),
          CASE(pipeline_default_is_the_default_preset),
          CASE(settings_name_every_model))
