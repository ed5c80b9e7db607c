/* cmd_blur.c - `anonctl blur`: anonymize local files, no services needed.
 *
 * Collects the images, then --jobs threads each take the next file, run the
 * library's anon_process() with their own detector, and write the output
 * atomically (temporary file + rename: never a partial output, never over
 * an input). One bad file is reported and the run goes on. */
#include <getopt.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "redact/pipeline.h"
#include "cli.h"
#include "cli_files.h"
#include "cli_progress.h"
#include "engine/engine.h"
#include "detect/preset.h"
#include "service/record_json.h"

extern const struct anonctl_cmd cmd_blur;

struct blur_run {
    anon_process_options opt;
    anon_detector_config det;
    bool json;
    cli_files files;
    atomic_size_t next;
    atomic_int failed;
    cli_progress progress;
    pthread_mutex_t out_lock;   /* one JSON or error line at a time */
    float scales[8];
};

static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static void report(struct blur_run *run, const cli_file *f, const anon_result *res,
                   const char *error)
{
    pthread_mutex_lock(&run->out_lock);
    if (error)
        fprintf(stderr, "%sanonctl blur: %s: %s\n", run->progress.enabled ? "\r\033[K" : "",
                f->input, error);
    if (run->json) {
        json_t *line = error
            ? json_pack("{s:s,s:s}", "path", f->input, "error", error)
            : json_pack("{s:s,s:s,s:i,s:i,s:o,s:{s:f,s:f,s:f,s:f}}", "path", f->input,
                        "output", f->output, "width", res->width, "height",
                        res->height, "faces", anon_boxes_to_json(&res->faces), "ms",
                        "decode", res->ms_decode, "detect", res->ms_detect, "blur",
                        res->ms_blur, "encode", res->ms_encode);
        cli_print_json(line);
    }
    pthread_mutex_unlock(&run->out_lock);
}

/* Anonymizes one file; returns the error message or NULL. */
static const char *blur_file(struct blur_run *run, anon_detector *det, const cli_file *f,
                             anon_buffer *in, anon_buffer *out, anon_result *res,
                             anon_error *err)
{
    if (same_file(f->input, f->output))
        return "output would overwrite the input; choose another -o directory";
    if (anon_buffer_read_file(in, f->input, 0, err) < 0)
        return err->msg;
    if (anon_process(det, in->data, in->len, &run->opt, out, res, err) < 0)
        return err->msg;
    if (cli_make_parent_dirs(f->output) < 0) {
        anon_fail(err, "cannot create the directory of %s", f->output);
        return err->msg;
    }
    if (anon_write_file_atomic(f->output, out->data, out->len, err) < 0)
        return err->msg;
    return NULL;
}

static void *blur_worker(void *arg)
{
    struct blur_run *run = arg;
    anon_error err;
    anon_detector *det = anon_detector_open(&run->det, &err);
    if (det == NULL) {
        pthread_mutex_lock(&run->out_lock);
        fprintf(stderr, "anonctl blur: %s\n", err.msg);
        pthread_mutex_unlock(&run->out_lock);
    }
    anon_buffer in = ANON_BUFFER_INIT, out = ANON_BUFFER_INIT;
    size_t i;
    while ((i = atomic_fetch_add(&run->next, 1)) < run->files.n) {
        const cli_file *f = &run->files.v[i];
        anon_result res = {0};
        const char *error = det ? blur_file(run, det, f, &in, &out, &res, &err) : err.msg;
        if (error)
            atomic_fetch_add(&run->failed, 1);
        report(run, f, &res, error);
        cli_progress_step(&run->progress, in.len, error == NULL);
        anon_result_free(&res);
    }
    anon_buffer_free(&in);
    anon_buffer_free(&out);
    anon_detector_close(det);
    return NULL;
}

