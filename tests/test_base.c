/* test_base.c - errors, buffers, atomic writes and configuration. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buffer.h"
#include "check.h"
#include "base/config.h"
#include "base/duration.h"
#include "base/error.h"
#include "base/timestamp.h"

TEST(fail_formats_and_returns_minus_one)
{
    anon_error err;
    CHECK(anon_fail(&err, "bad %d", 7) == -1);
    CHECK(strcmp(err.msg, "bad 7") == 0);
    anon_fail_prefix(&err, "%s: ", "x.jpg");
    CHECK(strcmp(err.msg, "x.jpg: bad 7") == 0);
    CHECK(anon_fail(NULL, "ignored") == -1);
}

TEST(buffer_grows)
{
    anon_buffer b = ANON_BUFFER_INIT;
    for (int i = 0; i < 10000; i++)
        CHECK(anon_buffer_append(&b, "abcdef", 6, NULL) == 0);
    CHECK(b.len == 60000);
    CHECK(memcmp(b.data + 59994, "abcdef", 6) == 0);
    anon_buffer_free(&b);
}

TEST(atomic_write_round_trip)
{
    char dir[] = "/tmp/anon-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/out.bin", dir);
    anon_error err;
    CHECK(anon_write_file_atomic(path, "hello", 5, &err) == 0);
    anon_buffer b = ANON_BUFFER_INIT;
    CHECK(anon_buffer_read_file(&b, path, 0, &err) == 0);
    CHECK(b.len == 5 && memcmp(b.data, "hello", 5) == 0);
    CHECK(anon_buffer_read_file(&b, path, 3, &err) == -1);
    anon_buffer_free(&b);
    unlink(path);
    rmdir(dir);
}

TEST(atomic_write_into_missing_dir_fails_cleanly)
{
    anon_error err;
    CHECK(anon_write_file_atomic("/nonexistent-dir/x.jpg", "x", 1, &err) == -1);
    CHECK(strstr(err.msg, "/nonexistent-dir/x.jpg") != NULL);
}

TEST(config_defaults_and_overrides)
{
    anon_config cfg;
    anon_error err;
    setenv("ANON_MAX_PIXELS", "1234", 1);
    CHECK(anon_config_load(&cfg, &err) == 0);
    CHECK(cfg.max_pixels == 1234);
    CHECK(strcmp(cfg.queue, "anon.images") == 0);
    setenv("ANON_MAX_PIXELS", "12x", 1);
    CHECK(anon_config_load(&cfg, &err) == -1);
    CHECK(strstr(err.msg, "ANON_MAX_PIXELS") != NULL);
    unsetenv("ANON_MAX_PIXELS");
    CHECK(anon_config_set(&cfg, "ANON_NOPE", "1", &err) == -1);
}

TEST(durations_parse_and_format)
{
    static const struct { const char *text; long seconds; const char *shortest; } good[] = {
        {"0", 0, "0"}, {"90", 90, "90s"}, {"2s", 2, "2s"}, {"90m", 5400, "90m"},
        {"120m", 7200, "2h"}, {"24h", 86400, "1d"}, {"30d", 2592000, "30d"},
        {"forever", ANON_DURATION_FOREVER, "forever"},
    };
    anon_error err;
    char text[ANON_DURATION_LEN];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        long s = -2;
        CHECKF(anon_duration_parse(good[i].text, true, &s, &err) == 0 && s == good[i].seconds,
               "%s -> %ld", good[i].text, s);
        CHECKF(strcmp(anon_duration_format(s, text), good[i].shortest) == 0, "%ld -> %s", s, text);
    }
    static const char *const bad[] = {"", "-1", "+5", " 5", "5 ", "1.5h", "5x", "5mm", "m",
                                      "1d2h", "Forever", "99999999999999999999",
                                      "9999999999999999d"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        long s;
        CHECKF(anon_duration_parse(bad[i], true, &s, &err) == -1 &&
               anon_error_kind_of(&err) == ANON_ERR_INPUT && strstr(err.msg, "30d"),
               "'%s' accepted", bad[i]);
    }
    long s;
    CHECK(anon_duration_parse("forever", false, &s, &err) == -1);
}

TEST(config_retention_is_a_checked_duration)
{
    anon_config cfg;
    anon_error err;
    unsetenv("ANON_ORIGINALS_RETENTION");
    CHECK(anon_config_load(&cfg, &err) == 0 && cfg.originals_retention == 0);
    setenv("ANON_ORIGINALS_RETENTION", "30d", 1);
    CHECK(anon_config_load(&cfg, &err) == 0 && cfg.originals_retention == 30 * 86400);
    setenv("ANON_ORIGINALS_RETENTION", "forever", 1);
    CHECK(anon_config_load(&cfg, &err) == 0 &&
          cfg.originals_retention == ANON_DURATION_FOREVER);
    setenv("ANON_ORIGINALS_RETENTION", "30 days", 1);
    CHECK(anon_config_load(&cfg, &err) == -1 && anon_error_kind_of(&err) == ANON_ERR_CONFIG);
    CHECK(strstr(err.msg, "ANON_ORIGINALS_RETENTION") != NULL);
    setenv("ANON_ORIGINALS_RETENTION", "40000d", 1);   /* over the range */
    CHECK(anon_config_load(&cfg, &err) == -1 && strstr(err.msg, "at most 36500d"));
    unsetenv("ANON_ORIGINALS_RETENTION");
    CHECK(anon_config_load(&cfg, &err) == 0);
    /* A flag overrides it through the same checks. */
    CHECK(anon_config_set(&cfg, "ANON_ORIGINALS_RETENTION", "2s", &err) == 0 &&
          cfg.originals_retention == 2);
    CHECK(anon_config_set(&cfg, "ANON_ORIGINALS_RETENTION", "-2s", &err) == -1);
    char accepts[256];
    const anon_config_var *v = anon_config_var_find("ANON_ORIGINALS_RETENTION");
    CHECK(v && strstr(anon_config_var_accepts(v, accepts, sizeof accepts), "forever"));
}

TEST(timestamp_iso8601_utc_milliseconds)
{
    char text[ANON_TIMESTAMP_LEN];
    anon_timestamp_format(1700000000.25, text);
    CHECK(strcmp(text, "2023-11-14T22:13:20.250Z") == 0);
    anon_timestamp_format(0, text);
    CHECK(strcmp(text, "1970-01-01T00:00:00.000Z") == 0);
    CHECK(anon_timestamp_now() > 1700000000.0);
}

RUN_TESTS("base",
          CASE(fail_formats_and_returns_minus_one),
          CASE(buffer_grows),
          CASE(atomic_write_round_trip),
          CASE(atomic_write_into_missing_dir_fails_cleanly),
          CASE(config_defaults_and_overrides),
          CASE(durations_parse_and_format),
          CASE(config_retention_is_a_checked_duration),
          CASE(timestamp_iso8601_utc_milliseconds))
