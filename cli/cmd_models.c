/* cmd_models.c - `anonctl models`: the face models anonctl knows, each with
 * its input sizes, where its weights come from (npm package@version and
 * the file inside it), the licence they carry, and whether its converted
 * files are in the model directory; the default marked. The same facts as
 * the README's model section, from the model table itself (model.h). */
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "detect/model.h"

extern const struct anonctl_cmd cmd_models;

/* What is shown of one model besides its table entry: the long sides its
 * presets run at (increasing, without repeats; for a model of one input
 * size, that size) and whether its converted files are in the directory. */
typedef struct model_facts {
    int sizes[2 * ANON_PRESETS];
    int n_sizes;
    char sizes_text[128];
    bool present;
} model_facts;

static int by_value(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static void preset_sizes(const anon_model *m, model_facts *f)
{
    int n = 0;
    for (int p = 0; p < ANON_PRESETS; p++) {
        const anon_preset_values *v = &m->presets[p];
        int base = m->align > 0 && v->input_size > 0 ? v->input_size : m->input;
        f->sizes[n++] = base;
        if (m->align > 0 && v->scale > 0)
            f->sizes[n++] = (int)lround(v->scale * base);
    }
    qsort(f->sizes, (size_t)n, sizeof *f->sizes, by_value);
    f->n_sizes = 0;
    for (int i = 0; i < n; i++)
        if (f->sizes[i] > 0 && (f->n_sizes == 0 || f->sizes[f->n_sizes - 1] != f->sizes[i]))
            f->sizes[f->n_sizes++] = f->sizes[i];
    f->sizes_text[0] = '\0';
    for (int i = 0, len = 0; i < f->n_sizes && len < (int)sizeof f->sizes_text; i++)
        len += snprintf(f->sizes_text + len, sizeof f->sizes_text - (size_t)len, "%s%d",
                        i ? ", " : "", f->sizes[i]);
}

static bool readable(const char *dir, const char *file)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return access(path, R_OK) == 0;
}

static model_facts facts_of(const anon_model *m, const char *dir)
{
    model_facts f;
    preset_sizes(m, &f);
    f.present = readable(dir, m->cfg_file) && readable(dir, m->weights_file);
    return f;
}

static json_t *model_json(const anon_model *m, const model_facts *f)
{
    json_t *list = json_array();
    for (int i = 0; i < f->n_sizes; i++)
        json_array_append_new(list, json_integer(f->sizes[i]));
    return json_pack("{s:s,s:s,s:b,s:{s:b,s:i,s:o},s:s,s:s,s:s,s:b,s:[s,s]}", "name", m->name,
                     "title", m->title, "default", m == anon_model_default(), "input",
                     "any_size", m->align > 0, "align", m->align, "sizes", list, "package",
                     m->package, "file", m->package_file, "licence", m->licence, "present",
                     f->present, "files", m->cfg_file, m->weights_file);
}

static void print_model(const anon_model *m, const model_facts *f, const char *dir,
                        const char *chosen)
{
    bool is_default = m == anon_model_default();
    bool is_chosen = chosen && strcmp(chosen, m->name) == 0;
    printf("%s%s%s\n  %s\n", m->name, is_default ? " (default)" : "",
           is_chosen && !is_default ? " (ANON_MODEL)" : "", m->title);
    if (m->align > 0)
        printf("  input    any size, sides multiples of %d; the presets' passes: %s px\n",
               m->align, f->sizes_text);
    else
        printf("  input    %s x %s\n", f->sizes_text, f->sizes_text);
    printf("  source   npm %s, %s\n  licence  %s\n", m->package, m->package_file, m->licence);
    printf("  present  %s (%s/%s, %s)\n", f->present ? "yes" : "no", dir, m->cfg_file,
           m->weights_file);
}

static int run_models(int argc, char **argv, anon_config *cfg)
{
    bool json;
    int rc = cli_only_flag(&cmd_models, argc, argv, "--json", &json);
    if (rc != EXIT_OK)
        return rc;
    char buf[4096];
    const char *dir = cli_model_dir(cfg, buf, sizeof buf);
    if (json) {
        json_t *models = json_array();
        for (size_t i = 0; anon_model_at(i); i++) {
            model_facts f = facts_of(anon_model_at(i), dir);
            json_array_append_new(models, model_json(anon_model_at(i), &f));
        }
        cli_print_json(json_pack("{s:s,s:s,s:s?,s:o}", "model_dir", dir, "default",
                                 anon_model_default()->name, "ANON_MODEL", cfg->model,
                                 "models", models));
        return EXIT_OK;
    }
    for (size_t i = 0; anon_model_at(i); i++) {
        if (i > 0)
            printf("\n");
        model_facts f = facts_of(anon_model_at(i), dir);
        print_model(anon_model_at(i), &f, dir, cfg->model);
    }
    printf("\nConverted by `make models` (scripts/convert-model) into the model directory\n"
           "($ANON_MODEL_DIR). The weights keep their own licence: --model ssd or tiny\n"
           "for MIT-licensed weights only (README, \"Models and their licences\").\n");
    return EXIT_OK;
}

static const char *const models_env[] = {"ANON_MODEL_DIR", "ANON_MODEL", NULL};

const struct anonctl_cmd cmd_models = {
    .name = "models",
    .args = "[--json]",
    .summary = "list the face models: input sizes, source, licence, present",
    .options = "      --json            one JSON object instead of text\n",
    .env = models_env,
    .run = run_models,
};
