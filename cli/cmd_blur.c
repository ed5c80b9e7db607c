/* cmd_blur.c - `anonctl blur`: anonymize local files, no services needed.
 *
 * Collects the images and checks, before any work, where each one goes:
 * the output folder may not be, hold or lie in an input folder, two inputs
 * never share an output (neither is written), and missing inputs count as
 * failed. Then --jobs threads each take the next file, run the library's
 * anon_process() with their own detector, and write the output atomically
 * (temporary file + rename: never a partial output, never over an input).
 * One bad file is reported and the run goes on. --dry-run stops after the
 * checks and says what would be written where; --draw-boxes writes review
 * copies (the detections drawn on the unblurred photo) instead. */
#include <getopt.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "redact/draw.h"
#include "redact/pipeline.h"
#include "cli.h"
#include "cli_files.h"
#include "cli_outdir.h"
#include "cli_progress.h"
#include "engine/engine.h"
#include "detect/preset.h"
#include "service/record_json.h"

extern const struct anonctl_cmd cmd_blur;

struct blur_run {
    anon_process_options opt;
    anon_detector_config det;
    bool json, skip_existing, dry_run, review;
    const char *files_from;
    cli_files files;
    size_t *todo;               /* indices of the entries to process */
    size_t n_todo;
    size_t skipped;             /* --skip-existing: outputs already up to date */
    atomic_size_t next;
    atomic_int failed;
    atomic_size_t written;
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

/* The decoder's warnings (the damage --accept-damaged accepted) and the
 * part filled, added to a written image's JSON line. */
static json_t *with_damage(json_t *line, const anon_result *res)
{
    anon_damage_to_json(line, &res->warnings, &res->covered);
    return line;
}

/* What became of one input, for its JSON line. */
typedef enum { OUTCOME_WRITTEN, OUTCOME_FAILED, OUTCOME_SKIPPED, OUTCOME_PLANNED } outcome;

static json_t *outcome_json(const struct blur_run *run, const cli_file *f, outcome o,
                            const anon_result *res, const char *error)
{
    switch (o) {
    case OUTCOME_FAILED:
        return json_pack("{s:s,s:s?,s:s}", "path", f->input, "output", f->output, "error",
                         error);
    case OUTCOME_SKIPPED:
        return json_pack("{s:s,s:s,s:s,s:b}", "path", f->input, "output", f->output,
                         "skipped", "the output is newer than the input", "dry_run",
                         run->dry_run);
    case OUTCOME_PLANNED:
        return json_pack("{s:s,s:s,s:b}", "path", f->input, "output", f->output, "dry_run", 1);
    default:
        return with_damage(json_pack("{s:s,s:s,s:i,s:i,s:o,s:{s:f,s:f,s:f,s:f}}", "path",
                                     f->input, "output", f->output, "width", res->width,
                                     "height", res->height, "faces",
                                     anon_boxes_to_json(&res->faces), "ms", "decode",
                                     res->ms_decode, "detect", res->ms_detect, "blur",
                                     res->ms_blur, "encode", res->ms_encode),
                           res);
    }
}

/* The line of text for an input, when text mode shows one. */
static void outcome_text(const struct blur_run *run, const cli_file *f, outcome o,
                         const char *error)
{
    if (o == OUTCOME_FAILED)
        fprintf(stderr, "%sanonctl blur: %s: %s\n", run->progress.enabled ? "\r\033[K" : "",
                f->input, error);
    else if (o == OUTCOME_PLANNED)
        printf("%s -> %s\n", f->input, f->output);
    else if (o == OUTCOME_SKIPPED && run->dry_run)
        printf("%s: skipped, %s is newer\n", f->input, f->output);
}

static void report(struct blur_run *run, const cli_file *f, outcome o, const anon_result *res,
                   const char *error)
{
    pthread_mutex_lock(&run->out_lock);
    if (run->json)
        cli_print_json(outcome_json(run, f, o, res, error));
    else
        outcome_text(run, f, o, error);
    pthread_mutex_unlock(&run->out_lock);
}

/* Anonymizes one file (or makes its review copy); returns the error
 * message or NULL. */
static const char *blur_file(struct blur_run *run, anon_detector *det, const cli_file *f,
                             anon_buffer *in, anon_buffer *out, anon_result *res,
                             anon_error *err)
{
    if (same_file(f->input, f->output))
        return "output would overwrite the input; choose another -o directory";
    if (anon_buffer_read_file(in, f->input, 0, err) < 0)
        return err->msg;
    int rc = run->review ? anon_review_copy(det, in->data, in->len, &run->opt, out, res, err)
                         : anon_process(det, in->data, in->len, &run->opt, out, res, err);
    if (rc < 0 && res->warnings.count > 0 && !run->opt.accept_damaged) {
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof err->msg - n, "; not written (--accept-damaged writes "
                 "what decodes, the rest filled)");
    }
    if (rc < 0)
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
    while ((i = atomic_fetch_add(&run->next, 1)) < run->n_todo) {
        const cli_file *f = &run->files.v[run->todo[i]];
        anon_result res = {0};
        const char *error = det ? blur_file(run, det, f, &in, &out, &res, &err) : err.msg;
        if (error)
            atomic_fetch_add(&run->failed, 1);
        else
            atomic_fetch_add(&run->written, 1);
        report(run, f, error ? OUTCOME_FAILED : OUTCOME_WRITTEN, &res, error);
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
    if ((size_t)jobs > run->n_todo)
        jobs = run->n_todo ? (long)run->n_todo : 1;
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
       OPT_REENCODE, OPT_MAX_PIXELS, OPT_JSON, OPT_PRESET, OPT_SKIP_EXISTING, OPT_FILES_FROM,
       OPT_DRY_RUN, OPT_DRAW_BOXES, OPT_ACCEPT_DAMAGED };

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
    {"accept-damaged", no_argument, NULL, OPT_ACCEPT_DAMAGED},
    {"jobs", required_argument, NULL, 'j'},
    {"json", no_argument, NULL, OPT_JSON},
    {"quiet", no_argument, NULL, 'q'},
    {"skip-existing", no_argument, NULL, OPT_SKIP_EXISTING},
    {"files-from", required_argument, NULL, OPT_FILES_FROM},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"draw-boxes", no_argument, NULL, OPT_DRAW_BOXES},
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
    run->opt.accept_damaged = cfg->accept_damaged != 0;
    run->det = (anon_detector_config){.model = model, .model_dir = cfg->model_dir,
                                      .engine = anon_engine_default(), .threads = 1};
    *jobs = sysconf(_SC_NPROCESSORS_ONLN);
    int c;
    long n;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:m:t:j:q", blur_options, NULL)) != -1) {
        switch (c) {
        case 'o': *outdir = optarg; break;
        case 'm': break; /* read in the first pass */
        case OPT_PRESET: break;
        case OPT_ENGINE: run->det.engine = optarg; break;
        case 't':
            if (parse_float(optarg, 0.0f, 1.0f, &run->opt.detect.thresh) < 0)
                return cli_usage_error(cmd, "--thresh takes a number from 0 to 1");
            run->opt.detect.large_face = 0;   /* one threshold, as asked */
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
        case OPT_ACCEPT_DAMAGED: run->opt.accept_damaged = true; break;
        case 'j':
            if (cli_parse_long(optarg, 1, 256, jobs) < 0)
                return cli_usage_error(cmd, "--jobs takes 1 to 256");
            break;
        case OPT_JSON: run->json = true; break;
        case 'q': *quiet = true; break;
        case OPT_SKIP_EXISTING: run->skip_existing = true; break;
        case OPT_FILES_FROM: run->files_from = optarg; break;
        case OPT_DRY_RUN: run->dry_run = true; break;
        case OPT_DRAW_BOXES: run->review = true; break;
        default: return cli_option_error(cmd, c, argv);
        }
    }
    if (*outdir == NULL)
        return cli_usage_error(cmd, "-o OUTDIR is required");
    if (optind >= argc && run->files_from == NULL)
        return cli_usage_error(cmd, "no PATH given");
    return EXIT_OK;
}

