/* svc_s3.c - the S3 client against the local stack's store (s3rver behind
 * the SigV4-checking proxy). Needs `scripts/stack env` exported. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "base/config.h"
#include "service/s3.h"
#include "base/sha256.h"

static char prefix[64];

static const char *bucket(void)
{
    const char *b = getenv("ANON_INPUT_BUCKET");
    return b ? b : "anon-input";
}

static anon_s3 *open_client(const char *endpoint, const char *secret, int virtual_host)
{
    anon_config cfg;
    anon_error err;
    if (anon_config_load(&cfg, &err) < 0)
        return NULL;
    anon_s3_options o;
    if (anon_s3_options_from_config(&o, &cfg, &err) < 0)
        return NULL;
    if (endpoint)
        o.endpoint = endpoint;
    if (secret)
        o.secret_key = secret;
    o.virtual_host = virtual_host;
    return anon_s3_open(&o, &err);
}

/* prefix + name, in a static buffer (one at a time). */
static const char *key(const char *name)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "%s%s", prefix, name);
    return buf;
}

static void fill_random(anon_buffer *b, size_t n, unsigned seed)
{
    anon_buffer_reserve(b, n, NULL);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        b->data[i] = (uint8_t)(seed >> 16);
    }
    b->len = n;
}

TEST(put_get_head_delete)
{
    anon_s3 *s3 = open_client(NULL, NULL, 0);
    anon_error err;
    CHECK(s3 != NULL);
    const char *k = key("round/trip.jpg");
    CHECKF(anon_s3_put(s3, bucket(), k, "hello", 5, "image/jpeg", &err) == 0, "%.300s", err.msg);
    anon_buffer out = ANON_BUFFER_INIT;
    CHECKF(anon_s3_get(s3, bucket(), k, &out, 0, &err) == 0, "%.300s", err.msg);
    CHECK(out.len == 5 && memcmp(out.data, "hello", 5) == 0);
    anon_s3_object_info info;
    CHECKF(anon_s3_head(s3, bucket(), k, &info, &err) == 0, "%.300s", err.msg);
    CHECK(info.size == 5);
    CHECKF(strcmp(info.content_type, "image/jpeg") == 0, "content type %s", info.content_type);
    CHECK(info.etag[0] != '\0' && info.etag[0] != '"');
    CHECKF(anon_s3_delete(s3, bucket(), k, &err) == 0, "%.300s", err.msg);
    CHECK(anon_s3_head(s3, bucket(), k, NULL, &err) == -1);
    CHECK(anon_error_kind_of(&err) == ANON_ERR_NOT_FOUND);
    /* Deleting again is fine, as on S3. */
    CHECKF(anon_s3_delete(s3, bucket(), k, &err) == 0, "%.300s", err.msg);
    anon_buffer_free(&out);
    anon_s3_close(s3);
}

TEST(awkward_keys)
{
    static const char *const names[] = {
        "with space/a b.jpg", "unicode/caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac.png", "plus/a+b+c.jpg",
        "symbols/!$&'()*,;=@:~[]%25.jpg", "deep/a/b/c/d/e.jpg", "question?mark#hash.jpg",
    };
    anon_s3 *s3 = open_client(NULL, NULL, 0);
    anon_error err;
    CHECK(s3 != NULL);
    anon_buffer out = ANON_BUFFER_INIT;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *k = key(names[i]);
        CHECKF(anon_s3_put(s3, bucket(), k, names[i], strlen(names[i]), NULL, &err) == 0,
               "%.60s: %.300s", names[i], err.msg);
        CHECKF(anon_s3_get(s3, bucket(), k, &out, 0, &err) == 0, "%.60s: %.300s", names[i], err.msg);
        CHECK(out.len == strlen(names[i]) && memcmp(out.data, names[i], out.len) == 0);
        /* The listing gives the key back exactly. */
        anon_s3_listing list;
        CHECKF(anon_s3_list(s3, bucket(), k, NULL, 0, &list, &err) == 0, "%.60s: %.300s", names[i], err.msg);
        CHECKF(list.count == 1 && strcmp(list.entries[0].key, k) == 0, "%s: listed %zu", names[i],
               list.count);
        anon_s3_listing_free(&list);
        CHECKF(anon_s3_delete(s3, bucket(), k, &err) == 0, "%.300s", err.msg);
    }
    anon_buffer_free(&out);
    anon_s3_close(s3);
}

