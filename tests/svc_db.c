/* svc_db.c - the metadata layer against the local stack's PostgreSQL:
 * migrations (idempotent, concurrent), idempotent inserts, status changes,
 * keyset pages, status figures, retry selection with SKIP LOCKED. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "service/db.h"

static char camera[64];

static const char *db_url(void)
{
    const char *u = getenv("ANON_DB_URL");
    return u ? u : "postgresql://anon:anon@127.0.0.1:5432/anon";
}

static anon_db *connect_migrated(void)
{
    anon_error err;
    anon_db *db = anon_db_connect(db_url(), &err);
    if (db && anon_db_migrate(db, NULL, &err) < 0) {
        anon_db_close(db);
        return NULL;
    }
    return db;
}

/* A sha256-looking hex string derived from n. */
static void fake_sha(int n, char out[65])
{
    snprintf(out, 65, "%064x", n);
}

static int64_t insert(anon_db *db, const char *cam, int n, int *created)
{
    char sha[65], key[128];
    fake_sha(n, sha);
    snprintf(key, sizeof key, "%s/%s.jpg", cam, sha);
    anon_image_new in = {.camera = cam, .sha256 = sha, .original_name = "photo.jpg",
                         .content_type = "image/jpeg", .bytes = 1000 + n, .width = 640,
                         .height = 480, .input_key = key};
    anon_image_row out;
    anon_error err;
    if (anon_db_image_insert(db, &in, &out, created, &err) < 0)
        return -1;
    int64_t id = out.id;
    anon_image_row_free(&out);
    return id;
}

/* The same URL with another database name. */
static void url_for_database(const char *name, char *out, size_t cap)
{
    const char *url = db_url();
    const char *slash = strrchr(url, '/');
    snprintf(out, cap, "%.*s/%s", (int)(slash - url), url, name);
}

TEST(migrations_idempotent_and_concurrent)
{
    anon_error err;
    anon_db *admin = anon_db_connect(db_url(), &err);
    CHECKF(admin != NULL, "%.300s", err.msg);
    char name[64], url[512];
    snprintf(name, sizeof name, "anon_migrate_%d", (int)getpid());
    anon_db_close(admin);
    char cmd[1024];
    url_for_database(name, url, sizeof url);
    const char *psql_url = db_url();
    /* A fresh database, so that the concurrent runs really race. */
    snprintf(cmd, sizeof cmd, "psql -q '%s' -c 'DROP DATABASE IF EXISTS %s' -c 'CREATE DATABASE %s'"
                              " >/dev/null 2>&1", psql_url, name, name);
    CHECK(system(cmd) == 0);
    /* Before migrating, the table is not there: a setting (or a
     * migration) to fix, not an outage. */
    anon_db *fresh = anon_db_connect(url, &err);
    CHECKF(fresh != NULL, "%.300s", err.msg);
    anon_image_row none;
    CHECK(anon_db_image_get(fresh, 1, &none, &err) == -1);
    CHECKF(anon_error_kind_of(&err) == ANON_ERR_CONFIG, "%.300s", err.msg);
    anon_db_close(fresh);
    pid_t kids[4];
    for (int i = 0; i < 4; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            anon_error e;
            anon_db *db = anon_db_connect(url, &e);
            int applied = 0;
            int rc = db ? anon_db_migrate(db, &applied, &e) : -1;
            anon_db_close(db);
            _exit(rc == 0 ? 10 + applied : 1);
        }
    }
    size_t total;
    anon_db_migrations(&total);
    int applied_sum = 0;
    for (int i = 0; i < 4; i++) {
        int status;
        CHECK(waitpid(kids[i], &status, 0) == kids[i]);
        CHECKF(WIFEXITED(status) && WEXITSTATUS(status) >= 10, "migration run %d failed", i);
        applied_sum += WEXITSTATUS(status) - 10;
    }
    CHECKF(applied_sum == (int)total, "applied %d migrations in all, want %zu", applied_sum, total);
    anon_db *db = anon_db_connect(url, &err);
    CHECKF(db != NULL, "%.300s", err.msg);
    int applied = -1;
    CHECKF(anon_db_migrate(db, &applied, &err) == 0, "%.300s", err.msg);
    CHECK(applied == 0);
    anon_db_close(db);
    snprintf(cmd, sizeof cmd, "psql -q '%s' -c 'DROP DATABASE IF EXISTS %s' >/dev/null 2>&1",
             psql_url, name);
    CHECK(system(cmd) == 0);
}

