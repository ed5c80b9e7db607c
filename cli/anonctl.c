/* anonctl.c - the command dispatcher.
 *
 * Looks the first argument up in the command table and hands the rest to
 * that command. Nothing else lives here: each command is in cli/cmd_*.c. */
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "base/config.h"

#ifndef ANON_VERSION
#define ANON_VERSION "0.1.0"
#endif

const char cli_version[] = ANON_VERSION;

extern const struct anonctl_cmd cmd_blur;
extern const struct anonctl_cmd cmd_config;
extern const struct anonctl_cmd cmd_drain;
extern const struct anonctl_cmd cmd_get;
extern const struct anonctl_cmd cmd_list;
extern const struct anonctl_cmd cmd_migrate;
extern const struct anonctl_cmd cmd_models;
extern const struct anonctl_cmd cmd_purge;
extern const struct anonctl_cmd cmd_reprocess;
extern const struct anonctl_cmd cmd_retry;
extern const struct anonctl_cmd cmd_status;
extern const struct anonctl_cmd cmd_upload;

static const struct anonctl_cmd *const commands[] = {
    &cmd_blur,
    &cmd_upload,
    &cmd_status,
    &cmd_list,
    &cmd_get,
    &cmd_drain,
    &cmd_retry,
    &cmd_purge,
    &cmd_reprocess,
    &cmd_migrate,
    &cmd_models,
    &cmd_config,
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void print_overview(FILE *out)
{
    fprintf(out, "usage: anonctl COMMAND [options]\n\n"
                 "Find and irreversibly blur faces in camera images; strip metadata.\n\n"
                 "commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-9s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out, "\n'anonctl help COMMAND' (or 'anonctl COMMAND --help') shows a command's\n"
                 "options, the ANON_* environment variables it reads with their defaults,\n"
                 "and its exit codes.\n");
}

static const struct anonctl_cmd *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    return NULL;
}

static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}

/* Per image, libjpeg allocates and frees the photo's DCT coefficients
 * (megabytes) and anon_process its buffers. glibc would map and unmap each
 * of them afresh, so every image paid for page faults and zeroed pages
 * (about 15 % of the CPU time of `blur --model tiny`); keeping freed
 * memory in the heap for the next image avoids that. Peak RSS stays what
 * the largest image needs. */
static void keep_freed_memory(void)
{
    mallopt(M_MMAP_THRESHOLD, 32 << 20);    /* glibc's maximum */
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

int main(int argc, char **argv)
{
    /* A closed connection must be an error to handle, not a silent death. */
    signal(SIGPIPE, SIG_IGN);
    keep_freed_memory();
    opterr = 0;   /* the commands report refused options themselves, in one line */
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_overview(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("anonctl %s\n", ANON_VERSION);
        return EXIT_OK;
    }
    bool help = strcmp(argv[1], "help") == 0;
    if (help && argc == 2) {
        print_overview(stdout);
        return EXIT_OK;
    }
    const char *name = help ? argv[2] : argv[1];
    const struct anonctl_cmd *cmd = find_command(name);
    if (cmd == NULL) {
        fprintf(stderr, "anonctl: unknown command '%s'\n", name);
        print_overview(stderr);
        return EXIT_USAGE;
    }
    if (help || wants_help(argc - 1, argv + 1)) {
        cli_print_help(stdout, cmd);
        return EXIT_OK;
    }
    anon_config cfg;
    anon_error err;
    if (anon_config_load(&cfg, &err) < 0) {
        fprintf(stderr, "anonctl %s: %s\n", cmd->name, err.msg);
        return EXIT_CONFIG;
    }
    return cmd->run(argc - 1, argv + 1, &cfg);
}