TEST(large_object_buffer_and_fd)
{
    anon_s3 *s3 = open_client(NULL, NULL, 0);
    anon_error err;
    CHECK(s3 != NULL);
    anon_buffer data = ANON_BUFFER_INIT, out = ANON_BUFFER_INIT;
    fill_random(&data, 6u << 20 | 12345, 7);
    const char *k = key("large/six-mb.bin");
    CHECKF(anon_s3_put(s3, bucket(), k, data.data, data.len, NULL, &err) == 0, "%.300s", err.msg);
    CHECKF(anon_s3_get(s3, bucket(), k, &out, 0, &err) == 0, "%.300s", err.msg);
    CHECK(out.len == data.len && memcmp(out.data, data.data, data.len) == 0);
    /* A bounded GET refuses it. */
    CHECK(anon_s3_get(s3, bucket(), k, &out, 1u << 20, &err) == -1);
    CHECK(anon_error_kind_of(&err) == ANON_ERR_INPUT);
    CHECK(strstr(err.msg, "larger than") != NULL);
    /* From and to files, starting at an offset. */
    char path[] = "/tmp/anon-s3-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    CHECK(write(fd, "skip", 4) == 4);
    CHECK(write(fd, data.data, data.len) == (ssize_t)data.len);
    CHECK(lseek(fd, 4, SEEK_SET) == 4);
    char k2[512];  /* key() reuses one buffer */
    snprintf(k2, sizeof k2, "%s", key("large/from-fd.bin"));
    CHECKF(anon_s3_put_fd(s3, bucket(), k2, fd, NULL, &err) == 0, "%.300s", err.msg);
    /* A payload hash that does not match the bytes is refused by the
     * store (as AWS would), so a caller's wrong digest cannot slip by. */
    char bad_sha[65];
    memset(bad_sha, 'a', 64);
    bad_sha[64] = '\0';
    CHECK(lseek(fd, 4, SEEK_SET) == 4);
    CHECK(anon_s3_put_fd_hashed(s3, bucket(), key("large/bad-hash.bin"), fd, bad_sha, NULL,
                                &err) == -1);
    CHECKF(strstr(err.msg, "XAmzContentSHA256Mismatch") != NULL, "%.300s", err.msg);
    CHECK(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0);
    CHECKF(anon_s3_get_fd(s3, bucket(), k2, fd, &err) == 0, "%.300s", err.msg);
    char a[65], b[65];
    long long size = 0;
    CHECK(anon_sha256_fd(fd, 0, a, &size, &err) == 0);
    anon_sha256_hex(data.data, data.len, b);
    CHECK(size == (long long)data.len && strcmp(a, b) == 0);
    close(fd);
    anon_s3_delete(s3, bucket(), k, NULL);
    anon_s3_delete(s3, bucket(), k2, NULL);
    anon_buffer_free(&data);
    anon_buffer_free(&out);
    anon_s3_close(s3);
}

TEST(list_pages)
{
    anon_s3 *s3 = open_client(NULL, NULL, 0);
    anon_error err;
    CHECK(s3 != NULL);
    char name[160];
    for (int i = 0; i < 7; i++) {
        snprintf(name, sizeof name, "list/item %d.jpg", i);
        CHECKF(anon_s3_put(s3, bucket(), key(name), "x", 1, NULL, &err) == 0, "%.300s", err.msg);
    }
    CHECKF(anon_s3_put(s3, bucket(), key("other/x.jpg"), "x", 1, NULL, &err) == 0, "%.300s", err.msg);
    char pfx[128];
    snprintf(pfx, sizeof pfx, "%slist/", prefix);
    char *token = NULL;
    int seen = 0, pages = 0;
    do {
        anon_s3_listing list;
        CHECKF(anon_s3_list(s3, bucket(), pfx, token, 3, &list, &err) == 0, "%.300s", err.msg);
        free(token);
        token = list.next_token ? strdup(list.next_token) : NULL;
        for (size_t i = 0; i < list.count; i++) {
            snprintf(name, sizeof name, "%slist/item %d.jpg", prefix, seen);
            CHECKF(strcmp(list.entries[i].key, name) == 0, "got %s", list.entries[i].key);
            CHECK(list.entries[i].size == 1 && list.entries[i].last_modified > 0);
            seen++;
        }
        CHECK(list.truncated == (token != NULL));
        anon_s3_listing_free(&list);
        pages++;
    } while (token && pages < 10);
    CHECKF(seen == 7 && pages == 3, "seen %d in %d pages", seen, pages);
    for (int i = 0; i < 7; i++) {
        snprintf(name, sizeof name, "list/item %d.jpg", i);
        anon_s3_delete(s3, bucket(), key(name), NULL);
    }
    anon_s3_delete(s3, bucket(), key("other/x.jpg"), NULL);
    anon_s3_close(s3);
}