TEST(insert_is_idempotent)
{
    anon_db *db = connect_migrated();
    CHECK(db != NULL);
    int created = -1;
    int64_t a = insert(db, camera, 1, &created);
    CHECK(a > 0 && created == 1);
    int64_t b = insert(db, camera, 1, &created);
    CHECK(b == a && created == 0);
    char other[80];
    snprintf(other, sizeof other, "%s-other", camera);
    int64_t c = insert(db, other, 1, &created);
    CHECK(c > 0 && c != a && created == 1);
    anon_image_row img;
    anon_error err;
    CHECK(anon_db_image_get(db, a, &img, &err) == 1);
    CHECK(img.status == ANON_IMAGE_RECEIVED && img.attempts == 0 && img.faces == -1);
    CHECK(strcmp(img.camera, camera) == 0 && img.width == 640 && img.bytes == 1001);
    CHECK(img.created_at > 0 && img.queued_at == 0 && img.boxes == NULL);
    anon_image_row_free(&img);
    char sha[65];
    fake_sha(1, sha);
    CHECK(anon_db_image_find(db, camera, sha, &img, &err) == 1 && img.id == a);
    anon_image_row_free(&img);
    CHECK(anon_db_image_get(db, 999999999, &img, &err) == 0);
    /* Hostile text is data, not SQL. */
    int64_t d = insert(db, "x'); DROP TABLE images; --", 2, &created);
    CHECK(d > 0);
    CHECK(anon_db_image_get(db, d, &img, &err) == 1);
    CHECK(strcmp(img.camera, "x'); DROP TABLE images; --") == 0);
    anon_image_row_free(&img);
    anon_image_new bad = {.camera = camera, .sha256 = "XYZ", .content_type = "image/jpeg",
                          .input_key = "k"};
    CHECK(anon_db_image_insert(db, &bad, &img, NULL, &err) == -1);
    CHECK(anon_error_kind_of(&err) == ANON_ERR_INPUT);
    /* Values the server refuses are the input's fault too; boxes that are
     * not JSON never reach it; the connection stays good. */
    bad.camera = "caf\xe9";
    fake_sha(7, sha);
    bad.sha256 = sha;
    CHECK(anon_db_image_insert(db, &bad, &img, NULL, &err) == -1);
    CHECKF(anon_error_kind_of(&err) == ANON_ERR_INPUT, "%.300s", err.msg);
    CHECK(anon_db_image_mark_done(db, a, "k", 1, "not json", NULL, NULL, &err) == -1);
    CHECKF(anon_error_kind_of(&err) == ANON_ERR_INPUT, "%.300s", err.msg);
    CHECKF(anon_db_ping(db, &err) == 0, "%.300s", err.msg);
    anon_db_close(db);
}

struct racer {
    int n;
    int64_t id;
    int created;
};

static void *race_insert(void *arg)
{
    struct racer *r = arg;
    anon_error err;
    anon_db *db = anon_db_connect(db_url(), &err);
    r->id = db ? insert(db, camera, r->n, &r->created) : -1;
    anon_db_close(db);
    return NULL;
}

TEST(concurrent_inserts_make_one_row)
{
    for (int round = 0; round < 5; round++) {
        struct racer r[6];
        pthread_t t[6];
        for (int i = 0; i < 6; i++) {
            r[i].n = 100 + round;
            pthread_create(&t[i], NULL, race_insert, &r[i]);
        }
        for (int i = 0; i < 6; i++)
            pthread_join(t[i], NULL);  /* all of them before any CHECK can bail out */
        int created = 0;
        for (int i = 0; i < 6; i++) {
            CHECK(r[i].id > 0 && r[i].id == r[0].id);
            created += r[i].created;
        }
        CHECKF(created == 1, "%d inserts claimed to create the row", created);
    }
}