/* The PATH arguments, then the lines of --files-from. */
static int gather_paths(int argc, char **argv, const struct blur_run *run,
                        cli_path_list *paths)
{
    char why[512];
    for (int i = optind; i < argc; i++)
        if (cli_path_list_add(paths, argv[i]) < 0)
            return cli_usage_error(&cmd_blur, "out of memory");
    if (run->files_from && cli_path_list_read(paths, run->files_from, why, sizeof why) < 0)
        return cli_usage_error(&cmd_blur, "%s", why);
    return EXIT_OK;
}

/* Several directory arguments each go under their own name in OUTDIR
 * (as `cp -r a b OUTDIR` does), so that a.jpg in each never collide; a
 * single one keeps the plain mirror of its tree. */
static bool dirs_by_name(const cli_path_list *paths)
{
    int dirs = 0;
    for (int i = 0; i < paths->n; i++) {
        struct stat st;
        dirs += stat(paths->v[i], &st) == 0 && S_ISDIR(st.st_mode);
    }
    return dirs >= 2;
}

/* The collected entries sorted out: refused ones (missing, colliding) are
 * reported as failed and outputs already up to date as skipped; the rest
 * is left to do. */
static int triage(struct blur_run *run)
{
    run->todo = malloc((run->files.n ? run->files.n : 1) * sizeof *run->todo);
    if (run->todo == NULL)
        return -1;
    for (size_t i = 0; i < run->files.n; i++) {
        const cli_file *f = &run->files.v[i];
        if (f->error) {
            atomic_fetch_add(&run->failed, 1);
            report(run, f, OUTCOME_FAILED, NULL, f->error);
        } else if (run->skip_existing && cli_output_up_to_date(f->input, f->output)) {
            run->skipped++;
            report(run, f, OUTCOME_SKIPPED, NULL, NULL);
        } else {
            run->todo[run->n_todo++] = i;
        }
    }
    return 0;
}