TEST(virtual_host_addressing)
{
    const char *endpoint = getenv("ANON_S3_VHOST_ENDPOINT");
    CHECKF(endpoint != NULL, "ANON_S3_VHOST_ENDPOINT not set (scripts/stack env)");
    anon_s3 *s3 = open_client(endpoint, NULL, 1);
    anon_error err;
    CHECK(s3 != NULL);
    const char *k = key("vhost/a b+c.jpg");
    CHECKF(anon_s3_put(s3, bucket(), k, "vhost", 5, NULL, &err) == 0, "%.300s", err.msg);
    anon_buffer out = ANON_BUFFER_INIT;
    CHECKF(anon_s3_get(s3, bucket(), k, &out, 0, &err) == 0, "%.300s", err.msg);
    CHECK(out.len == 5 && memcmp(out.data, "vhost", 5) == 0);
    anon_s3_listing list;
    CHECKF(anon_s3_list(s3, bucket(), k, NULL, 0, &list, &err) == 0, "%.300s", err.msg);
    CHECK(list.count == 1);
    anon_s3_listing_free(&list);
    CHECKF(anon_s3_head_bucket(s3, bucket(), &err) == 0, "%.300s", err.msg);
    CHECKF(anon_s3_delete(s3, bucket(), k, &err) == 0, "%.300s", err.msg);
    anon_buffer_free(&out);
    anon_s3_close(s3);
}

TEST(wrong_secret_is_denied)
{
    anon_s3 *s3 = open_client(NULL, "not-the-secret", 0);
    anon_error err;
    CHECK(s3 != NULL);
    CHECK(anon_s3_put(s3, bucket(), key("denied.jpg"), "x", 1, NULL, &err) == -1);
    CHECKF(anon_error_kind_of(&err) == ANON_ERR_CONFIG, "%.300s", err.msg);
    CHECKF(strstr(err.msg, "HTTP 403") != NULL, "%.300s", err.msg);
    CHECKF(strstr(err.msg, "SignatureDoesNotMatch") != NULL, "%.300s", err.msg);
    CHECKF(strstr(err.msg, "not-the-secret") == NULL, "secret in message: %.300s", err.msg);
    anon_buffer out = ANON_BUFFER_INIT;
    CHECK(anon_s3_get(s3, bucket(), key("denied.jpg"), &out, 0, &err) == -1);
    CHECK(anon_error_kind_of(&err) == ANON_ERR_CONFIG);
    CHECK(anon_s3_head_bucket(s3, bucket(), &err) == -1);
    CHECK(anon_error_kind_of(&err) == ANON_ERR_CONFIG);
    anon_buffer_free(&out);
    anon_s3_close(s3);
}

