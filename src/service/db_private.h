/* db_private.h - what the files of the PostgreSQL client share.
 *
 *   db.c          connecting, running statements (failures sorted by kind),
 *                 transactions, migrations
 *   db_images.c   the images table: rows, status changes, pages, the
 *                 selections of retry, purge and reprocess
 *   db_stats.c    the counts `anonctl status` shows
 *
 * Not a public interface: only these files include it. */
#ifndef ANON_DB_PRIVATE_H
#define ANON_DB_PRIVATE_H

#include <libpq-fe.h>

#include "service/db.h"

struct anon_db {
    PGconn *conn;
    int in_tx;
};

/* Runs one statement with text parameters (never SQL built from values);
 * returns the result when its status is `want`, else NULL with err filled
 * and its kind set (see db.c). Outside a transaction a statement that
 * fails because the connection broke is retried once on a reset
 * connection: only for statements that are safe to repeat. */
PGresult *db_exec(anon_db *db, const char *what, const char *sql, int n_params,
                  const char *const *params, ExecStatusType want, anon_error *err);

/* A text column as a heap string, NULL when the column is NULL; *oom is
 * set when the copy could not be made. */
char *db_text(const PGresult *res, int row, int col, int *oom);

/* db_exec of a statement that returns no rows: 0 or -1. */
int db_command(anon_db *db, const char *what, const char *sql, int n_params,
               const char *const *params, anon_error *err);

#endif