TEST(status_changes)
{
    anon_db *db = connect_migrated();
    CHECK(db != NULL);
    anon_error err;
    int64_t id = insert(db, camera, 3, NULL);
    CHECK(id > 0);
    CHECK(anon_db_image_mark_queued(db, id, &err) == 1);
    anon_image_row img;
    CHECK(anon_db_image_mark_processing(db, id, "worker-0", &img, &err) == 1);
    CHECK(img.status == ANON_IMAGE_PROCESSING && img.attempts == 1);
    CHECK(strcmp(img.worker, "worker-0") == 0 && img.started_at > 0);
    anon_image_row_free(&img);
    /* The intake marking queued after a worker took it changes nothing. */
    CHECK(anon_db_image_mark_queued(db, id, &err) == 0);
    CHECK(anon_db_image_mark_failed(db, id, "store unavailable", &err) == 1);
    CHECK(anon_db_image_requeue(db, id, &err) == 1);
    CHECK(anon_db_image_mark_processing(db, id, "worker-1", NULL, &err) == 1);
    anon_image_provenance prov = {"ssd", "0123456789ab", "fast", "9.9.9"};
    CHECK(anon_db_image_mark_done(db, id, "out/x.jpg", 2, "[{\"x\":1,\"y\":2,\"w\":3,\"h\":4}]",
                                  "{\"detect_ms\":12.5}", &prov, &err) == 1);
    CHECK(anon_db_image_get(db, id, &img, &err) == 1);
    CHECK(img.status == ANON_IMAGE_DONE && img.faces == 2 && img.attempts == 2);
    CHECK(strstr(img.boxes, "\"w\": 3") != NULL || strstr(img.boxes, "\"w\":3") != NULL);
    CHECK(img.timings && strstr(img.timings, "detect_ms"));
    CHECK(img.error == NULL && img.finished_at >= img.started_at);
    CHECK(strcmp(img.output_key, "out/x.jpg") == 0);
    /* What made the output is recorded with it; the original is held. */
    CHECK(img.model && strcmp(img.model, "ssd") == 0 && img.model_version &&
          strcmp(img.model_version, "0123456789ab") == 0 && img.preset &&
          strcmp(img.preset, "fast") == 0 && img.anonctl_version &&
          strcmp(img.anonctl_version, "9.9.9") == 0);
    CHECK(img.original_deleted_at == 0 && img.reprocessed_at == 0);
    anon_image_row_free(&img);
    /* Done is final for everything but done. */
    CHECK(anon_db_image_mark_failed(db, id, "late", &err) == 0);
    CHECK(anon_db_image_mark_rejected(db, id, "late", &err) == 0);
    CHECK(anon_db_image_requeue(db, id, &err) == 0);
    CHECK(anon_db_image_mark_processing(db, id, "w", &img, &err) == 0);
    CHECK(img.status == ANON_IMAGE_DONE);
    anon_image_row_free(&img);
    /* Bad JSON is refused before it reaches the server. */
    CHECK(anon_db_image_mark_done(db, id, "k", 1, "{not json", NULL, NULL, &err) == -1);
    CHECK(anon_db_image_mark_done(db, id, "k", 1, "{}", NULL, NULL, &err) == -1);
    int64_t r = insert(db, camera, 4, NULL);
    CHECK(anon_db_image_mark_rejected(db, r, "not a JPEG", &err) == 1);
    CHECK(anon_db_image_mark_queued(db, r, &err) == 0);
    CHECK(anon_db_image_mark_processing(db, r, "w", NULL, &err) == 0);
    CHECK(anon_db_image_mark_queued(db, 999999999, &err) == 0);
    anon_image_status s;
    CHECK(anon_image_status_parse("processing", &s, &err) == 0 && s == ANON_IMAGE_PROCESSING);
    CHECK(anon_image_status_parse("bogus", &s, &err) == -1);
    CHECK(anon_error_kind_of(&err) == ANON_ERR_INPUT);
    CHECK(strcmp(anon_image_status_name(ANON_IMAGE_REJECTED), "rejected") == 0);
    anon_db_close(db);
}