TEST(missing_bucket_and_key)
{
    anon_s3 *s3 = open_client(NULL, NULL, 0);
    anon_error err;
    CHECK(s3 != NULL);
    anon_buffer out = ANON_BUFFER_INIT;
    /* A missing key is not found; a missing bucket is a setting to fix. */
    CHECK(anon_s3_get(s3, bucket(), key("no/such/key.jpg"), &out, 0, &err) == -1);
    CHECK(anon_error_kind_of(&err) == ANON_ERR_NOT_FOUND);
    CHECKF(strstr(err.msg, "NoSuchKey") != NULL, "%.300s", err.msg);
    CHECK(anon_s3_head(s3, bucket(), key("no/such/key.jpg"), NULL, &err) == -1);
    CHECK(anon_error_kind_of(&err) == ANON_ERR_NOT_FOUND);
    CHECK(anon_s3_get(s3, "no-such-bucket-anon", "x.jpg", &out, 0, &err) == -1);
    CHECK(anon_error_kind_of(&err) == ANON_ERR_CONFIG);
    CHECKF(strstr(err.msg, "NoSuchBucket") != NULL, "%.300s", err.msg);
    CHECK(anon_s3_put(s3, "no-such-bucket-anon", "x.jpg", "x", 1, NULL, &err) == -1);
    CHECK(anon_error_kind_of(&err) == ANON_ERR_CONFIG);
    CHECK(anon_s3_head_bucket(s3, "no-such-bucket-anon", &err) == -1);
    CHECK(anon_error_kind_of(&err) == ANON_ERR_CONFIG);
    anon_s3_listing list;
    CHECK(anon_s3_list(s3, "no-such-bucket-anon", NULL, NULL, 0, &list, &err) == -1);
    CHECK(anon_error_kind_of(&err) == ANON_ERR_CONFIG);
    /* Bad names never reach the network. */
    CHECK(anon_s3_put(s3, "Bad_Bucket", "x", "x", 1, NULL, &err) == -1);
    CHECK(anon_error_kind_of(&err) == ANON_ERR_CONFIG);
    CHECK(anon_s3_put(s3, bucket(), "", "x", 1, NULL, &err) == -1);
    CHECK(anon_error_kind_of(&err) == ANON_ERR_INPUT);
    anon_buffer_free(&out);
    anon_s3_close(s3);
}

TEST(create_bucket_twice)
{
    anon_s3 *s3 = open_client(NULL, NULL, 0);
    anon_error err;
    CHECK(s3 != NULL);
    CHECKF(anon_s3_create_bucket(s3, "anon-test-created", &err) == 0, "%.300s", err.msg);
    CHECKF(anon_s3_create_bucket(s3, "anon-test-created", &err) == 0, "%.300s", err.msg);
    CHECKF(anon_s3_head_bucket(s3, "anon-test-created", &err) == 0, "%.300s", err.msg);
    anon_s3_close(s3);
}

TEST(unreachable_store)
{
    anon_s3_options o = {.endpoint = "http://127.0.0.1:1", .region = "us-east-1",
                         .access_key = "S3RVER", .secret_key = "S3RVER", .retries = 1};
    anon_error err;
    anon_s3 *s3 = anon_s3_open(&o, &err);
    CHECK(s3 != NULL);
    CHECK(anon_s3_put(s3, bucket(), "x.jpg", "x", 1, NULL, &err) == -1);
    CHECKF(anon_error_kind_of(&err) == ANON_ERR_TRANSIENT, "%.300s", err.msg);
    anon_s3_close(s3);
}

/* With the store behind the proxy down, requests get 503 and are retried
 * with backoff; once it is back, the same call succeeds. */
TEST(retries_through_an_outage)
{
    anon_s3 *s3 = open_client(NULL, NULL, 0);
    anon_error err;
    CHECK(s3 != NULL);
    const char *root = getenv("ROOT");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s/scripts/stack' stop s3rver >/dev/null 2>&1", root ? root : ".");
    CHECK(system(cmd) == 0);
    anon_buffer out = ANON_BUFFER_INIT;
    CHECK(anon_s3_get(s3, bucket(), key("outage.jpg"), &out, 0, &err) == -1);
    CHECKF(anon_error_kind_of(&err) == ANON_ERR_TRANSIENT && strstr(err.msg, "HTTP 503"),
           "%.300s", err.msg);
    snprintf(cmd, sizeof cmd, "(sleep 1; '%s/scripts/stack' start s3rver) >/dev/null 2>&1 &",
             root ? root : ".");
    CHECK(system(cmd) == 0);
    anon_s3_options o;
    anon_config cfg;
    CHECK(anon_config_load(&cfg, &err) == 0 && anon_s3_options_from_config(&o, &cfg, &err) == 0);
    o.retries = 8;  /* 0.1 s doubling: about 15 s in all */
    anon_s3 *patient = anon_s3_open(&o, &err);
    CHECK(patient != NULL);
    CHECKF(anon_s3_put(patient, bucket(), key("outage.jpg"), "x", 1, NULL, &err) == 0, "%.300s",
           err.msg);
    CHECK(anon_s3_delete(patient, bucket(), key("outage.jpg"), &err) == 0);
    anon_s3_close(patient);
    anon_buffer_free(&out);
    anon_s3_close(s3);
}