static int run_workers(struct blur_run *run, long jobs)
{
    if ((size_t)jobs > run->files.n)
        jobs = run->files.n ? (long)run->files.n : 1;
    pthread_t threads[jobs];
    long started = 0;
    for (; started < jobs; started++)
        if (pthread_create(&threads[started], NULL, blur_worker, run) != 0)
            break;
    if (started == 0)
        blur_worker(run);
    for (long t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
    return 0;
}

enum { OPT_ENGINE = 256, OPT_TILES, OPT_TILE_OVERLAP, OPT_SCALES, OPT_FLIP, OPT_MIN_FACE,
       OPT_METHOD, OPT_MASK_SCALE, OPT_BOXES, OPT_KEEP_METADATA, OPT_QUALITY,
       OPT_REENCODE, OPT_MAX_PIXELS, OPT_JSON, OPT_PRESET };

static const struct option blur_options[] = {
    {"output", required_argument, NULL, 'o'},
    {"model", required_argument, NULL, 'm'},
    {"engine", required_argument, NULL, OPT_ENGINE},
    {"preset", required_argument, NULL, OPT_PRESET},
    {"thresh", required_argument, NULL, 't'},
    {"tiles", required_argument, NULL, OPT_TILES},
    {"tile-overlap", required_argument, NULL, OPT_TILE_OVERLAP},
    {"scales", required_argument, NULL, OPT_SCALES},
    {"flip", no_argument, NULL, OPT_FLIP},
    {"min-face", required_argument, NULL, OPT_MIN_FACE},
    {"method", required_argument, NULL, OPT_METHOD},
    {"mask-scale", required_argument, NULL, OPT_MASK_SCALE},
    {"boxes", no_argument, NULL, OPT_BOXES},
    {"keep-metadata", no_argument, NULL, OPT_KEEP_METADATA},
    {"quality", required_argument, NULL, OPT_QUALITY},
    {"reencode", no_argument, NULL, OPT_REENCODE},
    {"max-pixels", required_argument, NULL, OPT_MAX_PIXELS},
    {"jobs", required_argument, NULL, 'j'},
    {"json", no_argument, NULL, OPT_JSON},
    {"quiet", no_argument, NULL, 'q'},
    {NULL, 0, NULL, 0},
};

static int parse_float(const char *text, float min, float max, float *out)
{
    char *end;
    float v = strtof(text, &end);
    if (end == text || *end != '\0' || !(v >= min && v <= max))
        return -1;
    *out = v;
    return 0;
}

static int parse_tiles(const char *text, int *cols, int *rows)
{
    char tail;
    if (sscanf(text, "%dx%d%c", cols, rows, &tail) == 2 ||
        (sscanf(text, "%d%c", cols, &tail) == 1 && (*rows = *cols, 1)))
        return *cols >= 0 && *cols <= 16 && *rows >= 0 && *rows <= 16 ? 0 : -1;
    return -1;
}

static int parse_scales(const char *text, struct blur_run *run)
{
    char *copy = strdup(text), *save = NULL;
    int n = 0, rc = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n == (int)(sizeof run->scales / sizeof run->scales[0]) ||
            parse_float(tok, 0.1f, 8.0f, &run->scales[n]) < 0) {
            rc = -1;
            break;
        }
        n++;
    }
    free(copy);
    run->opt.detect.scales = run->scales;
    run->opt.detect.n_scales = n;
    return rc;
}

/* The model and the preset decide the defaults that the other flags then
 * override, so --model and --preset are read in a first pass: the value of
 * the last `--NAME V`, `--NAME=V` (or `-S V`) on the command line. */
static const char *first_pass_value(int argc, char **argv, const char *name,
                                    const char *short_name, const char *fallback)
{
    size_t len = strlen(name);
    const char *value = fallback;
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], name) == 0 || (short_name && strcmp(argv[i], short_name) == 0)) &&
            i + 1 < argc)
            value = argv[i + 1];
        else if (strncmp(argv[i], name, len) == 0 && argv[i][len] == '=')
            value = argv[i] + len + 1;
    }
    return value;
}

