/* eval_detect.c - the detector alone, with every option, for
 * scripts/eval-detection.
 *
 *   build/eval_detect [-m ssd|tiny|yolo] [-e ENGINE] [-t THRESH] [-T CxR] [-o OVERLAP]
 *                     [-z ZOOM] [-c MAX_PASSES] [-s SCALE] [-f] [-g EDGE] [-p PRESET]
 *                     [-i INPUT_SIZE] [-L PX:THRESH] PHOTO...
 *
 * Starts from a preset (-p, default the library's default preset) and
 * applies the other flags over it, like `anonctl blur`, but also reaches the
 * options anonctl does not expose (zoom, its pass cap, edge margin, the long
 * side of a YOLO pass, the large-face threshold: -L 0:0 turns it off), and only decodes and
 * detects. Prints one JSON line per photo:
 *   {"path", "width", "height", "faces": [{x, y, w, h, score}], "ms": detect ms,
 *    "passes": network runs}
 * Exits 1 when a photo fails. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buffer.h"
#include "base/clock.h"
#include "codec/codec.h"
#include "detect/detect.h"
#include "image/image.h"
#include "detect/preset.h"
#include "service/record_json.h"

static int usage(void)
{
    fprintf(stderr, "usage: eval_detect [-m ssd|tiny|yolo] [-e ENGINE] [-t THRESH] [-T CxR] "
                    "[-o OVERLAP] [-z ZOOM] [-c MAX_PASSES] [-s SCALE] [-f] [-g EDGE] "
                    "[-p PRESET] [-i INPUT_SIZE] [-L PX:THRESH] PHOTO...\n");
    return 2;
}

static int detect_one(anon_detector *d, const anon_detect_options *o, const char *path,
                      anon_buffer *buf)
{
    anon_error err;
    anon_image img = {0};
    anon_boxes faces = {0};
    anon_decode_options dopt = {.scale_denom = 1};
    int rc = -1;
    if (anon_buffer_read_file(buf, path, 0, &err) == 0 &&
        anon_decode(buf->data, buf->len, &dopt, &img, NULL, &err) == 0) {
        double t0 = anon_now_ms();
        rc = anon_detect(d, &img, o, &faces, &err);
        double ms = anon_now_ms() - t0;
        if (rc == 0) {
            json_t *line = json_pack("{s:s,s:i,s:i,s:o,s:f,s:i}", "path", path, "width",
                                     img.width, "height", img.height, "faces",
                                     anon_boxes_to_json(&faces), "ms", ms, "passes",
                                     anon_detector_passes(d));
            char *text = json_dumps(line, JSON_COMPACT);
            printf("%s\n", text);
            fflush(stdout);
            free(text);
            json_decref(line);
        }
    }
    if (rc != 0)
        fprintf(stderr, "eval_detect: %s: %s\n", path, err.msg);
    anon_boxes_free(&faces);
    anon_image_free(&img);
    return rc;
}

int main(int argc, char **argv)
{
    anon_detector_config cfg = {.model = anon_model_default(), .model_dir = getenv("ANON_MODEL_DIR"),
                                .threads = 1};
    anon_preset preset = ANON_PRESET_DEFAULT;
    const char *thresh = NULL, *tiles = NULL, *overlap = NULL, *zoom = NULL, *edge = NULL,
               *cap = NULL, *input = NULL, *large = NULL;
    float scale = 0;
    bool flip = false;
    int c;
    while ((c = getopt(argc, argv, "m:e:t:T:o:z:c:s:fg:p:i:L:")) != -1) {
        switch (c) {
        case 'm':
            if ((cfg.model = anon_model_find(optarg)) == NULL)
                return usage();
            break;
        case 'e': cfg.engine = optarg; break;
        case 't': thresh = optarg; break;
        case 'T': tiles = optarg; break;
        case 'o': overlap = optarg; break;
        case 'z': zoom = optarg; break;
        case 'c': cap = optarg; break;
        case 's': scale = strtof(optarg, NULL); break;
        case 'f': flip = true; break;
        case 'g': edge = optarg; break;
        case 'i': input = optarg; break;
        case 'L': large = optarg; break;
        case 'p':
            if (anon_preset_parse(optarg, &preset) < 0)
                return usage();
            break;
        default: return usage();
        }
    }
    if (optind >= argc)
        return usage();
    anon_detect_options o;
    anon_preset_apply(preset, cfg.model, &o);
    if (thresh)
        o.thresh = strtof(thresh, NULL);
    if (tiles && sscanf(tiles, "%dx%d", &o.tiles_x, &o.tiles_y) != 2)
        return usage();
    if (overlap)
        o.tile_overlap = strtof(overlap, NULL);
    if (zoom)
        o.zoom = strtof(zoom, NULL);
    if (cap)
        o.max_passes = atoi(cap);
    if (edge)
        o.edge_margin = strtof(edge, NULL);
    if (input)
        o.input_size = atoi(input);
    if (large && sscanf(large, "%d:%f", &o.large_face, &o.large_thresh) != 2)
        return usage();
    if (scale > 0) {
        o.scales = &scale;
        o.n_scales = 1;
    }
    o.flip = o.flip || flip;
    anon_error err;
    anon_detector *d = anon_detector_open(&cfg, &err);
    if (!d) {
        fprintf(stderr, "eval_detect: %s\n", err.msg);
        return 1;
    }
    anon_buffer buf = ANON_BUFFER_INIT;
    int failed = 0;
    for (int i = optind; i < argc; i++)
        failed |= detect_one(d, &o, argv[i], &buf) != 0;
    anon_buffer_free(&buf);
    anon_detector_close(d);
    return failed;
}
