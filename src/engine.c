/* engine.c - the table of inference engines (see engine.h). */
#include "engine.h"

#include <string.h>

extern const anon_engine anon_engine_darknet;   /* engine_darknet.c */
extern const anon_engine anon_engine_anon;      /* nn.c */
extern const anon_engine anon_engine_anon_lean; /* nn.c */

static const anon_engine *const engines[] = {
    &anon_engine_anon,      /* the default: first */
    &anon_engine_darknet,
    &anon_engine_anon_lean,
};

const anon_engine *anon_engine_find(const char *name)
{
    for (size_t i = 0; i < sizeof engines / sizeof engines[0]; i++)
        if (strcmp(engines[i]->name, name) == 0)
            return engines[i];
    return NULL;
}

const char *anon_engine_default(void)
{
    return engines[0]->name;
}