static int parse_blur_args(int argc, char **argv, anon_config *cfg, struct blur_run *run,
                           const char **outdir, long *jobs, bool *quiet)
{
    const struct anonctl_cmd *cmd = &cmd_blur;
    const anon_model *model;
    anon_preset preset;
    anon_error perr;
    if (anon_preset_choose(first_pass_value(argc, argv, "--model", "-m", cfg->model),
                           first_pass_value(argc, argv, "--preset", NULL, cfg->preset), &model,
                           &preset, &perr) < 0)
        return cli_usage_error(cmd, "%s", perr.msg);
    anon_process_options_default(&run->opt, model);
    anon_preset_apply(preset, model, &run->opt.detect);
    run->opt.max_pixels = cfg->max_pixels;
    run->det = (anon_detector_config){.model = model, .model_dir = cfg->model_dir,
                                      .engine = anon_engine_default(), .threads = 1};
    *jobs = sysconf(_SC_NPROCESSORS_ONLN);
    int c;
    long n;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:m:t:j:q", blur_options, NULL)) != -1) {
        switch (c) {
        case 'o': *outdir = optarg; break;
        case 'm': break; /* read in the first pass */
        case OPT_PRESET: break;
        case OPT_ENGINE: run->det.engine = optarg; break;
        case 't':
            if (parse_float(optarg, 0.0f, 1.0f, &run->opt.detect.thresh) < 0)
                return cli_usage_error(cmd, "--thresh takes a number from 0 to 1");
            break;
        case OPT_TILES:
            if (parse_tiles(optarg, &run->opt.detect.tiles_x, &run->opt.detect.tiles_y) < 0)
                return cli_usage_error(cmd, "--tiles takes COLSxROWS, e.g. 2x2 (0 = off)");
            break;
        case OPT_TILE_OVERLAP:
            if (parse_float(optarg, 0.0f, 0.9f, &run->opt.detect.tile_overlap) < 0)
                return cli_usage_error(cmd, "--tile-overlap takes a fraction from 0 to 0.9");
            break;
        case OPT_SCALES:
            if (parse_scales(optarg, run) < 0)
                return cli_usage_error(cmd, "--scales takes up to 8 numbers, e.g. 1.5,2");
            break;
        case OPT_FLIP: run->opt.detect.flip = true; break;
        case OPT_MIN_FACE:
            if (cli_parse_long(optarg, 0, 100000, &n) < 0)
                return cli_usage_error(cmd, "--min-face takes pixels");
            run->opt.detect.min_face = (int)n;
            break;
        case OPT_METHOD:
            if (anon_method_parse(optarg, &run->opt.blur.method) < 0)
                return cli_usage_error(cmd, "--method takes blur, pixelate or fill");
            break;
        case OPT_MASK_SCALE:
            if (parse_float(optarg, 0.5f, 4.0f, &run->opt.blur.mask_scale) < 0)
                return cli_usage_error(cmd, "--mask-scale takes a factor from 0.5 to 4");
            break;
        case OPT_BOXES: run->opt.blur.rectangles = true; break;
        case OPT_KEEP_METADATA: run->opt.keep_metadata = true; break;
        case OPT_QUALITY:
            if (cli_parse_long(optarg, 1, 100, &n) < 0)
                return cli_usage_error(cmd, "--quality takes 1 to 100");
            run->opt.jpeg_quality = (int)n;
            break;
        case OPT_REENCODE: run->opt.reencode = true; break;
        case OPT_MAX_PIXELS:
            if (cli_parse_long(optarg, 1, 1L << 40, &run->opt.max_pixels) < 0)
                return cli_usage_error(cmd, "--max-pixels takes a positive number");
            break;
        case 'j':
            if (cli_parse_long(optarg, 1, 256, jobs) < 0)
                return cli_usage_error(cmd, "--jobs takes 1 to 256");
            break;
        case OPT_JSON: run->json = true; break;
        case 'q': *quiet = true; break;
        default: return cli_usage_error(cmd, "unknown option");
        }
    }
    if (*outdir == NULL)
        return cli_usage_error(cmd, "-o OUTDIR is required");
    if (optind >= argc)
        return cli_usage_error(cmd, "no PATH given");
    return EXIT_OK;
}