TEST(keyset_pages_and_stats)
{
    anon_db *db = connect_migrated();
    CHECK(db != NULL);
    anon_error err;
    char cam[80];
    snprintf(cam, sizeof cam, "%s-pages", camera);
    int64_t ids[25];
    for (int i = 0; i < 25; i++)
        CHECK((ids[i] = insert(db, cam, 200 + i, NULL)) > 0);
    for (int i = 0; i < 5; i++)
        CHECK(anon_db_image_mark_done(db, ids[i], "o", 0, NULL, NULL, NULL, &err) == 1);
    CHECK(anon_db_image_mark_failed(db, ids[5], "boom", &err) == 1);
    CHECK(anon_db_image_mark_failed(db, ids[6], "boom", &err) == 1);
    CHECK(anon_db_image_mark_rejected(db, ids[7], "bad jpeg", &err) == 1);
    anon_image_filter f = ANON_IMAGE_FILTER_INIT;
    f.camera = cam;
    f.limit = 10;
    int seen = 0, pages = 0;
    int64_t last = 0;
    do {
        anon_image_page page;
        CHECKF(anon_db_image_list(db, &f, &page, &err) == 0, "%.300s", err.msg);
        for (size_t i = 0; i < page.count; i++) {
            CHECK(page.rows[i].id > last);
            last = page.rows[i].id;
            CHECK(page.rows[i].id == ids[seen]);
            seen++;
        }
        f.after = page.next_after;
        anon_image_page_free(&page);
        pages++;
    } while (f.after != 0 && pages < 10);
    CHECKF(seen == 25 && pages == 3, "%d rows in %d pages", seen, pages);
    f.after = 0;
    f.status = ANON_IMAGE_DONE;
    f.limit = 100;
    anon_image_page page;
    CHECK(anon_db_image_list(db, &f, &page, &err) == 0);
    CHECK(page.count == 5 && page.next_after == 0);
    anon_image_page_free(&page);
    f.status = -1;
    f.since = 4102444800.0;  /* 2100: nothing yet */
    CHECK(anon_db_image_list(db, &f, &page, &err) == 0 && page.count == 0);
    anon_image_page_free(&page);
    f.since = 0;
    f.limit = 5000;
    CHECK(anon_db_image_list(db, &f, &page, &err) == -1);

    anon_db_stats st;
    CHECKF(anon_db_stats_get(db, cam, 3, 0, &st, &err) == 0, "%.300s", err.msg);
    CHECK(st.total == 25 && st.by_status[ANON_IMAGE_DONE] == 5);
    CHECK(st.by_status[ANON_IMAGE_FAILED] == 2 && st.by_status[ANON_IMAGE_REJECTED] == 1);
    CHECK(st.by_status[ANON_IMAGE_RECEIVED] == 17);
    CHECK(st.oldest_unfinished_age >= 0);
    CHECK(st.done_last_5min == 5 && st.done_last_60min == 5);
    CHECK(st.n_top_errors == 2 && strcmp(st.top_errors[0].error, "boom") == 0);
    CHECK(st.top_errors[0].count == 2);
    anon_db_stats_free(&st);
    CHECK(anon_db_stats_get(db, NULL, 0, 0, &st, &err) == 0 && st.total >= 25);
    anon_db_stats_free(&st);
    anon_db_close(db);
}