static void print_summary(const struct blur_run *run, const char *outdir)
{
    size_t written = atomic_load(&run->written);
    fprintf(stderr, "anonctl blur: %s%zu images, %d failed", run->dry_run ? "dry run: " : "",
            run->files.n, atomic_load(&run->failed));
    if (run->skip_existing)
        fprintf(stderr, ", %zu skipped (output newer than input)", run->skipped);
    if (run->dry_run)
        fprintf(stderr, ", %zu would be written to %s; nothing written\n", run->n_todo, outdir);
    else if (written)
        fprintf(stderr, ", %swritten to %s\n",
                run->review ? "review copies (faces visible) " : "", outdir);
    else
        fprintf(stderr, ", nothing written\n");
}

/* Collects and checks the inputs; EXIT_OK when the run may go on. */
static int plan(struct blur_run *run, const cli_path_list *paths, const char *outdir)
{
    char why[1024];
    if (cli_outdir_check(outdir, paths->v, paths->n, run->review, why, sizeof why) < 0) {
        fprintf(stderr, "anonctl blur: %s\n", why);
        return EXIT_USAGE;
    }
    cli_collect_options co = {.outdir = outdir, .only_images = true,
                              .dirs_by_name = dirs_by_name(paths),
                              .suffix = run->review ? ".boxes" : NULL};
    if (cli_collect_files(paths->v, paths->n, &co, &run->files) < 0 ||
        cli_files_refuse_collisions(&run->files) < 0 || triage(run) < 0) {
        fprintf(stderr, "anonctl blur: out of memory; nothing written\n");
        return EXIT_SOME_FAILED;
    }
    if (run->files.skipped)
        fprintf(stderr, "anonctl blur: %zu files skipped in directories (not .jpg/.jpeg/.png)\n",
                run->files.skipped);
    return EXIT_OK;
}

/* Writes what the plan left to do (or, with --dry-run, says where). */
static void execute(struct blur_run *run, const char *outdir, long jobs, bool quiet)
{
    if (run->dry_run) {
        for (size_t i = 0; i < run->n_todo; i++)
            report(run, &run->files.v[run->todo[i]], OUTCOME_PLANNED, NULL, NULL);
        return;
    }
    if (run->n_todo == 0)
        return;   /* nothing to do: nothing is created */
    anon_error err;
    if (run->review && cli_outdir_mark_review(outdir, &err) < 0) {
        fprintf(stderr, "anonctl blur: %s\n", err.msg);
        atomic_fetch_add(&run->failed, (int)run->n_todo);
        return;
    }
    cli_progress_init(&run->progress, "images", run->n_todo, quiet || run->json);
    run_workers(run, jobs);
    cli_progress_finish(&run->progress);
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
    cli_path_list paths = {0};
    pthread_mutex_init(&run.out_lock, NULL);
    rc = gather_paths(argc, argv, &run, &paths);
    if (rc == EXIT_OK)
        rc = plan(&run, &paths, outdir);
    if (rc == EXIT_OK) {
        execute(&run, outdir, jobs, quiet);
        if (!run.json && !quiet)
            print_summary(&run, outdir);
        rc = atomic_load(&run.failed) ? EXIT_SOME_FAILED : EXIT_OK;
    }
    cli_path_list_free(&paths);
    cli_files_free(&run.files);
    free(run.todo);
    pthread_mutex_destroy(&run.out_lock);
    return rc;
}

static const char *const blur_env[] = {"ANON_MODEL", "ANON_PRESET", "ANON_MODEL_DIR",
                                       "ANON_MAX_PIXELS", "ANON_ACCEPT_DAMAGED", NULL};

