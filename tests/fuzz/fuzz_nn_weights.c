/* fuzz_nn_weights.c - libFuzzer harness for the anon engine's Darknet
 * .weights reader (src/engine/nn_weights.c): a model file is configuration
 * a user may point the detector at, damaged or cut short.
 *
 * Each input is a weights file for one fixed small cfg that holds every
 * layer kind and every kernel the loader can pick (batch norm folding, the
 * converter's zero-padded 4x4 stride-2 kernel run as 3x3, depthwise,
 * direct, blocked SiLU, GEMM; maxpool, route, shortcut, upsample). It is
 * loaded with the "anon" and "anon-lean" runtimes; one that loads is run
 * (any float values, NaN and infinities included, must run), read back,
 * planned again for another size and run again; one that does not must
 * say why.
 *
 * Build: see the Makefile's fuzz section. Seeds: scripts/fuzz-seeds
 * nn_weights DIR (weights of exactly the right size, cut short, longer,
 * with both header versions, with NaN and infinities). */
#include "fuzz_nn.h"

extern const anon_engine anon_engine_anon;

/* Keep in step with scripts/fuzz-seeds (nn_weights), which writes the
 * seeds for it. */
static const char cfg_text[] =
    "[net]\nwidth=12\nheight=12\nchannels=3\n"
    "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=4\nstride=2\npadding=1\n"
    "activation=leaky\n"                                     /* 0: padded 3x3, direct */
    "[convolutional]\nfilters=8\ngroups=8\nsize=3\nstride=1\npad=1\nactivation=relu\n"
    "#anon: relu6\n"                                         /* 1: depthwise */
    "[convolutional]\nfilters=16\nsize=1\nstride=1\nactivation=linear\n"  /* 2: direct 1x1 */
    "[maxpool]\nsize=2\nstride=2\n"                          /* 3 */
    "[convolutional]\nbatch_normalize=1\nfilters=16\nsize=3\nstride=1\npad=1\n"
    "activation=silu\n"                                      /* 4: blocked */
    "[convolutional]\nfilters=16\ngroups=2\nsize=3\nstride=1\npad=1\n"
    "activation=relu\n"                                      /* 5: grouped, GEMM */
    "[shortcut]\nfrom=-2\nactivation=linear\n"              /* 6 */
    "[upsample]\nstride=2\n"                                 /* 7 */
    "[route]\nlayers=-1,2\n"                                 /* 8 */
    "[maxpool]\nsize=5\nstride=1\npadding=4\n"               /* 9: same-size pool */
    "[convolutional]\nfilters=4\nsize=1\nstride=1\nactivation=linear\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool cfg_written;
    fuzz_nn_files *f = fuzz_nn_files_get();
    if (!cfg_written) {
        fuzz_nn_fill(f->cfg_fd, cfg_text, strlen(cfg_text));
        cfg_written = true;
    }
    fuzz_nn_fill(f->weights_fd, data, size);
    fuzz_nn_run(&anon_engine_anon, f->cfg, f->weights, 20, 20);
    fuzz_nn_run(&anon_engine_anon_lean, f->cfg, f->weights, 20, 20);
    return 0;
}
