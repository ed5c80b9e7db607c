/* test_base.c - errors, buffers, atomic writes and configuration. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buffer.h"
#include "check.h"
#include "base/config.h"
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
          CASE(timestamp_iso8601_utc_milliseconds))