TEST(retry_candidates_skip_locked)
{
    anon_db *a = connect_migrated(), *b = connect_migrated();
    CHECK(a != NULL && b != NULL);
    anon_error err;
    char cam[80];
    snprintf(cam, sizeof cam, "%s-retry", camera);
    int64_t failed = insert(a, cam, 300, NULL);
    int64_t stuck = insert(a, cam, 301, NULL);
    CHECK(anon_db_image_mark_failed(a, failed, "transient", &err) == 1);
    CHECK(anon_db_image_mark_processing(a, stuck, "dead-worker", NULL, &err) == 1);
    anon_retry_policy p = {.received_age = 3600, .queued_age = 3600, .processing_age = 0,
                           .limit = 1000};
    usleep(20000);
    CHECK(anon_db_begin(a, &err) == 0);
    anon_image_page pa;
    CHECKF(anon_db_retry_candidates(a, &p, &pa, &err) == 0, "%.300s", err.msg);
    int found = 0;
    for (size_t i = 0; i < pa.count; i++)
        found += pa.rows[i].id == failed || pa.rows[i].id == stuck;
    CHECKF(found == 2, "found %d of 2 candidates", found);
    /* A second retry run does not see the rows the first one holds. */
    CHECK(anon_db_begin(b, &err) == 0);
    anon_image_page pb;
    CHECK(anon_db_retry_candidates(b, &p, &pb, &err) == 0);
    for (size_t i = 0; i < pb.count; i++)
        CHECK(pb.rows[i].id != failed && pb.rows[i].id != stuck);
    anon_image_page_free(&pb);
    CHECK(anon_db_commit(b, &err) == 0);
    CHECK(anon_db_image_requeue(a, failed, &err) == 1);
    CHECK(anon_db_image_requeue(a, stuck, &err) == 1);
    CHECK(anon_db_commit(a, &err) == 0);
    anon_image_page_free(&pa);
    anon_image_row img;
    CHECK(anon_db_image_get(a, stuck, &img, &err) == 1);
    CHECK(img.status == ANON_IMAGE_QUEUED && img.worker == NULL);
    anon_image_row_free(&img);
    anon_db_close(a);
    anon_db_close(b);
}

/* Whether a page holds the row with this id. */
static int page_has(const anon_image_page *p, int64_t id)
{
    for (size_t i = 0; i < p->count; i++)
        if (p->rows[i].id == id)
            return 1;
    return 0;
}

TEST(originals_purge_and_reprocess_rows)
{
    anon_db *a = connect_migrated(), *b = connect_migrated();
    CHECK(a != NULL && b != NULL);
    anon_error err;
    char cam[80];
    snprintf(cam, sizeof cam, "%s-orig", camera);
    int64_t done = insert(a, cam, 400, NULL), rejected = insert(a, cam, 401, NULL);
    int64_t queued = insert(a, cam, 402, NULL), tiny = insert(a, cam, 403, NULL);
    anon_image_provenance by_tiny = {"tiny", "abcdefabcdef", "fast", "9.9.9"};
    CHECK(anon_db_image_mark_done(a, done, "o1", 0, NULL, NULL, NULL, &err) == 1);
    CHECK(anon_db_image_mark_rejected(a, rejected, "bad", &err) == 1);
    CHECK(anon_db_image_mark_queued(a, queued, &err) == 1);
    CHECK(anon_db_image_mark_done(a, tiny, "o4", 0, NULL, NULL, &by_tiny, &err) == 1);
    /* Finished rows with their original held are purge candidates once
     * past the retention; unfinished rows never are. */
    anon_image_page pa, pb;
    CHECK(anon_db_begin(a, &err) == 0);
    /* (from this test's rows on: the table holds other tests' rows too) */
    CHECKF(anon_db_purge_candidates(a, 3600, done - 1, 1000, &pa, &err) == 0, "%.300s", err.msg);
    CHECK(!page_has(&pa, done) && !page_has(&pa, rejected));
    anon_image_page_free(&pa);
    CHECK(anon_db_purge_candidates(a, 0, done - 1, 1000, &pa, &err) == 0);
    CHECK(page_has(&pa, done) && page_has(&pa, rejected) && page_has(&pa, tiny));
    CHECK(!page_has(&pa, queued));
    /* A second purge at once does not see the rows the first holds. */
    CHECK(anon_db_begin(b, &err) == 0);
    CHECK(anon_db_purge_candidates(b, 0, done - 1, 1000, &pb, &err) == 0);
    CHECK(!page_has(&pb, done) && !page_has(&pb, rejected));
    anon_image_page_free(&pb);
    CHECK(anon_db_commit(b, &err) == 0);
    anon_image_page_free(&pa);
    CHECK(anon_db_image_mark_original_deleted(a, done, &err) == 1);
    CHECK(anon_db_image_mark_original_deleted(a, done, &err) == 0);      /* recorded once */
    CHECK(anon_db_image_mark_original_deleted(a, queued, &err) == 0);    /* unfinished */
    CHECK(anon_db_commit(a, &err) == 0);
    /* Reprocess selects done rows by what made them; a row without its
     * original is selected (to be reported) but cannot be sent again. */
    anon_reprocess_filter f = {.camera = cam, .model = "tiny"};
    CHECK(anon_db_begin(a, &err) == 0);
    CHECKF(anon_db_reprocess_candidates(a, &f, 0, 1000, &pa, &err) == 0, "%.300s", err.msg);
    CHECK(pa.count == 1 && page_has(&pa, tiny));
    anon_image_page_free(&pa);
    f.model = "";   /* nothing recorded */
    CHECK(anon_db_reprocess_candidates(a, &f, 0, 1000, &pa, &err) == 0);
    CHECK(pa.count == 1 && page_has(&pa, done) && pa.rows[0].original_deleted_at > 0);
    anon_image_page_free(&pa);
    CHECK(anon_db_image_mark_reprocess(a, done, &err) == 0);
    CHECK(anon_db_image_mark_reprocess(a, tiny, &err) == 1);
    CHECK(anon_db_commit(a, &err) == 0);
    anon_image_row img;
    CHECK(anon_db_image_get(a, tiny, &img, &err) == 1);
    CHECK(img.status == ANON_IMAGE_QUEUED && img.attempts == 0 && img.reprocessed_at > 0);
    /* Until the new output replaces it, the previous one is still served. */
    CHECK(img.model && strcmp(img.model, "tiny") == 0 && anon_image_has_output(&img));
    anon_image_row_free(&img);
    CHECK(anon_db_image_get(a, rejected, &img, &err) == 1);
    CHECK(!anon_image_has_output(&img));
    anon_image_row_free(&img);
    anon_db_close(a);
    anon_db_close(b);
}