TEST(malformed_settings)
{
    static const char *const endpoints[] = {
        "", "not a url", "ftp://host", "http://", "http://host/path", "http://host?x=1",
        "http://user:pw@host", "http://host:99999999",
    };
    anon_error err;
    for (size_t i = 0; i < sizeof endpoints / sizeof endpoints[0]; i++) {
        anon_s3_options o = {.endpoint = endpoints[i], .region = "us-east-1",
                             .access_key = "a", .secret_key = "b", .retries = -1};
        anon_s3 *s3 = anon_s3_open(&o, &err);
        CHECKF(s3 == NULL, "accepted endpoint '%s'", endpoints[i]);
        CHECKF(strstr(err.msg, "ANON_S3_ENDPOINT") != NULL, "%.300s", err.msg);
        CHECKF(anon_error_kind_of(&err) == ANON_ERR_CONFIG, "%.300s", err.msg);
        CHECKF(strstr(err.msg, "pw") == NULL || i != 6, "%.300s", err.msg);
    }
    anon_s3_options o = {.endpoint = "http://h", .region = "US EAST", .access_key = "a",
                         .secret_key = "b"};
    CHECK(anon_s3_open(&o, &err) == NULL && strstr(err.msg, "ANON_S3_REGION"));
    CHECK(anon_error_kind_of(&err) == ANON_ERR_CONFIG);
    o.region = "us-east-1";
    o.endpoint = "http://127.0.0.1:9000";
    o.virtual_host = 1;
    CHECK(anon_s3_open(&o, &err) == NULL && strstr(err.msg, "ANON_S3_ADDRESSING"));
    o.virtual_host = 0;
    o.ca_file = "/nonexistent/ca.pem";
    CHECK(anon_s3_open(&o, &err) == NULL && strstr(err.msg, "ANON_S3_CA_FILE"));
    o.ca_file = NULL;
    o.secret_key = "";
    CHECK(anon_s3_open(&o, &err) == NULL && strstr(err.msg, "ANON_S3_SECRET_KEY"));
    anon_config cfg;
    CHECK(anon_config_load(&cfg, &err) == 0);
    cfg.s3_addressing = "sideways";
    anon_s3_options o2;
    CHECK(anon_s3_options_from_config(&o2, &cfg, &err) == -1 && strstr(err.msg, "ANON_S3_ADDRESSING"));
}

TEST(uri_encoding)
{
    anon_buffer b = ANON_BUFFER_INIT;
    CHECK(anon_s3_uri_encode("a b/c+d~e_f.g-h\xc3\xa9", 1, &b, NULL) == 0);
    anon_buffer_append(&b, "", 1, NULL);
    CHECKF(strcmp((char *)b.data, "a%20b/c%2Bd~e_f.g-h%C3%A9") == 0, "%s", (char *)b.data);
    anon_buffer_reset(&b);
    CHECK(anon_s3_uri_encode("a/b", 0, &b, NULL) == 0);
    anon_buffer_append(&b, "", 1, NULL);
    CHECK(strcmp((char *)b.data, "a%2Fb") == 0);
    anon_buffer_free(&b);
}

int main(void)
{
    snprintf(prefix, sizeof prefix, "test-s3/%ld-%d/", (long)time(NULL), (int)getpid());
    static const struct check_case cases[] = {
        CASE(put_get_head_delete), CASE(awkward_keys), CASE(large_object_buffer_and_fd),
        CASE(list_pages), CASE(virtual_host_addressing), CASE(wrong_secret_is_denied),
        CASE(missing_bucket_and_key), CASE(create_bucket_twice), CASE(unreachable_store), CASE(retries_through_an_outage),
        CASE(malformed_settings), CASE(uri_encoding),
    };
    return check_run("svc_s3", cases, sizeof cases / sizeof cases[0]);
}
