/* model.c - the table of face models (see model.h). */
#include "detect/model.h"

#include <string.h>

extern const anon_model anon_model_ssd;    /* model_ssd.c */
extern const anon_model anon_model_tiny;   /* model_tiny.c */
extern const anon_model anon_model_yolo;   /* model_yolo.c */

/* In the order the names were added (messages list them so); the default
 * is YOLOv8n-face, the model that finds small faces in real photos
 * (docs/detection.md). */
static const anon_model *const models[] = {
    &anon_model_ssd,
    &anon_model_tiny,
    &anon_model_yolo,
};

const anon_model *anon_model_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof models / sizeof models[0]; i++)
        if (strcmp(models[i]->name, name) == 0)
            return models[i];
    return NULL;
}

const anon_model *anon_model_at(size_t i)
{
    return i < sizeof models / sizeof models[0] ? models[i] : NULL;
}

const anon_model *anon_model_default(void)
{
    return &anon_model_yolo;
}