TEST(malformed_and_unreachable)
{
    static const char *const urls[] = {
        "", "garbage with spaces", "postgresql://u:secretpw@host:notaport/db",
        "postgresql://[::1", "postgresql://h/db?bogusoption=1",
    };
    anon_error err;
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        anon_db *db = anon_db_connect(urls[i], &err);
        CHECKF(db == NULL, "accepted '%s'", urls[i]);
        CHECKF(strstr(err.msg, "ANON_DB_URL") != NULL, "%.300s", err.msg);
        CHECKF(anon_error_kind_of(&err) == ANON_ERR_CONFIG, "%s: %.300s", urls[i], err.msg);
        CHECKF(strstr(err.msg, "secretpw") == NULL, "password shown: %.300s", err.msg);
    }
    anon_db *db = anon_db_connect("postgresql://anon:anon@127.0.0.1:1/anon", &err);
    CHECK(db == NULL && strstr(err.msg, "cannot connect"));
    CHECK(anon_error_kind_of(&err) == ANON_ERR_TRANSIENT);
}

TEST(ping_and_reconnect_after_server_kills_session)
{
    anon_db *db = connect_migrated(), *admin = connect_migrated();
    CHECK(db != NULL && admin != NULL);
    anon_error err;
    CHECK(anon_db_ping(db, &err) == 0);
    /* Terminate db's backend from another session: the next call resets
     * the connection and succeeds. */
    CHECK(anon_db_begin(admin, &err) == 0);
    CHECK(anon_db_commit(admin, &err) == 0);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "psql -q '%s' -c \"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE application_name = 'anon' AND pid <> pg_backend_pid() AND state = 'idle'\" "
             ">/dev/null 2>&1", db_url());
    CHECK(system(cmd) == 0);
    CHECKF(anon_db_ping(db, &err) == 0, "%.300s", err.msg);
    anon_db_close(db);
    anon_db_close(admin);
}

int main(void)
{
    snprintf(camera, sizeof camera, "test-db-%d", (int)getpid());
    static const struct check_case cases[] = {
        CASE(migrations_idempotent_and_concurrent), CASE(insert_is_idempotent),
        CASE(concurrent_inserts_make_one_row), CASE(status_changes),
        CASE(keyset_pages_and_stats), CASE(retry_candidates_skip_locked),
        CASE(originals_purge_and_reprocess_rows),
        CASE(malformed_and_unreachable), CASE(ping_and_reconnect_after_server_kills_session),
    };
    return check_run("svc_db", cases, sizeof cases / sizeof cases[0]);
}