const struct anonctl_cmd cmd_blur = {
    .name = "blur",
    .args = "[options] PATH... -o OUTDIR",
    .summary = "find faces in local JPEG/PNG files and write anonymized copies",
    .options =
        "  -o, --output DIR      write anonymized copies here, mirroring the input tree\n"
        "  -m, --model NAME      face model: yolo (YOLOv8n-face, AGPL-3.0 weights), ssd or\n"
        "                        tiny (face-api, MIT weights) (default: $ANON_MODEL, yolo;\n"
        "                        anonctl models)\n"
        "      --engine NAME     engine: anon-lean, anon (every layer kept)\n"
        "                        or darknet (the reference) (default: anon-lean)\n"
        "      --preset NAME     detection passes and threshold; the flags below override\n"
        "                        them (default: $ANON_PRESET, balanced; docs/detection.md).\n"
        "                        yolo:\n"
        "                          fast      whole photo at 1024 px (1 pass), thresh 0.35\n"
        "                          balanced  whole photo at 640 and 1024 px, thresh 0.37;\n"
        "                                    photos over 3072 px also windows at half\n"
        "                                    resolution (at most 8 passes)\n"
        "                          thorough  balanced's passes also mirrored, thresh 0.4;\n"
        "                                    photos over 1536 px also windows at full\n"
        "                                    resolution (at most 48 passes)\n"
        "                        faces at least 64 px tall on a pass need only 0.2\n"
        "                        ssd: fast whole photo only, thresh 0.3; balanced + windows\n"
        "                        at up to 1.5x zoom and its halves, at most 24 passes,\n"
        "                        thresh 0.3; thorough the same without the cap, thresh 0.4\n"
        "                        (tiny: as ssd, balanced capped at 32 passes, thresh 0.4)\n"
        "  -t, --thresh X        minimum face score, 0..1, for faces of every size\n"
        "                        (default: from the preset)\n"
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
        "      --accept-damaged  a photo the decoder reports damaged (cut short, corrupt\n"
        "                        data): anonymize what decodes and fill the part that\n"
        "                        could not be read (default: $ANON_ACCEPT_DAMAGED, 0:\n"
        "                        one line on stderr, nothing written, counted as failed)\n"
        "  -j, --jobs N          images in parallel (default: number of cores)\n"
        "      --skip-existing   leave an output that is newer than its input alone\n"
        "                        (counted as skipped) (default: off, outputs rewritten)\n"
        "      --files-from FILE also the paths in FILE, one a line; - reads standard\n"
        "                        input (default: none)\n"
        "      --dry-run         say what would be written where, after every check;\n"
        "                        write nothing, load no model (default: off)\n"
        "      --draw-boxes      FOR REVIEW ONLY: instead of anonymizing, write copies\n"
        "                        that show every face, each detection outlined with its\n"
        "                        score, named NAME.boxes.EXT. Only into a new or empty\n"
        "                        OUTDIR (or one it made before), which it marks with\n"
        "                        " CLI_REVIEW_MARKER "; blur never writes anonymized outputs\n"
        "                        there. Never publish these copies (default: off)\n"
        "      --json            one JSON line per image on stdout: path, output, width,\n"
        "                        height, faces [{x,y,w,h,score}], ms per stage, warnings\n"
        "                        (the damage accepted), covered ({x,y,w,h} filled, or\n"
        "                        null); or path, error / skipped / dry_run\n"
        "  -q, --quiet           no progress bar or summary\n"
        "\nOUTDIR mirrors the input tree: with one directory argument its tree goes\n"
        "straight into OUTDIR (photos/a/x.jpg -> OUTDIR/a/x.jpg); with several, each goes\n"
        "under its own name (cam1/x.jpg -> OUTDIR/cam1/x.jpg); a file goes to\n"
        "OUTDIR/NAME. Two inputs for one output are both refused (failed, nothing\n"
        "written). OUTDIR may not be an input folder, lie inside one or hold an input\n"
        "(exit 2 before any work). A path that does not exist counts as failed.\n",
    .env = blur_env,
    .run = run_blur,
    .exits = EXIT_BIT(EXIT_SOME_FAILED),
    .exit_notes = {[EXIT_OK] = "every image written (or skipped as up to date)",
                   [EXIT_SOME_FAILED] = "some images failed, each named on stderr (or in its "
                                        "JSON line); the others were written",
                   [EXIT_USAGE] = "also an output folder that is, holds or lies in an input "
                                  "folder"},
};