static int run_blur(int argc, char **argv, anon_config *cfg)
{
    struct blur_run run = {0};
    const char *outdir = NULL;
    long jobs;
    bool quiet = false;
    int rc = parse_blur_args(argc, argv, cfg, &run, &outdir, &jobs, &quiet);
    if (rc != EXIT_OK)
        return rc;
    char model_dir[4096];
    run.det.model_dir = cli_model_dir(cfg, model_dir, sizeof model_dir);
    if (mkdir(outdir, 0755) < 0 && access(outdir, W_OK) < 0) {
        fprintf(stderr, "anonctl blur: cannot write to output directory %s\n", outdir);
        return EXIT_USAGE;
    }
    int problems = cli_collect_files(argv + optind, argc - optind, outdir, true, &run.files, stderr);
    if (problems < 0) {
        fprintf(stderr, "anonctl blur: out of memory\n");
        return EXIT_SOME_FAILED;
    }
    if (run.files.skipped)
        fprintf(stderr, "anonctl blur: %zu files skipped in directories (not .jpg/.jpeg/.png)\n",
                run.files.skipped);
    pthread_mutex_init(&run.out_lock, NULL);
    cli_progress_init(&run.progress, "images", run.files.n, quiet || run.json);
    run_workers(&run, jobs);
    cli_progress_finish(&run.progress);
    int failed = atomic_load(&run.failed);
    if (!run.json && !quiet)
        fprintf(stderr, "anonctl blur: %zu images, %d failed, written to %s\n",
                run.files.n, failed, outdir);
    cli_files_free(&run.files);
    pthread_mutex_destroy(&run.out_lock);
    return failed || problems ? EXIT_SOME_FAILED : EXIT_OK;
}

static const char *const blur_env[] = {"ANON_MODEL", "ANON_PRESET", "ANON_MODEL_DIR",
                                       "ANON_MAX_PIXELS", NULL};

const struct anonctl_cmd cmd_blur = {
    .name = "blur",
    .args = "[options] PATH... -o OUTDIR",
    .summary = "find faces in local JPEG/PNG files and write anonymized copies",
    .options =
        "  -o, --output DIR      write anonymized copies here, mirroring the input tree\n"
        "  -m, --model NAME      face model: ssd, tiny or yolo (default: $ANON_MODEL, ssd)\n"
        "      --engine NAME     engine: anon-lean, anon (every layer kept)\n"
        "                        or darknet (the reference) (default: anon-lean)\n"
        "      --preset NAME     detection passes and threshold; the flags below override\n"
        "                        them (default: $ANON_PRESET, balanced; docs/detection.md):\n"
        "                          fast      whole photo only (1 pass), thresh 0.3\n"
        "                          balanced  + windows at up to 1.5x zoom and its halves,\n"
        "                                    at most 24 passes (zoom lowered to fit on\n"
        "                                    large photos), thresh 0.3\n"
        "                          thorough  + windows at 1.5x zoom and its halves, no\n"
        "                                    cap (faces from ~20 px; 1920x1080: 39 passes),\n"
        "                                    thresh 0.4\n"
        "                        (tiny model: the same, balanced capped at 32 passes\n"
        "                        and thresh 0.4)\n"
        "  -t, --thresh X        minimum face score, 0..1 (default: from the preset)\n"
        "      --tiles CxR       extra pass over CxR overlapping tiles at full resolution,\n"
        "                        0 = off (default: from the preset)\n"
        "      --tile-overlap F  fraction of a tile shared with its neighbour (default: 0.2)\n"
        "      --scales LIST     extra whole-image passes at these zooms, e.g. 1.5,2\n"
        "                        (default: none)\n"
        "      --flip            also detect on the mirrored image (default: off)\n"
        "      --min-face PX     ignore faces smaller than PX pixels (default: 0)\n"
        "      --method NAME     blur (pixelate, then blur), pixelate or fill (default: blur)\n"
        "      --mask-scale F    mask size relative to the face box (default: 1.3)\n"
        "      --boxes           rectangular masks instead of ellipses (default: ellipses)\n"
        "      --keep-metadata   keep harmless tags; never GPS, serials or thumbnails\n"
        "                        (default: all metadata removed)\n"
        "      --quality N       JPEG quality of re-encoded output (default: 90)\n"
        "      --reencode        JPEG: re-encode the whole photo (default: rewrite only\n"
        "                        the blocks under the masks; the rest stays bit-exact)\n"
        "      --max-pixels N    refuse larger images before decoding\n"
        "                        (default: $ANON_MAX_PIXELS, 50000000)\n"
        "  -j, --jobs N          images in parallel (default: number of cores)\n"
        "      --json            one JSON line per image on stdout: path, output, width,\n"
        "                        height, faces [{x,y,w,h,score}], ms per stage\n"
        "  -q, --quiet           no progress bar or summary\n"
        "\nexit status: 0 all images done, 1 some failed (each named on stderr), 2 usage\n",
    .env = blur_env,
    .run = run_blur,
};
