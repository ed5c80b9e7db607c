/* cmd_migrate.c - `anonctl migrate`: bring the database schema up to date.
 *
 * What the Kubernetes migration Job runs before the intake and workers
 * start. The SQL is embedded in the binary (src/migrations); applying is
 * idempotent and two concurrent runs are safe (db.c takes an advisory
 * lock). */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "service/db.h"

static void list_migrations(void)
{
    size_t n;
    const anon_migration *m = anon_db_migrations(&n);
    for (size_t i = 0; i < n; i++)
        printf("%s\n", m[i].name);
}

static const struct anonctl_cmd *self(void);

static int run_migrate(int argc, char **argv, anon_config *cfg)
{
    static const struct option options[] = {
        {"db-url", required_argument, NULL, 'd'},
        {"list", no_argument, NULL, 'l'},
        {NULL, 0, NULL, 0},
    };
    int list = 0, c;
    anon_error err;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":d:l", options, NULL)) != -1) {
        switch (c) {
        case 'd':
            if (anon_config_set(cfg, "ANON_DB_URL", optarg, &err) < 0)
                return cli_usage_error(self(), "%s", err.msg);
            break;
        case 'l':
            list = 1;
            break;
        default:
            return cli_option_error(self(), c, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error(self(), "unexpected argument '%s'", argv[optind]);
    if (list) {
        list_migrations();
        return EXIT_OK;
    }
    anon_db *db = anon_db_connect(cfg->db_url, &err);
    int applied = 0;
    int rc = db ? anon_db_migrate(db, &applied, &err) : -1;
    anon_db_close(db);
    if (rc < 0) {
        /* A migration that fails other than for an outage will fail again:
         * the schema or the server needs a look. */
        fprintf(stderr, "anonctl migrate: %s\n", err.msg);
        return anon_error_kind_of(&err) == ANON_ERR_TRANSIENT ? EXIT_UNAVAILABLE : EXIT_CONFIG;
    }
    size_t total;
    anon_db_migrations(&total);
    printf("migrate: %d applied, %zu up to date\n", applied, total - (size_t)applied);
    return EXIT_OK;
}

static const char *const migrate_env[] = {"ANON_DB_URL", NULL};

const struct anonctl_cmd cmd_migrate = {
    .name = "migrate",
    .args = "[options]",
    .summary = "apply the database migrations (idempotent, safe to run concurrently)",
    .options = "  -d, --db-url URL   PostgreSQL URL (overrides ANON_DB_URL)\n"
               "  -l, --list         list the migrations built into this binary\n",
    .env = migrate_env,
    .run = run_migrate,
    .exits = EXIT_BIT(EXIT_UNAVAILABLE),
    .exit_notes = {[EXIT_CONFIG] = "also a migration the database refused"},
};

static const struct anonctl_cmd *self(void)
{
    return &cmd_migrate;
}
