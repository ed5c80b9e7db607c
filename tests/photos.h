/* photos.h - test helpers: where the converted models are; the demo photos as cv2 decoded them (binary PPMs
 * the Makefile's oracle rule writes into .cache/oracle) and face-api's
 * reference detections for them (scripts/face-api-oracle.mjs). */
#ifndef ANON_TEST_PHOTOS_H
#define ANON_TEST_PHOTOS_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/detect.h"
#include "image/image.h"

#define DEMO_PHOTOS 6

/* The converted models the tests run (make models). */
static inline const char *model_dir(void)
{
    const char *d = getenv("ANON_MODEL_DIR");
    return d && d[0] ? d : ".cache/models";
}

static inline const char *oracle_dir(void)
{
    const char *d = getenv("ANON_ORACLE_DIR");
    return d && d[0] ? d : ".cache/oracle";
}

/* Reads a binary 8-bit PPM (P6) into img (RGB); 0 on success. */
static inline int ppm_read(const char *path, anon_image *img)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    int w = 0, h = 0, max = 0;
    int rc = -1;
    if (fscanf(f, "P6 %d %d %d", &w, &h, &max) == 3 && fgetc(f) != EOF && max == 255 &&
        w > 0 && h > 0 && w < 20000 && h < 20000) {
        img->width = w;
        img->height = h;
        img->channels = 3;
        img->pixels = malloc((size_t)w * h * 3);
        if (img->pixels && fread(img->pixels, 1, (size_t)w * h * 3, f) == (size_t)w * h * 3)
            rc = 0;
        else {
            free(img->pixels);
            img->pixels = NULL;
        }
    }
    fclose(f);
    return rc;
}

static inline int demo_photo(int i, anon_image *img)
{
    char path[512];
    snprintf(path, sizeof path, "%s/sample%d.ppm", oracle_dir(), i);
    return ppm_read(path, img);
}

static inline json_t *demo_oracle(int i)
{
    char path[512];
    snprintf(path, sizeof path, "%s/sample%d.json", oracle_dir(), i);
    return json_load_file(path, 0, NULL);
}

/* The oracle's faces for one model ("ssd", "tiny"), clipped to the photo
 * like the C detector clips them. */
static inline void oracle_faces(json_t *root, const char *model, anon_boxes *out)
{
    int width = (int)json_integer_value(json_object_get(root, "width"));
    int height = (int)json_integer_value(json_object_get(root, "height"));
    json_t *faces = json_object_get(json_object_get(root, model), "faces");
    size_t i;
    json_t *f;
    json_array_foreach(faces, i, f) {
        float x = (float)json_number_value(json_object_get(f, "x"));
        float y = (float)json_number_value(json_object_get(f, "y"));
        float x1 = x + (float)json_number_value(json_object_get(f, "w"));
        float y1 = y + (float)json_number_value(json_object_get(f, "h"));
        x = x < 0 ? 0 : x;
        y = y < 0 ? 0 : y;
        x1 = x1 > width ? (float)width : x1;
        y1 = y1 > height ? (float)height : y1;
        anon_box b = {x, y, x1 - x, y1 - y,
                      (float)json_number_value(json_object_get(f, "score"))};
        anon_boxes_push(out, b, NULL);
    }
}

#endif
